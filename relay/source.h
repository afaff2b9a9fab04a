/* SPDX-License-Identifier: MIT */
/*
 * Segment sources: what a scheduled segment (or a control-API request)
 * plays instead of the live input: a file, a playlist, an Ogg Vorbis feed
 * over HTTP(S), a tone or digital silence. The live input itself is not a
 * source object: the engine reads it from its ring.
 *
 * Each source has its own feeder thread that opens and decodes ahead into a
 * private SPSC ring (source_ahead_ns(): 10 s for a feed, 2.5 s for a file
 * or a playlist, 1 s for a tone or silence) in the programme format
 * (rate, channels;
 * libsoxr where the material differs). The engine thread only ever
 * calls source_read(), which never blocks. Opening happens ahead of the
 * segment's start so that its first sample is ready at the exact frame.
 *
 * A playlist logs "playing FILE" when the engine reads the file's first
 * frame, not when the feeder opens it ahead: a file decoded ahead that
 * never airs (the source closed first) is never named.
 *
 * A source that fails (missing or corrupt file, unreachable feed) or runs
 * dry (a feed that drops) reports it through source_state(); the engine
 * then falls back to the live programme, and the main thread logs why.
 *
 * Threads: source_open() and source_close() on the main thread;
 * source_read() on the engine thread; source_state(), source_buffered(),
 * source_exhausted(), source_error(), source_duration_ns() and
 * source_ahead_ns() from any thread.
 */
#ifndef RELAY_SOURCE_H
#define RELAY_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "schedule.h"
#include "util.h"

/* Where a playlist carries on from one source to the next (the
 * [fallback] filler's, from one dead air to the next): the last file of
 * it that was heard. A sequential playlist opened with it starts with the
 * file after that one (after that entry when the list names the file more
 * than once; at the top when the list no longer holds it), and
 * every source opened with it notes each file as its first frame is read.
 * The caller owns it (source_resume_init/destroy) and keeps it until every
 * source opened with it is closed. */
struct source_resume {
	pthread_mutex_t lock;
	char last[4096]; /* the last file heard; "": none yet */
	size_t entry;	 /* its place in the list (a list may name a file
			    twice) */
};

void source_resume_init(struct source_resume *r);
void source_resume_destroy(struct source_resume *r);

struct source_spec {
	const char *name;	      /* segment name, for messages */
	enum schedule_source kind;    /* not SCHEDULE_SOURCE_LIVE */
	const char *path;	      /* file, playlist (dir or .m3u) */
	enum schedule_order order;    /* playlist */
	const char *url;	      /* stream: http:// or https:// */
	const struct tls_config *tls; /* stream: https trust (NULL: system) */
	double frequency_hz;	      /* tone */
	double level_dbfs;	      /* tone */
	int64_t skip_ns; /* join in progress: skip this much audio first */
	struct source_resume *resume; /* playlist: NULL, or carry on */
};

enum source_state {
	SOURCE_STARTING = 0, /* opening, connecting, nothing decoded yet */
	SOURCE_RUNNING,	     /* audio is buffered or being decoded */
	SOURCE_ENDED,	     /* all audio delivered (ring drained) */
	SOURCE_FAILED,	     /* could not open/decode: see source_error() */
};

struct source;

/* Starts a source producing rate_hz/channels float frames. Returns an
 * owned source (source_close) or NULL with err filled when it can fail at
 * once (a file that does not exist or is not audio: the message names the
 * path and the reason). Errors found later (a feed that cannot be reached)
 * come through source_state() == SOURCE_FAILED. */
struct source *source_open(const struct source_spec *spec, int rate_hz,
    int channels, char *err, size_t errlen);

/* Copies up to n frames; never blocks. Returns how many (0 when the ring
 * is empty: starting, ended, failed, or a feed that is late). */
size_t source_read(struct source *s, float *frames, size_t n);

enum source_state source_state(struct source *s);

/* True once a file the source opened ahead changed on disk (rewritten,
 * replaced or deleted) before any frame was read, and has then stayed the
 * same for 2 s (a file still being written is not reopened at every
 * write): what the source holds is not what the file is now, so the
 * owner should open the source anew. Only a source nobody has read yet
 * looks, once a second, whether its ring is full or it read the whole
 * material ahead. Thread-safe. */
bool source_stale(struct source *s);

/* Frames decoded and waiting in the ring. */
size_t source_buffered(struct source *s);

/* Whether the feeder is done (the material ended, or the source failed
 * or ended early): source_buffered() frames are all that is left, so the
 * engine knows ahead when the source will run dry. */
bool source_exhausted(struct source *s);

/* Length of the material when known (file: its length; playlist: sum of
 * readable files), else -1. Valid once the state left STARTING. */
int64_t source_duration_ns(struct source *s);

/* Why the source failed or ended early; "" otherwise. Borrowed, valid
 * until source_close(). */
const char *source_error(struct source *s);

/* Stops the feeder thread (returns within ~200 ms, even while a feed is
 * connecting) and frees. NULL is a no-op. */
void source_close(struct source *s);

/* How far ahead of the engine a source of this kind decodes, ns: 10 s
 * for a feed (a stalled connection is bridged from it), 1 s for what is
 * read from a local disk or computed. */
int64_t source_ahead_ns(enum schedule_source kind);

/* Opens path with libsndfile only to read its length (for `relay
 * schedule` and segment durations). 0 or negative errno with err. */
RELAY_MUST_CHECK int source_probe_duration(
    const char *path, int64_t *duration_ns, char *err, size_t errlen);

#endif
