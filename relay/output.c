/* SPDX-License-Identifier: MIT */
/*
 * The generic part of every output: its thread, its bounded packet queue,
 * its muxer (one Ogg stream per connection), reconnect with backoff, the
 * stall watchdog, and the counters in stats. Backends (output_icecast.c)
 * only connect and move bytes.
 *
 * DESIGN
 * States: DISCONNECTED -> CONNECTING -> CONNECTED -> (error) DISCONNECTED.
 * - Every attempt, the first included, is retried forever: delays start at
 *   reconnect_min, double up to reconnect_max, with +-25% jitter kept inside
 *   [reconnect_min, reconnect_max] so that a fleet of relays does not hammer
 *   a restarted server in lockstep.
 * - While not connected the queue is drained and discarded, so a reconnect
 *   starts with current audio, never a burst of stale minutes, and the
 *   muxer is reset so the first packet opens a fresh logical stream with
 *   BOS and headers (Icecast sends a headerless source's listeners nothing).
 *   The first attempt since start is the exception while it lasts: what
 *   the encoder made meanwhile is the stream's beginning, milliseconds old,
 *   and an archive that dropped it would miss its first blocks.
 * - While waiting out a delay, the backend's probe (a non-blocking TCP
 *   connect, every PROBE_INTERVAL_NS) watches the server. When it has seen
 *   the server refuse connections and then accept them again, the wait is
 *   cut short and the backoff starts over: relay is back within a fraction
 *   of a second of a restarted server answering, whatever the outage
 *   length, instead of sleeping out up to reconnect_max. A server that
 *   accepts connections but refuses our login (password, mount in use)
 *   never shows that change, so it is retried on the plain backoff.
 * - Stall watchdog, because libshout cannot see a frozen server (the kernel
 *   buffers megabytes, FIELD-NOTES 2.6/2.7): the connection is declared
 *   stalled and closed when (a) bytes wait in the backend and none have
 *   moved for stall_timeout, or (b) the Icecast poller listed our mount
 *   with audio on this connection but has not listed it since, for
 *   stall_timeout plus one poll interval (server frozen, half-open TCP,
 *   or the server dropped us). (b) is armed only by a listing seen on this
 *   connection: Icecast never lists <hidden> mounts, and a proxy may
 *   answer the status page with 403 (the poller then keeps the last known
 *   state), so "not listed" means nothing until the mount has been seen.
 *   poll_icecast = off turns (b) off.
 *
 * Threads: output_start/stop on the main thread; output_thread runs the
 * backend; the engine thread pushes into the queue.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listenback.h"
#include "log.h"
#include "muxer.h"
#include "output.h"
#include "stats.h"

/* Bytes of Ogg Vorbis per second we size queues for: the highest rate a
 * q10 stereo stream reaches (~500 kbit/s), so the bound is never hit by a
 * healthy connection, only by a stuck one. */
#define QUEUE_BYTES_PER_SEC (500 * 1000 / 8)
/* Audio samples per packet the queue's slots are counted for: half a
 * Vorbis long block's 1024 (so an eighth of the audio may come in short
 * blocks of 128 before the count, not the bytes, fills a queue), an MP3
 * frame of 576 (MPEG-2; MPEG-1 frames are twice that). Opus packets are
 * one frame each: frame_ms. */
#define QUEUE_VORBIS_SAMPLES_PER_PACKET 512
#define QUEUE_MP3_SAMPLES_PER_PACKET 576
/* Page bound: at most 0.5 s of audio per page (file outputs, Opus; MP3
 * frames are not paged). A Vorbis stream to Icecast is paged as Icecast
 * re-pages it for its listeners instead (muxer_set_icecast_pages(),
 * muxer.c DESIGN): smaller pages gain nothing there, and pages more often
 * than every 250 ms keep Icecast 2.4.4 from serving its listeners (a new
 * one waited 1 to 2 s for audio with 50 ms pages; 12_reconnect_fast and
 * 26_listener_start; docs/performance.md "Latency"). */
#define MAX_PAGE_MS 500
#define CONNECT_POLL_NS (10 * NS_PER_MS)
/* A connected output sleeps on its queue until the packet that lets the
 * open page go out is there: counted back from muxer_page_due(), and one
 * packet later when the muxer holds the packet that completes the page
 * until the next one comes (packet_queue_set_batch_from, one_more). One
 * wake-up per page, not one per packet (~43 a second), two per page (the
 * page's last packet, then the one that lets it out) nor a polling timer.
 * It wakes sooner only while the backend still holds unsent bytes, to
 * push them on, and at least every IDLE_WAIT_NS for the stall watchdog:
 * longer than a page (0.5 s and a packet with Icecast pages; at 0.5 s
 * this timer fired just before nearly every page) and short next to
 * stall_timeout (at least 1 s, 10 s by default). */
