/* SPDX-License-Identifier: MIT */
/*
 * Listen-back: one thread listens to every mount with listenback = yes.
 * See listenback.h for what it reports and how our audio is recognised.
 *
 * DESIGN
 * Matching is by packet, not by page: Icecast 2.4 (format_vorbis.c)
 * rebuilds every Vorbis stream with a random serial, its own granule
 * positions and ~0.5 s pages, but copies each audio packet unchanged. So
 * the outputs note a hash of every packet, and the listener hashes every
 * audio packet it decodes; header packets are skipped (Icecast may write
 * its own comment header). Ogg Opus (RFC 7845) is handled the same way:
 * Icecast passes its packets through too; OpusHead gives the channels,
 * pre-skip and gain, OpusTags is skipped, the rest is audio at 48 kHz.
 *
 * One curl multi handle carries every mount's transfer, and the thread
 * sleeps in curl_multi_poll() until a socket has bytes, 200 ms pass, or
 * listenback_stop() wakes it. The write callback feeds libogg and handles
 * each page as it completes, so the arrival time of a page is the time
 * its last byte was read, not a polling tick.
 *
 * Budget: nothing is resampled or converted. Every Vorbis or Opus
 * packet is decoded (cheap at broadcast rates: 0.15% of one core for a
 * stereo 44.1 kHz Vorbis or 64 kbit/s Opus stream here) and its samples
 * only feed a level meter (Vorbis through a small interleaving buffer;
 * Opus decodes interleaved into one 120 ms buffer per mount). Allocation
 * happens when a mount is set up and when a new Ogg logical stream starts (a
 * reconnect or a title change with metadata = chain), never per page.
 *
 * Silence: listeners hear the programme a lag (~1-2 s) behind, so their
 * silence is set against the programme's as it was then: the thread
 * samples the programme's silence (under the dead-air threshold, from the
 * engine's meter) at each round and keeps its last few runs. Listeners'
 * silence that such a run covers is a pause of the programme, flagged only
 * once it lasts the station's dead-air time, as [fallback] judges it;
 * silence no run covers is something between relay and the listeners,
 * flagged after LISTENBACK_SILENT_UNEXPLAINED_S.
 *
 * Timeouts: a transfer that delivers no byte for listenback_timeout (a
 * frozen server keeps the TCP connection open and says nothing; a paused
 * server even accepts new connections through the kernel's backlog) is
 * aborted and started again 1 s later, as is one that ends or fails. The
 * verdict does not wait for curl: it follows the last audio page's age.
 *
 * Threads: the listen-back thread owns every struct lb_mount; the packet
 * logs, each behind its own lock, are shared with the output threads.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <ogg/ogg.h>
#include <opus.h>
#include <vorbis/codec.h>

#include "dynlib.h"
#include "level.h"
#include "listenback.h"
#include "log.h"
#include "opus_header.h"
#include "packet.h"
#include "util.h"

#define MOD_PREFIX "listen"
#define LB_POLL_MS 200
#define LB_RETRY_NS (1 * NS_PER_SEC)
#define LB_PUBLISH_NS (200 * NS_PER_MS)
#define LB_MAX_REDIRS 5L
/* Frames interleaved at a time for the level meter (8 channels max). */
#define LB_CHUNK_FRAMES 512
#define LB_MAX_CHANNELS 8
/* Bytes of Ogg packet data a logical stream may hold at once (one packet
 * in the making, the rest of a page): a Vorbis packet is a few kB, a
 * comment header with cover art a few hundred. libogg grows its buffer
 * for a packet without end, so a server that never ends one would take
 * all our memory: past this the transfer is dropped and started again. */
#define LB_MAX_PACKET_BYTES ((long)4 * 1024 * 1024)
/* An Opus packet holds at most 120 ms: 5760 frames at 48 kHz. Only
 * channel mapping family 0 (mono, stereo) is decoded, as relay sends. */
#define LB_OPUS_MAX_FRAMES 5760
#define LB_OPUS_MAX_CHANNELS 2

/* --- the packet logs, shared with the output threads -------------------- */

/* One lock per output slot: the outputs of one encoding note the same
 * packet at the same moment, and one lock for all had them queue up
 * behind each other. */
static struct sent_log {
	pthread_mutex_t lock;
	struct listenback_log log;
} sent_logs[CONFIG_MAX_OUTPUTS];
static pthread_once_t sent_logs_once = PTHREAD_ONCE_INIT;

static void
sent_logs_init(void)
{
	size_t i;

	for (i = 0; i < CONFIG_MAX_OUTPUTS; i++)
		pthread_mutex_init(&sent_logs[i].lock, NULL);
}

uint64_t
listenback_packet_hash(const unsigned char *data, size_t bytes)
{
	return packet_data_hash(data, bytes);
}

void
listenback_log_add(
    struct listenback_log *l, uint64_t hash, int64_t made_mono_ns)
{
	l->packet[l->next].hash = hash;
	l->packet[l->next].made_mono_ns = made_mono_ns;
	l->next = (l->next + 1) % LISTENBACK_LOG_PACKETS;
	if (l->n < LISTENBACK_LOG_PACKETS)
		l->n++;
}

