/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the live input: the tone (level, frequency, phase
 * continuity, clock pacing, exact silence), stdin through a pipe dup2'd
 * onto fd 0 (s16le, f32le, partial frames, idle timeout, EOF), the file
 * backend (end of file, loop), ALSA through alsa-lib's `file` plugin
 * (bit-exact capture via "default", FIELD-NOTES 5.3) and a missing device,
 * and the input thread (tone into the ring, silence while the source is
 * missing, reopen when it appears, prompt stop, silence through a stalled
 * stdin producer and a bounded backlog after it).
 *
 * The ALSA test points HOME at a temp dir holding an .asoundrc, so the
 * machine's ALSA config is never read or touched.
 *
 * Threads: the tests run on the main thread; input_start() adds one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "input.h"
#include "test_tmpdir.h"
#include "ring.h"
#include "stats.h"
#include "util.h"

#define TWO_PI 6.283185307179586

static char tmpdir[256];

static int
setup(void **state)
{
	char path[512];
	FILE *fp;

	(void)state;
	test_tmpdir_template(tmpdir, sizeof(tmpdir), "test_input");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* Before anything touches ALSA: its config comes from this HOME. */
	snprintf(path, sizeof(path), "%s/.asoundrc", tmpdir);
	fp = fopen(path, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp,
	    "pcm.filein { type file; slave.pcm \"null\"; file \"/dev/null\"; "
	    "infile \"%s/in.raw\"; format \"raw\" }\n"
	    "pcm.!default { type plug; slave.pcm \"filein\" }\n"
	    "pcm.fifoin { type file; slave.pcm \"null\"; file \"/dev/null\"; "
	    "infile \"%s/in.fifo\"; format \"raw\" }\n"
	    "pcm.fifo { type plug; slave.pcm \"fifoin\" }\n",
	    tmpdir, tmpdir);
	fclose(fp);
	setenv("HOME", tmpdir, 1);
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

static struct input_config
base_config(enum input_type type, int rate_hz, int channels)
{
	struct input_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.type = type;
	cfg.rate_hz = rate_hz;
	cfg.channels = channels;
	cfg.format = SAMPLE_S16LE;
	cfg.frequency_hz = 1000.0;
	cfg.level_dbfs = -6.0;
	cfg.silence_threshold_dbfs = -50.0;
	return cfg;
}

/* ------------------------------------------------------------------ */
/* Tone */

static void
test_tone_level_frequency_pacing(void **state)
{
	struct input_config cfg = base_config(INPUT_TONE, 48000, 2);
	const size_t total = 2 * 48000;
	struct input_backend *b = NULL;
	char err[256] = "";
	float *x, peak = 0.0f, max_step = 0.0f;
	size_t n = 0, i;
	int64_t t0, elapsed_ns, audio_ns;
	int cycles = 0;
	ssize_t got;

	(void)state;
	x = calloc((total + 4800) * 2, sizeof(float));
	assert_non_null(x);
	assert_int_equal(input_tone_ops.open(&cfg, &b, err, sizeof(err)), 0);
	t0 = util_now_mono_ns();
	while (n < total) {
		/* Odd request sizes: the phase must still be continuous. */
		size_t ask = total - n < 1237 ? total - n : 1237;
		got = input_tone_ops.read(b, x + n * 2, ask, err, sizeof(err));
		assert_true(got > 0 && (size_t)got <= ask);
		n += (size_t)got;
	}
	elapsed_ns = util_now_mono_ns() - t0;
	input_tone_ops.close(b);

	/* Paced by the clock: frames delivered match the time taken. */
	audio_ns = (int64_t)n * NS_PER_SEC / 48000;
	assert_true(llabs(audio_ns - elapsed_ns) < 20 * NS_PER_MS);

	for (i = 0; i < n; i++) {
		assert_true(x[2 * i] == x[2 * i + 1]); /* every channel */
		peak = fmaxf(peak, fabsf(x[2 * i]));
		if (i > 0) {
			max_step = fmaxf(max_step, fabsf(x[2 * i] -
			    x[2 * i - 2]));
			if (x[2 * i - 2] < 0.0f && x[2 * i] >= 0.0f)
				cycles++;
		}
	}
	/* -6 dBFS peak = 0.501. */
	assert_true(fabsf(peak - 0.50119f) < 0.001f);
	/* 1 kHz: 2000 cycles in 2 s (the first up-crossing is at 0). */
	assert_in_range(cycles, 1999, 2001);
	/* No phase jump anywhere: the largest step of a continuous sine is
	 * amplitude * 2 pi f / rate = 0.0656. */
	assert_true(max_step < 0.0660f);
	free(x);
}

static void
test_tone_zero_hz_is_exact_silence(void **state)
{
	struct input_config cfg = base_config(INPUT_TONE, 44100, 2);
	struct input_backend *b = NULL;
	char err[256] = "";
	float x[2 * 2000], zero[2 * 2000];
	size_t i;
	ssize_t got;

	(void)state;
	cfg.frequency_hz = 0.0;
	cfg.level_dbfs = 0.0;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(input_tone_ops.open(&cfg, &b, err, sizeof(err)), 0);
	for (i = 0; i < 5; i++) {
		memset(x, 0x7f, sizeof(x));
		/* What was asked, up to ~100 ms (input.c asks for what the
		 * engine waits for). */
		got = input_tone_ops.read(
		    b, x, i == 0 ? 2000 : 1000, err, sizeof(err));
		assert_int_equal(got, i == 0 ? 2000 : 1000);
		/* All bits zero: not -0.0f, not a tiny value. */
		assert_memory_equal(x, zero, (size_t)got * 2 * sizeof(float));
	}
	input_tone_ops.close(b);

	/* A frequency at or above Nyquist is refused. */
	cfg.frequency_hz = 30000.0;
	assert_int_equal(input_tone_ops.open(&cfg, &b, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "frequency"));
}

/* ------------------------------------------------------------------ */
/* Stdin */

struct stdin_pipe {
	int saved_fd0;
	int write_fd;
};

static void
stdin_pipe_begin(struct stdin_pipe *p)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	p->saved_fd0 = dup(STDIN_FILENO);
	assert_true(p->saved_fd0 >= 0);
	assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	p->write_fd = fds[1];
}

