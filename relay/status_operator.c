/* SPDX-License-Identifier: MIT */
/*
 * The operator page's first paint. See status_operator.h; the template is
 * relay/www/operator.html, and every element built here mirrors one that
 * operator.js builds (renderStatus(), renderOutputs(), renderTimeline()),
 * so the script's first update replaces it without a jump.
 *
 * Threads: see status_operator.h.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status_operator.h"
#include "status_page.h"
#include "status_rules.h"
#include "util.h"

/* <time datetime="ISO">text</time>: "05:47:12 UTC", or with the date
 * ("2026-12-01 05:47:12 UTC", data-date) when it may be days old. The
 * script rewrites the text in the station's zone. */
static void
add_time(struct strbuf *sb, int64_t wall_ns, bool with_date)
{
	char iso[40], text[48];
	time_t t;
	struct tm tm;

	if (wall_ns <= 0) {
		strbuf_puts(sb, "<time datetime=\"\"></time>");
		return;
	}
	util_format_iso8601(wall_ns, false, iso, sizeof(iso));
	t = (time_t)(util_round_ns(wall_ns, NS_PER_SEC) / NS_PER_SEC);
	if (gmtime_r(&t, &tm) == NULL)
		text[0] = '\0';
	else if (with_date)
		strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		strftime(text, sizeof(text), "%H:%M:%S UTC", &tm);
	strbuf_printf(sb, "<time datetime=\"%s\"%s>%s</time>", iso,
	    with_date ? " data-date" : "", text);
}

/* <tag class="cls" dir="auto">text</tag>, text escaped; no class when
 * cls is NULL, no dir unless bidi (a name or title from outside). */
static void
add_el(struct strbuf *sb, const char *tag, const char *cls, const char *text,
    bool bidi)
{
	strbuf_printf(sb, "<%s", tag);
	if (cls != NULL)
		strbuf_printf(sb, " class=\"%s\"", cls);
	if (bidi)
		strbuf_puts(sb, " dir=\"auto\"");
	strbuf_puts(sb, ">");
	status_page_add_html(sb, text);
	strbuf_printf(sb, "</%s>", tag);
}

/* "1.5 MB", "12.0 kB", "300 B", as operator.js's bytes(). */
static void
add_bytes(struct strbuf *sb, uint64_t n)
{
	if (n >= 1048576)
		strbuf_printf(sb, "%.1f MB", (double)n / 1048576.0);
	else if (n >= 1024)
		strbuf_printf(sb, "%.1f kB", (double)n / 1024.0);
	else
		strbuf_printf(sb, "%" PRIu64 " B", n);
}

/* "tone, flowing" or "alsa, NOT flowing, 3 overruns". */
static void
add_input(struct strbuf *sb, const struct stats_snapshot *s)
{
	status_page_add_html(
	    sb, s->input.type[0] != '\0' ? s->input.type : "?");
	strbuf_puts(sb, s->input.flowing ? ", flowing" : ", NOT flowing");
	if (s->input.xruns > 0)
		strbuf_printf(sb, ", %" PRIu64 " overruns", s->input.xruns);
}

static void
add_reload(struct strbuf *sb, const struct stats_snapshot *s)
{
	const struct stats_reload *r = &s->reload;

	if (r->at_wall_ns <= 0) {
		strbuf_puts(sb, "none since start");
		return;
	}
	add_el(sb, "span", r->ok ? "ok" : "bad", r->ok ? "applied" : "REJECTED",
	    false);
	strbuf_puts(sb, " ");
	add_time(sb, r->at_wall_ns, true);
	add_el(sb, "span", "detail", r->detail, false);
}

/* One timeline row, as renderTimeline() draws it. */
static void
add_row(struct strbuf *sb, const char *kind, const char *tag,
    int64_t at_wall_ns, const char *what, const char *title, const char *artist,
    int64_t until_wall_ns)
{
	strbuf_printf(sb, "<li class=\"tl-%s\" data-kind=\"%s\">", kind, kind);
	add_time(sb, at_wall_ns, false);
	add_el(sb, "span", "tag", tag, false);
	add_el(sb, "span", "what", what, true);
	if (title[0] != '\0' || artist[0] != '\0') {
		strbuf_puts(sb, "<span class=\"title\" dir=\"auto\">");
		status_page_add_html(sb, title);
		if (artist[0] != '\0') {
			strbuf_puts(sb, " – ");
			status_page_add_html(sb, artist);
		}
		strbuf_puts(sb, "</span>");
	}
	if (until_wall_ns > 0) {
		strbuf_puts(sb, "<span class=\"until\">until ");
		add_time(sb, until_wall_ns, false);
		strbuf_puts(sb, "</span>");
	}
	strbuf_puts(sb, "</li>");
}

