/* SPDX-License-Identifier: MIT */
/*
 * Configuration: one table of keys (config.c: config_keys[]) drives parsing,
 * defaults, range checks, --dump-config and the docs test. The file is INI,
 * read with libinih; named sections look like [encoding main] and
 * [output studio]. Errors name FILE:LINE, the section and the key, and say
 * what is allowed:
 *   relay.conf:14: [output main] port: "80000" is out of range (1..65535)
 * A config is built and validated whole; nothing is applied from a file
 * that has any error (startup exits 1, a reload keeps the old config).
 *
 * Threads: main thread only. A struct config is immutable once loaded and
 * may be read from any thread that holds it.
 */
#ifndef RELAY_CONFIG_H
#define RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

#define CONFIG_MAX_ENCODINGS 8
#define CONFIG_MAX_OUTPUTS 16
#define CONFIG_ERR_LEN 512
#define CONFIG_MAX_LIST_ITEMS 16

/* A comma-separated list key, split and checked ([status] media_dirs). */
struct config_list {
	char *item[CONFIG_MAX_LIST_ITEMS]; /* owned */
	size_t n;
};

enum input_type {
	INPUT_TONE = 0,
	INPUT_STDIN,
	INPUT_FILE,
	INPUT_ALSA,
};

enum sample_format {
	SAMPLE_S16LE = 0,
	SAMPLE_S32LE,
	SAMPLE_F32LE,
};

enum input_end {
	INPUT_END_SILENCE = 0, /* keep streaming digital silence */
	INPUT_END_EXIT,	       /* end every stream and exit 0 */
};

enum output_type {
	OUTPUT_ICECAST = 0,
	OUTPUT_FILE,
};

enum metadata_mode {
	METADATA_CHAIN = 0, /* new Ogg logical stream with new comments */
	METADATA_ADMIN,	    /* Icecast /admin/metadata through libshout */
	METADATA_NONE,	    /* one unbroken stream */
};

/* The oldest TLS version relay accepts from a server ([tls] and [output]
 * tls_min_version). */
enum tls_version {
	TLS_VERSION_1_2 = 0,
	TLS_VERSION_1_3,
};

/* Whom relay trusts and how it identifies itself over TLS: [tls] holds the
 * defaults, every [output] may override a key (tls.h uses them). */
struct tls_config {
	char *ca_file;	   /* PEM bundle; with ca_dir NULL: system store */
	char *ca_dir;	   /* OpenSSL hashed directory (c_rehash) */
	char *client_cert; /* PEM holding the certificate and its key */
	enum tls_version min_version;
};

struct station_config {
	char *name;
	char *description;
	char *genre;
	char *url;
	bool public_listing;
	char *user;  /* started as root: drop to this user (NULL: stay) */
	char *group; /* and this group (NULL: the user's own) */
};

struct input_config {
	int line;      /* of the [input] header, for messages (0: none) */
	int path_line; /* of its path key (the header when unset) */
	enum input_type type;
	int rate_hz;  /* the programme rate: every source is converted */
	int channels; /* the programme channel count */
	char *title;  /* now-playing title of the live programme */
	char *artist;
	/* alsa */
	char *device;
	int period_frames;
	int buffer_frames;
	/* stdin */
	enum sample_format format;
	/* file */
	char *path;	   /* a pattern with strftime fields (archive.h) */
	int64_t rotate_ns; /* 0: none (one file, appended to) */
	int64_t keep_ns;   /* 0: forever */
	char *timezone;	   /* NULL: the system's zone */
	bool loop;
	/* tone */
	double frequency_hz; /* 0 = digital silence */
	double level_dbfs;
	/* all */
	double silence_threshold_dbfs;
	enum input_end at_end; /* stdin closed / file without loop ended */
};

enum codec {
	CODEC_VORBIS = 0,
	CODEC_OPUS,
	CODEC_MP3,
};

/* opus application = audio | voip (libopus's APPLICATION_AUDIO/VOIP). */
enum encoding_application {
	ENCODING_APP_AUDIO = 0,
	ENCODING_APP_VOIP,
};

struct encoding_config {
	char *name;
	int line; /* where the section started, for messages */
	enum codec codec;
	int rate_hz; /* opus: always 48000; mp3: 44100 or 48000 */
	int channels;
	double quality;	  /* -1..10, oggenc's scale; used when !managed;
			   * mp3: LAME's VBR scale 0 (best) .. 9 */
	bool managed;	  /* bitrate set: managed (ABR) mode */
	int bitrate_kbps; /* nominal; 0 = unset */
	int min_bitrate_kbps;
	int max_bitrate_kbps;
	/* opus (bitrate_kbps is then always set: 32 mono, 64 stereo) */
	enum encoding_application application;
	int complexity;	 /* 0..10 */
	double frame_ms; /* 2.5, 5, 10, 20, 40 or 60 */
};

