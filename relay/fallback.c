/* SPDX-License-Identifier: MIT */
/*
 * Dead air, the main thread's part: settings to the engine, the filler
 * armed ahead, the input's state forwarded, log lines and hooks. See
 * fallback.h.
 *
 * DESIGN
 * The engine switches within a block, so the filler must already be open
 * and decoding when dead air comes: a source is armed at start and again
 * as soon as the engine takes one. A filler that cannot be opened (file
 * missing) is logged once per reason and replaced by digital silence, so
 * the fallback still shows and its hooks still run; the real filler is
 * tried again every FILLER_RETRY_NS.
 *
 * A playlist filler carries on where it left off: every filler source
 * shares fb->resume (source.h), which keeps the last file heard, and
 * when the filler leaves the air the waiting one (armed when that one
 * went on air, from the same point) is armed again to start with the
 * file after it: at once, and again once the filler has faded out
 * (SWITCHER_FILLER_FADE_NS), since files that start in its fade-out are
 * heard too (and named: "playing FILE"). Armed only at once, the next
 * dead air aired them again. A playlist loops, so it never needs the
 * waiting one while on air unless it fails.
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fallback.h"
#include "hook.h"
#include "log.h"
#include "source.h"
#include "stats.h"
#include "switcher.h"
#include "util.h"

#define MOD "fallback"
#define FILLER_RETRY_NS (30 * NS_PER_SEC)
/* After the filler's fade-out, the time its feeder takes to name the
 * last file heard (a few ms) and more. */
#define FILLER_REARM_SLACK_NS (200 * NS_PER_MS)
#define FB_TEXT 1024

struct fallback {
	bool enabled;
	enum fallback_source source;
	char path[FB_TEXT];
	char title[STATS_TEXT];
	char artist[STATS_TEXT];
	char on_dead_air[FB_TEXT]; /* "" : none */
	char on_restore[FB_TEXT];
	int64_t hook_timeout_ns;
	char station[STATS_TEXT];
	char last_open_error[512]; /* logged once per reason */
	int64_t retry_at_mono_ns;  /* armed with silence: try again then */
	bool armed_silence;	   /* the waiting filler is the stand-in */
	int64_t since_wall_ns;	   /* the filler went on air (0: off) */
	int64_t rearm_at_mono_ns;  /* its fade-out over: arm again (0: no) */
	struct hook_runner *hooks; /* NULL until the first hook runs */
	/* The playlist's last file heard, shared with every filler source
	 * (each closed by engine_stop(), before fallback_free()). */
	struct source_resume resume;
	int64_t stale_logged_mono_ns; /* no "changed on disk" before */
};

static enum schedule_source
schedule_kind(enum fallback_source s)
{
	switch (s) {
	case FALLBACK_PLAYLIST:
		return SCHEDULE_SOURCE_PLAYLIST;
	case FALLBACK_FILE:
		return SCHEDULE_SOURCE_FILE;
	case FALLBACK_TONE:
		return SCHEDULE_SOURCE_TONE;
	case FALLBACK_SILENCE:
		break;
	}
	return SCHEDULE_SOURCE_SILENCE;
}

struct fallback *
fallback_new(void)
{
	struct fallback *fb = calloc(1, sizeof(*fb));

	if (fb == NULL)
		return NULL;
	source_resume_init(&fb->resume);
	return fb;
}

void
fallback_free(struct fallback *fb)
{
	if (fb == NULL)
		return;
	hook_runner_free(fb->hooks);
	source_resume_destroy(&fb->resume);
	free(fb);
}

static void arm(struct fallback *fb, struct engine *e);

static void
copy_or_empty(char *dst, size_t len, const char *src)
{
	util_strlcpy(dst, src != NULL ? src : "", len);
}

void
fallback_configure(
    struct fallback *fb, const struct config *cfg, struct engine *e)
{
	const struct fallback_config *c = &cfg->fallback;
	struct engine_fallback ef = {
	    .enabled = c->enabled,
	    .threshold_dbfs = c->threshold_dbfs,
	    .after_ns = c->after_ns,
	    .restore_after_ns = c->restore_after_ns,
	};
	char path[FB_TEXT], title[STATS_TEXT], artist[STATS_TEXT];
	bool filler_changed;