/* The item on air and what comes next. The script adds the day's past
 * items from /api/history. */
static void
add_timeline(struct strbuf *sb, const struct stats_snapshot *s)
{
	const struct stats_programme *p = &s->programme;
	size_t i;

	add_row(sb, "now", "ON AIR", p->started_at_wall_ns,
	    p->segment[0] != '\0' ? p->segment : p->source, p->title, p->artist,
	    p->ends_at_wall_ns);
	for (i = 0; i < p->n_next && i < STATS_MAX_NEXT; i++)
		add_row(sb, "next", "next", p->next[i].starts_at_wall_ns,
		    p->next[i].segment, p->next[i].title, "", 0);
}

static void
add_outputs(struct strbuf *sb, const struct stats_snapshot *s,
    const struct status_settings *set)
{
	char url[600];
	size_t i;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];
		bool ice = strcmp(o->type, "icecast") == 0;

		status_rules_output_url(s, i, set, url, sizeof(url));
		strbuf_printf(sb, "<tr class=\"%s\" data-output=\"",
		    o->connected ? "up" : "down");
		status_page_add_html(sb, o->name);
		strbuf_puts(sb, "\"><th scope=\"row\">");
		status_page_add_html(sb, o->name);
		strbuf_puts(sb, "<span class=\"detail\">");
		status_page_add_html(sb, o->type);
		if (url[0] != '\0') {
			strbuf_puts(sb, " ");
			status_page_add_html(sb, url);
		}
		strbuf_puts(sb, " · ");
		status_page_add_html(sb, o->encoding);
		strbuf_puts(sb, "</span></th>");
		add_el(sb, "td", "state", o->connected ? "connected" : "DOWN",
		    false);
		strbuf_puts(sb, "<td>");
		add_time(sb, o->since_wall_ns, true);
		strbuf_puts(sb, "</td><td class=\"num\">");
		if (ice && o->listeners >= 0)
			strbuf_printf(sb, "%" PRId64, o->listeners);
		else
			strbuf_puts(sb, "–");
		strbuf_puts(sb, "</td><td class=\"num\">");
		if (o->lag_ms >= 0)
			strbuf_printf(sb, "%.1f s", (double)o->lag_ms / 1000.0);
		else
			strbuf_puts(sb, "–");
		strbuf_printf(sb, "</td><td class=\"num\">%" PRIu64 "</td>",
		    o->reconnects);
		strbuf_puts(sb, "<td class=\"num\">");
		add_bytes(sb, o->dropped_bytes);
		strbuf_puts(sb, "</td>");
		add_el(sb, "td", "err", o->last_error, false);
		strbuf_puts(sb, "</tr>");
	}
}

bool
status_operator_value(struct strbuf *sb, const struct stats_snapshot *s,
    const struct status_settings *set, bool on_air, const char *key,
    size_t klen)
{
	const char *state = status_rules_state_name(s, on_air);
	char buf[64];
	int64_t uptime_ns;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY("state")) {
		/* "off air", as the script shows it. */
		for (const char *c = state; *c != '\0'; c++)
			strbuf_add(sb, *c == '_' ? " " : c, 1);
	} else if (KEY("badge_text")) {
		if (strcmp(state, "fallback") == 0)
			strbuf_puts(sb, "FALLBACK");
		else
			strbuf_puts(sb, on_air ? "ON AIR" : "OFF AIR");
	} else if (KEY("input"))
		add_input(sb, s);
	else if (KEY("silent")) {
		if (s->input.silent_s > 0)
			strbuf_puts(sb, util_format_duration(
					    (int64_t)(s->input.silent_s * 1e9),
					    buf, sizeof(buf)));
		else
			strbuf_puts(sb, "not silent");
	} else if (KEY("listeners"))
		strbuf_printf(
		    sb, "%" PRId64, s->listeners > 0 ? s->listeners : 0);
	else if (KEY("uptime")) {
		uptime_ns = s->uptime_ns > 0 ? s->uptime_ns : 0;
		strbuf_puts(sb,
		    util_format_duration(util_round_ns(uptime_ns, NS_PER_SEC),
			buf, sizeof(buf)));
	} else if (KEY("reload"))
		add_reload(sb, s);
	else if (KEY("timeline"))
		add_timeline(sb, s);
	else if (KEY("outputs"))
		add_outputs(sb, s, set);
	else
		return false;
#undef KEY
	return true;
}