struct output_config {
	char *name;
	int line;
	int path_line; /* of its path key (the header when unset), --check */
	enum output_type type;
	/* icecast */
	char *host;
	int port;
	char *mount;
	char *user;
	char *password;	     /* resolved secret: never log it */
	char *password_from; /* "password", "password_file PATH", "password_env
				NAME" */
	int password_line;   /* of that key, for messages */
	bool tls;
	struct tls_config tls_settings; /* [tls] with this output's keys */
	enum metadata_mode metadata;
	/* file */
	char *path;	   /* a pattern with strftime fields (archive.h) */
	int64_t rotate_ns; /* 0: none (one file, appended to) */
	int64_t keep_ns;   /* 0: forever */
	char *timezone;	   /* NULL: the system's zone */
	/* both */
	char *encoding_name;
	int encoding_index; /* index into config.encodings */
	int64_t reconnect_min_ns;
	int64_t reconnect_max_ns;
	int64_t stall_timeout_ns;
	int64_t connect_timeout_ns;
	int64_t queue_ns; /* how much audio the output may buffer */
	/* listen-back (icecast only; reloadable: the output keeps running) */
	bool listenback;
	char *listenback_url; /* NULL: the mount's own URL */
	int64_t listenback_timeout_ns;
	char *on_listenback; /* hook when listen-back flags or clears */
};

struct log_config {
	enum log_level level;
	enum log_target target;
};

struct status_config {
	bool enabled;
	char *listen;	   /* "127.0.0.1:8080" as written */
	int listen_line;   /* of the listen key; 0: the default */
	char *listen_host; /* parsed */
	int listen_port;
	char *public_url;  /* NULL: derived from the outputs */
	char *token;	   /* resolved secret or NULL */
	bool token_inline; /* given as token = ..., in the file itself */
	char *token_file;  /* token_file as resolved, or NULL */
	int64_t poll_icecast_ns;
	/* As written (NULL: unset); the lists below are what they mean. */
	char *cors_origins_text;
	char *media_dirs_text;
	char *listen_urls_text;
	char *feed_hosts_text;
	/* Origins whose pages may read /api/status and /api/events; "*"
	 * alone = any; empty = none (no CORS header). */
	struct config_list cors_origins;
	/* Directories API file/playlist segments must lie in (absolute,
	 * without a trailing slash). Unset: the schedule file's directory;
	 * "none" or no schedule: empty (file segments refused). */
	struct config_list media_dirs;
	/* Edge Icecast listener URLs (checked http(s)://host[:port]/mount):
	 * the page offers them, the poller counts their listeners. */
	struct config_list listen_urls;
	/* Hosts API stream segments may use. feed_hosts_set false: any
	 * host except loopback and link-local ones. */
	struct config_list feed_hosts;
	bool feed_hosts_set;
};

struct schedule_config {
	char *file; /* NULL: no schedule */
	char *timezone;
	int64_t start_grace_ns; /* a due item waits this long for audio */
};

/* [processing]: loudness rider and true-peak limiter (processing.h). */
struct processing_config {
	bool enabled; /* processing = on */
	double loudness_target_lufs;
	double true_peak_max_dbtp;
	double max_boost_db;
	double lookahead_ms;
};

/* [fallback]: what plays when the programme goes silent or the input
 * fails (dead air). */
enum fallback_source {
	FALLBACK_PLAYLIST = 0,
	FALLBACK_FILE,
	FALLBACK_TONE,
	FALLBACK_SILENCE,
};

struct fallback_config {
	bool enabled;		  /* the section is present */
	int line;		  /* of the [fallback] header, for messages */
	int path_line;		  /* of its path key (the header when unset) */
	double threshold_dbfs;	  /* default: [input] silence_threshold_dbfs */
	int64_t after_ns;	  /* silent this long: the filler plays */
	int64_t restore_after_ns; /* live above threshold this long: back */
	enum fallback_source source;
	char *path;  /* file, playlist (resolved against the config's dir) */
	char *title; /* "" : the [station] name */
	char *artist;
	char *on_dead_air; /* hook commands (hook.h), NULL: none */
	char *on_restore;
	int64_t hook_timeout_ns;
};

struct config {
	char *path;
	struct station_config station;
	struct input_config input;
	struct encoding_config encodings[CONFIG_MAX_ENCODINGS];
	size_t n_encodings;
	struct output_config outputs[CONFIG_MAX_OUTPUTS];
	size_t n_outputs;
	struct log_config log;
	struct status_config status;
	struct schedule_config schedule;
	struct processing_config processing;
	struct fallback_config fallback;
	struct tls_config tls; /* [tls]: outputs and feeds inherit it */
	int tls_line;	       /* of the [tls] header, for messages (0: none) */
};

