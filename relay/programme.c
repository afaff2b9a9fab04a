/* SPDX-License-Identifier: MIT */
/*
 * The programme planner. See programme.h.
 *
 * DESIGN
 * Every tick (5 per second) the planner walks the schedule's winners from
 * now to now + PROGRAMME_PREROLL_NS with schedule_active(): each winner is
 * an occurrence (segment, start) on air [from, until). One it has not yet
 * handed over becomes an engine item: its source is opened now (the feeder
 * thread starts decoding), and the engine starts it at the frame matching
 * `from`, ends it at `until`. An occurrence is identified by (segment,
 * start, from), so a segment pre-empted and later resumed is a new item,
 * joined in progress (the source skips from - start).
 * A segment that cannot be opened is skipped with one log line; the live
 * programme simply goes on. A file segment whose length is unknown (the
 * file was missing at load) is probed again when it comes close.
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "programme.h"
#include "source.h"
#include "stats.h"

#define MOD "programme"
#define PLANNED_MAX 64

struct programme {
	struct schedule *schedule;
	struct engine *engine;
	uint64_t planned[PLANNED_MAX]; /* keys handed over or skipped */
	size_t planned_next;
	int64_t next_published_ns;
};

static uint64_t
occurrence_key(size_t segment, int64_t start_ns, int64_t from_ns)
{
	uint64_t h = 1469598103934665603u;

	h = (h ^ (uint64_t)segment) * 1099511628211u;
	h = (h ^ (uint64_t)start_ns) * 1099511628211u;
	h = (h ^ (uint64_t)from_ns) * 1099511628211u;
	return h | 1; /* never 0: 0 is the live programme */
}

static bool
planned(const struct programme *p, uint64_t key)
{
	size_t i;

	for (i = 0; i < PLANNED_MAX; i++) {
		if (p->planned[i] == key)
			return true;
	}
	return false;
}

static void
mark_planned(struct programme *p, uint64_t key)
{
	p->planned[p->planned_next] = key;
	p->planned_next = (p->planned_next + 1) % PLANNED_MAX;
}

void
programme_probe_files(struct schedule *s, bool log_failures)
{
	size_t i;

	for (i = 0; i < schedule_count(s); i++) {
		const struct schedule_segment *seg = schedule_segment(s, i);
		int64_t ns;
		char err[512];

		if (seg->source != SCHEDULE_SOURCE_FILE ||
		    seg->duration_ns != SCHEDULE_DURATION_UNKNOWN)
			continue;
		if (source_probe_duration(seg->path, &ns, err, sizeof(err)) ==
			0 &&
		    ns > 0) {
			if (schedule_set_duration(s, i, ns) < 0 && log_failures)
				log_warn(MOD,
				    "segment %s: %s is longer than "
				    "24 h; set duration",
				    seg->name, seg->path);
		} else if (log_failures) {
			log_warn(MOD,
			    "segment %s: %s; it will be skipped "
			    "unless the file appears",
			    seg->name, err);
		}
	}
}

static int
load_schedule(
    const struct config *cfg, struct schedule **out, char *err, size_t errlen)
{
	int rc;

	*out = NULL;
	if (cfg->schedule.file == NULL)
		return 0;
	rc = schedule_load(
	    cfg->schedule.file, cfg->schedule.timezone, out, err, errlen);
	if (rc < 0)
		return rc;
	programme_probe_files(*out, true);
	return 0;
}

struct programme *
programme_new(const struct config *cfg, char *err, size_t errlen)
{
	struct programme *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (load_schedule(cfg, &p->schedule, err, errlen) < 0) {
		free(p);
		return NULL;
	}
	if (p->schedule != NULL)
		log_info(MOD, "schedule %s: %zu segment(s), time zone %s",
		    cfg->schedule.file, schedule_count(p->schedule),
		    cfg->schedule.timezone != NULL ? cfg->schedule.timezone
						   : "of the system");
	return p;
}

void
programme_free(struct programme *p)
{
	if (p == NULL)
		return;
	schedule_free(p->schedule);
	free(p);
}

void
programme_attach(struct programme *p, struct engine *e)
{
	p->engine = e;
}

const struct schedule *
programme_schedule(const struct programme *p)
{
	return p->schedule;
}

int
programme_reload(
    struct programme *p, const struct config *cfg, char *err, size_t errlen)
{
	struct schedule *next = NULL;

	if (load_schedule(cfg, &next, err, errlen) < 0)
		return -EINVAL;
	if (p->engine != NULL)
		engine_clear_pending(p->engine);
	schedule_free(p->schedule);
	p->schedule = next;
	memset(p->planned, 0, sizeof(p->planned));
	p->next_published_ns = 0;
	if (next != NULL)
		log_info(MOD, "schedule %s reloaded: %zu segment(s)",
		    cfg->schedule.file, schedule_count(next));
	return 0;
}