static void
stdin_pipe_end(struct stdin_pipe *p)
{
	if (p->write_fd >= 0)
		close(p->write_fd);
	dup2(p->saved_fd0, STDIN_FILENO);
	close(p->saved_fd0);
}

static void
write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void
test_stdin_s16le(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 44100, 2);
	static const int16_t pcm[] = { 0, 16384, -16384, 32767, -32768, 1,
		-1, 8192 };
	static const float want[] = { 0.0f, 0.5f, -0.5f, 32767.0f / 32768.0f,
		-1.0f, 1.0f / 32768.0f, -1.0f / 32768.0f, 0.25f };
	unsigned char bytes[sizeof(pcm)];
	struct input_backend *b = NULL;
	struct stdin_pipe p;
	char err[256] = "";
	float x[64];
	size_t i;

	(void)state;
	/* Little-endian on the wire whatever the host is. */
	for (i = 0; i < RELAY_ARRAY_LEN(pcm); i++) {
		bytes[2 * i] = (unsigned char)((uint16_t)pcm[i] & 0xff);
		bytes[2 * i + 1] = (unsigned char)((uint16_t)pcm[i] >> 8);
	}
	stdin_pipe_begin(&p);
	assert_int_equal(input_stdin_ops.open(&cfg, &b, err, sizeof(err)), 0);
	write_all(p.write_fd, bytes, sizeof(bytes));
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)), 4);
	for (i = 0; i < RELAY_ARRAY_LEN(want); i++)
		assert_true(fabsf(x[i] - want[i]) < 1e-7f);

	/* EOF: the writer goes away. */
	close(p.write_fd);
	p.write_fd = -1;
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)),
	    -EPIPE);
	assert_string_equal(err, "stdin closed");
	input_stdin_ops.close(b);
	stdin_pipe_end(&p);
}

static void
test_stdin_f32le_and_partial_frames(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 48000, 2);
	static const float pcm[] = { 0.25f, -0.75f, 0.125f, 1.0f };
	struct input_backend *b = NULL;
	struct stdin_pipe p;
	char err[256] = "";
	float x[64];
	int64_t t0, waited_ns;

	(void)state;
	cfg.format = SAMPLE_F32LE;
	stdin_pipe_begin(&p);
	assert_int_equal(input_stdin_ops.open(&cfg, &b, err, sizeof(err)), 0);

	/* Nothing arrives: 0 after about 100 ms, never a hang. */
	t0 = util_now_mono_ns();
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)), 0);
	waited_ns = util_now_mono_ns() - t0;
	assert_true(waited_ns > 50 * NS_PER_MS && waited_ns < 400 * NS_PER_MS);

	/* One frame and 3 bytes of the next: one frame comes out... */
	write_all(p.write_fd, pcm, 8 + 3);
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)), 1);
	assert_true(x[0] == 0.25f && x[1] == -0.75f);
	/* ...and the rest of the second frame completes it. */
	write_all(p.write_fd, (const unsigned char *)pcm + 11, 5);
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)), 1);
	assert_true(x[0] == 0.125f && x[1] == 1.0f);

	/* A lone partial frame is not a frame. */
	write_all(p.write_fd, pcm, 5);
	assert_int_equal(input_stdin_ops.read(b, x, 32, err, sizeof(err)), 0);
	input_stdin_ops.close(b);
	stdin_pipe_end(&p);
}

