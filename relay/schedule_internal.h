/* SPDX-License-Identifier: MIT */
/*
 * The schedule's internals, shared by its files and nothing else:
 * schedule_parse.c (reading the file into a struct schedule, freeing
 * it), schedule.c (the queries on occurrences) and schedule_print.c
 * (--check's summary, the `relay schedule` timeline). Other modules use
 * schedule.h.
 *
 * Threads: see schedule.h.
 */
#ifndef RELAY_SCHEDULE_INTERNAL_H
#define RELAY_SCHEDULE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "schedule.h"

struct schedule {
	char *path;
	struct cron_tz *tz;
	struct schedule_segment *segments;
	size_t n_segments;
};

/* a + b, held at INT64_MIN or INT64_MAX instead of overflowing. */
static inline int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

#endif
