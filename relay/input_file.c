/* SPDX-License-Identifier: MIT */
/*
 * File input: plays [input] path (anything audio_file reads) in the
 * programme format, paced by CLOCK_MONOTONIC exactly as the tone is: each
 * read sleeps until start + frames * 1e9 / rate, computed in integers, so
 * the position never drifts from the clock. With loop = yes the file is
 * reopened at its end and the programme continues without a gap in
 * pacing; with loop = no the read after the last frame returns -EPIPE
 * ("end of file").
 *
 * Threads: the ops run on the input thread only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_file.h"
#include "input.h"
#include "util.h"

/* See input_tone.c: re-anchor instead of bursting after a long stall. */
#define FILE_MAX_LAG_NS (NS_PER_SEC)

struct input_backend {
	char *path;
	bool loop;
	int rate_hz;
	int channels;
	size_t chunk_frames; /* at most ~100 ms per read */
	struct audio_file *af;
	bool got_audio;	     /* af delivered a frame since it was opened */
	int64_t start_ns;    /* 0 until the first read */
	int64_t frames_done; /* since start_ns */
};

/* Nanoseconds that frames last, without overflow (see input_tone.c). */
static int64_t
frames_to_ns(int64_t frames, int rate_hz)
{
	return frames / rate_hz * NS_PER_SEC +
	       frames % rate_hz * NS_PER_SEC / rate_hz;
}

/* Runs on: the input thread. */
static void
file_close(struct input_backend *b)
{
	if (b == NULL)
		return;
	audio_file_close(b->af);
	free(b->path);
	free(b);
}

/* Opens the file now, so a missing file is reported at once.
 * Runs on: the input thread. */
static int
file_open(const struct input_config *cfg, struct input_backend **out, char *err,
    size_t errlen)
{
	struct input_backend *b;

	*out = NULL;
	if (cfg->path == NULL || cfg->path[0] == '\0') {
		snprintf(err, errlen, "file: no [input] path set");
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->path = strdup(cfg->path)) == NULL) {
		snprintf(err, errlen, "%s: %s", cfg->path, strerror(ENOMEM));
		free(b);
		return -ENOMEM;
	}
	b->loop = cfg->loop;
	b->rate_hz = cfg->rate_hz;
	b->channels = cfg->channels;
	b->chunk_frames = cfg->rate_hz > 10 ? (size_t)cfg->rate_hz / 10 : 1;
	b->af = audio_file_open(
	    cfg->path, cfg->rate_hz, cfg->channels, err, errlen);
	if (b->af == NULL) {
		file_close(b);
		return -EIO;
	}
	*out = b;
	return 0;
}

/* Fills up to n frames, reopening at the end when looping. Returns the
 * count (0 only at the end without loop) or negative errno. */
static ssize_t
fill(struct input_backend *b, float *frames, size_t n, char *err, size_t errlen)
{
	size_t done = 0, ch = (size_t)b->channels;
	ssize_t got;

	while (done < n) {
		got = audio_file_read(b->af, frames + done * ch, n - done);
		if (got < 0) {
			snprintf(err, errlen, "%s", audio_file_error(b->af));
			return got;
		}
		if (got > 0) {
			b->got_audio = true;
			done += (size_t)got;
			continue;
		}
		if (!b->loop)
			break;
		if (!b->got_audio) {
			/* An empty file would spin here forever. */
			snprintf(err, errlen, "%s: contains no audio", b->path);
			return -ENODATA;
		}
		audio_file_close(b->af);
		b->af = audio_file_open(
		    b->path, b->rate_hz, b->channels, err, errlen);
		if (b->af == NULL)
			return -EIO;
		b->got_audio = false;
	}
	return (ssize_t)done;
}

/* What input.c asks for (the rest of the engine's wait, at most ~100 ms),
 * released when due by the clock.
 * Runs on: the input thread. */
static ssize_t
file_read(struct input_backend *b, float *frames, size_t max_frames, char *err,
    size_t errlen)
{
	size_t n = max_frames < b->chunk_frames ? max_frames : b->chunk_frames;
	int64_t now, deadline;
	ssize_t got;

	if (n == 0)
		return 0;
	if (b->af == NULL) {
		/* A reopen failed before; input.c should have closed us. */
		snprintf(err, errlen, "%s: not open", b->path);
		return -EBADF;
	}
	now = util_now_mono_ns();
	if (b->start_ns == 0)
		b->start_ns = now;
	deadline = b->start_ns + frames_to_ns(b->frames_done, b->rate_hz);
	if (now - deadline > FILE_MAX_LAG_NS)
		b->start_ns = now - frames_to_ns(b->frames_done, b->rate_hz);

	got = fill(b, frames, n, err, errlen);
	if (got < 0)
		return got;
	if (got == 0) {
		snprintf(err, errlen, "%s: end of file", b->path);
		return -EPIPE;
	}
	b->frames_done += got;
	util_sleep_until_mono_ns(
	    b->start_ns + frames_to_ns(b->frames_done, b->rate_hz));
	return got;
}

const struct input_ops input_file_ops = {
    .name = "file",
    .open = file_open,
    .read = file_read,
    .close = file_close,
};
