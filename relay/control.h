/* SPDX-License-Identifier: MIT */
/*
 * Control requests (POST /api/segments, /api/skip, /api/metadata,
 * /api/reload) cross from the status server's threads to the main thread
 * here: control_submit() queues a request, wakes the main loop through an
 * eventfd, and waits for the main thread's answer, so the HTTP reply can
 * say whether it worked and why not.
 *
 * Threads: control_submit() from any thread except the main thread;
 * control_fd() and control_run() on the main thread.
 */
#ifndef RELAY_CONTROL_H
#define RELAY_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programme.h"
#include "util.h"

#define CONTROL_TEXT 4096

enum control_what {
	CONTROL_PLAY = 0, /* play a segment now or at a time */
	CONTROL_SKIP,	  /* end the segment on air, back to live */
	CONTROL_METADATA, /* title/artist of the live programme */
	CONTROL_RELOAD,	  /* re-read config and schedule (like SIGHUP) */
};

struct control_request {
	enum control_what what;
	/* CONTROL_PLAY: kind, at_wall_ns, duration_ns, frequency, level;
	 * the string pointers are set by control_submit() to the buffers
	 * below. */
	struct programme_request play;
	char path[CONTROL_TEXT];
	char url[CONTROL_TEXT];
	char title[256]; /* PLAY and METADATA */
	char artist[256];
};

/* What the main thread does with a request: 0 or negative errno with err
 * filled. */
typedef int control_handler_cb(
    struct control_request *req, char *err, size_t errlen, void *arg);

/* Sets up the queue (main thread, before the status server starts). */
RELAY_MUST_CHECK int control_init(control_handler_cb *cb, void *arg);
void control_shutdown(void);

/* Queues req and waits up to timeout_ns for the result. Returns the
 * handler's result, -ETIMEDOUT or -ESHUTDOWN, with err filled. */
int control_submit(const struct control_request *req, int64_t timeout_ns,
    char *err, size_t errlen);

/* The eventfd the main loop polls; readable when requests wait. */
int control_fd(void);

/* Runs every waiting request (main thread). */
void control_run(void);

#endif
