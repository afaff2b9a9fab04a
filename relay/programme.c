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
 * Keys. An occurrence's key hashes the segment's definition (every field
 * that changes what plays or when), not its index, so a reload with the
 * segment unchanged finds its items already planned and leaves them alone.
 *
 * Holds. Something that must not be cut by the schedule holds a window:
 * an API segment (every scheduled segment of lower priority waits for its
 * end, then plays the rest of its own window, joined in progress), and a
 * segment on air whose definition a reload changed or removed (it plays
 * to its end; the new definition takes over at that boundary). Planning
 * cuts each occurrence's window around the holds that apply to it; a hold
 * whose item ends early (skipped, failed) shrinks to that moment.
 *
 * Control-API requests (play now or at a time, skip, withdraw): see
 * programme_request.c.
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "programme.h"
#include "programme_internal.h"
#include "source.h"
#include "stats.h"
#include "tls.h"

/* What makes a segment play differently: its definition, not its index. */
static uint64_t
segment_fingerprint(const struct schedule_segment *seg)
{
	uint64_t h = UTIL_HASH_INIT;
	int64_t v[5] = {seg->duration_ns, seg->priority, seg->fade_ns,
	    (int64_t)seg->source * 16 + (int64_t)seg->order, seg->no_normalise};

	h = util_hash_str(h, seg->name);
	h = util_hash_str(h, seg->when_text);
	h = util_hash_str(h, seg->path);
	h = util_hash_str(h, seg->url);
	h = util_hash_str(h, seg->ca_file);
	h = util_hash_str(h, seg->ca_dir);
	h = util_hash_str(h, seg->client_cert);
	h = util_hash(h, &seg->tls_min_version, sizeof(seg->tls_min_version));
	h = util_hash_str(h, seg->title);
	h = util_hash_str(h, seg->artist);
	h = util_hash(h, &seg->frequency_hz, sizeof(seg->frequency_hz));
	h = util_hash(h, &seg->level_dbfs, sizeof(seg->level_dbfs));
	h = util_hash(h, &seg->gain_db, sizeof(seg->gain_db));
	h = util_hash(h, v, sizeof(v));
	return h | 1;
}

