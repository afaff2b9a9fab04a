/* SPDX-License-Identifier: MIT */
/*
 * The programme schedule's queries: the merged list of upcoming
 * occurrences, what is on air at an instant after overlap resolution,
 * and how crowded the schedule gets. See schedule.h for the contract and
 * docs/schedule.md for the rules; cron.c does the time arithmetic,
 * schedule_parse.c reads the file, schedule_print.c prints it.
 *
 * Threads: see schedule.h. No static mutable state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "schedule_internal.h"

/* ------------------------------------------------------------------ */
/* Queries.                                                            */

size_t
schedule_count(const struct schedule *s)
{
	return s != NULL ? s->n_segments : 0;
}

const struct schedule_segment *
schedule_segment(const struct schedule *s, size_t i)
{
	if (s == NULL || i >= s->n_segments)
		return NULL;
	return &s->segments[i];
}

size_t
schedule_find(const struct schedule *s, const char *name)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n_segments; i++) {
		if (strcmp(s->segments[i].name, name) == 0)
			return i;
	}
	return SCHEDULE_NONE;
}

const struct cron_tz *
schedule_tz(const struct schedule *s)
{
	return s->tz;
}

int
schedule_set_duration(struct schedule *s, size_t i, int64_t duration_ns)
{
	if (s == NULL || i >= s->n_segments || duration_ns <= 0)
		return -EINVAL;
	if (duration_ns > SCHEDULE_DURATION_MAX_NS)
		return -ERANGE;
	s->segments[i].duration_ns = duration_ns;
	s->segments[i].length_of_file = true;
	return 0;
}

static int64_t
end_of(const struct schedule_segment *seg, int64_t start)
{
	if (seg->duration_ns == SCHEDULE_DURATION_UNKNOWN)
		return start;
	return sat_add(start, seg->duration_ns);
}

/*
 * The occurrences starting in [from, until), sorted by (start, segment),
 * that come after (from, after_seg): at start == from only segments with
 * an index above after_seg (all of them when after_seg is SCHEDULE_NONE).
 */
static int
upcoming(const struct schedule *s, int64_t from, size_t after_seg,
    int64_t until, struct schedule_occurrence *out, size_t max)
{
	int64_t *next;
	size_t i, n = 0;

	if (s == NULL || max == 0 || from >= until || s->n_segments == 0)
		return 0;
	next = malloc(s->n_segments * sizeof(*next));
	if (next == NULL)
		return -ENOMEM;
	for (i = 0; i < s->n_segments; i++) {
		bool at_from = after_seg == SCHEDULE_NONE || i > after_seg;

		/* cron_next() is strictly after: from - 1 admits from. */
		next[i] = cron_next(&s->segments[i].when, s->tz,
		    at_from ? sat_add(from, -1) : from);
	}
	while (n < max) {
		size_t best = SCHEDULE_NONE;

		for (i = 0; i < s->n_segments; i++) {
			if (next[i] < until &&
			    (best == SCHEDULE_NONE || next[i] < next[best]))
				best = i;
		}
		if (best == SCHEDULE_NONE)
			break;
		out[n].segment = best;
		out[n].start_wall_ns = next[best];
		out[n].end_wall_ns = end_of(&s->segments[best], next[best]);
		out[n].from_wall_ns = out[n].start_wall_ns;
		out[n].until_wall_ns = out[n].end_wall_ns;
		n++;
		next[best] =
		    cron_next(&s->segments[best].when, s->tz, next[best]);
	}
	free(next);
	return (int)n;
}

int
schedule_upcoming(const struct schedule *s, int64_t from_wall_ns,
    int64_t until_wall_ns, struct schedule_occurrence *out, size_t max)
{
	return upcoming(
	    s, from_wall_ns, SCHEDULE_NONE, until_wall_ns, out, max);
}

int
schedule_upcoming_after(const struct schedule *s,
    const struct schedule_occurrence *last, int64_t until_wall_ns,
    struct schedule_occurrence *out, size_t max)
{
	return upcoming(
	    s, last->start_wall_ns, last->segment, until_wall_ns, out, max);
}

struct occ {
	size_t seg;
	int64_t start, end;
	int priority;
};

/* True when a wins over b: priority, then the later start, then the
 * segment written first. */
static bool
beats(const struct occ *a, const struct occ *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (a->start != b->start)
		return a->start > b->start;
	return a->seg < b->seg;
}

/* Segment i's last occurrence starting in (lo, hi], if any. */
static bool
last_occ(
    const struct schedule *s, size_t i, int64_t lo, int64_t hi, struct occ *out)
{
	const struct schedule_segment *seg = &s->segments[i];
	int64_t t = cron_last(&seg->when, s->tz, lo, hi);

	if (t == CRON_NEVER)
		return false;
	out->seg = i;
	out->start = t;
	out->end = end_of(seg, t);
	out->priority = seg->priority;
	return true;
}

/*
 * Per segment only its latest occurrences matter: of two occurrences of
 * the same segment the later start wins and ends later. So the winner at
 * T is the best of each segment's last start in (T - duration, T]; what
 * cuts it off is each segment's first start after T; when it came on air
 * is the latest end, in (its start, T], of an occurrence that beats it,
 * i.e. each segment's last start in (its start - duration, T - duration].
 * That is a few cron_next() calls per segment (cron_last() bisects), not
 * one per occurrence: 1,000 segments that start every minute and last a
 * day cost the same as 1,000 daily ones.
 */
