/* SPDX-License-Identifier: MIT */
/*
 * The status server's connection slots (docs/reliability.md): which
 * connections are open, from which address, and whether each is waiting
 * for its request or being answered; the request deadline, the eviction
 * that lets a new connection in when slow ones hold the waiting slots,
 * and the per-class caps on answers (event streams, public views). The
 * policy lives here; status.c only reports libmicrohttpd's connection
 * events and asks before it serves. Nothing here knows libmicrohttpd.
 *
 * Why: libmicrohttpd's timeout is an idle timer that every byte
 * restarts, so a slow-loris could hold every connection. A waiting
 * connection must have its whole request in within
 * STATUS_REQUEST_DEADLINE_NS of opening (or of its previous answer); a
 * connection that has waited STATUS_EVICT_MIN_WAIT_NS or more is "slow"
 * and counts against STATUS_MAX_WAITING (STATUS_MAX_WAITING_PER_ADDRESS
 * per address). A new connection always gets in: when its address or
 * the server is at the limit, the slow one waiting longest, of the same
 * address or else of the address with the most, is closed (its socket
 * shut down) to make room.
 *
 * Threads: every function is thread-safe (one mutex, never taken by the
 * pipeline; the class caps are atomics, with a mutex and condvar only
 * for a public answer waiting for its slot). status_slots_open/release run on
 * libmicrohttpd's listening thread and its cleanup, set_waiting, take and
 * put on connection threads, status_slots_expire on the status watchdog
 * thread, status_slots_load on whichever thread serves /metrics.
 */
#ifndef RELAY_STATUS_SLOTS_H
#define RELAY_STATUS_SLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stats.h"
#include "util.h"

/* A slow waiter counts against the waiting limits; a served connection
 * against its class (events, public views); health checks and control
 * calls use the rest. 48 + 32 + 32 leaves at least 48 of 160 for them.
 * STATUS_MAX_CONNECTIONS and STATUS_MAX_PER_ADDRESS are libmicrohttpd's
 * own limits (status.c hands them over); the table holds a few more
 * entries so that a connection closing never leaves a new one untracked. */
#define STATUS_MAX_CONNECTIONS 160
#define STATUS_MAX_PER_ADDRESS 128
#define STATUS_MAX_WAITING 48
#define STATUS_MAX_WAITING_PER_ADDRESS 32
#define STATUS_MAX_EVENT_STREAMS 32
#define STATUS_MAX_PUBLIC 32
/* Connections kept free under the two limits above: a new one that
 * leaves fewer evicts the connection waiting longest (status_slots.c,
 * make_room), since libmicrohttpd refuses one beyond them unseen. */
#define STATUS_SPARE_CONNECTIONS 8
/* A request (head and body) must be complete this long after the
 * connection opened or the previous answer went: a deadline, unlike
 * libmicrohttpd's idle timeout, which every byte restarts. */
#define STATUS_REQUEST_DEADLINE_NS (10 * NS_PER_SEC)
/* A connection waiting this long for its request counts as slow: only
 * slow ones count against the waiting limits and make room. */
#define STATUS_EVICT_MIN_WAIT_NS (NS_PER_SEC)
/* A public answer waits this long at most for one of STATUS_MAX_PUBLIC to
 * come back before it is refused (503): cached /api/status answers take
 * microseconds each, so 64 keep-alive pollers on two cores would
 * otherwise see a 503 whenever the scheduler held more than 32 of them
 * between answer and send. Well under STATUS_EVICT_MIN_WAIT_NS, so the
 * wait changes nothing in who may be evicted. */
#define STATUS_PUBLIC_WAIT_NS (250 * NS_PER_MS)

/* Entries in the table: status_slots_index is below this. */
#define STATUS_SLOTS_TRACKED (STATUS_MAX_CONNECTIONS + 16)

struct status_slots;
struct status_conn;

/* The answer classes with a cap of their own. */
enum status_slot_class {
	STATUS_SLOT_EVENTS, /* /api/events: STATUS_MAX_EVENT_STREAMS */
	STATUS_SLOT_PUBLIC, /* page, assets, /api/status, /metrics, history:
			       STATUS_MAX_PUBLIC */
};

/* An empty table (owned: status_slots_free), or NULL when out of
 * memory. */
struct status_slots *status_slots_new(void);

/* Frees the table. Every connection must have been released (the
 * server stopped). NULL is a no-op. */
void status_slots_free(struct status_slots *sl);

/* A connection opened on socket fd from sa (may be NULL: counted as one
 * unknown address): tracks it as waiting for its request and makes room
 * if it brings its address or the server to a waiting limit (the victim's
 * socket is shut down, not closed). Returns the connection's entry
 * (borrowed: valid until status_slots_release), or NULL when fd < 0 or
 * the table is full (the connection is then not tracked). */
struct status_conn *status_slots_open(
    struct status_slots *sl, int fd, const struct sockaddr *sa);

/* k's place in the table, 0 to STATUS_SLOTS_TRACKED - 1, the same from
 * status_slots_open to status_slots_release: per-connection state can
 * live in an array beside the table. */
size_t status_slots_index(
    const struct status_slots *sl, const struct status_conn *k);

/* The connection of k has closed (its fd is about to be closed): frees
 * the entry. NULL k is a no-op. */
void status_slots_release(struct status_slots *sl, struct status_conn *k);

/* The connection's request has arrived whole (waiting false), or its
 * answer has gone and it may wait for the next one (true): restarts its
 * deadline. A connection already being closed stays as it is. NULL k is
 * a no-op. */
void status_slots_set_waiting(
    struct status_slots *sl, struct status_conn *k, bool waiting);

/* Shuts down every connection still waiting past the request deadline,
 * and logs now and then how many went (a warning, at most once a
 * minute, when connections were also evicted to make room; debug
 * otherwise). Returns when the next waiting connection reaches its
 * deadline (CLOCK_MONOTONIC), INT64_MAX when none waits. A connection
 * that opens later has its deadline at least STATUS_REQUEST_DEADLINE_NS
 * away: call it again within that (the watchdog does every second). */
int64_t status_slots_expire(struct status_slots *sl);

/* Takes one answer slot of class cls: false (nothing taken) when the
 * class is at its cap; a STATUS_SLOT_PUBLIC waits up to
 * STATUS_PUBLIC_WAIT_NS for one first (an event stream lasts hours: no
 * wait). Give it back with status_slots_put. Runs on: a connection
 * thread (it may sleep there). */
bool status_slots_take(struct status_slots *sl, enum status_slot_class cls);

/* Gives back a slot status_slots_take gave. */
void status_slots_put(struct status_slots *sl, enum status_slot_class cls);

/* Fills *h: open connections, event streams, and the evictions and
 * deadline closes since the table was made. */
void status_slots_load(struct status_slots *sl, struct stats_http *h);

#endif