#define IDLE_WAIT_NS (1000 * NS_PER_MS)
#define PENDING_POLL_NS (10 * NS_PER_MS)
/* Pages written whose bytes may still wait in the backend, for lag_ms. */
#define LAG_MARKS 64

/* How often a disconnected output asks the backend whether the server
 * accepts connections again: a TCP handshake that a down server answers
 * with RST, four times a second, costs it nothing. */
#define PROBE_INTERVAL_NS (250 * NS_PER_MS)
/* How often a probe still connecting is looked at. */
#define PROBE_POLL_NS (20 * NS_PER_MS)

enum output_state {
	OUTPUT_DISCONNECTED = 0,
	OUTPUT_CONNECTING,
	OUTPUT_CONNECTED,
};

struct output {
	char name[64];
	char mod[80]; /* log module: out[name] */
	char url[600];
	enum output_type type;
	enum metadata_mode metadata;
	int64_t reconnect_min_ns;
	int64_t reconnect_max_ns;
	int64_t stall_timeout_ns;
	int64_t connect_timeout_ns;
	/* [status] poll_icecast (0 = off) and the wall time it last changed:
	 * set by the main thread on reload. */
	atomic_int_fast64_t poll_interval_ns;
	atomic_int_fast64_t poll_changed_wall_ns;
	int stats_id;
	int64_t batch_granules; /* packet_queue_set_batch(), 0 = none */
	const struct output_ops *ops;
	struct output_backend *backend;
	struct packet_queue *queue;
	struct muxer *muxer;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	atomic_int_fast64_t drain_deadline_mono_ns;

	/* Output thread only. */
	enum output_state state;
	int64_t backoff_ns;
	int64_t next_attempt_mono_ns;
	int64_t last_early_mono_ns; /* last attempt the probe brought forward */
	int64_t next_probe_mono_ns;
	bool probe_in_flight;
	bool probe_saw_down; /* the server refused a connect since the last
				attempt (that attempt included) */
	int64_t connect_started_mono_ns;
	int64_t connected_mono_ns;
	int64_t connected_wall_ns;
	int64_t last_progress_mono_ns;
	size_t last_pending;
	char last_fail[256];
	/* lag_ms: for each page written and not yet known to have left the
	 * backend, where its last byte ends in the bytes written and when
	 * its oldest audio was made; page_made_ns is that of the open
	 * page (0 = none yet). */
	struct lag_mark {
		uint64_t end_bytes;
		int64_t made_ns;
	} marks[LAG_MARKS];
	size_t mark_head, mark_count;
	uint64_t written_bytes;
	int64_t page_made_ns;
	uint32_t title_chain; /* chain id whose title was sent (admin) */
	/* The encoder and title of that chain: a reload's new encoder
	 * (a kept output, config_output_change()) starts a chain with the
	 * title already shown, which is not asked for again. */
	uint32_t title_encoder;
	char title_shown[256];
	char artist_shown[256];
	/* A reload's new encoding (output_set_encoding()), for the backend
	 * before the next connect; under enc_lock (main thread writes). */
	pthread_mutex_t enc_lock;
	bool enc_pending;
	struct encoding_config enc_next; /* name: NULL */
	bool ever_connected;
	bool ever_failed; /* an attempt failed before the first connection */
};

/* Listen-back recognises our audio by its packets (Icecast re-pages a
 * Vorbis stream, so pages do not survive). Noted before the packet can
 * reach the network; the hash is the packet's own (packet_hash), computed
 * once for all the outputs that share the packet. */
static void
note_packet(struct output *o, struct packet *p)
{
	if (o->type == OUTPUT_ICECAST)
		listenback_note_packet(
		    o->stats_id, packet_hash(p), p->made_mono_ns);
}

/* A page went to the backend: remember when its oldest audio was made
 * until its last byte has left (lag_ms). */
static void
note_page_written(struct output *o, size_t bytes)
{
	struct lag_mark *last;

	o->written_bytes += bytes;
	if (o->mark_count == LAG_MARKS) {
		/* Full (a server far behind): the newest mark takes this page
		 * too; its older time keeps the lag on the safe side. */
		last =
		    &o->marks[(o->mark_head + o->mark_count - 1) % LAG_MARKS];
		last->end_bytes = o->written_bytes;
	} else {
		last = &o->marks[(o->mark_head + o->mark_count) % LAG_MARKS];
		last->end_bytes = o->written_bytes;
		last->made_ns =
		    o->page_made_ns != 0 ? o->page_made_ns : util_now_mono_ns();
		o->mark_count++;
	}
	o->page_made_ns = 0;
}

