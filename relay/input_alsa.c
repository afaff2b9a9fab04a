/* SPDX-License-Identifier: MIT */
/*
 * ALSA capture input: [input] device (e.g. "default", "hw:1,0",
 * "plughw:CARD=USB"), interleaved, at exactly the programme rate and
 * channel count. The sample format is S16_LE when the device offers it,
 * else FLOAT_LE, else S32_LE, converted to float with convert_to_float().
 *
 * Waiting: snd_pcm_wait(pcm, 100) then a non-blocking readi of at most
 * one period, so a read returns within ~100 ms when no audio comes and the
 * input thread can see a stop request. The PCM is opened with
 * SND_PCM_NONBLOCK: a blocking open of a busy hw device waits until the
 * other user closes it, which would hang input_stop(). Reading one period
 * at a time also keeps the alsa-lib `file` plugin fed from a FIFO (the CI
 * fixture, FIELD-NOTES 5.3) exact: larger reads came back half unwritten
 * when the FIFO held less than asked.
 *
 * Errors: an overrun (-EPIPE) is counted in stats (xruns) and recovered
 * with snd_pcm_prepare() + snd_pcm_start(); a suspend (-ESTRPIPE) with
 * snd_pcm_resume(), or prepare when the driver cannot resume. Anything
 * else is returned with a message naming the device, and input.c reopens.
 * alsa-lib prints its own diagnostics on stderr by default; we route them
 * through snd_lib_error_set_handler() into a per-thread buffer and add the
 * first one to our message instead ("cannot find card '9'").
 *
 * ALSA types stay in this file; alsa-lib itself is loaded at the first
 * open (dynlib.h), so its functions are called through asound.
 *
 * Threads: the ops run on the input thread only. The error handler is
 * process-wide but writes only to the calling thread's buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <alsa/asoundlib.h>

#include "convert.h"
#include "dynlib.h"
#include "input.h"
#include "stats.h"

#define ALSA_WAIT_MS 100
/* Frames per read when the device reports no period size. */
#define ALSA_DEFAULT_READ_FRAMES 1024
#define ALSA_RESUME_TRIES 10

/* alsa-lib, loaded when an ALSA input first opens (dynlib.h): a station
 * without one does not map it. */
static struct {
	__typeof__(snd_lib_error_set_handler) *lib_error_set_handler;
	__typeof__(snd_pcm_avail_update) *pcm_avail_update;
	__typeof__(snd_pcm_close) *pcm_close;
	__typeof__(snd_pcm_hw_params) *pcm_hw_params;
	__typeof__(snd_pcm_hw_params_any) *pcm_hw_params_any;
	__typeof__(snd_pcm_hw_params_free) *pcm_hw_params_free;
	__typeof__(snd_pcm_hw_params_get_channels_max)
	    *pcm_hw_params_get_channels_max;
	__typeof__(snd_pcm_hw_params_get_channels_min)
	    *pcm_hw_params_get_channels_min;
	__typeof__(snd_pcm_hw_params_get_period_size)
	    *pcm_hw_params_get_period_size;
	__typeof__(snd_pcm_hw_params_malloc) *pcm_hw_params_malloc;
	__typeof__(snd_pcm_hw_params_set_access) *pcm_hw_params_set_access;
	__typeof__(snd_pcm_hw_params_set_buffer_size_near)
	    *pcm_hw_params_set_buffer_size_near;
	__typeof__(snd_pcm_hw_params_set_channels) *pcm_hw_params_set_channels;
	__typeof__(snd_pcm_hw_params_set_format) *pcm_hw_params_set_format;
	__typeof__(snd_pcm_hw_params_set_period_size_near)
	    *pcm_hw_params_set_period_size_near;
	__typeof__(snd_pcm_hw_params_set_rate_near)
	    *pcm_hw_params_set_rate_near;
	__typeof__(snd_pcm_hw_params_test_format) *pcm_hw_params_test_format;
	__typeof__(snd_pcm_open) *pcm_open;
	__typeof__(snd_pcm_prepare) *pcm_prepare;
	__typeof__(snd_pcm_readi) *pcm_readi;
	__typeof__(snd_pcm_resume) *pcm_resume;
	__typeof__(snd_pcm_start) *pcm_start;
	__typeof__(snd_pcm_wait) *pcm_wait;
	__typeof__(snd_strerror) *strerror;
} asound;

/* alsa-lib keeps two versions of some hw_params calls; the header (and
 * the linker) pick the current API, ALSA_0.9.0rc4, so dlvsym() does too. */
