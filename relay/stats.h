/* SPDX-License-Identifier: MIT */
/*
 * Every counter and state relay reports lives here, and readers (status
 * HTTP, metrics, logs of counters) take one consistent copy with
 * stats_snapshot(). Writers are the pipeline threads:
 * - hot numbers (frames, bytes, levels) are C11 atomics, updated without a
 *   lock, so the input and engine threads never wait on a reader;
 * - text and rarely changing state (connected, last_error, titles) sit
 *   behind one short mutex that only output threads, the Icecast poller
 *   and the main thread take, never the input or engine threads' audio
 *   path... except stats_programme_set() and stats_fallback_set(), called
 *   by the engine at a segment or fallback change (a few times an hour).
 * Slots: outputs and encodings are registered by name; a reload that keeps
 * a name keeps its slot and counters.
 *
 * Threads: every function is thread-safe.
 */
#ifndef RELAY_STATS_H
#define RELAY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STATS_TEXT 256
#define STATS_MAX_NEXT 3

enum programme_state {
	PROGRAMME_LIVE = 0, /* the live input is on air */
	PROGRAMME_SEGMENT,  /* a scheduled segment plays */
	PROGRAMME_FALLBACK, /* filler replaces a failed or silent source */
	PROGRAMME_OFF_AIR,
};

/* What listen-back hears on an output's mount (listenback.c). */
enum stats_listenback_state {
	LISTENBACK_OFF = 0,    /* listen-back not configured */
	LISTENBACK_CONNECTING, /* started, no verdict yet */
	LISTENBACK_OK,	       /* our audio arrives, above the threshold */
	LISTENBACK_NO_AUDIO,   /* no audio page for listenback_timeout */
	LISTENBACK_FOREIGN,    /* audio arrives, but not the stream we sent */
	LISTENBACK_SILENT,     /* our audio arrives, but it is silence */
};

struct stats_listenback {
	enum stats_listenback_state state;
	char url[512];	       /* where it listens, never with credentials */
	int64_t since_wall_ns; /* state since */
	bool audio;	       /* audio pages arrive */
	bool ours;	       /* the pages are the ones this output sent */
	double peak_dbfs;      /* last ~100 ms block heard */
	double rms_dbfs;
	double silent_s; /* how long it stayed below the threshold */
	/* The levels and silent_s come from decoded audio (Vorbis, Opus) of
	 * the current connection; false: unknown, silence is not checked. */
	bool decoded;
	int64_t lag_ms;		     /* encoder -> listener, -1 unknown */
	int64_t last_audio_wall_ns;  /* last audio page (0: never) */
	uint64_t bytes;		     /* received, since start */
	uint64_t connects;	     /* connections made, since start */
	char last_error[STATS_TEXT]; /* why the last connection failed */
	/* It listens at the output's own mount (not an edge, alias or
	 * proxy of listenback_url), and its connection is up (bytes arrived
	 * since it last connected): Icecast counts it among the mount's
	 * listeners, and stats_output_set_server() takes it off. */
	bool at_mount;
	bool connected;
};

struct stats_output {
	int id; /* slot id for the stats_output_* setters */
	/* The registration holding the slot (stats_output_find()); the
	 * poller's setters take it. */
	uint64_t serial;
	char name[64];
	char type[16]; /* "icecast" | "file" */
	char url[512]; /* listener URL, never with credentials */
	char encoding[64];
	char host[256];
	int port;
	char mount[256];
	bool connected;
	int64_t since_wall_ns; /* connected (or disconnected) since */
	uint64_t bytes_sent;
	uint64_t queue_bytes;
	/* How long the audio in the last batch sent waited between the
	 * encoder and the connection, in ms; -1 when nothing was sent yet. */
	int64_t lag_ms;
	uint64_t dropped_bytes;
	uint64_t reconnects;
	char last_error[STATS_TEXT];
	/* When last_error was recorded (0: never). Kept once the output
	 * connects again: status_rules_output_error_past() tells it is
	 * history then, not the current state. */
	int64_t last_error_wall_ns;
	/* From the Icecast poller (status-json), -1 / false when unknown. */
	bool server_reachable;
	bool mount_listed;	     /* our mount is present with audio info */
	int64_t server_seen_wall_ns; /* last poll that listed the mount */
	/* When the listed source started, by the server's clock (whole
	 * seconds); 0 unknown or not listed. */
	int64_t listing_start_wall_ns;
	int64_t listeners;
	int64_t listener_peak; /* relay's own peak, survives reconnects */
	char server_title[STATS_TEXT];
	struct stats_listenback listenback; /* state OFF when not enabled */
	/* Listeners of this mount on the edges ([status] listen_urls) that
	 * list it; -1 when none does. Computed by stats_snapshot(). */
	int64_t edge_listeners;
	/* The Access-Control-Allow-Origin Icecast sends for the mount, which
	 * a browser's fetch() needs (the page's fallback player on Safari
	 * and iPhones): "" when none. Meaningful only when cors_known, which
	 * the poller sets once per appearance of the mount. */
	bool cors_known;
	char cors_allow_origin[STATS_TEXT];
	/* TLS (icecast with tls = yes): the trust settings, for the poller's
	 * https requests, and what the server showed on the last verified
	 * connection ("" / 0 before the first). */
	bool tls;
	char tls_ca_file[512];
	char tls_ca_dir[512];
	char tls_client_cert[512];
	int tls_min_version; /* enum tls_version */
	char tls_subject[256];
	char tls_issuer[256];
	int64_t tls_not_after_wall_ns;
	/* File outputs (the archive); empty or 0 for Icecast outputs. */
	char file[512];		/* being written; "" while none is open */
	uint64_t file_bytes;	/* in that file */
	uint64_t files_written; /* files started since relay started */
	uint64_t files_removed; /* by keep */
	uint64_t file_errors;	/* failed opens, writes and removals */
	int64_t rotate_s;	/* 0: none */
	int64_t keep_s;		/* 0: forever */
};

