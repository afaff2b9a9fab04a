/* SPDX-License-Identifier: MIT */
/*
 * Small helpers: strict parsing, clocks, string handling. See util.h.
 *
 * Threads: all functions are thread-safe.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int
util_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;
	const char *p;

	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -EINVAL;
	/* Only plain decimal notation: no hex, inf or nan. */
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) &&
		    strchr("+-.eE \t", *p) == NULL)
			return -EINVAL;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v) || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int
util_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < RELAY_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Whether p holds nothing but white space. */
static bool
only_spaces(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0';
}

int
util_parse_duration_ns(const char *s, int64_t *out_ns)
{
	const char *p = s;
	int64_t total = 0;
	int parts = 0;
	/* The last unit's rank (d 5, h 4, m 3, s 2, ms 1): each unit at most
	 * once, largest first, so "1h1h" (2 h?) and "30m 1h" are refused. */
	int last_rank = 6;

	if (s == NULL)
		return -EINVAL;
	while (*p != '\0') {
		char *end;
		const char *q;
		double v;
		int64_t unit;
		int rank;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		/* Plain decimals only: strtod() alone would also take
		 * "1e3", "0x1p4", "inf" and "nan". */
		q = p;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == '.') {
			q++;
			while (isdigit((unsigned char)*q))
				q++;
		}
		if (q == p || (q == p + 1 && *p == '.') || *q == 'e' ||
		    *q == 'E' || *q == 'x' || *q == 'X')
			return -EINVAL;
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno == ERANGE || !isfinite(v) || v < 0)
			return -EINVAL;
		/* A space may come between a number and its unit ("90 s",
		 * taken before this parser was made strict: a config that
		 * has it must not stop starting after an upgrade). */
		p = end;
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "ms", 2) == 0) {
			unit = NS_PER_MS;
			rank = 1;
			p += 2;
		} else if (*p == 'd') {
			unit = 86400 * NS_PER_SEC;
			rank = 5;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * NS_PER_SEC;
			rank = 4;
			p++;
		} else if (*p == 'm') {
			unit = 60 * NS_PER_SEC;
			rank = 3;
			p++;
		} else if (*p == 's') {
			unit = NS_PER_SEC;
			rank = 2;
			p++;
		} else if (parts == 0 && only_spaces(p)) {
			unit = NS_PER_SEC; /* a bare number means seconds */
			rank = 0;
		} else {
			return -EINVAL;
		}
		if (rank >= last_rank)
			return -EINVAL;
		last_rank = rank;
		/* A unit ends its part: "1h30m" or "1h 30m", not "1hx". */
		if (*p != '\0' && !isspace((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		if (v * (double)unit > 9.0e18 - (double)total)
			return -ERANGE;
		total += (int64_t)llround(v * (double)unit);
		parts++;
	}
	if (parts == 0)
		return -EINVAL;
	*out_ns = total;
	return 0;
}

static int64_t
now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
util_frames_ns(int64_t frames, int rate_hz)
{
	return frames / rate_hz * NS_PER_SEC +
	       frames % rate_hz * NS_PER_SEC / rate_hz;
}

int64_t
util_now_mono_ns(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

int64_t
util_now_wall_ns(void)
{
	return now_ns(CLOCK_REALTIME);
}

void
util_sleep_until_mono_ns(int64_t deadline_ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(deadline_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline_ns % NS_PER_SEC);
	while (
	    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void
util_sleep_ns(int64_t ns)
{
	if (ns > 0)
		util_sleep_until_mono_ns(util_now_mono_ns() + ns);
}

uint64_t
util_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * UINT64_C(1099511628211);
	return h;
}

uint64_t
util_hash_str(uint64_t h, const char *text)
{
	if (text == NULL)
		text = "";
	return util_hash(h, text, strlen(text) + 1);
}

bool
util_str_same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

int64_t
util_round_ns(int64_t ns, int64_t unit)
{
	if (unit <= 0 || ns < 0 || ns > INT64_MAX - unit)
		return ns;
	return (ns + unit / 2) / unit * unit;
}

char *
util_format_iso8601(int64_t wall_ns, bool with_ms, char *buf, size_t len)
{
	time_t t;
	struct tm tm;
	char base[32];

	/* Round, never truncate: the 05:00:00 bulletin that went on air at
	 * 04:59:59.9996 is shown at 05:00:00. */
	wall_ns = util_round_ns(wall_ns, with_ms ? NS_PER_MS : NS_PER_SEC);
	t = (time_t)(wall_ns / NS_PER_SEC);

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ms)
		snprintf(buf, len, "%s.%03dZ", base,
		    (int)((wall_ns % NS_PER_SEC) / NS_PER_MS));
	else
		snprintf(buf, len, "%sZ", base);
	return buf;
}

char *
util_format_duration(int64_t ns, char *buf, size_t len)
{
	static const char *const unit[] = {"d", "h", "min", "s"};
	int64_t t, v[4];
	int first, last, k;
	size_t o;

	if (ns < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (ns == 0) {
		snprintf(buf, len, "0 s");
		return buf;
	}
	if (ns < NS_PER_SEC - NS_PER_MS / 2) {
		snprintf(buf, len, "%lld ms",
		    (long long)util_round_ns(ns, NS_PER_MS) / NS_PER_MS);
		return buf;
	}
	/* 59.96 s rounds to "1 min", never to "60.0 s". */
	t = util_round_ns(ns, NS_PER_SEC / 10) / (NS_PER_SEC / 10);
	if (t < 600) {
		if (t % 10 == 0)
			snprintf(buf, len, "%lld s", (long long)(t / 10));
		else
			snprintf(buf, len, "%lld.%lld s", (long long)(t / 10),
			    (long long)(t % 10));
		return buf;
	}
	t = util_round_ns(ns, NS_PER_SEC) / NS_PER_SEC;
	v[0] = t / 86400;
	v[1] = t / 3600 % 24;
	v[2] = t / 60 % 60;
	v[3] = t % 60;
	/* From the largest part that is not zero; seconds are noise over
	 * days; zero parts at the end are left out. */
	first = v[0] > 0 ? 0 : v[1] > 0 ? 1 : 2;
	last = first == 0 ? 2 : 3;
	while (last > first && v[last] == 0)
		last--;
	o = (size_t)snprintf(
	    buf, len, "%lld %s", (long long)v[first], unit[first]);
	for (k = first + 1; k <= last && o < len; k++)
		o += (size_t)snprintf(
		    buf + o, len - o, " %02lld %s", (long long)v[k], unit[k]);
	return buf;
}

void
util_thread_name(const char *fmt, ...)
{
	char name[16]; /* TASK_COMM_LEN, with the NUL */
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	n = strlen(name);
	/* Cut inside a multibyte character: drop all of it (one that just
	 * fit goes too; names are short anyway). */
	if (n == sizeof(name) - 1 && ((unsigned char)name[n - 1] & 0x80)) {
		while (n > 0 && ((unsigned char)name[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)name[n - 1] & 0xc0) == 0xc0)
			n--;
		name[n] = '\0';
	}
	(void)pthread_setname_np(pthread_self(), name);
}

size_t
util_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len > 0) {
		size_t c = n < len - 1 ? n : len - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is invalid. */
static size_t
utf8_seq_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
util_sanitize_text(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (len == 0)
		return;
	while (*s != '\0') {
		size_t n = utf8_seq_len(s);

		if (n == 0) {
			/* Invalid byte: U+FFFD. */
			if (o + 3 >= len)
				break;
			dst[o++] = (char)0xef;
			dst[o++] = (char)0xbf;
			dst[o++] = (char)0xbd;
			s++;
			continue;
		}
		if (n == 1 && (*s < 0x20 || *s == 0x7f)) {
			/* Tabs and newlines become spaces; other C0 go. */
			if (*s == '\t' || *s == '\n' || *s == '\r') {
				if (o + 1 >= len)
					break;
				dst[o++] = ' ';
			}
			s++;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
}

/* util_escape(), with backslashes doubled or left as they are. */
static char *
escape(char *dst, size_t len, const char *src, bool backslash)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (len == 0)
		return dst;
	while (*s != '\0') {
		size_t n = utf8_seq_len(s);
		char tmp[8];
		const char *piece = (const char *)s;
		size_t plen = n;

		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *s);
			piece = tmp;
			plen = 4;
			n = 1;
		} else if (*s == '\\' && backslash) {
			piece = "\\\\";
			plen = 2;
		}
		if (o + plen >= len) {
			if (len > 4) {
				size_t cut = o < len - 4 ? o : len - 4;

				/* Never end inside a UTF-8 sequence. */
				while (cut < o && cut > 0 &&
				       ((unsigned char)dst[cut] & 0xc0) == 0x80)
					cut--;
				memcpy(dst + cut, "...", 4);
			} else {
				dst[len - 1] = '\0';
			}
			return dst;
		}
		memcpy(dst + o, piece, plen);
		o += plen;
		s += n;
	}
	dst[o] = '\0';
	return dst;
}

char *
util_escape(char *dst, size_t len, const char *src)
{
	return escape(dst, len, src, true);
}

char *
util_escape_bytes(char *dst, size_t len, const char *src)
{
	return escape(dst, len, src, false);
}

uint32_t
util_random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	v = (uint32_t)util_now_mono_ns() ^ (uint32_t)getpid() * 2654435761u;
	return v;
}

const char *
util_http_url_rest(const char *url)
{
	if (strncmp(url, "http://", 7) == 0)
		return url + 7;
	if (strncmp(url, "https://", 8) == 0)
		return url + 8;
	return NULL;
}

bool
util_url_stray_at(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *p, *colon;

	if (auth == NULL)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	/* No '@' after the authority, or one in the path or query of a URL
	 * whose credentials came before it. */
	if (*end == '\0' || strchr(end, '@') == NULL ||
	    memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return false;
	p = auth;
	if (*p == '[') { /* an IPv6 literal */
		p = memchr(auth, ']', (size_t)(end - auth));
		if (p == NULL)
			return true;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon == NULL)
		return false; /* "host/a@b": an '@' in the path */
	/* host:PORT is a number; anything else there is a user name and the
	 * start of a password ("u:p/ss@host"). */
	for (p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9')
			return true;
	}
	return colon + 1 == end;
}

int
util_http_url_parse(const char *url, char *host, size_t hostlen, int *port,
    bool *tls, const char **path, const char **why)
{
	const char *rest = util_http_url_rest(url), *h, *hend, *p;
	const char *dummy;
	long v;
	char *end;
	size_t n;

	if (why == NULL)
		why = &dummy;
	if (rest == NULL) {
		*why = "is not an http:// or https:// URL";
		return -EINVAL;
	}
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			*why = "must not hold spaces or control characters";
			return -EINVAL;
		}
	}
	if (strpbrk(rest, "@?#") != NULL) {
		*why = "must not hold credentials, a query or a fragment";
		return -EINVAL;
	}
	*tls = rest != url + 7;
	*port = *tls ? 443 : 80;
	if (*rest == '[') {
		h = rest + 1;
		hend = strchr(h, ']');
		if (hend == NULL) {
			*why = "has an unclosed [IPv6 address]";
			return -EINVAL;
		}
		p = hend + 1;
	} else {
		h = rest;
		hend = h + strcspn(h, ":/");
		p = hend;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= hostlen) {
		*why = n == 0 ? "has no host" : "has a host name too long";
		return -EINVAL;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (*p == ':') {
		errno = 0;
		v = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || v < 1 || v > 65535 ||
		    (*end != '/' && *end != '\0')) {
			*why = "has a port outside 1..65535";
			return -EINVAL;
		}
		*port = (int)v;
		p = end;
	}
	if (*p != '/' || p[1] == '\0') {
		*why = "has no mount path (like /live.ogg)";
		return -EINVAL;
	}
	*path = p;
	return 0;
}

