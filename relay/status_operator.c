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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "log.h"
#include "status_operator.h"
#include "status_page.h"
#include "status_rules.h"
#include "util.h"

/* Whether a browser can be told this zone by name: an IANA name with
 * its file under CRON_ZONEINFO_DIR ("Europe/London", "Etc/UTC"), not
 * "localtime", a path, a POSIX TZ string or a "posix/" or "right/" copy
 * (browsers know none of these and fall back to UTC). */
static bool
browser_zone(const char *name)
{
	char path[300];

	if (name == NULL || name[0] == '\0' || name[0] == '/' ||
	    strcmp(name, "localtime") == 0 || strncmp(name, "posix/", 6) == 0 ||
	    strncmp(name, "right/", 6) == 0 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789/_+-") != strlen(name))
		return false;
	snprintf(path, sizeof(path), "%s/%s", CRON_ZONEINFO_DIR, name);
	return access(path, R_OK) == 0;
}

/* The IANA name under a zone's name as relay knows it: "Asia/Kolkata"
 * for "posix/Asia/Kolkata" (the same file) or $TZ's
 * ":/usr/share/zoneinfo/Asia/Kolkata"; the name itself otherwise. */
static const char *
iana_name(const char *name)
{
	const char *dir = CRON_ZONEINFO_DIR "/";

	if (strncmp(name, dir, strlen(dir)) == 0)
		name += strlen(dir);
	if (strncmp(name, "posix/", 6) == 0)
		name += 6;
	return name;
}

/* The zone the page shows times in, the first paint and operator.js
 * alike: [schedule] timezone, else the server's own (cron_tz_load(NULL):
 * $TZ, /etc/localtime), named by the IANA name a browser knows
 * (iana_name(): the same file, so the zone loaded stands); UTC (tz NULL)
 * when it has none. Loaded once per rendering, at the first key that
 * needs it: every key loaded it again, six reads of the file per page. */
static const struct status_operator_zone *
page_zone(struct status_operator_zone *z, const struct status_settings *set)
{
	char err[200];
	const char *name;

	if (z->loaded)
		return z;
	z->loaded = true;
	z->tz = NULL;
	z->name = "UTC";
	if (cron_tz_load(
		set != NULL && set->timezone[0] != '\0' ? set->timezone : NULL,
		&z->tz, err, sizeof(err)) < 0)
		return z;
	name = iana_name(cron_tz_name(z->tz));
	if (!browser_zone(name)) {
		cron_tz_free(z->tz);
		z->tz = NULL;
		return z;
	}
	z->name = name;
	return z;
}

void
status_operator_zone_done(struct status_operator_zone *z)
{
	cron_tz_free(z->tz);
	z->tz = NULL;
	z->loaded = false;
}

/* <time datetime="ISO">text</time>: "11:17:12", or with the date
 * ("2026-12-01 11:17:12", data-date) when it may be days old, in the
 * page's zone (tz, NULL = UTC), rounded to the second as every time relay
 * shows; operator.js's fmtTime() writes the same text. datetime is UTC,
 * with milliseconds when with_ms (a log event's, as /api/history has
 * it). */
static void
add_time(struct strbuf *sb, const struct cron_tz *tz, int64_t wall_ns,
    bool with_date, bool with_ms)
{
	char iso[40];
	struct cron_local lt;

	if (wall_ns <= 0) {
		strbuf_puts(sb, "<time datetime=\"\"></time>");
		return;
	}
	util_format_iso8601(wall_ns, with_ms, iso, sizeof(iso));
	cron_tz_local(tz, util_round_ns(wall_ns, NS_PER_SEC), &lt);
	strbuf_printf(
	    sb, "<time datetime=\"%s\"%s>", iso, with_date ? " data-date" : "");
	if (with_date)
		strbuf_printf(sb, "%04d-%02d-%02d ", lt.year, lt.month, lt.day);
	strbuf_printf(
	    sb, "%02d:%02d:%02d</time>", lt.hour, lt.minute, lt.second);
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
add_reload(
    struct strbuf *sb, const struct stats_snapshot *s, const struct cron_tz *tz)
{
	const struct stats_reload *r = &s->reload;

	if (r->at_wall_ns <= 0) {
		strbuf_puts(sb, "none since start");
		return;
	}
	add_el(sb, "span", r->ok ? "ok" : "bad", r->ok ? "applied" : "REJECTED",
	    false);
	strbuf_puts(sb, " ");
	add_time(sb, tz, r->at_wall_ns, true, false);
	add_el(sb, "span", "detail", r->detail, false);
}

/* One timeline row, as renderTimeline() draws it. */
static void
add_row(struct strbuf *sb, const struct cron_tz *tz, const char *kind,
    const char *tag, int64_t at_wall_ns, const char *what, const char *title,
    const char *artist, int64_t until_wall_ns)
{
	strbuf_printf(sb, "<li class=\"tl-%s\" data-kind=\"%s\">", kind, kind);
	add_time(sb, tz, at_wall_ns, false, false);
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
		add_time(sb, tz, until_wall_ns, false, false);
		strbuf_puts(sb, "</span>");
	}
	strbuf_puts(sb, "</li>");
}

/* The item on air and what comes next. The script adds the day's past
 * items from /api/history. The item on air is named as history names it
 * once it has played: its segment, else "fallback" for the filler (the
 * badge's and the state's word, not its source's "playlist"), else its
 * source ("live"). */
static void
add_timeline(struct strbuf *sb, const struct stats_snapshot *s,
    const struct cron_tz *tz, const char *state)
{
	const struct stats_programme *p = &s->programme;
	const char *what = p->segment[0] != '\0'	    ? p->segment
			   : strcmp(state, "fallback") == 0 ? "fallback"
							    : p->source;
	size_t i;

	add_row(sb, tz, "now", "ON AIR", p->started_at_wall_ns, what, p->title,
	    p->artist, p->ends_at_wall_ns);
	for (i = 0; i < p->n_next && i < STATS_MAX_NEXT; i++)
		add_row(sb, tz, "next", "next", p->next[i].starts_at_wall_ns,
		    p->next[i].segment, p->next[i].title, "", 0);
}

/* Recent warnings and errors, newest first, as renderLog() draws them
 * from /api/history's log; note: the line under them. */
static void
add_log(struct strbuf *sb, const struct cron_tz *tz, bool note)
{
	struct log_event *evs = malloc(sizeof(*evs) * LOG_RECENT_EVENTS);
	uint64_t total = 0;
	size_t n, i;

	if (evs == NULL)
		return;
	n = log_recent(evs, LOG_RECENT_EVENTS, &total);
	if (note) {
		if (total > n)
			strbuf_printf(sb,
			    "The last %zu of %" PRIu64 " since start.", n,
			    total);
		else
			strbuf_printf(sb, "%" PRIu64 " since start.", total);
	} else if (n == 0) {
		strbuf_puts(sb, "<li class=\"none\">No warnings or errors "
				"since start.</li>");
	}
	for (i = n; !note && i-- > 0;) {
		const char *level = log_level_name(evs[i].level);

		strbuf_printf(sb, "<li class=\"lv-%s\">", level);
		add_time(sb, tz, evs[i].wall_ns, true, true);
		add_el(sb, "span", "tag", level, false);
		add_el(sb, "span", "mod", evs[i].mod, false);
		add_el(sb, "span", "text", evs[i].text, false);
		strbuf_puts(sb, "</li>");
	}
	free(evs);
}

/* "Times in Asia/Kolkata (IST, UTC+05:30)": the page's zone, stated
 * once; operator.js keeps it. */
static void
add_tz_note(
    struct strbuf *sb, const struct status_operator_zone *z, int64_t now_ns)
{
	const struct cron_tz *tz = z->tz;
	struct cron_local lt;
	int32_t off;

	if (tz == NULL) {
		strbuf_puts(sb, "Times in UTC");
		return;
	}
	cron_tz_local(tz, now_ns, &lt);
	off = lt.utoff_s < 0 ? -lt.utoff_s : lt.utoff_s;
	strbuf_puts(sb, "Times in ");
	status_page_add_html(sb, z->name);
	strbuf_puts(sb, " (");
	if (lt.abbr[0] != '\0' && lt.abbr[0] != '+' && lt.abbr[0] != '-') {
		status_page_add_html(sb, lt.abbr);
		strbuf_puts(sb, ", ");
	}
	if (off == 0)
		strbuf_puts(sb, "UTC)");
	else
		strbuf_printf(sb, "UTC%c%02d:%02d)", lt.utoff_s < 0 ? '-' : '+',
		    (int)(off / 3600), (int)(off % 3600 / 60));
}

/* The Last error cell, as renderOutputs() draws it: red while it is the
 * output's current state; once the output has connected since, history
 * ("earlier, at 2026-12-01 11:17:12: ..."), not red. */
static void
add_last_error(
    struct strbuf *sb, const struct cron_tz *tz, const struct stats_output *o)
{
	if (!status_rules_output_error_past(o)) {
		add_el(sb, "td", "err", o->last_error, false);
		return;
	}
	strbuf_puts(sb, "<td class=\"past\">earlier");
	if (o->last_error_wall_ns > 0) {
		strbuf_puts(sb, ", at ");
		add_time(sb, tz, o->last_error_wall_ns, true, false);
	}
	strbuf_puts(sb, ": ");
	status_page_add_html(sb, o->last_error);
	strbuf_puts(sb, "</td>");
}

static void
add_outputs(struct strbuf *sb, const struct stats_snapshot *s,
    const struct status_settings *set, const struct cron_tz *tz)
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
		add_time(sb, tz, o->since_wall_ns, true, false);
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
		add_last_error(sb, tz, o);
		strbuf_puts(sb, "</tr>");
	}
}