/* An edge Icecast server ([status] listen_urls): one URL, one mount. */
#define STATS_MAX_EDGES CONFIG_MAX_LIST_ITEMS
struct stats_edge {
	char url[512]; /* as configured, the listeners' URL */
	char host[256];
	int port;
	bool tls;
	char mount[256];
	/* From the Icecast poller; false / -1 until its first answer. */
	bool reachable;	   /* its status page answered */
	bool listed;	   /* the mount is there with audio */
	int64_t listeners; /* -1: unknown */
};

struct stats_encoding {
	char name[64];
	char codec[8]; /* "vorbis", "opus" */
	int rate_hz;
	int channels;
	double quality;	  /* NaN in managed mode */
	int bitrate_kbps; /* nominal (opus: always), 0 when VBR by quality */
	int min_bitrate_kbps;
	int max_bitrate_kbps;
	uint64_t packets;
	uint64_t bytes;
};

struct stats_input {
	char type[16];
	bool flowing; /* frames arrived within the last second */
	/* The engine metered a programme block within the last second: the
	 * programme flows (a segment or the filler may play over a stalled
	 * input). Not in the JSON; the on-air rule's. */
	bool programme_flowing;
	double peak_dbfs; /* over the last ~100 ms block */
	double rms_dbfs;
	double silent_s; /* how long the level stayed under threshold */
	uint64_t frames;
	uint64_t xruns;	      /* ALSA overruns */
	uint64_t overflows;   /* ring full: frames lost before the engine */
	double buffer_s;      /* the ring's size in seconds, 0 = none */
	double buffer_peak_s; /* its highest fill since start */
	int64_t buffer_peak_wall_ns; /* when that was, 0 = never */
	uint64_t reopens;
	char last_error[STATS_TEXT];
};

struct stats_next {
	char segment[128];
	char title[STATS_TEXT];
	int64_t starts_at_wall_ns;
};

struct stats_programme {
	enum programme_state state;
	char title[STATS_TEXT];
	char artist[STATS_TEXT];
	char source[32];   /* "live", "file", "tone", ... */
	char segment[128]; /* "" for the live programme */
	int64_t started_at_wall_ns;
	/* When title went on air: started_at, or later when the title
	 * changed while the item played (POST /api/metadata, stdin
	 * metadata). 0: unknown. */
	int64_t title_at_wall_ns;
	int64_t ends_at_wall_ns; /* 0 = open-ended */
	/* A live title set (POST /api/metadata) but not on air yet: held
	 * for the gap between title changes (switcher.h), or waiting for
	 * live to return. Due then; 0: when live returns. */
	bool title_pending;
	char pending_title[STATS_TEXT];
	char pending_artist[STATS_TEXT];
	int64_t pending_due_wall_ns;
	/* Live titles replaced before they aired, since start. */
	uint64_t titles_replaced;
	struct stats_next next[STATS_MAX_NEXT];
	size_t n_next;
};

