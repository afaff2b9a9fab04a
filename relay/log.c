/* SPDX-License-Identifier: MIT */
/*
 * One-line logging to stderr or syslog. See log.h for the line format.
 * Repeats of the same message from the same module within 10 s are counted
 * and summarised ("(N similar suppressed)") instead of flooding the journal
 * while a server is down.
 *
 * Warnings and errors also go into a fixed ring of LOG_RECENT_EVENTS
 * (log_recent()): a copy under the same lock, no allocation.
 *
 * Threads: any thread but the capture path; one mutex around formatting and
 * the write(2), and around the ring.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX 2048
#define LOG_REPEAT_WINDOW_NS (10 * NS_PER_SEC)

static const char *level_names[] = {"error", "warn", "info", "debug"};

static atomic_int log_threshold = LOG_LEVEL_INFO;
static enum log_target log_target_now = LOG_TARGET_STDERR;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_text[LOG_LINE_MAX];
static int64_t last_mono_ns;
static unsigned suppressed;
/* The recent-events ring (log_lock): recent_total events ever recorded,
 * the newest at (recent_total - 1) % LOG_RECENT_EVENTS. */
static struct log_event recent[LOG_RECENT_EVENTS];
static uint64_t recent_total;

void
log_configure(enum log_level level, enum log_target target)
{
	pthread_mutex_lock(&log_lock);
	atomic_store(&log_threshold, (int)level);
	if (target == LOG_TARGET_SYSLOG && log_target_now != LOG_TARGET_SYSLOG)
		openlog("relay", LOG_PID, LOG_DAEMON);
	log_target_now = target;
	pthread_mutex_unlock(&log_lock);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level < RELAY_ARRAY_LEN(level_names))
		return level_names[level];
	return "?";
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_threshold);
}

static int
syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_INFO;
}

/* Copies src into dst (capacity len, > 8); a src too long is cut after
 * its last whole word that fits with "..." (or mid-word if a word is
 * longer than half of dst), so no message ends in a fragment. */
static void
cut_at_word(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src), end;

	if (n < len) {
		memcpy(dst, src, n + 1);
		return;
	}
	end = len - 4; /* room for "..." and the NUL */
	while (end > len / 2 && src[end] != ' ')
		end--;
	if (src[end] != ' ')
		end = len - 4;
	while (end > 0 && src[end - 1] == ' ')
		end--;
	memcpy(dst, src, end);
	memcpy(dst + end, "...", 4);
}

/* Keeps a warning or error in the ring. Called with log_lock held. */
static void
remember(enum log_level level, const char *mod, const char *text)
{
	struct log_event *ev;

	if (level > LOG_LEVEL_WARN)
		return;
	ev = &recent[recent_total % LOG_RECENT_EVENTS];
	recent_total++;
	ev->seq = recent_total;
	ev->wall_ns = util_now_wall_ns();
	ev->level = level;
	util_strlcpy(ev->mod, mod, sizeof(ev->mod));
	cut_at_word(ev->text, sizeof(ev->text), text);
}

size_t
log_recent(struct log_event *out, size_t max, uint64_t *total)
{
	uint64_t first, i;
	size_t n = 0;

	pthread_mutex_lock(&log_lock);
	first = recent_total > LOG_RECENT_EVENTS
		    ? recent_total - LOG_RECENT_EVENTS
		    : 0;
	if (recent_total - first > max)
		first = recent_total - max;
	for (i = first; i < recent_total; i++)
		out[n++] = recent[i % LOG_RECENT_EVENTS];
	if (total != NULL)
		*total = recent_total;
	pthread_mutex_unlock(&log_lock);
	return n;
}

void
log_recent_clear(void)
{
	pthread_mutex_lock(&log_lock);
	recent_total = 0;
	memset(recent, 0, sizeof(recent));
	pthread_mutex_unlock(&log_lock);
}

/* Called with log_lock held. */
static void
emit(enum log_level level, const char *mod, const char *text)
{
	char line[LOG_LINE_MAX + 128];
	char ts[40];
	int n;

	if (log_target_now == LOG_TARGET_SYSLOG) {
		syslog(syslog_priority(level), "%s %s: %s",
		    log_level_name(level), mod, text);
		return;
	}
	util_format_iso8601(util_now_wall_ns(), true, ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %s %s: %s\n", ts,
	    log_level_name(level), mod, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* One write(2) per line keeps lines whole across processes. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_msg(enum log_level level, const char *mod, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], text[LOG_LINE_MAX];
	char keyed[LOG_LINE_MAX + 64];
	va_list ap;
	int64_t now;
	int saved = errno;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Whatever reached the text unescaped (a file name, a server's or
	 * a client's words): no raw control byte, which could forge a line,
	 * and no broken UTF-8, which makes journald keep the line as a blob
	 * that journalctl does not show. */
	util_escape_bytes(text, sizeof(text), raw);

	snprintf(keyed, sizeof(keyed), "%d|%s|%s", (int)level, mod, text);
	now = util_now_mono_ns();
	pthread_mutex_lock(&log_lock);
	if (strncmp(keyed, last_text, sizeof(last_text) - 1) == 0 &&
	    now - last_mono_ns < LOG_REPEAT_WINDOW_NS) {
		suppressed++;
		pthread_mutex_unlock(&log_lock);
		errno = saved;
		return;
	}
	if (suppressed > 0) {
		char note[64];
		snprintf(
		    note, sizeof(note), "(%u similar suppressed)", suppressed);
		emit(level, mod, note);
		remember(level, mod, note);
		suppressed = 0;
	}
	util_strlcpy(last_text, keyed, sizeof(last_text));
	last_mono_ns = now;
	emit(level, mod, text);
	remember(level, mod, text);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

char *
log_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)src;

	if (len == 0)
		return dst;
	if (src == NULL) {
		util_strlcpy(dst, "(null)", len);
		return dst;
	}
	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f || *s == '\\') {
			if (o + 5 >= len)
				goto trunc;
			if (*s == '\\') {
				dst[o++] = '\\';
				dst[o++] = '\\';
			} else {
				o += (size_t)snprintf(
				    dst + o, len - o, "\\x%02x", *s);
			}
		} else {
			if (o + 1 >= len)
				goto trunc;
			dst[o++] = (char)*s;
		}
	}
	dst[o] = '\0';
	return dst;
trunc:
	if (len > 4) {
		o = o < len - 4 ? o : len - 4;
		memcpy(dst + o, "...", 4);
	} else {
		dst[len - 1] = '\0';
	}
	return dst;
}
