/* SPDX-License-Identifier: MIT */
/*
 * History for the operator page and other dashboards: fixed-size rings in
 * memory, filled by a sampler from stats snapshots, served as JSON by
 * GET /api/history (docs/status-api.md).
 *
 * - per output, per minute for 24 h (HISTORY_MINUTES): listeners (the
 *   most seen), the share of samples it was connected, reconnects and
 *   dropped bytes in that minute, the worst lag;
 * - the programme's loudest peak and RMS per second for 10 min
 *   (HISTORY_SECONDS);
 * - programme events (HISTORY_EVENTS): what went on air when, and the
 *   programme errors (a segment that failed or was skipped, and why).
 * The recent warnings and errors are log.c's ring (log_recent()).
 *
 * Everything is allocated once by history_new() (history_bytes() says how
 * much) and never grows. The slot of a minute or second is its own: the
 * newest is being filled and is served too, so a chart has data before
 * the first minute is over.
 *
 * Threads: every function is thread-safe (one mutex, taken by the sampler
 * for a few microseconds per tick and by history_json while it builds the
 * answer; never by the audio path, which only bumps stats atomics).
 */
#ifndef RELAY_HISTORY_H
#define RELAY_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define HISTORY_MINUTES 1440
#define HISTORY_SECONDS 600
#define HISTORY_EVENTS 128
#define HISTORY_OUTPUTS CONFIG_MAX_OUTPUTS

struct history;

/* minute_ns: the length of one "minute" slot; 60 s except in tests
 * (RELAY_TEST_HISTORY_MINUTE_MS, docs/status-api.md). Owned: free with
 * history_free(). NULL on OOM. */
struct history *history_new(int64_t minute_ns);
void history_free(struct history *h);

/* The bytes history_new() allocated. */
size_t history_bytes(const struct history *h);

/* One sample: s is a fresh snapshot, taken at now_mono_ns/now_wall_ns;
 * peak/rms the loudest block since the previous sample
 * (stats_levels_take_max), -120 for none. Call every 0.5 to 1 s. */
void history_sample(struct history *h, const struct stats_snapshot *s,
    double peak_dbfs, double rms_dbfs, int64_t now_mono_ns,
    int64_t now_wall_ns);

/* The JSON document of /api/history (docs/status-api.md), with the log
 * ring's events. Owned: free(). NULL on OOM. */
char *history_json(struct history *h, bool pretty);

#endif
