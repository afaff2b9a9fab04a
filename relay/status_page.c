/* SPDX-License-Identifier: MIT */
/*
 * The Listen Live page renderer. See status_page.h; the templates are
 * relay/www/index.html, relay/www/embed.html and relay/www/operator.html
 * (whose "op_" keys status_operator.c fills).
 *
 * The player gets two streams: the first Icecast output, and the lowest
 * bitrate one when it is lower (for listeners on a slow link), each with
 * its MIME type and codec so the page can skip one the browser cannot
 * play (Ogg Opus or Vorbis). An MP3 output is never one of them (the page
 * plays Ogg); the first is linked beside M3U/XSPF for other players. With
 * edge servers ([status] listen_urls) the
 * main stream is an edge: the page names the first, app.js picks one at
 * random per visitor and moves to the next after a failure, and every
 * edge is linked.
 *
 * Threads: see status_page.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status_operator.h"
#include "status_page.h"
#include "status_rules.h"
#include "strbuf.h"
#include "util.h"
#include "version.h"

size_t
status_page_html_escape(char *dst, size_t len, const char *src)
{
	const unsigned char *p;
	size_t need = 0, out = 0, n;
	bool full = (len == 0);
	const char *rep;

	if (src == NULL)
		src = "";
	p = (const unsigned char *)src;
	while (*p != '\0') {
		switch (*p) {
		case '&':
			rep = "&amp;";
			n = 1;
			break;
		case '<':
			rep = "&lt;";
			n = 1;
			break;
		case '>':
			rep = "&gt;";
			n = 1;
			break;
		case '"':
			rep = "&quot;";
			n = 1;
			break;
		case '\'':
			rep = "&#39;";
			n = 1;
			break;
		default:
			/* Keep a UTF-8 sequence whole: its lead byte says how
			 * long it is; stray continuation bytes go one by one.
			 */
			if (*p >= 0xf0)
				n = 4;
			else if (*p >= 0xe0)
				n = 3;
			else if (*p >= 0xc0)
				n = 2;
			else
				n = 1;
			for (size_t k = 1; k < n; k++) {
				if ((p[k] & 0xc0) != 0x80) {
					n = k;
					break;
				}
			}
			rep = NULL;
			break;
		}
		if (rep != NULL) {
			size_t rl = strlen(rep);
			need += rl;
			if (!full && out + rl < len) {
				memcpy(dst + out, rep, rl);
				out += rl;
			} else
				full = true;
		} else {
			need += n;
			if (!full && out + n < len) {
				memcpy(dst + out, p, n);
				out += n;
			} else
				full = true;
		}
		p += n;
	}
	if (len > 0)
		dst[out] = '\0';
	return need;
}

void
status_page_add_html(struct strbuf *sb, const char *s)
{
	size_t need;

	need = status_page_html_escape(NULL, 0, s);
	if (!strbuf_reserve(sb, need))
		return;
	status_page_html_escape(sb->data + sb->len, need + 1, s);
	sb->len += need;
}

/* Writes "scheme://host[:port]" of url into buf; false when url is not a
 * plain http(s) URL safe to put in a header. */
static bool
url_origin(const char *url, char *buf, size_t len)
{
	const char *p = util_http_url_rest(url), *end;
	size_t n;

	if (p == NULL)
		return false;
	end = p;
	while (*end != '\0' && *end != '/' && *end != '?' && *end != '#')
		end++;
	if (end == p)
		return false;
	for (const char *q = p; q < end; q++) {
		if (!isalnum((unsigned char)*q) && strchr(".-:[]", *q) == NULL)
			return false;
	}
	n = (size_t)(end - url);
	if (n + 1 > len)
		return false;
	memcpy(buf, url, n);
	buf[n] = '\0';
	return true;
}

/* Rough nominal bitrate of an encoding (kbit/s), to find the low-data
 * stream: managed bitrate, else Vorbis' nominal rate for the quality at
 * 44.1 kHz stereo, scaled by channels and rate. */
