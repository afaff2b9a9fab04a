/* SPDX-License-Identifier: MIT */
/*
 * Plain HTTP/1.0 GET to an IP literal: see http_lite.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_lite.h"

/* Longest header block accepted; Icecast sends under 1 kB. */
#define HTTP_LITE_HEADER_MAX 16384
/* The cancel flag is looked at least this often. */
#define HTTP_LITE_SLICE_MS 100

struct target {
	char host[64]; /* the address, without brackets */
	char authority[80];
	const char *path; /* into the URL: "/" when it had none */
	int family;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa;
	socklen_t sa_len;
};

/* Splits "http://ADDR[:PORT]/path?query"; false when the URL is not one
 * this client serves (a host name, credentials, https, bad characters). */
static bool
parse_url(const char *url, struct target *t)
{
	const char *a, *end, *h, *he, *p;
	size_t n;
	long port = 80;
	char *pe;

	memset(t, 0, sizeof(*t));
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return false;
	a = url + 7;
	end = a + strcspn(a, "/?#");
	if (end == a || end - a >= (long)sizeof(t->authority) ||
	    memchr(a, '@', (size_t)(end - a)) != NULL)
		return false;
	if (*end == '#')
		return false;
	/* No spaces or control characters: they would change the request. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	if (*a == '[') {
		h = a + 1;
		he = memchr(h, ']', (size_t)(end - h));
		if (he == NULL)
			return false;
		p = he + 1;
		t->family = AF_INET6;
	} else {
		h = a;
		he = memchr(a, ':', (size_t)(end - a));
		if (he == NULL)
			he = end;
		p = he;
		t->family = AF_INET;
	}
	if (p < end) {
		if (*p != ':' || p + 1 == end)
			return false;
		errno = 0;
		port = strtol(p + 1, &pe, 10);
		if (errno != 0 || pe != end || port < 1 || port > 65535 ||
		    p[1] < '0' || p[1] > '9')
			return false;
	}
	n = (size_t)(he - h);
	if (n == 0 || n >= sizeof(t->host))
		return false;
	memcpy(t->host, h, n);
	t->host[n] = '\0';
	if (t->family == AF_INET) {
		t->sa.v4.sin_family = AF_INET;
		t->sa.v4.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, t->host, &t->sa.v4.sin_addr) != 1)
			return false;
		t->sa_len = sizeof(t->sa.v4);
	} else {
		t->sa.v6.sin6_family = AF_INET6;
		t->sa.v6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, t->host, &t->sa.v6.sin6_addr) != 1)
			return false;
		t->sa_len = sizeof(t->sa.v6);
	}
	memcpy(t->authority, a, (size_t)(end - a));
	t->authority[end - a] = '\0';
	t->path = *end == '/' ? end : NULL; /* NULL: "/" + end */
	return true;
}

bool
http_lite_handles(const char *url)
{
	struct target t;

	return parse_url(url, &t);
}

/* Base64 of "user:password" into out (RFC 4648, padded). false when it
 * does not fit. */
static bool
basic_auth(const char *user, const char *password, char *out, size_t outlen)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char plain[512];
	size_t n, i, o = 0;
	int len;

	len = snprintf(plain, sizeof(plain), "%s:%s", user,
	    password != NULL ? password : "");
	if (len < 0 || (size_t)len >= sizeof(plain))
		return false;
	n = (size_t)len;
	if ((n + 2) / 3 * 4 + 1 > outlen)
		return false;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(unsigned char)plain[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)(unsigned char)plain[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)plain[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	explicit_bzero(plain, sizeof(plain));
	return true;
}

/* Waits for events on fd until the deadline, looking at the cancel flag
 * every slice. 0, -ETIMEDOUT, -ECANCELED or a poll errno. */
static int
wait_fd(int fd, short events, int64_t deadline, const atomic_bool *cancel)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left;
	int ms, rc;

	for (;;) {
		if (cancel != NULL && atomic_load(cancel))
			return -ECANCELED;
		left = deadline - util_now_mono_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		ms = (int)((left + NS_PER_MS - 1) / NS_PER_MS);
		if (ms > HTTP_LITE_SLICE_MS)
			ms = HTTP_LITE_SLICE_MS;
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/* Fills err for a failed step; returns rc. */
static int
fail(const struct http_lite_request *rq, int rc, const char *what, char *err,
    size_t errlen)
{
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "%s: no answer in time: %s timed out",
		    rq->log_url, what);
	else if (rc == -ECANCELED)
		snprintf(err, errlen, "%s: cancelled", rq->log_url);
	else if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", rq->log_url);
	else if (rc == -EFBIG)
		snprintf(err, errlen, "%s: status larger than %zu bytes",
		    rq->log_url, rq->max_body);
	else
		snprintf(err, errlen, "%s: %s: %s", rq->log_url, what,
		    strerror(-rc));
	return rc;
}

