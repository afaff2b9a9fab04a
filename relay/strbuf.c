/* SPDX-License-Identifier: MIT */
/*
 * The capped string builder. See strbuf.h.
 *
 * Threads: see strbuf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

bool
strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t want, cap;
	char *p;

	if (sb->failed)
		return false;
	if (extra > STRBUF_MAX_BYTES - sb->len) {
		sb->failed = true;
		return false;
	}
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return true;
	cap = sb->cap == 0 ? 1024 : sb->cap;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->failed = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

void
strbuf_add(struct strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(sb, (size_t)n)) {
		sb->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *
strbuf_take(struct strbuf *sb)
{
	char *p = sb->data;
	bool failed = sb->failed;

	*sb = (struct strbuf){0};
	if (failed) {
		free(p);
		return NULL;
	}
	return p != NULL ? p : strdup("");
}
