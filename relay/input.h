/* SPDX-License-Identifier: MIT */
/*
 * The live input: one backend (tone, stdin, file, alsa) behind struct
 * input_ops, run on its own thread by input.c. The thread opens the
 * backend, reads float frames in the programme format ([input] rate and
 * channels) and writes them into the ring for the engine. When the backend
 * fails (device gone, stdin closed, corrupt file) the thread closes it,
 * keeps the programme going with clock-paced silence, and reopens with
 * backoff. An open backend that delivers nothing for 0.4 s (a stalled
 * producer) gets the same clock-paced silence until frames come back, and
 * a backlog it then bursts is trimmed to keep the delay bounded (input.c,
 * DESIGN). Backends never log: they fill err, and input.c logs.
 *
 * Threads: input_start/stop on the main thread; the ops run on the input
 * thread only.
 */
#ifndef RELAY_INPUT_H
#define RELAY_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ring.h"
#include "util.h"

struct input_backend; /* private to each backend */

struct input_ops {
	const char *name;
	/* Opens the source. 0 or negative errno with err filled. */
	int (*open)(const struct input_config *cfg, struct input_backend **out,
	    char *err, size_t errlen);
	/* Reads up to max_frames interleaved float frames (cfg->channels
	 * wide, cfg->rate_hz) into frames, waiting for them in real time:
	 * hardware and pipes are paced by their producer, tone and file by
	 * CLOCK_MONOTONIC with no drift. Returns frames read (> 0), 0 when
	 * nothing arrived within ~100 ms (caller checks for stop), or
	 * negative errno (-EPIPE at end of input) with err filled. */
	ssize_t (*read)(struct input_backend *b, float *frames,
	    size_t max_frames, char *err, size_t errlen);
	/* Closes and frees; b may be NULL. */
	void (*close)(struct input_backend *b);
};

extern const struct input_ops input_tone_ops;
extern const struct input_ops input_stdin_ops;
extern const struct input_ops input_file_ops;
extern const struct input_ops input_alsa_ops;

const struct input_ops *input_ops_for(enum input_type type);

struct input;

/* Starts the input thread writing into ring (borrowed; must outlive the
 * input). Owned: stop and free with input_stop(). NULL on error. */
struct input *input_start(const struct input_config *cfg, struct ring *ring,
    char *err, size_t errlen);
/* True once the input ended for good with [input] at_end = exit (stdin
 * closed, a file without loop finished): main then stops relay. */
bool input_ended(struct input *in);

/* True while the live input delivers no audio of its own: the backend
 * failed or is not open yet (retrying with backoff), stdin ended, or an
 * open backend stalled (the thread sends silence). why (may be NULL) gets
 * the reason, "stdin input: end of input". Any thread; NULL: false. */
bool input_down(struct input *in, char *why, size_t whylen);

/* Stops the thread (returns within ~200 ms) and frees. NULL is a no-op. */
void input_stop(struct input *in);

#endif