	copy_or_empty(path, sizeof(path), c->path);
	util_sanitize_text(title, sizeof(title),
	    c->title != NULL && c->title[0] != '\0' ? c->title
						    : cfg->station.name);
	util_sanitize_text(
	    artist, sizeof(artist), c->artist != NULL ? c->artist : "");
	filler_changed = fb->enabled != c->enabled || fb->source != c->source ||
			 strcmp(fb->path, path) != 0 ||
			 strcmp(fb->title, title) != 0 ||
			 strcmp(fb->artist, artist) != 0;
	fb->enabled = c->enabled;
	fb->source = c->source;
	util_strlcpy(fb->path, path, sizeof(fb->path));
	util_strlcpy(fb->title, title, sizeof(fb->title));
	util_strlcpy(fb->artist, artist, sizeof(fb->artist));
	copy_or_empty(fb->on_dead_air, sizeof(fb->on_dead_air), c->on_dead_air);
	copy_or_empty(fb->on_restore, sizeof(fb->on_restore), c->on_restore);
	fb->hook_timeout_ns = c->hook_timeout_ns;
	copy_or_empty(fb->station, sizeof(fb->station), cfg->station.name);
	stats_fallback_configure(c->enabled, fallback_source_name(c->source),
	    config_dead_air_ns(cfg));
	engine_set_fallback(e, &ef);
	if (filler_changed) {
		/* Re-armed at the next tick with the new settings. */
		fb->last_open_error[0] = '\0';
		fb->retry_at_mono_ns = 0;
		fb->armed_silence = false;
		if (c->enabled)
			arm(fb, e);
	}
}

/* Opens the configured filler, or silence in its place; hands it to the
 * engine. */
static void
arm(struct fallback *fb, struct engine *e)
{
	struct engine_item it;
	struct source_spec spec;
	char err[512], shown[512];

	memset(&it, 0, sizeof(it));
	memset(&spec, 0, sizeof(spec));
	spec.name = "fallback";
	spec.kind = schedule_kind(fb->source);
	spec.path = fb->path[0] != '\0' ? fb->path : NULL;
	spec.order = SCHEDULE_ORDER_SEQUENTIAL;
	spec.resume = &fb->resume;
	spec.frequency_hz = 440.0;
	spec.level_dbfs = -18.0;
	err[0] = '\0';
	it.src = source_open(
	    &spec, engine_rate_hz(e), engine_channels(e), err, sizeof(err));
	fb->armed_silence = false;
	if (it.src == NULL) {
		if (strcmp(err, fb->last_open_error) != 0) {
			log_escape(shown, sizeof(shown), err);
			log_err(MOD,
			    "[fallback] %s %s: cannot open: %s; digital "
			    "silence stands in, retry in %d s",
			    fallback_source_name(fb->source), fb->path, shown,
			    (int)(FILLER_RETRY_NS / NS_PER_SEC));
			util_strlcpy(fb->last_open_error, err,
			    sizeof(fb->last_open_error));
		}
		spec.kind = SCHEDULE_SOURCE_SILENCE;
		spec.path = NULL;
		it.src = source_open(&spec, engine_rate_hz(e),
		    engine_channels(e), err, sizeof(err));
		fb->armed_silence = true;
		fb->retry_at_mono_ns = util_now_mono_ns() + FILLER_RETRY_NS;
	} else if (fb->last_open_error[0] != '\0') {
		log_info(MOD, "[fallback] %s %s: opens again",
		    fallback_source_name(fb->source), fb->path);
		fb->last_open_error[0] = '\0';
	}
	util_strlcpy(it.segment, "", sizeof(it.segment));
	util_strlcpy(it.title, fb->title, sizeof(it.title));
	util_strlcpy(it.artist, fb->artist, sizeof(it.artist));
	util_strlcpy(it.source_kind,
	    fb->armed_silence ? "silence" : fallback_source_name(fb->source),
	    sizeof(it.source_kind));
	it.fade_ns = SWITCHER_FILLER_FADE_NS;
	it.filler = true;
	engine_set_filler(e, &it);
}

/* The operator's command for this change, with the event in its
 * environment. */
static void
run_hook(struct fallback *fb, const struct engine_fallback_event *ev)
{
	const char *cmd = ev->active ? fb->on_dead_air : fb->on_restore;
	const char *what = ev->active ? "on_dead_air" : "on_restore";
	char env[4][STATS_TEXT + 32], iso[40], why[STATS_TEXT];
	const char *envp[4];
	size_t i;

	if (cmd[0] == '\0')
		return;
	/* Its thread exists only once a hook has to run. */
	if (fb->hooks == NULL && (fb->hooks = hook_runner_new()) == NULL) {
		log_err(MOD, "%s: cannot start the hook thread; not run", what);
		return;
	}
	util_sanitize_text(why, sizeof(why), ev->why);
	snprintf(env[0], sizeof(env[0]), "RELAY_EVENT=%s",
	    ev->active ? "dead_air" : "restore");
	snprintf(env[1], sizeof(env[1]), "RELAY_SINCE=%s",
	    util_format_iso8601(ev->active ? ev->at_wall_ns : fb->since_wall_ns,
		false, iso, sizeof(iso)));
	snprintf(env[2], sizeof(env[2]), "RELAY_REASON=%s", why);
	snprintf(env[3], sizeof(env[3]), "RELAY_STATION=%s", fb->station);
	for (i = 0; i < 4; i++)
		envp[i] = env[i];
	(void)hook_runner_run(
	    fb->hooks, what, cmd, envp, 4, fb->hook_timeout_ns);
}

