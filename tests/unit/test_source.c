/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for source: file sources deliver exactly the file (after an
 * optional skip) and then end; playlists from a directory and from an
 * .m3u play their files back to back in order (each file a distinct DC
 * level, so the boundaries show in the samples) and loop; shuffle plays
 * each file once per pass; tone and silence are what they claim. Stream
 * sources are fed by a small HTTP server thread on 127.0.0.1 that serves
 * Ogg Vorbis made here with libvorbisenc: audio arrives (also across a
 * chained link at another rate), and a 404, a refused connection, HTML, a
 * cut or stalled feed each give the right state and message; source_close()
 * is quick while the feed connects or says nothing.
 *
 * Threads: the test thread reads the sources; each source has its feeder
 * thread and each stream test a server thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ogg/ogg.h>
#include <sndfile.h>
#include <vorbis/vorbisenc.h>

#include "schedule.h"
#include "test_tmpdir.h"
#include "source.h"
#include "util.h"

#define TWO_PI 6.283185307179586
#define RATE 48000

static char tmpdir[256];

/* ------------------------------------------------------------------ */
/* Helpers: files, reading, analysis                                   */
/* ------------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	test_tmpdir_template(tmpdir, sizeof(tmpdir), "test_source");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes a mono float WAV. With ramp, sample i is i / 16384 (exact in
 * float, so every frame can be identified); otherwise every sample is
 * level (a DC file). */
static void
write_wav(const char *path, int rate_hz, size_t frames, bool ramp, float level)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf;
	size_t i;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate_hz;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	buf = calloc(frames + 1, sizeof(float));
	assert_non_null(buf);
	for (i = 0; i < frames; i++)
		buf[i] = ramp ? (float)i / 16384.0f : level;
	assert_int_equal(
	    sf_writef_float(sf, buf, (sf_count_t)frames), (sf_count_t)frames);
	assert_int_equal(sf_close(sf), 0);
	free(buf);
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Reads s into buf (cap frames) in odd-sized pieces until cap frames came,
 * the source ended or failed, or timeout_ms passed. Returns the count. */
static size_t
read_frames(
    struct source *s, float *buf, size_t cap, int channels, int timeout_ms)
{
	int64_t deadline_ns = util_now_mono_ns() + timeout_ms * NS_PER_MS;
	enum source_state st;
	size_t n = 0, got, want;

	while (n < cap) {
		want = cap - n < 777 ? cap - n : 777;
		got = source_read(s, buf + n * (size_t)channels, want);
		assert_true(got <= want);
		n += got;
		if (got > 0)
			continue;
		st = source_state(s);
		if (st == SOURCE_ENDED || st == SOURCE_FAILED)
			break;
		if (util_now_mono_ns() > deadline_ns)
			break;
		util_sleep_ns(NS_PER_MS);
	}
	return n;
}

/* Waits until the source is in state want; fails the test otherwise. */
static void
wait_state(struct source *s, enum source_state want, int timeout_ms)
{
	int64_t deadline_ns = util_now_mono_ns() + timeout_ms * NS_PER_MS;

	while (source_state(s) != want && util_now_mono_ns() < deadline_ns)
		util_sleep_ns(5 * NS_PER_MS);
	assert_int_equal(source_state(s), want);
}

struct run {
	float level;
	size_t frames;
};

/* Splits channel 0 into runs of equal samples; checks every frame's
 * channels agree. Returns the number of runs (at most max). */
static size_t
runs_of(
    const float *x, size_t frames, int channels, struct run *runs, size_t max)
{
	size_t i, n = 0;
	int c;

	for (i = 0; i < frames; i++) {
		for (c = 1; c < channels; c++)
			assert_true(x[i * (size_t)channels + (size_t)c] ==
				    x[i * (size_t)channels]);
		if (n > 0 && runs[n - 1].level == x[i * (size_t)channels]) {
			runs[n - 1].frames++;
			continue;
		}
		assert_true(n < max);
		runs[n].level = x[i * (size_t)channels];
		runs[n].frames = 1;
		n++;
	}
	return n;
}

/* Goertzel power of channel 0 at freq_hz over n frames. */
static double
power_at(const float *x, int channels, size_t n, int rate_hz, double freq_hz)
{
	double w = TWO_PI * freq_hz / rate_hz, k = 2.0 * cos(w);
	double s0, s1 = 0.0, s2 = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		s0 = (double)x[i * (size_t)channels] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - k * s1 * s2;
}

static float
peak_of(const float *x, int channels, size_t n)
{
	float peak = 0.0f;
	size_t i;

	for (i = 0; i < n; i++)
		peak = fmaxf(peak, fabsf(x[i * (size_t)channels]));
	return peak;
}

static struct source *
open_spec(
    const struct source_spec *spec, int channels, char *err, size_t errlen)
{
	return source_open(spec, RATE, channels, err, errlen);
}

/* ------------------------------------------------------------------ */
/* File                                                                */
/* ------------------------------------------------------------------ */

static void
test_file_exact(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], err[256] = "";
	struct source *s;
	float *x;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/ramp.wav", tmpdir);
	write_wav(path, RATE, 12345, true, 0.0f);
	spec.path = path;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(err, "");
	/* 12345 / 48000 s. */
	assert_int_equal(source_duration_ns(s), 257187500);

	x = calloc(20000 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, 20000, 2, 5000);
	assert_int_equal(n, 12345);
	/* Every frame in order, mono copied to both channels. */
	for (i = 0; i < n; i++) {
		assert_true(x[2 * i] == (float)i / 16384.0f);
		assert_true(x[2 * i + 1] == x[2 * i]);
	}
	assert_int_equal(source_state(s), SOURCE_ENDED);
	assert_string_equal(source_error(s), "");
	assert_int_equal(source_buffered(s), 0);
	assert_int_equal(source_read(s, x, 10), 0);
	source_close(s);
	free(x);
}

/* How far ahead each kind decodes: a feed 10 s (test_stream_backpressure
 * sees it fill), a file or playlist 2.5 s (a slow disk's stall), a tone or
 * silence 1 s. A file's feeder stops at 2.5 s ahead plus at most a refill
 * step (0.5 s; source.c, SOURCE_REFILL_DIV) and still delivers every frame
 * of a 5 s file. */
static void
test_file_ahead(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], err[256] = "";
	struct source *s;
	size_t n, i;
	float *x;

	(void)state;
	assert_int_equal(
	    source_ahead_ns(SCHEDULE_SOURCE_STREAM), 10 * NS_PER_SEC);
	assert_int_equal(
	    source_ahead_ns(SCHEDULE_SOURCE_FILE), 2500 * NS_PER_MS);
	assert_int_equal(
	    source_ahead_ns(SCHEDULE_SOURCE_PLAYLIST), 2500 * NS_PER_MS);
	assert_int_equal(source_ahead_ns(SCHEDULE_SOURCE_TONE), NS_PER_SEC);
	assert_int_equal(source_ahead_ns(SCHEDULE_SOURCE_SILENCE), NS_PER_SEC);

	snprintf(path, sizeof(path), "%s/ahead.wav", tmpdir);
	write_wav(path, RATE, 5 * RATE, false, 0.25f);
	spec.path = path;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	wait_state(s, SOURCE_RUNNING, 3000);
	util_sleep_ns(500 * NS_PER_MS);
	assert_in_range(
	    source_buffered(s), RATE * 5 / 2, RATE * 5 / 2 + RATE / 2);
	x = calloc(6 * RATE * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, 6 * RATE, 2, 5000);
	assert_int_equal(n, 5 * RATE);
	/* No frame missing or zero: the feeder kept up from 2.5 s ahead. */
	for (i = 0; i < 2 * n; i++)
		assert_true(x[i] == 0.25f);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	source_close(s);
	free(x);
}