/* ------------------------------------------------------------------ */
/* File */

/* Writes a 16-bit stereo WAV of frames frames: left ramps, right is the
 * negated ramp, so every frame is distinct. */
static void
write_ramp_wav(const char *path, int rate_hz, size_t frames)
{
	SF_INFO info;
	SNDFILE *sf;
	short *pcm;
	size_t i;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate_hz;
	info.channels = 2;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	pcm = calloc(frames * 2, sizeof(short));
	assert_non_null(pcm);
	for (i = 0; i < frames; i++) {
		pcm[2 * i] = (short)(i % 30000 + 1);
		pcm[2 * i + 1] = (short)-(short)(i % 30000 + 1);
	}
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_writef_short(sf, pcm, (sf_count_t)frames),
	    (sf_count_t)frames);
	sf_close(sf);
	free(pcm);
}

static float
ramp_value(size_t i)
{
	return (float)(int)(i % 30000 + 1) / 32768.0f;
}

static void
test_file_end_and_loop(void **state)
{
	struct input_config cfg = base_config(INPUT_FILE, 44100, 2);
	const size_t file_frames = 8820; /* 200 ms */
	struct input_backend *b = NULL;
	char path[512], err[256] = "";
	float x[2 * 4096];
	size_t n = 0, i;
	int64_t t0, elapsed_ns;
	ssize_t got;

	(void)state;
	snprintf(path, sizeof(path), "%s/ramp.wav", tmpdir);
	write_ramp_wav(path, 44100, file_frames);
	cfg.path = path;

	/* loop = no: the whole file, paced, then -EPIPE. */
	cfg.loop = false;
	assert_int_equal(input_file_ops.open(&cfg, &b, err, sizeof(err)), 0);
	t0 = util_now_mono_ns();
	for (;;) {
		got = input_file_ops.read(b, x, 4096, err, sizeof(err));
		if (got < 0)
			break;
		assert_true(got > 0);
		for (i = 0; i < (size_t)got; i++) {
			assert_true(x[2 * i] == ramp_value(n + i));
			assert_true(x[2 * i + 1] == -ramp_value(n + i));
		}
		n += (size_t)got;
	}
	elapsed_ns = util_now_mono_ns() - t0;
	assert_int_equal(got, -EPIPE);
	assert_non_null(strstr(err, "ramp.wav: end of file"));
	assert_int_equal(n, file_frames);
	assert_true(elapsed_ns > 180 * NS_PER_MS &&
	    elapsed_ns < 260 * NS_PER_MS);
	input_file_ops.close(b);

	/* loop = yes: after the last frame comes the first again. */
	cfg.loop = true;
	assert_int_equal(input_file_ops.open(&cfg, &b, err, sizeof(err)), 0);
	n = 0;
	while (n < file_frames + 3000) {
		got = input_file_ops.read(b, x, 4096, err, sizeof(err));
		assert_true(got > 0);
		for (i = 0; i < (size_t)got; i++)
			assert_true(x[2 * i] ==
			    ramp_value((n + i) % file_frames));
		n += (size_t)got;
	}
	input_file_ops.close(b);

	/* A missing file: a message with the path. */
	snprintf(path, sizeof(path), "/nonexistent/news.wav");
	assert_true(input_file_ops.open(&cfg, &b, err, sizeof(err)) < 0);
	assert_null(b);
	assert_string_equal(err,
	    "/nonexistent/news.wav: cannot open: No such file or directory");
}

/* ------------------------------------------------------------------ */
/* ALSA */

static int16_t
alsa_sample(size_t frame, int ch)
{
	double f = ch == 0 ? 440.0 : 660.0;

	return (int16_t)lrint(16000.0 * sin(TWO_PI * f * (double)frame /
					 44100.0));
}