/* A control-API request to play something, followed until it is over. */
#define STATS_MAX_REQUESTS 16
enum stats_request_state {
	STATS_REQUEST_PENDING = 0, /* accepted, waiting for its start */
	STATS_REQUEST_ON_AIR,
	STATS_REQUEST_DONE,   /* played to its end, or skipped (reason) */
	STATS_REQUEST_FAILED, /* never aired or cut short: reason says why */
};
struct stats_request {
	uint64_t id; /* the id the POST answered with */
	enum stats_request_state state;
	char name[128]; /* the segment name given, or "api" */
	char title[STATS_TEXT];
	char source[32]; /* "file", "tone", ... */
	int64_t starts_at_wall_ns;
	int64_t ends_at_wall_ns;
	int64_t updated_at_wall_ns; /* last state change */
	char reason[STATS_TEXT];    /* why FAILED, or how it ended */
};

/* The last reload (SIGHUP or POST /api/reload). */
struct stats_reload {
	int64_t at_wall_ns; /* 0: none since start */
	bool ok;
	char detail[512]; /* what changed, or the FILE:LINE error */
};

/* The last thing in the programme that did not happen as planned. */
struct stats_programme_error {
	int64_t at_wall_ns; /* 0: none since start */
	char segment[128];
	char text[512];
};

/* Dead air and the filler ([fallback]). */
struct stats_fallback {
	bool enabled;	       /* a [fallback] section is configured */
	char source[16];       /* "playlist", "file", "tone", "silence" */
	bool active;	       /* the filler is on air */
	int64_t since_wall_ns; /* active: when the filler went on air;
				  else when live returned (0: never) */
	char why[STATS_TEXT];  /* why it went on air (or the last time) */
	uint64_t activations;  /* times the filler went on air */
	double dead_air_s;     /* silent lead-ins plus time on the filler */
	int64_t after_ns;      /* the station's dead-air time:
				  config_dead_air_ns() */
};

/* The status server's own load. stats.c never writes it: the status
 * server fills it in its copy of the snapshot (zero elsewhere). */
struct stats_http {
	int64_t connections;   /* open now */
	int64_t event_streams; /* open /api/events streams */
	uint64_t evicted;      /* closed to make room, since start */
	uint64_t expired;      /* closed past the request deadline */
};

/* [processing] as measured on the processed programme (NaN: nothing to
 * measure yet). Published by the engine thread once a second. */
struct stats_processing {
	bool enabled;
	double target_lufs;
	double momentary_lufs;
	double short_term_lufs;
	double integrated_lufs;
	double true_peak_dbtp; /* highest over the last second */
	double gain_db;	       /* the rider's gain */
	double limiter_db;     /* limiter gain reduction now (<= 0) */
	bool frozen;	       /* rider holding: silence or a pause */
};

struct stats_snapshot {
	char station_name[STATS_TEXT];
	char station_description[STATS_TEXT];
	char station_url[STATS_TEXT];
	int64_t start_wall_ns;
	int64_t now_wall_ns;
	int64_t uptime_ns;
	double silence_threshold_dbfs;
	struct stats_input input;
	struct stats_encoding encodings[CONFIG_MAX_ENCODINGS];
	size_t n_encodings;
	struct stats_output outputs[CONFIG_MAX_OUTPUTS];
	size_t n_outputs;
	struct stats_programme programme;
	/* The audience: for each output, its listeners on the primary
	 * minus one relay connection per edge listing its mount, plus that
	 * mount's listeners on the edges; plus listeners of edge mounts no
	 * output streams. */
	int64_t listeners;
	struct stats_edge edges[STATS_MAX_EDGES];
	size_t n_edges;
	struct stats_request requests[STATS_MAX_REQUESTS]; /* newest first */
	size_t n_requests;
	struct stats_reload reload;
	struct stats_programme_error programme_error;
	struct stats_fallback fallback;
	struct stats_http http;
	struct stats_processing processing;
};

/* Call once at startup (main thread) and on reload with the new config:
 * station texts, input type, encodings (slots by name), edges ([status]
 * listen_urls; an edge whose URL stays keeps its last poll). */
void stats_configure(const struct config *cfg);

/* Copies everything into *out. Takes the mutex briefly. */
void stats_snapshot(struct stats_snapshot *out);

/* A number that changes whenever a setter changed what stats_snapshot
 * shows, apart from the atomic counters, levels and clocks (those change
 * all the time). Read it before a snapshot: when it is still the same
 * later, nothing but those moved since. Lock-free; any thread. */
uint64_t stats_generation(void);