int64_t
fallback_due_ns(const struct fallback *fb, int64_t now_ns)
{
	int64_t due = INT64_MAX;

	if (fb->rearm_at_mono_ns != 0)
		due = fb->rearm_at_mono_ns > now_ns ? fb->rearm_at_mono_ns
						    : now_ns;
	if (!fb->enabled || !fb->armed_silence)
		return due;
	if (fb->retry_at_mono_ns > now_ns)
		return fb->retry_at_mono_ns < due ? fb->retry_at_mono_ns : due;
	return now_ns + 100 * NS_PER_MS < due ? now_ns + 100 * NS_PER_MS : due;
}

void
fallback_tick(
    struct fallback *fb, struct engine *e, bool input_down, const char *why)
{
	struct engine_fallback_event ev;
	char shown[512];
	bool rearm = false;

	engine_set_input_down(e, input_down, why);
	if (fb->enabled && fb->armed_silence &&
	    util_now_mono_ns() >= fb->retry_at_mono_ns)
		arm(fb, e); /* the real filler may open now */
	else if (engine_filler_wanted(e))
		arm(fb, e);
	else if (fb->enabled && engine_filler_stale(e)) {
		/* Once a minute at most: a file written to in bursts more
		 * than 2 s apart is opened anew after each (source_stale()). */
		if (util_now_mono_ns() >= fb->stale_logged_mono_ns) {
			log_info(MOD,
			    "[fallback] %s %s: a file changed on disk since "
			    "the waiting filler opened it; opened anew",
			    fallback_source_name(fb->source), fb->path);
			fb->stale_logged_mono_ns =
			    util_now_mono_ns() + 60 * NS_PER_SEC;
		}
		arm(fb, e);
	}
	while (engine_poll_fallback(e, &ev) == 1) {
		log_escape(shown, sizeof(shown), ev.why);
		if (ev.active) {
			fb->since_wall_ns = ev.at_wall_ns;
			log_warn(MOD,
			    "dead air: %s; the filler (%s%s%s) is on air "
			    "until the live input is back",
			    shown, fallback_source_name(fb->source),
			    fb->path[0] != '\0' ? " " : "", fb->path);
		} else {
			/* The figure fallback.dead_air_s grew by: the same
			 * programme frames, not the wall clock between the
			 * two events. */
			char total[32], lead[32], filler[32];

			util_format_duration(
			    (int64_t)((ev.lead_in_s + ev.filler_s) * 1e9),
			    total, sizeof(total));
			util_format_duration(
			    (int64_t)(ev.lead_in_s * 1e9), lead, sizeof(lead));
			util_format_duration((int64_t)(ev.filler_s * 1e9),
			    filler, sizeof(filler));
			if (ev.lead_in_s > 0)
				log_info(MOD,
				    "dead air over after %s (%s of silence, "
				    "then %s of filler): %s; the filler is off "
				    "air",
				    total, lead, filler, shown);
			else
				log_info(MOD,
				    "dead air over after %s of filler: %s; the "
				    "filler is off air",
				    filler, shown);
		}
		run_hook(fb, &ev);
		if (!ev.active) {
			fb->since_wall_ns = 0;
			rearm = true;
			fb->rearm_at_mono_ns = util_now_mono_ns() +
					       SWITCHER_FILLER_FADE_NS +
					       FILLER_REARM_SLACK_NS;
		} else
			fb->rearm_at_mono_ns = 0;
	}
	/* Its fade-out is over: the files heard in it count (DESIGN). */
	if (fb->rearm_at_mono_ns != 0 &&
	    util_now_mono_ns() >= fb->rearm_at_mono_ns) {
		fb->rearm_at_mono_ns = 0;
		rearm = true;
	}
	/* The waiting playlist was armed when the last one went on air, so
	 * it would start where that one started: now it starts after the
	 * last file heard. */
	if (rearm && fb->enabled && fb->source == FALLBACK_PLAYLIST &&
	    !fb->armed_silence)
		arm(fb, e);
}
