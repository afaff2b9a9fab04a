/* SPDX-License-Identifier: MIT */
/*
 * stats: the two writers of the programme record (engine: what is on air;
 * planner: next[]) never overwrite each other's part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"
#include "util.h"

/* The audience adds the edges' listeners to the primary's, less the one
 * relay connection each edge that lists the mount holds on the primary. */
static void
test_listeners_across_edges(void **state)
{
	static char enc_name[] = "main", out_name[] = "main",
		    host[] = "127.0.0.1", mount[] = "/live.ogg",
		    station[] = "x", empty[] = "",
		    u1[] = "http://e1:8000/live.ogg",
		    u2[] = "http://e2:8000/live.ogg",
		    u3[] = "http://e2:8000/other.ogg";
	struct stats_snapshot *snap = calloc(1, sizeof(*snap));
	struct config cfg;
	uint64_t serial;
	int id;

	(void)state;
	assert_non_null(snap);
	memset(&cfg, 0, sizeof(cfg));
	cfg.station.name = station;
	cfg.station.description = empty;
	cfg.station.url = empty;
	cfg.n_encodings = 1;
	cfg.encodings[0].name = enc_name;
	cfg.n_outputs = 1;
	cfg.outputs[0].name = out_name;
	cfg.outputs[0].type = OUTPUT_ICECAST;
	cfg.outputs[0].host = host;
	cfg.outputs[0].mount = mount;
	cfg.status.listen_urls.item[0] = u1;
	cfg.status.listen_urls.item[1] = u2;
	cfg.status.listen_urls.item[2] = u3;
	cfg.status.listen_urls.n = 3;
	stats_configure(&cfg);
	id = stats_output_register(&cfg, &cfg.outputs[0]);
	assert_true(id >= 0);
	assert_int_equal(stats_output_find(out_name, &serial), id);
	stats_output_set_server(id, serial, true, true, 3, NULL, 0);

	/* Not polled yet: the primary's count alone. */
	stats_snapshot(snap);
	assert_int_equal(snap->n_edges, 3);
	assert_string_equal(snap->edges[1].mount, "/live.ogg");
	assert_int_equal(snap->edges[0].listeners, -1);
	assert_int_equal(snap->outputs[0].edge_listeners, -1);
	assert_int_equal(snap->listeners, 3);

	/* 3 on the primary = 2 edges + 1 listener; 1 + 2 on the edges; 4 on
	 * a mount no output streams. */
	stats_edge_set(u1, true, true, 1);
	stats_edge_set(u2, true, true, 2);
	stats_edge_set(u3, true, true, 4);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].edge_listeners, 3);
	assert_int_equal(snap->listeners, 1 + 3 + 4);

	/* Edge 1 down: unknown, no relay connection to take off. */
	stats_edge_set(u1, false, false, 7);
	stats_output_set_server(id, serial, true, true, 2, NULL, 0);
	stats_snapshot(snap);
	assert_false(snap->edges[0].reachable);
	assert_int_equal(snap->edges[0].listeners, -1);
	assert_int_equal(snap->outputs[0].edge_listeners, 2);
	assert_int_equal(snap->listeners, 1 + 2 + 4);

	/* A reload that keeps a URL keeps its last poll. */
	cfg.status.listen_urls.item[0] = u2;
	cfg.status.listen_urls.n = 1;
	stats_configure(&cfg);
	stats_snapshot(snap);
	assert_int_equal(snap->n_edges, 1);
	assert_int_equal(snap->edges[0].listeners, 2);
	assert_int_equal(snap->listeners, 1 + 2);
	stats_output_unregister(id);
	free(snap);
}

/* Relay's own listen-back connection is not an audience: taken off the
 * output's and the station's listeners while it is up at the mount
 * itself, and only then (down, or listening at an edge or proxy). */
