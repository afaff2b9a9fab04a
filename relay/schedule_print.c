/* SPDX-License-Identifier: MIT */
/*
 * The schedule printed for people: times and durations as text, the
 * one-line-a-segment summary of relay --check and the timeline of
 * `relay schedule` (each occurrence with a note on what pre-empts it).
 * See schedule.h for the contract; the listing asks schedule.c's queries.
 *
 * Threads: see schedule.h. No static mutable state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "schedule_internal.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Printing.                                                           */

char *
schedule_format_local(
    const struct schedule *s, int64_t wall_ns, char *buf, size_t len)
{
	struct cron_local l;

	/* Rounded: a start at 04:59:59.9996 is the 05:00:00 bulletin. */
	cron_tz_local(
	    s != NULL ? s->tz : NULL, util_round_ns(wall_ns, NS_PER_SEC), &l);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d %s", l.year, l.month,
	    l.day, l.hour, l.minute, l.second, l.abbr);
	return buf;
}

char *
schedule_format_duration(int64_t ns, char *buf, size_t len)
{
	int64_t h, m, sec, ms;
	size_t o = 0;

	if (ns < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	h = ns / (3600 * NS_PER_SEC);
	m = ns / (60 * NS_PER_SEC) % 60;
	sec = ns / NS_PER_SEC % 60;
	ms = ns / NS_PER_MS % 1000;
	buf[0] = '\0';
	if (h > 0 && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%lldh", (long long)h);
	if (m > 0 && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%lldm", (long long)m);
	if (sec > 0 && o < len)
		o +=
		    (size_t)snprintf(buf + o, len - o, "%llds", (long long)sec);
	if ((ms > 0 || o == 0) && o < len)
		snprintf(buf + o, len - o, "%lldms", (long long)ms);
	return buf;
}

static const char *
segment_name(const struct schedule *s, size_t i)
{
	return i == SCHEDULE_NONE ? "the default programme"
				  : s->segments[i].name;
}

/*
 * What is on air, remembered as spans [t, until) with one winner each
 * (one schedule_active() answer holds for its whole span), added as the
 * listing asks and trimmed behind it. Every note looks its
 * answers up here instead of re-evaluating the schedule: `relay schedule`
 * over 60,000 occurrences calls schedule_active() once per change of
 * what is on air, not several times per occurrence.
 */
struct span {
	int64_t t;
	struct schedule_occurrence on; /* on.until_wall_ns ends the span */
};

struct timeline {
	const struct schedule *s;
	struct span *v;
	size_t head, n, cap;
	bool failed;
};

/* What is on air at t. 0, or -1 (out of memory). */
static int
timeline_at(struct timeline *tl, int64_t t, struct schedule_occurrence *out)
{
	size_t i;

	if (tl->failed)
		return -1;
	for (;;) {
		for (i = tl->head; i < tl->n; i++) {
			if (tl->v[i].t <= t && t < tl->v[i].on.until_wall_ns) {
				*out = tl->v[i].on;
				return 0;
			}
		}
		if (tl->n == tl->cap) {
			size_t cap = tl->cap != 0 ? tl->cap * 2 : 64;
			struct span *p;

			if (tl->head > 0) {
				memmove(tl->v, tl->v + tl->head,
				    (tl->n - tl->head) * sizeof(*tl->v));
				tl->n -= tl->head;
				tl->head = 0;
				continue;
			}
			p = realloc(tl->v, cap * sizeof(*p));
			if (p == NULL) {
				tl->failed = true;
				return -1;
			}
			tl->v = p;
			tl->cap = cap;
		}
		if (schedule_active(tl->s, t, &tl->v[tl->n].on) < 0) {
			tl->failed = true;
			return -1;
		}
		tl->v[tl->n].t = t;
		if (tl->v[tl->n].on.until_wall_ns <= t)
			tl->v[tl->n].on.until_wall_ns = sat_add(t, 1);
		tl->n++;
	}
}

/* Forgets the spans that end at or before t. */
static void
timeline_trim(struct timeline *tl, int64_t t)
{
	while (tl->head < tl->n && tl->v[tl->head].on.until_wall_ns <= t)
		tl->head++;
}

/* How overlaps change an occurrence's air time, for the listing: never on
 * air, on air late, or cut short. Prints nothing if it plays whole. */
static void
print_note(const struct schedule *s, struct timeline *tl,
    const struct schedule_occurrence *o, FILE *fp)
{
	const struct schedule_segment *seg = &s->segments[o->segment];
	struct schedule_occurrence a, first;
	char when[64];
	int64_t t = o->start_wall_ns, window_end;
	int guard;

	if (seg->duration_ns == SCHEDULE_DURATION_UNKNOWN ||
	    timeline_at(tl, t, &first) < 0)
		return;
	/* The segment's own next start beats this occurrence from then
	 * on, so it can only come on air before that. */
	window_end = cron_next(&seg->when, s->tz, o->start_wall_ns);
	if (window_end > o->end_wall_ns)
		window_end = o->end_wall_ns;
	a = first;
	/* Walk the changes of what is on air until this occurrence airs or
	 * its window closes. */
	for (guard = 0; guard < 1000; guard++) {
		if (a.segment == o->segment &&
		    a.start_wall_ns == o->start_wall_ns)
			break;
		t = a.until_wall_ns;
		if (t >= window_end || timeline_at(tl, t, &a) < 0) {
			fprintf(fp, "  [pre-empted by %s]",
			    segment_name(s, first.segment));
			return;
		}
	}
	if (guard == 1000)
		return;
	if (t > o->start_wall_ns)
		fprintf(fp, "  [from %s, after %s]",
		    schedule_format_local(s, t, when, sizeof(when)),
		    segment_name(s, first.segment));
	else if (a.until_wall_ns < a.end_wall_ns &&
		 timeline_at(tl, a.until_wall_ns, &first) == 0)
		fprintf(fp, "  [cut at %s by %s]",
		    schedule_format_local(
			s, a.until_wall_ns, when, sizeof(when)),
		    segment_name(s, first.segment));
}

#define PRINT_BATCH 1024

void
schedule_print_upcoming(
    const struct schedule *s, int64_t from_wall_ns, int64_t hours, FILE *fp)
{
	struct schedule_occurrence *occ, last;
	struct timeline tl = {.s = s};
	int64_t until;
	char when[64], dur[32];
	size_t i, width = 4, total = 0;
	bool unknown = false;
	int n;

	if (hours < 0)
		hours = 0;
	until = hours > INT64_MAX / (3600 * NS_PER_SEC)
		    ? INT64_MAX
		    : sat_add(from_wall_ns, hours * 3600 * NS_PER_SEC);
	for (i = 0; i < schedule_count(s); i++) {
		if (strlen(s->segments[i].name) > width)
			width = strlen(s->segments[i].name);
	}
	fprintf(fp, "# %s: the next %lld h from %s (%s)\n", s->path,
	    (long long)hours,
	    schedule_format_local(s, from_wall_ns, when, sizeof(when)),
	    cron_tz_name(s->tz));
	occ = malloc(PRINT_BATCH * sizeof(*occ));
	if (occ == NULL) {
		fprintf(fp, "# out of memory\n");
		return;
	}
	n = schedule_upcoming(s, from_wall_ns, until, occ, PRINT_BATCH);
	while (n > 0) {
		for (i = 0; i < (size_t)n; i++) {
			const struct schedule_segment *seg =
			    &s->segments[occ[i].segment];

			fprintf(fp, "%s  %-*s  %-8s  %-10s  %s",
			    schedule_format_local(
				s, occ[i].start_wall_ns, when, sizeof(when)),
			    (int)width, seg->name,
			    schedule_source_name(seg->source),
			    util_format_duration(
				seg->duration_ns, dur, sizeof(dur)),
			    seg->title);
			timeline_trim(&tl, occ[i].start_wall_ns);
			print_note(s, &tl, &occ[i], fp);
			fputc('\n', fp);
			if (seg->duration_ns == SCHEDULE_DURATION_UNKNOWN)
				unknown = true;
			total++;
		}
		if (n < PRINT_BATCH)
			break;
		last = occ[n - 1];
		n = schedule_upcoming_after(s, &last, until, occ, PRINT_BATCH);
	}
	free(occ);
	free(tl.v);
	if (total == 0)
		fprintf(fp, "# nothing scheduled\n");
	else
		fprintf(fp, "# %zu occurrence%s%s\n", total,
		    total == 1 ? "" : "s",
		    unknown ? "; ? = a file relay could not read (its "
			      "length is read again before it starts)"
			    : "");
}

void
schedule_print_summary(const struct schedule *s, FILE *fp)
{
	char dur[32];
	size_t i;

	fprintf(fp, "schedule %s: %zu segment%s, time zone %s\n", s->path,
	    s->n_segments, s->n_segments == 1 ? "" : "s", cron_tz_name(s->tz));
	for (i = 0; i < s->n_segments; i++) {
		const struct schedule_segment *seg = &s->segments[i];

		fprintf(fp, "  %s: %s %s, %s, %s, priority %d\n", seg->name,
		    seg->when.kind == CRON_AT ? "at" : "cron", seg->when_text,
		    schedule_source_name(seg->source),
		    util_format_duration(seg->duration_ns, dur, sizeof(dur)),
		    seg->priority);
	}
}