/* Read at the pace of the air, a file's source never holds less than
 * the 2.5 s it decodes ahead (a disk may stall that long, nothing heard),
 * though its feeder naps between refills (source.c, DESIGN "Naps"): it
 * refills once the room beyond those 2.5 s is free, not before. (It
 * refilled once 0.5 s of a 2.5 s ring was free: the ring fell to 2 s.)
 * Checked over 3 s of a 10 s file, read 20 ms at a time; a late wake-up of
 * the feeder on a loaded machine is allowed 0.2 s. */
static void
test_file_ahead_on_air(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	const size_t ahead = RATE * 5 / 2, step = RATE / 50;
	char path[512], err[256] = "";
	size_t n = 0, got, low = SIZE_MAX, now;
	int64_t next_ns;
	struct source *s;
	float *x;

	(void)state;
	snprintf(path, sizeof(path), "%s/on_air.wav", tmpdir);
	write_wav(path, RATE, 10 * RATE, false, 0.25f);
	spec.path = path;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	wait_state(s, SOURCE_RUNNING, 3000);
	util_sleep_ns(300 * NS_PER_MS);
	x = calloc(step, sizeof(float));
	assert_non_null(x);
	next_ns = util_now_mono_ns();
	while (n < 3 * RATE) {
		got = source_read(s, x, step);
		assert_int_equal(got, step);
		n += got;
		now = source_buffered(s);
		if (now < low)
			low = now;
		next_ns += NS_PER_SEC / 50;
		util_sleep_ns(next_ns - util_now_mono_ns());
	}
	print_message("lowest buffered on air: %.3f s\n", (double)low / RATE);
	assert_true(low + RATE / 5 >= ahead - step);
	source_close(s);
	free(x);
}

static void
test_file_skip(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], err[256] = "";
	struct source *s;
	float *x;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/ramp2.wav", tmpdir);
	write_wav(path, RATE, 12345, true, 0.0f);
	spec.path = path;
	spec.skip_ns = 100 * NS_PER_MS; /* 4800 frames */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	x = calloc(20000, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, 20000, 1, 5000);
	assert_int_equal(n, 12345 - 4800);
	for (i = 0; i < n; i++)
		assert_true(x[i] == (float)(i + 4800) / 16384.0f);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	source_close(s);

	/* Joining after the end: nothing to play, ended without error. */
	spec.skip_ns = NS_PER_SEC;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	wait_state(s, SOURCE_ENDED, 3000);
	assert_int_equal(source_read(s, x, 100), 0);
	assert_string_equal(source_error(s), "");
	source_close(s);
	free(x);
}

static void
test_file_resampled(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], err[256] = "";
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/dc441.wav", tmpdir);
	write_wav(path, 44100, 4410, false, 0.25f);
	spec.path = path;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(source_duration_ns(s), 100 * NS_PER_MS);
	x = calloc(10000 * 2, sizeof(float));
	assert_non_null(x);
	/* 0.1 s at 48 kHz. */
	n = read_frames(s, x, 10000, 2, 5000);
	assert_int_equal(n, 4800);
	assert_true(fabsf(x[2 * 2400] - 0.25f) < 0.01f);
	source_close(s);
	free(x);
}

static void
test_file_missing_and_corrupt(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], err[256] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/nope.wav", tmpdir);
	spec.path = path;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));

	snprintf(path, sizeof(path), "%s/corrupt.wav", tmpdir);
	write_text(path, "RIFF this is certainly not a WAV file at all....."
			 "...............................................");
	err[0] = '\0';
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not an audio file"));

	/* A source that is no segment source, and bad specs. */
	spec.kind = SCHEDULE_SOURCE_LIVE;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	spec.kind = SCHEDULE_SOURCE_FILE;
	spec.path = NULL;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "no path"));
}

/*
 * A FIFO given as a segment (through the API, or in an .m3u) must be
 * refused at once: open(2) on a FIFO waits for a writer, and this runs on
 * the main thread. Without O_NONBLOCK this test hangs until its timeout.
 */
static void
test_fifo_refused(void **state)
{
	struct source_spec spec = {.name = "f", .kind = SCHEDULE_SOURCE_FILE};
	char path[512], m3u[512], err[256] = "";
	int64_t ns = 0;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/studio.fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	spec.path = path;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	err[0] = '\0';
	assert_int_equal(
	    source_probe_duration(path, &ns, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));

	snprintf(m3u, sizeof(m3u), "%s/fifo.m3u", tmpdir);
	fp = fopen(m3u, "w");
	assert_non_null(fp);
	fprintf(fp, "studio.fifo\n");
	fclose(fp);
	spec.kind = SCHEDULE_SOURCE_PLAYLIST;
	spec.path = m3u;
	err[0] = '\0';
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_string_not_equal(err, "");
	/* The list itself may not be a FIFO either. */
	spec.path = path;
	err[0] = '\0';
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_string_not_equal(err, "");
	unlink(path);
	unlink(m3u);
}

/* An empty playlist folder: refused with a reason (qsort of nothing
 * used to be called with NULL, undefined behaviour that UBSan aborts). */