/* Whether c may continue a word or a host name's label: a letter, a
 * digit, '-', '_' or a byte of a UTF-8 sequence. */
static bool
word_byte(unsigned char c)
{
	return c >= 0x80 || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
	       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Whether the len bytes at p (inside src) stand alone: no word byte just
 * before or after them ("x" in "x.example" or "user:x@", not in
 * "nonexistent"). */
static bool
standalone(const char *src, const char *p, size_t len)
{
	if (p > src && word_byte((unsigned char)p[-1]))
		return false;
	return !word_byte((unsigned char)p[len]);
}

/* Whether the len bytes at p lie inside an occurrence in src of one of
 * names (NULL-terminated; NULL: none) longer than them. */
static bool
inside_name(
    const char *src, const char *p, size_t len, const char *const *names)
{
	size_t at = (size_t)(p - src);

	for (; names != NULL && *names != NULL; names++) {
		size_t nl = strlen(*names);

		if (nl <= len)
			continue;
		for (size_t q = at + len >= nl ? at + len - nl : 0; q <= at;
		     q++) {
			if (strncmp(src + q, *names, nl) == 0)
				return true;
		}
	}
	return false;
}

/* Whether the byte before p ends a word: p is src's start, a byte that
 * cannot continue a word stands there, or a percent escape ("%20", "%3A")
 * does, whose hex digits are not letters of the word after them. */
static bool
word_starts(const char *src, const char *p)
{
	if (p == src || !word_byte((unsigned char)p[-1]))
		return true;
	return p - src >= 3 && p[-3] == '%' && isxdigit((unsigned char)p[-2]) &&
	       isxdigit((unsigned char)p[-1]);
}

/* How many copies of secret (slen bytes) at p make up a whole word
 * ("pw", "pwpw" with the secret "pw"); 0 when they do not. */
static size_t
whole_word_copies(
    const char *src, const char *p, const char *secret, size_t slen)
{
	size_t n = 0;

	if (!word_starts(src, p))
		return 0;
	while (strncmp(p + n * slen, secret, slen) == 0)
		n++;
	return n > 0 && !word_byte((unsigned char)p[n * slen]) ? n : 0;
}

char *
util_redact_names(const char *src, const char *secret, const char *const *names)
{
	size_t slen, cap, o = 0;
	const char *p;
	char *out;

	if (src == NULL)
		return NULL;
	if (secret == NULL || *secret == '\0')
		return strdup(src);
	slen = strlen(secret);
	cap = strlen(src) + 4 + (strlen(src) / slen + 1) * 3;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	p = src;
	while (*p != '\0') {
		size_t n = 0;

		/* A short secret's letters hide in every other word ("a" in
		 * "failed"): blanking them there garbles the line and tells
		 * nothing, so only a word that is the secret goes. */
		if (slen < UTIL_REDACT_WORDS_BELOW)
			n = whole_word_copies(src, p, secret, slen);
		else if (strncmp(p, secret, slen) == 0 &&
			 (standalone(src, p, slen) ||
			     !inside_name(src, p, slen, names)))
			n = 1;
		if (n > 0) {
			for (size_t i = 0; i < n; i++) {
				memcpy(out + o, "***", 3);
				o += 3;
			}
			p += n * slen;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

char *
util_redact(const char *src, const char *secret)
{
	return util_redact_names(src, secret, NULL);
}

int
util_open_regular(const char *path)
{
	struct stat st;
	int fd, flags;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

const char *
util_open_strerror(int rc)
{
	if (rc == -EINVAL)
		return "not a regular file (a FIFO, socket or device cannot "
		       "be read here)";
	return strerror(rc < 0 ? -rc : rc);
}

int
util_read_small_file(const char *path, size_t max_bytes, char **out)
{
	int fd, rc = 0;
	char *buf = NULL;
	size_t used = 0;

	fd = util_open_regular(path);
	if (fd < 0)
		return fd;
	buf = malloc(max_bytes + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, max_bytes + 1 - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max_bytes) {
			rc = -EFBIG;
			goto out;
		}
	}
	buf[used] = '\0';
	if (used > 0 && buf[used - 1] == '\n')
		buf[--used] = '\0';
	if (used > 0 && buf[used - 1] == '\r')
		buf[--used] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

double
util_dbfs(double amplitude)
{
	if (amplitude <= 1e-6)
		return -120.0;
	return 20.0 * log10(amplitude);
}

size_t
util_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (lb >= RELAY_ARRAY_LEN(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

int
util_try_realtime(int max_prio)
{
	struct sched_param sp = {0};
	struct rlimit rl;
	int prio, rc;

	if (getrlimit(RLIMIT_RTPRIO, &rl) != 0 || rl.rlim_cur == 0)
		return 0;
	prio = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)max_prio
		   ? max_prio
		   : (int)rl.rlim_cur;
	sp.sched_priority = prio;
	rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	return rc == 0 ? prio : -rc;
}

void
util_eventfd_signal(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void
util_eventfd_drain(int fd)
{
	uint64_t count;

	while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}

bool
util_eventfd_wait_until(int fd, int64_t deadline_ns)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int64_t left_ns = deadline_ns - util_now_mono_ns();
	struct timespec ts;

	if (left_ns <= 0)
		return false;
	ts.tv_sec = (time_t)(left_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(left_ns % NS_PER_SEC);
	/* ppoll() for a nanosecond timeout; EINTR is a wait that ended. */
	if (ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & POLLIN) != 0)
		util_eventfd_drain(fd);
	return true;
}