static void
test_listeners_without_listenback(void **state)
{
	static char enc_name[] = "main", out_name[] = "main",
		    host[] = "127.0.0.1", mount[] = "/live.ogg",
		    station[] = "x", empty[] = "";
	struct stats_snapshot *snap = calloc(1, sizeof(*snap));
	struct stats_listenback lb;
	struct config cfg;
	uint64_t serial;
	int id;

	(void)state;
	assert_non_null(snap);
	memset(&cfg, 0, sizeof(cfg));
	cfg.station.name = station;
	cfg.station.description = empty;
	cfg.station.url = empty;
	cfg.n_encodings = 1;
	cfg.encodings[0].name = enc_name;
	cfg.n_outputs = 1;
	cfg.outputs[0].name = out_name;
	cfg.outputs[0].type = OUTPUT_ICECAST;
	cfg.outputs[0].host = host;
	cfg.outputs[0].mount = mount;
	stats_configure(&cfg);
	id = stats_output_register(&cfg, &cfg.outputs[0]);
	assert_true(id >= 0);
	assert_int_equal(stats_output_find(out_name, &serial), id);
	memset(&lb, 0, sizeof(lb));
	lb.state = LISTENBACK_OK;
	lb.at_mount = true;
	lb.connected = true;
	stats_output_set_listenback(id, serial, &lb);
	/* A record for another output (a reload gave its slot to this one
	 * before its listener stopped) is dropped. */
	lb.state = LISTENBACK_FOREIGN;
	stats_output_set_listenback(id, serial + 1, &lb);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listenback.state, LISTENBACK_OK);
	lb.state = LISTENBACK_OK;

	/* Icecast says 1: that is us. */
	stats_output_set_server(id, serial, true, true, 1, NULL, 0);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 0);
	assert_int_equal(snap->outputs[0].listener_peak, 0);
	assert_int_equal(snap->listeners, 0);
	/* Us and two listeners. */
	stats_output_set_server(id, serial, true, true, 3, NULL, 0);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 2);
	assert_int_equal(snap->listeners, 2);
	/* Listen-back down: Icecast's count has no connection of ours. */
	lb.connected = false;
	stats_output_set_listenback(id, serial, &lb);
	stats_output_set_server(id, serial, true, true, 2, NULL, 0);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 2);
	/* Listening at an edge: the edge counts us, not this mount. */
	lb.connected = true;
	lb.at_mount = false;
	stats_output_set_listenback(id, serial, &lb);
	stats_output_set_server(id, serial, true, true, 2, NULL, 0);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 2);
	assert_int_equal(snap->listeners, 2);
	/* Never below zero (a poll answered just before we connected). */
	lb.at_mount = true;
	stats_output_set_listenback(id, serial, &lb);
	stats_output_set_server(id, serial, true, true, 0, NULL, 0);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 0);
	stats_output_unregister(id);
	free(snap);
}

/* An output stopped and started again by a reload (its mount changed)
 * under the same name, in the same slot: from its first snapshot it
 * shows no listen-back record, and the old output's listener, which runs
 * on until the reload's end, cannot write one on it (it showed the old
 * mount's "ok", URL and counts). Its own listener's records are taken. */
static void
test_restarted_output_listenback(void **state)
{
	static char enc_name[] = "main", out_name[] = "main",
		    host[] = "127.0.0.1", mount[] = "/live.ogg",
		    mount2[] = "/new.ogg", station[] = "x", empty[] = "";
	struct stats_snapshot *snap = calloc(1, sizeof(*snap));
	struct stats_listenback lb;
	struct config cfg;
	uint64_t old_serial, serial;
	int id;

	(void)state;
	assert_non_null(snap);
	memset(&cfg, 0, sizeof(cfg));
	cfg.station.name = station;
	cfg.station.description = empty;
	cfg.station.url = empty;
	cfg.n_encodings = 1;
	cfg.encodings[0].name = enc_name;
	cfg.n_outputs = 1;
	cfg.outputs[0].name = out_name;
	cfg.outputs[0].type = OUTPUT_ICECAST;
	cfg.outputs[0].host = host;
	cfg.outputs[0].mount = mount;
	stats_configure(&cfg);
	id = stats_output_register(&cfg, &cfg.outputs[0]);
	assert_true(id >= 0);
	assert_int_equal(stats_output_find(out_name, &old_serial), id);
	memset(&lb, 0, sizeof(lb));
	lb.state = LISTENBACK_OK;
	util_strlcpy(lb.url, "http://127.0.0.1/live.ogg", sizeof(lb.url));
	lb.connects = 3;
	stats_output_set_listenback(id, old_serial, &lb);

	/* The reload: stopped, started with another mount. */
	stats_output_unregister(id);
	cfg.outputs[0].mount = mount2;
	assert_int_equal(stats_output_register(&cfg, &cfg.outputs[0]), id);
	assert_int_equal(stats_output_find(out_name, &serial), id);
	assert_true(serial != old_serial);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listenback.state, LISTENBACK_OFF);
	assert_string_equal(snap->outputs[0].listenback.url, "");
	/* A poll of the old mount that was under way lands now: the
	 * old registration's view of the server is not the new one's. */
	stats_output_set_server(id, old_serial, true, true, 7, "Old title", 0);
	stats_output_set_cors(id, old_serial, "*");
	stats_snapshot(snap);
	assert_true(snap->outputs[0].serial == serial);
	assert_int_not_equal(snap->outputs[0].listeners, 7);
	assert_false(snap->outputs[0].mount_listed);
	assert_string_equal(snap->outputs[0].server_title, "");
	assert_false(snap->outputs[0].cors_known);
	/* The new registration's own poll is taken. */
	stats_output_set_server(id, serial, true, true, 2, "New title", 0);
	stats_output_set_cors(id, serial, "*");
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listeners, 2);
	assert_true(snap->outputs[0].mount_listed);
	assert_string_equal(snap->outputs[0].server_title, "New title");
	assert_true(snap->outputs[0].cors_known);
	/* The old listener, still running, publishes again. */
	stats_output_set_listenback(id, old_serial, &lb);
	stats_snapshot(snap);
	assert_string_equal(snap->outputs[0].mount, "/new.ogg");
	assert_int_equal(snap->outputs[0].listenback.state, LISTENBACK_OFF);
	assert_string_equal(snap->outputs[0].listenback.url, "");
	assert_int_equal(snap->outputs[0].listenback.connects, 0);
	/* The new listener's record is the one shown. */
	lb.state = LISTENBACK_CONNECTING;
	util_strlcpy(lb.url, "http://127.0.0.1/new.ogg", sizeof(lb.url));
	lb.connects = 0;
	stats_output_set_listenback(id, serial, &lb);
	stats_snapshot(snap);
	assert_int_equal(
	    snap->outputs[0].listenback.state, LISTENBACK_CONNECTING);
	assert_string_equal(
	    snap->outputs[0].listenback.url, "http://127.0.0.1/new.ogg");
	/* Registered again without a stop (no such path today): also a
	 * new registration, with no record. */
	assert_int_equal(stats_output_register(&cfg, &cfg.outputs[0]), id);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listenback.state, LISTENBACK_OFF);
	stats_output_set_listenback(id, serial, &lb);
	stats_snapshot(snap);
	assert_int_equal(snap->outputs[0].listenback.state, LISTENBACK_OFF);
	stats_output_unregister(id);
	free(snap);
}