static double
encoding_kbps(const struct stats_snapshot *s, const char *name)
{
	static const double q_kbps[] = {
	    45, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500};
	const struct stats_encoding *e = NULL;
	double kbps, q;
	size_t i;
	int qi;

	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(s->encodings[i].name, name) == 0) {
			e = &s->encodings[i];
			break;
		}
	}
	if (e == NULL)
		return 0;
	if (e->bitrate_kbps > 0)
		return e->bitrate_kbps;
	q = isnan(e->quality) ? 4.0 : e->quality;
	qi = (int)lround(q) + 1;
	if (qi < 0)
		qi = 0;
	if (qi > 11)
		qi = 11;
	kbps = q_kbps[qi];
	kbps *= (e->channels > 0 ? e->channels : 2) / 2.0;
	if (e->rate_hz > 0 && e->rate_hz < 44100)
		kbps *= e->rate_hz / 44100.0;
	return kbps;
}

/* The codec name ("vorbis", "opus", "mp3") of an output's encoding. */
static const char *
output_codec(const struct stats_snapshot *s, size_t out_i)
{
	size_t i;

	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(s->encodings[i].name, s->outputs[out_i].encoding) ==
			0 &&
		    s->encodings[i].codec[0] != '\0')
			return s->encodings[i].codec;
	}
	return "vorbis";
}

/* The MIME type a browser's canPlayType() answers for the codec of an
 * output's encoding: audio/ogg; codecs="opus" or "vorbis". */
static void
output_type(const struct stats_snapshot *s, int out_i, char *buf, size_t len)
{
	const char *codec = "vorbis";
	size_t i;

	buf[0] = '\0';
	if (out_i < 0)
		return;
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(s->encodings[i].name, s->outputs[out_i].encoding) ==
			0 &&
		    s->encodings[i].codec[0] != '\0')
			codec = s->encodings[i].codec;
	}
	snprintf(buf, len, "audio/ogg; codecs=\"%s\"", codec);
}

/* The player's streams: the first Icecast output, and the one with the
 * lowest bitrate when it is lower. -1 when there is none. MP3 outputs
 * are not for the in-page player (the page plays Ogg): *mp3_out is the
 * first of them, linked "for other players". */
static void
pick_streams(const struct stats_snapshot *s, int *main_out, int *low_out,
    double *low_kbps, int *mp3_out)
{
	double main_kbps = 0, best = 0, k;
	size_t i;

	*main_out = -1;
	*low_out = -1;
	*low_kbps = 0;
	*mp3_out = -1;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		if (strcmp(s->outputs[i].type, "icecast") != 0)
			continue;
		if (strcmp(output_codec(s, i), "mp3") == 0) {
			if (*mp3_out < 0)
				*mp3_out = (int)i;
			continue;
		}
		k = encoding_kbps(s, s->outputs[i].encoding);
		if (*main_out < 0) {
			*main_out = (int)i;
			main_kbps = k;
			continue;
		}
		if (k > 0 && k < main_kbps && (*low_out < 0 || k < best)) {
			*low_out = (int)i;
			best = k;
		}
	}
	*low_kbps = best;
}

/* "09:46", rounded to the minute as relay rounds every time it shows
 * (app.js's fmtTime() too): 09:45:31 is 09:46. */
static char *
format_utc_hm(int64_t wall_ns, char *buf, size_t len)
{
	time_t t =
	    (time_t)(util_round_ns(wall_ns, 60 * NS_PER_SEC) / NS_PER_SEC);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		util_strlcpy(buf, "", len);
	else
		snprintf(buf, len, "%02d:%02d", tm.tm_hour, tm.tm_min);
	return buf;
}

/* "2026-11-25 09:46 UTC": operator notes can be days old, so the date. */
static char *
format_utc_date_hm(int64_t wall_ns, char *buf, size_t len)
{
	time_t t =
	    (time_t)(util_round_ns(wall_ns, 60 * NS_PER_SEC) / NS_PER_SEC);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		util_strlcpy(buf, "", len);
	else
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d UTC",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min);
	return buf;
}

/* Operator notes: a rejected last reload, the last programme error. */
static bool
reload_rejected(const struct stats_snapshot *s)
{
	return s->reload.at_wall_ns > 0 && !s->reload.ok;
}

static bool
programme_failed(const struct stats_snapshot *s)
{
	return s->programme_error.at_wall_ns > 0;
}

/* Operator notes: what listen-back hears on each mount, one clause per
 * output with listen-back on ("main: heard (lag 790 ms, RMS -15 dBFS)"),
 * "" when none has it. The page's script builds the same text. */
