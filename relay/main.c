/* SPDX-License-Identifier: MIT */
/*
 * relay: startup order, the main loop, reload and shutdown. No other logic
 * lives here.
 *
 * Startup: parse arguments, load and validate the whole config (exit 1 on
 * any error, before anything connects), block every signal (threads inherit
 * the mask; the main loop reads them through a signalfd), then start stats,
 * the engine, the outputs, the input, the Icecast poller and the status
 * server. Shutdown (SIGINT/SIGTERM): stop the input, let the engine end
 * every stream with EOS, let each output send its last pages and
 * disconnect, then stop the rest; exit 0. SIGHUP reloads (see reload()).
 *
 * Exit codes: 0 clean stop or successful --check, 1 config or startup
 * error, 2 usage error.
 *
 * Threads: this file runs on the main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "archive.h"
#include "check.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "fallback.h"
#include "icecast_poll.h"
#include "listenback.h"
#include "input.h"
#include "log.h"
#include "output.h"
#include "privilege.h"
#include "programme.h"
#include "ring.h"
#include "service.h"
#include "stats.h"
#include "status.h"
#include "version.h"
#include "wakeup.h"

#define MOD "main"
#define RING_SECONDS 2
#define OUTPUT_DRAIN_NS (800 * NS_PER_MS)
/* The main loop's longest sleep. Other threads wake it when something
 * changes (wakeup.h) and each timed job says when it is due, so this only
 * bounds what no one announces: a wall-clock step under the planner, a
 * hold moving a segment's window, a filler the engine could not take. */
#define MAIN_MAX_SLEEP_NS NS_PER_SEC

struct relay {
	struct config *cfg;
	struct ring *ring;
	struct engine *engine;
	struct input *input;
	struct output *outputs[CONFIG_MAX_OUTPUTS];
	size_t n_outputs;
	struct icecast_poll *poller;
	struct listenback *listenback;
	struct status_server *status;
	struct programme *programme;
	struct fallback *fallback;
	struct alerts *alerts;
	/* The last POST /api/skip that ended an item: until the engine
	 * applies it (the next block, or SWITCHER_SKIP_WAIT_NS while the
	 * rest of a window opens), /api/status still shows that item on
	 * air, and a second skip must not answer as if it ended it. */
	struct {
		char segment[128];	    /* "" none */
		int64_t started_at_wall_ns; /* the item's, to tell it apart */
		int64_t asked_mono_ns;
		char back[128]; /* the segment that returns, "" live */
	} skipped;
};

static int reload(struct relay *r, char *msg, size_t msglen);

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: relay -c FILE            run (foreground, logs to "
	    "stderr)\n"
	    "       relay --check -c FILE    validate the config and print "
	    "a summary\n"
	    "       relay --dump-config      list every key with its "
	    "default\n"
	    "       relay schedule -c FILE [--hours N]\n"
	    "                                list the next segments in local "
	    "time\n"
	    "       relay status [--url URL | -c FILE] [--json]\n"
	    "                                the status of a running relay "
	    "(exit 0 on air,\n"
	    "                                1 off air, 2 unreachable)\n"
	    "       relay --version | --help\n"
	    "Signals: SIGTERM/SIGINT end every stream cleanly; SIGHUP "
	    "reloads the config.\n"
	    "Docs: docs/configuration.md, docs/operations.md\n");
}

static bool
has_icecast_outputs(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_outputs; i++) {
		if (cfg->outputs[i].type == OUTPUT_ICECAST)
			return true;
	}
	return false;
}

/* Starts the Icecast status poller unless there is nothing to poll or
 * [status] poll_icecast = off. */
static void
start_poller(struct relay *r, const struct config *cfg)
{
	if (!has_icecast_outputs(cfg) || cfg->status.poll_icecast_ns <= 0)
		return;
	r->poller = icecast_poll_start(cfg->status.poll_icecast_ns);
	if (r->poller == NULL)
		log_warn(MOD, "cannot start the Icecast status poller; "
			      "on-air checks and the stall watchdog's "
			      "server check are off");
}

/* Warns when a config that holds a secret inline can be read by others,
 * and about passwords too short to guess hard or to blank inside words. */
