/* SPDX-License-Identifier: MIT */
/*
 * The /api/events streams (Server-Sent Events; status_events.h): the
 * ticks, the events built from a snapshot (status_json.c renders them),
 * the levels events of operator pages and the buffer of what is built
 * but not yet sent. The server (status.c) routes the request, takes the
 * event-stream slot and adds the headers.
 *
 * Threads: each stream on its connection's thread (status_events.h).
 */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "stats.h"
#include "status_events.h"
#include "status_json.h"
#include "util.h"

/* Event streams: check the state every second, send a comment when idle
 * (well inside the connection timeout), and the full state now and then. */
#define EVENTS_TICK_MS 1000
#define EVENTS_KEEPALIVE_NS (5 * NS_PER_SEC)
#define EVENTS_REFRESH_NS (30 * NS_PER_SEC)
/* Operator pages (/api/events?levels=1) also get the programme's levels
 * this often: the meter blocks are 100 ms long. */
#define EVENTS_LEVELS_TICK_MS 100
/* A change rings the stats news bell (stats_news_fd): the stream looks
 * once the bell has been quiet this long, so that the rest of a burst
 * (the engine, the planner and the requests publish one segment start in
 * three calls) goes out in the same event; but no later than
 * EVENTS_SETTLE_MAX_MS after the first ring, however busy the bell. */
#define EVENTS_SETTLE_MS 20
#define EVENTS_SETTLE_MAX_MS 100
/* Levels stay fresh this long after the last metered block (see
 * events_add_levels()); a stopped engine shows stale after it. */
#define LEVELS_FRESH_NS (500 * NS_PER_MS)

struct status_events {
	const struct status_events_hooks *hooks; /* borrowed */
	int fd; /* the connection's socket, watched for the client leaving */
	/* An epoll set of fd (the client leaving) and the stats news bell
	 * (edge-triggered); -1 when it could not be made: the stream then
	 * polls fd alone and sees changes at its tick. */
	int ep;
	bool levels; /* ?levels=1: a levels event every 100 ms too */
	int64_t last_check_mono_ns; /* the last look at the full state */
	char *pending;
	size_t pending_len;
	size_t pending_off;
	uint64_t digest;
	bool started;
	int64_t last_write_mono_ns;
	int64_t last_full_mono_ns;
};

/* Builds the next event into es->pending. false on OOM. */
static bool
events_build(struct status_events *es, const struct stats_snapshot *s,
    const struct status_settings *set, int64_t now)
{
	char *ev;

	ev = status_json_event(s, set, !es->started);
	if (ev == NULL)
		return false;
	es->pending = ev;
	es->pending_len = strlen(ev);
	es->pending_off = 0;
	es->digest = status_json_digest(s, set);
	es->started = true;
	es->last_write_mono_ns = now;
	es->last_full_mono_ns = now;
	return true;
}

/* Appends a levels event (operator pages) to es->pending: the
 * programme's levels from the stats atomics, and with s (the tick's
 * snapshot, may be NULL) each encoding's byte count. false on OOM. */
static bool
events_add_levels(
    struct status_events *es, const struct stats_snapshot *s, int64_t now)
{
	struct stats_levels lv;
	char *line, *joined;
	size_t n;

	stats_levels_get(&lv);
	/* Fresh: a block metered within LEVELS_FRESH_NS. The engine meters
	 * every ~100 ms of audio, at block times (46 ms apart), so two 100 ms
	 * ticks can fall between two metered blocks: "since the last event"
	 * showed a running engine as stale, and the page drew -inf, now and
	 * then. */
	line = status_json_levels(&lv, lv.age_ns < LEVELS_FRESH_NS, s);
	if (line == NULL)
		return false;
	n = strlen(line);
	joined = realloc(es->pending, es->pending_len + n + 1);
	if (joined == NULL) {
		free(line);
		return false;
	}
	memcpy(joined + es->pending_len, line, n + 1);
	free(line);
	es->pending = joined;
	es->pending_len += n;
	es->last_write_mono_ns = now;
	return true;
}

/* Waits up to timeout_ms for the client to leave (true) or, with the
 * epoll set, news (*news set). Runs on: the connection's thread. */
