/* SPDX-License-Identifier: MIT */
/*
 * The input thread: runs one backend (input_tone.c, input_stdin.c,
 * input_file.c, input_alsa.c) and writes what it reads into the ring. It
 * never waits on the ring: frames that do not fit are counted as overflow.
 *
 * DESIGN
 * The programme must never stop, so the thread has two states:
 * - open: frames come from the backend;
 * - silent: the backend could not be opened or failed; the thread writes
 *   clock-paced digital silence (the tone backend at 0 Hz) and retries
 *   the open after a backoff of 1 s, doubling up to 30 s.
 * A read error closes the backend and enters the silent state. End of
 * stdin (-EPIPE) is final: a pipe cannot be reopened, so silence stays.
 * The same holds at the end of a file played with loop = no: reopening it
 * would replay the file every backoff period.
 *
 * A backend that stays open but delivers nothing (a stalled stdin
 * producer, a capture device whose clock stopped) is a gap, not an error:
 * after INPUT_GAP_NS without frames the thread writes clock-paced silence
 * from the last frame on, so the engine keeps encoding and Icecast never
 * times the mount out (its source-timeout), while it keeps polling the
 * backend. When frames come back, live audio goes on at once. A producer
 * that then delivers its backlog faster than real time (it was paused,
 * not starved) would add the whole gap to the stream's delay, gap after
 * gap; so right after a gap, frames that run more than INPUT_SLACK_NS
 * ahead of the clock are dropped (the oldest of each read first), up to
 * the silence written for that gap. The catch-up ends when that much was
 * dropped or the producer ran at real time for INPUT_CATCHUP_QUIET_NS.
 * Silence before the first frame keeps the mount alive too, but is not
 * taken back: a producer may burst its start (a file piped in).
 *
 * A stdin producer's writes set when the thread wakes: a 20 ms writer
 * woke it 50 times a second, a 5 ms one 200 times, though the engine
 * waits for whole blocks of RING_ENGINE_BLOCK_FRAMES (46 ms at 44.1 kHz,
 * ring_wanted(), engine.c). So after a read that emptied the pipe, the
 * thread sleeps until the producer can have written the rest of what the
 * engine waits for (what it lacks, at the input rate, plus
 * INPUT_PACE_SLACK_NS; no more than one sleep can cover), then reads all
 * that is there; if it is still short, it waits for the next write as
 * before, without sleeping again.
 * relay asks for a 1 MiB pipe (F_SETPIPE_SZ, best effort) so that a
 * quarter of it covers the engine's longest wait.
 * The sleep never runs past the frame where the engine's next page can
 * close (ring_page_lacks(), set by the engine each round): the engine may
 * wait for that frame alone after this sleep began, and for it the slack
 * is INPUT_PACE_PAGE_SLACK_NS (1 ms) instead of 10: a page waits on it,
 * and a second wake-up when it is not yet in costs less than the delay.
 * A producer that keeps real time is never read late by more than the
 * slack (up to 10 ms on a block, ~2 ms on average with 20 ms writes), and
 * the thread wakes 1-2 times per block instead of once per write
 * (docs/performance.md). The sleep is capped at a quarter of the pipe's
 * capacity, so a fast format never fills it, and is not taken when fd 0
 * is not a pipe.
 * The tone and file backends, paced by the clock, are asked for the rest
 * of the engine's next block (not its whole wait), so they wake once per
 * block instead of every 20 ms; each read still returns when its last
 * frame is due, so the engine gets its block at the same moment as
 * before. Reads as long as the engine's wait (up to 0.37 s) left a woken
 * engine (ring_wake(): a title, "play now") with nothing to render until
 * the read ended: titles reached /api/status up to 0.37 s late, and the
 * audio they start with was up to that much older than the call
 * (measured with 60 calls; 28_engine_wakes checks the per-block reads).
 *
 * The thread logs only when the state changes (opened, open failed with a
 * new reason, read failed, end of input, a gap and its end), never per
 * buffer, and allocates only on those state changes (a backend or the
 * silence is opened). All signals are blocked in it; the main loop reads
 * them through signalfd.
 *
 * Threads: input_start() and input_stop() on the main thread; everything
 * else on the input thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "input.h"
#include "log.h"
#include "ring.h"
#include "stats.h"
#include "util.h"
#include "wakeup.h"

#define INPUT_BACKOFF_MIN_NS (1 * NS_PER_SEC)
#define INPUT_RT_PRIORITY 10
#define INPUT_BACKOFF_MAX_NS (30 * NS_PER_SEC)
/* A backend that ran this long before failing gets the short backoff. */
#define INPUT_STABLE_NS (30 * NS_PER_SEC)
#define INPUT_ERR_LEN 256
/* No frames for this long from an open backend: fill with silence. Long
 * enough for a producer's uneven writes (a 64 KiB pipe holds 0.37 s of
 * 44.1 kHz stereo s16), short next to the few seconds listeners buffer. */
