/* SPDX-License-Identifier: MIT */
/*
 * The control queue. See control.h. One request at a time is plenty for
 * an operator's API: a mutex serialises submitters, the request sits in a
 * single slot, the main thread answers through a condition variable.
 *
 * Threads: see control.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond;
static int efd = -1;
static control_handler_cb *handler;
static void *handler_arg;
static bool pending, answered, shut;
static struct control_request slot;
static int result;
static char result_err[512];

int
control_init(control_handler_cb *cb, void *arg)
{
	pthread_condattr_t ca;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&done_cond, &ca);
	pthread_condattr_destroy(&ca);
	handler = cb;
	handler_arg = arg;
	shut = false;
	return 0;
}

void
control_shutdown(void)
{
	pthread_mutex_lock(&lock);
	shut = true;
	if (pending) {
		result = -ESHUTDOWN;
		util_strlcpy(
		    result_err, "relay is stopping", sizeof(result_err));
		answered = true;
		pending = false;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
}

int
control_fd(void)
{
	return efd;
}

int
control_submit(const struct control_request *req, int64_t timeout_ns, char *err,
    size_t errlen)
{
	struct timespec ts;
	int64_t deadline = util_now_mono_ns() + timeout_ns;
	uint64_t one = 1;
	int rc;

	if (efd < 0) {
		snprintf(err, errlen, "control is not available");
		return -ENOTSUP;
	}
	pthread_mutex_lock(&submit_lock);
	pthread_mutex_lock(&lock);
	if (shut) {
		pthread_mutex_unlock(&lock);
		pthread_mutex_unlock(&submit_lock);
		snprintf(err, errlen, "relay is stopping");
		return -ESHUTDOWN;
	}
	slot = *req;
	slot.play.path = slot.path[0] != '\0' ? slot.path : NULL;
	slot.play.url = slot.url[0] != '\0' ? slot.url : NULL;
	slot.play.title = slot.title[0] != '\0' ? slot.title : NULL;
	slot.play.artist = slot.artist[0] != '\0' ? slot.artist : NULL;
	pending = true;
	answered = false;
	if (write(efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one request at a time. */
	}
	ts.tv_sec = (time_t)(deadline / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline % NS_PER_SEC);
	while (!answered) {
		if (pthread_cond_timedwait(&done_cond, &lock, &ts) == ETIMEDOUT)
			break;
	}
	if (answered) {
		rc = result;
		util_strlcpy(err, result_err, errlen);
	} else {
		pending = false; /* the main thread will not run it now */
		rc = -ETIMEDOUT;
		snprintf(err, errlen, "the main loop did not answer in time");
	}
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(&submit_lock);
	return rc;
}

void
control_run(void)
{
	struct control_request req;
	uint64_t v;
	char err[512];
	int rc;

	if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&lock);
	if (!pending) {
		pthread_mutex_unlock(&lock);
		return;
	}
	req = slot;
	pthread_mutex_unlock(&lock);

	req.play.path = req.path[0] != '\0' ? req.path : NULL;
	req.play.url = req.url[0] != '\0' ? req.url : NULL;
	req.play.title = req.title[0] != '\0' ? req.title : NULL;
	req.play.artist = req.artist[0] != '\0' ? req.artist : NULL;
	err[0] = '\0';
	rc = handler(&req, err, sizeof(err), handler_arg);

	pthread_mutex_lock(&lock);
	if (pending) {
		result = rc;
		util_strlcpy(result_err, err, sizeof(result_err));
		answered = true;
		pending = false;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
}
