/* SPDX-License-Identifier: MIT */
/*
 * Audio files through libsndfile, delivered as float frames in a target
 * format. Each refill reads one chunk of source frames, mixes it to the
 * target channel count and, when the rates differ, resamples it; the
 * result waits in a pending buffer that audio_file_read() drains.
 *
 * The resampler keeps a filter's worth of frames inside it. At the end of
 * the file we feed it silence until the target has received exactly
 * round(source frames * rate ratio) frames, and cut there: the tail of
 * the file comes out whole and the length is exact (resampler_flush()
 * would end the resampler for good and give no exact length).
 *
 * Channel positions come from the file's own channel map when libsndfile
 * reads one (WAVEFORMATEXTENSIBLE mask, AIFF/CAF layout). Otherwise Ogg
 * Vorbis and Opus files are in Vorbis order (libsndfile hands their
 * channels over as decoded) and everything else (WAV, FLAC, ...) in WAV
 * order; the mix goes to the programme order (convert.h).
 *
 * Threads: one thread per struct audio_file. Allocation only in
 * audio_file_open().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio_file.h"
#include "dynlib.h"
#include "convert.h"
#include "util.h"

/* Source frames decoded per refill. */
#define AUDIO_FILE_CHUNK_FRAMES 4096
/* Enough silence rounds to push out what the resampler holds (convert.c). */
#define AUDIO_FILE_MAX_FLUSH_ROUNDS 16

struct audio_file {
	char *path;
	int fd;
	SNDFILE *sf;
	int src_rate_hz;
	int src_channels;
	sf_count_t src_frames; /* as libsndfile reports it; may be unknown */
	int rate_hz;
	int channels;
	struct convert_mix mix_plan; /* source channels -> programme */
	struct resampler *rs;	     /* NULL when the rates match */
	float *src;		     /* CHUNK frames, src_channels wide */
	float *mix;		     /* CHUNK frames, channels wide */
	float *out;		     /* out_cap_frames, channels wide */
	size_t out_cap_frames;
	const float *pending; /* points into src, mix or out */
	size_t pending_frames;
	size_t pending_off_frames;
	uint64_t in_total_frames;  /* source frames decoded */
	uint64_t out_total_frames; /* target frames made */
	bool at_eof;		   /* libsndfile has no more frames */
	bool done;		   /* nothing more will come */
	int flush_rounds;
	int error; /* sticky negative errno */
	char errmsg[256];
};

/* The mixer's position for a libsndfile channel map entry, or -1 for one
 * it does not know (height, ambisonics, invalid). */
static int
speaker_from_sndfile(int id)
{
	switch (id) {
	case SF_CHANNEL_MAP_MONO:
	case SF_CHANNEL_MAP_CENTER:
	case SF_CHANNEL_MAP_FRONT_CENTER:
		return CONVERT_SPEAKER_FC;
	case SF_CHANNEL_MAP_LEFT:
	case SF_CHANNEL_MAP_FRONT_LEFT:
		return CONVERT_SPEAKER_FL;
	case SF_CHANNEL_MAP_RIGHT:
	case SF_CHANNEL_MAP_FRONT_RIGHT:
		return CONVERT_SPEAKER_FR;
	case SF_CHANNEL_MAP_LFE:
		return CONVERT_SPEAKER_LFE;
	case SF_CHANNEL_MAP_REAR_LEFT:
		return CONVERT_SPEAKER_BL;
	case SF_CHANNEL_MAP_REAR_RIGHT:
		return CONVERT_SPEAKER_BR;
	case SF_CHANNEL_MAP_REAR_CENTER:
		return CONVERT_SPEAKER_BC;
	case SF_CHANNEL_MAP_SIDE_LEFT:
		return CONVERT_SPEAKER_SL;
	case SF_CHANNEL_MAP_SIDE_RIGHT:
		return CONVERT_SPEAKER_SR;
	default:
		return -1;
	}
}

/* Plans the mix from the file's channels (see the top). A map with a
 * position the mixer does not know is ignored as a whole. */