int64_t
listenback_log_find(
    const struct listenback_log *l, uint64_t hash, bool *repeated)
{
	size_t i, at, prev;

	/* Newest first: a live listener is a page or two behind. */
	for (i = 0; i < l->n; i++) {
		at = (l->next + LISTENBACK_LOG_PACKETS - 1 - i) %
		     LISTENBACK_LOG_PACKETS;
		if (l->packet[at].hash != hash)
			continue;
		prev =
		    (at + LISTENBACK_LOG_PACKETS - 1) % LISTENBACK_LOG_PACKETS;
		if (repeated != NULL)
			*repeated =
			    i + 1 < l->n && l->packet[prev].hash == hash;
		return l->packet[at].made_mono_ns;
	}
	return -1;
}

/* Runs on: an output thread. */
void
listenback_note_packet(int slot, uint64_t hash, int64_t made_mono_ns)
{
	/* Every Icecast output notes its packets, listened to or not: a
	 * reload may turn listen-back on, and its first burst must already
	 * be known. A short lock per packet (~43 a second). */
	if (slot < 0 || slot >= CONFIG_MAX_OUTPUTS)
		return;
	pthread_once(&sent_logs_once, sent_logs_init);
	pthread_mutex_lock(&sent_logs[slot].lock);
	listenback_log_add(&sent_logs[slot].log, hash, made_mono_ns);
	pthread_mutex_unlock(&sent_logs[slot].lock);
}

static int64_t
sent_made_ns(int slot, uint64_t hash, bool *repeated)
{
	int64_t made;

	*repeated = false;
	if (slot < 0 || slot >= CONFIG_MAX_OUTPUTS)
		return -1;
	pthread_once(&sent_logs_once, sent_logs_init);
	pthread_mutex_lock(&sent_logs[slot].lock);
	made = listenback_log_find(&sent_logs[slot].log, hash, repeated);
	pthread_mutex_unlock(&sent_logs[slot].lock);
	return made;
}

/* --- the verdict --------------------------------------------------------- */

enum stats_listenback_state
listenback_judge(
    const struct listenback_obs *o, int64_t now_mono_ns, int64_t timeout_ns)
{
	int64_t since = o->last_audio_mono_ns > 0 ? o->last_audio_mono_ns
						  : o->started_mono_ns;

	if (now_mono_ns - since >= timeout_ns)
		return LISTENBACK_NO_AUDIO;
	if (o->last_audio_mono_ns <= 0)
		return LISTENBACK_CONNECTING;
	if (o->unmatched_pages >= LISTENBACK_FOREIGN_PAGES)
		return LISTENBACK_FOREIGN;
	if (!o->matched_once)
		return LISTENBACK_CONNECTING;
	if (o->dead_air_s > 0 && o->silent_s >= o->dead_air_s)
		return LISTENBACK_SILENT;
	if (o->silent_s >= LISTENBACK_SILENT_UNEXPLAINED_S &&
	    !o->programme_silent)
		return LISTENBACK_SILENT;
	return LISTENBACK_OK;
}

void
listenback_quiet_sample(
    struct listenback_quiet *q, double quiet_s, int64_t now_mono_ns)
{
	int64_t from = now_mono_ns - (int64_t)(quiet_s * 1e9);

	if (quiet_s <= 0) {
		/* Over: it ended between the last sample and this one. */
		if (q->open)
			q->run[0].to_mono_ns = now_mono_ns;
		q->open = false;
		return;
	}
	/* The same silence, unless the last sample heard sound or this one
	 * began after it (sound between two samples; 50 ms for the
	 * milliseconds quiet_s is rounded to). */
	if (q->open && from <= q->run[0].to_mono_ns + 50 * NS_PER_MS) {
		q->run[0].to_mono_ns = now_mono_ns;
		return;
	}
	memmove(&q->run[1], &q->run[0],
	    (LISTENBACK_QUIET_RUNS - 1) * sizeof(q->run[0]));
	q->run[0].from_mono_ns = from;
	q->run[0].to_mono_ns = now_mono_ns;
	if (q->n < LISTENBACK_QUIET_RUNS)
		q->n++;
	q->open = true;
}

bool
listenback_quiet_explains(const struct listenback_quiet *q, double silent_s,
    int64_t now_mono_ns, int64_t lag_ns)
{
	int64_t heard = (int64_t)(silent_s * 1e9), to;
	size_t i;

	if (lag_ns < 0)
		lag_ns = LISTENBACK_LAG_GUESS_NS;
	for (i = 0; i < q->n; i++) {
		to = i == 0 && q->open ? now_mono_ns : q->run[i].to_mono_ns;
		if (now_mono_ns - to > lag_ns + LISTENBACK_QUIET_SLACK_NS)
			continue; /* listeners heard it end already */
		if (to - q->run[i].from_mono_ns + LISTENBACK_QUIET_SLACK_NS >=
		    heard)
			return true;
	}
	return false;
}

/* --- the listener thread ------------------------------------------------- */

struct lb_mount {
	char mod[80]; /* "listen[main]" */
	char name[64];
	int slot;
	uint64_t out_serial; /* its output's registration (stats_output_find) */
	char url[512];	     /* as configured (may hold credentials) */
	char shown_url[512]; /* without credentials */
	int64_t timeout_ns;
	double threshold_dbfs; /* the dead-air threshold */