static void
check_permissions(const struct config *cfg)
{
	const char *what = config_exposed_secret(cfg);
	char buf[600];
	size_t i, n;

	if (what != NULL)
		log_warn(MOD,
		    "%s holds %s and is readable by every user; chmod o-r "
		    "it or use a _file or _env key",
		    cfg->path, what);
	if (config_exposed_secret_file(cfg, buf, sizeof(buf)) != NULL)
		log_warn(
		    MOD, "the %s is readable by every user; chmod o-r it", buf);
	for (i = 0; i < cfg->n_outputs; i++) {
		n = config_short_password(cfg, i, buf, sizeof(buf));
		if (n > 0)
			log_warn(MOD, "%s: " CONFIG_SHORT_PASSWORD_FMT, buf,
			    CONFIG_SHORT_PASSWORD_ARGS(n));
	}
}

/* Started as root with [station] user, relay read its files as root (and
 * --check looked as root), but every reload reads them as that user, who
 * also writes the archive: say now, not at the first SIGHUP or a silent
 * archive, when a file it needs (a 0600 root password_file) or the
 * archive's directory is beyond its reach. */
static void
check_rereadable(const struct config *cfg)
{
	struct config *again = NULL;
	struct schedule *s = NULL;
	char err[CONFIG_ERR_LEN], dir[4096];
	size_t i;
	int rc;

	err[0] = '\0';
	rc = config_load(cfg->path, &again, err, sizeof(err));
	if (rc == 0 && again->schedule.file != NULL) {
		rc = schedule_load(again->schedule.file,
		    again->schedule.timezone, &s, err, sizeof(err));
		schedule_free(s);
	}
	config_free(again);
	if (rc < 0)
		log_warn(MOD,
		    "as user %s relay cannot read its configuration again, "
		    "so every reload will be rejected: %s; make the files "
		    "readable by that user (chgrp GROUP FILE; chmod 0640 "
		    "FILE)",
		    cfg->station.user, err);
	/* --check ran as root and found the archive's directory writable. */
	for (i = 0; i < cfg->n_outputs; i++) {
		const struct output_config *o = &cfg->outputs[i];

		if (o->type != OUTPUT_FILE || o->path == NULL ||
		    archive_pattern_root(o->path, dir, sizeof(dir)) < 0 ||
		    access(dir, W_OK | X_OK) == 0)
			continue;
		log_warn(MOD,
		    "[output %s]: as user %s relay cannot write in %s: %s; "
		    "nothing will be recorded until that user may (chown "
		    "%s DIR)",
		    o->name, cfg->station.user, dir, strerror(errno),
		    cfg->station.user);
	}
}

static int
start_output(struct relay *r, const struct config *cfg, size_t i)
{
	char err[CONFIG_ERR_LEN];
	struct output *o;

	err[0] = '\0';
	o = output_start(cfg, i, err, sizeof(err));
	if (o == NULL) {
		log_err(MOD, "%s", err);
		return -EINVAL;
	}
	if (engine_attach(r->engine, cfg->outputs[i].encoding_name,
		output_queue(o)) < 0) {
		log_err(MOD, "[output %s]: encoding %s is not running",
		    cfg->outputs[i].name, cfg->outputs[i].encoding_name);
		output_stop(o, 0);
		return -EINVAL;
	}
	r->outputs[r->n_outputs++] = o;
	return 0;
}

static void
stop_output(struct relay *r, size_t idx, int64_t drain_ns)
{
	engine_detach(r->engine, output_queue(r->outputs[idx]));
	output_stop(r->outputs[idx], drain_ns);
	r->outputs[idx] = r->outputs[--r->n_outputs];
}

static int
start_all(struct relay *r)
{
	struct config *cfg = r->cfg;
	char err[CONFIG_ERR_LEN];
	size_t i;

	err[0] = '\0';
	stats_configure(cfg);
	r->ring = ring_new(
	    (size_t)cfg->input.rate_hz * RING_SECONDS, cfg->input.channels);
	if (r->ring == NULL) {
		log_err(MOD, "out of memory allocating the input ring");
		return -ENOMEM;
	}
	stats_input_set_buffer(ring_capacity(r->ring), cfg->input.rate_hz);
	r->engine = engine_start(cfg, r->ring, err, sizeof(err));
	if (r->engine == NULL) {
		log_err(MOD, "%s", err);
		return -EINVAL;
	}
	engine_set_start_grace(r->engine, cfg->schedule.start_grace_ns);
	programme_attach(r->programme, r->engine);
	r->fallback = fallback_new();
	if (r->fallback == NULL) {
		log_err(MOD, "out of memory starting [fallback]");
		return -ENOMEM;
	}
	fallback_configure(r->fallback, cfg, r->engine);
	r->alerts = alerts_new();
	if (r->alerts == NULL) {
		log_err(MOD, "out of memory starting the alerts");
		return -ENOMEM;
	}
	alerts_configure(r->alerts, cfg);
	for (i = 0; i < cfg->n_outputs; i++) {
		if (start_output(r, cfg, i) < 0)
			return -EINVAL;
	}
	r->input = input_start(&cfg->input, r->ring, err, sizeof(err));
	if (r->input == NULL) {
		log_err(MOD, "%s", err);
		return -EINVAL;
	}
	start_poller(r, cfg);
	r->listenback = listenback_start(cfg);
	if (cfg->status.enabled) {
		r->status = status_start(cfg, err, sizeof(err));
		if (r->status == NULL) {
			log_err(MOD, "%s", err);
			return -EINVAL;
		}
	}
	return 0;
}

