/* SPDX-License-Identifier: MIT */
/*
 * The /metrics text: every counter and gauge of a stats_snapshot in the
 * Prometheus exposition format 0.0.4, one family per metric with HELP and
 * TYPE lines, labels escaped. docs/status-api.md lists the metrics.
 *
 * Threads: a pure function on a caller's snapshot; any thread (the status
 * server's connection threads call it). It allocates only what it returns.
 */
#ifndef RELAY_STATUS_METRICS_H
#define RELAY_STATUS_METRICS_H

#include "stats.h"
#include "status.h"

/* The /metrics text. set may be NULL (no public_url, default poll
 * interval). Owned: caller frees with free(). NULL on OOM. */
char *status_metrics(
    const struct stats_snapshot *s, const struct status_settings *set);

#endif
