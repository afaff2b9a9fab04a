/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every module: strict number and duration parsing
 * (never atoi), monotonic and wall-clock time in nanoseconds, string copies
 * that always terminate, and the RELAY_MUST_CHECK marker.
 *
 * Threads: every function here is thread-safe and allocates nothing unless
 * its comment says so.
 */
#ifndef RELAY_UTIL_H
#define RELAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_MUST_CHECK __attribute__((warn_unused_result))
#define RELAY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

/* Parses a whole decimal integer in [min, max]. 0, -EINVAL (not a number,
 * trailing junk) or -ERANGE. */
RELAY_MUST_CHECK int util_parse_int64(
    const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a decimal number (no hex, no inf/nan) in [min, max]. */
RELAY_MUST_CHECK int util_parse_double(
    const char *s, double min, double max, double *out);

/* Parses yes|no|true|false|on|off|1|0. 0 or -EINVAL. */
RELAY_MUST_CHECK int util_parse_bool(const char *s, bool *out);

/* Parses a duration: "90" (seconds), "90s", "250ms", "15m", "1h30m",
 * "1h 30m 10s", "90d" (days). Each unit at most once, largest first ("1h1h"
 * and "30m1h" are refused); the unit follows its number with no space
 * ("90 s" is refused), spaces may separate parts. The config, the schedule
 * and the control API all read durations here. Result in nanoseconds. 0,
 * -EINVAL or -ERANGE. */
RELAY_MUST_CHECK int util_parse_duration_ns(const char *s, int64_t *out_ns);

/* How long frames last at rate_hz, in nanoseconds, without overflow for
 * any count of frames (frames * NS_PER_SEC overflows after 2^63 / 1e9
 * frames: 53 h at 48 kHz, a weekend of silence). rate_hz > 0. */
int64_t util_frames_ns(int64_t frames, int rate_hz);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
int64_t util_now_mono_ns(void);
int64_t util_now_wall_ns(void);

/* Sleeps until the CLOCK_MONOTONIC time deadline_ns (absolute, no drift). */
void util_sleep_until_mono_ns(int64_t deadline_ns);
void util_sleep_ns(int64_t ns);

/* An eventfd used as a wake-up: util_eventfd_signal() adds 1 (a full
 * counter means a wake-up is pending anyway; EINTR is retried);
 * util_eventfd_drain() resets it to 0 (nothing to read is fine). One
 * write(2) or read(2), no lock: safe on the audio threads. */
void util_eventfd_signal(int fd);
void util_eventfd_drain(int fd);
/* Sleeps on eventfd fd until it is signalled (then drained) or the
 * CLOCK_MONOTONIC time deadline_ns; false, at once, when the deadline has
 * passed. One wait: a caller loops, checking what it waits for first. */
bool util_eventfd_wait_until(int fd, int64_t deadline_ns);

/* FNV-1a, 64 bit: a fingerprint of what changed (not for security).
 * Start with UTIL_HASH_INIT; util_hash_str() includes the terminating NUL
 * (NULL hashes as ""), so "ab","c" and "a","bc" differ. */
#define UTIL_HASH_INIT UINT64_C(14695981039346656037)
uint64_t util_hash(uint64_t h, const void *data, size_t len);
uint64_t util_hash_str(uint64_t h, const char *text);

/* Whether two optional strings are equal (NULL equals NULL and ""). */
bool util_str_same(const char *a, const char *b);

/* ns rounded to the nearest multiple of unit (half up); ns itself when
 * negative or too close to INT64_MAX to round. */
int64_t util_round_ns(int64_t ns, int64_t unit);

/* Formats a CLOCK_REALTIME time as "2026-11-27T10:00:00Z" (or with
 * milliseconds, "…:00.120Z"), rounded to the nearest second (or ms).
 * Returns buf. len >= 32 is always enough. */
char *util_format_iso8601(int64_t wall_ns, bool with_ms, char *buf, size_t len);

/* Formats a duration for a person to read (a log line, the operator page):
 * "0 s", "250 ms", "32.1 s", "1 min 05 s", "2 h 03 min 07 s",
 * "3 d 04 h 10 min"; zero parts at the end are left out ("5 min", "2 h",
 * "7 d"; seconds are left out over a day). Rounded to the
 * millisecond under 1 s, to the tenth under 1 min, to the second above.
 * Negative: "?". Not the schedule's syntax (schedule_format_duration()
 * writes that). Returns buf. len >= 32 is always enough. */
char *util_format_duration(int64_t ns, char *buf, size_t len);

/* Copies at most len-1 bytes and always terminates. Returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t len);

/* Copies src to dst (capacity len), dropping C0 control characters and DEL
 * and replacing invalid UTF-8 with U+FFFD; never splits a UTF-8 sequence.
 * Used for every title/artist before it reaches Icecast or status JSON. */
void util_sanitize_text(char *dst, size_t len, const char *src);

/* Copies src to dst (capacity len) for an error message: control
 * characters, DEL and bytes that are not valid UTF-8 become \xNN, a
 * backslash becomes \\, valid UTF-8 is kept; a result too long for dst
 * ends in "...". Returns dst. */
char *util_escape(char *dst, size_t len, const char *src);

/* util_escape() with backslashes left as they are: for text that may
 * already hold escapes (a log line), only raw control bytes and broken
 * UTF-8 become \xNN. Returns dst. */
char *util_escape_bytes(char *dst, size_t len, const char *src);

/* Random 32-bit value (getrandom, then a time-seeded fallback). */
uint32_t util_random_u32(void);

/* The rest of url after a leading "http://" or "https://" (lower case
 * only), or NULL when url starts with neither. */
const char *util_http_url_rest(const char *url);

/* Whether url ("scheme://...") looks like one whose password holds a raw
 * '/', '?' or '#' ("http://u:p/ss@host/x"): an '@' after the end of the
 * authority (its first '/', '?' or '#'), an authority without '@' of its
 * own, and after its ':' something that is no port number. Every URL
 * parser, relay's masking included, reads such a password as the path,
 * so it would be shown whole. Configs refuse such a URL and ask for %2F,
 * %3F, %23 (and %40 for '@'). An '@' in the path or query of an ordinary
 * URL ("http://host:8000/x?by=a@b") is not one. */
bool util_url_stray_at(const char *url);

/* What the refusal of such a URL says, after "KEY: ". */
#define UTIL_URL_STRAY_AT_HELP                                                 \
	"has an '@' after a '/', '?' or '#', so a password in it could not "   \
	"be told from the path (and would be shown): write a password's "      \
	"'/' as %2F, '?' as %3F, '#' as %23 and '@' as %40"

/* Splits "http(s)://host[:port]/path" (host: a name, an IPv4 address or
 * a bracketed IPv6 one, stored without brackets) into host (hostlen
 * bytes), *port (80/443 when absent), *tls and *path (borrowed, points
 * into url, starts with '/'). 0, or -EINVAL with why (static text, may be
 * NULL) when url is not such a URL: another scheme, no host, a bad port,
 * credentials, a query or fragment, no path beyond "/", or a space or
 * control character anywhere. */
int util_http_url_parse(const char *url, char *host, size_t hostlen, int *port,
    bool *tls, const char **path, const char **why);

/* Secrets shorter than this many bytes are blanked only as whole words
 * (util_redact()). */
#define UTIL_REDACT_WORDS_BELOW 4

/* Returns src with every occurrence of secret replaced by "***", also
 * inside a word ("%20SECRET", "SECRET2"): a secret never shows. A secret
 * shorter than UTIL_REDACT_WORDS_BELOW bytes is blanked only where a word
 * is nothing but it (or copies of it): "pw" in "user:pw@", "%3Apw%40",
 * "pwpw", not in "pwd2" or "upward", whose letters tell nothing, and
 * blanking them would garble every line ("a" in "failed"). Owned: caller
 * frees. Returns NULL on OOM. */
char *util_redact(const char *src, const char *secret);

/* util_redact(), except inside an occurrence of one of names
 * (NULL-terminated): public names a message holds, such as the server's
 * host name or the mount. There secret is blanked only where it stands
 * as a label or word of its own ("x.example" -> "***.example" with the
 * secret "hackme") and left alone inside a word ("radio.hackme.example"
 * is blanked, "hackme-backup.example" stays whole): those letters tell
 * nothing the name did not. (A short secret is blanked as a whole word
 * only anyway, names or not.) */
char *util_redact_names(
    const char *src, const char *secret, const char *const *names);

/* Opens path read-only without ever blocking in open(2) (a FIFO would
 * wait for a writer) and only if it is a regular file. Returns the fd
 * (blocking mode again), or a negative errno: -EISDIR, or -EINVAL for a
 * FIFO, socket or device (util_open_strerror() words it). */
RELAY_MUST_CHECK int util_open_regular(const char *path);

/* strerror() for util_open_regular()'s results. Borrowed, static. */
const char *util_open_strerror(int rc);

/* Reads a whole small file (at most max_bytes) into a NUL-terminated,
 * owned buffer; strips one trailing newline. 0 or negative errno (see
 * util_open_regular() for what is refused). */
RELAY_MUST_CHECK int util_read_small_file(
    const char *path, size_t max_bytes, char **out);

/* Decibels relative to full scale of a linear amplitude (floor -120). */
double util_dbfs(double amplitude);

/* Puts the calling thread in SCHED_FIFO at priority min(max_prio,
 * RLIMIT_RTPRIO) when the limit allows one (systemd's LimitRTPRIO=, or
 * limits.conf's rtprio). Returns the priority set, 0 when not allowed,
 * or a negative errno. */
int util_try_realtime(int max_prio);

/* Names the calling thread (printf format) for top -H, ps -L, gdb and
 * /proc/PID/task/TID/comm: cut to the kernel's 15 bytes, never inside a
 * UTF-8 sequence. Called first thing in every thread relay starts; a
 * failure changes nothing else and is ignored. */
void util_thread_name(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Edit distance, used to suggest the nearest config key. */
size_t util_edit_distance(const char *a, const char *b);

#endif