/* The news bell: an eventfd written whenever a setter changes what the
 * /api/events streams push (what is on air and next, requests, the
 * fallback, a reload, a programme error, an output connecting or going,
 * a listener count, a listen-back verdict, the station texts), and only
 * then: counters, levels and unchanged poll results leave it quiet. It
 * is never read; watch it edge-triggered (EPOLLET), each write is one
 * edge. Made on the first call, open until the process ends; -1 when it
 * cannot be made. Any thread. */
int stats_news_fd(void);

/* Outputs. Returns a slot id >= 0 (the same id for the same name), or -1
 * when all slots are taken. */
int stats_output_register(
    const struct config *cfg, const struct output_config *o);
void stats_output_unregister(int id);
void stats_output_set_connected(int id, bool connected, const char *error);
void stats_output_set_error(int id, const char *error);
void stats_output_add_sent(int id, uint64_t bytes);
void stats_output_set_queue(int id, uint64_t bytes);
void stats_output_set_lag(int id, int64_t ms); /* -1: unknown */
void stats_output_add_dropped(int id, uint64_t bytes);
void stats_output_inc_reconnects(int id);
/* From the Icecast poller, for the registration serial in slot id (the
 * snapshot's stats_output.serial: a no-op once a reload has given the slot
 * to another output, or to this one started anew, while a poll was under
 * way). listeners < 0: unknown; STATS_LISTENERS_KEEP: leave the count
 * as it was (a poll that may count relay's own request); our own listen-back
 * connection, when it is up at the mount, is not counted. title may be
 * NULL.
 * listing_start_wall_ns: when the listed source started by the server's
 * clock (icecast_mount_status.stream_start_wall_ns), 0 unknown. */
#define STATS_LISTENERS_KEEP INT64_MIN
void stats_output_set_server(int id, uint64_t serial, bool reachable,
    bool listed, int64_t listeners, const char *title,
    int64_t listing_start_wall_ns);
/* The slot id of the output named name, or -1; *serial says which
 * registration holds it (0 when none): an output stopped and registered
 * again under the same name, even in the same slot, has another. */
int stats_output_find(const char *name, uint64_t *serial);
/* From the listen-back thread: replaces the whole listen-back record of
 * the output registration serial in slot id (stats_output_find(); a copy
 * of *lb; state LISTENBACK_OFF clears it). A no-op when the slot no
 * longer holds that registration: a reload that removed or restarted the
 * output may have given its slot to another (or to the output started
 * anew) before its listener stopped. A new registration starts with no
 * record (state OFF). */
void stats_output_set_listenback(
    int id, uint64_t serial, const struct stats_listenback *lb);
const char *stats_listenback_state_name(enum stats_listenback_state s);
/* Listen-back says listeners do not hear this output's audio (a state
 * other than OFF, CONNECTING and OK). */
bool stats_listenback_flagged(const struct stats_listenback *lb);

/* From the Icecast poller, for the edge whose url is url (ignored when
 * no such edge is configured any more). listeners < 0: unknown. */
void stats_edge_set(
    const char *url, bool reachable, bool listed, int64_t listeners);
/* From the Icecast poller: the mount's Access-Control-Allow-Origin ("" for
 * none), or NULL for unknown. A mount that is not listed is unknown.
 * serial as for stats_output_set_server(). */
void stats_output_set_cors(int id, uint64_t serial, const char *allow_origin);
/* The certificate a TLS output's server showed on the connection just
 * verified: subject, issuer (RFC 2253 text), expiry. */
void stats_output_set_tls_peer(
    int id, const char *subject, const char *issuer, int64_t not_after_wall_ns);
/* Last wall time the poller saw the mount listed (0: never). */
int64_t stats_output_server_seen(int id);
/* File outputs: the file being written (NULL or "": none; counts a new
 * file and resets file_bytes), its size, removals by keep, errors. */
void stats_output_set_file(int id, const char *path);
void stats_output_set_file_bytes(int id, uint64_t bytes);
void stats_output_inc_removed(int id);
void stats_output_inc_file_errors(int id);

/* Encodings: the engine thread adds what each encoder produced. The
 * _try_ form never waits: false when a reader holds the mutex (nothing
 * added; the caller keeps its counts for the next try). */
void stats_encoding_add(const char *name, uint64_t packets, uint64_t bytes);
bool stats_encoding_try_add(const char *name, uint64_t packets, uint64_t bytes);

/* Input. Lock-free; safe on the capture path. */
void stats_input_add_frames(uint64_t frames);
void stats_input_inc_xruns(void);
void stats_input_add_overflow(uint64_t frames);
/* The input ring (input -> engine): its size, set once when it is made
 * (main thread), and its fill after each write, of which the highest since
 * start is kept (the input thread: one relaxed load, a store when higher),
 * so an operator sees how close the input came to overflowing. */
