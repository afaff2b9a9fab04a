/* SPDX-License-Identifier: MIT */
/*
 * The /api/status document cache: see status_doc.h.
 *
 * Threads: as status_doc.h says. Each form has two mutexes: lock guards
 * the pointer to the current document and is held only to read or swap
 * it; render lets one thread render at a time and is taken before lock.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "stats.h"
#include "status_doc.h"
#include "status_json.h"
#include "util.h"

/* A rendered /api/status is served again to every request within this
 * long while the state it shows holds (docs/status-api.md): under a poll
 * storm the document is built about ten times a second, plus once per
 * change of state, instead of once per request. */
#define STATUS_DOC_MAX_AGE_NS (100 * NS_PER_MS)

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

void
status_doc_put(struct status_doc *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	/* libmicrohttpd frees the body once the last connection sending it
	 * is done. */
	MHD_destroy_response(d->resp);
	free(d);
}

/* A new document from a fresh snapshot (one reference), or NULL when
 * out of memory. dc->render held. */
static struct status_doc *
doc_render(struct status_doc_cache *cache, struct doc_cache *dc, bool pretty)
{
	struct status_settings set;
	struct status_doc *d;
	char *text;

	if (dc->snap == NULL)
		dc->snap = malloc(sizeof(*dc->snap));
	d = calloc(1, sizeof(*d));
	if (dc->snap == NULL || d == NULL) {
		free(d);
		return NULL;
	}
	/* Read before the snapshot: a bump after it marks this one old. */
	d->generation = atomic_load(&cache->generation);
	d->stats_generation = stats_generation();
	d->made_mono_ns = util_now_mono_ns();
	cache->settings(cache->arg, &set);
	stats_snapshot(dc->snap);
	text = status_json(dc->snap, &set, pretty);
	if (text == NULL) {
		free(d);
		return NULL;
	}
	d->len = strlen(text);
	d->body = text;
	d->resp = MHD_create_response_from_buffer(
	    d->len, text, MHD_RESPMEM_MUST_FREE);
	if (d->resp == NULL) {
		free(text);
		free(d);
		return NULL;
	}
	cache->headers(d->resp);
	/* What CORS allows every request alike goes into the shared
	 * response; an origin that is listed by name gets its own copy
	 * (serve_status). */
	if (strcmp(set.cors_origins, "*") == 0)
		MHD_add_response_header(
		    d->resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	else if (set.cors_origins[0] != '\0') {
		MHD_add_response_header(
		    d->resp, MHD_HTTP_HEADER_VARY, "Origin");
		util_strlcpy(
		    d->cors_origins, set.cors_origins, sizeof(d->cors_origins));
	}
	atomic_init(&d->refs, 1);
	return d;
}

/* d shows the state as it is: no setting, control call or stats state
 * changed since it was made (counters and levels may have moved). */
static bool
doc_current(struct status_doc_cache *cache, const struct status_doc *d)
{
	return d->generation == atomic_load(&cache->generation) &&
	       d->stats_generation == stats_generation();
}

/* A reference to the current document (doc_put when done), rendered
 * anew when the one cached is out of date or older than
 * STATUS_DOC_MAX_AGE_NS. While another thread renews it, one less than
 * twice that old is served as it is rather than waited for. NULL when
 * out of memory. Runs on: a connection thread. */
struct status_doc *
status_doc_get(struct status_doc_cache *cache, bool pretty)
{
	struct doc_cache *dc = &cache->docs[pretty];
	struct status_doc *d, *old;
	int64_t age;
	bool rendering = false;

	pthread_mutex_lock(&dc->lock);
	d = dc->cur;
	age = d != NULL ? util_now_mono_ns() - d->made_mono_ns : 0;
	if (d != NULL &&
	    (!doc_current(cache, d) || age >= 2 * STATUS_DOC_MAX_AGE_NS))
		d = NULL; /* out of date: wait for a new one */
	else if (d != NULL && age >= STATUS_DOC_MAX_AGE_NS)
		rendering = pthread_mutex_trylock(&dc->render) == 0;
	if (d != NULL && !rendering) {
		atomic_fetch_add(&d->refs, 1);
		pthread_mutex_unlock(&dc->lock);
		return d;
	}
	pthread_mutex_unlock(&dc->lock);
	if (!rendering) {
		pthread_mutex_lock(&dc->render);
		/* Made by the thread we waited for? */
		pthread_mutex_lock(&dc->lock);
		d = dc->cur;
		if (d != NULL && doc_current(cache, d) &&
		    util_now_mono_ns() - d->made_mono_ns <
			STATUS_DOC_MAX_AGE_NS) {
			atomic_fetch_add(&d->refs, 1);
			pthread_mutex_unlock(&dc->lock);
			pthread_mutex_unlock(&dc->render);
			return d;
		}
		pthread_mutex_unlock(&dc->lock);
	}
	d = doc_render(cache, dc, pretty);
	old = NULL;
	if (d != NULL) {
		atomic_fetch_add(&d->refs, 1); /* the caller's */
		pthread_mutex_lock(&dc->lock);
		old = dc->cur;
		dc->cur = d;
		pthread_mutex_unlock(&dc->lock);
	}
	pthread_mutex_unlock(&dc->render);
	status_doc_put(old);
	return d;
}

/* The cache is out of date now (a reload, a control call): besides
 * stats_generation, which follows the stats themselves. */
void
status_doc_invalidate(struct status_doc_cache *cache)
{
	atomic_fetch_add(&cache->generation, 1);
}

struct status_doc_cache *
status_doc_cache_new(void (*settings)(void *arg, struct status_settings *out),
    void (*headers)(struct MHD_Response *r), void *arg)
{
	struct status_doc_cache *cache = calloc(1, sizeof(*cache));
	size_t i;

	if (cache == NULL)
		return NULL;
	cache->settings = settings;
	cache->headers = headers;
	cache->arg = arg;
	atomic_init(&cache->generation, 0);
	for (i = 0; i < RELAY_ARRAY_LEN(cache->docs); i++) {
		pthread_mutex_init(&cache->docs[i].lock, NULL);
		pthread_mutex_init(&cache->docs[i].render, NULL);
	}
	return cache;
}

/* After the daemon stopped: no request holds a document any more. */
void
status_doc_cache_free(struct status_doc_cache *cache)
{
	size_t i;

	if (cache == NULL)
		return;
	for (i = 0; i < RELAY_ARRAY_LEN(cache->docs); i++) {
		status_doc_put(cache->docs[i].cur);
		free(cache->docs[i].snap);
		pthread_mutex_destroy(&cache->docs[i].render);
		pthread_mutex_destroy(&cache->docs[i].lock);
	}
	free(cache);
}