static void
stop_all(struct relay *r)
{
	size_t i;

	/* Input first: no new audio. Then the engine ends every stream, so
	 * the last packets (EOS) are queued before the outputs drain. */
	control_shutdown();
	/* Listen-back first: the outputs' EOS must not read as dead air. */
	listenback_stop(r->listenback);
	r->listenback = NULL;
	input_stop(r->input);
	r->input = NULL;
	engine_stop(r->engine);
	r->engine = NULL;
	programme_attach(r->programme, NULL);
	fallback_free(r->fallback);
	r->fallback = NULL;
	alerts_free(r->alerts);
	r->alerts = NULL;
	for (i = 0; i < r->n_outputs; i++)
		output_stop(r->outputs[i], OUTPUT_DRAIN_NS);
	r->n_outputs = 0;
	status_stop(r->status);
	r->status = NULL;
	icecast_poll_stop(r->poller);
	r->poller = NULL;
	ring_free(r->ring);
	r->ring = NULL;
}

/* Two optional texts (NULL: unset) are the same. */
static bool
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A rejected reload: logged, shown in /api/status, nothing changed. */
static int
reload_rejected(const char *why, char *msg, size_t msglen)
{
	log_err(MOD,
	    "reload rejected, the running config and schedule stay: "
	    "%s",
	    why);
	stats_reload_set(util_now_wall_ns(), false, why);
	if (msg != NULL)
		snprintf(msg, msglen, "%s", why);
	return -EINVAL;
}

/*
 * SIGHUP or POST /api/reload: build and validate a whole new config, the
 * schedule and every new or changed encoder first; apply nothing if any
 * of it fails. Then outputs whose settings (and encoding) did not change
 * keep streaming without a gap; so do outputs whose encoding changed only
 * in what a new Ogg chain carries (config_output_change()): the swap ends
 * the old encoder's stream in them and attaches them to the new encoder,
 * whose stream follows on the same connection. Changed ones restart; new
 * ones start; removed ones end their stream with EOS. The restarted
 * outputs of a changed encoding stop only after the swap has ended the
 * old encoder's stream in them, and their replacements are attached by
 * the swap: an archive loses no sample at the reload. 0 with msg saying
 * what changed, or -EINVAL with msg holding the error (FILE:LINE: ...).
 */
