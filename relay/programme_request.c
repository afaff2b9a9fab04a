/* SPDX-License-Identifier: MIT */
/*
 * Control-API requests to the planner: a segment to play now or at a
 * time (programme_play(), with what will make it wait or cut it short),
 * a skip (programme_skip()) and the withdrawal of requests still waiting
 * for their source (programme_withdraw_waiting()). Each request is an
 * engine item holding its window against lower priorities (programme.c,
 * DESIGN: Holds).
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "programme.h"
#include "programme_internal.h"
#include "source.h"
#include "stats.h"

const char *
programme_skip(struct programme *p, int64_t now)
{
	struct schedule_occurrence act;
	const struct schedule_segment *seg;
	int64_t from;
	size_t i, k;

	if (p->schedule == NULL ||
	    schedule_active(p->schedule, now, &act) < 0 ||
	    act.segment == SCHEDULE_NONE)
		return NULL;
	seg = schedule_segment(p->schedule, act.segment);
	for (i = 0; i < HANDED_MAX; i++) {
		const struct handed *h = &p->handed[i];
		if (h->key == 0 || !h->on_air || h->request_id == 0)
			continue;
		for (k = 0; k < HOLDS_MAX; k++) {
			struct hold *hd = &p->holds[k];
			if (hd->key != h->key ||
			    !programme_hold_applies(hd, seg) ||
			    hd->until_wall_ns <= now)
				continue;
			/* The rest from where the skipped item went on air:
			 * past on the engine's clock, so it is due at the
			 * skip's frame (its source still joins the window
			 * where it stands now). */
			from = h->aired_at_ns > act.from_wall_ns
				   ? h->aired_at_ns
				   : act.from_wall_ns + 1;
			programme_hold_end_early(p, hd, from,
			    "re-planned: the item before it is skipped");
			programme_tick(p, now);
			return seg->name;
		}
	}
	return NULL;
}

size_t
programme_withdraw_waiting(
    struct programme *p, int64_t now, struct programme_withdrawn *out)
{
	size_t i, j, n = 0;

	if (p->engine == NULL)
		return 0;
	for (i = 0; i < HANDED_MAX; i++) {
		struct handed *h = &p->handed[i];

		/* A "play now", or one whose `at` has come: both are due
		 * and wait only for their source. A later `at` is left. */
		if (h->key == 0 || h->request_id == 0 || h->on_air ||
		    h->start_wall_ns > now)
			continue;
		h->withdrawn = true;
		if (engine_drop_pending(p->engine, programme_drop_by_key,
			&h->key, PROGRAMME_WITHDRAWN_BY_SKIP) == 0) {
			h->withdrawn = false; /* it started meanwhile */
			continue;
		}
		/* By request id, oldest first (the slots are in no order). */
		for (j = n; j > 0 && out[j - 1].request_id > h->request_id; j--)
			out[j] = out[j - 1];
		out[j].request_id = h->request_id;
		util_strlcpy(
		    out[j].segment, h->segment, sizeof(out[j].segment));
		n++;
	}
	return n;
}

/* Records a new request (newest first, the oldest falls off). */
static void
request_add(struct programme *p, uint64_t id, const struct engine_item *it,
    const char *name, int64_t duration_ns)
{
	struct stats_request *r;

	if (p->n_requests < STATS_MAX_REQUESTS)
		p->n_requests++;
	memmove(&p->requests[1], &p->requests[0],
	    (p->n_requests - 1) * sizeof(p->requests[0]));
	r = &p->requests[0];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->state = STATS_REQUEST_PENDING;
	util_strlcpy(r->name, name, sizeof(r->name));
	util_strlcpy(r->title, it->title, sizeof(r->title));
	util_strlcpy(r->source, it->source_kind, sizeof(r->source));
	r->starts_at_wall_ns = it->start_wall_ns;
	r->ends_at_wall_ns = it->start_wall_ns + duration_ns;
	r->updated_at_wall_ns = util_now_wall_ns();
	stats_requests_set(p->requests, p->n_requests);
}

