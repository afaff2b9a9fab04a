/* SPDX-License-Identifier: MIT */
/*
 * A growable string with a hard cap, for the texts the status views build
 * (the metrics, the page, the health reason, the control audit text).
 * Appends never fail loudly: the first failure (out of memory, or
 * over STRBUF_MAX_BYTES) marks the buffer, later appends do nothing, and
 * strbuf_take() reports it once, so a builder checks only at the end.
 *
 * Start from an all-zero struct strbuf ({0}); strbuf_take() hands the text
 * over and frees whatever a failed buffer held.
 *
 * Threads: a strbuf belongs to one thread at a time; no locks, no global
 * state.
 */
#ifndef RELAY_STRBUF_H
#define RELAY_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* No document relay builds comes near this; a runaway one stops here. */
#define STRBUF_MAX_BYTES ((size_t)4 * 1024 * 1024)

struct strbuf {
	char *data; /* NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	bool failed; /* OOM or over STRBUF_MAX_BYTES */
};

/* Makes room for extra more bytes plus the NUL, so a caller may write
 * up to extra bytes at data + len itself (then add them to len). False
 * when the buffer has failed, now or before. */
bool strbuf_reserve(struct strbuf *sb, size_t extra);

/* Appends n bytes of s (need not be terminated). */
void strbuf_add(struct strbuf *sb, const char *s, size_t n);

/* Appends the string s. */
void strbuf_puts(struct strbuf *sb, const char *s);

/* Appends printf-formatted text. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands over the text: owned, caller frees with free(); "" when nothing
 * was added. NULL after a failure. Leaves sb empty (data NULL) either
 * way. */
char *strbuf_take(struct strbuf *sb);

#endif