/* Loads and validates path. On success *out is owned (config_free). On
 * error returns a negative errno, *out is NULL and err holds one line
 * "FILE:LINE: [section] key: what is wrong (allowed values)". */
RELAY_MUST_CHECK int config_load(
    const char *path, struct config **out, char *err, size_t errlen);
void config_free(struct config *cfg);

/* When cfg's file holds a secret itself (an [output] password or the
 * [status] token written inline) and every user may read it: what, "a
 * password" or "the [status] token" (static); otherwise NULL. */
const char *config_exposed_secret(const struct config *cfg);

/* The first password_file or token_file that every user may read, as
 * "password file PATH ([output NAME])" in buf; NULL when none. */
const char *config_exposed_secret_file(
    const struct config *cfg, char *buf, size_t len);

/* When output i's password is shorter than UTIL_REDACT_WORDS_BELOW (so
 * easy to guess, and blanked in messages only as a whole word): its
 * length, with "FILE:LINE: [output NAME] KEY" (KEY: the password key
 * used) in where; otherwise 0. */
size_t config_short_password(
    const struct config *cfg, size_t i, char *where, size_t len);
/* What is said about it, with its length n (a size_t) and
 * CONFIG_SHORT_PASSWORD_ARGS(n): --check and the log say the same. */
#define CONFIG_SHORT_PASSWORD_FMT                                              \
	"the password is %zu character%s: easy to guess, and messages show "   \
	"*** only where a whole word is the password (its letters inside "     \
	"other words stay); use at least 16 random characters"
#define CONFIG_SHORT_PASSWORD_ARGS(n) (n), (n) == 1 ? "" : "s"

/* Prints what --check reports: inputs, encodings, outputs (no secrets). */
void config_print_summary(const struct config *cfg, FILE *fp);

/* Prints every key with its type, default and help (--dump-config). */
void config_dump_keys(FILE *fp);

/* What a reload does with a running output a (in config a) that config b
 * has as ob (the same name). */
enum config_output_change {
	CONFIG_OUTPUT_SAME, /* streams identically: untouched */
	/* Its own keys are the same and its encoding changed only in what
	 * a new Ogg chain carries (config_encoding_chains()): it keeps its
	 * connection or file, and the new encoder's stream follows the old
	 * one's EOS there. */
	CONFIG_OUTPUT_NEW_CHAIN,
	CONFIG_OUTPUT_RESTART, /* anything else: stopped and started anew */
};
enum config_output_change config_output_change(const struct config *a,
    const struct output_config *oa, const struct config *b,
    const struct output_config *ob);
/* config_output_change() == CONFIG_OUTPUT_SAME. */
bool config_output_same(const struct config *a, const struct output_config *oa,
    const struct config *b, const struct output_config *ob);
bool config_encoding_same(
    const struct encoding_config *a, const struct encoding_config *b);
/* Whether a stream of encoding a can go on as a new Ogg chain of b on the
 * same connection: same name, codec (Vorbis or Opus), rate, channels and
 * Opus frame length. */
bool config_encoding_chains(
    const struct encoding_config *a, const struct encoding_config *b);
bool config_input_same(
    const struct input_config *a, const struct input_config *b);
bool config_processing_same(
    const struct processing_config *a, const struct processing_config *b);

/* The listener URL of an output (never with credentials), e.g.
 * "http://127.0.0.1:8000/live.ogg". Returns buf. */
char *config_output_url(const struct output_config *o, char *buf, size_t len);

/* The station's dead air without a [fallback] section: the default of
 * [fallback] after. */
#define CONFIG_DEAD_AIR_DEFAULT_NS (10 * NS_PER_SEC)

/* The station's own definition of dead air, which listen-back follows:
 * the programme below config_dead_air_threshold_dbfs() (the [fallback]
 * threshold_dbfs, or without [fallback] the [input]
 * silence_threshold_dbfs) for config_dead_air_ns() ([fallback] after, or
 * CONFIG_DEAD_AIR_DEFAULT_NS). */
int64_t config_dead_air_ns(const struct config *cfg);
double config_dead_air_threshold_dbfs(const struct config *cfg);

/* For the docs test: the key table as "section.key" strings. */
size_t config_key_count(void);
const char *config_key_section(size_t i); /* "output" for [output NAME] */
const char *config_key_name(size_t i);

const char *input_type_name(enum input_type t);
const char *codec_name(enum codec c); /* "vorbis", "opus", "mp3" */
const char *fallback_source_name(enum fallback_source s);

#endif