/*
 * lag_ms, after a flush left pending bytes in the backend: the age of the
 * oldest audio not yet handed to the server while any is left, else how
 * long the oldest audio of the page that last went out had waited. So a
 * server that takes our bytes slower than real time shows a growing lag,
 * even though the queue stays empty (every page goes into the backend).
 */
static void
update_lag(struct output *o, size_t pending)
{
	uint64_t sent = o->written_bytes - pending;
	int64_t now = util_now_mono_ns(), done_made_ns = -1;

	while (o->mark_count > 0 && o->marks[o->mark_head].end_bytes <= sent) {
		done_made_ns = o->marks[o->mark_head].made_ns;
		o->mark_head = (o->mark_head + 1) % LAG_MARKS;
		o->mark_count--;
	}
	if (o->mark_count > 0)
		stats_output_set_lag(o->stats_id,
		    (now - o->marks[o->mark_head].made_ns) / NS_PER_MS);
	else if (done_made_ns >= 0)
		stats_output_set_lag(
		    o->stats_id, (now - done_made_ns) / NS_PER_MS);
}

static int
write_page_cb(const unsigned char *data, size_t bytes, void *arg)
{
	struct output *o = arg;
	char err[256];
	int rc;

	err[0] = '\0';
	rc = o->ops->write(o->backend, data, bytes, err, sizeof(err));
	if (rc < 0) {
		util_strlcpy(o->last_fail, err[0] != '\0' ? err : strerror(-rc),
		    sizeof(o->last_fail));
		return rc;
	}
	stats_output_add_sent(o->stats_id, bytes);
	note_page_written(o, bytes);
	return 0;
}

/* Next delay: backoff with +-25% jitter, clamped to [min, max]. */
static int64_t
next_delay(struct output *o)
{
	int64_t d = o->backoff_ns;
	int64_t span = d / 2;
	int64_t jitter =
	    span > 0 ? (int64_t)(util_random_u32() % (uint64_t)span) - span / 2
		     : 0;

	d += jitter;
	if (d < o->reconnect_min_ns)
		d = o->reconnect_min_ns;
	if (d > o->reconnect_max_ns)
		d = o->reconnect_max_ns;
	o->backoff_ns *= 2;
	if (o->backoff_ns > o->reconnect_max_ns)
		o->backoff_ns = o->reconnect_max_ns;
	return d;
}

/* Closes the connection after an error and schedules the next attempt.
 * Logs at warn once per distinct reason, at debug for repeats. */
static void
fail(struct output *o, const char *why)
{
	int64_t delay;
	bool was_connected = o->state == OUTPUT_CONNECTED;
	bool repeat = strcmp(why, o->last_fail) == 0 && !was_connected;

	o->ops->close(o->backend);
	muxer_reset(o->muxer);
	o->ever_failed = true;
	delay = next_delay(o);
	o->next_attempt_mono_ns = util_now_mono_ns() + delay;
	o->next_probe_mono_ns = util_now_mono_ns() + PROBE_INTERVAL_NS;
	o->probe_in_flight = false;
	o->probe_saw_down = false;
	o->state = OUTPUT_DISCONNECTED;
	if (was_connected)
		stats_output_inc_reconnects(o->stats_id);
	stats_output_set_connected(o->stats_id, false, why);
	log_msg(repeat ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, o->mod,
	    "%s: %s; %s in %.1f s", o->url, why,
	    was_connected ? "reconnecting" : "retrying", (double)delay / 1e9);
	util_strlcpy(o->last_fail, why, sizeof(o->last_fail));
}

/* Records the verified server certificate of a TLS connection and warns
 * when it expires within TLS_EXPIRY_WARN_NS (once per connection). */
static void
report_tls_peer(struct output *o)
{
	struct tls_peer peer;
	char when[40];
	int64_t left_ns;

	if (o->ops->tls_peer == NULL || !o->ops->tls_peer(o->backend, &peer))
		return;
	stats_output_set_tls_peer(
	    o->stats_id, peer.subject, peer.issuer, peer.not_after_wall_ns);
	util_format_iso8601(peer.not_after_wall_ns, false, when, sizeof(when));
	left_ns = peer.not_after_wall_ns - util_now_wall_ns();
	if (left_ns < TLS_EXPIRY_WARN_NS)
		log_warn(o->mod,
		    "%s: the server's TLS certificate (%s) expires in %.1f "
		    "days (%s): renew it on the server, or relay will refuse "
		    "it then",
		    o->url, peer.subject, (double)left_ns / 86400e9, when);
	else
		log_info(o->mod, "%s: TLS certificate %s verified, expires %s",
		    o->url, peer.subject, when);
}