static int
connect_to(const struct http_lite_request *rq, const struct target *t,
    int64_t deadline, char *err, size_t errlen)
{
	socklen_t sl = sizeof(int);
	int fd, rc, soerr = 0;

	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(rq, -errno, "socket", err, errlen);
	if (connect(fd, (const struct sockaddr *)&t->sa, t->sa_len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto refused;
	}
	rc = wait_fd(fd, POLLOUT, deadline, rq->cancel);
	if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (rc == 0 && soerr == 0)
		return fd;
	if (rc == 0)
		rc = -soerr;
	if (rc == -ETIMEDOUT || rc == -ECANCELED) {
		close(fd);
		return fail(rq, rc, "connect", err, errlen);
	}
refused:
	close(fd);
	snprintf(
	    err, errlen, "%s: cannot connect: %s", rq->log_url, strerror(-rc));
	return rc;
}

static int
send_all(int fd, const char *buf, size_t len, int64_t deadline,
    const atomic_bool *cancel)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = wait_fd(fd, POLLOUT, deadline, cancel);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Appends n bytes to a growing buffer, NUL-terminated. */
static int
grow_append(char **buf, size_t *len, size_t *cap, const char *src, size_t n)
{
	size_t c = *cap > 0 ? *cap : 4096;
	char *p;

	while (c < *len + n + 1)
		c *= 2;
	if (c != *cap) {
		p = realloc(*buf, c);
		if (p == NULL)
			return -ENOMEM;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, src, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* A header line "Name: value" (no line end): its value when the name is
 * name, trimmed; NULL otherwise. *vlen gets the value's length. */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return NULL;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

/* Parses the status line and headers in hdr[0..hlen). -EPROTO when it
 * is not an HTTP/1.x answer we can read. *clen is -1 without
 * Content-Length. */
static int
parse_head(const struct http_lite_request *rq, const char *hdr, size_t hlen,
    struct http_lite_reply *out, long long *clen)
{
	const char *line = hdr, *nl, *v;
	size_t len, vlen;
	char num[24];
	char *end;
	long long cl;

	*clen = -1;
	if (hlen < 12 || strncmp(hdr, "HTTP/1.", 7) != 0 || hdr[8] != ' ' ||
	    hdr[9] < '1' || hdr[9] > '9' || hdr[10] < '0' || hdr[10] > '9' ||
	    hdr[11] < '0' || hdr[11] > '9')
		return -EPROTO;
	out->code =
	    (hdr[9] - '0') * 100 + (hdr[10] - '0') * 10 + (hdr[11] - '0');
	for (;;) {
		nl = memchr(line, '\n', (size_t)(hdr + hlen - line));
		if (nl == NULL)
			break;
		line = nl + 1;
		nl = memchr(line, '\n', (size_t)(hdr + hlen - line));
		len = (size_t)((nl != NULL ? nl : hdr + hlen) - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		if ((v = header_value(line, len, "Transfer-Encoding", &vlen)) !=
			NULL &&
		    !(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
			return -EPROTO;
		if ((v = header_value(line, len, "Content-Length", &vlen)) !=
		    NULL) {
			if (vlen == 0 || vlen >= sizeof(num))
				return -EPROTO;
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			errno = 0;
			cl = strtoll(num, &end, 10);
			if (errno != 0 || *end != '\0' || cl < 0 ||
			    num[0] < '0' || num[0] > '9')
				return -EPROTO;
			*clen = cl;
		}
		if (rq->peek_header != NULL && !out->peek_found &&
		    (v = header_value(line, len, rq->peek_header, &vlen)) !=
			NULL) {
			if (vlen >= sizeof(out->peek_value))
				vlen = sizeof(out->peek_value) - 1;
			memcpy(out->peek_value, v, vlen);
			out->peek_value[vlen] = '\0';
			out->peek_found = true;
		}
	}
	return 0;
}

/* The end of the header block in buf (the index after its blank line),
 * or 0 while it is incomplete. */
static size_t
head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
http_lite_get(const struct http_lite_request *rq, struct http_lite_reply *out,
    char *err, size_t errlen)
{
	struct target t;
	char req[6144], auth[700], chunk[8192];
	char *buf = NULL;
	size_t len = 0, cap = 0, hend = 0;
	long long clen = -1;
	int64_t deadline;
	ssize_t n;
	int fd, rc, w;

	memset(out, 0, sizeof(*out));
	if (!parse_url(rq->url, &t)) {
		snprintf(err, errlen,
		    "%s: not a plain http:// URL to an "
		    "address",
		    rq->log_url);
		return -EINVAL;
	}
	auth[0] = '\0';
	if (rq->user != NULL &&
	    !basic_auth(rq->user, rq->password, auth, sizeof(auth))) {
		snprintf(err, errlen, "%s: credentials too long", rq->log_url);
		return -EINVAL;
	}
	w = snprintf(req, sizeof(req),
	    "GET %s%s HTTP/1.0\r\nHost: %s\r\n%s%s%sAccept: */*\r\n"
	    "%s%s%sConnection: close\r\n\r\n",
	    t.path != NULL ? t.path : "/",
	    t.path != NULL ? "" : rq->url + 7 + strlen(t.authority),
	    t.authority, rq->user_agent != NULL ? "User-Agent: " : "",
	    rq->user_agent != NULL ? rq->user_agent : "",
	    rq->user_agent != NULL ? "\r\n" : "",
	    auth[0] != '\0' ? "Authorization: Basic " : "", auth,
	    auth[0] != '\0' ? "\r\n" : "");
	explicit_bzero(auth, sizeof(auth));
	if (w < 0 || (size_t)w >= sizeof(req)) {
		explicit_bzero(req, sizeof(req));
		snprintf(err, errlen, "%s: request too long", rq->log_url);
		return -EINVAL;
	}
	deadline = util_now_mono_ns() +
		   (rq->timeout_ns > NS_PER_MS ? rq->timeout_ns : NS_PER_MS);
	fd = connect_to(rq, &t, deadline, err, errlen);
	if (fd < 0) {
		explicit_bzero(req, sizeof(req));
		return fd;
	}
	rc = send_all(fd, req, (size_t)w, deadline, rq->cancel);
	explicit_bzero(req, sizeof(req));
	if (rc < 0) {
		fail(rq, rc, "send", err, errlen);
		goto out;
	}
	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wait_fd(fd, POLLIN, deadline, rq->cancel);
			if (rc < 0) {
				fail(rq, rc, "receive", err, errlen);
				goto out;
			}
			continue;
		}
		if (n < 0) {
			rc = fail(rq, -errno, "receive", err, errlen);
			goto out;
		}
		if (n == 0)
			break; /* the server closed: the end of the answer */
		rc = grow_append(&buf, &len, &cap, chunk, (size_t)n);
		if (rc < 0) {
			fail(rq, rc, "receive", err, errlen);
			goto out;
		}
		if (hend == 0) {
			hend = head_end(buf, len);
			if (hend == 0) {
				if (len > HTTP_LITE_HEADER_MAX) {
					rc = -EPROTO;
					snprintf(err, errlen,
					    "%s: headers too long",
					    rq->log_url);
					goto out;
				}
				continue;
			}
			rc = parse_head(rq, buf, hend, out, &clen);
			if (rc < 0) {
				snprintf(err, errlen,
				    "%s: not an HTTP/1 answer we can read",
				    rq->log_url);
				goto out;
			}
			if (rq->headers_only)
				break;
			if (clen > (long long)rq->max_body) {
				rc = fail(rq, -EFBIG, "", err, errlen);
				goto out;
			}
		}
		if (len - hend > rq->max_body) {
			rc = fail(rq, -EFBIG, "", err, errlen);
			goto out;
		}
		if (clen >= 0 && len - hend >= (size_t)clen)
			break;
	}
	if (hend == 0) {
		rc = -EPROTO;
		snprintf(err, errlen, "%s: %s", rq->log_url,
		    len == 0 ? "empty reply from server"
			     : "not an HTTP/1 answer we can read");
		goto out;
	}
	if (!rq->headers_only && clen >= 0 && len - hend < (size_t)clen) {
		rc = -EIO;
		snprintf(err, errlen,
		    "%s: the answer ended early (%zu of %lld "
		    "bytes)",
		    rq->log_url, len - hend, clen);
		goto out;
	}
	if (!rq->headers_only) {
		if (clen >= 0)
			len = hend + (size_t)clen; /* nothing past it */
		if (len > hend) {
			memmove(buf, buf + hend, len - hend);
			out->len = len - hend;
			buf[out->len] = '\0';
			out->body = buf;
			buf = NULL;
		}
	}
	rc = 0;
out:
	close(fd);
	free(buf);
	if (rc < 0) {
		free(out->body);
		out->body = NULL;
		out->len = 0;
	}
	return rc;
}