static void
test_playlist_empty_dir(void **state)
{
	struct source_spec spec = {
	    .name = "p", .kind = SCHEDULE_SOURCE_PLAYLIST};
	char dir[512], err[256] = "";

	(void)state;
	snprintf(dir, sizeof(dir), "%s/empty-list", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	spec.path = dir;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_string_not_equal(err, "");
	rmdir(dir);
}

static void
test_probe_duration(void **state)
{
	char path[512], err[256] = "";
	int64_t ns = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/half.wav", tmpdir);
	write_wav(path, RATE, 24000, false, 0.5f);
	assert_int_equal(source_probe_duration(path, &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 500 * NS_PER_MS);
	snprintf(path, sizeof(path), "%s/absent.wav", tmpdir);
	assert_int_equal(
	    source_probe_duration(path, &ns, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "absent.wav: cannot open"));
	assert_int_equal(
	    source_probe_duration(tmpdir, &ns, err, sizeof(err)), -EISDIR);
}

/* ------------------------------------------------------------------ */
/* Playlist                                                            */
/* ------------------------------------------------------------------ */

/* dir/01.wav 0.1 x 1000, 02.wav 0.2 x 1500, 03.wav 0.3 x 700, plus files
 * that are not audio. */
static void
make_abc_dir(const char *dir)
{
	char path[512];

	make_dir(dir);
	snprintf(path, sizeof(path), "%s/02.wav", dir);
	write_wav(path, RATE, 1500, false, 0.2f);
	snprintf(path, sizeof(path), "%s/01.wav", dir);
	write_wav(path, RATE, 1000, false, 0.1f);
	snprintf(path, sizeof(path), "%s/03.wav", dir);
	write_wav(path, RATE, 700, false, 0.3f);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_text(path, "not audio\n");
	snprintf(path, sizeof(path), "%s/.hidden.wav", dir);
	write_wav(path, RATE, 100, false, 0.9f);
	snprintf(path, sizeof(path), "%s/subdir", dir);
	make_dir(path);
}

static void
check_runs(const struct run *runs, size_t n, const float *levels,
    const size_t *frames, size_t expect)
{
	size_t i;

	assert_int_equal(n, expect);
	for (i = 0; i < n; i++) {
		assert_true(runs[i].level == levels[i]);
		assert_int_equal(runs[i].frames, frames[i]);
	}
}

static void
test_playlist_dir(void **state)
{
	static const float levels[] = {
	    0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.3f, 0.1f};
	static const size_t frames[] = {1000, 1500, 700, 1000, 1500, 700, 500};
	struct source_spec spec = {
	    .name = "p", .kind = SCHEDULE_SOURCE_PLAYLIST};
	char dir[128], err[256] = "";
	struct run runs[16];
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/abc", tmpdir);
	make_abc_dir(dir);
	spec.path = dir;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	/* 1000/48000 + 1500/48000 + 700/48000 s, each rounded down. */
	assert_int_equal(source_duration_ns(s), 20833333 + 31250000 + 14583333);
	x = calloc(6900 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, 6900, 2, 5000);
	assert_int_equal(n, 6900);
	/* In name order, back to back, looping. */
	n = runs_of(x, n, 2, runs, RELAY_ARRAY_LEN(runs));
	check_runs(runs, n, levels, frames, RELAY_ARRAY_LEN(levels));
	assert_int_equal(source_state(s), SOURCE_RUNNING);
	source_close(s);

	/* Joined in progress 1.2 passes in: 3200 + 1200 frames. */
	spec.skip_ns = (3200 + 1200) * NS_PER_SEC / RATE;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	n = read_frames(s, x, 3000, 1, 5000);
	assert_int_equal(n, 3000);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	{
		static const float l2[] = {0.2f, 0.3f, 0.1f};
		static const size_t f2[] = {1300, 700, 1000};

		check_runs(runs, n, l2, f2, 3);
	}
	source_close(s);
	free(x);
}

/* The last file heard (under the resume's lock), as its name in dir. */
static bool
resume_is(struct source_resume *r, const char *dir, const char *name)
{
	char want[512];
	bool same;

	snprintf(want, sizeof(want), "%s/%s", dir, name);
	pthread_mutex_lock(&r->lock);
	same = strcmp(r->last, want) == 0;
	pthread_mutex_unlock(&r->lock);
	return same;
}

/* Waits up to 2 s for the feeder to note the last file heard. */
static bool
wait_resume(struct source_resume *r, const char *dir, const char *name)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (resume_is(r, dir, name))
			return true;
		util_sleep_ns(10 * NS_PER_MS);
	}
	return false;
}

/* A playlist with a resume (the [fallback] filler's): a file counts as
 * heard once a frame of it is read, never when only decoded ahead; the
 * next source of the list starts with the file after the last one heard,
 * wraps to the top after the last file, and starts at the top when that
 * file is no longer listed. */
static void
test_playlist_resume(void **state)
{
	struct source_spec spec = {
	    .name = "fallback", .kind = SCHEDULE_SOURCE_PLAYLIST};
	struct source_resume r;
	char dir[128], err[256] = "";
	struct run runs[8];
	struct source *s;
	float x[3000];
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/resume", tmpdir);
	make_abc_dir(dir);
	source_resume_init(&r);
	spec.path = dir;
	spec.resume = &r;

	/* Opened and decoded ahead (all three files fit the ring), never
	 * read: nothing was heard. */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	util_sleep_ns(100 * NS_PER_MS);
	source_close(s);
	assert_string_equal(r.last, "");

	/* 01 whole and 200 frames of 02 heard: the next starts at 03. */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(read_frames(s, x, 1200, 1, 5000), 1200);
	assert_true(wait_resume(&r, dir, "02.wav"));
	source_close(s);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	n = read_frames(s, x, 1000, 1, 5000);
	assert_int_equal(n, 1000);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	{
		static const float l[] = {0.3f, 0.1f};
		static const size_t f[] = {700, 300};

		check_runs(runs, n, l, f, 2);
	}
	/* 03, then the top again: 01 is the last heard. */
	assert_true(wait_resume(&r, dir, "01.wav"));
	source_close(s);

	/* A last file the list no longer holds: from the top. */
	pthread_mutex_lock(&r.lock);
	snprintf(r.last, sizeof(r.last), "%s/gone.wav", dir);
	pthread_mutex_unlock(&r.lock);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	n = read_frames(s, x, 500, 1, 5000);
	assert_int_equal(n, 500);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	assert_int_equal(n, 1);
	assert_true(runs[0].level == 0.1f);
	source_close(s);
	source_resume_destroy(&r);
}

/* A list may name one file twice (a jingle between items): the next
 * source carries on after the entry heard, not after the file's last
 * listing. List a, b, a, c (a at 0.1, b at 0.2, c at 0.3): a heard first
 * carries on with b (it carried on with c, b never aired); a heard the
 * second time carries on with c. */
static void
test_playlist_resume_repeated(void **state)
{
	struct source_spec spec = {
	    .name = "fallback", .kind = SCHEDULE_SOURCE_PLAYLIST};
	struct source_resume r;
	char dir[128], path[192], list[512], err[256] = "";
	struct run runs[8];
	struct source *s;
	float x[1000];
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/repeated", tmpdir);
	make_dir(dir);
	snprintf(path, sizeof(path), "%s/a.wav", dir);
	write_wav(path, RATE, 300, false, 0.1f);
	snprintf(path, sizeof(path), "%s/b.wav", dir);
	write_wav(path, RATE, 400, false, 0.2f);
	snprintf(path, sizeof(path), "%s/c.wav", dir);
	write_wav(path, RATE, 500, false, 0.3f);
	snprintf(list, sizeof(list), "%s/a.wav\n%s/b.wav\n%s/a.wav\n%s/c.wav\n",
	    dir, dir, dir, dir);
	snprintf(path, sizeof(path), "%s/list.m3u", dir);
	write_text(path, list);
	source_resume_init(&r);
	spec.path = path;
	spec.resume = &r;

	/* 100 frames of the first a heard. */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(read_frames(s, x, 100, 1, 5000), 100);
	assert_true(wait_resume(&r, dir, "a.wav"));
	source_close(s);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	n = read_frames(s, x, 100, 1, 5000);
	assert_int_equal(n, 100);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	assert_int_equal(n, 1);
	assert_true(runs[0].level == 0.2f);
	assert_true(wait_resume(&r, dir, "b.wav"));
	/* The rest of b and 100 frames of the second a. */
	n = read_frames(s, x, 400, 1, 5000);
	assert_int_equal(n, 400);
	assert_true(wait_resume(&r, dir, "a.wav"));
	source_close(s);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	n = read_frames(s, x, 100, 1, 5000);
	assert_int_equal(n, 100);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	assert_int_equal(n, 1);
	assert_true(runs[0].level == 0.3f);
	source_close(s);
	source_resume_destroy(&r);
}