#define NEW_HW "ALSA_0.9.0rc4"
static const struct dynlib_sym asound_syms[] = {
    {"snd_lib_error_set_handler", (void **)&asound.lib_error_set_handler, NULL},
    {"snd_pcm_avail_update", (void **)&asound.pcm_avail_update, NULL},
    {"snd_pcm_close", (void **)&asound.pcm_close, NULL},
    {"snd_pcm_hw_params", (void **)&asound.pcm_hw_params, NULL},
    {"snd_pcm_hw_params_any", (void **)&asound.pcm_hw_params_any, NULL},
    {"snd_pcm_hw_params_free", (void **)&asound.pcm_hw_params_free, NULL},
    {"snd_pcm_hw_params_get_channels_max",
	(void **)&asound.pcm_hw_params_get_channels_max, NEW_HW},
    {"snd_pcm_hw_params_get_channels_min",
	(void **)&asound.pcm_hw_params_get_channels_min, NEW_HW},
    {"snd_pcm_hw_params_get_period_size",
	(void **)&asound.pcm_hw_params_get_period_size, NEW_HW},
    {"snd_pcm_hw_params_malloc", (void **)&asound.pcm_hw_params_malloc, NULL},
    {"snd_pcm_hw_params_set_access", (void **)&asound.pcm_hw_params_set_access,
	NULL},
    {"snd_pcm_hw_params_set_buffer_size_near",
	(void **)&asound.pcm_hw_params_set_buffer_size_near, NEW_HW},
    {"snd_pcm_hw_params_set_channels",
	(void **)&asound.pcm_hw_params_set_channels, NULL},
    {"snd_pcm_hw_params_set_format", (void **)&asound.pcm_hw_params_set_format,
	NULL},
    {"snd_pcm_hw_params_set_period_size_near",
	(void **)&asound.pcm_hw_params_set_period_size_near, NEW_HW},
    {"snd_pcm_hw_params_set_rate_near",
	(void **)&asound.pcm_hw_params_set_rate_near, NEW_HW},
    {"snd_pcm_hw_params_test_format",
	(void **)&asound.pcm_hw_params_test_format, NULL},
    {"snd_pcm_open", (void **)&asound.pcm_open, NULL},
    {"snd_pcm_prepare", (void **)&asound.pcm_prepare, NULL},
    {"snd_pcm_readi", (void **)&asound.pcm_readi, NULL},
    {"snd_pcm_resume", (void **)&asound.pcm_resume, NULL},
    {"snd_pcm_start", (void **)&asound.pcm_start, NULL},
    {"snd_pcm_wait", (void **)&asound.pcm_wait, NULL},
    {"snd_strerror", (void **)&asound.strerror, NULL},
    {NULL, NULL, NULL},
};

static struct dynlib asound_lib =
    DYNLIB_INIT("libasound.so.2", "libasound2", asound_syms);

struct input_backend {
	snd_pcm_t *pcm;
	char device[128];
	int channels;
	enum sample_format format; /* what readi delivers */
	unsigned char *raw;	   /* raw_frames frames in that format */
	size_t raw_frames;
	size_t frame_bytes;
};

/* The first alsa-lib diagnostic since clear_alsa_message(). */
static _Thread_local char alsa_message[256];