static int
reload_apply(struct relay *r, char *msg, size_t msglen)
{
	struct config *next = NULL, *old = r->cfg;
	struct engine_rebuild *rb = NULL;
	char err[CONFIG_ERR_LEN], sched[256] = "", in_chain[40] = "";
	size_t i, j, rebuilt;
	bool keep[CONFIG_MAX_OUTPUTS] = {false};
	struct output *late[CONFIG_MAX_OUTPUTS];
	struct output *fresh[CONFIG_MAX_OUTPUTS] = {NULL};
	bool not_made[CONFIG_MAX_OUTPUTS] = {false};
	size_t n_late = 0;
	int kept = 0, chained = 0, started = 0, stopped = 0;

	log_info(MOD, "reloading %s", old->path);
	if (config_load(old->path, &next, err, sizeof(err)) < 0)
		return reload_rejected(err, msg, msglen);
	if (next->input.rate_hz != old->input.rate_hz ||
	    next->input.channels != old->input.channels) {
		snprintf(err, sizeof(err),
		    "%s:%d: [input] rate and channels change only with a "
		    "restart",
		    next->path, next->input.line);
		config_free(next);
		return reload_rejected(err, msg, msglen);
	}
	if (engine_reconfigure_prepare(r->engine, next, &rb, err, sizeof(err)) <
	    0) {
		config_free(next);
		return reload_rejected(err, msg, msglen);
	}
	if (programme_reload(r->programme, next, err, sizeof(err), sched,
		sizeof(sched)) < 0) {
		engine_reconfigure_abort(rb);
		config_free(next);
		return reload_rejected(err, msg, msglen);
	}
	/* Everything is valid and built: from here on nothing can refuse. */
	if (next->status.enabled != old->status.enabled ||
	    (next->status.enabled &&
		(strcmp(next->status.listen_host, old->status.listen_host) !=
			0 ||
		    next->status.listen_port != old->status.listen_port)))
		log_warn(MOD, "[status] listen changes only with a restart; "
			      "still serving the old address");
	if (!same_text(next->station.user, old->station.user) ||
	    !same_text(next->station.group, old->station.group))
		log_warn(MOD, "[station] user and group change only with a "
			      "restart; still running as before");
	log_configure(next->log.level, next->log.target);
	check_permissions(next);

	/* Stop outputs that changed or went away (EOS, disconnect). */
	for (i = 0; i < r->n_outputs;) {
		const char *name = output_name(r->outputs[i]);
		const struct output_config *oo = NULL, *no = NULL;
		enum config_output_change change = CONFIG_OUTPUT_RESTART;
		size_t jn = 0;

		for (j = 0; j < old->n_outputs; j++) {
			if (strcmp(old->outputs[j].name, name) == 0)
				oo = &old->outputs[j];
		}
		for (j = 0; j < next->n_outputs; j++) {
			if (strcmp(next->outputs[j].name, name) == 0) {
				no = &next->outputs[j];
				jn = j;
			}
		}
		if (no != NULL && oo != NULL)
			change = config_output_change(old, oo, next, no);
		/* Its encoding changed in what a new chain carries: the
		 * output stays attached to the old encoder, which the commit
		 * ends into it (EOS), and joins the new one in the same step,
		 * so its stream goes on in a new chain on the same connection
		 * (or in the same file), listeners and all. */
		if (change == CONFIG_OUTPUT_NEW_CHAIN &&
		    engine_rebuild_attach(rb, (size_t)no->encoding_index,
			output_queue(r->outputs[i])) < 0)
			change = CONFIG_OUTPUT_RESTART;
		if (change != CONFIG_OUTPUT_RESTART) {
			keep[jn] = true;
			if (change == CONFIG_OUTPUT_NEW_CHAIN) {
				output_set_encoding(r->outputs[i], next, jn);
				log_info(MOD,
				    "[output %s]: kept; its encoding [%s] "
				    "continues in a new chain on the same %s",
				    name, no->encoding_name,
				    no->type == OUTPUT_FILE ? "file"
							    : "connection");
				chained++;
			}
			kept++;
			i++;
			continue;
		}
		log_info(MOD, "[output %s]: %s", name,
		    no == NULL ? "removed" : "settings changed, restarting");
		if (oo != NULL &&
		    engine_rebuild_replaces(rb, next, oo->encoding_name)) {
			/* Its encoder is replaced: it stays attached so that
			 * the commit ends its stream whole (see below). */
			late[n_late++] = r->outputs[i];
			r->outputs[i] = r->outputs[--r->n_outputs];
			continue;
		}
		stop_output(r, i, OUTPUT_DRAIN_NS);
		stopped++;
	}
	/* The replacements of the outputs of a new or changed encoding are
	 * attached by the commit itself, in the step that swaps the encoder
	 * in: they get its stream from the first packet, however long the old
	 * outputs take to drain. They run once those have stopped (the same
	 * mount or archive file). */
	for (j = 0; j < next->n_outputs; j++) {
		int k = next->outputs[j].encoding_index;

		if (keep[j] || k < 0)
			continue;
		err[0] = '\0';
		fresh[j] = output_new(next, j, err, sizeof(err));
		if (fresh[j] == NULL) {
			log_err(MOD, "%s", err);
			not_made[j] = true;
			continue;
		}
		if (engine_rebuild_attach(
			rb, (size_t)k, output_queue(fresh[j])) < 0) {
			/* An encoding the reload keeps: attached at start. */
			output_stop(fresh[j], 0);
			fresh[j] = NULL;
		}
	}
	stats_configure(next);
	/* The old encoders end their streams (what the resampler and the
	 * codec hold, then EOS) into the outputs still attached to them. */
	rebuilt = engine_reconfigure_commit(r->engine, next, rb);
	for (i = 0; i < n_late; i++) {
		engine_detach(r->engine, output_queue(late[i]));
		output_stop(late[i], OUTPUT_DRAIN_NS);
		stopped++;
	}
	for (j = 0; j < next->n_outputs; j++) {
		if (keep[j] || not_made[j])
			continue;
		if (fresh[j] == NULL) {
			if (start_output(r, next, j) == 0)
				started++;
			continue;
		}
		err[0] = '\0';
		if (output_run(fresh[j], next, j, err, sizeof(err)) < 0) {
			log_err(MOD, "%s", err);
			engine_detach(r->engine, output_queue(fresh[j]));
			output_stop(fresh[j], 0);
			continue;
		}
		r->outputs[r->n_outputs++] = fresh[j];
		started++;
	}
	if (!config_input_same(&old->input, &next->input)) {
		log_info(MOD, "[input]: settings changed, reopening");
		input_stop(r->input);
		r->input = input_start(&next->input, r->ring, err, sizeof(err));
		if (r->input == NULL)
			log_err(MOD, "%s", err);
	}
	/* The live title follows the config only when the config's title
	 * changed: an unchanged reload keeps what the operator set through
	 * POST /api/metadata. */
	if (!util_str_same(old->input.title, next->input.title) ||
	    !util_str_same(old->input.artist, next->input.artist))
		engine_set_title(
		    r->engine, next->input.title, next->input.artist);
	engine_set_start_grace(r->engine, next->schedule.start_grace_ns);
	fallback_configure(r->fallback, next, r->engine);
	alerts_configure(r->alerts, next);
	for (i = 0; i < r->n_outputs; i++)
		output_set_poll_interval(
		    r->outputs[i], next->status.poll_icecast_ns);
	if (next->status.poll_icecast_ns != old->status.poll_icecast_ns ||
	    !has_icecast_outputs(next)) {
		icecast_poll_stop(r->poller);
		r->poller = NULL;
	}
	if (r->poller == NULL)
		start_poller(r, next);
	/* Only the listen-back of a restarted output (which may come back in
	 * another stats slot) or of changed listen-back settings restarts:
	 * the others keep their connection and their verdict. */
	r->listenback = listenback_reload(r->listenback, old, next, keep);
	status_reconfigure(r->status, next);
	r->cfg = next;
	config_free(old);
	if (chained > 0)
		snprintf(in_chain, sizeof(in_chain), " (%d in a new chain)",
		    chained);
	snprintf(err, sizeof(err),
	    "%d output(s) kept streaming%s, %d started, %d stopped; %zu "
	    "encoder(s) rebuilt%s%s",
	    kept, in_chain, started, stopped, rebuilt,
	    sched[0] != '\0' ? "; " : "", sched);
	log_info(MOD, "reloaded: %s", err);
	stats_reload_set(util_now_wall_ns(), true, err);
	if (msg != NULL)
		snprintf(msg, msglen, "%s", err);
	return 0;
}

