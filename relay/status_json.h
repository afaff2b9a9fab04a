/* SPDX-License-Identifier: MIT */
/*
 * The /api/status document, built with cJSON from one stats_snapshot: its
 * schema is docs/status-api.md, and "relay status" and the Listen Live
 * page's script read it. The same document is the payload of the
 * /api/events stream, with a digest that tells the stream when what the
 * page shows has changed.
 *
 * Threads: pure functions on a caller's snapshot and settings; any thread
 * (the status server's connection threads call them). They allocate only
 * what they return.
 */
#ifndef RELAY_STATUS_JSON_H
#define RELAY_STATUS_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"
#include "status.h"

/* The /api/status document, indented when pretty. set may be NULL (no
 * public_url, default poll interval). Owned: caller frees with free().
 * NULL on OOM. */
char *status_json(const struct stats_snapshot *s,
    const struct status_settings *set, bool pretty);

/* One Server-Sent Events message carrying the compact document as a
 * single "data:" line, preceded by "retry: 3000" when first (the client's
 * reconnection delay, sent once per stream). Owned: free(). NULL on OOM.
 */
char *status_json_event(const struct stats_snapshot *s,
    const struct status_settings *set, bool first);

/* One "event: levels" Server-Sent Events message for operator pages
 * (/api/events?levels=1): the programme's peak and RMS, its silent time,
 * whether the levels are fresh (a block was metered since the previous
 * message), and, when s is not NULL, each encoding's byte count.
 * Owned: free(). NULL on OOM. */
char *status_json_levels(
    const struct stats_levels *lv, bool fresh, const struct stats_snapshot *s);

/* A hash of the fields the Listen Live page and operators follow (on
 * air, programme, next segments, listeners, station texts, output states,
 * public_url, control-API requests, the last reload and the last
 * programme error): the event stream sends a new event when it changes.
 * set must not be NULL. */
uint64_t status_json_digest(
    const struct stats_snapshot *s, const struct status_settings *set);

#endif
