/* SPDX-License-Identifier: MIT */
/*
 * Dead air, the main thread's part ([fallback]). The engine detects dead
 * air and switches (engine.h, engine_set_fallback); this module keeps it
 * supplied: it passes the detector's settings on, opens the filler ahead
 * of time (so its first sample is decoded when it is needed) and again
 * each time one is used up, tells the engine whether the live input is
 * down, and turns each change into one log line and the operator's hook
 * (on_dead_air, on_restore; hook.h) with RELAY_EVENT, RELAY_SINCE,
 * RELAY_REASON and RELAY_STATION in its environment.
 *
 * Threads: main thread only (hooks run on the hook runner's thread,
 * started when the first hook has to run).
 */
#ifndef RELAY_FALLBACK_H
#define RELAY_FALLBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"

struct fallback;

/* Owned: fallback_free(). NULL when out of memory. */
struct fallback *fallback_new(void);

/* Kills a running hook, drops queued ones. NULL is a no-op. */
void fallback_free(struct fallback *fb);

/*
 * Applies cfg's [fallback] (all of it reloadable) to e (borrowed): the
 * detector's settings at once; a changed filler (source, path, title,
 * artist) replaces the waiting one, while one on air plays on until live
 * returns; hooks from the next event. Call at start and on every reload.
 */
void fallback_configure(
    struct fallback *fb, const struct config *cfg, struct engine *e);

/* When the input's state changes (wakeup.h), when the engine signals, at
 * fallback_due_ns() and at least once a second: forwards the input's
 * state (input_down()) to the engine, arms a filler when the engine wants
 * one, logs changes and runs hooks. */
void fallback_tick(
    struct fallback *fb, struct engine *e, bool input_down, const char *why);

/* When fallback_tick() must run next (CLOCK_MONOTONIC), after now_ns: the
 * retry of a filler that could not be opened, or the end of the filler's
 * fade-out (the waiting playlist is armed again then); INT64_MAX when
 * nothing is due. */
int64_t fallback_due_ns(const struct fallback *fb, int64_t now_ns);

#endif
