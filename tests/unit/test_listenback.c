/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for listenback.c's pure parts: OpusHead parsing, the packet log
 * (newest match, eviction when full, repeated packets), the packet hash, the
 * verdict (connecting, no audio, foreign, silent, ok, and their order),
 * whether the programme's silences explain the listeners' (a pause heard
 * a lag later, a mute that outlasts one, an old pause), and
 * listenback_mount_same() on reload-relevant changes.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "listenback.h"
#include "opus_header.h"

#define S NS_PER_SEC

/* OpusHead as relay's encoder writes it, and the ones listen-back must
 * not decode. */
static void
test_opus_head(void **state)
{
	unsigned char p[OPUS_HEADER_HEAD_BYTES + 4];
	struct listenback_opus_head h = {0};

	(void)state;
	assert_int_equal(opus_header_head(p, sizeof(p), 2, 3840, 44100),
	    OPUS_HEADER_HEAD_BYTES);
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), 0);
	assert_int_equal(h.channels, 2);
	assert_int_equal(h.preskip_frames, 3840);
	assert_int_equal(h.gain_q8, 0);
	/* Gain -3 dB (Q7.8, little-endian, signed). */
	p[16] = (unsigned char)(-768 & 0xff);
	p[17] = (unsigned char)((-768 >> 8) & 0xff);
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), 0);
	assert_int_equal(h.gain_q8, -768);
	/* Too short, not OpusHead, version 1.x. */
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES - 1, &h), -EINVAL);
	p[8] = 0x10;
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), -EINVAL);
	p[8] = 1;
	p[0] = 'X';
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), -EINVAL);
	p[0] = 'O';
	/* Mapping family 1 or a third channel: counted, not decoded. */
	p[18] = 1;
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), -ENOTSUP);
	p[18] = 0;
	p[9] = 3;
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), -ENOTSUP);
	p[9] = 1;
	assert_int_equal(
	    listenback_opus_head(p, OPUS_HEADER_HEAD_BYTES, &h), 0);
	assert_int_equal(h.channels, 1);
}

static void
test_log_find(void **state)
{
	struct listenback_log *l = calloc(1, sizeof(*l));
	bool repeated = true;

	(void)state;
	assert_non_null(l);
	assert_int_equal(listenback_log_find(l, 42, NULL), -1);
	listenback_log_add(l, 1, 100);
	listenback_log_add(l, 2, 200);
	listenback_log_add(l, 3, 300);
	assert_int_equal(listenback_log_find(l, 2, &repeated), 200);
	assert_false(repeated);
	assert_int_equal(listenback_log_find(l, 1, &repeated), 100);
	assert_false(repeated); /* the oldest has no predecessor */
	assert_int_equal(listenback_log_find(l, 4, NULL), -1);
	/* The same packet twice (digital silence): the newest, repeated. */
	listenback_log_add(l, 3, 400);
	assert_int_equal(listenback_log_find(l, 3, &repeated), 400);
	assert_true(repeated);
	free(l);
}

static void
test_log_wraps(void **state)
{
	struct listenback_log *l = calloc(1, sizeof(*l));
	uint64_t i;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < LISTENBACK_LOG_PACKETS + 10; i++)
		listenback_log_add(l, 1000 + i, (int64_t)i);
	assert_int_equal(l->n, LISTENBACK_LOG_PACKETS);
	/* The first ten were overwritten; the next and the last are held. */
	assert_int_equal(listenback_log_find(l, 1000 + 9, NULL), -1);
	assert_int_equal(listenback_log_find(l, 1000 + 10, NULL), 10);
	assert_int_equal(
	    listenback_log_find(l, 1000 + LISTENBACK_LOG_PACKETS + 9, NULL),
	    LISTENBACK_LOG_PACKETS + 9);
	free(l);
}

static void
test_hash(void **state)
{
	const unsigned char a[] = {1, 2, 3, 0}, b[] = {1, 2, 3, 1};

	(void)state;
	assert_true(
	    listenback_packet_hash(a, 4) == listenback_packet_hash(a, 4));
	assert_true(
	    listenback_packet_hash(a, 4) != listenback_packet_hash(b, 4));
	/* The length counts: a prefix is another packet. */
	assert_true(
	    listenback_packet_hash(a, 3) != listenback_packet_hash(a, 4));
}