/* How long a skip may take to show: the engine applies it at its next
 * block, or waits up to SWITCHER_SKIP_WAIT_NS for the rest of a window;
 * an item still shown after this is on air again, not still ending. */
#define SKIP_SHOWS_WITHIN_NS (2 * NS_PER_SEC)

/* True when the item on air (now) is the one the last skip ended and the
 * engine has not applied that skip yet. Main thread. */
static bool
skip_pending(const struct relay *r, const struct stats_programme *now)
{
	return r->skipped.segment[0] != '\0' &&
	       strcmp(r->skipped.segment, now->segment) == 0 &&
	       r->skipped.started_at_wall_ns == now->started_at_wall_ns &&
	       util_now_mono_ns() - r->skipped.asked_mono_ns <
		   SKIP_SHOWS_WITHIN_NS;
}

/* Control requests from the status server, run on the main thread. On
 * success msg may say what happened (the reload's summary). */
static int
on_control(struct control_request *req, char *msg, size_t msglen, void *arg)
{
	struct relay *r = arg;

	switch (req->what) {
	case CONTROL_PLAY:
		return programme_play(
		    r->programme, &req->play, &req->id, msg, msglen);
	case CONTROL_SKIP: {
		struct programme_withdrawn gone[PROGRAMME_MAX_WITHDRAWN];
		struct stats_programme now;
		const char *back;
		char what[CONTROL_WITHDRAWN_TEXT_BYTES];
		size_t i, n;
		stats_programme_get(&now);
		if (now.state != PROGRAMME_SEGMENT) {
			/* Nothing on air to skip: a request due and waiting
			 * for its source (a feed still connecting), a "play
			 * now" or one whose `at` has come, is what the
			 * operator means; it must not air later. */
			n = programme_withdraw_waiting(
			    r->programme, util_now_wall_ns(), gone);
			if (n > 0) {
				/* Every id in the answer's "withdrawn"; as
				 * many names as fit in its text. */
				for (i = 0; i < n; i++)
					req->withdrawn[i] = gone[i].request_id;
				req->n_withdrawn = n;
				control_withdrawn_text(
				    gone, n, what, sizeof(what));
				snprintf(msg, msglen,
				    "nothing on air to skip; withdrawn before "
				    "it aired (its source had no audio yet): "
				    "%s",
				    what);
				return 0;
			}
			stats_programme_get(&now);
		}
		if (now.state != PROGRAMME_SEGMENT) {
			snprintf(msg, msglen,
			    "nothing to skip: the live programme is on air");
			return -ENOENT;
		}
		if (skip_pending(r, &now)) {
			/* A second skip (a double click, two operators)
			 * before the engine has applied the first: it ends
			 * nothing more, and what returns is the first one's
			 * answer. */
			if (r->skipped.back[0] != '\0')
				snprintf(msg, msglen,
				    "segment %s already ends (an earlier "
				    "skip); segment %s returns, joined in "
				    "progress",
				    now.segment, r->skipped.back);
			else
				snprintf(msg, msglen,
				    "segment %s already ends (an earlier "
				    "skip), live returns",
				    now.segment);
			return 0;
		}
		back = programme_skip(r->programme, util_now_wall_ns());
		engine_skip(r->engine); /* control.c writes the audit line */
		util_strlcpy(r->skipped.segment, now.segment,
		    sizeof(r->skipped.segment));
		r->skipped.started_at_wall_ns = now.started_at_wall_ns;
		r->skipped.asked_mono_ns = util_now_mono_ns();
		util_strlcpy(r->skipped.back, back != NULL ? back : "",
		    sizeof(r->skipped.back));
		if (back != NULL)
			snprintf(msg, msglen,
			    "segment %s ends now; segment %s returns, joined "
			    "in progress",
			    now.segment, back);
		else
			snprintf(msg, msglen,
			    "segment %s ends now, live returns", now.segment);
		return 0;
	}
	case CONTROL_METADATA:
		/* The answer says what became of the title: on air, held
		 * (coalesced, switcher.h) or waiting for live, and which
		 * title not yet on air it replaced. */
		engine_set_live_title(
		    r->engine, req->title, req->artist, &req->title_result);
		req->has_title_result = true;
		control_title_text(&req->title_result, msg, msglen);
		control_title_log(req, util_now_mono_ns());
		return 0;
	case CONTROL_RELOAD:
		/* Synchronous, so the answer is the reload's result. The
		 * status server's settings change under this request, which
		 * is safe: status_reconfigure() takes its lock only briefly
		 * and the request holds none while it waits. */
		return reload(r, msg, msglen);
	}
	snprintf(msg, msglen, "unknown request");
	return -EINVAL;
}

