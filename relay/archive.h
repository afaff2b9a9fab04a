/* SPDX-License-Identifier: MIT */
/*
 * The archive's arithmetic, with no I/O: file name patterns (a subset of
 * strftime fields, expanded from a struct cron_local so that no TZ or
 * tzset() is involved), rotation periods aligned to the local clock, and
 * the test that decides whether a name on disk is one a pattern makes
 * (what `keep` may remove). output_file.c does the file system work.
 *
 * Fields: %Y (4 digits), %y %m %d %H %M %S (2 digits), %j (3 digits),
 * %F (= %Y-%m-%d) and %% (a literal %). Every field has a fixed width,
 * which is what makes a name on disk parse back unambiguously.
 *
 * Threads: every function is pure and may run on any thread.
 */
#ifndef RELAY_ARCHIVE_H
#define RELAY_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "util.h"

/* The longest period: rotate must divide a day. */
#define ARCHIVE_DAY_S 86400

/* Checks a path pattern: only the fields above, no empty file name, no
 * "." or ".." component. 0, or -EINVAL with the reason in err, e.g.
 * "\"%H%q\": %q is not a supported field (use %Y %y %m %d %H %M %S %j %F
 * %%)". */
RELAY_MUST_CHECK int archive_pattern_check(
    const char *pattern, char *err, size_t errlen);

/* Checks a rotation period in whole seconds (0 = none). It must divide a
 * day, so that periods line up with midnight (15m, 1h, 1d; 5s for
 * tests). 0 or -EINVAL with err set. */
RELAY_MUST_CHECK int archive_rotate_check(
    int64_t rotate_s, char *err, size_t errlen);

/* Expands pattern for the local time lt. suffix > 0 inserts "-suffix"
 * before the extension of the file name ("1400.ogg" -> "1400-1.ogg"), or
 * appends it when the name has none. 0, or -ENAMETOOLONG. */
RELAY_MUST_CHECK int archive_expand(const char *pattern,
    const struct cron_local *lt, unsigned suffix, char *out, size_t outlen);

/* The rotation period that holds wall_ns, in zone tz (NULL = UTC): it
 * starts at a local time of day that is a multiple of rotate_s after
 * midnight. rotate_s = 0: one endless period (start = end = 0 is not
 * used; *end_ns = INT64_MAX). In the hour repeated when daylight saving
 * ends, a period may last longer than rotate_s; *end_ns is always after
 * wall_ns. */
void archive_period(const struct cron_tz *tz, int64_t rotate_s, int64_t wall_ns,
    int64_t *start_ns, int64_t *end_ns);

/* True when keep on pattern keeper could remove files that pattern other
 * names: one of other's names, made for a few sample times (hours before
 * and after 10, every field two-digit) and suffixes, matches keeper
 * (archive_name_matches(); "%F.ogg" matches "%F-%H.ogg"'s
 * "2026-11-30-14.ogg" as its 14th sibling). For a config check between
 * two file outputs. */
bool archive_patterns_overlap(const char *keeper, const char *other);

/* The directory every name the pattern makes lies under: the components
 * before the first one holding a field ("/srv/archive/%Y/%m/x.ogg" ->
 * "/srv/archive"; "x-%H.ogg" -> "."). 0, or -ENAMETOOLONG. */
RELAY_MUST_CHECK int archive_pattern_root(
    const char *pattern, char *out, size_t outlen);

/* Whether path is a name pattern makes for some time, with or without a
 * "-N" suffix (N >= 1, no leading zero). Digits are checked for width
 * only, not range: a file named for month 13 is still ours. */
bool archive_name_matches(const char *pattern, const char *path);

/* Whether dir is one of the directories pattern makes: its first
 * components, up to the file name, matched as above (no suffix). */
bool archive_dir_matches(const char *pattern, const char *dir);

/* Whether a file last modified at mtime_ns is past keep_ns at now_ns
 * (keep_ns = 0: kept forever). */
bool archive_expired(int64_t mtime_ns, int64_t now_ns, int64_t keep_ns);

/* rotate or keep as people write them: "90d" for whole days, else "1h",
 * "15m", "36h"; "none" for 0. Returns buf (32 bytes are enough). */
char *archive_format_span(int64_t ns, const char *zero, char *buf, size_t len);

#endif