/* Waits up to limit_ms for source_stale(). A change counts once the
 * file has stayed the same for 2 s, looked at once a second: within
 * 3 s of it. */
static bool
wait_stale_ms(struct source *s, int limit_ms)
{
	int i;

	for (i = 0; i < limit_ms / 10; i++) {
		if (source_stale(s))
			return true;
		util_sleep_ns(10 * NS_PER_MS);
	}
	return false;
}

static bool
wait_stale(struct source *s)
{
	return wait_stale_ms(s, 5000);
}

/* Appends bytes to path (a file still being written). */
static void
append_bytes(const char *path, size_t n)
{
	static const char zeros[4096];
	FILE *f = fopen(path, "ab");

	assert_non_null(f);
	assert_int_equal(fwrite(zeros, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A source nobody has read (the waiting filler) says so when a file it
 * opened ahead changes on disk: rewritten in place, replaced or deleted,
 * whether longer than what it decodes ahead or read whole; a source
 * already read, or whose files did not change, does not; nor does one
 * whose file is still being written, until the writes stop. */
static void
test_source_stale(void **state)
{
	struct source_spec spec = {.name = "fallback"};
	char dir[128], a[192], b[192], tmp[192], err[256] = "";
	struct source *s;
	float x[100];
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/stale", tmpdir);
	make_dir(dir);
	snprintf(a, sizeof(a), "%s/a.wav", dir);
	snprintf(b, sizeof(b), "%s/b.wav", dir);
	snprintf(tmp, sizeof(tmp), "%s/new.tmp", dir);
	write_wav(a, RATE, 50000, false, 0.1f);
	write_wav(b, RATE, 300, false, 0.2f);

	/* Nothing changed: not stale. */
	spec.kind = SCHEDULE_SOURCE_PLAYLIST;
	spec.path = dir;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	assert_false(wait_stale_ms(s, 3000));
	/* a.wav rewritten in place (a new size): stale. */
	write_wav(a, RATE, 40000, false, 0.3f);
	assert_true(wait_stale(s));
	source_close(s);

	/* Replaced by rename (once the feeder opened a.wav): stale. */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	util_sleep_ns(300 * NS_PER_MS);
	write_wav(tmp, RATE, 40000, false, 0.3f);
	assert_int_equal(rename(tmp, a), 0);
	assert_true(wait_stale(s));
	source_close(s);

	/* Read from (on air): never stale, whatever happens on disk. */
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(read_frames(s, x, 100, 1, 5000), 100);
	assert_int_equal(unlink(a), 0);
	assert_false(wait_stale_ms(s, 3000));
	source_close(s);

	/* One file (longer than the 2.5 s decoded ahead), deleted while it
	 * waits: stale. */
	write_wav(a, RATE, 200000, false, 0.1f);
	spec.kind = SCHEDULE_SOURCE_FILE;
	spec.path = a;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	assert_false(wait_stale_ms(s, 3000));
	assert_int_equal(unlink(a), 0);
	assert_true(wait_stale(s));
	source_close(s);

	/* One file shorter than the 2.5 s decoded ahead: read whole, and
	 * still looked at; rewritten in place, stale. */
	write_wav(a, RATE, 20000, false, 0.1f);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	for (i = 0; i < 500 && !source_exhausted(s); i++)
		util_sleep_ns(10 * NS_PER_MS);
	assert_true(source_exhausted(s));
	assert_false(wait_stale_ms(s, 1500));
	write_wav(a, RATE, 30000, false, 0.3f);
	assert_true(wait_stale(s));
	source_close(s);

	/* Still being written (appended to every 0.3 s for 3.6 s): not
	 * stale while it grows, stale once it has stopped. */
	write_wav(a, RATE, 200000, false, 0.1f);
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	for (i = 0; i < 12; i++) {
		util_sleep_ns(300 * NS_PER_MS);
		append_bytes(a, 4000);
		assert_false(source_stale(s));
	}
	assert_true(wait_stale(s));
	source_close(s);
}

static void
test_playlist_m3u(void **state)
{
	static const float levels[] = {0.3f, 0.1f, 0.2f, 0.3f, 0.1f};
	static const size_t frames[] = {500, 300, 400, 500, 100};
	struct source_spec spec = {
	    .name = "m", .kind = SCHEDULE_SOURCE_PLAYLIST};
	char dir[128], path[192], list[1024], err[256] = "";
	struct run runs[16];
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/m3u", tmpdir);
	make_dir(dir);
	snprintf(path, sizeof(path), "%s/sub", dir);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/sub/c.wav", dir);
	write_wav(path, RATE, 500, false, 0.3f);
	snprintf(path, sizeof(path), "%s/b.wav", dir);
	write_wav(path, RATE, 400, false, 0.2f);
	snprintf(path, sizeof(path), "%s/a.wav", dir);
	write_wav(path, RATE, 300, false, 0.1f);
	/* Comments, blanks, CRLF, an absolute path, a missing file, a URL,
	 * no newline at the end. */
	snprintf(list, sizeof(list),
	    "\xef\xbb\xbf#EXTM3U\r\n# the news jingles\r\n\r\n"
	    "sub/c.wav\r\n%s/a.wav\r\n  missing.wav  \r\n"
	    "http://example.com/x.ogg\r\n#b.wav\nb.wav",
	    dir);
	snprintf(path, sizeof(path), "%s/list.M3U8", dir);
	write_text(path, list);
	spec.path = path;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	/* The sum of 500, 300 and 400 frames, each rounded down to ns. */
	assert_int_equal(source_duration_ns(s), 10416666 + 6250000 + 8333333);
	x = calloc(1800, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, 1800, 1, 5000);
	assert_int_equal(n, 1800);
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	check_runs(runs, n, levels, frames, RELAY_ARRAY_LEN(levels));
	source_close(s);
	free(x);

	/* A list without one playable file fails at once. */
	snprintf(path, sizeof(path), "%s/empty.m3u", dir);
	write_text(path, "# nothing\nmissing.wav\n");
	spec.path = path;
	err[0] = '\0';
	assert_null(open_spec(&spec, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "empty.m3u"));
	assert_non_null(strstr(err, "no audio file"));
}

static void
test_playlist_unplayable(void **state)
{
	struct source_spec spec = {
	    .name = "u", .kind = SCHEDULE_SOURCE_PLAYLIST};
	char dir[128], path[192], err[256] = "";

	(void)state;
	snprintf(dir, sizeof(dir), "%s/junk", tmpdir);
	make_dir(dir);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	write_text(path, "hello\n");
	spec.path = dir;
	assert_null(open_spec(&spec, 1, err, sizeof(err)));
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "no audio file"));

	/* Files of no frames (headers left by a failed copy) are not
	 * playable either: a list of only such files used to open, then
	 * fail at once, and a [fallback] filler was opened again and again
	 * (a warning five times a second). */
	snprintf(dir, sizeof(dir), "%s/headers-only", tmpdir);
	make_dir(dir);
	snprintf(path, sizeof(path), "%s/a.wav", dir);
	write_wav(path, RATE, 0, false, 0.0f);
	snprintf(path, sizeof(path), "%s/b.wav", dir);
	write_wav(path, RATE, 0, false, 0.0f);
	spec.path = dir;
	err[0] = '\0';
	assert_null(open_spec(&spec, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no audio file"));

	snprintf(dir, sizeof(dir), "%s/does-not-exist", tmpdir);
	err[0] = '\0';
	assert_null(open_spec(&spec, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file or directory"));

	/* A plain audio file is not a playlist. */
	snprintf(path, sizeof(path), "%s/plain.wav", tmpdir);
	write_wav(path, RATE, 10, false, 0.1f);
	spec.path = path;
	err[0] = '\0';
	assert_null(open_spec(&spec, 1, err, sizeof(err)));
	assert_non_null(strstr(err, ".m3u"));
}

static void
test_playlist_shuffle(void **state)
{
	enum { FILES = 5, PASSES = 10, LEN = 480 };
	struct source_spec spec = {.name = "s",
	    .kind = SCHEDULE_SOURCE_PLAYLIST,
	    .order = SCHEDULE_ORDER_SHUFFLE};
	char dir[128], path[192], err[256] = "";
	struct run runs[FILES * PASSES + 1];
	struct source *s;
	float *x;
	size_t n, p, i;
	int seen, unsorted = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/shuffle", tmpdir);
	make_dir(dir);
	for (i = 0; i < FILES; i++) {
		snprintf(path, sizeof(path), "%s/%zu.wav", dir, i);
		write_wav(path, RATE, LEN, false, (float)(i + 1) / 10.0f);
	}
	spec.path = dir;
	s = open_spec(&spec, 1, err, sizeof(err));
	assert_non_null(s);
	x = calloc(FILES * PASSES * LEN, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, FILES * PASSES * LEN, 1, 5000);
	assert_int_equal(n, FILES * PASSES * LEN);
	/* Whole files only, and never the same file twice in a row (else
	 * two runs would merge and the count would drop). */
	n = runs_of(x, n, 1, runs, RELAY_ARRAY_LEN(runs));
	assert_int_equal(n, FILES * PASSES);
	for (p = 0; p < PASSES; p++) {
		seen = 0;
		for (i = 0; i < FILES; i++) {
			struct run *r = &runs[p * FILES + i];
			int k = (int)lrintf(r->level * 10.0f) - 1;

			assert_int_equal(r->frames, LEN);
			assert_in_range(k, 0, FILES - 1);
			/* Each file once per pass. */
			assert_int_equal(seen & (1 << k), 0);
			seen |= 1 << k;
			if (k != (int)i)
				unsorted = 1;
		}
		assert_int_equal(seen, (1 << FILES) - 1);
	}
	/* Ten passes in name order would mean no shuffle at all. */
	assert_int_equal(unsorted, 1);
	source_close(s);
	free(x);
}

/* ------------------------------------------------------------------ */
/* Tone and silence                                                    */
/* ------------------------------------------------------------------ */

static void
test_tone(void **state)
{
	struct source_spec spec = {.name = "t",
	    .kind = SCHEDULE_SOURCE_TONE,
	    .frequency_hz = 1000.0,
	    .level_dbfs = -6.0};
	double amp = pow(10.0, -6.0 / 20.0), step, d, max_d = 0.0;
	char err[256] = "";
	struct source *s;
	float *x;
	size_t n, i;
	int up = 0;

	(void)state;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(source_duration_ns(s), -1);
	x = calloc(RATE * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, RATE / 2, 2, 5000);
	assert_int_equal(n, RATE / 2);
	/* A pause, then more: the phase must run on. */
	util_sleep_ns(50 * NS_PER_MS);
	n += read_frames(s, x + n * 2, RATE / 2, 2, 5000);
	assert_int_equal(n, RATE);

	assert_true(fabs((double)peak_of(x, 2, n) - amp) < 1e-3);
	for (i = 0; i < n; i++)
		assert_true(x[2 * i + 1] == x[2 * i]);
	/* 1000 cycles in one second. */
	for (i = 1; i < n; i++)
		if (x[2 * (i - 1)] < 0.0f && x[2 * i] >= 0.0f)
			up++;
	assert_in_range(up, 999, 1001);
	assert_true(power_at(x, 2, n, RATE, 1000.0) >
		    1e4 * power_at(x, 2, n, RATE, 1100.0));
	/* Continuous phase: no step larger than the sine's steepest. */
	step = TWO_PI * 1000.0 / RATE;
	for (i = 1; i < n; i++) {
		d = fabs((double)x[2 * i] - (double)x[2 * (i - 1)]);
		if (d > max_d)
			max_d = d;
	}
	assert_true(max_d <= amp * step * 1.001 + 1e-6);
	assert_int_equal(source_state(s), SOURCE_RUNNING);
	source_close(s);
	free(x);

	/* Above half the programme rate would alias. */
	spec.frequency_hz = 30000.0;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "tone"));
}

static void
test_silence(void **state)
{
	struct source_spec spec = {
	    .name = "z", .kind = SCHEDULE_SOURCE_SILENCE};
	char err[256] = "";
	struct source *s;
	int64_t deadline_ns;
	float *x;
	size_t n, i;

	(void)state;
	s = open_spec(&spec, 2, err, sizeof(err));
	assert_non_null(s);
	x = malloc(RATE * 2 * sizeof(float));
	assert_non_null(x);
	for (i = 0; i < RATE * 2; i++)
		x[i] = 1.0f;
	n = read_frames(s, x, RATE, 2, 5000);
	assert_int_equal(n, RATE);
	for (i = 0; i < n * 2; i++)
		assert_true(x[i] == 0.0f && !signbit(x[i]));
	/* Never ends by itself; keeps the ring topped up (1 s ahead, plus
	 * at most a refill step: a quarter of that). The read above emptied
	 * the ring at once, far faster than an engine does, while the feeder
	 * napped until a step would be free at the real-time pace
	 * (source.c, "Naps"): give it a deadline, not a fixed 100 ms. */
	deadline_ns = util_now_mono_ns() + 2 * NS_PER_SEC;
	while (source_buffered(s) < RATE / 2 &&
	       util_now_mono_ns() < deadline_ns)
		util_sleep_ns(10 * NS_PER_MS);
	assert_int_equal(source_state(s), SOURCE_RUNNING);
	assert_in_range(source_buffered(s), RATE / 2, RATE + RATE / 4);
	source_close(s);
	free(x);
}

/* ------------------------------------------------------------------ */
/* Stream: Ogg Vorbis made here, served by a thread on 127.0.0.1       */
/* ------------------------------------------------------------------ */

struct bytes {
	unsigned char *data;
	size_t len;
	size_t cap;
};

static void
bytes_append(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
		assert_non_null(b->data);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
bytes_page(struct bytes *b, const ogg_page *og)
{
	bytes_append(b, og->header, (size_t)og->header_len);
	bytes_append(b, og->body, (size_t)og->body_len);
}

/* The next page of os: with flush, whatever is queued (pages then hold
 * about 100 ms, as a live encoder's do); else only a full page. */
static bool
take_page(ogg_stream_state *os, ogg_page *og, bool flush)
{
	if (flush)
		return ogg_stream_flush(os, og) != 0;
	return ogg_stream_pageout(os, og) != 0;
}

/* Appends one complete Ogg Vorbis stream (one link) of a sine at freq_hz,
 * amplitude amp, on every channel. */
static void
encode_link_noisy(struct bytes *out, int rate_hz, int channels, double freq_hz,
    double amp, double noise, double seconds, int serial, const char *title)
{
	vorbis_info vi;
	vorbis_comment vc;
	vorbis_dsp_state vd;
	vorbis_block vb;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op, h_id, h_comment, h_code;
	long total = lrint(seconds * rate_hz), done = 0, n, i;
	ogg_int64_t last_page = 0;
	float **buf;
	bool eos = false, ended = false, flush;
	float v;
	int c;

	vorbis_info_init(&vi);
	assert_int_equal(
	    vorbis_encode_init_vbr(&vi, channels, rate_hz, 0.3f), 0);
	vorbis_comment_init(&vc);
	vorbis_comment_add_tag(&vc, "TITLE", title);
	assert_int_equal(vorbis_analysis_init(&vd, &vi), 0);
	assert_int_equal(vorbis_block_init(&vd, &vb), 0);
	assert_int_equal(ogg_stream_init(&os, serial), 0);
	assert_int_equal(
	    vorbis_analysis_headerout(&vd, &vc, &h_id, &h_comment, &h_code), 0);
	ogg_stream_packetin(&os, &h_id);
	ogg_stream_packetin(&os, &h_comment);
	ogg_stream_packetin(&os, &h_code);
	/* Headers on pages of their own, as the spec asks. */
	while (ogg_stream_flush(&os, &og) != 0)
		bytes_page(out, &og);
	while (!eos) {
		if (done < total) {
			n = total - done < 1024 ? total - done : 1024;
			buf = vorbis_analysis_buffer(&vd, (int)n);
			for (i = 0; i < n; i++) {
				v = (float)(amp * sin(TWO_PI * freq_hz *
						      (double)(done + i) /
						      rate_hz) +
					    noise * (2.0 * drand48() - 1.0));
				for (c = 0; c < channels; c++)
					buf[c][i] = v;
			}
			vorbis_analysis_wrote(&vd, (int)n);
			done += n;
		} else if (!ended) {
			vorbis_analysis_wrote(&vd, 0);
			ended = true;
		}
		while (vorbis_analysis_blockout(&vd, &vb) == 1) {
			vorbis_analysis(&vb, NULL);
			vorbis_bitrate_addblock(&vb);
			while (vorbis_bitrate_flushpacket(&vd, &op) == 1) {
				ogg_stream_packetin(&os, &op);
				/* Pages of about 100 ms, as a live encoder
				 * sends them (and so that half a feed holds
				 * audio pages, not only the headers). */
				flush =
				    op.granulepos - last_page >= rate_hz / 10 ||
				    op.e_o_s;
				while (take_page(&os, &og, flush)) {
					bytes_page(out, &og);
					last_page = ogg_page_granulepos(&og);
					if (ogg_page_eos(&og))
						eos = true;
				}
			}
		}
	}
	ogg_stream_clear(&os);
	vorbis_block_clear(&vb);
	vorbis_dsp_clear(&vd);
	vorbis_comment_clear(&vc);
	vorbis_info_clear(&vi);
}

static void
encode_link(struct bytes *out, int rate_hz, int channels, double freq_hz,
    double amp, double seconds, int serial, const char *title)
{
	encode_link_noisy(
	    out, rate_hz, channels, freq_hz, amp, 0.0, seconds, serial, title);
}

struct server {
	int fd;
	int port;
	pthread_t thread;
	atomic_bool quit;
	/* What to do with each connection. */
	bool no_accept;	    /* listen only: connects hang (backlog full) */
	bool never_answer;  /* read the request, say nothing */
	const char *status; /* "200 OK" */
	const char *content_type;
	const unsigned char *body;
	size_t body_len;
	size_t send_len;     /* bytes of body to send (<= body_len) */
	bool content_length; /* send Content-Length: body_len */
	bool hold;	     /* keep the socket open after sending */
	size_t pace_bytes;   /* 0: all at once; else per pace_ms */
	int pace_ms;
	char request[2048]; /* the first request (test thread reads it
			     * after server_stop) */
	atomic_int accepted;
};

static bool
server_quit(struct server *sv)
{
	return atomic_load(&sv->quit);
}

/* Waits for the peer or quit; true when quit. */
static bool
server_idle(struct server *sv, int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	(void)poll(&pfd, 1, ms);
	return server_quit(sv);
}

static void
server_send(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client went away */
		b += w;
		n -= (size_t)w;
	}
}

static void
serve_one(struct server *sv, int fd)
{
	char req[2048], head[512];
	size_t got = 0, off, n;
	ssize_t r;
	int64_t deadline_ns = util_now_mono_ns() + 3 * NS_PER_SEC;

	/* The request, up to the blank line. */
	while (got + 1 < sizeof(req) && util_now_mono_ns() < deadline_ns) {
		if (server_idle(sv, fd, 20))
			return;
		r = recv(fd, req + got, sizeof(req) - 1 - got, MSG_DONTWAIT);
		if (r == 0)
			return;
		if (r < 0)
			continue;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[got] = '\0';
	if (sv->request[0] == '\0')
		util_strlcpy(sv->request, req, sizeof(sv->request));
	if (sv->never_answer) {
		while (!server_idle(sv, fd, 20))
			;
		return;
	}
	n = (size_t)snprintf(head, sizeof(head),
	    "HTTP/1.0 %s\r\nServer: test\r\nContent-Type: %s\r\n", sv->status,
	    sv->content_type);
	if (sv->content_length)
		n += (size_t)snprintf(head + n, sizeof(head) - n,
		    "Content-Length: %zu\r\n", sv->body_len);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "\r\n");
	server_send(fd, head, n);
	for (off = 0; off < sv->send_len && !server_quit(sv); off += n) {
		n = sv->send_len - off;
		if (sv->pace_bytes > 0 && n > sv->pace_bytes)
			n = sv->pace_bytes;
		server_send(fd, sv->body + off, n);
		if (sv->pace_bytes > 0)
			util_sleep_ns(sv->pace_ms * NS_PER_MS);
	}
	while (sv->hold && !server_idle(sv, fd, 20))
		;
}

static void *
server_thread(void *arg)
{
	struct server *sv = arg;
	int fd;

	while (!server_quit(sv)) {
		if (server_idle(sv, sv->fd, 20))
			break;
		/* The listener is non-blocking: EAGAIN after a poll
		 * timeout. */
		fd = accept4(sv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		atomic_fetch_add(&sv->accepted, 1);
		serve_one(sv, fd);
		close(fd);
	}
	return NULL;
}

/* Listens on an ephemeral loopback port and starts the thread (unless
 * no_accept). */
static void
server_start(struct server *sv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	sv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(sv->fd >= 0);
	setsockopt(sv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sv->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv->fd, sv->no_accept ? 0 : 8), 0);
	assert_int_equal(getsockname(sv->fd, (struct sockaddr *)&sa, &len), 0);
	sv->port = ntohs(sa.sin_port);
	atomic_init(&sv->quit, false);
	atomic_init(&sv->accepted, 0);
	if (!sv->no_accept)
		assert_int_equal(
		    pthread_create(&sv->thread, NULL, server_thread, sv), 0);
}

static void
server_stop(struct server *sv)
{
	atomic_store(&sv->quit, true);
	if (!sv->no_accept)
		pthread_join(sv->thread, NULL);
	close(sv->fd);
}

static struct source *
open_stream(
    const struct server *sv, char *url, size_t urllen, char *err, size_t errlen)
{
	struct source_spec spec = {
	    .name = "feed", .kind = SCHEDULE_SOURCE_STREAM};
	struct source *s;

	snprintf(url, urllen, "http://127.0.0.1:%d/feed.ogg", sv->port);
	spec.url = url;
	spec.skip_ns = NS_PER_SEC; /* ignored for a live feed */
	s = source_open(&spec, RATE, 2, err, errlen);
	assert_non_null(s);
	return s;
}

static void
test_stream_plays(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {.status = "200 OK", .content_type = "audio/ogg"};
	char url[128], err[256] = "";
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	encode_link(&ogg, 44100, 2, 1000.0, 0.5, 1.5, 7, "first");
	sv.body = ogg.data;
	sv.body_len = sv.send_len = ogg.len;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	assert_int_equal(source_duration_ns(s), -1);
	x = calloc(RATE * 3 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, RATE * 3, 2, 10000);
	/* 1.5 s of 44.1 kHz material, resampled to 48 kHz. */
	assert_in_range(n, 72000 - 200, 72000 + 200);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	assert_non_null(strstr(source_error(s), url));
	assert_non_null(strstr(source_error(s), "ended"));
	/* The tone survived decode and resampling. */
	assert_true(fabsf(peak_of(x + 2 * 12000, 2, 48000) - 0.5f) < 0.05f);
	assert_true(power_at(x + 2 * 12000, 2, 48000, RATE, 1000.0) >
		    1e3 * power_at(x + 2 * 12000, 2, 48000, RATE, 1088.0));
	source_close(s);
	server_stop(&sv);
	/* The request looked as promised. */
	assert_non_null(strstr(sv.request, "GET /feed.ogg HTTP/1.1\r\n"));
	assert_non_null(strstr(sv.request, "User-Agent: relay\r\n"));
	free(x);
	free(ogg.data);
}

static void
test_stream_chained(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {.status = "200 OK",
	    .content_type = "audio/ogg",
	    .pace_bytes = 4096,
	    .pace_ms = 5};
	char url[128], err[256] = "";
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	/* A metadata change on a mount: a new link, here even at another
	 * rate and channel count. */
	encode_link(&ogg, 44100, 2, 440.0, 0.5, 1.0, 11, "one");
	encode_link(&ogg, 22050, 1, 880.0, 0.5, 1.0, 12, "two");
	sv.body = ogg.data;
	sv.body_len = sv.send_len = ogg.len;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	x = calloc(RATE * 3 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, RATE * 3, 2, 10000);
	/* 2 s at 48 kHz, give or take the resampler's delay at the switch. */
	assert_in_range(n, 96000 - 600, 96000 + 200);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	/* First link 440 Hz, second 880 Hz, both at the programme rate. */
	assert_true(power_at(x + 2 * 4800, 2, 38400, RATE, 440.0) >
		    1e3 * power_at(x + 2 * 4800, 2, 38400, RATE, 880.0));
	assert_true(power_at(x + 2 * (n - 43200), 2, 38400, RATE, 880.0) >
		    1e3 * power_at(x + 2 * (n - 43200), 2, 38400, RATE, 440.0));
	assert_true(
	    fabsf(peak_of(x + 2 * (n - 43200), 2, 38400) - 0.5f) < 0.05f);
	/* Mono was copied to both channels. */
	assert_true(x[2 * (n - 1000)] == x[2 * (n - 1000) + 1]);
	source_close(s);
	server_stop(&sv);
	free(x);
	free(ogg.data);
}

static void
test_stream_backpressure(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {.status = "200 OK", .content_type = "audio/ogg"};
	char url[128], err[256] = "";
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	/* 20 s of noisy audio sent at full speed: the ring fills at 10 s,
	 * the receive buffer after it, and the transfer must pause and
	 * resume without losing a byte. */
	encode_link_noisy(&ogg, RATE, 2, 1000.0, 0.3, 0.2, 20.0, 51, "big");
	assert_true(ogg.len > 200 * 1024);
	sv.body = ogg.data;
	sv.body_len = sv.send_len = ogg.len;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	/* Let it fill up and sit there. */
	wait_state(s, SOURCE_RUNNING, 3000);
	util_sleep_ns(1500 * NS_PER_MS);
	assert_in_range(source_buffered(s), 9 * RATE, 11 * RATE);
	assert_int_equal(source_state(s), SOURCE_RUNNING);
	x = calloc(RATE * 25 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, RATE * 25, 2, 20000);
	/* Same rate, so vorbisfile's exact length comes through. */
	assert_int_equal(n, 20 * RATE);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	assert_true(power_at(x + 2 * 15 * RATE, 2, RATE, RATE, 1000.0) >
		    100.0 * power_at(x + 2 * 15 * RATE, 2, RATE, RATE, 1500.0));
	source_close(s);
	server_stop(&sv);
	free(x);
	free(ogg.data);
}

static void
test_stream_http_errors(void **state)
{
	static const char page[] = "<html><body>Nothing here</body></html>";
	struct server sv = {.status = "404 Not Found",
	    .content_type = "text/html",
	    .body = (const unsigned char *)page,
	    .body_len = sizeof(page) - 1,
	    .send_len = sizeof(page) - 1};
	char url[128], err[256] = "", want[192];
	struct source *s;

	(void)state;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	wait_state(s, SOURCE_FAILED, 3000);
	snprintf(want, sizeof(want), "%s: 404 Not Found", url);
	assert_string_equal(source_error(s), want);
	source_close(s);
	server_stop(&sv);

	/* 200 but HTML: not Ogg Vorbis. */
	memset(&sv, 0, sizeof(sv));
	sv.status = "200 OK";
	sv.content_type = "text/html";
	sv.body = (const unsigned char *)page;
	sv.body_len = sv.send_len = sizeof(page) - 1;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	wait_state(s, SOURCE_FAILED, 3000);
	assert_non_null(strstr(source_error(s), url));
	assert_non_null(strstr(source_error(s), "not an Ogg Vorbis stream"));
	assert_non_null(strstr(source_error(s), "text/html"));
	source_close(s);
	server_stop(&sv);

	/* 401 with a reason phrase of the server's own. */
	memset(&sv, 0, sizeof(sv));
	sv.status = "401 Authentication Required";
	sv.content_type = "text/plain";
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	wait_state(s, SOURCE_FAILED, 3000);
	snprintf(want, sizeof(want), "%s: 401 Authentication Required", url);
	assert_string_equal(source_error(s), want);
	source_close(s);
	server_stop(&sv);
}

static void
test_stream_refused(void **state)
{
	struct server sv = {.no_accept = true};
	char url[128], err[256] = "";
	struct source *s;

	(void)state;
	/* A port that was just free: nobody listens there any more. */
	server_start(&sv);
	server_stop(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	wait_state(s, SOURCE_FAILED, 3000);
	assert_non_null(strstr(source_error(s), url));
	assert_non_null(strstr(source_error(s), "Connection refused"));
	assert_int_equal(source_read(s, (float[4]){0}, 2), 0);
	source_close(s);
}

static void
test_stream_cut(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {.status = "200 OK",
	    .content_type = "audio/ogg",
	    .content_length = true};
	char url[128], err[256] = "";
	struct source *s;
	float *x;
	size_t n;

	(void)state;
	encode_link(&ogg, 48000, 2, 1000.0, 0.5, 2.0, 21, "cut");
	sv.body = ogg.data;
	sv.body_len = ogg.len;
	sv.send_len = ogg.len / 2; /* then close, short of Content-Length */
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	x = calloc(RATE * 3 * 2, sizeof(float));
	assert_non_null(x);
	n = read_frames(s, x, RATE * 3, 2, 10000);
	/* Some audio came, not all of it. */
	assert_in_range(n, RATE / 4, RATE * 2 - RATE / 4);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	assert_non_null(strstr(source_error(s), url));
	assert_non_null(strstr(source_error(s), "cut off"));
	source_close(s);
	server_stop(&sv);
	free(x);
	free(ogg.data);
}

static void
test_stream_stall(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {
	    .status = "200 OK", .content_type = "audio/ogg", .hold = true};
	char url[128], err[256] = "";
	struct source *s;
	float *x;
	size_t n;
	int64_t t0_ns, waited_ns;

	(void)state;
	encode_link(&ogg, 48000, 2, 1000.0, 0.5, 2.0, 31, "stall");
	sv.body = ogg.data;
	sv.body_len = ogg.len;
	sv.send_len = ogg.len / 2; /* then silence on an open socket */
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	x = calloc(RATE * 3 * 2, sizeof(float));
	assert_non_null(x);
	wait_state(s, SOURCE_RUNNING, 3000);
	t0_ns = util_now_mono_ns();
	n = read_frames(s, x, RATE * 3, 2, 10000);
	waited_ns = util_now_mono_ns() - t0_ns;
	assert_in_range(n, RATE / 4, RATE * 2 - RATE / 4);
	assert_int_equal(source_state(s), SOURCE_ENDED);
	assert_non_null(strstr(source_error(s), "no data for 5 s"));
	/* Dropped after about 5 s of nothing, not sooner or much later. */
	assert_in_range(waited_ns, 4 * NS_PER_SEC, 8 * NS_PER_SEC);
	source_close(s);
	server_stop(&sv);
	free(x);
	free(ogg.data);
}

/* Times source_close(); asserts it took under 200 ms. */
static void
close_quickly(struct source *s)
{
	int64_t t0_ns = util_now_mono_ns(), took_ns;

	source_close(s);
	took_ns = util_now_mono_ns() - t0_ns;
	assert_in_range(took_ns, 0, 200 * NS_PER_MS);
}

static void
test_stream_close_is_quick(void **state)
{
	struct bytes ogg = {0};
	struct server sv = {.never_answer = true};
	struct sockaddr_in sa;
	char url[128], err[256] = "";
	struct source *s;
	float x[2 * 64];
	int filler;

	(void)state;
	/* Accepted, request read, never an answer. */
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	while (atomic_load(&sv.accepted) == 0)
		util_sleep_ns(5 * NS_PER_MS);
	util_sleep_ns(300 * NS_PER_MS);
	assert_int_equal(source_state(s), SOURCE_STARTING);
	close_quickly(s);
	server_stop(&sv);

	/* Still connecting: a listener that never accepts and whose
	 * backlog a first client already fills, so the SYN goes
	 * unanswered. */
	memset(&sv, 0, sizeof(sv));
	sv.no_accept = true;
	server_start(&sv);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(filler >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)sv.port);
	assert_int_equal(
	    connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	util_sleep_ns(300 * NS_PER_MS);
	assert_int_equal(source_state(s), SOURCE_STARTING);
	close_quickly(s);
	close(filler);
	server_stop(&sv);

	/* Mid-transfer: a slow feed that has started to play. */
	encode_link(&ogg, 48000, 2, 1000.0, 0.5, 3.0, 41, "slow");
	memset(&sv, 0, sizeof(sv));
	sv.status = "200 OK";
	sv.content_type = "application/ogg";
	sv.body = ogg.data;
	sv.body_len = sv.send_len = ogg.len;
	sv.pace_bytes = 1000;
	sv.pace_ms = 20;
	server_start(&sv);
	s = open_stream(&sv, url, sizeof(url), err, sizeof(err));
	wait_state(s, SOURCE_RUNNING, 3000);
	assert_true(read_frames(s, x, 64, 2, 1000) > 0);
	close_quickly(s);
	server_stop(&sv);
	free(ogg.data);
}

static void
test_stream_bad_url(void **state)
{
	struct source_spec spec = {.name = "u",
	    .kind = SCHEDULE_SOURCE_STREAM,
	    .url = "ftp://127.0.0.1/x.ogg"};
	char err[256] = "";

	(void)state;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "ftp://127.0.0.1/x.ogg"));
	assert_non_null(strstr(err, "http://"));
	spec.url = NULL;
	assert_null(open_spec(&spec, 2, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_ahead),
	    cmocka_unit_test(test_file_ahead_on_air),
	    cmocka_unit_test(test_file_exact),
	    cmocka_unit_test(test_file_skip),
	    cmocka_unit_test(test_file_resampled),
	    cmocka_unit_test(test_file_missing_and_corrupt),
	    cmocka_unit_test(test_fifo_refused),
	    cmocka_unit_test(test_playlist_empty_dir),
	    cmocka_unit_test(test_playlist_resume),
	    cmocka_unit_test(test_playlist_resume_repeated),
	    cmocka_unit_test(test_source_stale),
	    cmocka_unit_test(test_probe_duration),
	    cmocka_unit_test(test_playlist_dir),
	    cmocka_unit_test(test_playlist_m3u),
	    cmocka_unit_test(test_playlist_unplayable),
	    cmocka_unit_test(test_playlist_shuffle),
	    cmocka_unit_test(test_tone),
	    cmocka_unit_test(test_silence),
	    cmocka_unit_test(test_stream_plays),
	    cmocka_unit_test(test_stream_chained),
	    cmocka_unit_test(test_stream_backpressure),
	    cmocka_unit_test(test_stream_http_errors),
	    cmocka_unit_test(test_stream_refused),
	    cmocka_unit_test(test_stream_cut),
	    cmocka_unit_test(test_stream_stall),
	    cmocka_unit_test(test_stream_close_is_quick),
	    cmocka_unit_test(test_stream_bad_url),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