/* One line for systemd's STATUS=: how many outputs are connected. */
static void
service_status_line(char *buf, size_t len)
{
	struct stats_snapshot *s = malloc(sizeof(*s));
	size_t i, up = 0;

	if (s == NULL) {
		util_strlcpy(buf, "running", len);
		return;
	}
	stats_snapshot(s);
	for (i = 0; i < s->n_outputs; i++)
		up += s->outputs[i].connected ? 1 : 0;
	snprintf(buf, len, "%s: %zu of %zu output(s) connected, %s",
	    s->station_name[0] != '\0' ? s->station_name : "relay", up,
	    s->n_outputs, programme_state_name(s->programme.state));
	free(s);
}

/* Listen-back hooks: a snapshot for alerts_tick(). */
static void
alerts_check(struct relay *r)
{
	struct stats_snapshot *s = malloc(sizeof(*s));

	if (s == NULL)
		return;
	stats_snapshot(s);
	alerts_tick(r->alerts, s);
	free(s);
}

/* A reload, told to systemd (RELOADING=1, then READY=1 with the result). */
static int
reload(struct relay *r, char *msg, size_t msglen)
{
	char line[256];
	int rc;

	service_reloading();
	rc = reload_apply(r, msg, msglen);
	if (rc < 0) {
		snprintf(line, sizeof(line), "the last reload was rejected");
	} else {
		service_status_line(line, sizeof(line));
	}
	service_reloaded(line);
	return rc;
}

