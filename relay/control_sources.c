/* SPDX-License-Identifier: MIT */
/*
 * Where control-API segments may come from: file and playlist paths are
 * confined to [status] media_dirs (real paths, links resolved; one
 * refusal text whatever exists), stream URLs to [status] feed_hosts
 * (default: anything but loopback and link-local, names resolved). The
 * lists are a copy swapped whole by control_configure() and kept alive by
 * a reference while a request uses it. See control.h.
 *
 * Threads: control_configure() from the status server's start and
 * reconfigure; the checks on its connection threads.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

/* Copies the normalised form of path into out: no "//", "." or "..",
 * no trailing slash; ".." at the root stays at the root. Purely textual:
 * it touches no file. path must be absolute. */
static void
normalise_path(const char *path, char *out, size_t len)
{
	size_t o = 0, n;
	const char *p = path;

	if (len < 2)
		return;
	out[0] = '\0';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
		} else if (o + 1 + n < len) {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
			out[o] = '\0';
		} else {
			/* Too long: an empty result matches no directory. */
			out[0] = '\0';
			return;
		}
		p += n;
	}
	if (o == 0)
		util_strlcpy(out, "/", len);
}

/* True when path (normalised, absolute) lies below dir (the same). */
static bool
path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	       path[n + 1] != '\0';
}

/* dir as an absolute, normalised path (relative to the working
 * directory, as relay opens it), into out. */