int
schedule_active(
    const struct schedule *s, int64_t wall_ns, struct schedule_occurrence *out)
{
	struct occ w = {0}, v;
	bool have_w = false;
	size_t i;
	int64_t dmax = 0;

	out->segment = SCHEDULE_NONE;
	out->start_wall_ns = out->end_wall_ns = wall_ns;
	out->from_wall_ns = INT64_MIN;
	out->until_wall_ns = CRON_NEVER;
	for (i = 0; s != NULL && i < s->n_segments; i++) {
		if (s->segments[i].duration_ns > dmax)
			dmax = s->segments[i].duration_ns;
	}
	if (dmax == 0)
		return 0;
	for (i = 0; i < s->n_segments; i++) {
		int64_t d = s->segments[i].duration_ns;

		if (d == SCHEDULE_DURATION_UNKNOWN)
			continue;
		if (last_occ(s, i, sat_add(wall_ns, -d), wall_ns, &v) &&
		    (!have_w || beats(&v, &w))) {
			w = v;
			have_w = true;
		}
	}
	if (have_w) {
		int64_t since = w.start, until = w.end;

		for (i = 0; i < s->n_segments; i++) {
			const struct schedule_segment *seg = &s->segments[i];
			int64_t d = seg->duration_ns, t;

			if (d == SCHEDULE_DURATION_UNKNOWN ||
			    seg->priority < w.priority)
				continue;
			/* A later start of equal or higher priority cuts in. */
			t = cron_next(&seg->when, s->tz, wall_ns);
			if (t < until)
				until = t;
			/* It came on air when the last one beating it ended. */
			if (last_occ(s, i, sat_add(w.start, -d),
				sat_add(wall_ns, -d), &v) &&
			    beats(&v, &w) && v.end > since)
				since = v.end;
		}
		out->segment = w.seg;
		out->start_wall_ns = w.start;
		out->end_wall_ns = w.end;
		out->from_wall_ns = since;
		out->until_wall_ns = until;
	} else {
		int64_t last_end = INT64_MIN, next = CRON_NEVER;
		int64_t oldest = sat_add(wall_ns, -2 * dmax);

		for (i = 0; i < s->n_segments; i++) {
			const struct schedule_segment *seg = &s->segments[i];
			int64_t d = seg->duration_ns, t, lo;

			if (d == SCHEDULE_DURATION_UNKNOWN)
				continue;
			/* Ends within dmax of T; starts after T - 2 dmax. */
			lo = sat_add(sat_add(wall_ns, -dmax), -d - 1);
			if (lo < oldest)
				lo = oldest;
			if (last_occ(s, i, lo, sat_add(wall_ns, -d), &v) &&
			    v.end > last_end)
				last_end = v.end;
			t = cron_next(&seg->when, s->tz, wall_ns);
			if (t < next)
				next = t;
		}
		if (last_end >= sat_add(wall_ns, -dmax))
			out->from_wall_ns = last_end;
		out->until_wall_ns = next;
	}
	return 0;
}

/* Occurrences of segment i that contain t, counted up to limit + 1. */
static size_t
count_containing(const struct schedule *s, size_t i, int64_t t, size_t limit)
{
	const struct schedule_segment *seg = &s->segments[i];
	int64_t x;
	size_t n = 0;

	if (seg->duration_ns == SCHEDULE_DURATION_UNKNOWN)
		return 0;
	for (x = cron_next(&seg->when, s->tz, sat_add(t, -seg->duration_ns));
	     x <= t && n <= limit; x = cron_next(&seg->when, s->tz, x))
		n++;
	return n;
}

int
schedule_overlap_peak(const struct schedule *s, int64_t from_wall_ns,
    int64_t until_wall_ns, size_t cap, struct schedule_overlap *out)
{
	struct schedule_occurrence occ[64], last;
	int64_t prev = INT64_MIN;
	size_t samples = 0, i;
	int n, k;

	memset(out, 0, sizeof(*out));
	out->busiest = SCHEDULE_NONE;
	n = schedule_upcoming(
	    s, from_wall_ns, until_wall_ns, occ, RELAY_ARRAY_LEN(occ));
	while (n > 0) {
		for (k = 0; k < n; k++) {
			int64_t t = occ[k].start_wall_ns;
			size_t total = 0, segs = 0, most = 0, busiest = 0;

			if (t == prev)
				continue;
			prev = t;
			if (++samples > SCHEDULE_OVERLAP_SAMPLES)
				return 0;
			for (i = 0; i < s->n_segments; i++) {
				size_t c = count_containing(
				    s, i, t, total <= cap ? cap - total : 0);

				if (c == 0)
					continue;
				if (total <= cap)
					total += c;
				segs++;
				if (c > most) {
					most = c;
					busiest = i;
				}
			}
			if (total > out->occurrences) {
				out->at_wall_ns = t;
				out->occurrences = total;
				out->segments = segs;
				out->busiest = busiest;
			}
			if (total > cap)
				return 0;
		}
		if (n < (int)RELAY_ARRAY_LEN(occ))
			break;
		last = occ[n - 1];
		n = schedule_upcoming_after(
		    s, &last, until_wall_ns, occ, RELAY_ARRAY_LEN(occ));
	}
	return n < 0 ? n : 0;
}
