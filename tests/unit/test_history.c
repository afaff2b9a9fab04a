/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of history.c, with the clock injected: per-minute output
 * health and listeners (most listeners, share connected, reconnects and
 * dropped bytes as differences of the counters, worst lag, null for a
 * minute an output was not sampled), the rings' bounds (1440 minutes, 600
 * seconds, HISTORY_EVENTS events: the oldest overwritten), the loudest
 * level per second, programme events (a change of what is on air and a
 * programme error, each recorded once), and output tracks reused once
 * every one is taken.
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>

#include "history.h"
#include "log.h"
#include "util.h"

#define T0_WALL (INT64_C(1800000000) * NS_PER_SEC)
#define T0_MONO (INT64_C(1000) * NS_PER_SEC)

static struct stats_snapshot *
snap_new(size_t n_outputs)
{
	struct stats_snapshot *s = calloc(1, sizeof(*s));
	size_t i;

	assert_non_null(s);
	s->n_outputs = n_outputs;
	for (i = 0; i < n_outputs; i++) {
		snprintf(s->outputs[i].name, sizeof(s->outputs[i].name),
		    "out%zu", i);
		s->outputs[i].listeners = -1;
		s->outputs[i].lag_ms = -1;
	}
	util_strlcpy(s->programme.title, "Live", sizeof(s->programme.title));
	util_strlcpy(s->programme.source, "live", sizeof(s->programme.source));
	s->programme.started_at_wall_ns = T0_WALL;
	return s;
}

static cJSON *
doc(struct history *h)
{
	char *text = history_json(h, false);
	cJSON *root;

	assert_non_null(text);
	root = cJSON_Parse(text);
	free(text);
	assert_non_null(root);
	return root;
}

static cJSON *
path(cJSON *root, const char *a, const char *b)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(root, a);

	assert_non_null(o);
	if (b != NULL) {
		o = cJSON_GetObjectItemCaseSensitive(o, b);
		assert_non_null(o);
	}
	return o;
}

/* outputs[k][key][i] as a number; -1 for null. */
static double
point(cJSON *root, int k, const char *key, int i)
{
	cJSON *o = cJSON_GetArrayItem(path(root, "minutes", "outputs"), k);
	cJSON *v;

	assert_non_null(o);
	v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, key), i);
	assert_non_null(v);
	return cJSON_IsNull(v) ? -1.0 : v->valuedouble;
}

static void
sample(struct history *h, struct stats_snapshot *s, int64_t t_ns)
{
	history_sample(h, s, -120.0, -120.0, T0_MONO + t_ns, T0_WALL + t_ns);
}

static void
test_empty(void **state)
{
	struct history *h = history_new(0);
	cJSON *root;

	(void)state;
	assert_non_null(h);
	assert_true(history_bytes(h) > HISTORY_MINUTES * HISTORY_OUTPUTS * 20);
	root = doc(h);
	assert_int_equal(path(root, "minute_s", NULL)->valuedouble, 60);
	assert_int_equal(cJSON_GetArraySize(path(root, "minutes", "start")), 0);
	assert_int_equal(
	    cJSON_GetArraySize(path(root, "minutes", "outputs")), 0);
	assert_int_equal(cJSON_GetArraySize(path(root, "seconds", "start")), 0);
	assert_int_equal(cJSON_GetArraySize(path(root, "events", NULL)), 0);
	assert_non_null(path(root, "log", "events"));
	cJSON_Delete(root);
	history_free(h);
	history_free(NULL);
}

