/* SPDX-License-Identifier: MIT */
/*
 * Alerts: the operator's commands for what listen-back finds. When an
 * output's listen-back becomes flagged (listeners hear no audio, another
 * stream, or silence) and when it clears, that output's [output]
 * on_listenback runs through a hook runner (hook.h: no shell, a time
 * limit, one at a time), with RELAY_EVENT=listenback_flagged or
 * listenback_ok, RELAY_OUTPUT, RELAY_STATE, RELAY_REASON, RELAY_SINCE
 * and RELAY_STATION in its environment. The state is read from stats
 * snapshots, so the listen-back thread never waits for a hook.
 *
 * Threads: the main thread only.
 */
#ifndef RELAY_ALERTS_H
#define RELAY_ALERTS_H

#include "config.h"
#include "stats.h"

struct alerts;

/* Owned: alerts_free(). NULL on OOM. */
struct alerts *alerts_new(void);

/* Takes the on_listenback commands and the station name from cfg (copied;
 * start and every reload). An output keeps its last seen state across a
 * reload, so a reload never fires a hook by itself. */
void alerts_configure(struct alerts *a, const struct config *cfg);

/* True when some output has on_listenback: only then is alerts_tick()
 * worth a snapshot. */
bool alerts_wanted(const struct alerts *a);

/* Compares each output's listen-back with the last snapshot seen and
 * runs the hooks for the changes. Call often (every second is plenty). */
void alerts_tick(struct alerts *a, const struct stats_snapshot *s);

/* Kills a running hook and frees everything. NULL is a no-op. */
void alerts_free(struct alerts *a);

#endif