static const char *
listenback_text(const struct stats_snapshot *s, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];
		const struct stats_listenback *lb = &o->listenback;
		char what[160];
		int n;

		switch (lb->state) {
		case LISTENBACK_OFF:
			continue;
		case LISTENBACK_CONNECTING:
			snprintf(what, sizeof(what), "connecting");
			break;
		case LISTENBACK_OK:
			if (lb->lag_ms >= 0)
				snprintf(what, sizeof(what),
				    "heard (lag %lld ms, RMS %.0f dBFS)",
				    (long long)lb->lag_ms,
				    lb->rms_dbfs > -120.0 ? lb->rms_dbfs
							  : -120.0);
			else
				snprintf(what, sizeof(what), "heard");
			break;
		case LISTENBACK_NO_AUDIO:
			snprintf(
			    what, sizeof(what), "NO AUDIO reaches listeners");
			break;
		case LISTENBACK_FOREIGN:
			snprintf(what, sizeof(what),
			    "listeners hear ANOTHER STREAM");
			break;
		case LISTENBACK_SILENT:
			snprintf(what, sizeof(what),
			    "listeners hear SILENCE (%.0f s)", lb->silent_s);
			break;
		}
		n = snprintf(buf + used, len - used, "%s%s: %s",
		    used > 0 ? "; " : "", o->name, what);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* Dead air: the filler is on air now, or was since start. */
static bool
dead_air_seen(const struct stats_snapshot *s)
{
	return s->fallback.active || s->fallback.activations > 0;
}

struct page_ctx {
	const struct stats_snapshot *s;
	const struct status_settings *set;
	bool on_air;
	struct status_operator_zone zone; /* loaded at its first op_ key */
	int main_i, low_i, mp3_i;
	double low_kbps;
	char main_url[600];
	char low_url[600];
	char mp3_url[600];
};

/* "MP3 · 128 kbit/s" (CBR), or "MP3" (VBR: no fixed rate to name). */
static const char *
mp3_label(const struct page_ctx *pc, char *buf, size_t len)
{
	const struct stats_snapshot *s = pc->s;
	size_t i;

	util_strlcpy(buf, "MP3", len);
	if (pc->mp3_i < 0)
		return buf;
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(s->encodings[i].name,
			s->outputs[pc->mp3_i].encoding) == 0 &&
		    s->encodings[i].bitrate_kbps > 0)
			snprintf(buf, len, "MP3 · %d kbit/s",
			    s->encodings[i].bitrate_kbps);
	}
	return buf;
}

static bool
http_url(const char *u)
{
	return util_http_url_rest(u) != NULL;
}

static const char *
badge_class(const struct page_ctx *pc)
{
	if (!pc->on_air)
		return "off";
	if (pc->s->programme.state == PROGRAMME_FALLBACK)
		return "fallback";
	return "on";
}

static const char *
badge_text(const struct page_ctx *pc)
{
	if (!pc->on_air)
		return "OFF AIR";
	if (pc->s->programme.state == PROGRAMME_FALLBACK)
		return "Back shortly";
	return "ON AIR";
}

static void
next_items(struct strbuf *sb, const struct stats_snapshot *s)
{
	char iso[40], hm[32];
	size_t i;

	for (i = 0; i < s->programme.n_next && i < STATS_MAX_NEXT; i++) {
		const struct stats_next *n = &s->programme.next[i];

		strbuf_puts(sb, "<li><time datetime=\"");
		status_page_add_html(
		    sb, util_format_iso8601(
			    n->starts_at_wall_ns, false, iso, sizeof(iso)));
		strbuf_puts(sb, "\">");
		status_page_add_html(
		    sb, format_utc_hm(n->starts_at_wall_ns, hm, sizeof(hm)));
		strbuf_puts(sb, "</time> <span dir=\"auto\">");
		status_page_add_html(
		    sb, n->title[0] != '\0' ? n->title : n->segment);
		strbuf_puts(sb, "</span></li>");
	}
}

/* Links to every edge URL, "<a href=URL>server N</a>" joined by " · ". */
static void
edge_links(struct strbuf *sb, const struct stats_snapshot *s)
{
	char label[32];
	size_t i;

	for (i = 0; i < s->n_edges && i < STATS_MAX_EDGES; i++) {
		strbuf_puts(sb, i > 0 ? " · <a href=\"" : "<a href=\"");
		status_page_add_html(sb, s->edges[i].url);
		snprintf(label, sizeof(label), "\">server %zu</a>", i + 1);
		strbuf_puts(sb, label);
	}
}

