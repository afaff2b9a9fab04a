/* SPDX-License-Identifier: MIT */
/*
 * The status rules. See status_rules.h; docs/status-api.md states the
 * on-air rule for operators.
 *
 * Threads: see status_rules.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icecast_poll.h"
#include "status_rules.h"
#include "strbuf.h"
#include "tls.h"
#include "util.h"

bool
status_rules_on_air(const struct stats_snapshot *s, int64_t poll_icecast_ns)
{
	int64_t stale_ns;
	size_t i;

	if (s->programme.state == PROGRAMME_OFF_AIR)
		return false;
	if (status_rules_listenback(s))
		return status_rules_listeners_hear(s);
	/* Live needs its input's frames; a segment or the filler plays
	 * from its own source, over a stalled input too: then the
	 * programme the engine meters is what counts. */
	if (!(s->programme.state == PROGRAMME_LIVE
		    ? s->input.flowing
		    : s->input.programme_flowing) ||
	    !(s->input.silent_s < status_rules_dead_air_s(s)))
		return false;
	if (poll_icecast_ns <= 0)
		poll_icecast_ns = 5 * NS_PER_SEC;
	stale_ns = 2 * poll_icecast_ns + 5 * NS_PER_SEC;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];

		if (strcmp(o->type, "icecast") != 0 || !o->connected)
			continue;
		if (!o->mount_listed || o->server_seen_wall_ns <= 0)
			continue;
		/* A listing seen before we connected, or the one of the
		 * source we replaced, is not our stream. */
		if (!icecast_listing_current(o->listing_start_wall_ns,
			o->since_wall_ns, s->now_wall_ns))
			continue;
		if (s->now_wall_ns - o->server_seen_wall_ns > stale_ns)
			continue;
		return true;
	}
	return false;
}

double
status_rules_dead_air_s(const struct stats_snapshot *s)
{
	int64_t after = s->fallback.after_ns > 0 ? s->fallback.after_ns
						 : CONFIG_DEAD_AIR_DEFAULT_NS;

	return (double)after / 1e9;
}

bool
status_rules_listenback(const struct stats_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++)
		if (s->outputs[i].listenback.state != LISTENBACK_OFF)
			return true;
	return false;
}

bool
status_rules_listeners_hear(const struct stats_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++)
		if (s->outputs[i].listenback.state == LISTENBACK_OK)
			return true;
	return false;
}

const char *
status_rules_state_name(const struct stats_snapshot *s, bool on_air)
{
	return on_air ? programme_state_name(s->programme.state) : "off_air";
}

bool
status_rules_healthy(
    const struct stats_snapshot *s, char *reason, size_t reason_len)
{
	struct strbuf sb = {0};
	bool input_ok, output_ok = false;
	size_t i, shown = 0;
	char *text;

	input_ok = s->input.flowing;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++)
		if (s->outputs[i].connected)
			output_ok = true;
	if (reason_len > 0)
		reason[0] = '\0';
	if (input_ok && output_ok)
		return true;
	if (!input_ok) {
		strbuf_puts(&sb, "input not flowing");
		if (s->input.last_error[0] != '\0')
			strbuf_printf(&sb, " (%s)", s->input.last_error);
	}
	if (!output_ok) {
		if (!input_ok)
			strbuf_puts(&sb, "; ");
		if (s->n_outputs == 0)
			strbuf_puts(&sb, "no output configured");
		else
			strbuf_puts(&sb, "no output connected");
		for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
			const struct stats_output *o = &s->outputs[i];

			if (o->last_error[0] == '\0')
				continue;
			strbuf_printf(&sb, "%s%s: %s", shown == 0 ? " (" : "; ",
			    o->name, o->last_error);
			shown++;
		}
		if (shown > 0)
			strbuf_puts(&sb, ")");
	}
	text = strbuf_take(&sb);
	if (reason_len > 0)
		util_sanitize_text(
		    reason, reason_len, text != NULL ? text : "unhealthy");
	free(text);
	return false;
}

char *
status_rules_output_url(const struct stats_snapshot *s, size_t i,
    const struct status_settings *set, char *buf, size_t len)
{
	const struct stats_output *o;
	size_t n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (i >= s->n_outputs || i >= CONFIG_MAX_OUTPUTS)
		return buf;
	o = &s->outputs[i];
	if (strcmp(o->type, "icecast") != 0)
		return buf;
	if (set != NULL && set->public_url[0] != '\0' && o->mount[0] != '\0') {
		n = strlen(set->public_url);
		while (n > 0 && set->public_url[n - 1] == '/')
			n--;
		snprintf(buf, len, "%.*s%s%s", (int)n, set->public_url,
		    o->mount[0] == '/' ? "" : "/", o->mount);
	} else
		util_strlcpy(buf, o->url, len);
	return buf;
}

bool
status_rules_tls_expiring(const struct stats_snapshot *s, size_t i)
{
	const struct stats_output *o;

	if (i >= s->n_outputs || i >= CONFIG_MAX_OUTPUTS)
		return false;
	o = &s->outputs[i];
	return o->tls && o->tls_not_after_wall_ns > 0 &&
	       o->tls_not_after_wall_ns - s->now_wall_ns < TLS_EXPIRY_WARN_NS;
}

int
status_rules_tls_expiring_first(const struct stats_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		if (status_rules_tls_expiring(s, i))
			return (int)i;
	}
	return -1;
}

bool
status_rules_output_error_past(const struct stats_output *o)
{
	if (!o->connected || o->last_error[0] == '\0')
		return false;
	if (o->last_error_wall_ns <= 0 || o->since_wall_ns <= 0)
		return true;
	return util_round_ns(o->since_wall_ns, NS_PER_SEC) >=
	       util_round_ns(o->last_error_wall_ns, NS_PER_SEC);
}