static void
absolute_dir(const char *dir, char *out, size_t len)
{
	char cwd[PATH_MAX], joined[2 * PATH_MAX + 2];

	if (dir[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
		normalise_path(dir, out, len);
		return;
	}
	snprintf(joined, sizeof(joined), "%s/%s", cwd, dir);
	normalise_path(joined, out, len);
}

int
control_check_path(const struct config_list *dirs, const char *path, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char want[PATH_MAX], dir[PATH_MAX], real[PATH_MAX], rdir[PATH_MAX];
	char joined[2 * PATH_MAX + 2];
	struct stat st;
	bool lexical = false;
	size_t i;

	if (dirs == NULL || dirs->n == 0) {
		snprintf(err, errlen,
		    "path: file and playlist segments are off for the API "
		    "(list the directories they may come from in [status] "
		    "media_dirs)");
		return -EACCES;
	}
	/* A relative path is taken in the first directory. */
	if (path[0] != '/') {
		absolute_dir(dirs->item[0], dir, sizeof(dir));
		snprintf(joined, sizeof(joined), "%s/%s", dir, path);
	} else
		util_strlcpy(joined, path, sizeof(joined));
	normalise_path(joined, want, sizeof(want));
	/* First by the text alone, so that nothing outside the directories
	 * is even looked at; then the real path (symbolic links). Every
	 * refusal has the same text: it must not tell whether a file
	 * exists outside them. */
	for (i = 0; i < dirs->n && !lexical; i++) {
		absolute_dir(dirs->item[i], dir, sizeof(dir));
		lexical = path_below(want, dir);
	}
	if (!lexical || realpath(want, real) == NULL || stat(real, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		goto refuse;
	for (i = 0; i < dirs->n; i++) {
		absolute_dir(dirs->item[i], dir, sizeof(dir));
		if (realpath(dir, rdir) != NULL && path_below(real, rdir)) {
			if (strlen(real) >= outlen)
				goto refuse;
			util_strlcpy(out, real, outlen);
			return 0;
		}
	}
refuse:
	/* Never cut (a cut could end in part of the token, which the audit
	 * line's redaction blanks only whole): whole or not at all. */
	if (strlen(path) <= 300)
		snprintf(err, errlen,
		    "path: \"%s\" is not a file in the media directories "
		    "([status] media_dirs)",
		    path);
	else
		snprintf(err, errlen,
		    "path: %zu bytes, not a file in the media directories "
		    "([status] media_dirs)",
		    strlen(path));
	return -EACCES;
}

/* 127.0.0.0/8, 0.0.0.0/8 (0.0.0.0 reaches the local host on Linux) and
 * 169.254.0.0/16 (link-local, where cloud metadata services live). */
static bool
ipv4_local(const unsigned char *a)
{
	return a[0] == 127 || a[0] == 0 || (a[0] == 169 && a[1] == 254);
}

/* ::1, ::, fe80::/10, and IPv4-mapped or -compatible local addresses. */
static bool
ipv6_local(const unsigned char *a)
{
	static const unsigned char zero[12],
	    mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	if (memcmp(a, zero, 12) == 0 || memcmp(a, mapped, 12) == 0)
		return ipv4_local(a + 12);
	return false;
}

static bool
sockaddr_local(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ipv4_local((const unsigned char *)&(
		    (const struct sockaddr_in *)(const void *)sa)
				      ->sin_addr);
	if (sa->sa_family == AF_INET6)
		return ipv6_local(
		    ((const struct sockaddr_in6 *)(const void *)sa)
			->sin6_addr.s6_addr);
	return true;
}

/* The host of an http(s) URL, lowercased, without brackets or a final
 * dot, into out. false when there is none. */
static bool
url_host(const char *url, char *out, size_t len)
{
	const char *p = util_http_url_rest(url), *end, *at, *h;
	size_t n, i;

	if (p == NULL)
		return false;
	end = p + strcspn(p, "/?#");
	/* user:password@ before the host */
	for (at = NULL, h = p; h < end; h++) {
		if (*h == '@')
			at = h;
	}
	if (at != NULL)
		p = at + 1;
	if (*p == '[') {
		h = memchr(p, ']', (size_t)(end - p));
		if (h == NULL)
			return false;
		p++;
		n = (size_t)(h - p);
	} else {
		h = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((h != NULL ? h : end) - p);
	}
	if (n == 0 || n >= len)
		return false;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return true;
}

/* A host for a message: whole, or when longer than 100 bytes only its
 * length (never cut: a cut could end in part of the token, which the
 * audit line's redaction blanks only whole). */
static const char *
shown_host(const char *host, char *buf, size_t len)
{
	if (strlen(host) <= 100)
		return host;
	snprintf(buf, len, "(a host name of %zu bytes)", strlen(host));
	return buf;
}

int
control_check_feed(const struct config_list *hosts, bool hosts_set,
    const char *url, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	unsigned char a6[16];
	struct in_addr a4;
	char host[256], item[256], shown[48];
	size_t i, n;
	bool local = false;

	if (!url_host(url, host, sizeof(host))) {
		snprintf(err, errlen, "url: no host in it");
		return -EINVAL;
	}
	if (hosts_set) {
		for (i = 0; hosts != NULL && i < hosts->n; i++) {
			const char *h = hosts->item[i];

			n = strlen(h);
			if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
				h++;
				n -= 2;
			}
			if (n < sizeof(item)) {
				memcpy(item, h, n);
				item[n] = '\0';
				if (n > 1 && item[n - 1] == '.')
					item[n - 1] = '\0';
				if (strcasecmp(item, host) == 0)
					return 0;
			}
		}
		if (hosts == NULL || hosts->n == 0)
			snprintf(err, errlen,
			    "url: stream segments are off for the API "
			    "([status] feed_hosts = none)");
		else
			snprintf(err, errlen,
			    "url: host %s is not in [status] feed_hosts",
			    shown_host(host, shown, sizeof(shown)));
		return -EACCES;
	}
	/* inet_aton() takes every form a URL library does: 127.1,
	 * 2130706433, 0x7f.1. */
	if (strcmp(host, "localhost") == 0 ||
	    (strlen(host) > 10 &&
		strcmp(host + strlen(host) - 10, ".localhost") == 0))
		local = true;
	else if (inet_aton(host, &a4) != 0)
		local = ipv4_local((const unsigned char *)&a4);
	else if (inet_pton(AF_INET6, host, a6) == 1)
		local = ipv6_local(a6);
	else {
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &res) != 0) {
			snprintf(err, errlen,
			    "url: cannot resolve %s (list it in [status] "
			    "feed_hosts to skip this check)",
			    shown_host(host, shown, sizeof(shown)));
			return -EACCES;
		}
		for (ai = res; ai != NULL && !local; ai = ai->ai_next)
			local = sockaddr_local(ai->ai_addr);
		freeaddrinfo(res);
	}
	if (local) {
		snprintf(err, errlen,
		    "url: %s is a loopback or link-local address (list it "
		    "in [status] feed_hosts to allow it)",
		    shown_host(host, shown, sizeof(shown)));
		return -EACCES;
	}
	return 0;
}