static void
test_alsa_file_plugin_bit_exact(void **state)
{
	struct input_config cfg = base_config(INPUT_ALSA, 44100, 2);
	const size_t file_frames = 2 * 44100, want_frames = 44100;
	struct input_backend *b = NULL;
	char path[512], device[] = "default", err[512] = "";
	unsigned char *raw;
	float x[2 * 4096];
	size_t n = 0, i;
	ssize_t got;
	int c, idle = 0;
	FILE *fp;

	(void)state;
	raw = malloc(file_frames * 4);
	assert_non_null(raw);
	for (i = 0; i < file_frames; i++) {
		for (c = 0; c < 2; c++) {
			uint16_t u = (uint16_t)alsa_sample(i, c);

			raw[4 * i + 2 * (size_t)c] = (unsigned char)(u & 0xff);
			raw[4 * i + 2 * (size_t)c + 1] =
			    (unsigned char)(u >> 8);
		}
	}
	snprintf(path, sizeof(path), "%s/in.raw", tmpdir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(raw, 4, file_frames, fp), file_frames);
	fclose(fp);
	free(raw);

	cfg.device = device;
	cfg.period_frames = 1024;
	cfg.buffer_frames = 4096;
	if (input_alsa_ops.open(&cfg, &b, err, sizeof(err)) != 0)
		fail_msg("alsa open: %s", err);
	/* Only the first second: past the end of infile the plugin keeps
	 * returning frames without writing them (FIELD-NOTES 5.2/5.3). */
	while (n < want_frames) {
		size_t ask = want_frames - n < 4096 ? want_frames - n : 4096;

		got = input_alsa_ops.read(b, x, ask, err, sizeof(err));
		if (got < 0)
			fail_msg("alsa read: %s", err);
		if (got == 0) {
			assert_true(++idle < 20);
			continue;
		}
		for (i = 0; i < (size_t)got; i++)
			for (c = 0; c < 2; c++)
				if (x[2 * i + (size_t)c] !=
				    (float)alsa_sample(n + i, c) / 32768.0f)
					fail_msg("frame %zu ch %d: %f != %f",
					    n + i, c,
					    (double)x[2 * i + (size_t)c],
					    (double)alsa_sample(n + i, c) /
						32768.0);
		n += (size_t)got;
	}
	assert_int_equal(n, want_frames);
	input_alsa_ops.close(b);
}

/* Feeds the FIFO in real time, 1024 frames at a time, as ffmpeg -re
 * would. */
static void *
fifo_writer_thread(void *arg)
{
	const char *path = arg;
	unsigned char chunk[1024 * 4];
	int64_t start_ns, frames = 0;
	size_t i;
	int fd, c;

	/* Blocks until the plugin opens the read end. */
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return NULL;
	start_ns = util_now_mono_ns();
	while (frames < 44100 + 8192) {
		for (i = 0; i < 1024; i++) {
			for (c = 0; c < 2; c++) {
				uint16_t u = (uint16_t)alsa_sample(
				    (size_t)frames + i, c);

				chunk[4 * i + 2 * (size_t)c] =
				    (unsigned char)(u & 0xff);
				chunk[4 * i + 2 * (size_t)c + 1] =
				    (unsigned char)(u >> 8);
			}
		}
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			break;
		frames += 1024;
		util_sleep_until_mono_ns(start_ns +
		    frames * NS_PER_SEC / 44100);
	}
	close(fd);
	return NULL;
}

static void
test_alsa_fifo_real_time(void **state)
{
	struct input_config cfg = base_config(INPUT_ALSA, 44100, 2);
	const size_t want_frames = 44100;
	struct input_backend *b = NULL;
	char path[512], device[] = "fifo", err[512] = "";
	float x[2 * 4096];
	size_t n = 0, i;
	int64_t t0 = 0, elapsed_ns;
	pthread_t writer;
	ssize_t got;
	int c;

	(void)state;
	/* The writer must see EPIPE, not die, if the reader goes away. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/in.fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pthread_create(&writer, NULL, fifo_writer_thread,
	    path), 0);
	cfg.device = device;
	cfg.period_frames = 1024;
	cfg.buffer_frames = 4096;
	if (input_alsa_ops.open(&cfg, &b, err, sizeof(err)) != 0)
		fail_msg("alsa open: %s", err);
	while (n < want_frames) {
		got = input_alsa_ops.read(b, x, 4096, err, sizeof(err));
		if (got < 0)
			fail_msg("alsa read: %s", err);
		if (n == 0)
			t0 = util_now_mono_ns();
		for (i = 0; i < (size_t)got && n + i < want_frames; i++)
			for (c = 0; c < 2; c++)
				if (x[2 * i + (size_t)c] !=
				    (float)alsa_sample(n + i, c) / 32768.0f)
					fail_msg("frame %zu ch %d differs",
					    n + i, c);
		n += (size_t)got;
	}
	/* Paced by the writer: one second took about one second. */
	elapsed_ns = util_now_mono_ns() - t0;
	assert_true(elapsed_ns > 900 * NS_PER_MS &&
	    elapsed_ns < 1100 * NS_PER_MS);
	input_alsa_ops.close(b);
	pthread_join(writer, NULL);
}