static void
fill_item_texts(struct engine_item *it, const char *segment, const char *title,
    const char *artist, enum schedule_source kind)
{
	util_strlcpy(it->segment, segment, sizeof(it->segment));
	util_sanitize_text(
	    it->title, sizeof(it->title), title != NULL ? title : segment);
	util_sanitize_text(
	    it->artist, sizeof(it->artist), artist != NULL ? artist : "");
	util_strlcpy(it->source_kind, schedule_source_name(kind),
	    sizeof(it->source_kind));
}

/* Opens spec's source in the engine's programme format into it->src
 * (NULL for the live input). 0, or -EINVAL with err filled. */
static int
open_source(struct programme *p, const struct source_spec *spec,
    struct engine_item *it, char *err, size_t errlen)
{
	it->src = NULL;
	if (spec->kind == SCHEDULE_SOURCE_LIVE)
		return 0;
	it->src = source_open(spec, engine_rate_hz(p->engine),
	    engine_channels(p->engine), err, errlen);
	return it->src != NULL ? 0 : -EINVAL;
}

/* Opens the source of an occurrence and hands it to the engine. */
static void
plan(struct programme *p, const struct schedule_occurrence *occ, int64_t now,
    uint64_t key)
{
	const struct schedule_segment *seg =
	    schedule_segment(p->schedule, occ->segment);
	struct engine_item it;
	char err[512], when[64];
	int64_t from = occ->from_wall_ns > now ? occ->from_wall_ns : now;
	struct source_spec spec = {
	    .name = seg->name,
	    .kind = seg->source,
	    .path = seg->path,
	    .order = seg->order,
	    .url = seg->url,
	    .frequency_hz = seg->frequency_hz,
	    .level_dbfs = seg->level_dbfs,
	    .skip_ns = from - occ->start_wall_ns,
	};

	mark_planned(p, key);
	memset(&it, 0, sizeof(it));
	fill_item_texts(&it, seg->name, seg->title, seg->artist, seg->source);
	it.start_wall_ns = occ->from_wall_ns;
	it.end_wall_ns = occ->until_wall_ns;
	it.fade_ns = seg->fade_ns;
	err[0] = '\0';
	if (open_source(p, &spec, &it, err, sizeof(err)) < 0) {
		log_warn(MOD,
		    "segment %s (%s) skipped: %s; the live programme goes on",
		    seg->name,
		    schedule_format_local(
			p->schedule, occ->start_wall_ns, when, sizeof(when)),
		    err);
		return;
	}
	if (engine_schedule(p->engine, &it) < 0)
		log_warn(MOD, "segment %s skipped: too many items waiting",
		    seg->name);
	else
		log_debug(MOD, "segment %s planned for %s", seg->name,
		    schedule_format_local(
			p->schedule, occ->from_wall_ns, when, sizeof(when)));
}

static void
log_event(struct programme *p, const struct engine_event *ev)
{
	char when[64];

	if (p->schedule != NULL)
		schedule_format_local(
		    p->schedule, ev->at_wall_ns, when, sizeof(when));
	else
		util_format_iso8601(ev->at_wall_ns, true, when, sizeof(when));
	switch (ev->what) {
	case ENGINE_EVENT_STARTED: {
		char iso[40];
		log_info(MOD, "segment %s on air at %s (programme clock %s)",
		    ev->segment, when,
		    util_format_iso8601(
			ev->at_wall_ns, true, iso, sizeof(iso)));
		break;
	}
	case ENGINE_EVENT_ENDED:
		log_info(MOD, "segment %s ended at %s%s%s", ev->segment, when,
		    ev->detail[0] != '\0' ? ": " : "", ev->detail);
		break;
	case ENGINE_EVENT_FAILED:
		log_warn(MOD,
		    "segment %s stopped at %s: %s; back to the live "
		    "programme",
		    ev->segment, when, ev->detail);
		break;
	case ENGINE_EVENT_SKIPPED:
		log_info(MOD, "segment %s skipped at %s (%s)", ev->segment,
		    when, ev->detail);
		break;
	case ENGINE_EVENT_DROPPED:
		log_warn(
		    MOD, "segment %s not played: %s", ev->segment, ev->detail);
		break;
	}
}