/* What control_handle() checks requests against: a copy of the [status]
 * lists, swapped whole by control_configure() and kept alive by a
 * reference while a request uses it. */
struct control_policy {
	int refs; /* under policy_lock */
	struct config_list media_dirs;
	struct config_list feed_hosts;
	bool feed_hosts_set;
};

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct control_policy *policy;

static void
policy_unref(struct control_policy *p)
{
	size_t i;
	bool last;

	if (p == NULL)
		return;
	pthread_mutex_lock(&policy_lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&policy_lock);
	if (!last)
		return;
	for (i = 0; i < p->media_dirs.n; i++)
		free(p->media_dirs.item[i]);
	for (i = 0; i < p->feed_hosts.n; i++)
		free(p->feed_hosts.item[i]);
	free(p);
}

static struct control_policy *
policy_get(void)
{
	struct control_policy *p;

	pthread_mutex_lock(&policy_lock);
	p = policy;
	if (p != NULL)
		p->refs++;
	pthread_mutex_unlock(&policy_lock);
	return p;
}

static bool
list_copy(struct config_list *dst, const struct config_list *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		dst->item[i] = strdup(src->item[i]);
		if (dst->item[i] == NULL)
			return false;
		dst->n = i + 1;
	}
	return true;
}

int
control_configure(const struct config *cfg)
{
	struct control_policy *p, *old;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->refs = 1;
	if (cfg != NULL) {
		p->feed_hosts_set = cfg->status.feed_hosts_set;
		if (!list_copy(&p->media_dirs, &cfg->status.media_dirs) ||
		    !list_copy(&p->feed_hosts, &cfg->status.feed_hosts)) {
			policy_unref(p);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&policy_lock);
	old = policy;
	policy = p;
	pthread_mutex_unlock(&policy_lock);
	policy_unref(old);
	return 0;
}

/* Checks a parsed segment's path or URL against the policy; a path is
 * replaced by its real path, which is what the main thread opens. */
int
control_check_sources(struct control_request *req, char *err, size_t errlen)
{
	struct control_policy *p = policy_get();
	char real[PATH_MAX];
	int rc = 0;

	if (req->what != CONTROL_PLAY)
		goto out;
	switch (req->play.kind) {
	case SCHEDULE_SOURCE_FILE:
	case SCHEDULE_SOURCE_PLAYLIST:
		rc = control_check_path(p != NULL ? &p->media_dirs : NULL,
		    req->path, real, sizeof(real), err, errlen);
		if (rc == 0)
			util_strlcpy(req->path, real, sizeof(req->path));
		break;
	case SCHEDULE_SOURCE_STREAM:
		rc = control_check_feed(p != NULL ? &p->feed_hosts : NULL,
		    p != NULL && p->feed_hosts_set, req->url, err, errlen);
		break;
	case SCHEDULE_SOURCE_LIVE:
	case SCHEDULE_SOURCE_TONE:
	case SCHEDULE_SOURCE_SILENCE:
		break;
	}
out:
	policy_unref(p);
	return rc;
}

void
control_sources_release(void)
{
	struct control_policy *old;

	pthread_mutex_lock(&policy_lock);
	old = policy;
	policy = NULL;
	pthread_mutex_unlock(&policy_lock);
	policy_unref(old);
}
