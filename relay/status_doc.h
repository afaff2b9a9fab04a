/* SPDX-License-Identifier: MIT */
/*
 * The /api/status document cache of the status server (status.c).
 *
 * Threads: status_doc_cache_init/free on the main thread, before the
 * server starts and after it stopped; status_doc_get/put/invalidate on
 * any thread.
 */
#ifndef RELAY_STATUS_DOC_H
#define RELAY_STATUS_DOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "stats.h"
#include "status.h"

/* One rendered /api/status document in a response that every request
 * queues as it is (libmicrohttpd counts its own references to it). */
struct status_doc {
	atomic_int refs; /* the cache's, plus one per request using it */
	struct MHD_Response *resp; /* owns the body */
	const char *body;	   /* resp's */
	size_t len;
	int64_t made_mono_ns;	   /* just before its snapshot */
	uint64_t generation;	   /* cache->generation when it was made */
	uint64_t stats_generation; /* stats_generation() then */
	/* [status] cors_origins when they name origins (not "*"): a
	 * request from one of them gets its own copy with its origin. */
	char cors_origins[1024];
};

/* The latest document of one form (compact or pretty). */
struct doc_cache {
	pthread_mutex_t lock;	/* guards cur; held for a pointer's length */
	pthread_mutex_t render; /* one renderer at a time; before lock */
	struct status_doc *cur; /* owned (one reference) */
	struct stats_snapshot *snap; /* the renderer's (render; owned) */
};

struct status_doc_cache {
	struct doc_cache docs[2]; /* [pretty] */
	/* Bumped when a cached document may be wrong before its age says
	 * so: a reload, a control call. */
	atomic_uint_fast64_t generation;
	void (*settings)(void *arg, struct status_settings *out);
	void (*headers)(struct MHD_Response *r);
	void *arg;
};

void status_doc_cache_init(struct status_doc_cache *cache,
    void (*settings)(void *arg, struct status_settings *out),
    void (*headers)(struct MHD_Response *r), void *arg);
void status_doc_cache_free(struct status_doc_cache *cache);
struct status_doc *status_doc_get(struct status_doc_cache *cache, bool pretty);
void status_doc_put(struct status_doc *d);
void status_doc_invalidate(struct status_doc_cache *cache);

#endif