#define INPUT_GAP_NS (400 * NS_PER_MS)
/* After a gap, how far ahead of the clock the producer may run before
 * frames are dropped: its write granularity, not a backlog. */
#define INPUT_SLACK_NS (500 * NS_PER_MS)
#define INPUT_CATCHUP_QUIET_NS (2 * NS_PER_SEC)
/* Pacing of stdin reads (DESIGN): how much later than the engine's block
 * can be complete the thread looks. */
#define INPUT_PACE_SLACK_NS (10 * NS_PER_MS)
/* ...and than the frame where the engine's next page can close: a page
 * waits for it, so it is worth a second wake-up when it is not yet in. */
#define INPUT_PACE_PAGE_SLACK_NS (1 * NS_PER_MS)
#define INPUT_PIPE_BYTES (1024 * 1024)

struct input {
	struct input_config cfg; /* strings are our own copies */
	const struct input_ops *ops;
	struct ring *ring;
	float *frames;
	size_t max_frames; /* ~100 ms */
	pthread_t thread;
	atomic_bool stop;
	atomic_bool ended;	  /* at_end = exit and the input ended */
	atomic_bool down;	  /* input_down(): no audio of its own */
	pthread_mutex_t why_lock; /* down_why; taken on state changes only */
	char down_why[INPUT_ERR_LEN];
	uint64_t pushed; /* frames written into the ring (input thread) */
};

/* Pacing of stdin reads (DESIGN). Input thread only. */
struct pace {
	int64_t max_ns;	 /* longest sleep; 0: never sleep */
	int64_t next_ns; /* no read before this (0: read at once) */
	uint64_t target; /* in->pushed that completes the awaited block */
};

/* A gap in an open backend's frames (DESIGN). Input thread only. */
struct gap {
	bool live_seen;	   /* frames arrived since the open */
	bool filling;	   /* silence is being written */
	int64_t last_ns;   /* when frames last arrived (or the open) */
	uint64_t filled;   /* silence frames written in this gap */
	uint64_t debt;	   /* silence frames a burst may take back */
	bool catching_up;  /* the producer may be delivering a backlog */
	int64_t resume_ns; /* when frames came back */
	uint64_t kept;	   /* frames kept since resume_ns */
	uint64_t dropped;  /* frames dropped in this catch-up */
	int64_t ahead_ns;  /* when the producer last ran ahead */
};

/* Marks the input down (why given) or up (why NULL) for input_down().
 * Runs on: the input thread, at state changes only. */
static void
set_down(struct input *in, const char *why)
{
	if (why == NULL) {
		atomic_store(&in->down, false);
	} else {
		pthread_mutex_lock(&in->why_lock);
		snprintf(in->down_why, sizeof(in->down_why), "%s input: %s",
		    in->ops->name, why);
		pthread_mutex_unlock(&in->why_lock);
		atomic_store(&in->down, true);
	}
	wakeup_signal(); /* the main thread forwards it to the engine */
}

/* The backend for a configured [input] type; NULL if unknown. */
const struct input_ops *
input_ops_for(enum input_type type)
{
	switch (type) {
	case INPUT_TONE:
		return &input_tone_ops;
	case INPUT_STDIN:
		return &input_stdin_ops;
	case INPUT_FILE:
		return &input_file_ops;
	case INPUT_ALSA:
		return &input_alsa_ops;
	}
	return NULL;
}

/*
 * Writes n frames into the ring. A sound card cannot wait, so what does
 * not fit is counted as an overflow. A pipe can: for stdin we wait for
 * room (the writer then waits on its full pipe), so audio fed faster than
 * real time (a file piped in, a benchmark) is never dropped.
 */
static void
push_from(struct input *in, const float *frames, size_t n)
{
	size_t written = ring_write(in->ring, frames, n);

	while (written < n && in->cfg.type == INPUT_STDIN &&
	       !atomic_load(&in->stop)) {
		util_sleep_ns(2 * NS_PER_MS);
		written += ring_write(in->ring,
		    frames + written * (size_t)in->cfg.channels, n - written);
	}
	in->pushed += written;
	stats_input_note_buffer_fill(ring_readable(in->ring));
	if (written < n)
		stats_input_add_overflow(n - written);
}

