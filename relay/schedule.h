/* SPDX-License-Identifier: MIT */
/*
 * The programme schedule: segments that start at cron or "at" times in
 * the station's time zone, read from an INI file of [segment NAME]
 * sections (docs/schedule.md). This module is pure: it never reads a
 * clock, opens an audio file or sleeps; every time is an argument. The
 * engine asks "what is on air at wall time T, since when, until when"
 * (schedule_active) and "what starts next" (schedule_upcoming), and turns
 * wall times into sample positions itself.
 *
 * Overlaps: at any instant the occurrences whose [start, end) contains it
 * compete; the highest priority wins, then the later start, then the
 * segment written first in the file. When the winner ends, the best
 * remaining one plays on for the rest of its own window, joined in
 * progress (from start + elapsed, not from where it was cut). When none
 * is left the default programme plays.
 *
 * Threads: schedule_load() and schedule_free() run on the main thread. A
 * loaded schedule is immutable except for schedule_set_duration(); the
 * const functions may run on any thread, concurrently, as long as no
 * thread calls schedule_set_duration() at the same time. Nothing here
 * blocks or touches process-wide state (no TZ, no tzset: see cron.c).
 */
#ifndef RELAY_SCHEDULE_H
#define RELAY_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cron.h"
#include "util.h"

#define SCHEDULE_ERR_LEN 512
#define SCHEDULE_MAX_SEGMENTS 1000
#define SCHEDULE_NAME_MAX 63 /* bytes in a segment name */
/* The duration of a file segment until schedule_set_duration(). */
#define SCHEDULE_DURATION_UNKNOWN INT64_C(-1)
#define SCHEDULE_DURATION_MAX_NS (24 * 3600 * NS_PER_SEC)
/* The shortest segment, in the schedule file and through the control API
 * alike: less would not be heard. */
#define SCHEDULE_DURATION_MIN_NS (100 * NS_PER_MS)
#define SCHEDULE_FADE_DEFAULT_NS (20 * NS_PER_MS)
#define SCHEDULE_FADE_MAX_NS (10 * NS_PER_SEC)
/* struct schedule_occurrence.segment when no segment is on air. */
#define SCHEDULE_NONE SIZE_MAX

enum schedule_source {
	SCHEDULE_SOURCE_FILE = 0, /* one audio file (libsndfile) */
	SCHEDULE_SOURCE_PLAYLIST, /* a directory or .m3u */
	SCHEDULE_SOURCE_LIVE,	  /* the live input ([input]) */
	SCHEDULE_SOURCE_STREAM,	  /* an Ogg Vorbis feed over HTTP(S) */
	SCHEDULE_SOURCE_TONE,	  /* a sine tone */
	SCHEDULE_SOURCE_SILENCE,  /* digital silence */
};

enum schedule_order {
	SCHEDULE_ORDER_SEQUENTIAL = 0,
	SCHEDULE_ORDER_SHUFFLE,
};

struct schedule_segment {
	char *name;	  /* from [segment NAME] */
	int line;	  /* line of the section header, for messages */
	struct cron when; /* cron expression or one-off "at" */
	char *when_text;  /* "0 * * * *" or "2026-12-24 18:00", as written */
	enum schedule_source source;
	/* file, playlist: relative paths are resolved against the
	 * schedule file's directory; NULL for other sources. */
	char *path;
	int path_line;		   /* of the path key, for messages */
	enum schedule_order order; /* playlist */
	char *url;		   /* stream: http:// or https://; else NULL */
	/* stream: TLS settings of this feed over [tls] (NULL / -1: the
	 * [tls] value); paths resolved like path, not read here. */
	char *ca_file;
	char *ca_dir;
	char *client_cert;
	int tls_min_version; /* enum tls_version, or -1 */
	double frequency_hz; /* tone (default 440) */
	double level_dbfs;   /* tone (default -18) */
	int64_t duration_ns; /* > 0, or SCHEDULE_DURATION_UNKNOWN (file) */
	char *title;	     /* sanitized UTF-8; defaults to the name */
	char *artist;	     /* sanitized UTF-8, or NULL */
	int priority;	     /* higher wins (default 0) */
	int64_t fade_ns;     /* crossfade at both ends (default 20 ms) */
	double gain_db;	     /* applied to its audio (default 0) */
	bool no_normalise;   /* normalise = no: [processing] rider holds 0 dB */
	/* duration_ns is the file's length (schedule_set_duration()), not
	 * a `duration` key: the planner reads it again before each run */
	bool length_of_file;
};

/* One run of a segment. For schedule_upcoming() from/until equal
 * start/end; schedule_active() narrows them to when it is on air. */
struct schedule_occurrence {
	size_t segment; /* index for schedule_segment(), or SCHEDULE_NONE */
	int64_t start_wall_ns; /* scheduled start */
	int64_t end_wall_ns;   /* start + duration (== start while unknown) */
	int64_t from_wall_ns;  /* on air since */
	int64_t until_wall_ns; /* on air until */
};

struct schedule;

/* Reads and validates the schedule file path, evaluated in zone timezone
 * (an IANA name; NULL or "" = the system's, see cron_tz_load()). A file
 * with any error is rejected whole. On success *out is owned
 * (schedule_free). On error returns a negative errno, *out is NULL and err
 * holds one line, e.g.
 *   "news.conf:7: [segment news] cron: hour \"24\" is out of range (allowed
 * 0-23)"
 *   "[schedule] timezone: \"Mars/Olympus\" is not a known time zone (...)"
 * Reads only the schedule file and the zone file. Main thread. */