/* engine_drop_pending() filter: scheduled items that start inside the
 * hold *arg and yield to it. */
static bool
drop_under_hold(const struct engine_item *it, void *arg)
{
	const struct hold *h = arg;

	return it->key != h->key && !(it->key & (1ull << 63)) &&
	       it->priority < h->priority &&
	       it->start_wall_ns >= h->from_wall_ns &&
	       it->start_wall_ns < h->until_wall_ns;
}

/*
 * What outranks a new API segment of priority prio at *start: a scheduled
 * segment or an earlier API segment of strictly higher priority on air
 * then. It waits for their end (*start moves), a few times over; true
 * with why filled when it had to wait.
 */
static bool
wait_for_higher(
    struct programme *p, int prio, int64_t *start, char *why, size_t len)
{
	struct schedule_occurrence act;
	bool waited = false, moved;
	char when[64];
	int round;
	size_t i;

	for (round = 0; round < 8; round++) {
		moved = false;
		if (p->schedule != NULL &&
		    schedule_active(p->schedule, *start, &act) == 0 &&
		    act.segment != SCHEDULE_NONE &&
		    act.until_wall_ns != CRON_NEVER) {
			const struct schedule_segment *seg =
			    schedule_segment(p->schedule, act.segment);
			if (seg->priority > prio &&
			    act.until_wall_ns > *start) {
				*start = act.until_wall_ns;
				snprintf(why, len,
				    "segment %s (priority %d) is on air until "
				    "%s",
				    seg->name, seg->priority,
				    schedule_format_local(p->schedule, *start,
					when, sizeof(when)));
				moved = true;
			}
		}
		for (i = 0; i < HANDED_MAX && !moved; i++) {
			const struct handed *h = &p->handed[i];
			if (h->key == 0 || h->request_id == 0 ||
			    h->priority <= prio || h->start_wall_ns > *start ||
			    h->end_wall_ns <= *start)
				continue;
			*start = h->end_wall_ns;
			util_format_iso8601(*start, false, when, sizeof(when));
			snprintf(why, len,
			    "segment %s (priority %d) is on air until %s",
			    h->segment, h->priority, when);
			moved = true;
		}
		if (!moved)
			break;
		waited = true;
	}
	return waited;
}

/*
 * The first scheduled segment of higher or equal priority than prio that
 * starts inside (start, end): it will cut an API segment airing then
 * short (only scheduled segments of lower priority wait for one, and on
 * equal priority the later start wins, programme_hold_applies(); the API
 * segment does not come back after it): true, with why naming it and its start.
 */
static bool
cut_by_scheduled(const struct programme *p, int prio, int64_t start,
    int64_t end, char *why, size_t len)
{
	struct schedule_occurrence up[32];
	char when[64];
	int i, n;

	if (p->schedule == NULL)
		return false;
	n = schedule_upcoming(
	    p->schedule, start + 1, end, up, RELAY_ARRAY_LEN(up));
	for (i = 0; i < n; i++) {
		const struct schedule_segment *seg =
		    schedule_segment(p->schedule, up[i].segment);
		if (seg->priority < prio)
			continue;
		snprintf(why, len,
		    "segment %s (priority %d) starts at %s and cuts it short",
		    seg->name, seg->priority,
		    schedule_format_local(
			p->schedule, up[i].start_wall_ns, when, sizeof(when)));
		return true;
	}
	return false;
}