static void
push(struct input *in, size_t n)
{
	push_from(in, in->frames, n);
}

/* Frames in ns at rate_hz, rounded down; exact and without overflow for
 * any gap a process can live through. */
static uint64_t
frames_in(int64_t ns, int rate_hz)
{
	if (ns <= 0)
		return 0;
	return (uint64_t)(ns / NS_PER_SEC) * (uint64_t)rate_hz +
	       (uint64_t)(ns % NS_PER_SEC) * (uint64_t)rate_hz /
		   (uint64_t)NS_PER_SEC;
}

/* A backend was just opened: no gap yet, nothing owed. */
static void
gap_reset(struct gap *g, int64_t now)
{
	memset(g, 0, sizeof(*g));
	g->last_ns = now;
}

/* The backend delivered nothing this read: once INPUT_GAP_NS passed since
 * the last frame, brings the silence written since then up to the clock.
 * Runs on: the input thread. */
static void
gap_idle(struct input *in, struct gap *g, int64_t now)
{
	uint64_t owed;
	size_t n;

	if (!g->filling) {
		if (now - g->last_ns < INPUT_GAP_NS)
			return;
		g->filling = true;
		g->filled = 0;
		g->catching_up = false;
		log_warn("input",
		    "%s input: no audio for %.1f s; sending silence until it "
		    "comes back",
		    in->ops->name, (double)(now - g->last_ns) / 1e9);
		stats_input_set_error("no audio from the input; sending "
				      "silence until it comes back");
		set_down(in, "no audio (stalled)");
	}
	owed = frames_in(now - g->last_ns, in->cfg.rate_hz) - g->filled;
	memset(in->frames, 0,
	    in->max_frames * (size_t)in->cfg.channels * sizeof(float));
	while (owed > 0 && !atomic_load(&in->stop)) {
		n = owed < in->max_frames ? (size_t)owed : in->max_frames;
		push(in, n);
		owed -= n;
		g->filled += n;
		if (g->live_seen)
			g->debt += n;
	}
}

/* n frames arrived at now: ends a gap, and right after one drops what
 * runs ahead of the clock (DESIGN). Returns how many frames to keep: the
 * last ones of the n. Runs on: the input thread. */
static size_t
gap_live(struct input *in, struct gap *g, size_t n, int64_t now)
{
	uint64_t allowed, room, drop;
	size_t keep = n;

	if (!g->live_seen || g->filling)
		set_down(in, NULL);
	if (g->filling) {
		char took[32];

		g->filling = false;
		log_info("input", "%s input: audio is back after %s of silence",
		    in->ops->name,
		    util_format_duration(now - g->last_ns, took, sizeof(took)));
		if (g->debt > 0) {
			g->catching_up = true;
			g->resume_ns = now;
			g->ahead_ns = now;
			g->kept = 0;
			g->dropped = 0;
		}
	}
	g->live_seen = true;
	if (!g->catching_up)
		return keep;
	allowed =
	    frames_in(now - g->resume_ns + INPUT_SLACK_NS, in->cfg.rate_hz);
	room = allowed > g->kept ? allowed - g->kept : 0;
	if (room < n) {
		drop = n - room;
		if (drop > g->debt)
			drop = g->debt;
		keep = n - (size_t)drop;
		g->debt -= drop;
		g->dropped += drop;
		g->ahead_ns = now;
	}
	g->kept += keep;
	if (g->debt == 0 || now - g->ahead_ns >= INPUT_CATCHUP_QUIET_NS) {
		g->catching_up = false;
		g->debt = 0;
		if (g->dropped > 0)
			log_info("input",
			    "%s input: dropped %.1f s of audio that came "
			    "faster than real time after the gap, so the "
			    "stream's delay stays as it was",
			    in->ops->name,
			    (double)g->dropped / in->cfg.rate_hz);
	}
	return keep;
}

/* The silence source: the tone backend at 0 Hz, opened afresh at each
 * entry into the silent state so that its clock starts now. */
static struct input_backend *
silence_open(const struct input *in)
{
	struct input_config cfg = in->cfg;
	struct input_backend *b = NULL;
	char err[INPUT_ERR_LEN];

	cfg.frequency_hz = 0.0;
	if (input_tone_ops.open(&cfg, &b, err, sizeof(err)) != 0)
		return NULL;
	return b;
}

