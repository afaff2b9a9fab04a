/* SPDX-License-Identifier: MIT */
/*
 * The service manager's view of relay (systemd's notify protocol):
 * readiness, a one-line status, reload and stop notices, and the
 * watchdog. Outside systemd ($NOTIFY_SOCKET unset) every call does
 * nothing. No call ever waits: a message that finds the manager's queue
 * full is dropped (logged once), so a notify socket nobody reads cannot
 * hold the main loop.
 *
 * Readiness (READY=1) is sent once every thread has started: the engine,
 * each output (connected or still trying), the input and the status
 * server. It does not wait for an Icecast server to accept the stream: a
 * server that is down at boot must not make systemd give up on relay,
 * which keeps retrying by itself. STATUS= then says how many outputs are
 * connected.
 *
 * Watchdog (WatchdogSec= in the unit): WATCHDOG=1 is sent at most every
 * half period, and only when the engine thread has come round its loop
 * since the last one (engine_progress()). An engine that is stuck stops
 * the pings and systemd restarts relay.
 *
 * Threads: the main thread only.
 */
#ifndef RELAY_SERVICE_H
#define RELAY_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

/* Reads the watchdog period from the environment. Call once at startup. */
void service_init(void);

/* READY=1 with a status line. */
void service_ready(const char *status);

/* STATUS= only, when text differs from the last one sent. */
void service_status(const char *status);

/* RELOADING=1 before a reload, READY=1 after it (with its result). */
void service_reloading(void);
void service_reloaded(const char *status);

/* STOPPING=1. */
void service_stopping(void);

/* From the main loop, by service_watchdog_due_ns() at the latest: sends
 * WATCHDOG=1 when half the period has passed and progress differs from
 * the value at the last ping. now_ns is CLOCK_MONOTONIC. */
void service_watchdog(int64_t now_ns, uint64_t progress);

/* When service_watchdog() should run next (CLOCK_MONOTONIC), always after
 * now_ns: half a period after the last ping, or 100 ms on while a ping is
 * withheld; INT64_MAX without a watchdog. */
int64_t service_watchdog_due_ns(int64_t now_ns);

/* True when systemd asked for a watchdog. */
bool service_watchdog_enabled(void);

#endif