/* The edge URLs, space-separated (for data-edges). */
static void
edge_urls(struct strbuf *sb, const struct stats_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_edges && i < STATS_MAX_EDGES; i++) {
		if (i > 0)
			strbuf_puts(sb, " ");
		status_page_add_html(sb, s->edges[i].url);
	}
}

/* Appends the value of key: escaped unless raw. */
static void
page_value(struct strbuf *sb, struct page_ctx *pc, const char *key, size_t klen,
    bool raw)
{
	const struct stats_snapshot *s = pc->s;
	const struct stats_programme *p = &s->programme;
	char buf[700];
	const char *v = NULL;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	/* The operator page's state, built (and escaped) there. */
	if (klen > 3 && memcmp(key, "op_", 3) == 0) {
		status_operator_value(
		    sb, s, pc->set, pc->on_air, &pc->zone, key + 3, klen - 3);
		return;
	}
	if (raw) {
		if (KEY("next_items"))
			next_items(sb, s);
		else if (KEY("edge_links"))
			edge_links(sb, s);
		return;
	}
	if (KEY("edge_urls")) {
		edge_urls(sb, s);
		return;
	}
	if (KEY("station_name"))
		v = s->station_name[0] != '\0' ? s->station_name : "relay";
	else if (KEY("station_description"))
		v = s->station_description;
	else if (KEY("description_hidden"))
		v = s->station_description[0] != '\0' ? "" : "hidden";
	else if (KEY("station_url"))
		v = http_url(s->station_url) ? s->station_url : "";
	else if (KEY("station_url_hidden"))
		v = http_url(s->station_url) ? "" : "hidden";
	else if (KEY("on_air"))
		v = pc->on_air ? "true" : "false";
	else if (KEY("state"))
		v = status_rules_state_name(s, pc->on_air);
	else if (KEY("badge_class"))
		v = badge_class(pc);
	else if (KEY("badge_text"))
		v = badge_text(pc);
	else if (KEY("off_note_hidden"))
		v = pc->on_air ? "hidden" : "";
	else if (KEY("now_title"))
		v = p->title[0] != '\0'
			? p->title
			: (s->station_name[0] != '\0' ? s->station_name
						      : "relay");
	else if (KEY("now_artist"))
		v = p->artist;
	else if (KEY("artist_hidden"))
		v = p->artist[0] != '\0' ? "" : "hidden";
	else if (KEY("now_segment"))
		v = p->segment;
	else if (KEY("segment_hidden"))
		v = p->segment[0] != '\0' ? "" : "hidden";
	else if (KEY("now_since_iso"))
		v = p->started_at_wall_ns > 0
			? util_format_iso8601(
			      p->started_at_wall_ns, false, buf, sizeof(buf))
			: "";
	else if (KEY("now_since_text"))
		v = p->started_at_wall_ns > 0
			? format_utc_hm(p->started_at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("since_hidden"))
		v = p->started_at_wall_ns > 0 ? "" : "hidden";
	else if (KEY("now_ends_iso"))
		v = p->ends_at_wall_ns > 0
			? util_format_iso8601(
			      p->ends_at_wall_ns, false, buf, sizeof(buf))
			: "";
	else if (KEY("now_ends_text"))
		v = p->ends_at_wall_ns > 0
			? format_utc_hm(p->ends_at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("ends_hidden"))
		v = p->ends_at_wall_ns > 0 ? "" : "hidden";
	else if (KEY("next_hidden"))
		v = p->n_next > 0 ? "" : "hidden";
	else if (KEY("listeners_text")) {
		snprintf(buf, sizeof(buf), "%" PRId64 " listening",
		    s->listeners > 0 ? s->listeners : 0);
		v = buf;
	} else if (KEY("stream_url"))
		v = pc->main_url;
	else if (KEY("edges_hidden"))
		v = s->n_edges > 0 ? "" : "hidden";
	else if (KEY("stream_hidden"))
		v = pc->main_i >= 0 ? "" : "hidden";
	else if (KEY("no_stream_hidden"))
		v = pc->main_i >= 0 ? "hidden" : "";
	else if (KEY("m3u_url") || KEY("xspf_url")) {
		snprintf(buf, sizeof(buf), "%s.%s", pc->main_url,
		    KEY("m3u_url") ? "m3u" : "xspf");
		v = pc->main_i >= 0 ? buf : "";
	} else if (KEY("stream_type")) {
		output_type(s, pc->main_i, buf, sizeof(buf));
		v = buf;
	} else if (KEY("low_type")) {
		output_type(s, pc->low_i, buf, sizeof(buf));
		v = buf;
	} else if (KEY("low_url"))
		v = pc->low_url;
	else if (KEY("mp3_url"))
		/* Hidden without an MP3 mount; "#" keeps it a same-page link.
		 */
		v = pc->mp3_url[0] != '\0' ? pc->mp3_url : "#";
	else if (KEY("mp3_hidden"))
		v = pc->mp3_i >= 0 ? "" : "hidden";
	else if (KEY("mp3_label"))
		v = mp3_label(pc, buf, sizeof(buf));
	else if (KEY("low_label")) {
		snprintf(buf, sizeof(buf), "%.0f kbit/s", pc->low_kbps);
		v = buf;
	} else if (KEY("low_hidden"))
		v = pc->low_i >= 0 ? "" : "hidden";
	else if (KEY("timezone"))
		v = pc->set != NULL ? pc->set->timezone : "";
	else if (KEY("updated_text"))
		v = format_utc_hm(s->now_wall_ns, buf, sizeof(buf));
	else if (KEY("updated_iso"))
		v = util_format_iso8601(
		    s->now_wall_ns, false, buf, sizeof(buf));
	else if (KEY("version"))
		v = RELAY_VERSION;
	else if (KEY("ops_hidden"))
		v = reload_rejected(s) || programme_failed(s) ||
			    status_rules_listenback(s) || dead_air_seen(s) ||
			    status_rules_tls_expiring_first(s) >= 0
			? ""
			: "hidden";
	else if (KEY("listenback_hidden"))
		v = status_rules_listenback(s) ? "" : "hidden";
	else if (KEY("listenback_text"))
		v = listenback_text(s, buf, sizeof(buf));
	else if (KEY("tls_warning_hidden"))
		v = status_rules_tls_expiring_first(s) >= 0 ? "" : "hidden";
	else if (KEY("tls_warning_text")) {
		int i = status_rules_tls_expiring_first(s);
		v = "";
		if (i >= 0) {
			const struct stats_output *o = &s->outputs[i];
			char when[40];
			snprintf(buf, sizeof(buf),
			    "output %s: the server's certificate (%s) %s %s",
			    o->name, o->tls_subject,
			    o->tls_not_after_wall_ns < s->now_wall_ns
				? "expired"
				: "expires",
			    util_format_iso8601(o->tls_not_after_wall_ns, false,
				when, sizeof(when)));
			v = buf;
		}
	} else if (KEY("reload_error_hidden"))
		v = reload_rejected(s) ? "" : "hidden";
	else if (KEY("reload_error_iso"))
		v = reload_rejected(s)
			? util_format_iso8601(
			      s->reload.at_wall_ns, false, buf, sizeof(buf))
			: "";
	else if (KEY("reload_error_when"))
		v = reload_rejected(s)
			? format_utc_date_hm(
			      s->reload.at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("reload_error_detail"))
		v = reload_rejected(s) ? s->reload.detail : "";
	else if (KEY("dead_air_hidden"))
		v = dead_air_seen(s) ? "" : "hidden";
	else if (KEY("dead_air_label"))
		v = s->fallback.active ? "Dead air: filler on air since"
				       : "Dead air over at";
	else if (KEY("dead_air_iso"))
		v = dead_air_seen(s)
			? util_format_iso8601(s->fallback.since_wall_ns, false,
			      buf, sizeof(buf))
			: "";
	else if (KEY("dead_air_when"))
		v = dead_air_seen(s)
			? format_utc_date_hm(
			      s->fallback.since_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("dead_air_text"))
		v = dead_air_seen(s) ? s->fallback.why : "";
	else if (KEY("programme_error_hidden"))
		v = programme_failed(s) ? "" : "hidden";
	else if (KEY("programme_error_iso"))
		v = programme_failed(s)
			? util_format_iso8601(s->programme_error.at_wall_ns,
			      false, buf, sizeof(buf))
			: "";
	else if (KEY("programme_error_when"))
		v = programme_failed(s)
			? format_utc_date_hm(
			      s->programme_error.at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("programme_error_text")) {
		const struct stats_programme_error *e = &s->programme_error;

		if (programme_failed(s) && e->segment[0] != '\0') {
			snprintf(
			    buf, sizeof(buf), "%s: %s", e->segment, e->text);
			v = buf;
		} else
			v = programme_failed(s) ? e->text : "";
	}
#undef KEY
	if (v != NULL)
		status_page_add_html(sb, v);
}

