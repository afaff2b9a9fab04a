/* SPDX-License-Identifier: MIT */
/*
 * Listen-back alerts (see alerts.h): a flagged/clear edge detector per
 * output name, and the hook it runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "hook.h"
#include "log.h"
#include "util.h"

#define MOD "alerts"
#define ALERTS_HOOK_TIMEOUT_NS (10 * NS_PER_SEC)

struct alert_slot {
	char name[64];
	char *command; /* NULL: no on_listenback */
	bool known;    /* a verdict was seen (not OFF or CONNECTING) */
	bool flagged;
};

struct alerts {
	struct alert_slot slots[CONFIG_MAX_OUTPUTS];
	size_t n_slots;
	char station[STATS_TEXT];
	struct hook_runner *hooks; /* NULL until the first hook runs */
};

struct alerts *
alerts_new(void)
{
	return calloc(1, sizeof(struct alerts));
}

void
alerts_free(struct alerts *a)
{
	size_t i;

	if (a == NULL)
		return;
	hook_runner_free(a->hooks);
	for (i = 0; i < a->n_slots; i++)
		free(a->slots[i].command);
	free(a);
}

static struct alert_slot *
find_slot(struct alert_slot *slots, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(slots[i].name, name) == 0)
			return &slots[i];
	}
	return NULL;
}

void
alerts_configure(struct alerts *a, const struct config *cfg)
{
	struct alert_slot old[CONFIG_MAX_OUTPUTS], *prev;
	size_t n_old = a->n_slots, i;

	memcpy(old, a->slots, sizeof(old));
	memset(a->slots, 0, sizeof(a->slots));
	a->n_slots = 0;
	for (i = 0; i < cfg->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct output_config *o = &cfg->outputs[i];
		struct alert_slot *sl = &a->slots[a->n_slots++];

		util_strlcpy(sl->name, o->name, sizeof(sl->name));
		if (o->on_listenback != NULL && o->on_listenback[0] != '\0')
			sl->command = strdup(o->on_listenback);
		prev = find_slot(old, n_old, o->name);
		if (prev != NULL) {
			sl->known = prev->known;
			sl->flagged = prev->flagged;
		}
	}
	for (i = 0; i < n_old; i++)
		free(old[i].command);
	util_strlcpy(a->station,
	    cfg->station.name != NULL ? cfg->station.name : "",
	    sizeof(a->station));
}

bool
alerts_wanted(const struct alerts *a)
{
	size_t i;

	for (i = 0; a != NULL && i < a->n_slots; i++) {
		if (a->slots[i].command != NULL)
			return true;
	}
	return false;
}

/* RELAY_REASON: what the state means now. last_error is the last failed
 * connection's, which may be long past: it explains no_audio only. */
static void
hook_reason(const struct stats_listenback *lb, char *buf, size_t len)
{
	switch (lb->state) {
	case LISTENBACK_OK:
		snprintf(buf, len, "listeners hear our audio again");
		break;
	case LISTENBACK_NO_AUDIO:
		snprintf(buf, len, "no audio reaches listeners (%s)",
		    lb->last_error[0] != '\0' ? lb->last_error
					      : "nothing received");
		break;
	case LISTENBACK_FOREIGN:
		snprintf(buf, len,
		    "listeners hear a stream relay did not send (another "
		    "source or a server alias on this URL)");
		break;
	case LISTENBACK_SILENT:
		snprintf(buf, len,
		    "listeners hear silence for %.0f s (RMS %.1f dBFS)",
		    lb->silent_s,
		    lb->rms_dbfs > -120.0 ? lb->rms_dbfs : -120.0);
		break;
	case LISTENBACK_OFF:
	case LISTENBACK_CONNECTING:
		snprintf(
		    buf, len, "%s", stats_listenback_state_name(lb->state));
		break;
	}
}

static void
run_hook(
    struct alerts *a, const struct alert_slot *sl, const struct stats_output *o)
{
	const struct stats_listenback *lb = &o->listenback;
	char env[6][STATS_TEXT + 32], iso[40], why[STATS_TEXT], raw[STATS_TEXT];
	const char *envp[6];
	size_t i;

	if (a->hooks == NULL && (a->hooks = hook_runner_new()) == NULL) {
		log_err(MOD, "on_listenback: cannot start the hook thread; "
			     "not run");
		return;
	}
	hook_reason(lb, raw, sizeof(raw));
	util_sanitize_text(why, sizeof(why), raw);
	snprintf(env[0], sizeof(env[0]), "RELAY_EVENT=%s",
	    sl->flagged ? "listenback_flagged" : "listenback_ok");
	snprintf(env[1], sizeof(env[1]), "RELAY_OUTPUT=%s", o->name);
	snprintf(env[2], sizeof(env[2]), "RELAY_STATE=%s",
	    stats_listenback_state_name(lb->state));
	snprintf(env[3], sizeof(env[3]), "RELAY_REASON=%s", why);
	snprintf(env[4], sizeof(env[4]), "RELAY_SINCE=%s",
	    util_format_iso8601(lb->since_wall_ns, false, iso, sizeof(iso)));
	snprintf(env[5], sizeof(env[5]), "RELAY_STATION=%s", a->station);
	for (i = 0; i < 6; i++)
		envp[i] = env[i];
	(void)hook_runner_run(a->hooks, "on_listenback", sl->command, envp, 6,
	    ALERTS_HOOK_TIMEOUT_NS);
}

void
alerts_tick(struct alerts *a, const struct stats_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];
		struct alert_slot *sl =
		    find_slot(a->slots, a->n_slots, o->name);
		bool flagged;

		if (sl == NULL || o->listenback.state == LISTENBACK_OFF ||
		    o->listenback.state == LISTENBACK_CONNECTING)
			continue;
		flagged = stats_listenback_flagged(&o->listenback);
		/* The first verdict fires only when it is bad: a healthy
		 * start is not news. */
		if (sl->known && flagged == sl->flagged) {
			continue;
		}
		if (!sl->known && !flagged) {
			sl->known = true;
			continue;
		}
		sl->known = true;
		sl->flagged = flagged;
		if (sl->command != NULL)
			run_hook(a, sl, o);
	}
}