/* The first connection attempt since start, not failed yet. */
static bool
first_attempt(const struct output *o)
{
	return !o->ever_connected && !o->ever_failed;
}

static void
connected(struct output *o)
{
	o->state = OUTPUT_CONNECTED;
	o->connected_mono_ns = util_now_mono_ns();
	o->connected_wall_ns = util_now_wall_ns();
	o->last_progress_mono_ns = o->connected_mono_ns;
	o->last_pending = 0;
	o->backoff_ns = o->reconnect_min_ns;
	o->title_chain = 0;
	o->last_fail[0] = '\0';
	o->mark_count = 0;
	o->written_bytes = 0;
	o->page_made_ns = 0;
	/* Start with current audio: a fresh chain, nothing stale. Except on
	 * the first attempt, when it succeeds: what the queue holds then is
	 * the stream from its first packet, only as old as the connect took
	 * (an archive must not lose its first blocks). */
	muxer_reset(o->muxer);
	if (!first_attempt(o))
		packet_queue_clear(o->queue);
	stats_output_set_connected(o->stats_id, true, NULL);
	log_info(o->mod, "%s: connected%s", o->url,
	    o->ever_connected ? " again" : "");
	o->ever_connected = true;
	report_tls_peer(o);
}

/* Gives the backend the encoding a reload changed, before it connects
 * again (output_set_encoding()). */
static void
apply_encoding(struct output *o)
{
	struct encoding_config enc;
	bool pending;

	pthread_mutex_lock(&o->enc_lock);
	pending = o->enc_pending;
	enc = o->enc_next;
	o->enc_pending = false;
	pthread_mutex_unlock(&o->enc_lock);
	if (pending && o->ops->set_encoding != NULL)
		o->ops->set_encoding(o->backend, &enc);
}

static void
try_connect(struct output *o, bool poll)
{
	char err[256];
	int rc;

	err[0] = '\0';
	if (!poll)
		apply_encoding(o);
	if (!poll) {
		o->probe_in_flight = false; /* open() ends it */
		o->probe_saw_down = false;
	}
	rc = poll ? o->ops->open_poll(o->backend, err, sizeof(err))
		  : o->ops->open(o->backend, err, sizeof(err));
	if (rc == 0) {
		connected(o);
		return;
	}
	if (rc == -EINPROGRESS) {
		if (!poll) {
			o->state = OUTPUT_CONNECTING;
			o->connect_started_mono_ns = util_now_mono_ns();
		} else if (util_now_mono_ns() - o->connect_started_mono_ns >
			   o->connect_timeout_ns) {
			snprintf(err, sizeof(err),
			    "no answer within %.0f s (connect_timeout)",
			    (double)o->connect_timeout_ns / 1e9);
			fail(o, err);
		}
		return;
	}
	fail(o, err[0] != '\0' ? err : strerror(-rc));
	/* A refused or unanswered connect is itself the "server down" that
	 * lets the probe cut the next wait short: a server that comes back
	 * right after this attempt would otherwise never be seen down. */
	o->probe_saw_down = rc == -ECONNREFUSED || rc == -EHOSTUNREACH ||
			    rc == -ENETUNREACH || rc == -ETIMEDOUT;
}

/* Discards queued packets while not connected. */
static void
drain_discard(struct output *o, int64_t wait_ns)
{
	struct packet *p;
	bool gap;

	p = packet_queue_pop(o->queue, wait_ns, &gap);
	while (p != NULL) {
		packet_unref(p);
		p = packet_queue_pop(o->queue, 0, &gap);
	}
	(void)packet_queue_take_dropped(o->queue);
	stats_output_set_queue(o->stats_id, 0);
	stats_output_set_lag(o->stats_id, -1);
}