char *
status_page_render(const char *template_text, const struct stats_snapshot *s,
    const struct status_settings *set)
{
	struct page_ctx pc = {.s = s, .set = set};
	struct strbuf sb = {0};
	const char *p = template_text, *open, *close, *key;
	bool raw;

	pc.on_air =
	    status_rules_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	pick_streams(s, &pc.main_i, &pc.low_i, &pc.low_kbps, &pc.mp3_i);
	if (pc.main_i >= 0 && s->n_edges > 0)
		util_strlcpy(pc.main_url, s->edges[0].url, sizeof(pc.main_url));
	else if (pc.main_i >= 0)
		status_rules_output_url(s, (size_t)pc.main_i, set, pc.main_url,
		    sizeof(pc.main_url));
	if (pc.low_i >= 0)
		status_rules_output_url(
		    s, (size_t)pc.low_i, set, pc.low_url, sizeof(pc.low_url));
	if (pc.mp3_i >= 0)
		status_rules_output_url(
		    s, (size_t)pc.mp3_i, set, pc.mp3_url, sizeof(pc.mp3_url));
	while ((open = strstr(p, "{{")) != NULL) {
		close = strstr(open + 2, "}}");
		if (close == NULL)
			break;
		strbuf_add(&sb, p, (size_t)(open - p));
		key = open + 2;
		raw = (*key == '&');
		if (raw)
			key++;
		page_value(&sb, &pc, key, (size_t)(close - key), raw);
		p = close + 2;
	}
	strbuf_puts(&sb, p);
	status_operator_zone_done(&pc.zone);
	return strbuf_take(&sb);
}