static void
test_judge(void **state)
{
	struct listenback_obs o;
	int64_t t0 = 1000 * S, timeout = 5 * S;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.started_mono_ns = t0;
	/* Nothing heard yet: connecting, until the timeout says no audio. */
	assert_int_equal(
	    listenback_judge(&o, t0 + S, timeout), LISTENBACK_CONNECTING);
	assert_int_equal(
	    listenback_judge(&o, t0 + timeout, timeout), LISTENBACK_NO_AUDIO);
	/* Audio, but none of ours yet: still connecting (the burst may hold
	 * pages from before relay started). */
	o.last_audio_mono_ns = t0 + 2 * S;
	o.unmatched_pages = LISTENBACK_FOREIGN_PAGES - 1;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_CONNECTING);
	o.unmatched_pages = LISTENBACK_FOREIGN_PAGES;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_FOREIGN);
	/* Foreign even after ours was heard once. */
	o.matched_once = true;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_FOREIGN);
	o.unmatched_pages = 0;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_OK);
	/* Silence the programme does not explain: a mute between relay and
	 * the listeners, flagged after LISTENBACK_SILENT_UNEXPLAINED_S. */
	o.dead_air_s = 10.0;
	o.silent_s = LISTENBACK_SILENT_UNEXPLAINED_S - 0.1;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_OK);
	o.silent_s = LISTENBACK_SILENT_UNEXPLAINED_S;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_SILENT);
	/* The programme's own pause: not dead air until the station's
	 * dead-air time ([fallback] after). */
	o.programme_silent = true;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_OK);
	o.silent_s = 9.9;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_OK);
	o.silent_s = 10.0;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_SILENT);
	/* A dead-air time shorter than the unexplained bound: it, for
	 * both. */
	o.dead_air_s = 3.0;
	o.silent_s = 3.0;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_SILENT);
	o.programme_silent = false;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_SILENT);
	o.silent_s = 2.9;
	assert_int_equal(
	    listenback_judge(&o, t0 + 3 * S, timeout), LISTENBACK_OK);
	o.silent_s = 10.0;
	/* No audio beats everything else: a frozen server. */
	assert_int_equal(listenback_judge(&o, t0 + 2 * S + timeout, timeout),
	    LISTENBACK_NO_AUDIO);
	o.unmatched_pages = LISTENBACK_FOREIGN_PAGES;
	assert_int_equal(listenback_judge(&o, t0 + 2 * S + timeout, timeout),
	    LISTENBACK_NO_AUDIO);
}

/* Samples a programme silent over [from, to) every 0.2 s from start to
 * end (seconds), and asks at each step whether listeners lag seconds
 * behind hear a silence it explains, as long as they hear it: all of it
 * must be explained (want) or, from the first step that is not, none. */
static bool
pause_heard(struct listenback_quiet *q, double from, double to,
    double start, double end, double lag, int64_t lag_ns,
    double *unexplained_at)
{
	double t, heard;
	bool all = true;

	*unexplained_at = -1;
	for (t = start; t < end; t += 0.2) {
		int64_t now = (int64_t)(t * 1e9);

		listenback_quiet_sample(
		    q, t >= from && t < to ? t - from : 0.0, now);
		heard = t - lag >= from && t - lag < to ? t - lag - from : 0.0;
		if (heard > 0 &&
		    !listenback_quiet_explains(q, heard, now, lag_ns)) {
			if (all)
				*unexplained_at = t;
			all = false;
		}
	}
	return all;
}

static void
test_quiet_explains(void **state)
{
	struct listenback_quiet q;
	double at;

	(void)state;
	/* A 7 s pause of the programme, heard 1.5 s later: the programme's
	 * own all along, with the lag measured or not. */
	memset(&q, 0, sizeof(q));
	assert_true(pause_heard(&q, 100, 107, 90, 115, 1.5, 1500 * NS_PER_MS, &at));
	memset(&q, 0, sizeof(q));
	assert_true(pause_heard(&q, 100, 107, 90, 115, 1.5, -1, &at));
	/* Heard 4 s later (an edge server), lag measured. */
	memset(&q, 0, sizeof(q));
	assert_true(pause_heard(&q, 100, 107, 90, 115, 4.0, 4 * S, &at));
	/* Listeners' silence with a programme that never was: unexplained
	 * from the start. */
	memset(&q, 0, sizeof(q));
	listenback_quiet_sample(&q, 0.0, 100 * S);
	assert_false(listenback_quiet_explains(&q, 0.5, 101 * S, S));
	assert_false(listenback_quiet_explains(&q, 5.0, 105 * S, S));
	/* Listeners' silence that outlasts the programme's 3 s pause (a
	 * mute began as it ended): unexplained once it is longer than the
	 * pause and the slack. */
	memset(&q, 0, sizeof(q));
	listenback_quiet_sample(&q, 0.0, 99 * S);
	listenback_quiet_sample(&q, 1.0, 101 * S);
	listenback_quiet_sample(&q, 3.0, 103 * S);
	listenback_quiet_sample(&q, 0.0, 103 * S + 200 * NS_PER_MS);
	assert_true(listenback_quiet_explains(&q, 3.0, 104 * S, S));
	assert_true(listenback_quiet_explains(&q, 3.9, 104 * S, S));
	assert_false(listenback_quiet_explains(&q, 4.5, 104 * S, S));
	/* A 7 s pause that ended 20 s ago explains no new silence. */
	memset(&q, 0, sizeof(q));
	listenback_quiet_sample(&q, 6.8, 100 * S);
	listenback_quiet_sample(&q, 0.0, 100 * S + 200 * NS_PER_MS);
	assert_true(listenback_quiet_explains(&q, 6.0, 101 * S, S));
	assert_false(listenback_quiet_explains(&q, 6.0, 120 * S, S));
	/* Sound between two samples splits the silence in two: a 2 s one
	 * and, 0.1 s after the last sample, a new one; neither explains 5 s
	 * of silence at the listener. */
	memset(&q, 0, sizeof(q));
	listenback_quiet_sample(&q, 2.0, 100 * S);
	listenback_quiet_sample(&q, 0.1, 100 * S + 200 * NS_PER_MS);
	assert_int_equal(q.n, 2);
	assert_true(q.open);
	assert_false(listenback_quiet_explains(
	    &q, 5.0, 100 * S + 200 * NS_PER_MS, S));
	/* A long silence sampled many times stays one run. */
	memset(&q, 0, sizeof(q));
	assert_true(pause_heard(&q, 100, 130, 99, 135, 1.0, S, &at));
	assert_int_equal(q.n, 1);
	assert_false(q.open);
}