static void
plan_mix(struct audio_file *af, const SF_INFO *info)
{
	int map[CONVERT_MAX_LAYOUT_CHANNELS], sub, c, s;
	enum convert_speaker spk[CONVERT_MAX_LAYOUT_CHANNELS];
	enum convert_order order = CONVERT_ORDER_WAV;

	if (info->channels <= CONVERT_MAX_LAYOUT_CHANNELS &&
	    dynlib_sf.command(af->sf, SFC_GET_CHANNEL_MAP_INFO, map,
		info->channels * (int)sizeof(map[0])) == SF_TRUE) {
		for (c = 0; c < info->channels; c++) {
			s = speaker_from_sndfile(map[c]);
			if (s < 0)
				break;
			spk[c] = (enum convert_speaker)s;
		}
		if (c == info->channels) {
			convert_mix_init_layout(&af->mix_plan, spk,
			    info->channels, af->channels,
			    CONVERT_ORDER_PROGRAMME);
			return;
		}
	}
	sub = info->format & SF_FORMAT_SUBMASK;
	if ((info->format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG &&
	    (sub == SF_FORMAT_VORBIS || sub == SF_FORMAT_OPUS))
		order = CONVERT_ORDER_VORBIS;
	convert_mix_init(&af->mix_plan, info->channels, order, af->channels,
	    CONVERT_ORDER_PROGRAMME);
}

/* Opens with open(2) first, so a missing file gets errno's text. */
struct audio_file *
audio_file_open(
    const char *path, int rate_hz, int channels, char *err, size_t errlen)
{
	struct audio_file *af;
	SF_INFO info;
	size_t chunk = AUDIO_FILE_CHUNK_FRAMES;
	char why[240];

	if (rate_hz <= 0 || channels <= 0) {
		snprintf(err, errlen, "%s: invalid target format %d Hz, %d ch",
		    path, rate_hz, channels);
		return NULL;
	}
	af = calloc(1, sizeof(*af));
	if (af == NULL)
		goto oom;
	af->fd = -1;
	af->rate_hz = rate_hz;
	af->channels = channels;
	af->path = strdup(path);
	if (af->path == NULL)
		goto oom;

	af->fd = util_open_regular(path);
	if (af->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    util_open_strerror(af->fd));
		af->fd = -1;
		goto fail;
	}
	if (dynlib_sndfile_load(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}

	memset(&info, 0, sizeof(info));
	af->sf = dynlib_sf.open_fd(af->fd, SFM_READ, &info, SF_FALSE);
	if (af->sf == NULL) {
		/* sf_strerror(NULL) is the error of the last failed open. */
		snprintf(err, errlen,
		    "%s: not an audio file libsndfile can read (%s)", path,
		    dynlib_sf.strerror(NULL));
		goto fail;
	}
	if (info.samplerate <= 0 || info.channels <= 0) {
		snprintf(err, errlen,
		    "%s: not an audio file libsndfile can read (%d Hz, %d "
		    "channels)",
		    path, info.samplerate, info.channels);
		goto fail;
	}
	af->src_rate_hz = info.samplerate;
	af->src_channels = info.channels;
	af->src_frames = info.frames;
	plan_mix(af, &info);

	af->src = calloc(chunk * (size_t)info.channels, sizeof(float));
	af->mix = calloc(chunk * (size_t)channels, sizeof(float));
	if (af->src == NULL || af->mix == NULL)
		goto oom;
	if (info.samplerate != rate_hz) {
		af->rs = resampler_new(
		    channels, info.samplerate, rate_hz, err, errlen);
		if (af->rs == NULL)
			goto fail;
		af->out_cap_frames = resampler_max_out(af->rs, chunk);
		af->out = calloc(
		    af->out_cap_frames * (size_t)channels, sizeof(float));
		if (af->out == NULL)
			goto oom;
	}
	return af;

oom:
	snprintf(err, errlen, "%s: cannot open: %s", path, strerror(ENOMEM));
fail:
	audio_file_close(af);
	return NULL;
}

/* Sets the sticky error and returns it. */
static int
read_error(struct audio_file *af, int error, const char *what)
{
	af->error = error;
	snprintf(af->errmsg, sizeof(af->errmsg), "%s: %s", af->path, what);
	return error;
}

/* Decodes, mixes and resamples the next chunk into the pending buffer. An
 * empty pending buffer with done set means the end. 0 or negative errno. */
static int
refill(struct audio_file *af)
{
	const float *in;
	sf_count_t n = 0;
	size_t got, want;
	uint64_t expected;

	af->pending_frames = 0;
	af->pending_off_frames = 0;
	if (!af->at_eof) {
		n = dynlib_sf.readf_float(
		    af->sf, af->src, AUDIO_FILE_CHUNK_FRAMES);
		if (n <= 0) {
			if (dynlib_sf.error(af->sf) != SF_ERR_NO_ERROR) {
				char why[200];

				snprintf(why, sizeof(why), "decode error: %s",
				    dynlib_sf.strerror(af->sf));
				return read_error(af, -EIO, why);
			}
			af->at_eof = true;
		}
	}
	if (af->at_eof) {
		if (af->rs == NULL) {
			af->done = true;
			return 0;
		}
		/* Flush the resampler with silence (see the top). */
		expected = (af->in_total_frames * (uint64_t)af->rate_hz +
			       (uint64_t)af->src_rate_hz / 2) /
			   (uint64_t)af->src_rate_hz;
		if (af->out_total_frames >= expected ||
		    af->flush_rounds >= AUDIO_FILE_MAX_FLUSH_ROUNDS) {
			af->done = true;
			return 0;
		}
		af->flush_rounds++;
		memset(af->mix, 0,
		    AUDIO_FILE_CHUNK_FRAMES * (size_t)af->channels *
			sizeof(float));
		if (resampler_process(af->rs, af->mix, AUDIO_FILE_CHUNK_FRAMES,
			af->out, af->out_cap_frames, &got) != 0)
			return read_error(af, -EIO, "resampler failed");
		want = (size_t)(expected - af->out_total_frames);
		if (got > want)
			got = want;
		af->pending = af->out;
		af->pending_frames = got;
		af->out_total_frames += got;
		return 0;
	}

	/* A float or double file may hold NaN, Inf or 1e38: clamp before
	 * the mixer and the resampler see them (convert.h). */
	convert_sanitize_float(af->src, (size_t)n * (size_t)af->src_channels);
	af->in_total_frames += (uint64_t)n;
	if (convert_mix_is_copy(&af->mix_plan)) {
		in = af->src;
	} else {
		convert_mix_run(&af->mix_plan, af->src, af->mix, (size_t)n);
		in = af->mix;
	}
	if (af->rs == NULL) {
		af->pending = in;
		af->pending_frames = (size_t)n;
		af->out_total_frames += (uint64_t)n;
		return 0;
	}
	if (resampler_process(
		af->rs, in, (size_t)n, af->out, af->out_cap_frames, &got) != 0)
		return read_error(af, -EIO, "resampler failed");
	af->pending = af->out;
	af->pending_frames = got;
	af->out_total_frames += got;
	return 0;
}

/* Drains the pending buffer, refilling it as needed. */
ssize_t
audio_file_read(struct audio_file *af, float *frames, size_t max_frames)
{
	size_t done = 0, n;
	size_t ch = (size_t)af->channels;
	int rc;

	if (af->error != 0)
		return af->error;
	while (done < max_frames) {
		if (af->pending_off_frames < af->pending_frames) {
			n = af->pending_frames - af->pending_off_frames;
			if (n > max_frames - done)
				n = max_frames - done;
			memcpy(frames + done * ch,
			    af->pending + af->pending_off_frames * ch,
			    n * ch * sizeof(float));
			af->pending_off_frames += n;
			done += n;
			continue;
		}
		if (af->done)
			break;
		rc = refill(af);
		if (rc < 0) {
			/* Hand over what we have; the error comes next. */
			if (done > 0)
				break;
			return rc;
		}
	}
	return (ssize_t)done;
}

/* From the source frame count, without conversion. */
int64_t
audio_file_duration_ns(const struct audio_file *af)
{
	int64_t frames = af->src_frames;
	int64_t rate = af->src_rate_hz;

	if (frames <= 0 || frames == SF_COUNT_MAX)
		return -1;
	/* Split so that frames * 1e9 cannot overflow. */
	return frames / rate * NS_PER_SEC + frames % rate * NS_PER_SEC / rate;
}

/* The message set by read_error(). */
const char *
audio_file_error(const struct audio_file *af)
{
	return af->errmsg;
}

/* Frees everything; NULL is a no-op. */
void
audio_file_close(struct audio_file *af)
{
	if (af == NULL)
		return;
	if (af->sf != NULL)
		dynlib_sf.close(af->sf);
	if (af->fd >= 0)
		close(af->fd);
	if (af->rs != NULL)
		resampler_free(af->rs);
	free(af->src);
	free(af->mix);
	free(af->out);
	free(af->path);
	free(af);
}