static void
test_alsa_missing_device(void **state)
{
	struct input_config cfg = base_config(INPUT_ALSA, 44100, 2);
	struct input_backend *b = NULL;
	char device[] = "hw:9", err[512] = "";

	(void)state;
	cfg.device = device;
	assert_true(input_alsa_ops.open(&cfg, &b, err, sizeof(err)) < 0);
	assert_null(b);
	assert_true(strncmp(err, "hw:9: cannot open capture device: ", 34) ==
	    0);
}

/* ------------------------------------------------------------------ */
/* The input thread */

static void
test_thread_tone_into_ring_and_stop(void **state)
{
	struct input_config cfg = base_config(INPUT_TONE, 48000, 2);
	struct stats_snapshot before, after;
	struct ring *ring = ring_new(1 << 17, 2);
	struct input *in;
	char err[256] = "";
	float *x;
	size_t n, i;
	float peak = 0.0f;
	int64_t t0;

	(void)state;
	assert_non_null(ring);
	stats_snapshot(&before);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);
	util_sleep_ns(500 * NS_PER_MS);
	n = ring_readable(ring);
	/* 500 ms of audio in ~20 ms blocks: never ahead of the clock; the
	 * lower bound leaves room for a loaded machine. */
	assert_in_range(n, 12000, 24000 + 480);
	t0 = util_now_mono_ns();
	input_stop(in);
	assert_true(util_now_mono_ns() - t0 < 200 * NS_PER_MS);
	stats_snapshot(&after);
	assert_true(after.input.frames - before.input.frames >= n);

	x = calloc(n * 2, sizeof(float));
	assert_non_null(x);
	assert_int_equal(ring_read(ring, x, n), n);
	for (i = 0; i < n * 2; i++)
		peak = fmaxf(peak, fabsf(x[i]));
	assert_true(fabsf(peak - 0.50119f) < 0.001f);
	free(x);
	ring_free(ring);
}

static void
test_thread_silence_then_reopen(void **state)
{
	struct input_config cfg = base_config(INPUT_FILE, 44100, 2);
	struct stats_snapshot before, after;
	struct ring *ring = ring_new(1 << 17, 2);
	struct input *in;
	char path[512], err[256] = "";
	float *x;
	size_t n, i, nonzero = 0;
	int64_t t0;

	(void)state;
	assert_non_null(ring);
	snprintf(path, sizeof(path), "%s/later.wav", tmpdir);
	cfg.path = path;
	cfg.loop = true;
	stats_snapshot(&before);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);

	/* The file is missing: clock-paced digital silence. */
	util_sleep_ns(400 * NS_PER_MS);
	n = ring_readable(ring);
	assert_in_range(n, 8820, 17640 + 900);
	x = calloc(44100 * 4, sizeof(float));
	assert_non_null(x);
	assert_int_equal(ring_read(ring, x, n), n);
	for (i = 0; i < n * 2; i++)
		assert_true(x[i] == 0.0f);

	/* It appears; the retry 1 s after the failure opens it. */
	write_ramp_wav(path, 44100, 44100);
	util_sleep_ns(1000 * NS_PER_MS);
	n = ring_readable(ring);
	assert_true(n > 0 && n <= 44100 * 2);
	assert_int_equal(ring_read(ring, x, n), n);
	for (i = 0; i < n; i++)
		if (x[2 * i] != 0.0f)
			nonzero++;
	assert_true(nonzero > 4410);

	t0 = util_now_mono_ns();
	input_stop(in);
	assert_true(util_now_mono_ns() - t0 < 200 * NS_PER_MS);
	stats_snapshot(&after);
	assert_int_equal(after.input.reopens - before.input.reopens, 1);
	assert_non_null(strstr(after.input.last_error, "later.wav"));
	free(x);
	ring_free(ring);
}