	CURL *easy;
	bool active;
	char curl_err[CURL_ERROR_SIZE];
	char abort_why[128]; /* why write_cb aborted the transfer, or "" */
	int64_t attempt_mono_ns;
	int64_t last_byte_mono_ns;
	int64_t next_attempt_mono_ns;

	ogg_sync_state oy;
	ogg_stream_state os;
	bool os_init;
	uint32_t serial;
	vorbis_info vi;
	vorbis_comment vc;
	bool info_init;
	vorbis_dsp_state vd;
	vorbis_block vb;
	bool dsp_init;
	int headers;	       /* Vorbis headers read; -1: not Vorbis */
	bool opus;	       /* the logical stream is Ogg Opus */
	OpusDecoder *opus_dec; /* NULL: not Opus, or not decodable */
	int opus_channels;
	int opus_skip_frames; /* pre-skip still to drop (RFC 7845) */
	int64_t packets;      /* packets of the current logical stream */
	bool page_audio;      /* the page being read carried audio */
	bool page_matched;    /* ... and a packet of ours */
	int64_t page_lag_ns;  /* largest lag among its packets, -1 none */
	struct level_meter meter;
	bool meter_init;
	float chunk[LB_CHUNK_FRAMES * LB_MAX_CHANNELS];
	float opus_pcm[LB_OPUS_MAX_FRAMES * LB_OPUS_MAX_CHANNELS];

	struct listenback_obs obs;
	struct stats_listenback st;
	int64_t published_mono_ns;
};

struct listenback {
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	CURLM *multi;
	struct lb_mount **mounts; /* each its own allocation: a reload moves
				     the ones it keeps to a new array */
	size_t n_mounts;
	struct listenback_quiet quiet; /* the programme's silences */
};

/* "http://user:pw@host/x" -> "http://host/x". The userinfo ends at the
 * last "@" of the authority: a password with an "@" not written %40
 * ("user:p@ss@host") must not show its tail. */