/* True when list (words each preceded by a space) holds word itself, not
 * merely a word that starts with it (":800" is not ":8000"). */
static bool
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if (p > list && p[-1] == ' ' && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

void
status_page_csp(const struct stats_snapshot *s,
    const struct status_settings *set, bool embed, char *buf, size_t len)
{
	char url[600], origin[600], media[2800] = "";
	size_t i, n = 0;

	/* The outputs' origins, then the edges' ([status] listen_urls). */
	for (i = 0; i < s->n_outputs + s->n_edges &&
		    i < CONFIG_MAX_OUTPUTS + STATS_MAX_EDGES;
	     i++) {
		if (i < s->n_outputs)
			status_rules_output_url(s, i, set, url, sizeof(url));
		else
			util_strlcpy(
			    url, s->edges[i - s->n_outputs].url, sizeof(url));
		if (!url_origin(url, origin, sizeof(origin)))
			continue;
		if (has_word(media, origin))
			continue;
		if (n + strlen(origin) + 2 >= sizeof(media))
			break;
		n += (size_t)snprintf(
		    media + n, sizeof(media) - n, " %s", origin);
	}
	/* Where the browser cannot play Ogg, icecast-metadata-player
	 * (/vendor/) fetch()es the mount (connect-src), compiles its WASM
	 * decoders ('wasm-unsafe-eval': WebAssembly only, never JS eval) in
	 * workers it builds from blob: URLs, and plays through MediaSource
	 * (a blob: media URL) after a data: clip that unlocks iOS audio. */
	if (n > 0)
		snprintf(buf, len,
		    "default-src 'none'; script-src 'self' "
		    "'wasm-unsafe-eval'; worker-src blob:; style-src 'self'; "
		    "img-src 'self'; connect-src 'self'%s; media-src%s blob: "
		    "data:; base-uri 'none'; form-action 'none'; "
		    "frame-ancestors %s",
		    media, media, embed ? "*" : "'self'");
	else
		snprintf(buf, len,
		    "default-src 'none'; script-src 'self'; style-src 'self'; "
		    "img-src 'self'; connect-src 'self'; media-src 'none'; "
		    "base-uri 'none'; form-action 'none'; frame-ancestors %s",
		    embed ? "*" : "'self'");
}
