/* SPDX-License-Identifier: MIT */
/*
 * Stdin input: raw interleaved PCM on fd 0 in [input] format, channels and
 * rate, e.g. from `ffmpeg -re ... -f s16le -` or `arecord -t raw`. The
 * producer sets the pace; this backend never looks at the clock. Each read
 * polls fd 0 for up to 100 ms, so the input thread can notice a stop
 * request while the pipe is idle. A read(2) may end inside a frame: the
 * partial frame waits in the buffer for the rest of its bytes. End of file
 * is final (a pipe cannot be reopened): -EPIPE "stdin closed".
 *
 * fd 0 belongs to the process: close() leaves it open.
 *
 * Threads: the ops run on the input thread only.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "input.h"

#define STDIN_POLL_MS 100
/* Frames read per call at most: 100 ms (what input.c asks for), and at
 * least 4800, so that a read shorter than asked means an empty pipe. */
#define STDIN_BUF_FRAMES 4800

struct input_backend {
	enum sample_format format;
	int channels;
	size_t frame_bytes;
	unsigned char *buf; /* cap_frames whole frames */
	size_t cap_frames;
	size_t buf_bytes;  /* capacity */
	size_t fill_bytes; /* bytes of a partial frame kept from before */
};

/* Frees the buffers; fd 0 stays open. Runs on: the input thread. */
static void
stdin_close(struct input_backend *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b);
}

/* Allocates the byte buffer. Runs on: the input thread. */
static int
stdin_open(const struct input_config *cfg, struct input_backend **out,
    char *err, size_t errlen)
{
	struct input_backend *b;
	size_t sample_bytes = convert_sample_bytes(cfg->format);

	*out = NULL;
	if (sample_bytes == 0 || cfg->channels <= 0) {
		snprintf(err, errlen, "stdin: invalid format or %d channels",
		    cfg->channels);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto oom;
	b->format = cfg->format;
	b->channels = cfg->channels;
	b->frame_bytes = sample_bytes * (size_t)cfg->channels;
	b->cap_frames = (size_t)cfg->rate_hz / 2 + 1;
	if (b->cap_frames < STDIN_BUF_FRAMES)
		b->cap_frames = STDIN_BUF_FRAMES;
	b->buf_bytes = b->cap_frames * b->frame_bytes;
	b->buf = malloc(b->buf_bytes);
	if (b->buf == NULL)
		goto oom;
	*out = b;
	return 0;

oom:
	stdin_close(b);
	snprintf(err, errlen, "stdin: %s", strerror(ENOMEM));
	return -ENOMEM;
}

/* Polls fd 0 for 100 ms, reads, converts the whole frames.
 * Runs on: the input thread. */
static ssize_t
stdin_read(struct input_backend *b, float *frames, size_t max_frames, char *err,
    size_t errlen)
{
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	size_t want, whole, used;
	ssize_t n;
	int rc;

	if (max_frames > b->cap_frames)
		max_frames = b->cap_frames;
	if (max_frames == 0)
		return 0;
	rc = poll(&pfd, 1, STDIN_POLL_MS);
	if (rc < 0) {
		if (errno == EINTR)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "stdin: poll: %s", strerror(-rc));
		return rc;
	}
	if (rc == 0)
		return 0;
	if (pfd.revents & POLLNVAL) {
		snprintf(err, errlen, "stdin: not open");
		return -EBADF;
	}
	/* POLLHUP without data means the writer went away: read() gives 0. */
	want = max_frames * b->frame_bytes - b->fill_bytes;
	n = read(STDIN_FILENO, b->buf + b->fill_bytes, want);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "stdin: read: %s", strerror(-rc));
		return rc;
	}
	if (n == 0) {
		snprintf(err, errlen, "stdin closed");
		return -EPIPE;
	}
	b->fill_bytes += (size_t)n;
	whole = b->fill_bytes / b->frame_bytes;
	if (whole == 0)
		return 0;
	used = whole * b->frame_bytes;
	convert_to_float(
	    b->format, b->buf, whole * (size_t)b->channels, frames);
	/* Keep the partial frame for the next read. */
	memmove(b->buf, b->buf + used, b->fill_bytes - used);
	b->fill_bytes -= used;
	return (ssize_t)whole;
}

const struct input_ops input_stdin_ops = {
    .name = "stdin",
    .open = stdin_open,
    .read = stdin_read,
    .close = stdin_close,
};