/* Frames that complete the engine's next block in the ring. Runs on: the
 * input thread. */
static size_t
block_rest(struct input *in)
{
	return RING_ENGINE_BLOCK_FRAMES -
	       ring_readable(in->ring) % RING_ENGINE_BLOCK_FRAMES;
}

/* Frames the engine still lacks for what it waits for: its wait
 * (ring_wanted(), one or more blocks) or else the rest of its next block.
 * Runs on: the input thread. */
static size_t
engine_lacks(struct input *in)
{
	size_t fill = ring_readable(in->ring), want = ring_wanted(in->ring);

	return want > fill ? want - fill : block_rest(in);
}

/* How much a clock-paced backend (tone, file, the silence) is asked for
 * at once: the rest of the engine's next block, even while it waits for
 * several, so that what a control call wakes it for is in the ring
 * (DESIGN). A pipe or a sound card gives what it has, up to max_frames. */
static size_t
read_frames(struct input *in, bool clocked)
{
	size_t n = clocked ? block_rest(in) : in->max_frames;

	return n < in->max_frames ? n : in->max_frames;
}

/* Silence up to the engine's next wait into the ring. */
static void
silence_step(struct input *in, struct input_backend *silence)
{
	char err[INPUT_ERR_LEN];
	ssize_t n;

	if (silence == NULL) {
		/* Only when out of memory: keep time without writing. */
		util_sleep_ns(20 * NS_PER_MS);
		return;
	}
	n = input_tone_ops.read(
	    silence, in->frames, read_frames(in, true), err, sizeof(err));
	if (n > 0)
		push(in, (size_t)n);
}

/* Doubles the retry delay, up to INPUT_BACKOFF_MAX_NS. */
static void
backoff_grow(int64_t *backoff_ns)
{
	*backoff_ns *= 2;
	if (*backoff_ns > INPUT_BACKOFF_MAX_NS)
		*backoff_ns = INPUT_BACKOFF_MAX_NS;
}

/* A stdin backend was opened: the longest sleep between reads is a
 * quarter of the pipe on fd 0 at the input's byte rate, none when fd 0
 * is not a pipe. Runs on: the input thread. */
static void
pace_reset(struct pace *pc, const struct input *in)
{
	int pipe_bytes;
	size_t frame_bytes;

	memset(pc, 0, sizeof(*pc));
	if (in->cfg.type != INPUT_STDIN)
		return;
	/* A larger pipe lets the thread sleep for as long as the engine
	 * waits (up to ENGINE_MAX_WAIT_BLOCKS); best effort. */
	if (fcntl(STDIN_FILENO, F_GETPIPE_SZ) < INPUT_PIPE_BYTES)
		(void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, INPUT_PIPE_BYTES);
	pipe_bytes = fcntl(STDIN_FILENO, F_GETPIPE_SZ);
	frame_bytes =
	    convert_sample_bytes(in->cfg.format) * (size_t)in->cfg.channels;
	if (pipe_bytes <= 0 || frame_bytes == 0)
		return;
	pc->max_ns = (int64_t)((size_t)pipe_bytes / 4 / frame_bytes) *
		     NS_PER_SEC / in->cfg.rate_hz;
}

/* After a read of n frames (of at most max asked) at now: when it
 * emptied the pipe and the block awaited is complete, sleep until the
 * next one can be (DESIGN). Runs on: the input thread. */
static void
pace_after_read(struct pace *pc, struct input *in, size_t n, int64_t now)
{
	uint64_t block = RING_ENGINE_BLOCK_FRAMES, lacks, most, page;
	int64_t ns, slack = INPUT_PACE_SLACK_NS;

	pc->next_ns = 0;
	if (pc->max_ns <= 0 || n >= in->max_frames || in->pushed < pc->target)
		return;
	/* No more than one sleep can cover, or the thread would wake per
	 * write for the rest. */
	lacks = engine_lacks(in);
	/* Never past the frame where the engine's next page can close: it
	 * may wait for that alone once this sleep has begun. */
	page = ring_page_lacks(in->ring);
	if (page > 0 && page <= lacks) {
		lacks = page;
		slack = INPUT_PACE_PAGE_SLACK_NS;
	}
	most = pc->max_ns > INPUT_PACE_SLACK_NS
		   ? (uint64_t)(pc->max_ns - INPUT_PACE_SLACK_NS) *
			 (uint64_t)in->cfg.rate_hz / (uint64_t)NS_PER_SEC
		   : 0;
	if (lacks > most && most >= block)
		lacks = most;
	ns = (int64_t)(lacks * (uint64_t)NS_PER_SEC /
		       (uint64_t)in->cfg.rate_hz) +
	     slack;
	pc->next_ns = now + (ns < pc->max_ns ? ns : pc->max_ns);
	pc->target = in->pushed + lacks;
}