static void
test_minutes(void **state)
{
	struct history *h = history_new(60 * NS_PER_SEC);
	struct stats_snapshot *s = snap_new(2);
	cJSON *root;
	int t;

	(void)state;
	/* Minute 0: out0 connected half the time, listeners 2 then 5 then
	 * 3, two reconnects and 1000 dropped bytes, lag up to 250 ms. */
	s->outputs[0].reconnects = 7;
	s->outputs[0].dropped_bytes = 100;
	for (t = 0; t < 60; t += 15) {
		s->outputs[0].connected = t >= 30;
		s->outputs[0].listeners = t == 15 ? 5 : t == 30 ? 3 : 2;
		s->outputs[0].lag_ms = t == 30 ? 250 : 40;
		if (t == 45) {
			s->outputs[0].reconnects = 9;
			s->outputs[0].dropped_bytes = 1100;
		}
		sample(h, s, (int64_t)t * NS_PER_SEC);
	}
	/* Minute 1: out1 is gone (a reload removed it). */
	s->n_outputs = 1;
	sample(h, s, 61 * NS_PER_SEC);
	root = doc(h);
	assert_int_equal(cJSON_GetArraySize(path(root, "minutes", "start")), 2);
	assert_true(cJSON_GetArrayItem(path(root, "minutes", "start"), 1)
			->valuedouble == 1800000060.0);
	assert_true(point(root, 0, "listeners", 0) == 5);
	assert_true(point(root, 0, "connected", 0) == 0.5);
	assert_true(point(root, 0, "reconnects", 0) == 2);
	assert_true(point(root, 0, "dropped_bytes", 0) == 1000);
	assert_true(point(root, 0, "lag_ms", 0) == 250);
	assert_true(point(root, 0, "reconnects", 1) == 0);
	assert_true(point(root, 0, "connected", 1) == 1);
	/* out1: sampled in minute 0 (never connected, listeners unknown),
	 * not in minute 1. */
	assert_true(point(root, 1, "connected", 0) == 0);
	assert_true(point(root, 1, "listeners", 0) == -1);
	assert_true(point(root, 1, "connected", 1) == -1);
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

/* start[i] as a number. */
static double
start_at(cJSON *root, const char *ring, int i)
{
	cJSON *v = cJSON_GetArrayItem(path(root, ring, "start"), i);

	assert_non_null(v);
	return v->valuedouble;
}

/* Slots follow the wall clock's minutes and seconds, not relay's start:
 * started at :23, the first minute is partial (:23 to :00) and labelled
 * with its minute, the next begins at :00. A label of 10:41 used to cover
 * 10:41:23-10:42:23. A wall clock a little behind the monotonic one at a
 * boundary still opens the next minute, never the same one twice. */
static void
test_slots_on_the_clock(void **state)
{
	struct history *h = history_new(60 * NS_PER_SEC);
	struct stats_snapshot *s = snap_new(1);
	cJSON *root;
	int64_t t, late = 0;

	(void)state;
	/* From :23.4 to 2:03.4, a sample a second; listeners = the second. */
	for (t = 23400; t <= 123400; t += 1000) {
		s->outputs[0].listeners = t / 1000;
		/* Around 2:00 the wall clock runs 150 ms behind. */
		late = t >= 110000 ? 150 * NS_PER_MS : 0;
		history_sample(h, s, -120.0, -120.0, T0_MONO + t * NS_PER_MS,
		    T0_WALL + t * NS_PER_MS - late);
	}
	root = doc(h);
	assert_int_equal(cJSON_GetArraySize(path(root, "minutes", "start")), 3);
	assert_true(start_at(root, "minutes", 0) == 1800000000.0);
	assert_true(start_at(root, "minutes", 1) == 1800000060.0);
	assert_true(start_at(root, "minutes", 2) == 1800000120.0);
	/* :23 to :59 in the first, 1:00 to 1:59 in the second. */
	assert_true(point(root, 0, "listeners", 0) == 59);
	assert_true(point(root, 0, "listeners", 1) == 119);
	assert_true(point(root, 0, "listeners", 2) == 123);
	/* Seconds: :23.4 is in the :23 slot, :24.4 in the :24 one. */
	assert_int_equal(
	    cJSON_GetArraySize(path(root, "seconds", "start")), 101);
	assert_true(start_at(root, "seconds", 0) == 1800000023.0);
	assert_true(start_at(root, "seconds", 1) == 1800000024.0);
	cJSON_Delete(root);
	history_free(h);

	/* Seconds on their own: .4 then 1.0 are two seconds. */
	h = history_new(60 * NS_PER_SEC);
	history_sample(h, s, -10.0, -20.0, T0_MONO + 400 * NS_PER_MS,
	    T0_WALL + 400 * NS_PER_MS);
	history_sample(
	    h, s, -30.0, -40.0, T0_MONO + NS_PER_SEC, T0_WALL + NS_PER_SEC);
	root = doc(h);
	assert_int_equal(cJSON_GetArraySize(path(root, "seconds", "start")), 2);
	assert_true(start_at(root, "seconds", 0) == 1800000000.0);
	assert_true(start_at(root, "seconds", 1) == 1800000001.0);
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

static void
test_rings_bounded(void **state)
{
	struct history *h = history_new(60 * NS_PER_SEC);
	struct stats_snapshot *s = snap_new(1);
	cJSON *root, *start;
	int64_t m;

	(void)state;
	/* 1500 minutes of one sample each: the first 60 are gone. */
	for (m = 0; m < 1500; m++) {
		s->outputs[0].listeners = m;
		sample(h, s, m * 60 * NS_PER_SEC);
	}
	root = doc(h);
	start = path(root, "minutes", "start");
	assert_int_equal(cJSON_GetArraySize(start), HISTORY_MINUTES);
	assert_true(cJSON_GetArrayItem(start, 0)->valuedouble ==
		    1800000000.0 + 60 * 60);
	assert_true(point(root, 0, "listeners", 0) == 60);
	assert_true(point(root, 0, "listeners", HISTORY_MINUTES - 1) == 1499);
	/* One second slot per sample too: 600 kept. */
	assert_int_equal(cJSON_GetArraySize(path(root, "seconds", "start")),
	    HISTORY_SECONDS);
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

static void
test_levels_per_second(void **state)
{
	struct history *h = history_new(0);
	struct stats_snapshot *s = snap_new(0);
	cJSON *root, *peak, *rms;

	(void)state;
	history_sample(h, s, -20.0, -25.0, T0_MONO, T0_WALL);
	history_sample(h, s, -6.5, -30.0, T0_MONO + NS_PER_SEC / 2,
	    T0_WALL + NS_PER_SEC / 2);
	history_sample(
	    h, s, -120.0, -120.0, T0_MONO + NS_PER_SEC, T0_WALL + NS_PER_SEC);
	root = doc(h);
	peak = path(root, "seconds", "peak_dbfs");
	rms = path(root, "seconds", "rms_dbfs");
	assert_int_equal(cJSON_GetArraySize(peak), 2);
	assert_true(cJSON_GetArrayItem(peak, 0)->valuedouble == -6.5);
	assert_true(cJSON_GetArrayItem(rms, 0)->valuedouble == -25.0);
	assert_true(cJSON_GetArrayItem(peak, 1)->valuedouble == -120.0);
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

static void
test_events(void **state)
{
	struct history *h = history_new(0);
	struct stats_snapshot *s = snap_new(0);
	cJSON *root, *ev, *e;
	int i;

	(void)state;
	sample(h, s, 0);
	sample(h, s, NS_PER_SEC); /* nothing changed: no event */
	util_strlcpy(
	    s->programme.segment, "news", sizeof(s->programme.segment));
	util_strlcpy(s->programme.title, "News", sizeof(s->programme.title));
	s->programme.started_at_wall_ns = T0_WALL + 2 * NS_PER_SEC;
	s->programme_error.at_wall_ns = T0_WALL + 2 * NS_PER_SEC;
	util_strlcpy(s->programme_error.segment, "jingle",
	    sizeof(s->programme_error.segment));
	util_strlcpy(s->programme_error.text, "jingle.ogg: no such file",
	    sizeof(s->programme_error.text));
	sample(h, s, 2 * NS_PER_SEC);
	sample(h, s, 3 * NS_PER_SEC);
	root = doc(h);
	ev = path(root, "events", NULL);
	assert_int_equal(cJSON_GetArraySize(ev), 3);
	e = cJSON_GetArrayItem(ev, 0);
	assert_string_equal(
	    cJSON_GetObjectItem(e, "kind")->valuestring, "on_air");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "segment")));
	e = cJSON_GetArrayItem(ev, 1);
	assert_string_equal(
	    cJSON_GetObjectItem(e, "segment")->valuestring, "news");
	e = cJSON_GetArrayItem(ev, 2);
	assert_string_equal(
	    cJSON_GetObjectItem(e, "kind")->valuestring, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "text")->valuestring,
	    "jingle.ogg: no such file");
	cJSON_Delete(root);
	/* Bounded: the oldest events make room. */
	for (i = 0; i < HISTORY_EVENTS + 5; i++) {
		s->programme.started_at_wall_ns =
		    T0_WALL + (10 + i) * NS_PER_SEC;
		sample(h, s, (10 + i) * NS_PER_SEC);
	}
	root = doc(h);
	ev = path(root, "events", NULL);
	assert_int_equal(cJSON_GetArraySize(ev), HISTORY_EVENTS);
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetArrayItem(ev, HISTORY_EVENTS - 1), "at")
		->valuestring,
	    "2027-01-15T08:02:22.000Z");
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