RELAY_MUST_CHECK int schedule_load(const char *path, const char *timezone,
    struct schedule **out, char *err, size_t errlen);

/* Frees; NULL is a no-op. */
void schedule_free(struct schedule *s);

/* Checks a [schedule] timezone value alone (for config --check). 0, or a
 * negative errno with err set as schedule_load() would. */
RELAY_MUST_CHECK int schedule_check_timezone(
    const char *timezone, char *err, size_t errlen);

size_t schedule_count(const struct schedule *s);

/* Segment i (0 <= i < count) in file order; NULL if out of range.
 * Borrowed: valid until schedule_free(). */
const struct schedule_segment *schedule_segment(
    const struct schedule *s, size_t i);

/* The index of the segment called name, or SCHEDULE_NONE. */
size_t schedule_find(const struct schedule *s, const char *name);

/* The zone the schedule is evaluated in. Borrowed. */
const struct cron_tz *schedule_tz(const struct schedule *s);

/* Sets the duration of segment i to its file's length, as read from the
 * file (length_of_file). 0, or -EINVAL (bad index, ns <= 0) or -ERANGE
 * (longer than SCHEDULE_DURATION_MAX_NS). Not concurrently with
 * readers. */
RELAY_MUST_CHECK int schedule_set_duration(
    struct schedule *s, size_t i, int64_t duration_ns);

/* Fills out[0..max) with the occurrences starting in [from, until), all
 * segments merged and sorted by start, then file order. Occurrences of
 * segments with an unknown duration are listed (end == start). Does not
 * resolve overlaps. Returns the count, or -ENOMEM; when it is max, more
 * may follow: see schedule_upcoming_after(). */
int schedule_upcoming(const struct schedule *s, int64_t from_wall_ns,
    int64_t until_wall_ns, struct schedule_occurrence *out, size_t max);

/* Continues a list cut at max: the occurrences after *last (one that
 * schedule_upcoming() returned) in the same order, up to until. Several
 * segments may share last's start; none is lost or repeated. */
int schedule_upcoming_after(const struct schedule *s,
    const struct schedule_occurrence *last, int64_t until_wall_ns,
    struct schedule_occurrence *out, size_t max);

/* What is on air at wall_ns after overlap resolution. If a segment is,
 * out->segment is its index, start/end its occurrence, from the instant it
 * (last) came on air and until when it goes off (its end, or the start of
 * an occurrence that beats it). Otherwise out->segment is SCHEDULE_NONE,
 * until is the next start (CRON_NEVER if none) and from the end of the
 * last occurrence (INT64_MIN if none within the longest duration). A
 * segment of unknown duration is never on air. 0, or -ENOMEM. The cost
 * grows with how many occurrences fall within the longest duration: call
 * it again at until, not per audio block. */
RELAY_MUST_CHECK int schedule_active(
    const struct schedule *s, int64_t wall_ns, struct schedule_occurrence *out);

/* How crowded a schedule gets: the instant (an occurrence's start) at
 * which the most occurrences could be on air at once. */
struct schedule_overlap {
	int64_t at_wall_ns;
	size_t occurrences; /* counted up to cap + 1 */
	size_t segments;    /* segments with an occurrence on air then */
	size_t busiest;	    /* the segment with the most of them */
};

/* Fills out for the starts in [from, until), looking at no more than
 * SCHEDULE_OVERLAP_SAMPLES distinct starts and stopping at the first one
 * where more than cap occurrences overlap (relay --check warns then).
 * 0, or -ENOMEM. */
#define SCHEDULE_OVERLAP_SAMPLES 2000
RELAY_MUST_CHECK int schedule_overlap_peak(const struct schedule *s,
    int64_t from_wall_ns, int64_t until_wall_ns, size_t cap,
    struct schedule_overlap *out);

/* Prints the occurrences starting in the next `hours` hours from
 * from_wall_ns, one a line in local time with the zone abbreviation:
 *   2026-11-27 10:00:00 GMT  news-on-the-hour  file  3m  News on the hour
 * with a note on those another segment pre-empts (relay schedule). */
void schedule_print_upcoming(
    const struct schedule *s, int64_t from_wall_ns, int64_t hours, FILE *fp);

/* Prints one line per segment: name, when, source, duration (--check). */
void schedule_print_summary(const struct schedule *s, FILE *fp);

/* Formats wall_ns as local "2026-11-27 10:00:00 GMT" in the schedule's
 * zone. Returns buf; len >= 48 is always enough. */
char *schedule_format_local(
    const struct schedule *s, int64_t wall_ns, char *buf, size_t len);

/* "3m", "1h30m", "90ms": the schedule's own syntax (what `duration =`
 * takes), for text that is config; "?" for SCHEDULE_DURATION_UNKNOWN.
 * Text for people uses util_format_duration(). Returns buf; len >= 32 is
 * always enough. */
char *schedule_format_duration(int64_t ns, char *buf, size_t len);

/* "file", "playlist", "live", "stream", "tone", "silence". */
const char *schedule_source_name(enum schedule_source source);

#endif