static uint64_t
occurrence_key(uint64_t fp, int64_t start_ns, int64_t from_ns)
{
	uint64_t h = fp;

	h = (h ^ (uint64_t)start_ns) * 1099511628211u;
	h = (h ^ (uint64_t)from_ns) * 1099511628211u;
	return (h | 1) & ~(1ull << 63); /* never 0, never an API key */
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

/* Forgets a planned key: what it named was withdrawn before it aired
 * (a hold that ends early may leave its window free again). */
static void
unmark_planned(struct programme *p, uint64_t key)
{
	size_t i;

	for (i = 0; i < PLANNED_MAX; i++) {
		if (p->planned[i] == key)
			p->planned[i] = 0;
	}
}

static struct handed *
handed_find(struct programme *p, uint64_t key)
{
	size_t i;

	for (i = 0; i < HANDED_MAX; i++) {
		if (p->handed[i].key == key && key != 0)
			return &p->handed[i];
	}
	return NULL;
}

void
programme_handed_add(struct programme *p, const struct engine_item *it,
    uint64_t fp, uint64_t request_id)
{
	struct handed *h = NULL;
	size_t i;

	for (i = 0; i < HANDED_MAX && h == NULL; i++) {
		if (p->handed[i].key == 0)
			h = &p->handed[i];
	}
	if (h == NULL)
		return; /* cannot happen: the engine holds fewer items */
	memset(h, 0, sizeof(*h));
	h->key = it->key;
	h->fp = fp;
	util_strlcpy(h->segment, it->segment, sizeof(h->segment));
	h->start_wall_ns = it->start_wall_ns;
	h->end_wall_ns = it->end_wall_ns > 0
			     ? it->end_wall_ns
			     : it->start_wall_ns + it->duration_ns;
	h->priority = it->priority;
	h->floating = it->end_wall_ns == 0;
	h->request_id = request_id;
}

struct hold *
programme_hold_add(struct programme *p)
{
	size_t i;
	int64_t now = util_now_wall_ns();

	for (i = 0; i < HOLDS_MAX; i++) {
		struct hold *h = &p->holds[i];
		if (!h->used || h->until_wall_ns <= now) {
			memset(h, 0, sizeof(*h));
			h->used = true;
			return h;
		}
	}
	return NULL;
}

/* Lets go the holds whose item ended early, once planned past. */
static void
release_ended_holds(struct programme *p)
{
	size_t i;

	for (i = 0; i < HOLDS_MAX; i++)
		if (p->holds[i].ended)
			p->holds[i].used = p->holds[i].ended = false;
}

/* Whether hold h keeps segment seg (index i) off the air. */
bool
programme_hold_applies(const struct hold *h, const struct schedule_segment *seg)
{
	if (!h->used)
		return false;
	if (h->by_name)
		return strcmp(h->name, seg->name) == 0;
	return seg->priority < h->priority;
}

/* Sets a request's real start and end (0: leave as is) and publishes. */
static void
request_times(
    struct programme *p, uint64_t id, int64_t starts_at, int64_t ends_at)
{
	size_t i;

	for (i = 0; i < p->n_requests; i++) {
		if (p->requests[i].id != id)
			continue;
		if (starts_at != 0)
			p->requests[i].starts_at_wall_ns = starts_at;
		if (ends_at != 0)
			p->requests[i].ends_at_wall_ns = ends_at;
	}
	stats_requests_set(p->requests, p->n_requests);
}

/* Updates request id's record (newest first) and publishes the list. */
static void
request_update(struct programme *p, uint64_t id, enum stats_request_state st,
    int64_t at, const char *reason)
{
	size_t i;

	for (i = 0; i < p->n_requests; i++) {
		struct stats_request *r = &p->requests[i];
		if (r->id != id)
			continue;
		r->state = st;
		r->updated_at_wall_ns = at;
		if (reason != NULL)
			util_strlcpy(r->reason, reason, sizeof(r->reason));
		break;
	}
	stats_requests_set(p->requests, p->n_requests);
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
	if (tls_config_copy(&p->feed_tls, &cfg->tls) < 0) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	if (load_schedule(cfg, &p->schedule, err, errlen) < 0) {
		tls_config_clear(&p->feed_tls);
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
	tls_config_clear(&p->feed_tls);
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

/* engine_drop_pending() filter: the item whose key is *arg. */
bool
programme_drop_by_key(const struct engine_item *it, void *arg)
{
	return it->key == *(const uint64_t *)arg;
}

/* The hold hd now ends at until, before it did: what was planned to
 * resume after it goes (why), and the next planning pass plans the rest
 * of the window from until. */
static void
hold_shrink(
    struct programme *p, struct hold *hd, int64_t until, const char *why)
{
	size_t k;

	for (k = 0; k < hd->n_resume; k++)
		(void)engine_drop_pending(
		    p->engine, programme_drop_by_key, &hd->resume_keys[k], why);
	hd->n_resume = 0;
	hd->until_wall_ns = until;
}

/* The item holding hd ended before the hold did, at until: the hold
 * shrinks to it, and is let go once that pass has planned past it. */
void
programme_hold_end_early(
    struct programme *p, struct hold *hd, int64_t until, const char *why)
{
	hold_shrink(p, hd, until, why);
	hd->ended = true;
}

/*
 * After a reload: which handed items the new schedule still wants. An item
 * stays when the new schedule's winner at its start is the same occurrence
 * of an unchanged segment. Otherwise a waiting item is dropped (the new
 * schedule plans what replaces it), and the item on air plays to its end
 * under a hold, so the new definition takes over at that boundary.
 */
static void
retain_handed(struct programme *p, int64_t now, char *summary, size_t len)
{
	size_t i, kept = 0, dropped = 0, held = 0;

	for (i = 0; i < HANDED_MAX; i++) {
		struct handed *h = &p->handed[i];
		struct schedule_occurrence act;
		bool same = false;

		if (h->key == 0 || h->request_id != 0)
			continue;
		if (p->schedule != NULL &&
		    schedule_active(p->schedule,
			h->start_wall_ns > now ? h->start_wall_ns : now,
			&act) == 0 &&
		    act.segment != SCHEDULE_NONE) {
			uint64_t fp = segment_fingerprint(
			    schedule_segment(p->schedule, act.segment));
			/* A waiting item may be a part of the window (what
			 * a hold left, planned from its own start). */
			same = fp == h->fp &&
			       (h->on_air ||
				   occurrence_key(fp, act.start_wall_ns,
				       act.from_wall_ns) == h->key ||
				   occurrence_key(fp, act.start_wall_ns,
				       h->start_wall_ns) == h->key);
		}
		if (same) {
			/* Same occurrence; its window may have grown or shrunk
			 * (a segment that pre-empted it is gone, or new). */
			if (act.until_wall_ns != h->end_wall_ns &&
			    act.until_wall_ns != CRON_NEVER &&
			    p->engine != NULL) {
				engine_set_end(
				    p->engine, h->key, act.until_wall_ns);
				h->end_wall_ns = act.until_wall_ns;
			}
			kept++;
		} else if (h->on_air) {
			struct hold *hd = programme_hold_add(p);
			if (hd != NULL) {
				hd->by_name = true;
				util_strlcpy(
				    hd->name, h->segment, sizeof(hd->name));
				hd->from_wall_ns = h->start_wall_ns;
				hd->until_wall_ns =
				    h->end_wall_ns > 0 ? h->end_wall_ns : now;
				hd->key = h->key;
			}
			log_info(MOD,
			    "segment %s changed or removed by the reload; "
			    "it stays on air to its end",
			    h->segment);
			held++;
		} else {
			uint64_t key = h->key;
			if (p->engine != NULL)
				(void)engine_drop_pending(p->engine,
				    programme_drop_by_key, &key,
				    "its segment changed in the reload");
			memset(h, 0, sizeof(*h));
			dropped++;
		}
	}
	snprintf(summary, len,
	    "%zu planned item(s) kept, %zu replaced, %zu on air to its end",
	    kept, dropped, held);
}

int
programme_reload(struct programme *p, const struct config *cfg, char *err,
    size_t errlen, char *summary, size_t summary_len)
{
	struct schedule *next = NULL;
	struct tls_config tls;
	char kept[160];

	if (tls_config_copy(&tls, &cfg->tls) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (load_schedule(cfg, &next, err, errlen) < 0) {
		tls_config_clear(&tls);
		return -EINVAL;
	}
	/* Sources already open keep the copy they made. */
	tls_config_clear(&p->feed_tls);
	p->feed_tls = tls;
	schedule_free(p->schedule);
	p->schedule = next;
	p->next_published_ns = 0;
	retain_handed(p, util_now_wall_ns(), kept, sizeof(kept));
	if (next != NULL)
		log_info(MOD, "schedule %s reloaded: %zu segment(s); %s",
		    cfg->schedule.file, schedule_count(next), kept);
	if (summary != NULL)
		snprintf(summary, summary_len, "schedule: %zu segment(s), %s",
		    next != NULL ? schedule_count(next) : 0, kept);
	return 0;
}

void
programme_fill_item_texts(struct engine_item *it, const char *segment,
    const char *title, const char *artist, enum schedule_source kind)
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
int
programme_open_source(struct programme *p, const struct source_spec *spec,
    struct engine_item *it, char *err, size_t errlen)
{
	it->src = NULL;
	if (spec->kind == SCHEDULE_SOURCE_LIVE)
		return 0;
	it->src = source_open(spec, engine_rate_hz(p->engine),
	    engine_channels(p->engine), err, errlen);
	return it->src != NULL ? 0 : -EINVAL;
}

/* One log line and the status API's "programme_error". */
static void programme_error(struct programme *p, const char *segment,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
programme_error(struct programme *p, const char *segment, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	(void)p;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warn(MOD, "segment %s: %s", segment, text);
	stats_programme_error_set(util_now_wall_ns(), segment, text);
}

/*
 * A file (or playlist) joined in progress that is shorter than the time
 * already gone: say so, instead of letting the engine report a source
 * that "delivered no audio". True when the item must not be handed over.
 */
static bool
ended_before_join(struct programme *p, const char *segment,
    struct engine_item *it, int64_t skip_ns)
{
	int64_t len;

	if (it->src == NULL || skip_ns <= 0)
		return false;
	len = source_duration_ns(it->src);
	if (len < 0 || skip_ns < len)
		return false;
	programme_error(p, segment,
	    "the file ended %.1f s before relay joined its window (%.1f s "
	    "long, joined %.1f s in); the live programme continues",
	    (double)(skip_ns - len) / 1e9, (double)len / 1e9,
	    (double)skip_ns / 1e9);
	source_close(it->src);
	it->src = NULL;
	return true;
}

/* A stream segment's TLS settings: its own keys over [tls]. The strings
 * are borrowed from both (source_open copies them). */
static struct tls_config
segment_tls(const struct programme *p, const struct schedule_segment *seg)
{
	struct tls_config t = p->feed_tls;

	if (seg->ca_file != NULL || seg->ca_dir != NULL) {
		/* Trust is replaced whole: a segment's own CA does not add
		 * to [tls]'s. */
		t.ca_file = seg->ca_file;
		t.ca_dir = seg->ca_dir;
	}
	if (seg->client_cert != NULL)
		t.client_cert = seg->client_cert;
	if (seg->tls_min_version >= 0)
		t.min_version = (enum tls_version)seg->tls_min_version;
	return t;
}

/* Opens the source of an occurrence (on air [from, until) of occ, which
 * may be a part of its window cut by a hold) and hands it to the engine. */
static void
plan(struct programme *p, const struct schedule_occurrence *occ, int64_t now,
    uint64_t key, uint64_t fp)
{
	const struct schedule_segment *seg =
	    schedule_segment(p->schedule, occ->segment);
	struct engine_item it;
	struct tls_config tls = segment_tls(p, seg);
	char err[512], when[64];
	int64_t from = occ->from_wall_ns > now ? occ->from_wall_ns : now;
	struct source_spec spec = {
	    .name = seg->name,
	    .kind = seg->source,
	    .path = seg->path,
	    .order = seg->order,
	    .url = seg->url,
	    .tls = &tls,
	    .frequency_hz = seg->frequency_hz,
	    .level_dbfs = seg->level_dbfs,
	    .skip_ns = from - occ->start_wall_ns,
	};

	mark_planned(p, key);
	memset(&it, 0, sizeof(it));
	programme_fill_item_texts(
	    &it, seg->name, seg->title, seg->artist, seg->source);
	it.start_wall_ns = occ->from_wall_ns;
	it.end_wall_ns = occ->until_wall_ns;
	it.fade_ns = seg->fade_ns;
	it.gain_db = seg->gain_db;
	it.no_normalise = seg->no_normalise;
	it.key = key;
	it.priority = seg->priority;
	err[0] = '\0';
	if (programme_open_source(p, &spec, &it, err, sizeof(err)) < 0) {
		programme_error(p, seg->name,
		    "skipped (%s): %s; the live programme goes on",
		    schedule_format_local(
			p->schedule, occ->start_wall_ns, when, sizeof(when)),
		    err);
		return;
	}
	/* A playlist loops through its window (the source wraps the skip);
	 * only a single file can have ended before relay joined. */
	if (seg->source == SCHEDULE_SOURCE_FILE &&
	    ended_before_join(p, seg->name, &it, spec.skip_ns))
		return;
	if (engine_schedule(p->engine, &it) < 0) {
		programme_error(
		    p, seg->name, "skipped: too many items waiting");
		return;
	}
	programme_handed_add(p, &it, fp, 0);
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
		if (ev->ran_out && ev->next_segment[0] != '\0')
			log_info(MOD,
			    "segment %s ended at %s, %s; segment %s "
			    "follows",
			    ev->segment, when, ev->detail, ev->next_segment);
		else if (ev->ran_out)
			log_info(MOD, "segment %s ended at %s, %s; %s",
			    ev->segment, when, ev->detail,
			    ev->to_filler ? "the [fallback] filler plays"
					  : "back to the live programme");
		else
			log_info(MOD, "segment %s ended at %s%s%s", ev->segment,
			    when, ev->detail[0] != '\0' ? ": " : "",
			    ev->detail);
		break;
	case ENGINE_EVENT_FAILED:
		if (ev->next_segment[0] != '\0')
			log_warn(MOD,
			    "segment %s stopped at %s: %s; segment %s "
			    "follows",
			    ev->segment, when, ev->detail, ev->next_segment);
		else
			log_warn(MOD, "segment %s stopped at %s: %s; %s",
			    ev->segment, when, ev->detail,
			    ev->to_filler ? "the [fallback] filler plays"
					  : "back to the live programme");
		break;
	case ENGINE_EVENT_ENDING:
		log_info(MOD,
		    "segment %s will stop at %s, before its planned end: %s",
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
	case ENGINE_EVENT_WITHDRAWN: {
		/* A request is named: several withdrawn at once (a skip)
		 * would otherwise be one line, the log folding repeats. */
		const struct handed *h = handed_find(p, ev->key);
		char req[40] = "";

		if (h != NULL && h->request_id != 0)
			snprintf(req, sizeof(req), " (request %llu)",
			    (unsigned long long)h->request_id);
		log_info(MOD, "segment %s withdrawn before it started: %s%s",
		    ev->segment, ev->detail, req);
		break;
	}
	}
}

/* A request's record once its item is over: done only when it aired its
 * whole planned length (or was skipped); anything less is failed, with
 * what happened. */
static void
request_over(
    struct programme *p, const struct handed *h, const struct engine_event *ev)
{
	char why[STATS_TEXT];
	enum stats_request_state st = STATS_REQUEST_FAILED;
	int64_t aired = h->on_air ? ev->at_wall_ns - h->aired_at_ns : 0;

	switch (ev->what) {
	case ENGINE_EVENT_STARTED:
	case ENGINE_EVENT_ENDING:
		return;
	case ENGINE_EVENT_SKIPPED:
		st = STATS_REQUEST_DONE;
		snprintf(why, sizeof(why), "%s after %.1f s", ev->detail,
		    (double)aired / 1e9);
		break;
	case ENGINE_EVENT_ENDED:
		if (aired < NS_PER_MS) {
			snprintf(why, sizeof(why), "never aired: %s",
			    ev->detail[0] != '\0' ? ev->detail
						  : "no time left");
		} else if (ev->ran_out) {
			/* Its file was shorter than its slot: played whole. */
			st = STATS_REQUEST_DONE;
			util_strlcpy(why, ev->detail, sizeof(why));
		} else if (ev->at_wall_ns + 50 * NS_PER_MS < h->end_wall_ns) {
			/* Under 0.1 s in ms: "after 0.0 s" read as never. */
			if (aired < 100 * NS_PER_MS)
				snprintf(why, sizeof(why),
				    "cut short after %d ms: %s",
				    (int)(aired / NS_PER_MS), ev->detail);
			else
				snprintf(why, sizeof(why),
				    "cut short after %.1f s: %s",
				    (double)aired / 1e9, ev->detail);
		} else {
			st = STATS_REQUEST_DONE;
			why[0] = '\0';
		}
		break;
	case ENGINE_EVENT_WITHDRAWN:
		/* Taken back on purpose (POST /api/skip) is an end the
		 * operator asked for, like a skip: done. */
		if (h->withdrawn)
			st = STATS_REQUEST_DONE;
		snprintf(why, sizeof(why), "never aired: %s", ev->detail);
		break;
	case ENGINE_EVENT_FAILED:
	case ENGINE_EVENT_DROPPED:
		util_strlcpy(why, ev->detail, sizeof(why));
		break;
	}
	request_update(p, h->request_id, st, ev->at_wall_ns, why);
	request_times(p, h->request_id, 0, ev->at_wall_ns);
}

/*
 * Item h, on air, will run dry at `at`, before its planned end (the
 * engine found its source done reading: ENDING). A hold it keeps shrinks
 * to that end now, while the item still plays: what waits for it is
 * planned for `at` in this same tick (when `at` is inside the look-ahead,
 * else by a later tick, programme_next_wall_ns()), prepared ahead and
 * started at that frame as at a planned end, with no live between.
 */
static void
ending_early(struct programme *p, struct handed *h, int64_t at)
{
	size_t i;

	/* A request that would wait for it waits only until then. */
	if (at < h->end_wall_ns)
		h->end_wall_ns = at;
	if (h->request_id != 0)
		request_times(p, h->request_id, 0, at);
	/* The item still plays: its holds shrink, and stay. */
	for (i = 0; i < HOLDS_MAX; i++) {
		struct hold *hd = &p->holds[i];
		if (hd->used && hd->key == h->key &&
		    at < hd->until_wall_ns - PROGRAMME_CLOCK_SLACK_NS)
			hold_shrink(p, hd, at,
			    "re-planned: the item before it ends early");
	}
}

/* Follows what the engine did: handed items, API requests, holds. */
static void
on_event(struct programme *p, const struct engine_event *ev)
{
	struct handed *h = handed_find(p, ev->key);
	size_t i;

	if (ev->what == ENGINE_EVENT_FAILED || ev->what == ENGINE_EVENT_DROPPED)
		stats_programme_error_set(
		    ev->at_wall_ns, ev->segment, ev->detail);
	/* A scheduled item withdrawn before it aired (a control-API segment
	 * holds its time, a reload): planned again if its window comes free,
	 * e.g. when that API segment is skipped before it. */
	if (ev->what == ENGINE_EVENT_WITHDRAWN && !(ev->key & API_KEY_BIT))
		unmark_planned(p, ev->key);
	if (h == NULL)
		return;
	if (ev->what == ENGINE_EVENT_ENDING) {
		ending_early(p, h, ev->at_wall_ns);
		return;
	}
	if (h->request_id != 0 && ev->what != ENGINE_EVENT_STARTED)
		request_over(p, h, ev);
	if (ev->what == ENGINE_EVENT_STARTED) {
		int64_t late = ev->at_wall_ns - h->start_wall_ns;
		h->on_air = true;
		h->aired_at_ns = ev->at_wall_ns;
		if (h->request_id != 0) {
			request_update(p, h->request_id, STATS_REQUEST_ON_AIR,
			    ev->at_wall_ns, NULL);
			request_times(p, h->request_id, ev->at_wall_ns,
			    h->floating ? h->end_wall_ns + (late > 0 ? late : 0)
					: 0);
		}
		if (!h->floating || late <= PROGRAMME_CLOCK_SLACK_NS)
			return;
		/* It started late (its source took a while): what waits
		 * for its end waits that much longer. */
		h->start_wall_ns += late;
		h->end_wall_ns += late;
		for (i = 0; i < HOLDS_MAX; i++) {
			struct hold *hd = &p->holds[i];
			size_t k;
			if (!hd->used || hd->key != ev->key)
				continue;
			for (k = 0; k < hd->n_resume; k++)
				(void)engine_drop_pending(p->engine,
				    programme_drop_by_key, &hd->resume_keys[k],
				    "re-planned: the item before it started "
				    "late");
			hd->n_resume = 0;
			hd->until_wall_ns = h->end_wall_ns;
		}
		return;
	}
	/* Over. A hold it kept ends now: what waited for it plays from
	 * here (its resume items, planned for the hold's end, go). */
	for (i = 0; i < HOLDS_MAX; i++) {
		struct hold *hd = &p->holds[i];
		if (!hd->used || hd->key != ev->key)
			continue;
		if (ev->at_wall_ns <
		    hd->until_wall_ns - PROGRAMME_CLOCK_SLACK_NS) {
			/* Planned again by this same tick. */
			programme_hold_end_early(p, hd, ev->at_wall_ns,
			    "resumed earlier: the item before it ended "
			    "early");
			continue;
		}
		hd->used = false;
	}
	memset(h, 0, sizeof(*h));
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

/* Plans part, a gap between holds in occurrence act, unless it is planned
 * already, over, or not yet in the look-ahead. after: the hold it follows
 * (NULL: it starts with act), which notes it as resuming after it. */
static void
plan_part(struct programme *p, const struct schedule_occurrence *act,
    const struct schedule_occurrence *part, int64_t now, uint64_t fp,
    struct hold *after)
{
	uint64_t key =
	    occurrence_key(fp, part->start_wall_ns, part->from_wall_ns);
	uint64_t whole =
	    occurrence_key(fp, act->start_wall_ns, act->from_wall_ns);

	/* The part before the holds has the whole window's key: planned
	 * whole when they came later, their items cut it. */
	if (part->until_wall_ns <= part->from_wall_ns || planned(p, key) ||
	    part->until_wall_ns <= now ||
	    part->from_wall_ns >= now + PROGRAMME_PREROLL_NS)
		return;
	if (after != NULL &&
	    after->n_resume < RELAY_ARRAY_LEN(after->resume_keys))
		after->resume_keys[after->n_resume++] = key;
	/* Once the holds are gone the next tick sees the window whole: it
	 * must find it planned, not plan it again over this part. */
	if (key != whole && !planned(p, whole))
		mark_planned(p, whole);
	plan(p, part, now, key, fp);
}

/*
 * Plans the parts of occurrence act not covered by the holds that apply to
 * its segment: the gaps before, between and after them. Two control-API
 * segments back to back inside it leave it the part after the second, not
 * the part after the first (which the second holds).
 */
static void
plan_windows(
    struct programme *p, const struct schedule_occurrence *act, int64_t now)
{
	const struct schedule_segment *seg =
	    schedule_segment(p->schedule, act->segment);
	uint64_t fp = segment_fingerprint(seg);
	struct schedule_occurrence part;
	struct hold *by[HOLDS_MAX] = {NULL}, *after = NULL, *h;
	size_t i, k, n = 0;
	int64_t cursor = act->from_wall_ns;

	for (i = 0; i < HOLDS_MAX; i++) {
		h = &p->holds[i];
		if (!programme_hold_applies(h, seg) ||
		    (h->until_wall_ns <= now && !h->ended) ||
		    h->from_wall_ns >= act->until_wall_ns ||
		    h->until_wall_ns <= act->from_wall_ns)
			continue;
		/* By their start: there are a few at most. */
		for (k = n; k > 0 && by[k - 1]->from_wall_ns > h->from_wall_ns;
		     k--)
			by[k] = by[k - 1];
		by[k] = h;
		n++;
	}
	for (i = 0; i <= n; i++) {
		part = *act;
		part.from_wall_ns = cursor;
		part.until_wall_ns =
		    i < n ? by[i]->from_wall_ns : act->until_wall_ns;
		plan_part(p, act, &part, now, fp, after);
		if (i < n && by[i]->until_wall_ns > cursor) {
			cursor = by[i]->until_wall_ns;
			after = by[i];
		}
	}
}

/* Whether h is a scheduled run (not a request) of the segment named
 * name, handed over (on air or waiting). */
static bool
run_of(const struct handed *h, const char *name)
{
	return h->key != 0 && h->request_id == 0 &&
	       strcmp(h->segment, name) == 0;
}

/* The occurrence the schedule now has at run h's start (or now, for one
 * on air), in *act: false when there is none, or it is not segment i's. */
static bool
occurrence_of_run(const struct programme *p, const struct handed *h, size_t i,
    int64_t now, struct schedule_occurrence *act)
{
	int64_t at = h->start_wall_ns > now ? h->start_wall_ns : now;

	return schedule_active(p->schedule, at, act) >= 0 && act->segment == i;
}

/*
 * Whether the earlier runs of segment i that are handed over (on air or
 * waiting) keep the windows they were handed if the segment's length
 * becomes ns: each occurrence, from its start, still reaches the run's
 * end. A shorter file would end one before that, and the planner would
 * let what it pre-empted cut in.
 */
static bool
earlier_runs_fit(const struct programme *p, size_t i, int64_t ns, int64_t now)
{
	const struct schedule_segment *seg = schedule_segment(p->schedule, i);
	struct schedule_occurrence act;
	size_t k;

	for (k = 0; k < HANDED_MAX; k++) {
		const struct handed *h = &p->handed[k];

		if (!run_of(h, seg->name))
			continue;
		if (!occurrence_of_run(p, h, i, now, &act) ||
		    act.start_wall_ns + ns < h->end_wall_ns)
			return false;
	}
	return true;
}

/*
 * The length of segment i changed while earlier runs of it are handed
 * over: they play the file they opened, in the windows they were handed.
 * Their occurrences have new keys now (the fingerprint holds the length):
 * marked planned, so that the planner does not plan them again.
 */
static void
keep_earlier_runs(struct programme *p, size_t i, int64_t now)
{
	const struct schedule_segment *seg = schedule_segment(p->schedule, i);
	uint64_t fp = segment_fingerprint(seg);
	struct schedule_occurrence act;
	size_t k;

	for (k = 0; k < HANDED_MAX; k++) {
		const struct handed *h = &p->handed[k];

		if (!run_of(h, seg->name) ||
		    !occurrence_of_run(p, h, i, now, &act))
			continue;
		mark_planned(
		    p, occurrence_key(fp, act.start_wall_ns, act.from_wall_ns));
		mark_planned(
		    p, occurrence_key(fp, act.start_wall_ns, h->start_wall_ns));
	}
}

/*
 * Reads the length of file segment i again as its run comes close: the
 * file may have been replaced since the schedule loaded (a bulletin under
 * the same name every day), and it plays for the length it has now, not
 * the one it had then. An earlier run of the segment still on air or
 * waiting (a segment that loops back to back: the next run comes within
 * the look-ahead of this one's end) keeps its window: unless a shorter
 * file would end that window before its end, then the file runs out
 * before the run's window does, and the run ends there.
 */
static void
reprobe_length(struct programme *p, size_t i, int64_t now_wall_ns)
{
	const struct schedule_segment *seg = schedule_segment(p->schedule, i);
	char err[512], was[32], now[32];
	int64_t ns, old = seg->duration_ns;

	/* Missing or unreadable now: the opening says so at its start. */
	if (source_probe_duration(seg->path, &ns, err, sizeof(err)) < 0 ||
	    ns <= 0 || ns == old)
		return;
	if (!earlier_runs_fit(p, i, ns, now_wall_ns)) {
		log_info(MOD,
		    "segment %s: %s is %s long now (%s before); the run on "
		    "air keeps its window, so this one too, and it ends "
		    "when the file does",
		    seg->name, seg->path,
		    util_format_duration(ns, now, sizeof(now)),
		    util_format_duration(old, was, sizeof(was)));
		return;
	}
	if (schedule_set_duration(p->schedule, i, ns) < 0) {
		log_warn(MOD,
		    "segment %s: %s is longer than 24 h now; it plays "
		    "for %s (set duration)",
		    seg->name, seg->path,
		    util_format_duration(old, was, sizeof(was)));
		return;
	}
	keep_earlier_runs(p, i, now_wall_ns);
	log_info(MOD,
	    "segment %s: %s is %s long now (%s before); it plays "
	    "for %s",
	    seg->name, seg->path, util_format_duration(ns, now, sizeof(now)),
	    util_format_duration(old, was, sizeof(was)), now);
}

void
programme_tick(struct programme *p, int64_t now)
{
	struct engine_event ev;
	struct schedule_occurrence act, up[8];
	int64_t t, next_from = now;
	bool changed = false;
	int i, n;

	if (p->engine == NULL)
		return;
	while (engine_poll(p->engine, &ev) == 1) {
		log_event(p, &ev);
		on_event(p, &ev);
		changed = true;
		/* A start is no longer next, even read on a programme clock
		 * a little ahead of the wall. */
		if (ev.what == ENGINE_EVENT_STARTED &&
		    ev.at_wall_ns >= next_from)
			next_from = ev.at_wall_ns + 1;
	}
	if (p->schedule == NULL) {
		release_ended_holds(p);
		return;
	}

	/* Files that were missing at load may have appeared. */
	n = schedule_upcoming(p->schedule, now, now + PROGRAMME_PREROLL_NS, up,
	    RELAY_ARRAY_LEN(up));
	for (i = 0; i < n; i++) {
		const struct schedule_segment *seg =
		    schedule_segment(p->schedule, up[i].segment);
		uint64_t key;
		int64_t ns;
		char err[512];

		if (seg->duration_ns != SCHEDULE_DURATION_UNKNOWN &&
		    !seg->length_of_file)
			continue;
		key = occurrence_key(up[i].segment, up[i].start_wall_ns, 0);
		if (planned(p, key))
			continue;
		if (seg->duration_ns != SCHEDULE_DURATION_UNKNOWN) {
			reprobe_length(p, up[i].segment, now);
			mark_planned(p, key);
			continue;
		}
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
		if (act.segment != SCHEDULE_NONE)
			plan_windows(p, &act, now);
		if (act.until_wall_ns == CRON_NEVER || act.until_wall_ns <= t)
			break;
		t = act.until_wall_ns;
	}
	release_ended_holds(p);
	/* With what went on or off air, at once: the engine has just
	 * published it (stats_programme_set_now), and an event stream's
	 * settle wait sends both as one event (status_events.c). On the
	 * 1 s grid a start went out with itself still next. */
	if (changed || now >= p->next_published_ns) {
		publish_next(p, next_from);
		p->next_published_ns = now + NS_PER_SEC;
	}
}

int64_t
programme_next_wall_ns(const struct programme *p, int64_t now)
{
	struct schedule_occurrence up;
	int64_t next = p->next_published_ns;
	size_t i;

	/* Without a schedule a tick only reads engine events, which wake
	 * the main thread themselves. */
	if (p->engine == NULL || p->schedule == NULL)
		return INT64_MAX;
	/* The first occurrence not yet inside the look-ahead; 1 ms past its
	 * entry, since plan_windows() wants it strictly inside. */
	if (schedule_upcoming(p->schedule, now + PROGRAMME_PREROLL_NS,
		now + PROGRAMME_PREROLL_NS + 2 * NS_PER_SEC, &up, 1) == 1 &&
	    up.start_wall_ns - PROGRAMME_PREROLL_NS + NS_PER_MS < next)
		next = up.start_wall_ns - PROGRAMME_PREROLL_NS + NS_PER_MS;
	/* What a hold keeps off the air resumes at its end: planned when
	 * that end enters the look-ahead too. */
	for (i = 0; i < HOLDS_MAX; i++) {
		const struct hold *h = &p->holds[i];
		int64_t t = h->until_wall_ns - PROGRAMME_PREROLL_NS + NS_PER_MS;

		if (h->used && t > now && t < next)
			next = t;
	}
	return next;
}
