/* SPDX-License-Identifier: MIT */
/*
 * The /api/events streams (Server-Sent Events, docs/status-api.md): one
 * per connection. A stream sends the whole state as its first event,
 * then looks at it once a tick (1 s), and at once when the stats news
 * bell rings (stats_news_fd: a setter changed what streams push), and
 * sends it again when it changed (status_json_digest) or every 30 s
 * anyway, and a comment after 5 s of silence. The bell rings only on a
 * change, so a quiet stream still wakes once a tick and no more. With
 * levels (operator pages, ?levels=1) it ticks every 100 ms and adds a
 * levels event from the stats atomics each tick, the state still looked
 * at once a second (and at news). What is built but not yet sent waits
 * in the stream's pending buffer; libmicrohttpd pulls it.
 *
 * A stream waits for its next tick on the connection's own socket (an
 * epoll set of the socket and the bell), so a client that goes ends it
 * at once (and the server's stop, which shuts every socket down, ends
 * the wait too). It knows nothing of the server: it reads the settings,
 * asks whether the server is stopping and reports its end through the
 * hooks given to status_events_new(). The server routes the request,
 * takes the event-stream slot and adds the headers.
 *
 * Threads: status_events_new and status_events_response on the
 * connection thread of the request; the stream then runs on that same
 * thread (libmicrohttpd's thread per connection), where it calls the
 * hooks and may wait up to a tick. Nothing here is shared between
 * streams but the bell, which each watches through its own epoll set.
 */
#ifndef RELAY_STATUS_EVENTS_H
#define RELAY_STATUS_EVENTS_H

#include <stdbool.h>

#include <microhttpd.h>

#include "status.h"

/* What a stream asks of the server that opened it; arg is passed to
 * each. Called on the stream's connection thread. */
struct status_events_hooks {
	/* Copies the settings the events are rendered with. */
	void (*settings)(void *arg, struct status_settings *out);
	/* True once the server stops: the stream ends. */
	bool (*stopping)(void *arg);
	/* The stream is gone (client left, server stopped, out of memory):
	 * give back its slot. Called once per stream. */
	void (*done)(void *arg);
	void *arg;
};

/* One connection's event stream. */
struct status_events;

/* A new stream for the connection whose socket is fd (-1 when unknown:
 * the ticks then only sleep), with levels events when levels. hooks is
 * borrowed and must outlive the stream. Returns the stream (owned: hand
 * it to status_events_response), or NULL when out of memory (done is
 * not called then). */
struct status_events *status_events_new(
    const struct status_events_hooks *hooks, int fd, bool levels);

/* A libmicrohttpd response that sends es's events until the client goes
 * or the server stops. Takes ownership of es: it is freed, and done
 * called, when libmicrohttpd frees the response, or at once when this
 * fails. The caller adds the headers, queues the response and destroys
 * its reference. NULL when out of memory. */
struct MHD_Response *status_events_response(struct status_events *es);

#endif
