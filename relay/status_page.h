/* SPDX-License-Identifier: MIT */
/*
 * The server-rendered Listen Live page (GET /), its embeddable player
 * (GET /embed) and the operator page (GET /operator, whose state
 * status_operator.c renders): fills the templates in relay/www/ from one
 * stats_snapshot, so each page is complete without JavaScript, and says which
 * origins the page may load audio from (its Content-Security-Policy). All HTML
 * escaping happens here.
 *
 * Threads: pure functions on a caller's snapshot and settings; any thread
 * (the status server's connection threads call them). They allocate only
 * what they return.
 */
#ifndef RELAY_STATUS_PAGE_H
#define RELAY_STATUS_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "stats.h"
#include "status.h"
#include "strbuf.h"

/* HTML-escapes src (& < > " ') into dst (capacity len, always terminated
 * when len > 0), never cutting an entity or a UTF-8 sequence. NULL src is
 * "". Returns the length the whole escaped text needs, without the NUL. */
size_t status_page_html_escape(char *dst, size_t len, const char *src);

/* Appends src HTML-escaped (status_page_html_escape()) to sb. */
void status_page_add_html(struct strbuf *sb, const char *src);

/* Renders a page template: "{{key}}" becomes the HTML-escaped value,
 * "{{&key}}" the value as HTML built by relay (already escaped). Unknown
 * keys render as nothing. set may be NULL. Owned: free(). NULL on OOM. */
char *status_page_render(const char *template_text,
    const struct stats_snapshot *s, const struct status_settings *set);

/* The page's Content-Security-Policy into buf: relay itself, plus the
 * http(s) origins of the outputs' listener URLs and of the edges
 * ([status] listen_urls) as media and connect sources and what the
 * fallback player needs (WASM, blob: workers and media, a data: clip)
 * when there is any; any site may frame the page
 * when embed, only relay otherwise. */
void status_page_csp(const struct stats_snapshot *s,
    const struct status_settings *set, bool embed, char *buf, size_t len);

#endif
