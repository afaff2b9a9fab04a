/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event on stderr (journald collects it) or syslog:
 *   2026-11-27T10:00:00.120Z warn out[main]: 127.0.0.1:8000/live: ...
 * Every error line says what, which object, why, and what relay does next.
 * Strings that came from outside go through log_escape() first.
 *
 * The last LOG_RECENT_EVENTS warnings and errors are also kept in a fixed
 * ring in memory (no allocation), for the operator page: log_recent().
 *
 * Threads: log_msg() may be called from any thread except the capture path
 * (input threads bump stats counters instead). It takes a short internal
 * lock around one write(2). log_recent() takes the same lock for a copy.
 */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TARGET_STDERR = 0,
	LOG_TARGET_SYSLOG,
};

/* Sets the threshold and target; safe to call again on reload. */
void log_configure(enum log_level level, enum log_target target);

/* Parses "error|warn|info|debug". 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

/* The recent-events ring: warnings and errors that passed the threshold,
 * oldest dropped first. 200 x sizeof(struct log_event) (~1,070 bytes) =
 * ~209 KB of static memory. A text holds relay's longest warnings whole
 * (~600 bytes with a long URL); a longer one is cut after a word and ends
 * in "...". */
#define LOG_RECENT_EVENTS 200
#define LOG_RECENT_TEXT 1024

struct log_event {
	uint64_t seq;	 /* 1, 2, ... since start: gaps mean overwritten */
	int64_t wall_ns; /* when it was logged */
	enum log_level level;
	char mod[24];		    /* "out[main]", "status", ... */
	char text[LOG_RECENT_TEXT]; /* the line's text, cut after a word */
};

/* Copies up to max of the most recent events into out, oldest first, and
 * returns how many. *total (may be NULL) gets how many were ever recorded.
 * Takes the log lock for the copy only. */
size_t log_recent(struct log_event *out, size_t max, uint64_t *total);

/* Forgets the recorded events (tests). */
void log_recent_clear(void);

/* Copies src into dst (capacity len) with control characters shown as \xNN
 * and the result truncated with "..." if needed. Returns dst. */
char *log_escape(char *dst, size_t len, const char *src);

#endif