static void
strip_userinfo(char *dst, size_t len, const char *url)
{
	const char *p = strstr(url, "://"), *at = NULL, *q;

	if (p == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	p += 3;
	for (q = p; *q != '\0' && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			at = q;
	if (at == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	snprintf(dst, len, "%.*s%s", (int)(p - url), url, at + 1);
}

/* True when a and b (both without credentials) name the same mount:
 * scheme and host in any case, the path exactly. */
static bool
same_url(const char *a, const char *b)
{
	const char *pa = strstr(a, "://"), *pb = strstr(b, "://");

	if (pa == NULL || pb == NULL)
		return strcmp(a, b) == 0;
	pa = strchr(pa + 3, '/');
	pb = strchr(pb + 3, '/');
	if (pa == NULL || pb == NULL)
		return strcmp(a, b) == 0;
	return pa - a == pb - b && strncasecmp(a, b, (size_t)(pa - a)) == 0 &&
	       strcmp(pa, pb) == 0;
}

static void
stream_clear(struct lb_mount *m)
{
	if (m->dsp_init) {
		vorbis_block_clear(&m->vb);
		vorbis_dsp_clear(&m->vd);
	}
	if (m->info_init) {
		vorbis_comment_clear(&m->vc);
		vorbis_info_clear(&m->vi);
	}
	if (m->os_init)
		ogg_stream_clear(&m->os);
	if (m->opus_dec != NULL)
		opus_decoder_destroy(m->opus_dec);
	m->opus_dec = NULL;
	m->opus = false;
	m->st.decoded = false;
	m->dsp_init = m->info_init = m->os_init = false;
	m->headers = 0;
	m->packets = 0;
}

static void
stream_start(struct lb_mount *m, uint32_t serial)
{
	stream_clear(m);
	if (ogg_stream_init(&m->os, (int)serial) != 0)
		return;
	m->os_init = true;
	m->serial = serial;
	vorbis_info_init(&m->vi);
	vorbis_comment_init(&m->vc);
	m->info_init = true;
}

int
listenback_opus_head(const unsigned char *packet, size_t bytes,
    struct listenback_opus_head *head)
{
	struct opus_header_info info;

	if (opus_header_read(packet, bytes, &info) != 0)
		return -EINVAL;
	/* What relay sends: family 0, mono or stereo. */
	if (info.mapping != 0 || info.channels < 1 ||
	    info.channels > LB_OPUS_MAX_CHANNELS)
		return -ENOTSUP;
	head->channels = info.channels;
	head->preskip_frames = info.preskip;
	head->gain_q8 = info.gain_q8;
	return 0;
}

/* A decoder is ready: set up the meter. Its silence count carries over
 * a chain change (and a change of codec or rate). */
static void
meter_start(struct lb_mount *m, int rate_hz, int channels)
{
	int64_t silent = m->meter_init ? m->meter.silent_frames : 0;
	int old_rate = m->meter_init ? m->meter.rate_hz : 0;

	level_init(&m->meter, rate_hz, channels, m->threshold_dbfs);
	if (old_rate > 0)
		m->meter.silent_frames = silent * rate_hz / old_rate;
	m->meter_init = true;
}

/* Interleaved frames decoded: levels and silence from them. */
static void
meter_feed(struct lb_mount *m, const float *frames, size_t n)
{
	if (level_feed(&m->meter, frames, n)) {
		m->st.peak_dbfs = m->meter.peak_dbfs;
		m->st.rms_dbfs = m->meter.rms_dbfs;
		m->st.decoded = true;
	}
	m->obs.silent_s = level_silent_seconds(&m->meter);
}

/* The first packet of a logical stream is OpusHead (RFC 7845 section
 * 5.1): version 0.x, channels, pre-skip, output gain, mapping family.
 * A stream it cannot decode stays counted and matched, not heard. */
static void
opus_start(struct lb_mount *m, const ogg_packet *op)
{
	struct listenback_opus_head head;
	int err;

	m->opus = true;
	if (listenback_opus_head(op->packet, (size_t)op->bytes, &head) != 0)
		return;
	m->opus_dec =
	    opus_decoder_create(OPUS_HEADER_RATE_HZ, head.channels, &err);
	if (m->opus_dec == NULL)
		return;
	if (head.gain_q8 != 0)
		(void)opus_decoder_ctl(
		    m->opus_dec, OPUS_SET_GAIN(head.gain_q8));
	m->opus_channels = head.channels;
	m->opus_skip_frames = head.preskip_frames;
	meter_start(m, OPUS_HEADER_RATE_HZ, head.channels);
}

/* Packet 1 is OpusTags (skipped); the rest is audio at 48 kHz. */
static void
opus_decode_packet(struct lb_mount *m, const ogg_packet *op)
{
	int n, skip;

	if (m->opus_dec == NULL || m->packets < 2)
		return;
	n = opus_decode_float(m->opus_dec, op->packet, (opus_int32)op->bytes,
	    m->opus_pcm, LB_OPUS_MAX_FRAMES, 0);
	if (n <= 0)
		return; /* a damaged packet: the next one decodes */
	skip = m->opus_skip_frames < n ? m->opus_skip_frames : n;
	m->opus_skip_frames -= skip;
	if (n > skip)
		meter_feed(m, m->opus_pcm + (size_t)skip * m->opus_channels,
		    (size_t)(n - skip));
}

/* The three headers are in: set up the decoder and the meter. */
static void
decoder_start(struct lb_mount *m)
{
	if (m->vi.channels < 1 || m->vi.channels > LB_MAX_CHANNELS ||
	    m->vi.rate < 1 || vorbis_synthesis_init(&m->vd, &m->vi) != 0) {
		m->headers = -1;
		return;
	}
	if (vorbis_block_init(&m->vd, &m->vb) != 0) {
		vorbis_dsp_clear(&m->vd);
		m->headers = -1;
		return;
	}
	m->dsp_init = true;
	meter_start(m, (int)m->vi.rate, m->vi.channels);
}

static void
decode_packet(struct lb_mount *m, ogg_packet *op)
{
	float **pcm;
	int n, ch, i, c, k;

	if (m->packets == 0 && op->bytes >= 8 &&
	    memcmp(op->packet, "OpusHead", 8) == 0)
		opus_start(m, op);
	if (m->opus) {
		opus_decode_packet(m, op);
		return;
	}
	if (m->headers < 0)
		return;
	if (m->headers < 3) {
		if (vorbis_synthesis_headerin(&m->vi, &m->vc, op) < 0) {
			m->headers = -1; /* not Vorbis: counted, not heard */
			return;
		}
		if (++m->headers == 3)
			decoder_start(m);
		return;
	}
	if (vorbis_synthesis(&m->vb, op) == 0)
		(void)vorbis_synthesis_blockin(&m->vd, &m->vb);
	ch = m->vi.channels;
	while ((n = vorbis_synthesis_pcmout(&m->vd, &pcm)) > 0) {
		for (i = 0; i < n; i += LB_CHUNK_FRAMES) {
			int frames =
			    n - i < LB_CHUNK_FRAMES ? n - i : LB_CHUNK_FRAMES;
			for (k = 0; k < frames; k++)
				for (c = 0; c < ch; c++)
					m->chunk[k * ch + c] = pcm[c][i + k];
			meter_feed(m, m->chunk, (size_t)frames);
		}
		(void)vorbis_synthesis_read(&m->vd, n);
	}
}

/* An audio packet arrived: is it ours, and how late. */
static void
account_packet(struct lb_mount *m, const ogg_packet *op, int64_t now)
{
	bool repeated;
	int64_t made = sent_made_ns(m->slot,
	    listenback_packet_hash(op->packet, (size_t)op->bytes), &repeated);

	m->page_audio = true;
	if (made < 0)
		return;
	m->page_matched = true;
	/* A packet made before this connection began came in Icecast's
	 * burst: old audio sent at once, whose age is not the lag. A packet
	 * identical to the one before it (digital silence) could be any of
	 * them, so its age says nothing either. */
	if (!repeated && made >= m->attempt_mono_ns &&
	    now - made > m->page_lag_ns)
		m->page_lag_ns = now - made;
}

/* A page ended: count it for the verdict. */
static void
account_page(struct lb_mount *m, int64_t now)
{
	if (!m->page_audio)
		return;
	m->obs.last_audio_mono_ns = now;
	m->st.last_audio_wall_ns = util_now_wall_ns();
	if (!m->page_matched) {
		if (m->obs.unmatched_pages < UINT32_MAX)
			m->obs.unmatched_pages++;
		return;
	}
	m->obs.unmatched_pages = 0;
	m->obs.matched_once = true;
	/* Our audio is heard: an old connection error no longer applies
	 * (docs/status-api.md). */
	m->st.last_error[0] = '\0';
	if (m->page_lag_ns >= 0)
		m->st.lag_ms = m->page_lag_ns / NS_PER_MS;
}

static void
handle_page(struct lb_mount *m, ogg_page *og, int64_t now)
{
	uint32_t serial = (uint32_t)ogg_page_serialno(og);
	ogg_packet op;

	if (ogg_page_bos(og))
		stream_start(m, serial);
	if (!m->os_init || serial != m->serial ||
	    ogg_stream_pagein(&m->os, og) != 0)
		return;
	if (m->os.body_fill > LB_MAX_PACKET_BYTES) {
		snprintf(m->abort_why, sizeof(m->abort_why),
		    "an Ogg packet over %ld MiB (not a Vorbis or Opus "
		    "stream); "
		    "dropped the connection",
		    LB_MAX_PACKET_BYTES / 1024 / 1024);
		stream_clear(m); /* frees the packet's buffer */
		return;
	}
	m->page_audio = m->page_matched = false;
	m->page_lag_ns = -1;
	while (ogg_stream_packetout(&m->os, &op) == 1) {
		/* Packets 0..2 are the Vorbis headers, 0..1 the Opus ones
		 * (the first packet tells which); Icecast rewrites the
		 * comment header, so only audio is matched. */
		decode_packet(m, &op);
		if (m->packets++ >= (m->opus ? 2 : 3))
			account_packet(m, &op, now);
	}
	account_page(m, now);
}

/* Runs on: the listen-back thread (inside curl). */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lb_mount *m = arg;
	size_t bytes = size * nmemb;
	int64_t now = util_now_mono_ns();
	ogg_page og;
	char *buf;
	int rc;

	m->last_byte_mono_ns = now;
	m->st.bytes += bytes;
	if (!m->st.connected) {
		/* Icecast counts us among its listeners from now on: the
		 * poller's listener count must know at once. */
		m->st.connected = true;
		stats_output_set_listenback(m->slot, m->out_serial, &m->st);
	}
	buf = ogg_sync_buffer(&m->oy, (long)bytes);
	if (buf == NULL)
		return 0; /* aborts the transfer; it starts again */
	memcpy(buf, data, bytes);
	(void)ogg_sync_wrote(&m->oy, (long)bytes);
	while ((rc = ogg_sync_pageout(&m->oy, &og)) != 0) {
		if (rc == 1)
			handle_page(m, &og, now);
		if (m->abort_why[0] != '\0')
			return 0; /* aborts the transfer; it starts again */
	}
	return bytes;
}

static int
mount_setup(struct lb_mount *m, char *err, size_t errlen)
{
	CURL *c;
	CURLcode cc;

	m->easy = c = dynlib_curl.easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((cc = dynlib_curl.easy_setopt(c, CURLOPT_URL, m->url)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_ERRORBUFFER, m->curl_err)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_PRIVATE, m)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_PROXY, "")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_MAXREDIRS, LB_MAX_REDIRS)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_FAILONERROR, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_USERAGENT, "relay listen-back")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		 (long)(m->timeout_ns / NS_PER_MS))) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_WRITEFUNCTION, write_cb)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_WRITEDATA, m)) !=
		CURLE_OK) {
		snprintf(err, errlen, "curl setup: %s",
		    dynlib_curl.easy_strerror(cc));
		return -EINVAL;
	}
	ogg_sync_init(&m->oy);
	return 0;
}