/* The ISO time of events[i].at. */
static const char *
event_at(cJSON *root, int i)
{
	cJSON *e = cJSON_GetArrayItem(path(root, "events", NULL), i);

	assert_non_null(e);
	return cJSON_GetObjectItem(e, "at")->valuestring;
}

/* A new title while live plays is an event stamped when that title went
 * on air (title_at), not when live began; a publisher that gives no
 * title_at gets the sample's time. */
static void
test_title_change_stamped(void **state)
{
	struct history *h = history_new(0);
	struct stats_snapshot *s = snap_new(0);
	cJSON *root;

	(void)state;
	s->programme.title_at_wall_ns = T0_WALL;
	sample(h, s, 0);
	util_strlcpy(
	    s->programme.title, "Interview", sizeof(s->programme.title));
	s->programme.title_at_wall_ns = T0_WALL + 30 * NS_PER_SEC;
	sample(h, s, 30 * NS_PER_SEC + 400 * NS_PER_MS);
	util_strlcpy(s->programme.title, "Weather", sizeof(s->programme.title));
	s->programme.title_at_wall_ns = 0;
	sample(h, s, 47 * NS_PER_SEC);
	root = doc(h);
	assert_int_equal(cJSON_GetArraySize(path(root, "events", NULL)), 3);
	assert_string_equal(event_at(root, 0), "2027-01-15T08:00:00.000Z");
	assert_string_equal(event_at(root, 1), "2027-01-15T08:00:30.000Z");
	assert_string_equal(event_at(root, 2), "2027-01-15T08:00:47.000Z");
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetArrayItem(path(root, "events", NULL), 1), "title")
		->valuestring,
	    "Interview");
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

