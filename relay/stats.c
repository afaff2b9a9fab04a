/* SPDX-License-Identifier: MIT */
/*
 * The one place every counter lives. See stats.h for who writes what.
 * Hot counters are atomics in `hot`; everything else sits in `cold`
 * behind `lock`. stats_snapshot() copies both into the caller's struct.
 *
 * Threads: every function is thread-safe. The input-path functions
 * (stats_input_add_frames, _inc_xruns, _add_overflow, _set_levels,
 * _note_buffer_fill) are lock-free. The log line for what the input thread
 * only recorded (the input buffer passing half full) is written by
 * stats_input_log_buffer_half(), on the main thread.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "log.h"
#include "stats.h"
#include "util.h"

struct output_hot {
	atomic_uint_fast64_t bytes_sent;
	atomic_uint_fast64_t queue_bytes;
	atomic_int_fast64_t lag_ms;
	atomic_uint_fast64_t dropped_bytes;
	atomic_uint_fast64_t reconnects;
	atomic_int_fast64_t server_seen_wall_ns;
	atomic_uint_fast64_t file_bytes;
	atomic_uint_fast64_t files_written;
	atomic_uint_fast64_t files_removed;
	atomic_uint_fast64_t file_errors;
};

struct output_cold {
	bool used;
	/* Which registration holds the slot (stats_output_find()): an
	 * output stopped and started again under the same name, maybe in
	 * the same slot, is another one. */
	uint64_t serial;
	struct stats_output o;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Bumped by every setter that takes lock (what a snapshot shows beyond
 * the atomic counters and levels): a reader that caches what it made of
 * a snapshot knows when to look again (stats_generation). */
static atomic_uint_fast64_t generation;

static void
unlock_changed(void)
{
	atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&lock);
}

uint64_t
stats_generation(void)
{
	return atomic_load(&generation);
}

/* The news bell (stats_news_fd): made on first request, kept for the
 * life of the process (so a setter never writes to a closed or reused
 * descriptor), never read: watchers take it edge-triggered. */
static atomic_int news_fd = -1;
static pthread_once_t news_once = PTHREAD_ONCE_INIT;

