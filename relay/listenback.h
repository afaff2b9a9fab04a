/* SPDX-License-Identifier: MIT */
/*
 * Listen-back: relay listens to its own Icecast mounts as a listener would
 * and reports what listeners really hear, per output with listenback = yes:
 * whether audio arrives, its level, how long it has been silent, whether
 * it is the stream this output sent, and the lag from the encoder to the
 * listener. A source connection can look healthy while listeners hear
 * nothing (a frozen server, a mount served from elsewhere, a proxy that
 * stopped): only listening tells.
 *
 * How "ours" and the lag are known: every output notes each Vorbis or Opus
 * packet it is about to send (a 64-bit hash of its bytes, and when the encoder
 * made it) with listenback_note_packet(). Icecast 2.4 re-pages an Ogg Vorbis or
 * Opus stream (a new serial, its own granule positions and page boundaries) but
 * passes the audio packets through byte for byte, so a packet the
 * listener receives with a hash this output sent is ours, and its lag is
 * the arrival time of its page minus its made time (one monotonic clock,
 * one process). The lag reported is the largest on the last page heard:
 * how long its oldest sample took from the encoder to the listener. Packets
 * made before the listener connected are Icecast's burst-on-connect (old audio
 * sent at once) and are not measured. See docs/operations.md, Listen-back.
 *
 * Threads: listenback_start/reload/stop/mount_same on the main thread; all
 * listening runs on one thread of its own (one curl multi handle for every
 * mount). listenback_note_packet() is called by output threads and is
 * thread-safe (one short mutex per output slot). The listenback_log_*
 * and listenback_judge functions are pure: callers own the structs.
 */
#ifndef RELAY_LISTENBACK_H
#define RELAY_LISTENBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"

/* Packets remembered per output: about 90 s at 44.1 kHz (43 packets a
 * second), far more than any Icecast burst or queue holds. */
#define LISTENBACK_LOG_PACKETS 4096
/* This many audio pages in a row without one packet this output sent: the
 * mount serves another stream. */
#define LISTENBACK_FOREIGN_PAGES 4
/* When listeners hear silence (our audio below the dead-air threshold,
 * config_dead_air_threshold_dbfs()), it is flagged after the station's
 * dead-air time (config_dead_air_ns(): [fallback] after, 10 s by default)
 * when the programme was silent as long: a pause shorter than that is
 * not dead air at the listener either. Silence the programme does not
 * explain (it was not silent: a mute or a broken chain between relay and
 * the listener) is flagged after this long, or after the dead-air time
 * when that is shorter. */
#define LISTENBACK_SILENT_UNEXPLAINED_S 5.0
/* How much longer the listeners' silence may be than the programme's and
 * still be the programme's (100 ms meter blocks on both sides, the
 * codec's spread at the edges, the programme sampled every <= 0.2 s),
 * and how much later than the lag it may end. */
#define LISTENBACK_QUIET_SLACK_NS (1 * NS_PER_SEC)
/* The lag assumed while none is measured (just connected). */
#define LISTENBACK_LAG_GUESS_NS (5 * NS_PER_SEC)
/* The programme's silences remembered. */
#define LISTENBACK_QUIET_RUNS 4

struct listenback_sent {
	uint64_t hash;
	int64_t made_mono_ns;
};

/* A ring of the packets one output sent, newest overwriting oldest. */
struct listenback_log {
	struct listenback_sent packet[LISTENBACK_LOG_PACKETS];
	size_t next; /* where the next packet goes */
	size_t n;    /* packets held, up to LISTENBACK_LOG_PACKETS */
};

/* The hash that identifies a packet (its bytes and length):
 * packet_data_hash(). */
uint64_t listenback_packet_hash(const unsigned char *data, size_t bytes);

/* Remembers a packet. */
void listenback_log_add(
    struct listenback_log *l, uint64_t hash, int64_t made_mono_ns);

/* When the packet with this hash was made (the newest such packet), or -1
 * when l does not hold it: not sent by this output, or too long ago.
 * *repeated (may be NULL) is set true when the packet sent just before it
 * had the same hash (digital silence encodes to identical packets), so
 * which one arrived is unknown. */
int64_t listenback_log_find(
    const struct listenback_log *l, uint64_t hash, bool *repeated);

/* Called by an output thread (slot = its stats id) for every audio packet
 * just before it goes to the muxer, so no listener can receive it before
 * it is noted; hash is listenback_packet_hash() of it (packet_hash(), which
 * the outputs of one encoding share). Thread-safe. */
void listenback_note_packet(int slot, uint64_t hash, int64_t made_mono_ns);