/* The state machine of DESIGN above.
 * Runs on: the input thread. */
static void *
input_thread(void *arg)
{
	struct input *in = arg;
	const struct input_ops *ops = in->ops;
	struct input_backend *b = NULL, *silence = NULL;
	struct gap gap;
	struct pace pace;
	size_t keep;
	char err[INPUT_ERR_LEN], last_err[INPUT_ERR_LEN] = "";
	char shown[INPUT_ERR_LEN];
	int64_t backoff_ns = INPUT_BACKOFF_MIN_NS, next_try_ns = 0;
	int64_t opened_ns = 0, now;
	bool failed_before = false, final = false;
	ssize_t n;
	int rc;

	util_thread_name("relay-input");
	gap_reset(&gap, util_now_mono_ns());
	memset(&pace, 0, sizeof(pace));
	/* Capture from a sound card runs ahead of everything else when the
	 * service may (LimitRTPRIO=): an overrun loses studio audio. */
	if (in->cfg.type == INPUT_ALSA) {
		rc = util_try_realtime(INPUT_RT_PRIORITY);
		if (rc > 0)
			log_info("input",
			    "capture thread: real-time priority "
			    "%d (SCHED_FIFO)",
			    rc);
		else if (rc < 0)
			log_debug("input",
			    "capture thread: no real-time "
			    "priority: %s",
			    strerror(-rc));
	}

	while (!atomic_load(&in->stop)) {
		if (b == NULL && !final &&
		    (now = util_now_mono_ns()) >= next_try_ns) {
			err[0] = '\0';
			rc = ops->open(&in->cfg, &b, err, sizeof(err));
			if (rc == 0) {
				if (failed_before) {
					log_info("input",
					    "%s input: reopened; live audio is "
					    "back",
					    ops->name);
					stats_input_inc_reopens();
				} else {
					log_info("input", "%s input: opened",
					    ops->name);
				}
				if (silence != NULL) {
					input_tone_ops.close(silence);
					silence = NULL;
				}
				last_err[0] = '\0';
				opened_ns = now;
				gap_reset(&gap, now);
				pace_reset(&pace, in);
				continue;
			}
			b = NULL;
			failed_before = true;
			next_try_ns = now + backoff_ns;
			set_down(in, err);
			/* One line per new reason, not one per retry. */
			if (strcmp(err, last_err) != 0) {
				log_escape(shown, sizeof(shown), err);
				log_warn("input",
				    "%s input: %s; sending silence, retry in "
				    "%lld s",
				    ops->name, shown,
				    (long long)(backoff_ns / NS_PER_SEC));
				stats_input_set_error(err);
				util_strlcpy(last_err, err, sizeof(last_err));
			}
			backoff_grow(&backoff_ns);
			if (silence == NULL)
				silence = silence_open(in);
		}
		if (b == NULL) {
			silence_step(in, silence);
			continue;
		}

		if (pace.next_ns != 0)
			util_sleep_until_mono_ns(pace.next_ns);
		err[0] = '\0';
		n = ops->read(b, in->frames,
		    read_frames(in, in->cfg.type == INPUT_TONE ||
					in->cfg.type == INPUT_FILE),
		    err, sizeof(err));
		if (n > 0) {
			keep =
			    gap_live(in, &gap, (size_t)n, util_now_mono_ns());
			push_from(in,
			    in->frames +
				((size_t)n - keep) * (size_t)in->cfg.channels,
			    keep);
			stats_input_add_frames((uint64_t)n);
			gap.last_ns = util_now_mono_ns();
			pace_after_read(&pace, in, (size_t)n, gap.last_ns);
			continue;
		}
		pace.next_ns = 0;
		if (n == 0) {
			gap_idle(in, &gap, util_now_mono_ns());
			continue;
		}

		/* A read error: close, go silent, reopen later (or never). */
		ops->close(b);
		b = NULL;
		now = util_now_mono_ns();
		failed_before = true;
		if (now - opened_ns >= INPUT_STABLE_NS)
			backoff_ns = INPUT_BACKOFF_MIN_NS;
		next_try_ns = now + backoff_ns;
		log_escape(shown, sizeof(shown), err);
		stats_input_set_error(err);
		util_strlcpy(last_err, err, sizeof(last_err));
		set_down(in, err);
		if (n == -EPIPE &&
		    (in->cfg.type == INPUT_STDIN ||
			in->cfg.type == INPUT_FILE) &&
		    in->cfg.at_end == INPUT_END_EXIT) {
			log_info("input",
			    "%s input: %s; ending the streams "
			    "(at_end = exit)",
			    ops->name, shown);
			atomic_store(&in->ended, true);
			wakeup_signal();
			break;
		}
		if (n == -EPIPE && (in->cfg.type == INPUT_STDIN ||
				       in->cfg.type == INPUT_FILE)) {
			final = true;
			log_warn("input",
			    "%s input: %s; sending silence from now on",
			    ops->name, shown);
		} else {
			log_warn("input",
			    "%s input: %s; sending silence, reopening in "
			    "%lld s",
			    ops->name, shown,
			    (long long)(backoff_ns / NS_PER_SEC));
			backoff_grow(&backoff_ns);
		}
		silence = silence_open(in);
	}

	if (b != NULL)
		ops->close(b);
	if (silence != NULL)
		input_tone_ops.close(silence);
	return NULL;
}