void stats_input_set_buffer(uint64_t capacity_frames, int rate_hz);
/* Also keeps when the peak was reached and counts each rise of the fill
 * past half of the ring (again only after it fell under a quarter);
 * stats_input_log_buffer_half() logs a warning for it. Atomics only: no
 * lock, no allocation, no log on the input thread. */
void stats_input_note_buffer_fill(uint64_t frames);
/* The warning for the fill passing half of the ring since the last call:
 * the first in a run at once, later ones at most one each
 * STATS_BUFFER_HALF_LOG_NS, with how many times it happened in between.
 * Main thread only. */
void stats_input_log_buffer_half(void);
#define STATS_BUFFER_HALF_LOG_NS (60 * NS_PER_SEC)
void stats_input_inc_reopens(void);
void stats_input_set_error(const char *error); /* takes the mutex */
/* Levels of the programme as it enters the encoders (engine thread):
 * silent_s under [input] silence_threshold_dbfs, quiet_s under the dead
 * air threshold (config_dead_air_threshold_dbfs()). */
void stats_input_set_levels(
    double peak_dbfs, double rms_dbfs, double silent_s, double quiet_s);

/* Engine thread, once a second: the [processing] measurements. The _try_
 * form never waits: false when a reader holds the mutex (not set). */
void stats_processing_set(const struct stats_processing *sp);
bool stats_processing_try_set(const struct stats_processing *sp);

/* The programme's levels alone, read without the mutex (atomics): what
 * the 10 Hz level stream of the operator page sends. */
struct stats_levels {
	double peak_dbfs; /* last ~100 ms block */
	double rms_dbfs;
	double silent_s;
	double quiet_s; /* under the dead-air threshold (listen-back) */
	int64_t age_ns; /* since the last block was metered; INT64_MAX: none */
	bool flowing;	/* input frames arrived within the last second */
};
void stats_levels_get(struct stats_levels *out);
/* An operator page's level stream opened (+1) or closed (-1): while one
 * is open the engine meters block by block as the audio comes, instead
 * of in the bursts it may render otherwise (engine.c). Any thread. */
void stats_levels_watch(int delta);
bool stats_levels_watched(void);
/* The loudest block's peak and RMS since the previous call (one reader:
 * the history sampler), then starts over. When no block finished since,
 * the last block's if it is under a second old, else -120. */
void stats_levels_take_max(double *peak_dbfs, double *rms_dbfs);

/* Each encoding's levels after its conversion (encoder_levels), from the
 * engine thread every metered block. publish never waits: when a reader
 * holds the (separate, tiny) lock it skips this block. */
struct stats_encoding_level {
	char name[64];
	double peak_dbfs;
	double rms_dbfs;
};
void stats_encoding_levels_publish(
    const struct stats_encoding_level *lv, size_t n);
/* Copies up to max into out; returns how many. */
size_t stats_encoding_levels_get(struct stats_encoding_level *out, size_t max);

/* Programme. Two writers own two parts, so neither can overwrite the
 * other's fresher data with a stale copy: the engine sets what is on air
 * (everything but next[]), the planner sets next[]. */
void stats_programme_set_now(const struct stats_programme *p);
void stats_programme_set_next(const struct stats_next *next, size_t n);
/* The live title not on air yet (the switcher: any thread, under its
 * title lock): pending false clears it. */
void stats_title_pending_set(
    bool pending, const char *title, const char *artist, int64_t due_wall_ns);
/* Counts a live title replaced before it aired (any thread). */
void stats_title_replaced(void);
/* The whole record at once (tests). */
void stats_programme_set(const struct stats_programme *p);
void stats_programme_get(struct stats_programme *out);

const char *programme_state_name(enum programme_state s);

/* Control-API requests, newest first (the planner, main thread). */
void stats_requests_set(const struct stats_request *r, size_t n);
const char *stats_request_state_name(enum stats_request_state s);

/* The last reload's outcome (main thread). */
void stats_reload_set(int64_t at_wall_ns, bool ok, const char *detail);

/* Fallback: configured (main thread), on air or not (engine thread, at
 * each change; takes the mutex), dead-air time (lock-free). */
void stats_fallback_configure(
    bool enabled, const char *source, int64_t after_ns);
void stats_fallback_set(bool active, int64_t since_wall_ns, const char *why);
void stats_dead_air_add_ns(int64_t ns);

/* The last programme error (the planner, main thread). */
void stats_programme_error_set(
    int64_t at_wall_ns, const char *segment, const char *text);

#endif
