/* SPDX-License-Identifier: MIT */
/*
 * The config loader's internals, shared by its files and nothing else:
 * config.c (the key table, reading the file, loading),
 * config_validate.c (the cross-key checks that tie sections together),
 * config_check.c (the checks of one feature's keys: codecs, [status]
 * lists, [fallback], TLS, archives), config_secret.c (passwords and the
 * token: where each comes from, weak ones, exposed ones), config_print.c
 * (--check's summary, --dump-config) and config_same.c (what reload
 * compares). Other modules use config.h.
 *
 * Threads: main thread only, like the loader.
 */
#ifndef RELAY_CONFIG_INTERNAL_H
#define RELAY_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum key_type {
	KT_STRING = 0,
	KT_INT,
	KT_DOUBLE,
	KT_BOOL,
	KT_DURATION,
	KT_ENUM,
};

enum section_kind {
	SEC_STATION = 0,
	SEC_INPUT,
	SEC_ENCODING,
	SEC_OUTPUT,
	SEC_LOG,
	SEC_STATUS,
	SEC_SCHEDULE,
	SEC_PROCESSING,
	SEC_FALLBACK,
	SEC_TLS,
	SEC_COUNT,
};

extern const char *const config_section_names[SEC_COUNT];
extern const bool config_section_named[SEC_COUNT];

struct config_key {
	enum section_kind section;
	const char *key;
	enum key_type type;
	double min; /* ints, doubles; durations in seconds */
	double max;
	const char *def;     /* default as text; NULL = unset */
	const char *allowed; /* KT_ENUM: "a|b|c", index = value;
				KT_DURATION: a word meaning 0 ("off") */
	bool reloadable;
	size_t offset;
	const char *help;
};

/* Every key, in --dump-config order; config.c holds the table. */
extern const struct config_key config_keys[];
extern const size_t config_n_keys;

/* More than the table holds (a static assertion in config.c checks). */
#define CONFIG_MAX_KEYS 160

/* One parsed section instance ([output main]) and the lines of its keys. */
struct section_state {
	enum section_kind kind;
	char name[64];
	int header_line;
	int key_line[CONFIG_MAX_KEYS];
	char *password_file;
	char *password_env;
	char *token_file;
	char *token_env;
};

#define MAX_SECTIONS (CONFIG_MAX_ENCODINGS + CONFIG_MAX_OUTPUTS + 8)

struct parse_state {
	const char *path;
	FILE *fp;
	char *linebuf; /* getline() buffer */
	size_t linecap;
	bool after_key; /* a key was read since the last section header */
	int line;
	int section_line; /* line of the last section header seen */
	struct config *cfg;
	struct section_state sections[MAX_SECTIONS];
	size_t n_sections;
	char err[CONFIG_ERR_LEN];
	bool failed;
};

/* The first error wins: "FILE:LINE: text" into ps->err, ps->failed. */
void config_set_err(struct parse_state *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "[output main]" or "[input]" for messages. */
const char *config_section_label(
    const struct section_state *s, char *buf, size_t len);
/* The name of value in allowed ("a|b|c"), or "?". */
const char *config_enum_name(
    const char *allowed, int value, char *buf, size_t len);
/* Line of key in s, or its header line when the key is unset. */
int config_line_of(const struct section_state *s, const char *key);
bool config_has_key(const struct section_state *s, const char *key);
/* The index-th section of kind, or NULL. */
struct section_state *config_find_section(
    struct parse_state *ps, enum section_kind kind, size_t index);
/* Makes *p absolute against the config file's directory. */
void config_resolve_in_place(const char *config_path, char **p);
/* Sets every key of kind that has a default in the section at base. */
void config_apply_defaults(void *base, enum section_kind kind);

/* config_validate.c: the cross-key checks once the whole file is read.
 * 0, or a negative errno with the error set in ps. */
int config_validate(struct parse_state *ps);

/* config_secret.c. Each sets the secret from exactly one of KEY,
 * KEY_file, KEY_env of section s and refuses a weak one: an output's
 * password (o->password, o->password_from; required), the [status] token
 * (optional; at least 16 characters). 0, or -EINVAL with the error set in
 * ps. */
int config_secret_output_password(struct parse_state *ps,
    struct section_state *s, const char *label, struct output_config *o);
int config_secret_status_token(struct parse_state *ps, struct section_state *s);

/* config_check.c: each returns 0 or -1 with the error set in ps. */
int config_check_vorbis_only(
    struct parse_state *ps, const struct section_state *s, const char *label);
int config_check_opus(struct parse_state *ps, const struct section_state *s,
    struct encoding_config *e, const char *label);
int config_check_mp3(struct parse_state *ps, const struct section_state *s,
    struct encoding_config *e, const char *label);
/* A vorbis encoding whose rate or channels were left out (the
 * programme's): when libvorbisenc cannot encode its mode at them (a
 * managed bitrate at 96 kHz, 128 kbit/s at 8 kHz, 256 kbit/s mono), the
 * rate's family's 48000 or 44100 Hz (as config_check_mp3() does), then
 * stereo, each only where its key was left out; unchanged when none works
 * (the encoder then says why). */
void config_vorbis_fallback(
    struct encoding_config *e, bool rate_left_out, bool channels_left_out);
int config_check_mp3_output(struct parse_state *ps,
    const struct section_state *s, const char *label, struct output_config *o);
int config_parse_status_lists(
    struct parse_state *ps, const struct section_state *s);
void config_list_free(struct config_list *list);
int config_validate_fallback(struct parse_state *ps);
void config_resolve_tls_paths(const char *config_path, struct tls_config *t);
int config_validate_tls(struct parse_state *ps);
/* Whether tz names a zone file under /usr/share/zoneinfo. */
bool config_zone_known(const char *tz);
int config_check_archive(struct parse_state *ps, const struct section_state *s,
    const char *label, const struct output_config *o);

#endif