static void alsa_error_cb(const char *file, int line, const char *function,
    int err, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* alsa-lib diagnostics land here instead of on stderr.
 * Runs on: whichever thread called alsa-lib (the input thread). */
static void
alsa_error_cb(const char *file, int line, const char *function, int err,
    const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)function;
	(void)err;
	if (alsa_message[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(alsa_message, sizeof(alsa_message), fmt, ap);
	va_end(ap);
}

/* Forgets the last diagnostic before a new call sequence. */
static void
clear_alsa_message(void)
{
	alsa_message[0] = '\0';
}

/* Fills err with "DEVICE: what: strerror (ALSA: first diagnostic)". */
static int
set_error(
    struct input_backend *b, char *err, size_t errlen, const char *what, int rc)
{
	if (alsa_message[0] != '\0')
		snprintf(err, errlen, "%s: %s: %s (ALSA: %s)", b->device, what,
		    asound.strerror(rc), alsa_message);
	else
		snprintf(err, errlen, "%s: %s: %s", b->device, what,
		    asound.strerror(rc));
	return rc;
}

/* Runs on: the input thread. */
static void
alsa_close(struct input_backend *b)
{
	if (b == NULL)
		return;
	if (b->pcm != NULL)
		asound.pcm_close(b->pcm);
	free(b->raw);
	free(b);
}

/* Picks the first format of ours the device offers. */
static int
choose_format(
    struct input_backend *b, snd_pcm_hw_params_t *hw, char *err, size_t errlen)
{
	static const struct {
		snd_pcm_format_t alsa;
		enum sample_format ours;
	} formats[] = {
	    {SND_PCM_FORMAT_S16_LE, SAMPLE_S16LE},
	    {SND_PCM_FORMAT_FLOAT_LE, SAMPLE_F32LE},
	    {SND_PCM_FORMAT_S32_LE, SAMPLE_S32LE},
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (asound.pcm_hw_params_test_format(
			b->pcm, hw, formats[i].alsa) != 0)
			continue;
		rc = asound.pcm_hw_params_set_format(
		    b->pcm, hw, formats[i].alsa);
		if (rc < 0)
			return set_error(
			    b, err, errlen, "cannot set sample format", rc);
		b->format = formats[i].ours;
		return 0;
	}
	snprintf(err, errlen,
	    "%s: offers none of S16_LE, FLOAT_LE, S32_LE (use a plughw: or "
	    "plug device)",
	    b->device);
	return -EINVAL;
}

/* Access, format, channels, exact rate, period and buffer size. */
static int
set_hw_params(struct input_backend *b, const struct input_config *cfg,
    char *err, size_t errlen)
{
	snd_pcm_hw_params_t *hw = NULL;
	snd_pcm_uframes_t period, buffer;
	unsigned int rate, min_ch = 0, max_ch = 0;
	int rc;

	rc = asound.pcm_hw_params_malloc(&hw);
	if (rc < 0)
		return set_error(
		    b, err, errlen, "cannot allocate hw params", rc);
	rc = asound.pcm_hw_params_any(b->pcm, hw);
	if (rc < 0) {
		set_error(b, err, errlen, "no hw configuration", rc);
		goto out;
	}
	rc = asound.pcm_hw_params_set_access(
	    b->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED);
	if (rc < 0) {
		set_error(b, err, errlen, "interleaved access not offered", rc);
		goto out;
	}
	rc = choose_format(b, hw, err, errlen);
	if (rc < 0)
		goto out;
	rc = asound.pcm_hw_params_set_channels(
	    b->pcm, hw, (unsigned int)cfg->channels);
	if (rc < 0) {
		asound.pcm_hw_params_get_channels_min(hw, &min_ch);
		asound.pcm_hw_params_get_channels_max(hw, &max_ch);
		snprintf(err, errlen,
		    "%s: %d channels not offered (the device has %u..%u); "
		    "set [input] channels or use a plug device",
		    b->device, cfg->channels, min_ch, max_ch);
		goto out;
	}
	rate = (unsigned int)cfg->rate_hz;
	rc = asound.pcm_hw_params_set_rate_near(b->pcm, hw, &rate, NULL);
	if (rc < 0) {
		set_error(b, err, errlen, "cannot set a sample rate", rc);
		goto out;
	}
	if (rate != (unsigned int)cfg->rate_hz) {
		snprintf(err, errlen,
		    "%s: %d Hz not offered (nearest %u Hz); set [input] rate "
		    "= %u or use a plughw: device",
		    b->device, cfg->rate_hz, rate, rate);
		rc = -EINVAL;
		goto out;
	}
	if (cfg->period_frames > 0) {
		period = (snd_pcm_uframes_t)cfg->period_frames;
		rc = asound.pcm_hw_params_set_period_size_near(
		    b->pcm, hw, &period, NULL);
		if (rc < 0) {
			set_error(
			    b, err, errlen, "cannot set the period size", rc);
			goto out;
		}
	}
	if (cfg->buffer_frames > 0) {
		buffer = (snd_pcm_uframes_t)cfg->buffer_frames;
		rc = asound.pcm_hw_params_set_buffer_size_near(
		    b->pcm, hw, &buffer);
		if (rc < 0) {
			set_error(
			    b, err, errlen, "cannot set the buffer size", rc);
			goto out;
		}
	}
	rc = asound.pcm_hw_params(b->pcm, hw);
	if (rc < 0) {
		set_error(b, err, errlen, "cannot apply hw params", rc);
		goto out;
	}
	period = 0;
	asound.pcm_hw_params_get_period_size(hw, &period, NULL);
	b->raw_frames = period > 0 ? (size_t)period : ALSA_DEFAULT_READ_FRAMES;
out:
	asound.pcm_hw_params_free(hw);
	return rc < 0 ? rc : 0;
}

/* Opens, configures and starts capture.
 * Runs on: the input thread. */
static int
alsa_open(const struct input_config *cfg, struct input_backend **out, char *err,
    size_t errlen)
{
	struct input_backend *b;
	const char *device = cfg->device != NULL && cfg->device[0] != '\0'
				 ? cfg->device
				 : "default";
	char why[240];
	int rc;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "%s: %s", device, strerror(ENOMEM));
		return -ENOMEM;
	}
	snprintf(b->device, sizeof(b->device), "%s", device);
	b->channels = cfg->channels;
	if (cfg->channels <= 0 || cfg->rate_hz <= 0) {
		snprintf(err, errlen, "%s: invalid format %d Hz, %d channels",
		    device, cfg->rate_hz, cfg->channels);
		rc = -EINVAL;
		goto fail;
	}

	rc = dynlib_load(&asound_lib, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", device, why);
		goto fail;
	}
	asound.lib_error_set_handler(alsa_error_cb);
	clear_alsa_message();
	rc = asound.pcm_open(
	    &b->pcm, device, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
	if (rc < 0) {
		b->pcm = NULL;
		set_error(b, err, errlen, "cannot open capture device", rc);
		if (rc == -ENOENT) {
			size_t len = strlen(err);

			snprintf(err + len, errlen - len,
			    "; `arecord -L` lists the capture devices");
		}
		goto fail;
	}
	rc = set_hw_params(b, cfg, err, errlen);
	if (rc < 0)
		goto fail;
	b->frame_bytes = convert_sample_bytes(b->format) * (size_t)b->channels;
	b->raw = malloc(b->raw_frames * b->frame_bytes);
	if (b->raw == NULL) {
		snprintf(err, errlen, "%s: %s", device, strerror(ENOMEM));
		rc = -ENOMEM;
		goto fail;
	}
	rc = asound.pcm_prepare(b->pcm);
	if (rc >= 0)
		rc = asound.pcm_start(b->pcm);
	if (rc < 0) {
		set_error(b, err, errlen, "cannot start capture", rc);
		goto fail;
	}
	*out = b;
	return 0;

fail:
	alsa_close(b);
	return rc;
}

/* Restarts the stream after an overrun or a suspend. 0 when capture runs
 * again, else negative errno with err filled. */
static int
recover(struct input_backend *b, int rc, char *err, size_t errlen)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int i;

	clear_alsa_message();
	if (rc == -EPIPE) {
		stats_input_inc_xruns();
	} else if (rc == -ESTRPIPE) {
		for (i = 0; i < ALSA_RESUME_TRIES; i++) {
			rc = asound.pcm_resume(b->pcm);
			if (rc != -EAGAIN)
				break;
			nanosleep(&pause, NULL);
		}
		if (rc == 0)
			return 0;
		/* The driver cannot resume: start over. */
	} else {
		return set_error(b, err, errlen, "capture failed", rc);
	}
	rc = asound.pcm_prepare(b->pcm);
	if (rc >= 0)
		rc = asound.pcm_start(b->pcm);
	if (rc < 0)
		return set_error(b, err, errlen, "cannot restart capture", rc);
	return 0;
}