/* Publishes the next segments (for /api/status and the page). */
static void
publish_next(struct programme *p, int64_t now)
{
	struct schedule_occurrence occ[8];
	struct stats_next next[STATS_MAX_NEXT];
	int n = 0, i;
	size_t k = 0;

	memset(next, 0, sizeof(next));
	if (p->schedule != NULL)
		n = schedule_upcoming(p->schedule, now,
		    now + 8 * 24 * 3600 * NS_PER_SEC, occ,
		    RELAY_ARRAY_LEN(occ));
	for (i = 0; i < n && k < STATS_MAX_NEXT; i++) {
		const struct schedule_segment *seg =
		    schedule_segment(p->schedule, occ[i].segment);
		if (seg->duration_ns == SCHEDULE_DURATION_UNKNOWN)
			continue;
		util_strlcpy(
		    next[k].segment, seg->name, sizeof(next[k].segment));
		util_strlcpy(next[k].title,
		    seg->title != NULL ? seg->title : seg->name,
		    sizeof(next[k].title));
		next[k].starts_at_wall_ns = occ[i].start_wall_ns;
		k++;
	}
	stats_programme_set_next(next, k);
}

void
programme_tick(struct programme *p, int64_t now)
{
	struct engine_event ev;
	struct schedule_occurrence act, up[8];
	int64_t t;
	int i, n;

	if (p->engine == NULL)
		return;
	while (engine_poll(p->engine, &ev) == 1)
		log_event(p, &ev);
	if (p->schedule == NULL)
		return;

	/* Files that were missing at load may have appeared. */
	n = schedule_upcoming(p->schedule, now, now + PROGRAMME_PREROLL_NS, up,
	    RELAY_ARRAY_LEN(up));
	for (i = 0; i < n; i++) {
		const struct schedule_segment *seg =
		    schedule_segment(p->schedule, up[i].segment);
		uint64_t key;
		int64_t ns;
		char err[512];

		if (seg->duration_ns != SCHEDULE_DURATION_UNKNOWN)
			continue;
		key = occurrence_key(up[i].segment, up[i].start_wall_ns, 0);
		if (planned(p, key))
			continue;
		if (source_probe_duration(seg->path, &ns, err, sizeof(err)) ==
			0 &&
		    schedule_set_duration(p->schedule, up[i].segment, ns) == 0)
			continue;
		mark_planned(p, key);
		log_warn(MOD,
		    "segment %s skipped: %s; the live programme "
		    "goes on",
		    seg->name, err);
	}

	t = now;
	for (i = 0; i < 8 && t < now + PROGRAMME_PREROLL_NS; i++) {
		if (schedule_active(p->schedule, t, &act) < 0)
			break;
		if (act.segment != SCHEDULE_NONE) {
			uint64_t key = occurrence_key(
			    act.segment, act.start_wall_ns, act.from_wall_ns);
			if (!planned(p, key) && act.until_wall_ns > now)
				plan(p, &act, now, key);
		}
		if (act.until_wall_ns == CRON_NEVER || act.until_wall_ns <= t)
			break;
		t = act.until_wall_ns;
	}
	if (now >= p->next_published_ns) {
		publish_next(p, now);
		p->next_published_ns = now + NS_PER_SEC;
	}
}

int
programme_play(struct programme *p, const struct programme_request *req,
    char *err, size_t errlen)
{
	struct engine_item it;
	int64_t now = util_now_wall_ns();
	int64_t duration = req->duration_ns;
	struct source_spec spec = {
	    .name = "api",
	    .kind = req->kind,
	    .path = req->path,
	    .order = SCHEDULE_ORDER_SEQUENTIAL,
	    .url = req->url,
	    .frequency_hz = req->frequency_hz,
	    .level_dbfs = req->level_dbfs,
	};

	if (p->engine == NULL) {
		snprintf(err, errlen, "the engine is not running");
		return -EAGAIN;
	}
	memset(&it, 0, sizeof(it));
	fill_item_texts(&it, "api", req->title, req->artist, req->kind);
	if (req->kind == SCHEDULE_SOURCE_FILE && duration <= 0) {
		if (source_probe_duration(req->path, &duration, err, errlen) <
		    0)
			return -ENOENT;
	}
	if (duration <= 0) {
		snprintf(err, errlen, "duration is required for this source");
		return -EINVAL;
	}
	if (open_source(p, &spec, &it, err, errlen) < 0)
		return -EINVAL;
	it.start_wall_ns = req->at_wall_ns > now ? req->at_wall_ns : now;
	it.end_wall_ns = it.start_wall_ns + duration;
	it.fade_ns = SCHEDULE_FADE_DEFAULT_NS;
	if (engine_schedule(p->engine, &it) < 0) {
		snprintf(err, errlen, "too many items waiting");
		return -ENOSPC;
	}
	log_debug(MOD, "control: %s segment queued for %.1f s (%s)",
	    schedule_source_name(req->kind), (double)duration / 1e9, it.title);
	return 0;
}