static void
transfer_start(struct listenback *lb, struct lb_mount *m, int64_t now)
{
	stream_clear(m);
	(void)ogg_sync_reset(&m->oy);
	m->curl_err[0] = '\0';
	m->abort_why[0] = '\0';
	m->attempt_mono_ns = now;
	m->last_byte_mono_ns = now;
	if (dynlib_curl.multi_add_handle(lb->multi, m->easy) != CURLM_OK) {
		m->next_attempt_mono_ns = now + LB_RETRY_NS;
		return;
	}
	m->active = true;
	m->st.connects++;
}

static void
transfer_end(
    struct listenback *lb, struct lb_mount *m, const char *why, int64_t now)
{
	if (m->active)
		(void)dynlib_curl.multi_remove_handle(lb->multi, m->easy);
	m->active = false;
	m->next_attempt_mono_ns = now + LB_RETRY_NS;
	util_strlcpy(m->st.last_error, why, sizeof(m->st.last_error));
	if (m->st.connected) {
		m->st.connected = false;
		stats_output_set_listenback(m->slot, m->out_serial, &m->st);
	}
	log_debug(m->mod, "%s: %s; listening again in %.0f s", m->shown_url,
	    why, (double)LB_RETRY_NS / 1e9);
}

static void
transfer_done(struct listenback *lb, CURL *easy, CURLcode result, int64_t now)
{
	struct lb_mount *m = NULL;
	char why[STATS_TEXT];

	(void)dynlib_curl.easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&m);
	if (m == NULL)
		return;
	if (m->abort_why[0] != '\0')
		snprintf(why, sizeof(why), "%s", m->abort_why);
	else if (result == CURLE_OK)
		snprintf(why, sizeof(why), "the server ended the stream");
	else
		snprintf(why, sizeof(why), "%s",
		    m->curl_err[0] != '\0' ? m->curl_err
					   : dynlib_curl.easy_strerror(result));
	transfer_end(lb, m, why, now);
}