static void
test_thread_stdin_eof_keeps_silence(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 44100, 1);
	struct ring *ring = ring_new(1 << 16, 1);
	static const int16_t pcm[4] = { 1000, 2000, 3000, 4000 };
	struct stdin_pipe p;
	struct input *in;
	char err[256] = "";
	float x[44100];
	size_t n, i;
	int64_t t0;

	(void)state;
	assert_non_null(ring);
	stdin_pipe_begin(&p);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);
	write_all(p.write_fd, pcm, sizeof(pcm));
	close(p.write_fd);
	p.write_fd = -1;
	util_sleep_ns(300 * NS_PER_MS);
	n = ring_readable(ring);
	/* The 4 samples, then ~300 ms of silence. */
	assert_in_range(n, 4 + 6615, 4 + 13230 + 900);
	assert_int_equal(ring_read(ring, x, n), n);
	assert_true(x[0] == 1000.0f / 32768.0f);
	assert_true(x[3] == 4000.0f / 32768.0f);
	for (i = 4; i < n; i++)
		assert_true(x[i] == 0.0f);

	/* Stop while idle returns promptly too. */
	t0 = util_now_mono_ns();
	input_stop(in);
	assert_true(util_now_mono_ns() - t0 < 200 * NS_PER_MS);
	stdin_pipe_end(&p);
	ring_free(ring);
}

/* Writes frames mono s16 frames of value v into fd, in pieces of piece
 * frames, one piece every piece frames' worth of time from start_ns
 * (piece = frames: all at once). */
static void
write_paced(int fd, int16_t v, size_t frames, size_t piece, int64_t start_ns)
{
	unsigned char *buf = malloc(piece * 2);
	size_t done = 0, i, n;

	assert_non_null(buf);
	for (i = 0; i < piece; i++) {
		buf[2 * i] = (unsigned char)((uint16_t)v & 0xff);
		buf[2 * i + 1] = (unsigned char)((uint16_t)v >> 8);
	}
	while (done < frames) {
		util_sleep_until_mono_ns(
		    start_ns + (int64_t)done * NS_PER_SEC / 44100);
		n = frames - done < piece ? frames - done : piece;
		write_all(fd, buf, n * 2);
		done += n;
	}
	free(buf);
}

/* A stdin producer stalls for 1.5 s, then delivers 1.5 s of backlog at
 * once and goes on in real time. The gap is filled with silence (the
 * stream never stops), and of the backlog only about the 0.5 s slack is
 * kept, so the stream stays level with the clock instead of 1.5 s late. */
static void
test_thread_stdin_gap_filled_and_backlog_bounded(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 44100, 1);
	struct ring *ring = ring_new(1 << 20, 1);
	const float a = 1000.0f / 32768.0f, b = 2000.0f / 32768.0f;
	const float c = 3000.0f / 32768.0f;
	size_t n, i, count[4] = {0, 0, 0, 0}, order = 0;
	struct stdin_pipe p;
	struct input *in;
	char err[256] = "";
	int64_t t0, wall_ns;
	float *x, v;
	int k;

	(void)state;
	assert_non_null(ring);
	stdin_pipe_begin(&p);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);
	t0 = util_now_mono_ns();
	/* 0.3 s live, a 1.5 s stall, 1.5 s of backlog at once, then 0.5 s
	 * in real time. */
	write_paced(p.write_fd, 1000, 13230, 4410, t0);
	write_paced(p.write_fd, 2000, 66150, 66150, t0 + 1800 * NS_PER_MS);
	write_paced(p.write_fd, 3000, 22050, 4410, t0 + 1800 * NS_PER_MS);
	util_sleep_until_mono_ns(t0 + 2450 * NS_PER_MS);
	input_stop(in);
	wall_ns = util_now_mono_ns() - t0;
	stdin_pipe_end(&p);

	n = ring_readable(ring);
	x = calloc(n, sizeof(float));
	assert_non_null(x);
	assert_int_equal(ring_read(ring, x, n), n);
	/* In order: A, silence, B, C; each run counted. */
	for (i = 0; i < n; i++) {
		v = x[i];
		k = v == a ? 0 : v == 0.0f ? 1 : v == b ? 2 : v == c ? 3 : -1;
		if (k < 0)
			fail_msg("frame %zu: unexpected value %g", i, (double)v);
		if ((size_t)k < order)
			fail_msg("frame %zu: value %g after a later run", i,
			    (double)v);
		order = (size_t)k;
		count[k]++;
	}
	print_message("live %zu, silence %zu, backlog kept %zu, after %zu "
		      "frames; %zu frames in %.2f s\n",
	    count[0], count[1], count[2], count[3], n, (double)wall_ns / 1e9);
	assert_int_equal(count[0], 13230);
	/* The gap: 1.5 s of stall plus up to one 0.1 s piece. */
	if (count[1] < 44100 * 13 / 10 || count[1] > 44100 * 18 / 10)
		fail_msg("%zu frames of silence for a 1.5 s stall", count[1]);
	if (count[2] < 44100 * 3 / 10 || count[2] > 44100 * 7 / 10)
		fail_msg("%zu frames of the 1.5 s backlog kept (want about "
			 "0.5 s)",
		    count[2]);
	if (count[3] < 44100 * 3 / 10)
		fail_msg("%zu frames of live audio after the backlog",
		    count[3]);
	/* Level with the clock: never the whole backlog on top. */
	assert_true((double)n / 44100.0 < (double)wall_ns / 1e9 + 0.7);
	free(x);
	ring_free(ring);
}

