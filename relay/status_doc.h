/* SPDX-License-Identifier: MIT */
/*
 * The /api/status document cache: one rendered document per form
 * (compact, ?pretty=1) in a libmicrohttpd response that every request
 * queues as it is, so a poll storm costs neither a stats snapshot nor an
 * allocation per request (docs/performance.md). A document is rendered
 * again when it is older than 100 ms, and at once when the state it shows
 * may have changed: stats_generation() moved, or the server called
 * status_doc_invalidate() (a reload, a control call). Only its counters,
 * levels and clock may be up to 0.1 s old. One thread renders at a time;
 * while it does, a document less than 200 ms old is served as it is
 * rather than waited for.
 *
 * The cache knows nothing of the server: it reads the settings to render
 * with, and gets the response headers, through the two hooks given to
 * status_doc_cache_new().
 *
 * Threads: status_doc_cache_new/free on the main thread (free only once
 * no request holds a document: after MHD_stop_daemon); status_doc_get,
 * status_doc_put and status_doc_invalidate on any thread (the status
 * server's connection threads; invalidate also on the main thread).
 */
#ifndef RELAY_STATUS_DOC_H
#define RELAY_STATUS_DOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "status.h"

struct status_doc_cache;

/* One rendered /api/status document. Readers use resp, body, len and
 * cors_origins, read-only; the rest is the cache's. */
struct status_doc {
	/* Queue it as it is (libmicrohttpd counts its own references to
	 * it); it owns body. */
	struct MHD_Response *resp;
	const char *body;
	size_t len;
	/* [status] cors_origins when they name origins (not "*"): a
	 * request from one of them needs its own copy with its origin.
	 * "" otherwise (the shared response already says "*" or nothing). */
	char cors_origins[1024];

	atomic_int refs;      /* the cache's, plus one per request using it */
	int64_t made_mono_ns; /* just before its snapshot */
	uint64_t generation;  /* the cache's generation then */
	uint64_t stats_generation; /* stats_generation() then */
};

/* A new, empty cache, or NULL when out of memory. settings(arg, out)
 * copies the settings a document is rendered with (called from the
 * rendering thread, once per document); headers(r) adds the server's
 * headers to each new shared response (Content-Type, Cache-Control ...;
 * the cache adds only the CORS ones). */
struct status_doc_cache *status_doc_cache_new(
    void (*settings)(void *arg, struct status_settings *out),
    void (*headers)(struct MHD_Response *r), void *arg);

/* Frees the cache and its documents. NULL is a no-op. */
void status_doc_cache_free(struct status_doc_cache *cache);

/* A reference to the current document of that form (give it back with
 * status_doc_put), rendered first when needed. NULL when out of memory. */
struct status_doc *status_doc_get(struct status_doc_cache *cache, bool pretty);

/* Gives back a reference from status_doc_get. NULL is a no-op. */
void status_doc_put(struct status_doc *d);

/* The cached documents are out of date now (a reload, a control call):
 * the next status_doc_get renders anew. stats_generation() needs no call:
 * the cache follows it itself. */
void status_doc_invalidate(struct status_doc_cache *cache);

#endif