static void
log_change(struct lb_mount *m, enum stats_listenback_state old)
{
	const struct stats_listenback *s = &m->st;
	char lag[48], level[48];

	switch (s->state) {
	case LISTENBACK_OK:
		/* The first pages are usually the burst: no lag yet. */
		if (s->decoded)
			snprintf(level, sizeof(level), "RMS %.1f dBFS",
			    s->rms_dbfs > -120.0 ? s->rms_dbfs : -120.0);
		else
			snprintf(level, sizeof(level), "level not decoded");
		if (s->lag_ms >= 0)
			snprintf(lag, sizeof(lag), "lag %lld ms",
			    (long long)s->lag_ms);
		else
			snprintf(lag, sizeof(lag), "lag not measured yet");
		log_info(m->mod, "%s: listeners hear our audio%s (%s, %s)",
		    m->shown_url, old == LISTENBACK_CONNECTING ? "" : " again",
		    lag, level);
		break;
	case LISTENBACK_NO_AUDIO:
		log_warn(m->mod,
		    "%s: no audio reaches listeners for %.0f s (%s); flagged, "
		    "on_air is false; listening again every %.0f s",
		    m->shown_url, (double)m->timeout_ns / 1e9,
		    s->last_error[0] != '\0' ? s->last_error
					     : "nothing received",
		    (double)LB_RETRY_NS / 1e9);
		break;
	case LISTENBACK_FOREIGN:
		log_warn(m->mod,
		    "%s: listeners hear a stream relay did not send (another "
		    "source or a server alias on this URL); flagged, on_air "
		    "is false; check the mount, listenback_url and the "
		    "server's mounts",
		    m->shown_url);
		break;
	case LISTENBACK_SILENT:
		log_warn(m->mod,
		    "%s: listeners hear silence for %.0f s (RMS %.1f dBFS, "
		    "threshold %.1f), %s; flagged, on_air is false",
		    m->shown_url, s->silent_s, s->rms_dbfs, m->threshold_dbfs,
		    m->obs.programme_silent
			? "as long as the programme: dead air"
			: "while the programme is not silent: something "
			  "between relay and the listeners mutes it");
		break;
	case LISTENBACK_CONNECTING:
	case LISTENBACK_OFF:
		break;
	}
}

static void
update(struct listenback *lb, struct lb_mount *m, int64_t now)
{
	enum stats_listenback_state old = m->st.state, state;

	/* Listeners hear the programme a lag behind: a silence of theirs
	 * is the programme's when it was silent as long, then. */
	m->obs.programme_silent =
	    listenback_quiet_explains(&lb->quiet, m->obs.silent_s, now,
		m->st.lag_ms >= 0 ? m->st.lag_ms * NS_PER_MS : -1);
	state = listenback_judge(&m->obs, now, m->timeout_ns);
	m->st.audio = m->obs.last_audio_mono_ns > 0 &&
		      now - m->obs.last_audio_mono_ns < m->timeout_ns;
	m->st.ours = m->obs.matched_once &&
		     m->obs.unmatched_pages < LISTENBACK_FOREIGN_PAGES;
	m->st.silent_s = m->obs.silent_s;
	if (!m->st.audio || !m->st.ours)
		m->st.lag_ms = -1;
	if (state != old) {
		m->st.state = state;
		m->st.since_wall_ns = util_now_wall_ns();
		log_change(m, old);
	}
	if (state != old || now - m->published_mono_ns >= LB_PUBLISH_NS) {
		stats_output_set_listenback(m->slot, m->out_serial, &m->st);
		m->published_mono_ns = now;
	}
}

/* Runs on: the listen-back thread. */
static void *
listenback_thread(void *arg)
{
	struct listenback *lb = arg;
	CURLMsg *msg;
	int running, left;
	size_t i;
	sigset_t all;
	struct stats_levels lv;

	util_thread_name("listenback");
	/* Signals belong to the main thread's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&lb->stop)) {
		int64_t now = util_now_mono_ns();

		for (i = 0; i < lb->n_mounts; i++) {
			struct lb_mount *m = lb->mounts[i];
			if (!m->active && now >= m->next_attempt_mono_ns)
				transfer_start(lb, m, now);
		}
		(void)dynlib_curl.multi_perform(lb->multi, &running);
		now = util_now_mono_ns();
		/* The programme's silence when the engine last metered it
		 * (a programme not metered for a second is not silent). */
		stats_levels_get(&lv);
		if (lv.age_ns < NS_PER_SEC)
			listenback_quiet_sample(
			    &lb->quiet, lv.quiet_s, now - lv.age_ns);
		else
			listenback_quiet_sample(&lb->quiet, 0.0, now);
		while ((msg = dynlib_curl.multi_info_read(lb->multi, &left)) !=
		       NULL)
			if (msg->msg == CURLMSG_DONE)
				transfer_done(lb, msg->easy_handle,
				    msg->data.result, now);
		for (i = 0; i < lb->n_mounts; i++) {
			struct lb_mount *m = lb->mounts[i];
			char why[STATS_TEXT];

			/* Bytes without audio pages (a drip, a stream
			 * that is not Ogg) count as nothing: the listener
			 * starts again, as for a silent connection. */
			int64_t audio =
			    m->obs.last_audio_mono_ns > m->attempt_mono_ns
				? m->obs.last_audio_mono_ns
				: m->attempt_mono_ns;

			if (m->active &&
			    now - m->last_byte_mono_ns >= m->timeout_ns) {
				snprintf(why, sizeof(why),
				    "nothing received for %.0f s (a frozen "
				    "server or a lost link)",
				    (double)m->timeout_ns / 1e9);
				transfer_end(lb, m, why, now);
			} else if (m->active && now - audio >= m->timeout_ns) {
				snprintf(why, sizeof(why),
				    "bytes but no audio page for %.0f s (not "
				    "an Ogg Vorbis or Opus stream, or a "
				    "stalled "
				    "one)",
				    (double)m->timeout_ns / 1e9);
				transfer_end(lb, m, why, now);
			}
			update(lb, m, now);
		}
		(void)dynlib_curl.multi_poll(
		    lb->multi, NULL, 0, LB_POLL_MS, NULL);
	}
	return NULL;
}