/* relay schedule -c FILE [--hours N] */
static int
schedule_main(int argc, char **argv)
{
	const char *path = NULL;
	int64_t hours = 24;
	struct config *cfg = NULL;
	struct schedule *s = NULL;
	char err[CONFIG_ERR_LEN];
	int i;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--hours") == 0 && i + 1 < argc) {
			if (util_parse_int64(argv[++i], 1, 24 * 366, &hours) <
			    0) {
				fprintf(stderr, "relay schedule: --hours takes "
						"1..8784\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: relay schedule -c FILE "
					"[--hours N]\n");
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: relay schedule -c FILE [--hours N]\n");
		return 2;
	}
	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (cfg->schedule.file == NULL) {
		fprintf(stderr,
		    "%s: no [schedule] file: only the live "
		    "programme plays\n",
		    path);
		config_free(cfg);
		return 0;
	}
	if (schedule_load(cfg->schedule.file, cfg->schedule.timezone, &s, err,
		sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	programme_probe_files(s, false);
	schedule_print_upcoming(s, util_now_wall_ns(), hours, stdout);
	schedule_free(s);
	config_free(cfg);
	return 0;
}

/* How long the main loop may sleep: until the first timed job is due,
 * and no longer than MAIN_MAX_SLEEP_NS. */
static int
sleep_ms(const struct relay *r, int64_t next_status_ns, int64_t next_alerts_ns)
{
	int64_t now = util_now_mono_ns(), wall = util_now_wall_ns();
	int64_t due = now + MAIN_MAX_SLEEP_NS, t;

	t = programme_next_wall_ns(r->programme, wall);
	if (t - wall < MAIN_MAX_SLEEP_NS)
		due = now + (t > wall ? t - wall : 0);
	t = fallback_due_ns(r->fallback, now);
	if (t < due)
		due = t;
	t = service_watchdog_due_ns(now);
	if (t < due)
		due = t;
	if (next_status_ns < due)
		due = next_status_ns;
	if (alerts_wanted(r->alerts) && next_alerts_ns < due)
		due = next_alerts_ns;
	if (due <= now)
		return 0;
	return (int)((due - now + NS_PER_MS - 1) / NS_PER_MS);
}

static int
run(struct relay *r)
{
	sigset_t mask;
	int sfd, rc = 0;
	bool running = true;
	int64_t next_status_ns = 0, next_alerts_ns = 0;
	char line[256];

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err(MOD, "signalfd: %s", strerror(errno));
		return 1;
	}
	service_init();
	rc = wakeup_open();
	if (rc < 0) {
		log_err(MOD, "eventfd: %s", strerror(-rc));
		close(sfd);
		return 1;
	}
	if (start_all(r) < 0) {
		rc = 1;
		running = false;
	} else {
		log_info(MOD,
		    "relay %s running: %zu encoding(s), %zu "
		    "output(s); SIGHUP reloads, SIGTERM stops",
		    RELAY_VERSION, r->cfg->n_encodings, r->cfg->n_outputs);
		service_ready("started; outputs connecting");
		next_status_ns = util_now_mono_ns() + NS_PER_SEC;
	}
	while (running) {
		struct pollfd pfd[3] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = control_fd(), .events = POLLIN},
		    {.fd = wakeup_fd(), .events = POLLIN},
		};
		struct signalfd_siginfo si;
		int n =
		    poll(pfd, 3, sleep_ms(r, next_status_ns, next_alerts_ns));

		if (n < 0 && errno != EINTR) {
			log_err(MOD, "poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[2].revents & POLLIN) != 0)
			wakeup_drain();
		if (input_ended(r->input)) {
			log_info(MOD, "the input ended (at_end = exit): ending "
				      "every stream and stopping");
			break;
		}
		programme_tick(r->programme, util_now_wall_ns());
		service_watchdog(
		    util_now_mono_ns(), engine_progress(r->engine));
		if (util_now_mono_ns() >= next_status_ns) {
			service_status_line(line, sizeof(line));
			service_status(line);
			stats_input_log_buffer_half();
			next_status_ns = util_now_mono_ns() + 5 * NS_PER_SEC;
		}
		if (alerts_wanted(r->alerts) &&
		    util_now_mono_ns() >= next_alerts_ns) {
			alerts_check(r);
			next_alerts_ns = util_now_mono_ns() + NS_PER_SEC / 2;
		}
		{
			char why[256] = "";
			bool down = input_down(r->input, why, sizeof(why));
			fallback_tick(r->fallback, r->engine, down, why);
		}
		if (n > 0 && (pfd[1].revents & POLLIN) != 0)
			control_run();
		if (n <= 0 || (pfd[0].revents & POLLIN) == 0)
			continue;
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGHUP:
			(void)reload(r, NULL, 0);
			break;
		case SIGINT:
		case SIGTERM:
			log_info(MOD, "%s: ending every stream and stopping",
			    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			running = false;
			break;
		default:
			break;
		}
	}
	service_stopping();
	stop_all(r);
	wakeup_close();
	close(sfd);
	if (rc == 0)
		log_info(MOD, "stopped cleanly");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'k'},
	    {"dump-config", no_argument, NULL, 'd'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct relay r;
	const char *path = NULL;
	bool check = false, was_root;
	char err[CONFIG_ERR_LEN];
	sigset_t mask;
	int ch, rc;

	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_client_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "schedule") == 0)
		return schedule_main(argc - 1, argv + 1);

	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'd':
			config_dump_keys(stdout);
			return 0;
		case 'V':
			printf(
			    "relay %s (%s)\n", RELAY_VERSION, relay_git_rev());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || path == NULL) {
		if (optind < argc)
			fprintf(stderr, "relay: unexpected argument \"%s\"\n",
			    argv[optind]);
		else
			fprintf(stderr, "relay: no config file: use -c FILE "
					"(see config/relay.conf)\n");
		usage(stderr);
		return 2;
	}

	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	if (config_load(path, &r.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		struct schedule *s = NULL;
		int n_errors, n_warnings = 0;
		if (r.cfg->schedule.file != NULL &&
		    schedule_load(r.cfg->schedule.file,
			r.cfg->schedule.timezone, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			config_free(r.cfg);
			return 1;
		}
		n_errors = check_run(r.cfg, s, stderr, &n_warnings);
		if (n_errors > 0) {
			fprintf(stderr,
			    "%s: %d error(s); relay would not start\n", path,
			    n_errors);
			schedule_free(s);
			config_free(r.cfg);
			return 1;
		}
		{
			const char *what = config_exposed_secret(r.cfg);
			if (what != NULL) {
				fprintf(stderr,
				    "%s: warning: holds %s and is readable by "
				    "every user; chmod o-r it or use a _file "
				    "or "
				    "_env key\n",
				    path, what);
				n_warnings++;
			}
			if (config_exposed_secret_file(
				r.cfg, err, sizeof(err)) != NULL) {
				fprintf(stderr,
				    "%s: warning: the %s is readable by every "
				    "user; chmod o-r it\n",
				    path, err);
				n_warnings++;
			}
		}
		config_print_summary(r.cfg, stdout);
		if (s != NULL) {
			programme_probe_files(s, false);
			schedule_print_summary(s, stdout);
			schedule_free(s);
		}
		if (n_warnings > 0)
			fprintf(
			    stderr, "%s: %d warning(s)\n", path, n_warnings);
		config_free(r.cfg);
		return 0;
	}
	log_configure(r.cfg->log.level, r.cfg->log.target);
	check_permissions(r.cfg);
	r.programme = programme_new(r.cfg, err, sizeof(err));
	if (r.programme == NULL) {
		fprintf(stderr, "%s\n", err);
		config_free(r.cfg);
		return 1;
	}
	if (control_init(on_control, &r) < 0) {
		fprintf(stderr, "relay: cannot set up the control queue\n");
		programme_free(r.programme);
		config_free(r.cfg);
		return 1;
	}

	/* libshout writes without MSG_NOSIGNAL: a dead server must give
	 * EPIPE, not kill us (FIELD-NOTES 2.1). */
	signal(SIGPIPE, SIG_IGN);
	/* A shell starts background jobs with SIGINT ignored; an ignored
	 * signal never reaches the signalfd, so take it back. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Every thread inherits this mask; signals arrive on the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	/* Root only until the port is bound: no thread exists yet. */
	was_root = geteuid() == 0;
	if (status_bind_early(r.cfg, err, sizeof(err)) < 0) {
		/* Where the address came from: its line, or the file (the
		 * default address, no listen key). */
		if (r.cfg->status.listen_line > 0)
			log_err(MOD, "%s:%d: %s", r.cfg->path,
			    r.cfg->status.listen_line, err);
		else
			log_err(MOD, "%s: %s", r.cfg->path, err);
		control_shutdown();
		programme_free(r.programme);
		config_free(r.cfg);
		return 1;
	}
	if (privilege_drop(r.cfg->station.user, r.cfg->station.group, err,
		sizeof(err)) < 0) {
		log_err(MOD, "%s", err);
		control_shutdown();
		programme_free(r.programme);
		config_free(r.cfg);
		return 1;
	}
	if (was_root && r.cfg->station.user != NULL)
		check_rereadable(r.cfg);
	rc = run(&r);
	programme_free(r.programme);
	config_free(r.cfg);
	return rc;
}