/* The log ring's events carry milliseconds, like the log lines: two
 * warnings within one second keep their order and spacing. */
static void
test_log_times_ms(void **state)
{
	struct history *h = history_new(0);
	cJSON *root, *evs, *e;
	const char *at;
	size_t n;

	(void)state;
	log_warn("test", "a warning to be served with milliseconds");
	root = doc(h);
	evs = path(root, "log", "events");
	assert_true(cJSON_GetArraySize(evs) >= 1);
	e = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
	at = cJSON_GetObjectItem(e, "at")->valuestring;
	n = strlen(at);
	/* 2026-11-30T06:05:01.250Z */
	assert_int_equal(n, 24);
	assert_true(at[19] == '.' && at[23] == 'Z');
	assert_true(strspn(at + 20, "0123456789") == 3);
	cJSON_Delete(root);
	history_free(h);
}

static void
test_tracks_reused(void **state)
{
	struct history *h = history_new(0);
	struct stats_snapshot *s = snap_new(HISTORY_OUTPUTS);
	cJSON *root, *outs, *o;
	int i;

	(void)state;
	sample(h, s, 0);
	/* A reload renames out0: its track goes to the new name, whose
	 * earlier minutes are empty. */
	util_strlcpy(s->outputs[0].name, "fresh", sizeof(s->outputs[0].name));
	s->outputs[0].connected = true;
	sample(h, s, 60 * NS_PER_SEC);
	root = doc(h);
	outs = path(root, "minutes", "outputs");
	assert_int_equal(cJSON_GetArraySize(outs), HISTORY_OUTPUTS);
	for (i = 0; i < HISTORY_OUTPUTS; i++) {
		o = cJSON_GetArrayItem(outs, i);
		assert_string_not_equal(
		    cJSON_GetObjectItem(o, "name")->valuestring, "out0");
		if (strcmp(cJSON_GetObjectItem(o, "name")->valuestring,
			"fresh") == 0) {
			assert_true(point(root, i, "connected", 0) == -1);
			assert_true(point(root, i, "connected", 1) == 1);
		}
	}
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

/* Every track full for 24 h: the answer stays valid JSON and well under
 * a megabyte (numbers are written as text, not as cJSON nodes). */
static void
test_full_answer(void **state)
{
	struct history *h = history_new(60 * NS_PER_SEC);
	struct stats_snapshot *s = snap_new(HISTORY_OUTPUTS);
	cJSON *root;
	char *text;
	int64_t m;
	size_t i;

	(void)state;
	for (m = 0; m < HISTORY_MINUTES; m++) {
		for (i = 0; i < HISTORY_OUTPUTS; i++) {
			s->outputs[i].listeners = 1000 + m;
			s->outputs[i].lag_ms = 1234;
			s->outputs[i].connected = (m % 3) != 0;
			s->outputs[i].reconnects += 1;
		}
		sample(h, s, m * 60 * NS_PER_SEC);
	}
	text = history_json(h, true);
	assert_non_null(text);
	assert_true(strlen(text) < 1024 * 1024);
	root = cJSON_Parse(text);
	free(text);
	assert_non_null(root);
	assert_int_equal(cJSON_GetArraySize(path(root, "minutes", "outputs")),
	    HISTORY_OUTPUTS);
	assert_true(point(root, HISTORY_OUTPUTS - 1, "listeners",
			HISTORY_MINUTES - 1) == 1000 + HISTORY_MINUTES - 1);
	assert_true(point(root, 3, "reconnects", 5) == 1);
	assert_true(point(root, 3, "connected", 3) == 0);
	assert_true(point(root, 3, "connected", 4) == 1);
	cJSON_Delete(root);
	free(s);
	history_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_minutes),
	    cmocka_unit_test(test_rings_bounded),
	    cmocka_unit_test(test_slots_on_the_clock),
	    cmocka_unit_test(test_levels_per_second),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_title_change_stamped),
	    cmocka_unit_test(test_log_times_ms),
	    cmocka_unit_test(test_tracks_reused),
	    cmocka_unit_test(test_full_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