/* Returns true when the watchdog closed the connection. */
static bool
watchdog(struct output *o, size_t pending)
{
	int64_t now = util_now_mono_ns();
	int64_t poll_ns, seen;
	char why[256];

	if (pending == 0 || pending < o->last_pending)
		o->last_progress_mono_ns = now;
	o->last_pending = pending;
	if (pending > 0 &&
	    now - o->last_progress_mono_ns > o->stall_timeout_ns) {
		snprintf(why, sizeof(why),
		    "stalled: %zu bytes waiting, none sent for %.0f s", pending,
		    (double)o->stall_timeout_ns / 1e9);
		fail(o, why);
		return true;
	}
	poll_ns = atomic_load(&o->poll_interval_ns);
	seen = stats_output_server_seen(o->stats_id);
	/* Armed only once the poller listed the mount on this connection
	 * (see DESIGN: hidden mounts, a 403 status page). */
	if (o->type == OUTPUT_ICECAST && poll_ns > 0 &&
	    seen > o->connected_wall_ns) {
		int64_t wall = util_now_wall_ns();
		int64_t changed = atomic_load(&o->poll_changed_wall_ns);
		/* After a reload turned polling on, give it a full period. */
		int64_t base = seen > changed ? seen : changed;
		if (wall - base > o->stall_timeout_ns + poll_ns) {
			snprintf(why, sizeof(why),
			    "stalled: the server has not listed this mount "
			    "with audio for %.0f s (frozen server or lost "
			    "link)",
			    (double)(wall - base) / 1e9);
			fail(o, why);
			return true;
		}
	}
	return false;
}

static void
handle_title(struct output *o, struct packet *p)
{
	struct stream_headers *h = p->headers;
	char err[512];
	int rc;

	bool first;

	if (o->metadata != METADATA_ADMIN || o->ops->set_title == NULL ||
	    h->chain_id == o->title_chain)
		return;
	first = o->title_chain == 0;
	o->title_chain = h->chain_id;
	if (!first && h->encoder_id != o->title_encoder &&
	    strcmp(h->title, o->title_shown) == 0 &&
	    strcmp(h->artist, o->artist_shown) == 0) {
		/* Asking again would only make Icecast re-chain its Vorbis
		 * stream once more (a second glitch for its listeners). */
		o->title_encoder = h->encoder_id;
		return;
	}
	o->title_encoder = h->encoder_id;
	util_strlcpy(o->title_shown, h->title, sizeof(o->title_shown));
	util_strlcpy(o->artist_shown, h->artist, sizeof(o->artist_shown));
	/* The first chain of a connection goes out with its comment header,
	 * which carries this title, and Icecast shows it from there. Asking
	 * as well would race Icecast's parsing of those headers: until it
	 * has them it answers "Mountpoint will not accept URL updates".
	 * MP3 has no comment header: the first title is asked for too
	 * (Icecast takes it as soon as the source is connected). */
	if (first && (!h->raw || h->title[0] == '\0'))
		return;
	err[0] = '\0';
	rc = o->ops->set_title(
	    o->backend, h->title, h->artist, &o->stop, err, sizeof(err));
	/* Cancelled means relay is stopping this output: nothing to warn. */
	if (rc < 0)
		log_msg(rc == -ECANCELED ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
		    o->mod,
		    "%s: title update failed: %s; the stream goes on with "
		    "the old title until the next change",
		    o->url, err);
}

/*
 * The archive's file boundary, before the first packet made at or after
 * it: the stream in the old file ends with EOS on the packet before, and
 * the next file's stream begins with that same packet (muxer_split()), so
 * the files join without a lost or doubled sample. The new file starts
 * within one packet (one Vorbis block, at most 2048 samples) of the
 * boundary, as the encoder made it. split = false: the packets between
 * were lost, so the old stream just ends (EOS) and the new file starts
 * afresh.
 */
static int
rotate(struct output *o, int64_t wall_ns, bool split)
{
	char err[256];
	int rc;

	rc = split ? muxer_split(o->muxer, write_page_cb, o)
		   : muxer_end(o->muxer, write_page_cb, o);
	if (rc < 0)
		return rc;
	err[0] = '\0';
	rc = o->ops->rotate(o->backend, wall_ns, err, sizeof(err));
	if (rc < 0)
		util_strlcpy(o->last_fail, err[0] != '\0' ? err : strerror(-rc),
		    sizeof(o->last_fail));
	return rc;
}

