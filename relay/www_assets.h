/* SPDX-License-Identifier: MIT */
/*
 * Page assets (relay/www/) embedded at build time by www_embed.sh.
 *
 * Threads: read-only data, safe from any thread.
 */
#ifndef RELAY_WWW_ASSETS_H
#define RELAY_WWW_ASSETS_H

#include <stddef.h>

struct www_asset {
	const char *path;	   /* "/index.html" */
	const char *type;	   /* MIME type with charset */
	const unsigned char *data; /* NUL-terminated for convenience */
	size_t bytes;		   /* length without the NUL */
};

/* The table ends with an entry whose path is NULL. */
extern const struct www_asset www_assets[];

#endif