/* Voluntary context switches of the one thread of this process that is
 * not the caller (the input thread), or -1. */
static long
other_thread_wakeups(void)
{
	char path[96], line[128];
	struct dirent *d;
	long v = -1;
	DIR *dir;
	FILE *f;

	dir = opendir("/proc/self/task");
	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || atol(d->d_name) == (long)gettid())
			continue;
		snprintf(
		    path, sizeof(path), "/proc/self/task/%s/status", d->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
				v = atol(line + 24);
		fclose(f);
	}
	closedir(dir);
	return v;
}

/* Issue 11: a producer writing every 5 ms woke the input thread 200 times
 * a second. It now sleeps until the engine's next block can be complete
 * (48 kHz: 23 blocks a second) and wakes 1-2 times per block, and each
 * block still reaches the ring within about the 10 ms slack of its last
 * frame being written (the test sees the ring every 5 ms). */
static void
test_thread_stdin_wakes_per_block_not_per_write(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 48000, 1);
	struct ring *ring = ring_new(1 << 16, 1);
	const size_t block = RING_ENGINE_BLOCK_FRAMES, piece = 240;
	int64_t t0, done_ns[64], late_ns = 0, now;
	float *x = calloc(block, sizeof(float));
	size_t written = 0, blocks_done = 0, blocks_seen = 0, k;
	unsigned char buf[240 * 2];
	struct stdin_pipe p;
	struct input *in;
	char err[256] = "";
	long w0, w1;

	(void)state;
	assert_non_null(ring);
	assert_non_null(x);
	memset(buf, 0x10, sizeof(buf));
	stdin_pipe_begin(&p);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);
	util_sleep_ns(50 * NS_PER_MS); /* opened, waiting on the pipe */
	w0 = other_thread_wakeups();
	t0 = util_now_mono_ns();
	for (k = 0; k < 240; k++) { /* 1.2 s */
		util_sleep_until_mono_ns(t0 + (int64_t)k * 5 * NS_PER_MS);
		now = util_now_mono_ns();
		/* What the input delivered since: read in whole blocks, as
		 * the engine does. */
		while (ring_readable(ring) >= block) {
			assert_int_equal(ring_read(ring, x, block), block);
			assert_true(blocks_seen < blocks_done);
			late_ns += now - done_ns[blocks_seen++];
		}
		write_all(p.write_fd, buf, sizeof(buf));
		written += piece;
		if (written >= (blocks_done + 1) * block &&
		    blocks_done < RELAY_ARRAY_LEN(done_ns))
			done_ns[blocks_done++] = util_now_mono_ns();
	}
	w1 = other_thread_wakeups();
	input_stop(in);
	stdin_pipe_end(&p);
	print_message("%ld wake-ups for 240 writes, %zu blocks; a block "
		      "reached the ring %.1f ms after its last write on "
		      "average\n",
	    w1 - w0, blocks_seen,
	    blocks_seen > 0 ? (double)late_ns / 1e6 / (double)blocks_seen
			    : 0.0);
	assert_true(w0 >= 0 && w1 >= w0);
	assert_true(blocks_seen >= 25);
	if (w1 - w0 > 100)
		fail_msg("%ld wake-ups for 28 blocks", w1 - w0);
	if (late_ns / (int64_t)blocks_seen > 20 * NS_PER_MS)
		fail_msg("blocks reach the ring %.1f ms late on average",
		    (double)late_ns / 1e6 / (double)blocks_seen);
	free(x);
	ring_free(ring);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The engine may wait for the frame where a page can close, short of a
 * block, after the input went to sleep until the block's end: the input
 * reads no later than the page's frame (ring_set_page_at()), within a
 * millisecond or two of its write. It slept to the block's end plus the
 * 10 ms slack (32 ms late on average here: the pages' frames sit 1048
 * frames, 22 ms, before a block's end), and with the page known but the
 * same slack, 9 ms late. The test reads whole blocks, as the engine does,
 * and sees the ring every millisecond. */
static void
test_thread_stdin_reads_the_page_frame_on_time(void **state)
{
	struct input_config cfg = base_config(INPUT_STDIN, 48000, 1);
	struct ring *ring = ring_new(1 << 16, 1);
	const size_t block = RING_ENGINE_BLOCK_FRAMES, piece = 240;
	int64_t t0, written_ns = 0, late_ns = 0, now, late[16], median;
	float *x = calloc(block, sizeof(float));
	size_t written = 0, taken = 0, page, pages = 0, k;
	unsigned char buf[240 * 2];
	struct stdin_pipe p;
	struct input *in;
	char err[256] = "";

	(void)state;
	assert_non_null(ring);
	assert_non_null(x);
	memset(buf, 0x10, sizeof(buf));
	stdin_pipe_begin(&p);
	in = input_start(&cfg, ring, err, sizeof(err));
	assert_non_null(in);
	util_sleep_ns(50 * NS_PER_MS); /* opened, waiting on the pipe */
	page = 2 * block - 1048;
	ring_set_page_at(ring, page);
	t0 = util_now_mono_ns();
	for (k = 0; k < 1200; k++) { /* 1.2 s */
		util_sleep_until_mono_ns(t0 + (int64_t)k * NS_PER_MS);
		now = util_now_mono_ns();
		if (page > 0 && written >= page &&
		    taken + ring_readable(ring) >= page) {
			late_ns += now - written_ns;
			if (pages < sizeof(late) / sizeof(late[0]))
				late[pages] = now - written_ns;
			pages++;
			page += 5 * block;
			ring_set_page_at(ring, page - taken);
		}
		while (ring_readable(ring) >= block) {
			assert_int_equal(ring_read(ring, x, block), block);
			taken += block;
		}
		if (k % 5 == 0) {
			write_all(p.write_fd, buf, sizeof(buf));
			written += piece;
			if (written >= page && written - piece < page)
				written_ns = util_now_mono_ns();
		}
	}
	input_stop(in);
	stdin_pipe_end(&p);
	print_message("%zu pages; each page's frame reached the ring %.1f ms "
		      "after its write on average\n",
	    pages, pages > 0 ? (double)late_ns / 1e6 / (double)pages : 0.0);
	assert_true(pages >= 4);
	/* The median, with room for a loaded machine's scheduling delays
	 * (a test run beside others): the old pacing was 32 ms late on
	 * average here and never under the 22 ms to the block's end, the new
	 * 1-2 ms. */
	if (pages > sizeof(late) / sizeof(late[0]))
		pages = sizeof(late) / sizeof(late[0]);
	qsort(late, pages, sizeof(late[0]), cmp_int64);
	median = late[pages / 2];
	if (median > 16 * NS_PER_MS)
		fail_msg("a page's frame reaches the ring %.1f ms late (median)",
		    (double)median / 1e6);
	free(x);
	ring_free(ring);
}

static void
test_ops_for(void **state)
{
	(void)state;
	assert_ptr_equal(input_ops_for(INPUT_TONE), &input_tone_ops);
	assert_ptr_equal(input_ops_for(INPUT_STDIN), &input_stdin_ops);
	assert_ptr_equal(input_ops_for(INPUT_FILE), &input_file_ops);
	assert_ptr_equal(input_ops_for(INPUT_ALSA), &input_alsa_ops);
	assert_string_equal(input_ops_for(INPUT_ALSA)->name, "alsa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_for),
		cmocka_unit_test(
		    test_thread_stdin_wakes_per_block_not_per_write),
		cmocka_unit_test(
		    test_thread_stdin_reads_the_page_frame_on_time),
		cmocka_unit_test(test_tone_level_frequency_pacing),
		cmocka_unit_test(test_tone_zero_hz_is_exact_silence),
		cmocka_unit_test(test_stdin_s16le),
		cmocka_unit_test(test_stdin_f32le_and_partial_frames),
		cmocka_unit_test(test_file_end_and_loop),
		cmocka_unit_test(test_alsa_file_plugin_bit_exact),
		cmocka_unit_test(test_alsa_fifo_real_time),
		cmocka_unit_test(test_alsa_missing_device),
		cmocka_unit_test(test_thread_tone_into_ring_and_stop),
		cmocka_unit_test(test_thread_silence_then_reopen),
		cmocka_unit_test(test_thread_stdin_eof_keeps_silence),
		cmocka_unit_test(
		    test_thread_stdin_gap_filled_and_backlog_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