int
programme_play(struct programme *p, const struct programme_request *req,
    uint64_t *id_out, char *err, size_t errlen)
{
	struct engine_item it;
	struct hold *hd;
	int64_t now = util_now_wall_ns();
	int64_t duration = req->duration_ns;
	const char *name =
	    req->name != NULL && req->name[0] != '\0' ? req->name : "api";
	char why[256] = "", cut[256] = "";
	int64_t start;
	uint64_t id;
	struct source_spec spec = {
	    .name = name,
	    .kind = req->kind,
	    .path = req->path,
	    .order = SCHEDULE_ORDER_SEQUENTIAL,
	    .url = req->url,
	    .tls = &p->feed_tls,
	    .frequency_hz = req->frequency_hz,
	    .level_dbfs = req->level_dbfs,
	};

	if (p->engine == NULL) {
		snprintf(err, errlen, "the engine is not running");
		return -EAGAIN;
	}
	memset(&it, 0, sizeof(it));
	programme_fill_item_texts(
	    &it, name, req->title, req->artist, req->kind);
	if (req->kind == SCHEDULE_SOURCE_FILE && duration <= 0) {
		if (source_probe_duration(req->path, &duration, err, errlen) <
		    0)
			return -ENOENT;
	}
	if (duration <= 0) {
		snprintf(err, errlen, "duration is required for this source");
		return -EINVAL;
	}
	if (duration < PROGRAMME_API_MIN_NS) {
		snprintf(err, errlen,
		    "duration: at least 0.1 s (%.3f s would not be heard)",
		    (double)duration / 1e9);
		return -EINVAL;
	}
	it.priority =
	    req->has_priority ? req->priority : PROGRAMME_API_PRIORITY;
	start = req->at_wall_ns > now ? req->at_wall_ns : now;
	if (wait_for_higher(p, it.priority, &start, why, sizeof(why)))
		log_info(MOD, "control: %s segment %s waits: %s",
		    schedule_source_name(req->kind), name, why);
	if (programme_open_source(p, &spec, &it, err, errlen) < 0)
		return -EINVAL;
	id = ++p->next_request_id;
	it.key = API_KEY(id);
	it.fade_ns = SCHEDULE_FADE_DEFAULT_NS;
	if (start > now) {
		it.start_wall_ns = start;
		it.end_wall_ns = it.start_wall_ns + duration;
	} else {
		/* Now: on air as soon as its source has audio (the grace),
		 * for its whole length from then. */
		it.start_wall_ns = now;
		it.duration_ns = duration;
	}
	if (engine_schedule(p->engine, &it) < 0) {
		snprintf(err, errlen,
		    "too many items waiting (at most %d); try again after "
		    "one has started",
		    ENGINE_MAX_PENDING);
		return -ENOSPC;
	}
	programme_handed_add(p, &it, 0, id);
	request_add(p, id, &it, name, duration);
	/* Scheduled segments of lower priority wait for it. */
	hd = programme_hold_add(p);
	if (hd != NULL) {
		hd->priority = it.priority;
		hd->from_wall_ns = it.start_wall_ns;
		hd->until_wall_ns = it.start_wall_ns + duration;
		hd->key = it.key;
		(void)engine_drop_pending(p->engine, drop_under_hold, hd,
		    "a control-API segment of higher priority holds its time");
	}
	if (cut_by_scheduled(
		p, it.priority, start, start + duration, cut, sizeof(cut)))
		log_info(MOD, "control: %s segment %s: %s",
		    schedule_source_name(req->kind), name, cut);
	if (why[0] != '\0' && cut[0] != '\0')
		snprintf(err, errlen, "request %llu waits: %s; then %s",
		    (unsigned long long)id, why, cut);
	else if (why[0] != '\0')
		snprintf(err, errlen, "request %llu waits: %s",
		    (unsigned long long)id, why);
	else if (cut[0] != '\0')
		snprintf(err, errlen, "request %llu: %s",
		    (unsigned long long)id, cut);
	log_debug(MOD, "control: request %llu: %s segment %s queued for %.1f s",
	    (unsigned long long)id, schedule_source_name(req->kind), name,
	    (double)duration / 1e9);
	*id_out = id;
	return 0;
}