/* The number of rings of the news bell since the last call (it is an
 * eventfd: reading takes its count back to zero). */
static uint64_t
rings(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

/* The news bell rings when what event streams push changes, and only
 * then: the planner re-publishing the same next[] every tick, the same
 * programme, an unchanged listener count leave it quiet. */
static void
test_news_bell(void **state)
{
	struct stats_programme p;
	struct stats_next next[1];
	int fd = stats_news_fd();

	(void)state;
	assert_true(fd >= 0);
	(void)rings(fd);
	memset(&p, 0, sizeof(p));
	memset(next, 0, sizeof(next));
	util_strlcpy(p.title, "Studio", sizeof(p.title));
	stats_programme_set_now(&p);
	(void)rings(fd);
	stats_programme_set_now(&p);
	assert_int_equal(rings(fd), 0);
	util_strlcpy(p.title, "Interview", sizeof(p.title));
	stats_programme_set_now(&p);
	assert_int_equal(rings(fd), 1);
	util_strlcpy(next[0].segment, "news", sizeof(next[0].segment));
	stats_programme_set_next(next, 1);
	stats_programme_set_next(next, 1);
	assert_int_equal(rings(fd), 1);
	stats_programme_set_next(next, 0);
	assert_int_equal(rings(fd), 1);
	stats_requests_set(NULL, 0);
	assert_int_equal(rings(fd), 0);
	stats_fallback_set(true, 5, "silence");
	stats_fallback_set(true, 5, "silence");
	assert_int_equal(rings(fd), 1);
	stats_fallback_set(false, 6, NULL);
	assert_int_equal(rings(fd), 1);
	/* Counters move the generation, never the bell. */
	stats_input_set_error(NULL);
	assert_int_equal(rings(fd), 0);
}

/* The history sampler's levels: the loudest block since its last call;
 * with none since, the last block's while it is under a second old (the
 * engine may take 0.37 s of audio in one wake-up), not -120. */
static void
test_levels_take_max(void **state)
{
	double peak, rms;
	struct stats_levels lv;

	(void)state;
	stats_input_set_levels(-20.0, -30.0, 0.0, 0.0);
	stats_input_set_levels(-10.0, -25.0, 0.0, 0.0);
	stats_input_set_levels(-15.0, -28.0, 0.5, 1.5);
	stats_levels_take_max(&peak, &rms);
	assert_true(peak == -10.0 && rms == -25.0);
	stats_levels_take_max(&peak, &rms);
	assert_true(peak == -15.0 && rms == -28.0);
	/* Both silence counts reach the readers (the page, listen-back). */
	stats_levels_get(&lv);
	assert_true(lv.silent_s == 0.5 && lv.quiet_s == 1.5);
}

/* The input ring's fill: the highest since start is kept, in seconds of
 * the ring's rate, beside its size. */
static void
test_input_buffer_peak(void **state)
{
	struct stats_snapshot *snap = calloc(1, sizeof(*snap));

	(void)state;
	assert_non_null(snap);
	stats_input_set_buffer(131072, 44100);
	stats_input_note_buffer_fill(4410);
	stats_input_note_buffer_fill(22050);
	stats_input_note_buffer_fill(2048);
	stats_snapshot(snap);
	assert_true(snap->input.buffer_s > 2.97 && snap->input.buffer_s < 2.98);
	assert_true(snap->input.buffer_peak_s == 0.5);
	assert_true(snap->input.buffer_peak_wall_ns > 0);
	free(snap);
}

/* When the peak was, and one warning when the fill first passes half of
 * the ring, written by the main thread's stats_input_log_buffer_half(),
 * not the input thread;
 * passing half again within a minute adds no line. */
static size_t
half_full_lines(void)
{
	struct log_event *evs = calloc(LOG_RECENT_EVENTS, sizeof(*evs));
	size_t n, i, found = 0;

	assert_non_null(evs);
	n = log_recent(evs, LOG_RECENT_EVENTS, NULL);
	for (i = 0; i < n; i++)
		if (strstr(evs[i].text, "input buffer passed half full") !=
		    NULL)
			found++;
	free(evs);
	return found;
}

static void
test_input_buffer_half(void **state)
{
	struct stats_snapshot *snap = calloc(1, sizeof(*snap));
	int64_t before, peak_at;

	(void)state;
	assert_non_null(snap);
	log_recent_clear();
	stats_input_set_buffer(131072, 44100);
	before = util_now_wall_ns();
	stats_input_note_buffer_fill(60000); /* under half */
	stats_snapshot(snap);
	stats_input_log_buffer_half();
	assert_int_equal(half_full_lines(), 0);
	stats_input_note_buffer_fill(70000);	/* past half: a new peak */
	assert_int_equal(half_full_lines(), 0); /* nothing logged yet */
	stats_snapshot(snap);
	stats_input_log_buffer_half();
	assert_int_equal(half_full_lines(), 1);
	peak_at = snap->input.buffer_peak_wall_ns;
	assert_true(peak_at >= before && peak_at <= util_now_wall_ns());
	assert_true(snap->input.buffer_peak_s > 1.58 &&
		    snap->input.buffer_peak_s < 1.59);
	stats_snapshot(snap);
	stats_input_log_buffer_half();
	assert_int_equal(half_full_lines(), 1);
	/* Down under a quarter and past half again: counted, but within
	 * the minute, so no second line; a lower fill keeps the peak's time. */
	stats_input_note_buffer_fill(1000);
	stats_input_note_buffer_fill(66000);
	stats_snapshot(snap);
	stats_input_log_buffer_half();
	assert_int_equal(half_full_lines(), 1);
	assert_true(snap->input.buffer_peak_wall_ns == peak_at);
	free(snap);
}

static void
test_programme_parts_are_separate(void **state)
{
	struct stats_programme now, got;
	struct stats_next next[2];

	(void)state;
	memset(&now, 0, sizeof(now));
	now.state = PROGRAMME_SEGMENT;
	strcpy(now.title, "News");
	strcpy(now.segment, "news");
	now.started_at_wall_ns = 100;
	now.n_next = 0; /* set_now must ignore next[] */
	stats_programme_set_now(&now);

	memset(next, 0, sizeof(next));
	strcpy(next[0].segment, "feature");
	next[0].starts_at_wall_ns = 200;
	strcpy(next[1].segment, "weather");
	stats_programme_set_next(next, 2);

	stats_programme_get(&got);
	assert_string_equal(got.title, "News");
	assert_string_equal(got.segment, "news");
	assert_int_equal(got.n_next, 2);
	assert_string_equal(got.next[0].segment, "feature");

	/* The engine's next update leaves the planner's list alone. */
	now.state = PROGRAMME_LIVE;
	strcpy(now.title, "Live");
	now.segment[0] = '\0';
	stats_programme_set_now(&now);
	stats_programme_get(&got);
	assert_int_equal(got.state, PROGRAMME_LIVE);
	assert_string_equal(got.title, "Live");
	assert_int_equal(got.n_next, 2);
	assert_string_equal(got.next[1].segment, "weather");

	/* And the planner's update leaves what is on air alone. */
	stats_programme_set_next(next, 1);
	stats_programme_get(&got);
	assert_string_equal(got.title, "Live");
	assert_int_equal(got.n_next, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_programme_parts_are_separate),
	    cmocka_unit_test(test_levels_take_max),
	    cmocka_unit_test(test_input_buffer_peak),
	    cmocka_unit_test(test_input_buffer_half),
	    cmocka_unit_test(test_listeners_across_edges),
	    cmocka_unit_test(test_listeners_without_listenback),
	    cmocka_unit_test(test_restarted_output_listenback),
	    cmocka_unit_test(test_news_bell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