static void
news_open(void)
{
	atomic_store(&news_fd, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

int
stats_news_fd(void)
{
	pthread_once(&news_once, news_open);
	return atomic_load(&news_fd);
}

/* unlock_changed() for a change that event streams push at once. */
static void
unlock_news(bool news)
{
	int fd;

	unlock_changed();
	fd = atomic_load(&news_fd);
	if (news && fd >= 0)
		util_eventfd_signal(fd);
}
static struct output_hot out_hot[CONFIG_MAX_OUTPUTS];
static struct output_cold out_cold[CONFIG_MAX_OUTPUTS];
static uint64_t out_serial; /* the last registration's (under lock) */
static struct stats_processing processing;
static struct stats_encoding encodings[CONFIG_MAX_ENCODINGS];
static size_t n_encodings;
static struct stats_programme programme;
static struct stats_request requests[STATS_MAX_REQUESTS];
static size_t n_requests;
static struct stats_reload last_reload;
static struct stats_programme_error programme_error;
static struct stats_edge edges[STATS_MAX_EDGES];
static size_t n_edges;
static char station_name[STATS_TEXT] = "relay";
static char station_description[STATS_TEXT];
static char station_url[STATS_TEXT];
static char input_type[16];
static char input_error[STATS_TEXT];
static double threshold_dbfs = -50.0;
static int64_t start_wall_ns;

static atomic_uint_fast64_t in_frames;
static atomic_uint_fast64_t in_xruns;
static atomic_uint_fast64_t in_overflows;
static atomic_uint_fast64_t in_buffer_frames;
static atomic_uint_fast64_t in_buffer_peak;
static atomic_int_fast64_t in_buffer_peak_wall_ns; /* when it was reached */
static atomic_int in_buffer_rate;
/* The fill passing half of the ring: the input thread counts each time it
 * rises past half (re-armed once it is back under a quarter) and keeps
 * when and how high; the main thread (stats_input_log_buffer_half) turns
 * that into a log line, at most one a minute. */
static atomic_bool in_buffer_above_half;
static atomic_uint_fast64_t in_buffer_half_count;
static atomic_int_fast64_t in_buffer_half_wall_ns;
static atomic_uint_fast64_t in_buffer_half_frames;
static atomic_uint_fast64_t in_reopens;
static atomic_int_fast64_t in_last_frame_mono_ns;
/* Levels in hundredths of a dB, silent time in milliseconds. */
static atomic_int_fast64_t lv_peak_cdb = -12000;
static atomic_int_fast64_t lv_rms_cdb = -12000;
static atomic_int_fast64_t lv_silent_ms;
static atomic_int_fast64_t lv_quiet_ms;
static struct stats_fallback fallback; /* dead_air_s unused: below */
static atomic_int_fast64_t dead_air_ns;

/* Rebuilds the edge list from [status] listen_urls (already checked);
 * an edge whose URL was there before keeps what the poller last said.
 * Called under lock. */
static void
configure_edges(const struct config_list *urls)
{
	struct stats_edge old[STATS_MAX_EDGES], *e;
	size_t n_old = n_edges, i, j;
	const char *path;

	memcpy(old, edges, sizeof(old));
	n_edges = 0;
	for (i = 0; i < urls->n && n_edges < STATS_MAX_EDGES; i++) {
		e = &edges[n_edges];
		memset(e, 0, sizeof(*e));
		if (util_http_url_parse(urls->item[i], e->host, sizeof(e->host),
			&e->port, &e->tls, &path, NULL) < 0)
			continue;
		util_strlcpy(e->url, urls->item[i], sizeof(e->url));
		util_strlcpy(e->mount, path, sizeof(e->mount));
		e->listeners = -1;
		for (j = 0; j < n_old; j++) {
			if (strcmp(old[j].url, e->url) == 0) {
				e->reachable = old[j].reachable;
				e->listed = old[j].listed;
				e->listeners = old[j].listeners;
				break;
			}
		}
		n_edges++;
	}
}

/* Mount paths are equal ignoring one leading slash on either. */
static bool
same_mount(const char *a, const char *b)
{
	if (a[0] == '/')
		a++;
	if (b[0] == '/')
		b++;
	return strcmp(a, b) == 0;
}

/*
 * The audience across the primary and the edges. An edge that lists a
 * mount pulls it from the primary over one connection, which the primary
 * counts as a listener: that connection is taken off the output's count.
 */
static void
count_listeners(struct stats_snapshot *out)
{
	bool matched[STATS_MAX_EDGES] = {false};
	size_t i, j;

	out->listeners = 0;
	for (i = 0; i < out->n_outputs; i++) {
		struct stats_output *so = &out->outputs[i];
		int64_t on_edges = 0, relaying = 0, direct;
		bool any = false;

		for (j = 0; j < out->n_edges; j++) {
			const struct stats_edge *e = &out->edges[j];

			if (so->mount[0] == '\0' ||
			    !same_mount(e->mount, so->mount))
				continue;
			matched[j] = true;
			if (!e->listed)
				continue;
			any = true;
			relaying++;
			if (e->listeners > 0)
				on_edges += e->listeners;
		}
		so->edge_listeners = any ? on_edges : -1;
		direct = so->listeners - relaying;
		if (direct > 0)
			out->listeners += direct;
		out->listeners += on_edges;
	}
	for (j = 0; j < out->n_edges; j++) {
		if (!matched[j] && out->edges[j].listeners > 0)
			out->listeners += out->edges[j].listeners;
	}
}
static atomic_int_fast64_t lv_last_mono_ns; /* 0: no block metered yet */
static atomic_int lv_watchers;		    /* open ?levels=1 event streams */
/* Per-encoding levels: own lock, try-locked by the engine. */
static pthread_mutex_t enc_lv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_encoding_level enc_lv[CONFIG_MAX_ENCODINGS];
static size_t n_enc_lv;
/* The loudest block since stats_levels_take_max() last ran. */
static atomic_int_fast64_t lv_max_peak_cdb = -12000;
static atomic_int_fast64_t lv_max_rms_cdb = -12000;

void
stats_configure(const struct config *cfg)
{
	size_t i;

	pthread_mutex_lock(&lock);
	if (start_wall_ns == 0)
		start_wall_ns = util_now_wall_ns();
	util_strlcpy(station_name, cfg->station.name, sizeof(station_name));
	util_strlcpy(station_description, cfg->station.description,
	    sizeof(station_description));
	util_strlcpy(station_url, cfg->station.url, sizeof(station_url));
	util_strlcpy(
	    input_type, input_type_name(cfg->input.type), sizeof(input_type));
	threshold_dbfs = cfg->input.silence_threshold_dbfs;
	for (i = 0; i < cfg->n_encodings; i++) {
		const struct encoding_config *e = &cfg->encodings[i];
		struct stats_encoding *se = &encodings[i];
		bool keep = i < n_encodings && strcmp(se->name, e->name) == 0;
		uint64_t packets = keep ? se->packets : 0;
		uint64_t bytes = keep ? se->bytes : 0;

		memset(se, 0, sizeof(*se));
		util_strlcpy(se->name, e->name, sizeof(se->name));
		se->rate_hz = e->rate_hz;
		se->channels = e->channels;
		util_strlcpy(
		    se->codec, codec_name(e->codec), sizeof(se->codec));
		if (e->codec == CODEC_OPUS || e->managed) {
			se->quality = (double)NAN;
			se->bitrate_kbps = e->bitrate_kbps;
		} else {
			se->quality = e->quality;
			se->bitrate_kbps = 0;
		}
		se->min_bitrate_kbps = e->min_bitrate_kbps;
		se->max_bitrate_kbps = e->max_bitrate_kbps;
		se->packets = packets;
		se->bytes = bytes;
	}
	n_encodings = cfg->n_encodings;
	configure_edges(&cfg->status.listen_urls);
	unlock_news(true);
}

void
stats_edge_set(const char *url, bool reachable, bool listed, int64_t listeners)
{
	struct stats_edge was;
	bool news = false;
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < n_edges; i++) {
		if (strcmp(edges[i].url, url) != 0)
			continue;
		was = edges[i];
		edges[i].reachable = reachable;
		edges[i].listed = reachable && listed;
		edges[i].listeners = listed ? listeners : (reachable ? 0 : -1);
		news |= was.reachable != edges[i].reachable ||
			was.listeners != edges[i].listeners;
	}
	unlock_news(news);
}

static bool
valid_id(int id)
{
	return id >= 0 && id < CONFIG_MAX_OUTPUTS;
}

/* The output's trust settings, for the poller (paths only, no secret). */
static void
copy_tls(struct stats_output *so, const struct output_config *o)
{
	const struct tls_config *t = &o->tls_settings;

	so->tls = o->type == OUTPUT_ICECAST && o->tls;
	util_strlcpy(so->tls_ca_file, t->ca_file != NULL ? t->ca_file : "",
	    sizeof(so->tls_ca_file));
	util_strlcpy(so->tls_ca_dir, t->ca_dir != NULL ? t->ca_dir : "",
	    sizeof(so->tls_ca_dir));
	util_strlcpy(so->tls_client_cert,
	    t->client_cert != NULL ? t->client_cert : "",
	    sizeof(so->tls_client_cert));
	so->tls_min_version = (int)t->min_version;
}

int
stats_output_register(const struct config *cfg, const struct output_config *o)
{
	int i, id = -1;

	pthread_mutex_lock(&lock);
	for (i = 0; i < CONFIG_MAX_OUTPUTS; i++) {
		if (out_cold[i].used &&
		    strcmp(out_cold[i].o.name, o->name) == 0) {
			id = i;
			break;
		}
	}
	if (id < 0) {
		for (i = 0; i < CONFIG_MAX_OUTPUTS; i++) {
			if (!out_cold[i].used) {
				id = i;
				memset(&out_cold[i], 0, sizeof(out_cold[i]));
				atomic_store(&out_hot[i].bytes_sent, 0);
				atomic_store(&out_hot[i].queue_bytes, 0);
				atomic_store(&out_hot[i].lag_ms, -1);
				atomic_store(&out_hot[i].dropped_bytes, 0);
				atomic_store(&out_hot[i].reconnects, 0);
				atomic_store(
				    &out_hot[i].server_seen_wall_ns, 0);
				atomic_store(&out_hot[i].file_bytes, 0);
				atomic_store(&out_hot[i].files_written, 0);
				atomic_store(&out_hot[i].files_removed, 0);
				atomic_store(&out_hot[i].file_errors, 0);
				out_cold[i].o.listeners = -1;
				out_cold[i].o.since_wall_ns =
				    util_now_wall_ns();
				break;
			}
		}
	}
	if (id >= 0) {
		struct stats_output *so = &out_cold[id].o;
		out_cold[id].used = true;
		/* A new registration: no listener has reported on it yet,
		 * and one of a registration before is not heard any more. */
		out_cold[id].serial = ++out_serial;
		memset(&so->listenback, 0, sizeof(so->listenback));
		util_strlcpy(so->name, o->name, sizeof(so->name));
		util_strlcpy(so->type,
		    o->type == OUTPUT_FILE ? "file" : "icecast",
		    sizeof(so->type));
		config_output_url(o, so->url, sizeof(so->url));
		util_strlcpy(so->encoding,
		    cfg->encodings[o->encoding_index].name,
		    sizeof(so->encoding));
		so->rotate_s = o->rotate_ns / NS_PER_SEC;
		so->keep_s = o->keep_ns / NS_PER_SEC;
		if (o->type == OUTPUT_ICECAST) {
			util_strlcpy(so->host, o->host, sizeof(so->host));
			so->port = o->port;
			util_strlcpy(so->mount, o->mount, sizeof(so->mount));
		}
		copy_tls(so, o);
	}
	unlock_changed();
	return id;
}

void
stats_output_unregister(int id)
{
	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	out_cold[id].used = false;
	unlock_changed();
}

void
stats_output_set_connected(int id, bool connected, const char *error)
{
	bool news;

	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	news = out_cold[id].o.connected != connected;
	if (news)
		out_cold[id].o.since_wall_ns = util_now_wall_ns();
	out_cold[id].o.connected = connected;
	if (error != NULL) {
		util_strlcpy(out_cold[id].o.last_error, error,
		    sizeof(out_cold[id].o.last_error));
		out_cold[id].o.last_error_wall_ns =
		    error[0] != '\0' ? util_now_wall_ns() : 0;
	}
	unlock_news(news);
}

void
stats_output_set_error(int id, const char *error)
{
	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	util_strlcpy(out_cold[id].o.last_error, error != NULL ? error : "",
	    sizeof(out_cold[id].o.last_error));
	out_cold[id].o.last_error_wall_ns =
	    error != NULL && error[0] != '\0' ? util_now_wall_ns() : 0;
	unlock_changed();
}

void
stats_output_set_file(int id, const char *path)
{
	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	util_strlcpy(out_cold[id].o.file, path != NULL ? path : "",
	    sizeof(out_cold[id].o.file));
	unlock_changed();
	atomic_store(&out_hot[id].file_bytes, 0);
	if (path != NULL && path[0] != '\0')
		atomic_fetch_add(&out_hot[id].files_written, 1);
}

void
stats_output_set_file_bytes(int id, uint64_t bytes)
{
	if (valid_id(id))
		atomic_store(&out_hot[id].file_bytes, bytes);
}

void
stats_output_inc_removed(int id)
{
	if (valid_id(id))
		atomic_fetch_add(&out_hot[id].files_removed, 1);
}

void
stats_output_inc_file_errors(int id)
{
	if (valid_id(id))
		atomic_fetch_add(&out_hot[id].file_errors, 1);
}

void
stats_output_add_sent(int id, uint64_t bytes)
{
	if (valid_id(id))
		atomic_fetch_add(&out_hot[id].bytes_sent, bytes);
}

void
stats_output_set_queue(int id, uint64_t bytes)
{
	if (valid_id(id))
		atomic_store(&out_hot[id].queue_bytes, bytes);
}

void
stats_output_set_lag(int id, int64_t ms)
{
	if (valid_id(id))
		atomic_store(&out_hot[id].lag_ms, ms);
}

void
stats_output_add_dropped(int id, uint64_t bytes)
{
	if (valid_id(id))
		atomic_fetch_add(&out_hot[id].dropped_bytes, bytes);
}

void
stats_output_inc_reconnects(int id)
{
	if (valid_id(id))
		atomic_fetch_add(&out_hot[id].reconnects, 1);
}

void
stats_output_set_server(int id, uint64_t serial, bool reachable, bool listed,
    int64_t listeners, const char *title, int64_t listing_start_wall_ns)
{
	struct stats_output *so;
	int64_t was;

	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	if (!out_cold[id].used || out_cold[id].serial != serial) {
		pthread_mutex_unlock(&lock);
		return;
	}
	so = &out_cold[id].o;
	so->server_reachable = reachable;
	so->mount_listed = listed;
	so->listing_start_wall_ns = listed ? listing_start_wall_ns : 0;
	if (listed) {
		int64_t now = util_now_wall_ns();
		so->server_seen_wall_ns = now;
		atomic_store(&out_hot[id].server_seen_wall_ns, now);
	}
	was = so->listeners;
	/* A count that may include relay's own request is left as it was. */
	if (!(listed && listeners == STATS_LISTENERS_KEEP)) {
		so->listeners = listed ? listeners : (reachable ? 0 : -1);
		/* Relay's own listen-back is one of the listeners Icecast
		 * counts when it listens at this mount: not audience. Taken
		 * off only while its connection is up, as it was when Icecast
		 * answered the poll (a connection that came or went in
		 * between is off by one until the next poll). */
		if (listed && so->listeners > 0 && so->listenback.at_mount &&
		    so->listenback.connected)
			so->listeners--;
		if (so->listeners > so->listener_peak)
			so->listener_peak = so->listeners;
	}
	if (title != NULL)
		util_sanitize_text(
		    so->server_title, sizeof(so->server_title), title);
	else if (!listed)
		so->server_title[0] = '\0';
	if (!listed)
		so->cors_known = false;
	unlock_news(so->listeners != was);
}

void
stats_output_set_cors(int id, uint64_t serial, const char *allow_origin)
{
	struct stats_output *so;

	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	if (!out_cold[id].used || out_cold[id].serial != serial) {
		pthread_mutex_unlock(&lock);
		return;
	}
	so = &out_cold[id].o;
	so->cors_known = allow_origin != NULL;
	if (allow_origin != NULL)
		util_sanitize_text(so->cors_allow_origin,
		    sizeof(so->cors_allow_origin), allow_origin);
	else
		so->cors_allow_origin[0] = '\0';
	unlock_changed();
}

int
stats_output_find(const char *name, uint64_t *serial)
{
	int i, id = -1;

	*serial = 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < CONFIG_MAX_OUTPUTS; i++) {
		if (out_cold[i].used && strcmp(out_cold[i].o.name, name) == 0) {
			id = i;
			*serial = out_cold[i].serial;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return id;
}

void
stats_output_set_listenback(
    int id, uint64_t serial, const struct stats_listenback *lb)
{
	bool news;

	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	if (!out_cold[id].used || out_cold[id].serial != serial) {
		pthread_mutex_unlock(&lock);
		return;
	}
	news = out_cold[id].o.listenback.state != lb->state;
	if (lb->state == LISTENBACK_OFF)
		memset(&out_cold[id].o.listenback, 0,
		    sizeof(out_cold[id].o.listenback));
	else
		out_cold[id].o.listenback = *lb;
	unlock_news(news);
}

const char *
stats_listenback_state_name(enum stats_listenback_state s)
{
	switch (s) {
	case LISTENBACK_OFF:
		return "off";
	case LISTENBACK_CONNECTING:
		return "connecting";
	case LISTENBACK_OK:
		return "ok";
	case LISTENBACK_NO_AUDIO:
		return "no_audio";
	case LISTENBACK_FOREIGN:
		return "foreign";
	case LISTENBACK_SILENT:
		return "silent";
	}
	return "?";
}

bool
stats_listenback_flagged(const struct stats_listenback *lb)
{
	return lb->state == LISTENBACK_NO_AUDIO ||
	       lb->state == LISTENBACK_FOREIGN ||
	       lb->state == LISTENBACK_SILENT;
}

void
stats_output_set_tls_peer(
    int id, const char *subject, const char *issuer, int64_t not_after_wall_ns)
{
	struct stats_output *so;

	if (!valid_id(id))
		return;
	pthread_mutex_lock(&lock);
	so = &out_cold[id].o;
	util_sanitize_text(so->tls_subject, sizeof(so->tls_subject),
	    subject != NULL ? subject : "");
	util_sanitize_text(so->tls_issuer, sizeof(so->tls_issuer),
	    issuer != NULL ? issuer : "");
	so->tls_not_after_wall_ns = not_after_wall_ns;
	unlock_changed();
}

int64_t
stats_output_server_seen(int id)
{
	if (!valid_id(id))
		return 0;
	return atomic_load(&out_hot[id].server_seen_wall_ns);
}

/* Caller holds lock. */
static void
encoding_add_locked(const char *name, uint64_t packets, uint64_t bytes)
{
	size_t i;

	for (i = 0; i < n_encodings; i++) {
		if (strcmp(encodings[i].name, name) == 0) {
			encodings[i].packets += packets;
			encodings[i].bytes += bytes;
			break;
		}
	}
}

void
stats_encoding_add(const char *name, uint64_t packets, uint64_t bytes)
{
	pthread_mutex_lock(&lock);
	encoding_add_locked(name, packets, bytes);
	unlock_changed();
}

bool
stats_encoding_try_add(const char *name, uint64_t packets, uint64_t bytes)
{
	if (pthread_mutex_trylock(&lock) != 0)
		return false;
	encoding_add_locked(name, packets, bytes);
	unlock_changed();
	return true;
}

void
stats_input_add_frames(uint64_t frames)
{
	atomic_fetch_add(&in_frames, frames);
	atomic_store(&in_last_frame_mono_ns, util_now_mono_ns());
}

void
stats_input_inc_xruns(void)
{
	atomic_fetch_add(&in_xruns, 1);
}

void
stats_input_add_overflow(uint64_t frames)
{
	atomic_fetch_add(&in_overflows, frames);
}

void
stats_input_set_buffer(uint64_t capacity_frames, int rate_hz)
{
	atomic_store(&in_buffer_frames, capacity_frames);
	atomic_store(&in_buffer_rate, rate_hz);
}

/* Runs on: the input thread, the only writer of in_buffer_peak and the
 * half-full record. No lock, no allocation, no log: atomics and a clock
 * read (vDSO) when something changed. */
void
stats_input_note_buffer_fill(uint64_t frames)
{
	uint64_t cap =
	    atomic_load_explicit(&in_buffer_frames, memory_order_relaxed);
	bool above =
	    atomic_load_explicit(&in_buffer_above_half, memory_order_relaxed);
	int64_t now_ns = 0;

	if (frames >
	    atomic_load_explicit(&in_buffer_peak, memory_order_relaxed)) {
		now_ns = util_now_wall_ns();
		atomic_store_explicit(
		    &in_buffer_peak_wall_ns, now_ns, memory_order_relaxed);
		atomic_store_explicit(
		    &in_buffer_peak, frames, memory_order_relaxed);
	}
	if (cap == 0)
		return;
	if (!above && frames > cap / 2) {
		atomic_store_explicit(&in_buffer_half_wall_ns,
		    now_ns != 0 ? now_ns : util_now_wall_ns(),
		    memory_order_relaxed);
		atomic_store_explicit(
		    &in_buffer_half_frames, frames, memory_order_relaxed);
		atomic_store_explicit(
		    &in_buffer_above_half, true, memory_order_relaxed);
		/* Release: a reader that sees the count sees the above. */
		atomic_fetch_add_explicit(
		    &in_buffer_half_count, 1, memory_order_release);
	} else if (above && frames < cap / 4) {
		atomic_store_explicit(
		    &in_buffer_above_half, false, memory_order_relaxed);
	}
}

/* Runs on: the main thread only (its 5 s tick), so the logged count and
 * the time of the last line need no atomics. */
void
stats_input_log_buffer_half(void)
{
	static uint64_t done;
	static int64_t last_ns;
	int rate_hz = atomic_load(&in_buffer_rate);
	uint64_t n, cap, frames;
	int64_t now_ns;
	char at[40], again[64] = "";

	n = atomic_load_explicit(&in_buffer_half_count, memory_order_acquire);
	if (n == done || rate_hz <= 0)
		return;
	now_ns = util_now_mono_ns();
	if (last_ns != 0 && now_ns - last_ns < STATS_BUFFER_HALF_LOG_NS)
		return;
	last_ns = now_ns;
	cap = atomic_load(&in_buffer_frames);
	frames = atomic_load(&in_buffer_half_frames);
	util_format_iso8601(
	    atomic_load(&in_buffer_half_wall_ns), true, at, sizeof(at));
	if (done > 0 && n - done > 1)
		snprintf(again, sizeof(again),
		    " (%" PRIu64 " times since the last such warning)",
		    n - done);
	log_warn("input",
	    "the input buffer passed half full at %s (%.2f of %.2f s)%s: the "
	    "encoder is falling behind the input; if it fills, a sound card "
	    "loses audio and stdin makes its writer wait",
	    at, (double)frames / rate_hz, (double)cap / rate_hz, again);
	done = n;
}

void
stats_input_inc_reopens(void)
{
	atomic_fetch_add(&in_reopens, 1);
}

void
stats_input_set_error(const char *error)
{
	pthread_mutex_lock(&lock);
	util_strlcpy(
	    input_error, error != NULL ? error : "", sizeof(input_error));
	unlock_changed();
}

/* Lock-free maximum: the engine thread never waits. */
static void
raise_max(atomic_int_fast64_t *m, int_fast64_t v)
{
	int_fast64_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

void
stats_input_set_levels(
    double peak_dbfs, double rms_dbfs, double silent_s, double quiet_s)
{
	atomic_store(&lv_peak_cdb, (int_fast64_t)llround(peak_dbfs * 100.0));
	atomic_store(&lv_rms_cdb, (int_fast64_t)llround(rms_dbfs * 100.0));
	atomic_store(&lv_silent_ms, (int_fast64_t)llround(silent_s * 1000.0));
	atomic_store(&lv_quiet_ms, (int_fast64_t)llround(quiet_s * 1000.0));
	atomic_store(&lv_last_mono_ns, util_now_mono_ns());
	raise_max(&lv_max_peak_cdb, (int_fast64_t)llround(peak_dbfs * 100.0));
	raise_max(&lv_max_rms_cdb, (int_fast64_t)llround(rms_dbfs * 100.0));
}

/* Whether the event stamped *when (0: never) was under a second ago:
 * input frames arriving (flowing), a block metered (the programme). */
static bool
within_a_second(atomic_int_fast64_t *when)
{
	int64_t t = atomic_load(when);

	return t != 0 && util_now_mono_ns() - t < NS_PER_SEC;
}

void
stats_levels_get(struct stats_levels *out)
{
	int64_t metered = atomic_load(&lv_last_mono_ns);

	out->age_ns = metered != 0 ? util_now_mono_ns() - metered : INT64_MAX;
	out->peak_dbfs = (double)atomic_load(&lv_peak_cdb) / 100.0;
	out->rms_dbfs = (double)atomic_load(&lv_rms_cdb) / 100.0;
	out->silent_s = (double)atomic_load(&lv_silent_ms) / 1000.0;
	out->quiet_s = (double)atomic_load(&lv_quiet_ms) / 1000.0;
	out->flowing = within_a_second(&in_last_frame_mono_ns);
}

void
stats_levels_watch(int delta)
{
	atomic_fetch_add(&lv_watchers, delta);
}

bool
stats_levels_watched(void)
{
	return atomic_load_explicit(&lv_watchers, memory_order_relaxed) > 0;
}

void
stats_encoding_levels_publish(const struct stats_encoding_level *lv, size_t n)
{
	if (n > CONFIG_MAX_ENCODINGS)
		n = CONFIG_MAX_ENCODINGS;
	if (pthread_mutex_trylock(&enc_lv_lock) != 0)
		return;
	memcpy(enc_lv, lv, n * sizeof(*lv));
	n_enc_lv = n;
	pthread_mutex_unlock(&enc_lv_lock);
}

size_t
stats_encoding_levels_get(struct stats_encoding_level *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&enc_lv_lock);
	n = n_enc_lv < max ? n_enc_lv : max;
	memcpy(out, enc_lv, n * sizeof(*out));
	pthread_mutex_unlock(&enc_lv_lock);
	return n;
}

void
stats_levels_take_max(double *peak_dbfs, double *rms_dbfs)
{
	int_fast64_t peak = atomic_exchange(&lv_max_peak_cdb, -12000);
	int_fast64_t rms = atomic_exchange(&lv_max_rms_cdb, -12000);

	/* No block finished since the last call, but one did within a
	 * second: the engine took its audio in one wake-up (engine.c), and
	 * the last block's levels still stand; -120 would draw a dip. */
	if (peak == -12000 && within_a_second(&lv_last_mono_ns)) {
		peak = atomic_load(&lv_peak_cdb);
		rms = atomic_load(&lv_rms_cdb);
	}
	*peak_dbfs = (double)peak / 100.0;
	*rms_dbfs = (double)rms / 100.0;
}

void
stats_processing_set(const struct stats_processing *sp)
{
	pthread_mutex_lock(&lock);
	processing = *sp;
	unlock_changed();
}

bool
stats_processing_try_set(const struct stats_processing *sp)
{
	if (pthread_mutex_trylock(&lock) != 0)
		return false;
	processing = *sp;
	pthread_mutex_unlock(&lock);
	return true;
}

void
stats_programme_set(const struct stats_programme *p)
{
	pthread_mutex_lock(&lock);
	programme = *p;
	unlock_news(true);
}

void
stats_fallback_configure(bool enabled, const char *source, int64_t after_ns)
{
	pthread_mutex_lock(&lock);
	fallback.enabled = enabled;
	fallback.after_ns = after_ns;
	util_strlcpy(fallback.source, source, sizeof(fallback.source));
	unlock_changed();
}

void
stats_fallback_set(bool active, int64_t since_wall_ns, const char *why)
{
	struct stats_fallback was;

	pthread_mutex_lock(&lock);
	memcpy(&was, &fallback, sizeof(was));
	if (active && !fallback.active)
		fallback.activations++;
	fallback.active = active;
	fallback.since_wall_ns = since_wall_ns;
	if (why != NULL)
		util_strlcpy(fallback.why, why, sizeof(fallback.why));
	unlock_news(memcmp(&was, &fallback, sizeof(was)) != 0);
}

void
stats_dead_air_add_ns(int64_t ns)
{
	if (ns > 0)
		atomic_fetch_add(&dead_air_ns, ns);
}

void
stats_programme_set_now(const struct stats_programme *p)
{
	struct stats_programme was;

	pthread_mutex_lock(&lock);
	memcpy(&was, &programme, sizeof(was));
	programme.state = p->state;
	util_strlcpy(programme.title, p->title, sizeof(programme.title));
	util_strlcpy(programme.artist, p->artist, sizeof(programme.artist));
	util_strlcpy(programme.source, p->source, sizeof(programme.source));
	util_strlcpy(programme.segment, p->segment, sizeof(programme.segment));
	programme.started_at_wall_ns = p->started_at_wall_ns;
	programme.title_at_wall_ns = p->title_at_wall_ns;
	programme.ends_at_wall_ns = p->ends_at_wall_ns;
	unlock_news(memcmp(&was, &programme, sizeof(was)) != 0);
}

void
stats_title_pending_set(
    bool pending, const char *title, const char *artist, int64_t due_wall_ns)
{
	struct stats_programme was;

	pthread_mutex_lock(&lock);
	memcpy(&was, &programme, sizeof(was));
	programme.title_pending = pending;
	util_strlcpy(programme.pending_title, pending ? title : "",
	    sizeof(programme.pending_title));
	util_strlcpy(programme.pending_artist, pending ? artist : "",
	    sizeof(programme.pending_artist));
	programme.pending_due_wall_ns = pending ? due_wall_ns : 0;
	unlock_news(memcmp(&was, &programme, sizeof(was)) != 0);
}

void
stats_title_replaced(void)
{
	pthread_mutex_lock(&lock);
	programme.titles_replaced++;
	unlock_news(false);
}

void
stats_programme_set_next(const struct stats_next *next, size_t n)
{
	bool news;

	if (n > STATS_MAX_NEXT)
		n = STATS_MAX_NEXT;
	pthread_mutex_lock(&lock);
	/* The planner publishes next[] at every tick: news only when it
	 * changed. */
	news = n != programme.n_next ||
	       memcmp(programme.next, next, n * sizeof(*next)) != 0;
	memcpy(programme.next, next, n * sizeof(*next));
	programme.n_next = n;
	unlock_news(news);
}

void
stats_requests_set(const struct stats_request *r, size_t n)
{
	bool news;

	if (n > STATS_MAX_REQUESTS)
		n = STATS_MAX_REQUESTS;
	pthread_mutex_lock(&lock);
	news = n != n_requests ||
	       (n > 0 && memcmp(requests, r, n * sizeof(*r)) != 0);
	if (n > 0)
		memcpy(requests, r, n * sizeof(*r));
	n_requests = n;
	unlock_news(news);
}

const char *
stats_request_state_name(enum stats_request_state s)
{
	switch (s) {
	case STATS_REQUEST_PENDING:
		return "pending";
	case STATS_REQUEST_ON_AIR:
		return "on_air";
	case STATS_REQUEST_DONE:
		return "done";
	case STATS_REQUEST_FAILED:
		return "failed";
	}
	return "unknown";
}

void
stats_reload_set(int64_t at_wall_ns, bool ok, const char *detail)
{
	pthread_mutex_lock(&lock);
	last_reload.at_wall_ns = at_wall_ns;
	last_reload.ok = ok;
	util_strlcpy(last_reload.detail, detail != NULL ? detail : "",
	    sizeof(last_reload.detail));
	unlock_news(true);
}

void
stats_programme_error_set(
    int64_t at_wall_ns, const char *segment, const char *text)
{
	pthread_mutex_lock(&lock);
	programme_error.at_wall_ns = at_wall_ns;
	util_strlcpy(programme_error.segment, segment != NULL ? segment : "",
	    sizeof(programme_error.segment));
	util_strlcpy(programme_error.text, text != NULL ? text : "",
	    sizeof(programme_error.text));
	unlock_news(true);
}

void
stats_programme_get(struct stats_programme *out)
{
	pthread_mutex_lock(&lock);
	*out = programme;
	pthread_mutex_unlock(&lock);
}

void
stats_snapshot(struct stats_snapshot *out)
{
	size_t i;
	int rate;

	memset(out, 0, sizeof(*out));
	out->now_wall_ns = util_now_wall_ns();
	pthread_mutex_lock(&lock);
	util_strlcpy(
	    out->station_name, station_name, sizeof(out->station_name));
	util_strlcpy(out->station_description, station_description,
	    sizeof(out->station_description));
	util_strlcpy(out->station_url, station_url, sizeof(out->station_url));
	out->start_wall_ns = start_wall_ns;
	out->silence_threshold_dbfs = threshold_dbfs;
	memcpy(out->requests, requests, n_requests * sizeof(requests[0]));
	out->n_requests = n_requests;
	out->reload = last_reload;
	out->programme_error = programme_error;
	out->processing = processing;
	util_strlcpy(out->input.type, input_type, sizeof(out->input.type));
	util_strlcpy(
	    out->input.last_error, input_error, sizeof(out->input.last_error));
	memcpy(out->encodings, encodings, sizeof(encodings));
	out->n_encodings = n_encodings;
	out->listeners = 0;
	for (i = 0; i < CONFIG_MAX_OUTPUTS; i++) {
		struct stats_output *so;
		if (!out_cold[i].used)
			continue;
		so = &out->outputs[out->n_outputs++];
		*so = out_cold[i].o;
		so->id = (int)i;
		so->serial = out_cold[i].serial;
		so->bytes_sent = atomic_load(&out_hot[i].bytes_sent);
		so->queue_bytes = atomic_load(&out_hot[i].queue_bytes);
		so->lag_ms = atomic_load(&out_hot[i].lag_ms);
		so->dropped_bytes = atomic_load(&out_hot[i].dropped_bytes);
		so->reconnects = atomic_load(&out_hot[i].reconnects);
		so->file_bytes = atomic_load(&out_hot[i].file_bytes);
		so->files_written = atomic_load(&out_hot[i].files_written);
		so->files_removed = atomic_load(&out_hot[i].files_removed);
		so->file_errors = atomic_load(&out_hot[i].file_errors);
	}
	memcpy(out->edges, edges, n_edges * sizeof(edges[0]));
	out->n_edges = n_edges;
	out->programme = programme;
	out->fallback = fallback;
	pthread_mutex_unlock(&lock);
	out->fallback.dead_air_s = (double)atomic_load(&dead_air_ns) / 1e9;
	count_listeners(out);

	out->uptime_ns = out->now_wall_ns - out->start_wall_ns;
	out->input.frames = atomic_load(&in_frames);
	out->input.xruns = atomic_load(&in_xruns);
	out->input.overflows = atomic_load(&in_overflows);
	rate = atomic_load(&in_buffer_rate);
	if (rate > 0) {
		out->input.buffer_s =
		    (double)atomic_load(&in_buffer_frames) / rate;
		out->input.buffer_peak_s =
		    (double)atomic_load(&in_buffer_peak) / rate;
		out->input.buffer_peak_wall_ns =
		    atomic_load(&in_buffer_peak_wall_ns);
	}
	out->input.reopens = atomic_load(&in_reopens);
	out->input.flowing = within_a_second(&in_last_frame_mono_ns);
	out->input.programme_flowing = within_a_second(&lv_last_mono_ns);
	out->input.peak_dbfs = (double)atomic_load(&lv_peak_cdb) / 100.0;
	out->input.rms_dbfs = (double)atomic_load(&lv_rms_cdb) / 100.0;
	out->input.silent_s = (double)atomic_load(&lv_silent_ms) / 1000.0;
}

const char *
programme_state_name(enum programme_state s)
{
	switch (s) {
	case PROGRAMME_LIVE:
		return "live";
	case PROGRAMME_SEGMENT:
		return "segment";
	case PROGRAMME_FALLBACK:
		return "fallback";
	case PROGRAMME_OFF_AIR:
		return "off_air";
	}
	return "?";
}
