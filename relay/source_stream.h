/* SPDX-License-Identifier: MIT */
/*
 * The decoder behind stream segment sources (source.c): an Ogg Vorbis feed
 * fetched over HTTP or HTTPS with libcurl and decoded with libvorbisfile
 * into float frames in the programme format. Chained feeds (a new logical
 * stream after a metadata change, even at another rate or channel count)
 * play on without a break. Only source.c uses this header; libcurl and
 * vorbisfile types never leave source_stream.c.
 *
 * Threads: a struct source_stream is used by one thread, the source's
 * feeder thread. The stop flag passed to source_stream_open() is the only
 * thing another thread touches.
 */
#ifndef RELAY_SOURCE_STREAM_H
#define RELAY_SOURCE_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

/* A feed that sends nothing for this long counts as dropped. */
#define SOURCE_STREAM_STALL_NS (5 * NS_PER_SEC)
/* How long a TCP (and TLS) connection may take. */
#define SOURCE_STREAM_CONNECT_TIMEOUT_MS 5000

struct source_stream;

/* Connects to url (http:// or https://; https trusts what tls says, see
 * tls.h, and tls is borrowed for the call) and reads the first link's Vorbis
 * headers. Blocks while it does, but returns within ~50 ms once *stop is
 * true. log_mod names the source in log lines ("source[NAME]") and must
 * outlive the stream. On success *out is owned (source_stream_close). On
 * error returns a negative errno and err holds one line naming the URL
 * without credentials: "http://127.0.0.1:8000/feed.ogg: 404 Not Found",
 * "...: cannot connect: Connection refused", "...: not an Ogg Vorbis
 * stream (Content-Type: text/html)", "...: no data for 5 s".
 * Runs on: the feeder thread. */
RELAY_MUST_CHECK int source_stream_open(const char *url,
    const struct tls_config *tls, const char *log_mod, int rate_hz,
    int channels, const atomic_bool *stop, struct source_stream **out,
    char *err, size_t errlen);

/* Decodes up to max_frames interleaved frames into frames. Blocks until at
 * least one frame is ready, the feed ends, or *stop is set. Returns the
 * count (> 0), 0 when the feed ended or dropped, or a negative errno on a
 * decode error; after 0 or an error, source_stream_error() says why.
 * Allocates only when a new link changes the format. Runs on: the feeder
 * thread. */
RELAY_MUST_CHECK ssize_t source_stream_read(
    struct source_stream *st, float *frames, size_t max_frames);

/* Why the feed ended or failed ("" while it plays). Borrowed: valid until
 * the next call on st. */
const char *source_stream_error(const struct source_stream *st);

/* Disconnects and frees; NULL is a no-op. Returns quickly even mid-way
 * through a connect. */
void source_stream_close(struct source_stream *st);

#endif