static void
test_state_names(void **state)
{
	struct stats_listenback lb;

	(void)state;
	memset(&lb, 0, sizeof(lb));
	assert_string_equal(stats_listenback_state_name(LISTENBACK_OFF), "off");
	assert_string_equal(
	    stats_listenback_state_name(LISTENBACK_NO_AUDIO), "no_audio");
	assert_string_equal(
	    stats_listenback_state_name(LISTENBACK_FOREIGN), "foreign");
	assert_false(stats_listenback_flagged(&lb));
	lb.state = LISTENBACK_CONNECTING;
	assert_false(stats_listenback_flagged(&lb));
	lb.state = LISTENBACK_OK;
	assert_false(stats_listenback_flagged(&lb));
	lb.state = LISTENBACK_SILENT;
	assert_true(stats_listenback_flagged(&lb));
}

static void
test_mount_same(void **state)
{
	struct config a, b;
	struct output_config *x = &a.outputs[0], *y = &b.outputs[0];
	char name[] = "main", other[] = "other", host[] = "127.0.0.1";
	char mount[] = "/live.ogg", url[] = "http://cdn.example/live.ogg";

	(void)state;
	memset(&a, 0, sizeof(a));
	a.n_outputs = 1;
	x->type = OUTPUT_ICECAST;
	x->name = name;
	x->host = host;
	x->mount = mount;
	x->port = 8000;
	x->listenback_timeout_ns = 5 * S;
	a.input.silence_threshold_dbfs = -50;
	b = a;
	/* Without listen-back there is no listener to keep. */
	assert_false(listenback_mount_same(&a, x, &b, y));
	x->listenback = true;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->listenback = true;
	assert_true(listenback_mount_same(&a, x, &b, y));
	/* What the output's other settings or other outputs do is not
	 * asked: the caller knows whether the output kept streaming. */
	b.n_outputs = 2;
	b.outputs[1].type = OUTPUT_FILE;
	b.outputs[1].keep_ns = 48 * 3600 * S;
	y->password = name;
	y->stall_timeout_ns = 20 * S;
	assert_true(listenback_mount_same(&a, x, &b, y));
	y->port = 8001;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->port = 8000;
	y->name = other;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->name = name;
	y->listenback_url = url;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->listenback_url = NULL;
	y->listenback_timeout_ns = 2 * S;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->listenback_timeout_ns = 5 * S;
	y->tls = true;
	assert_false(listenback_mount_same(&a, x, &b, y));
	y->tls = false;
	b.input.silence_threshold_dbfs = -60;
	assert_false(listenback_mount_same(&a, x, &b, y));
	b.input.silence_threshold_dbfs = -50;
	assert_true(listenback_mount_same(&a, x, &b, y));
	/* The threshold is the station's dead-air one: [fallback]'s when
	 * that section is there (its default: the input's); its time is
	 * taken on the fly. */
	b.fallback.enabled = true;
	b.fallback.threshold_dbfs = -50;
	b.fallback.after_ns = 3 * S;
	assert_true(listenback_mount_same(&a, x, &b, y));
	b.fallback.threshold_dbfs = -40;
	assert_false(listenback_mount_same(&a, x, &b, y));
	assert_int_equal(config_dead_air_ns(&a), CONFIG_DEAD_AIR_DEFAULT_NS);
	assert_int_equal(config_dead_air_ns(&b), 3 * S);
	assert_true(config_dead_air_threshold_dbfs(&a) == -50);
	assert_true(config_dead_air_threshold_dbfs(&b) == -40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opus_head),
	    cmocka_unit_test(test_log_find),
	    cmocka_unit_test(test_log_wraps),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_judge),
	    cmocka_unit_test(test_quiet_explains),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_mount_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
