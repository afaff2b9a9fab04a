/* SPDX-License-Identifier: MIT */
/*
 * File backend (`[output NAME] type = file`): writes the output's Ogg
 * stream to a file. Each (re)open appends a new chain, so a restart or a
 * write error never truncates what was already recorded (darkice overwrote
 * its dump on reconnect). Rotation and retention belong to the archive
 * issue; this backend is the plain, lossless base it builds on.
 *
 * Threads: runs on its output's thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

struct output_backend {
	char path[4096];
	int fd;
};

static int
file_create(const struct config *cfg, const struct output_config *o,
    struct output_backend **out, char *err, size_t errlen)
{
	struct output_backend *b;

	(void)cfg;
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "[output %s]: out of memory", o->name);
		return -ENOMEM;
	}
	util_strlcpy(b->path, o->path, sizeof(b->path));
	b->fd = -1;
	*out = b;
	return 0;
}

static int
file_open(struct output_backend *b, char *err, size_t errlen)
{
	b->fd = open(b->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (b->fd < 0) {
		int e = errno;
		snprintf(
		    err, errlen, "cannot open %s: %s", b->path, strerror(e));
		return -e;
	}
	return 0;
}

static int
file_open_poll(struct output_backend *b, char *err, size_t errlen)
{
	return file_open(b, err, errlen);
}

static int
file_write(struct output_backend *b, const unsigned char *data, size_t bytes,
    char *err, size_t errlen)
{
	while (bytes > 0) {
		ssize_t n = write(b->fd, data, bytes);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			snprintf(err, errlen, "cannot write %s: %s", b->path,
			    strerror(e));
			return -e;
		}
		data += n;
		bytes -= (size_t)n;
	}
	return 0;
}

static int
file_flush(struct output_backend *b, size_t *pending, char *err, size_t errlen)
{
	(void)b;
	(void)err;
	(void)errlen;
	*pending = 0;
	return 0;
}

static void
file_close(struct output_backend *b)
{
	if (b->fd >= 0) {
		(void)fdatasync(b->fd);
		close(b->fd);
	}
	b->fd = -1;
}

static void
file_destroy(struct output_backend *b)
{
	if (b == NULL)
		return;
	file_close(b);
	free(b);
}

const struct output_ops output_file_ops = {
    .name = "file",
    .create = file_create,
    .open = file_open,
    .open_poll = file_open_poll,
    .write = file_write,
    .flush = file_flush,
    .set_title = NULL,
    .close = file_close,
    .destroy = file_destroy,
};