static size_t
count_mounts(const struct config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->n_outputs; i++)
		if (cfg->outputs[i].type == OUTPUT_ICECAST &&
		    cfg->outputs[i].listenback)
			n++;
	return n;
}

/* Ends a mount's transfer (multi may be NULL when none was added), clears
 * its record in stats, frees it. */
static void
mount_free(CURLM *multi, struct lb_mount *m)
{
	struct stats_listenback off = {0};

	if (m->easy != NULL) {
		if (m->active && multi != NULL)
			(void)dynlib_curl.multi_remove_handle(multi, m->easy);
		dynlib_curl.easy_cleanup(m->easy);
		ogg_sync_clear(&m->oy);
	}
	stream_clear(m);
	stats_output_set_listenback(m->slot, m->out_serial, &off);
	free(m);
}

/* A mount for output o of cfg, connecting from now_mono_ns (its output
 * must be started: its stats slot exists). NULL on error (logged: this
 * mount is not listened to). */
static struct lb_mount *
mount_new(const struct config *cfg, const struct output_config *o,
    int64_t now_mono_ns)
{
	struct lb_mount *m = calloc(1, sizeof(*m));
	char err[256], own_url[512];

	if (m == NULL) {
		log_err(MOD_PREFIX,
		    "[output %s]: out of memory; listen-back "
		    "is off",
		    o->name);
		return NULL;
	}
	m->slot = stats_output_find(o->name, &m->out_serial);
	util_strlcpy(m->name, o->name, sizeof(m->name));
	snprintf(m->mod, sizeof(m->mod), "%s[%s]", MOD_PREFIX, o->name);
	config_output_url(o, own_url, sizeof(own_url));
	if (o->listenback_url != NULL)
		util_strlcpy(m->url, o->listenback_url, sizeof(m->url));
	else
		util_strlcpy(m->url, own_url, sizeof(m->url));
	strip_userinfo(m->shown_url, sizeof(m->shown_url), m->url);
	/* Only there does Icecast count us with the output's listeners (an
	 * edge counts us on its own server). Compared without credentials: a
	 * mount with listener auth needs them in listenback_url. */
	m->st.at_mount = same_url(m->shown_url, own_url);
	m->timeout_ns = o->listenback_timeout_ns;
	m->threshold_dbfs = config_dead_air_threshold_dbfs(cfg);
	m->obs.dead_air_s = (double)config_dead_air_ns(cfg) / 1e9;
	m->obs.started_mono_ns = now_mono_ns;
	m->st.state = LISTENBACK_CONNECTING;
	m->st.since_wall_ns = util_now_wall_ns();
	m->st.lag_ms = -1;
	m->st.peak_dbfs = util_dbfs(0.0);
	m->st.rms_dbfs = util_dbfs(0.0);
	util_strlcpy(m->st.url, m->shown_url, sizeof(m->st.url));
	err[0] = '\0';
	if (mount_setup(m, err, sizeof(err)) < 0) {
		log_err(m->mod, "%s; listen-back is off", err);
		mount_free(NULL, m);
		return NULL;
	}
	stats_output_set_listenback(m->slot, m->out_serial, &m->st);
	log_info(m->mod, "listening to %s as a listener", m->shown_url);
	return m;
}

/* Stops the thread (the transfers stay in the multi handle, the mounts
 * as they are); listenback_run() starts it again. */
static void
thread_pause(struct listenback *lb)
{
	if (!lb->thread_started)
		return;
	atomic_store(&lb->stop, true);
	(void)dynlib_curl.multi_wakeup(lb->multi);
	pthread_join(lb->thread, NULL);
	lb->thread_started = false;
}

static void
free_all(struct listenback *lb)
{
	size_t i;

	for (i = 0; i < lb->n_mounts; i++)
		mount_free(lb->multi, lb->mounts[i]);
	if (lb->multi != NULL)
		dynlib_curl.multi_cleanup(lb->multi);
	free(lb->mounts);
	free(lb);
}

/* Starts the thread over lb's mounts: lb, or NULL (lb freed) when there
 * is none or the thread cannot start (logged). */
static struct listenback *
listenback_run(struct listenback *lb)
{
	if (lb->n_mounts == 0) {
		free_all(lb);
		return NULL;
	}
	atomic_store(&lb->stop, false);
	if (pthread_create(&lb->thread, NULL, listenback_thread, lb) != 0) {
		log_err(MOD_PREFIX,
		    "cannot start the listen-back thread; listen-back is off");
		free_all(lb);
		return NULL;
	}
	lb->thread_started = true;
	return lb;
}