bool
status_operator_value(struct strbuf *sb, const struct stats_snapshot *s,
    const struct status_settings *set, bool on_air,
    struct status_operator_zone *zone, const char *key, size_t klen)
{
	const char *state = status_rules_state_name(s, on_air);
	char buf[64];
	int64_t uptime_ns;
	const struct status_operator_zone *z = NULL;
	const struct cron_tz *tz = NULL;
	bool known = true;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY("reload") || KEY("timeline") || KEY("outputs") || KEY("log") ||
	    KEY("tz") || KEY("tz_note")) {
		z = page_zone(zone, set);
		tz = z->tz;
	}
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
		/* "Silence: none" or "Silence: 12.5 s", as onLevels(). */
		if (s->input.silent_s > 0)
			strbuf_puts(sb, util_format_duration(
					    (int64_t)(s->input.silent_s * 1e9),
					    buf, sizeof(buf)));
		else
			strbuf_puts(sb, "none");
	} else if (KEY("listeners"))
		strbuf_printf(
		    sb, "%" PRId64, s->listeners > 0 ? s->listeners : 0);
	else if (KEY("uptime")) {
		uptime_ns = s->uptime_ns > 0 ? s->uptime_ns : 0;
		strbuf_puts(sb,
		    util_format_duration(util_round_ns(uptime_ns, NS_PER_SEC),
			buf, sizeof(buf)));
	} else if (KEY("reload"))
		add_reload(sb, s, tz);
	else if (KEY("timeline"))
		add_timeline(sb, s, tz, state);
	else if (KEY("outputs"))
		add_outputs(sb, s, set, tz);
	else if (KEY("log"))
		add_log(sb, tz, false);
	else if (KEY("log_note"))
		add_log(sb, NULL, true);
	else if (KEY("tz"))
		status_page_add_html(sb, z->name);
	else if (KEY("tz_note"))
		add_tz_note(sb, z, s->now_wall_ns);
	else
		known = false;
#undef KEY
	return known;
}