static bool
events_wait(struct status_events *es, int timeout_ms, bool *news)
{
	struct epoll_event ev[2];
	int n, i;

	if (es->ep < 0) {
		/* A negative fd (unknown) just sleeps the tick. POLLRDHUP:
		 * data a client sends does not wake us. */
		struct pollfd pfd = {.fd = es->fd, .events = POLLRDHUP};

		return poll(&pfd, 1, timeout_ms) > 0 &&
		       (pfd.revents &
			   (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
	}
	n = epoll_wait(es->ep, ev, 2, timeout_ms);
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd != es->fd)
			*news = true;
		else if (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			return true;
	}
	return false;
}

/* After news: waits until the bell has been quiet EVENTS_SETTLE_MS, or
 * EVENTS_SETTLE_MAX_MS have gone. Each ring ends an epoll wait at once,
 * so a single wait settled on the second call of a burst and sent the
 * state between two calls. true when the client left. Runs on: the
 * connection's thread. */
static bool
events_settle(struct status_events *es)
{
	int64_t until = util_now_mono_ns() + EVENTS_SETTLE_MAX_MS * NS_PER_MS;
	int64_t left_ms;
	bool more;

	do {
		left_ms = (until - util_now_mono_ns()) / NS_PER_MS;
		if (left_ms <= 0)
			return false;
		more = false;
		if (events_wait(es,
			left_ms < EVENTS_SETTLE_MS ? (int)left_ms
						   : EVENTS_SETTLE_MS,
			&more))
			return true;
	} while (more);
	return false;
}

/* Runs on: the connection's thread; may wait up to EVENTS_TICK_NS. */
static ssize_t
events_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	static const char keepalive[] = ": keepalive\n\n";
	struct status_events *es = cls;
	struct status_settings set;
	struct stats_snapshot *s;
	int64_t now;
	size_t n;
	bool ok, news;

	(void)pos;
	for (;;) {
		if (es->pending_off < es->pending_len) {
			n = es->pending_len - es->pending_off;
			if (n > max)
				n = max;
			memcpy(buf, es->pending + es->pending_off, n);
			es->pending_off += n;
			return (ssize_t)n;
		}
		free(es->pending);
		es->pending = NULL;
		es->pending_len = es->pending_off = 0;

		/* Wait for the next tick, or news, on the socket itself, so
		 * that a client that goes frees its slot at once (and
		 * status_stop, whose libmicrohttpd shuts every socket down,
		 * ends the wait too). */
		news = false;
		if (es->started) {
			if (events_wait(es,
				es->levels ? EVENTS_LEVELS_TICK_MS
					   : EVENTS_TICK_MS,
				&news))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			if (news && events_settle(es))
				return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (es->hooks->stopping(es->hooks->arg))
			return MHD_CONTENT_READER_END_OF_STREAM;
		now = util_now_mono_ns();
		s = NULL;
		/* The full state at news and once a tick (EVENTS_TICK_MS; a
		 * little less with levels, so 10 level ticks never stretch
		 * it). */
		if (!es->started || !es->levels || news ||
		    now - es->last_check_mono_ns >=
			(EVENTS_TICK_MS - EVENTS_LEVELS_TICK_MS / 2) *
			    NS_PER_MS) {
			es->last_check_mono_ns = now;
			es->hooks->settings(es->hooks->arg, &set);
			s = malloc(sizeof(*s));
			if (s == NULL)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			stats_snapshot(s);
			ok = true;
			if (!es->started ||
			    status_json_digest(s, &set) != es->digest ||
			    now - es->last_full_mono_ns >= EVENTS_REFRESH_NS)
				ok = events_build(es, s, &set, now);
			if (!ok) {
				free(s);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
		}
		ok = !es->levels || events_add_levels(es, s, now);
		free(s);
		if (!ok)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (es->pending == NULL &&
		    now - es->last_write_mono_ns >= EVENTS_KEEPALIVE_NS) {
			es->pending = strdup(keepalive);
			if (es->pending == NULL)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			es->pending_len = sizeof(keepalive) - 1;
			es->pending_off = 0;
			es->last_write_mono_ns = now;
		}
	}
}

static void
events_free_cb(void *cls)
{
	struct status_events *es = cls;

	es->hooks->done(es->hooks->arg);
	if (es->levels)
		stats_levels_watch(-1);
	if (es->ep >= 0)
		close(es->ep);
	free(es->pending);
	free(es);
}

/* The stream's epoll set (see struct status_events), or -1. Made
 * before the first snapshot, so news that comes while it is built is
 * not missed. */
static int
events_epoll(int fd)
{
	struct epoll_event ev = {0};
	int ep, bell = stats_news_fd();

	if (bell < 0)
		return -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = bell;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, bell, &ev) < 0)
		goto fail;
	if (fd >= 0) {
		ev.events = EPOLLRDHUP;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			goto fail;
	}
	return ep;
fail:
	close(ep);
	return -1;
}

struct status_events *
status_events_new(const struct status_events_hooks *hooks, int fd, bool levels)
{
	struct status_events *es = calloc(1, sizeof(*es));

	if (es == NULL)
		return NULL;
	es->hooks = hooks;
	es->levels = levels;
	es->fd = fd;
	es->ep = events_epoll(fd);
	/* The engine meters block by block while a page watches. */
	if (levels)
		stats_levels_watch(1);
	return es;
}

struct MHD_Response *
status_events_response(struct status_events *es)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 4096, events_read_cb, es, events_free_cb);
	if (r == NULL)
		events_free_cb(es);
	return r;
}