/* What listen-back needs of an OpusHead packet (RFC 7845 section 5.1). */
struct listenback_opus_head {
	int channels;
	int preskip_frames; /* 48 kHz frames to drop at the start */
	int gain_q8;	    /* output gain, dB in Q7.8 */
};

/* Reads an OpusHead packet into *head: 0; -EINVAL when it is not one
 * (too short, wrong magic, a major version other than 0); -ENOTSUP when
 * listen-back does not decode it (a channel mapping family other than 0,
 * more than 2 channels: relay never sends those). Pure. */
int listenback_opus_head(const unsigned char *packet, size_t bytes,
    struct listenback_opus_head *head);

/* What the listener observed on one mount, for listenback_judge(). */
struct listenback_obs {
	int64_t started_mono_ns;    /* listen-back began on this mount */
	int64_t last_audio_mono_ns; /* last audio page (0: never) */
	unsigned unmatched_pages;   /* audio pages in a row, none ours */
	bool matched_once;	    /* a page of ours has arrived */
	double silent_s;	    /* decoded audio below the threshold */
	double dead_air_s;	    /* the station's dead-air time; 0: none */
	bool programme_silent;	    /* the programme was silent as long as
				       the listener (listenback_quiet_explains) */
};

/* The verdict at now_mono_ns: NO_AUDIO when no audio page arrived for
 * timeout_ns (counted from the start until the first one), else FOREIGN
 * after LISTENBACK_FOREIGN_PAGES pages in a row without a packet of ours,
 * else CONNECTING while nothing, or nothing of ours, has arrived yet, else
 * SILENT after dead_air_s of silence, or after
 * LISTENBACK_SILENT_UNEXPLAINED_S of it while !programme_silent, else OK.
 * Pure. */
enum stats_listenback_state listenback_judge(
    const struct listenback_obs *o, int64_t now_mono_ns, int64_t timeout_ns);

/* The programme's last few silences (under the dead-air threshold), from
 * samples of its running count (stats_levels.quiet_s): each from when it
 * began to the first sample that found it over (to_mono_ns), the newest
 * first. */
struct listenback_quiet {
	struct listenback_quiet_run {
		int64_t from_mono_ns;
		int64_t to_mono_ns; /* run[0] while open: the last sample */
	} run[LISTENBACK_QUIET_RUNS];
	size_t n;
	bool open; /* run[0] is still going on */
};

/* One sample: at now_mono_ns (when the engine metered it, not later: a
 * sample must not go back in time) the programme had been under the
 * threshold for quiet_s (0: it was not). Pure. */
void listenback_quiet_sample(
    struct listenback_quiet *q, double quiet_s, int64_t now_mono_ns);

/* Whether silent_s of silence that listeners hear at now_mono_ns, lag_ns
 * behind the programme (-1: not measured, LISTENBACK_LAG_GUESS_NS), is the
 * programme's own: a silence of the programme at least as long (less
 * LISTENBACK_QUIET_SLACK_NS) that is still going on, or that ended no
 * longer ago than the lag (plus the slack), so listeners are still
 * hearing it. Pure. */
bool listenback_quiet_explains(const struct listenback_quiet *q,
    double silent_s, int64_t now_mono_ns, int64_t lag_ns);

struct listenback;

/* Starts the listen-back thread for every icecast output of cfg with
 * listenback = yes (outputs must be started, so their stats slots exist).
 * cfg is borrowed for the call. Owned: listenback_stop(). NULL when no
 * output asks for it, or on error (logged: listen-back is then off). A
 * mount that cannot be set up is logged and not listened to. */
struct listenback *listenback_start(const struct config *cfg);

/* A reload from old to next (the outputs of next started): returns the
 * listen-back for next, as listenback_start() does, and takes lb (the one
 * for old, may be NULL). A mount whose output kept streaming (kept[j] for
 * next->outputs[j], indexed as next) and whose listen-back settings are
 * the same (listenback_mount_same()) keeps listening: same connection,
 * same state and verdict, no flicker in /api/status. Every other mount
 * starts afresh (connecting). The thread pauses for the call. Both configs
 * are borrowed for the call. */
struct listenback *listenback_reload(struct listenback *lb,
    const struct config *old, const struct config *next, const bool *kept);

/* Stops the thread (within ~0.2 s), clears the listen-back records in
 * stats, frees. NULL is a no-op. */
void listenback_stop(struct listenback *lb);

/* True when output x of a and output y of b are both listened back to in
 * the same way (name, server, mount, TLS, listenback_url, timeout, the
 * dead-air threshold): a reload that keeps the output keeps its listener
 * (and takes a new dead-air time as it is).
 * Pure. */
bool listenback_mount_same(const struct config *a,
    const struct output_config *x, const struct config *b,
    const struct output_config *y);

#endif