/* An empty listen-back (no mount, no thread); NULL on error (logged). */
static struct listenback *
listenback_new(void)
{
	struct listenback *lb;
	char err[256];

	if (dynlib_curl_init(err, sizeof(err)) < 0) {
		log_err(MOD_PREFIX, "%s; listen-back is off", err);
		return NULL;
	}
	lb = calloc(1, sizeof(*lb));
	if (lb == NULL)
		goto oom;
	atomic_init(&lb->stop, false);
	lb->multi = dynlib_curl.multi_init();
	if (lb->multi == NULL) {
		free_all(lb);
		goto oom;
	}
	return lb;
oom:
	log_err(MOD_PREFIX, "out of memory; listen-back is off");
	return NULL;
}

/* The running mount of lb that output j of next may keep through a
 * reload from old, taken out of lb->mounts; NULL when it must start
 * afresh. */
static struct lb_mount *
take_mount(struct listenback *lb, const struct config *old,
    const struct config *next, size_t j, const bool *kept)
{
	const struct output_config *y = &next->outputs[j], *x = NULL;
	uint64_t serial;
	int slot;
	size_t i;

	if (!kept[j])
		return NULL; /* the output restarted: a new stream, maybe a
				new stats slot */
	for (i = 0; i < old->n_outputs; i++)
		if (strcmp(old->outputs[i].name, y->name) == 0)
			x = &old->outputs[i];
	if (x == NULL || !listenback_mount_same(old, x, next, y))
		return NULL;
	slot = stats_output_find(y->name, &serial);
	for (i = 0; i < lb->n_mounts; i++) {
		struct lb_mount *m = lb->mounts[i];
		if (m != NULL && m->slot == slot && m->out_serial == serial &&
		    strcmp(m->name, y->name) == 0) {
			lb->mounts[i] = NULL;
			return m;
		}
	}
	return NULL;
}

struct listenback *
listenback_start(const struct config *cfg)
{
	return listenback_reload(NULL, NULL, cfg, NULL);
}

struct listenback *
listenback_reload(struct listenback *lb, const struct config *old,
    const struct config *next, const bool *kept)
{
	struct lb_mount *carried[CONFIG_MAX_OUTPUTS] = {NULL}, **mounts;
	size_t i, j, n = count_mounts(next);
	int64_t now = util_now_mono_ns();

	if (n == 0) {
		listenback_stop(lb);
		return NULL;
	}
	if (lb == NULL) {
		lb = listenback_new();
		if (lb == NULL)
			return NULL;
	} else {
		/* The thread stops for the few milliseconds this takes; the
		 * mounts it keeps lose no byte (curl holds the sockets) and
		 * their records in stats stay as they are. */
		thread_pause(lb);
		for (j = 0; j < next->n_outputs && j < CONFIG_MAX_OUTPUTS; j++)
			if (old != NULL && kept != NULL)
				carried[j] = take_mount(lb, old, next, j, kept);
		for (i = 0; i < lb->n_mounts; i++)
			if (lb->mounts[i] != NULL)
				mount_free(lb->multi, lb->mounts[i]);
		lb->n_mounts = 0;
	}
	mounts = realloc(lb->mounts, n * sizeof(*mounts));
	if (mounts == NULL) {
		for (j = 0; j < CONFIG_MAX_OUTPUTS; j++)
			if (carried[j] != NULL)
				mount_free(lb->multi, carried[j]);
		free_all(lb);
		log_err(MOD_PREFIX, "out of memory; listen-back is off");
		return NULL;
	}
	lb->mounts = mounts;
	/* Mounts that start afresh come after every dropped one is gone:
	 * a restarted output may have taken a dropped mount's stats slot. */
	for (j = 0; j < next->n_outputs && j < CONFIG_MAX_OUTPUTS; j++) {
		const struct output_config *o = &next->outputs[j];
		struct lb_mount *m = carried[j];

		if (o->type != OUTPUT_ICECAST || !o->listenback)
			continue;
		if (m == NULL)
			m = mount_new(next, o, now);
		else /* the dead-air time may change on the fly */
			m->obs.dead_air_s =
			    (double)config_dead_air_ns(next) / 1e9;
		if (m != NULL)
			lb->mounts[lb->n_mounts++] = m;
	}
	return listenback_run(lb);
}

void
listenback_stop(struct listenback *lb)
{
	if (lb == NULL)
		return;
	thread_pause(lb);
	free_all(lb);
}

bool
listenback_mount_same(const struct config *a, const struct output_config *x,
    const struct config *b, const struct output_config *y)
{
	return x->type == OUTPUT_ICECAST && y->type == OUTPUT_ICECAST &&
	       x->listenback && y->listenback &&
	       util_str_same(x->name, y->name) &&
	       util_str_same(x->listenback_url, y->listenback_url) &&
	       x->listenback_timeout_ns == y->listenback_timeout_ns &&
	       util_str_same(x->host, y->host) && x->port == y->port &&
	       util_str_same(x->mount, y->mount) && x->tls == y->tls &&
	       config_dead_air_threshold_dbfs(a) ==
		   config_dead_air_threshold_dbfs(b);
}