static void
run_connected(struct output *o)
{
	struct packet *p;
	bool gap = false;
	size_t pending = 0;
	char err[256];
	uint64_t dropped;
	int64_t mono_to_wall_ns, due;
	int rc;

	(void)packet_queue_wait(
	    o->queue, o->last_pending > 0 ? PENDING_POLL_NS : IDLE_WAIT_NS);
	p = packet_queue_pop(o->queue, 0, &gap);
	mono_to_wall_ns = util_now_wall_ns() - util_now_mono_ns();
	while (p != NULL) {
		handle_title(o, p);
		/* A gap (the queue overflowed) in a file output: end the
		 * file cleanly and go on in a new one, so that lost audio
		 * is a file boundary, never a jump inside a file. */
		if (gap && o->ops->rotate != NULL &&
		    muxer_chain_id(o->muxer) != 0 &&
		    rotate(o, p->made_mono_ns + mono_to_wall_ns, false) < 0) {
			packet_unref(p);
			fail(o, o->last_fail[0] != '\0' ? o->last_fail
							: "new file failed");
			return;
		}
		/* Not while the file's stream holds no sample yet (its
		 * first packet only): that file would be of zero length.
		 * It gets the next packet too, one block past the
		 * boundary (CI saw it when a reconnection fell within a
		 * packet of a boundary). */
		if (o->ops->rotate_due != NULL &&
		    o->ops->rotate_due(
			o->backend, p->made_mono_ns + mono_to_wall_ns) &&
		    !muxer_stream_silent(o->muxer) &&
		    rotate(o, p->made_mono_ns + mono_to_wall_ns, true) < 0) {
			packet_unref(p);
			fail(o, o->last_fail[0] != '\0' ? o->last_fail
							: "rotation failed");
			return;
		}
		note_packet(o, p);
		if (o->page_made_ns == 0)
			o->page_made_ns = p->made_mono_ns;
		rc = muxer_packet(o->muxer, p, gap, write_page_cb, o);
		/* p opens the next page when this one went out with it held
		 * back (muxer.c keeps one packet; when it sent p at once, the
		 * next page's age is overstated by that one packet). */
		if (o->page_made_ns == 0)
			o->page_made_ns = p->made_mono_ns;
		packet_unref(p);
		if (rc < 0) {
			fail(o, o->last_fail[0] != '\0' ? o->last_fail
							: strerror(-rc));
			return;
		}
		p = packet_queue_pop(o->queue, 0, &gap);
	}
	dropped = packet_queue_take_dropped(o->queue);
	if (dropped > 0) {
		stats_output_add_dropped(o->stats_id, dropped);
		log_warn(o->mod,
		    "%s: fell behind; dropped %llu KiB of queued "
		    "audio and restarted the stream",
		    o->url, (unsigned long long)(dropped / 1024));
	}
	err[0] = '\0';
	rc = o->ops->flush(o->backend, &pending, err, sizeof(err));
	if (rc < 0) {
		fail(o, err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	/* Wake at the packet that completes the open page, not a page
	 * counted from the last packet taken: those drift apart by a packet
	 * a page, which held pages back by up to a whole page. */
	due = muxer_page_due(o->muxer);
	if (due >= 0 && o->batch_granules > 0)
		packet_queue_set_batch_from(o->queue,
		    due > o->batch_granules ? due - o->batch_granules : 0,
		    muxer_page_due_waits_next(o->muxer));
	stats_output_set_queue(
	    o->stats_id, packet_queue_bytes(o->queue) + pending);
	update_lag(o, pending);
	watchdog(o, pending);
}

/* Shutdown: send what is queued (the engine already ended its streams),
 * close the Ogg stream with EOS, let the backend drain, disconnect. */
static void
finish(struct output *o)
{
	int64_t deadline = atomic_load(&o->drain_deadline_mono_ns);
	struct packet *p;
	bool gap;
	size_t pending = 0;
	char err[256];

	if (o->state != OUTPUT_CONNECTED) {
		o->ops->close(o->backend);
		return;
	}
	while ((p = packet_queue_pop(o->queue, 0, &gap)) != NULL) {
		int rc;
		note_packet(o, p);
		rc = muxer_packet(o->muxer, p, gap, write_page_cb, o);
		packet_unref(p);
		if (rc < 0)
			goto out;
	}
	if (muxer_end(o->muxer, write_page_cb, o) < 0)
		goto out;
	do {
		err[0] = '\0';
		if (o->ops->flush(o->backend, &pending, err, sizeof(err)) < 0)
			break;
		if (pending > 0)
			util_sleep_ns(5 * NS_PER_MS);
	} while (pending > 0 && util_now_mono_ns() < deadline);
out:
	o->ops->close(o->backend);
	stats_output_set_connected(o->stats_id, false, NULL);
	log_info(o->mod, "%s: stream ended, disconnected", o->url);
}

/*
 * While waiting out a retry delay: probe the server and, once it has been
 * seen refusing connections and then accepting them, connect now instead
 * of at the end of the delay (see DESIGN). At most one early attempt per
 * reconnect_min, so a flapping server is not hammered either.
 */
static void
probe_server(struct output *o, int64_t now)
{
	int rc;

	if (o->ops->probe == NULL ||
	    (!o->probe_in_flight && now < o->next_probe_mono_ns))
		return;
	if (!o->probe_in_flight)
		o->next_probe_mono_ns = now + PROBE_INTERVAL_NS;
	rc = o->ops->probe(o->backend);
	o->probe_in_flight = rc == -EINPROGRESS;
	if (rc == -EINPROGRESS)
		return;
	if (rc < 0) {
		o->probe_saw_down = true;
		return;
	}
	if (!o->probe_saw_down ||
	    (o->last_early_mono_ns != 0 &&
		now - o->last_early_mono_ns < o->reconnect_min_ns))
		return;
	o->last_early_mono_ns = now;
	log_info(o->mod,
	    "%s: the server accepts connections again; connecting now "
	    "instead of in %.1f s",
	    o->url, (double)(o->next_attempt_mono_ns - now) / 1e9);
	o->backoff_ns = o->reconnect_min_ns;
	o->next_attempt_mono_ns = now;
}

/* How long the disconnected loop may wait before its next duty. */
static int64_t
disconnected_wait(const struct output *o, int64_t now)
{
	int64_t until = o->next_attempt_mono_ns;

	if (o->ops->probe != NULL) {
		if (o->probe_in_flight && now + PROBE_POLL_NS < until)
			until = now + PROBE_POLL_NS;
		else if (o->next_probe_mono_ns < until)
			until = o->next_probe_mono_ns;
	}
	if (until - now > 100 * NS_PER_MS)
		return 100 * NS_PER_MS;
	return until > now ? until - now : 0;
}

/* The packets a queue of queue_ns holds (packet_queue_new()): queue_ns
 * plus a second of audio at the encoding's packet rate (above). With the
 * 30 s default: 4096 slots (32 KiB) for Vorbis and MP3 at 44.1 or 48 kHz,
 * 2048 (16 KiB) for Opus in 20 ms frames. */
static size_t
queue_packets(const struct config *cfg, const struct output_config *oc)
{
	const struct encoding_config *ec = NULL;
	double per_sec = 48000.0 / 128; /* unknown: all short blocks */

	if (oc->encoding_index >= 0 &&
	    (size_t)oc->encoding_index < cfg->n_encodings)
		ec = &cfg->encodings[oc->encoding_index];
	if (ec != NULL && ec->codec == CODEC_OPUS && ec->frame_ms > 0)
		per_sec = 1000.0 / ec->frame_ms;
	else if (ec != NULL && ec->codec == CODEC_MP3)
		per_sec = (double)ec->rate_hz / QUEUE_MP3_SAMPLES_PER_PACKET;
	else if (ec != NULL)
		per_sec = (double)ec->rate_hz / QUEUE_VORBIS_SAMPLES_PER_PACKET;
	return (size_t)((double)(oc->queue_ns / NS_PER_SEC + 1) * per_sec);
}

/* Runs on: the output's own thread. */
static void *
output_thread(void *arg)
{
	struct output *o = arg;
	sigset_t all;

	util_thread_name("%s", o->mod);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	o->next_attempt_mono_ns = util_now_mono_ns();
	while (!atomic_load(&o->stop)) {
		int64_t now = util_now_mono_ns();
		switch (o->state) {
		case OUTPUT_DISCONNECTED:
			if (now < o->next_attempt_mono_ns)
				probe_server(o, now);
			if (now >= o->next_attempt_mono_ns)
				try_connect(o, false);
			else
				drain_discard(o, disconnected_wait(o, now));
			break;
		case OUTPUT_CONNECTING:
			if (first_attempt(o))
				util_sleep_ns(CONNECT_POLL_NS);
			else
				drain_discard(o, CONNECT_POLL_NS);
			try_connect(o, true);
			break;
		case OUTPUT_CONNECTED:
			run_connected(o);
			break;
		}
	}
	finish(o);
	return NULL;
}

struct output *
output_start(const struct config *cfg, size_t index, char *err, size_t errlen)
{
	struct output *o = output_new(cfg, index, err, errlen);

	if (o != NULL && output_run(o, cfg, index, err, errlen) < 0) {
		output_stop(o, 0);
		return NULL;
	}
	return o;
}

struct output *
output_new(const struct config *cfg, size_t index, char *err, size_t errlen)
{
	const struct output_config *oc = &cfg->outputs[index];
	struct output *o;
	const struct output_ops *ops;
	size_t max_bytes;
	int rc;

	switch (oc->type) {
	case OUTPUT_ICECAST:
		ops = &output_icecast_ops;
		break;
	case OUTPUT_FILE:
		ops = &output_file_ops;
		break;
	default:
		snprintf(err, errlen, "[output %s]: unknown type", oc->name);
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		snprintf(err, errlen, "[output %s]: out of memory", oc->name);
		return NULL;
	}
	pthread_mutex_init(&o->enc_lock, NULL);
	util_strlcpy(o->name, oc->name, sizeof(o->name));
	snprintf(o->mod, sizeof(o->mod), "out[%s]", oc->name);
	config_output_url(oc, o->url, sizeof(o->url));
	o->type = oc->type;
	o->metadata = oc->metadata;
	o->reconnect_min_ns = oc->reconnect_min_ns;
	o->reconnect_max_ns = oc->reconnect_max_ns;
	o->backoff_ns = oc->reconnect_min_ns;
	o->stall_timeout_ns = oc->stall_timeout_ns;
	o->connect_timeout_ns = oc->connect_timeout_ns;
	atomic_init(&o->poll_interval_ns, cfg->status.poll_icecast_ns);
	atomic_init(&o->poll_changed_wall_ns, 0);
	o->ops = ops;
	max_bytes =
	    (size_t)(oc->queue_ns / NS_PER_SEC + 1) * QUEUE_BYTES_PER_SEC;
	o->queue = packet_queue_new(max_bytes, queue_packets(cfg, oc));
	o->muxer = muxer_new(MAX_PAGE_MS);
	if (o->queue == NULL || o->muxer == NULL) {
		snprintf(err, errlen, "[output %s]: out of memory", oc->name);
		goto fail;
	}
	if (oc->encoding_index >= 0 &&
	    (size_t)oc->encoding_index < cfg->n_encodings) {
		o->batch_granules = (int64_t)MAX_PAGE_MS *
				    cfg->encodings[oc->encoding_index].rate_hz /
				    1000;
		packet_queue_set_batch(o->queue, o->batch_granules);
	}
	muxer_set_icecast_pages(o->muxer, oc->type == OUTPUT_ICECAST);
	muxer_set_follow_tags(o->muxer, oc->metadata == METADATA_CHAIN);
	rc = ops->create(cfg, oc, &o->backend, err, errlen);
	if (rc < 0)
		goto fail;
	o->stats_id = -1;
	return o;
fail:
	if (o->backend != NULL)
		ops->destroy(o->backend);
	packet_queue_free(o->queue);
	muxer_free(o->muxer);
	pthread_mutex_destroy(&o->enc_lock);
	free(o);
	return NULL;
}

int
output_run(struct output *o, const struct config *cfg, size_t index, char *err,
    size_t errlen)
{
	int rc;

	/* Registered only now: an output made while the one it replaces
	 * still runs must not share (and then lose) that one's slot. */
	o->stats_id = stats_output_register(cfg, &cfg->outputs[index]);
	if (o->ops->set_stats != NULL)
		o->ops->set_stats(o->backend, o->stats_id);
	rc = pthread_create(&o->thread, NULL, output_thread, o);
	if (rc != 0) {
		snprintf(err, errlen, "[output %s]: cannot start thread: %s",
		    o->name, strerror(rc));
		return -rc;
	}
	o->thread_started = true;
	return 0;
}

void
output_stop(struct output *o, int64_t drain_ns)
{
	if (o == NULL)
		return;
	atomic_store(&o->drain_deadline_mono_ns, util_now_mono_ns() + drain_ns);
	atomic_store(&o->stop, true);
	packet_queue_wake(o->queue);
	if (o->thread_started)
		pthread_join(o->thread, NULL);
	o->ops->destroy(o->backend);
	stats_output_unregister(o->stats_id);
	packet_queue_free(o->queue);
	muxer_free(o->muxer);
	pthread_mutex_destroy(&o->enc_lock);
	free(o);
}

void
output_set_encoding(struct output *o, const struct config *cfg, size_t index)
{
	const struct output_config *oc = &cfg->outputs[index];

	if (o == NULL || oc->encoding_index < 0 ||
	    (size_t)oc->encoding_index >= cfg->n_encodings)
		return;
	pthread_mutex_lock(&o->enc_lock);
	o->enc_next = cfg->encodings[oc->encoding_index];
	o->enc_next.name = NULL; /* cfg's, freed on the next reload */
	o->enc_pending = true;
	pthread_mutex_unlock(&o->enc_lock);
}

void
output_set_poll_interval(struct output *o, int64_t poll_interval_ns)
{
	if (o == NULL || atomic_load(&o->poll_interval_ns) == poll_interval_ns)
		return;
	atomic_store(&o->poll_changed_wall_ns, util_now_wall_ns());
	atomic_store(&o->poll_interval_ns, poll_interval_ns);
}

struct packet_queue *
output_queue(struct output *o)
{
	return o->queue;
}

int
output_stats_id(const struct output *o)
{
	return o->stats_id;
}

const char *
output_name(const struct output *o)
{
	return o->name;
}