/* Waits up to 100 ms, then reads at most one period.
 * Runs on: the input thread. */
static ssize_t
alsa_read(struct input_backend *b, float *frames, size_t max_frames, char *err,
    size_t errlen)
{
	snd_pcm_sframes_t avail, got;
	int rc;

	if (max_frames > b->raw_frames)
		max_frames = b->raw_frames;
	if (max_frames == 0)
		return 0;
	rc = asound.pcm_wait(b->pcm, ALSA_WAIT_MS);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		rc = recover(b, rc, err, errlen);
		return rc < 0 ? rc : 0;
	}
	/* At most what is there, and at most one period per read. */
	avail = asound.pcm_avail_update(b->pcm);
	if (avail < 0) {
		rc = recover(b, (int)avail, err, errlen);
		return rc < 0 ? rc : 0;
	}
	if ((size_t)avail < max_frames)
		max_frames = (size_t)avail;
	if (max_frames == 0)
		return 0;
	got = asound.pcm_readi(b->pcm, b->raw, (snd_pcm_uframes_t)max_frames);
	if (got == -EAGAIN || got == 0)
		return 0;
	if (got < 0) {
		rc = recover(b, (int)got, err, errlen);
		return rc < 0 ? rc : 0;
	}
	convert_to_float(
	    b->format, b->raw, (size_t)got * (size_t)b->channels, frames);
	return (ssize_t)got;
}

const struct input_ops input_alsa_ops = {
    .name = "alsa",
    .open = alsa_open,
    .read = alsa_read,
    .close = alsa_close,
};