/* strdup() that passes NULL through and clears *ok on OOM. */
static char *
dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

/* Frees what input_start() allocated; the thread must be gone. */
static void
input_free(struct input *in)
{
	if (in == NULL)
		return;
	free(in->cfg.title);
	free(in->cfg.artist);
	free(in->cfg.device);
	free(in->cfg.path);
	free(in->frames);
	pthread_mutex_destroy(&in->why_lock);
	free(in);
}

/* Copies cfg, then starts the thread with every signal blocked. */
struct input *
input_start(
    const struct input_config *cfg, struct ring *ring, char *err, size_t errlen)
{
	struct input *in;
	sigset_t all, old;
	bool ok = true;
	int rc;

	if (cfg->rate_hz <= 0 || cfg->channels <= 0) {
		snprintf(err, errlen,
		    "input: invalid format %d Hz, %d channels", cfg->rate_hz,
		    cfg->channels);
		return NULL;
	}
	if (ring_channels(ring) != cfg->channels) {
		snprintf(err, errlen,
		    "input: the ring has %d channels, the input %d",
		    ring_channels(ring), cfg->channels);
		return NULL;
	}
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		goto oom;
	pthread_mutex_init(&in->why_lock, NULL);
	in->cfg = *cfg;
	in->cfg.title = dup_or_null(cfg->title, &ok);
	in->cfg.artist = dup_or_null(cfg->artist, &ok);
	in->cfg.device = dup_or_null(cfg->device, &ok);
	in->cfg.path = dup_or_null(cfg->path, &ok);
	in->ring = ring;
	in->ops = input_ops_for(cfg->type);
	in->max_frames = (size_t)cfg->rate_hz / 2 + 1;
	in->frames =
	    calloc(in->max_frames * (size_t)cfg->channels, sizeof(float));
	if (!ok || in->frames == NULL)
		goto oom;
	if (in->ops == NULL) {
		snprintf(err, errlen, "input: unknown type %d", (int)cfg->type);
		goto fail;
	}
	atomic_init(&in->stop, false);

	/* The thread inherits the mask: block everything before it exists
	 * so that no signal can land on it, then restore ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&in->thread, NULL, input_thread, in);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "input: cannot start thread: %s",
		    strerror(rc));
		goto fail;
	}
	return in;

oom:
	snprintf(err, errlen, "input: %s", strerror(ENOMEM));
fail:
	input_free(in);
	return NULL;
}

bool
input_ended(struct input *in)
{
	return in != NULL && atomic_load(&in->ended);
}

bool
input_down(struct input *in, char *why, size_t whylen)
{
	bool down;

	if (in == NULL)
		return false;
	down = atomic_load(&in->down);
	if (down && why != NULL) {
		pthread_mutex_lock(&in->why_lock);
		util_strlcpy(why, in->down_why, whylen);
		pthread_mutex_unlock(&in->why_lock);
	}
	return down;
}

/* The thread sees the flag within one read (~100 ms at most). */
void
input_stop(struct input *in)
{
	if (in == NULL)
		return;
	atomic_store(&in->stop, true);
	pthread_join(in->thread, NULL);
	input_free(in);
}
