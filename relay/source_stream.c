/* SPDX-License-Identifier: MIT */
/*
 * The HTTP(S) Ogg Vorbis feed behind stream segment sources: libcurl
 * fetches, libvorbisfile decodes, and the frames come out mixed and
 * resampled to the programme format. See source_stream.h.
 *
 * DESIGN
 * One thread does everything. vorbisfile pulls bytes through
 * ov_read_cb(), and that callback drives a curl multi handle (perform,
 * then poll for at most STREAM_POLL_MS) until curl's write callback has
 * put bytes into a fixed receive buffer, the transfer ends, the feed
 * stalls, or the stop flag is set. No call waits longer than one poll
 * slice, so source_close() returns quickly even while curl connects or a
 * server accepts and then says nothing; no second thread or pipe is
 * needed. When the receive buffer is full the write callback pauses the
 * transfer (CURL_WRITEFUNC_PAUSE keeps that chunk inside curl) and the
 * read callback resumes it once there is room for curl's largest write;
 * TCP flow control then holds the server back.
 *
 * The stall watchdog counts only time spent waiting for bytes we asked
 * for. When the source's ring is full the feeder does not read at all,
 * and a quiet socket then is our doing, not the server's; curl's own
 * low-speed limit cannot tell the two apart.
 *
 * The HTTP status comes from the header callback: at the end of a header
 * block with a status >= 400 the transfer is aborted and the message is
 * the server's status line ("404 Not Found"). Up to 5 redirects are
 * followed, over http and https only.
 *
 * Links: on an unseekable stream vorbisfile reads a new link's headers by
 * itself and bumps the link number that ov_read_float() reports. At each
 * link the rate and channel count are checked again; when they changed
 * the resampler and buffers are rebuilt, which is the only allocation
 * after source_stream_open(). What the old resampler still holds (up to
 * ~20 ms with libsoxr, convert.c) is flushed and read first; the new
 * link's first decoded block waits for it (carry). At the end of the feed
 * the resampler is flushed the same way, so the feed's last milliseconds
 * play too.
 *
 * Threads: everything here runs on the source's feeder thread; the stop
 * flag is the only shared state.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <vorbis/vorbisfile.h>

#include "convert.h"
#include "dynlib.h"
#include "log.h"
#include "source_stream.h"
#include "tls.h"
#include "util.h"

/* Longest single wait inside the read callback: bounds how late a stop is
 * noticed. */
#define STREAM_POLL_MS 20
/* Receive buffer: four of curl's largest writes. */
#define STREAM_RX_BYTES (4 * CURL_MAX_WRITE_SIZE)
/* Frames asked of ov_read_float() at a time (one long block or less). */
#define STREAM_CHUNK_FRAMES 1024
#define STREAM_MAX_REDIRS 5L
/* Bytes vorbisfile may read looking for the first Vorbis headers before
 * the feed counts as "not Ogg Vorbis" (an endless MP3 or Opus mount). */
#define STREAM_OPEN_MAX_BYTES (256 * 1024)

/* Why the transport stopped delivering bytes. */
enum stream_end {
	STREAM_END_NONE = 0,
	STREAM_END_EOF,	   /* the server closed the body normally */
	STREAM_END_STOP,   /* *stop was set */
	STREAM_END_HTTP,   /* an HTTP status that is not audio */
	STREAM_END_STALL,  /* no bytes for SOURCE_STREAM_STALL_NS */
	STREAM_END_CURL,   /* connect, TLS, cut-off or other curl error */
	STREAM_END_NOTOGG, /* no Vorbis headers in the first bytes */
	STREAM_END_DECODE, /* vorbisfile or the resampler failed */
};

struct source_stream {
	char *url;   /* as given, for curl */
	char *shown; /* without user:password@, for messages */
	const char *mod;
	const atomic_bool *stop;
	int rate_hz;
	int channels;
	bool https;	 /* the URL asked for TLS: redirects must keep it */
	char trust[600]; /* whom https trusts, for messages */
	char client_cert[256]; /* the one we present, or "none" */

	CURLM *multi;
	CURL *easy;
	bool easy_added;
	char curl_err[CURL_ERROR_SIZE];
	long status_code;      /* of the last status line */
	char status_text[96];  /* "404 Not Found" */
	char content_type[96]; /* "" when the server sent none */
	unsigned char *rx;     /* STREAM_RX_BYTES */
	size_t rx_off;
	size_t rx_len;
	bool paused;
	bool transfer_done;
	CURLcode result; /* once transfer_done */
	int64_t last_rx_ns;
	uint64_t consumed_bytes; /* handed to vorbisfile */

	enum stream_end end;
	char why[512]; /* set once, with end */

	OggVorbis_File vf;
	bool vf_open;
	int link;	  /* as ov_read_float() reports it; -1 before */
	long src_rate_hz; /* of the current link */
	int src_channels;
	struct convert_mix mix_plan; /* src_channels -> channels */
	struct resampler *rs;	     /* NULL while src_rate_hz == rate_hz */
	/* A new link's first block, decoded but held back while what the
	 * old link's resampler held is read (ov_read_float()'s buffer stays
	 * valid until the next call). */
	bool carry;
	float **carry_pcm;
	long carry_got;
	int carry_link;
	float *ileave; /* CHUNK frames, ileave_channels wide */
	int ileave_channels;
	float *mix; /* CHUNK frames, channels wide */
	float *out; /* out_cap_frames, channels wide */
	size_t out_cap_frames;
	const float *pending; /* mix or out */
	size_t pending_frames;
	size_t pending_off_frames;
	bool hole;	  /* ov_read_float() reported OV_HOLE */
	bool warned_hole; /* a real gap was logged (once per feed) */
};

/* Records why the feed stopped; the first reason wins. */
static void __attribute__((format(printf, 3, 4)))
stream_end(struct source_stream *st, enum stream_end end, const char *fmt, ...)
{
	va_list ap;

	if (st->end != STREAM_END_NONE)
		return;
	st->end = end;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

static bool
stopping(const struct source_stream *st)
{
	return atomic_load_explicit(st->stop, memory_order_relaxed);
}

/* The URL without "user:password@", so that messages and logs never show
 * credentials. Owned; NULL on OOM. */
static char *
url_without_credentials(const char *url)
{
	const char *host, *end, *at = NULL, *p;
	size_t scheme_len;
	char *out;

	host = strstr(url, "://");
	if (host == NULL)
		return strdup(url);
	host += 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return strdup(url);
	scheme_len = (size_t)(host - url);
	out = malloc(scheme_len + strlen(at + 1) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, url, scheme_len);
	strcpy(out + scheme_len, at + 1);
	return out;
}

/* Standard reason phrases, for HTTP/2 status lines that carry none. */
static const char *
reason_phrase(long code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 410:
		return "Gone";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "HTTP error";
	}
}

/* Copies header bytes (not terminated) into dst, trimming blanks and
 * CR/LF and replacing anything but printable ASCII with '?'. */
static void
copy_header_text(char *dst, size_t len, const char *src, size_t n)
{
	size_t i = 0, j = 0;

	while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n' ||
			    src[n - 1] == ' ' || src[n - 1] == '\t'))
		n--;
	while (i < n && (src[i] == ' ' || src[i] == '\t'))
		i++;
	for (; i < n && j + 1 < len; i++, j++)
		dst[j] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[j] = '\0';
}

/* "HTTP/1.1 404 Not Found" -> status_code 404, status_text "404 Not
 * Found". Also takes "ICY 200 OK". */
static void
parse_status_line(struct source_stream *st, const char *line, size_t n)
{
	size_t i = 0;
	long code = 0;
	int used;

	while (i < n && line[i] != ' ')
		i++;
	while (i < n && line[i] == ' ')
		i++;
	while (i < n && line[i] >= '0' && line[i] <= '9' && code < 1000)
		code = code * 10 + (line[i++] - '0');
	st->status_code = code;
	used = snprintf(st->status_text, sizeof(st->status_text), "%ld ", code);
	if (used < 0 || (size_t)used >= sizeof(st->status_text))
		return;
	copy_header_text(st->status_text + used,
	    sizeof(st->status_text) - (size_t)used, line + i, n - i);
	if (st->status_text[used] == '\0')
		util_strlcpy(st->status_text + used, reason_phrase(code),
		    sizeof(st->status_text) - (size_t)used);
}

/* Runs on: the feeder thread, inside curl. Returning anything but the
 * length aborts the transfer (CURLE_WRITE_ERROR). */
static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct source_stream *st = arg;
	size_t n = size * nitems;

	st->last_rx_ns = util_now_mono_ns();
	if (stopping(st))
		return 0;
	if ((n >= 5 && memcmp(data, "HTTP/", 5) == 0) ||
	    (n >= 4 && memcmp(data, "ICY ", 4) == 0)) {
		parse_status_line(st, data, n);
		st->content_type[0] = '\0';
	} else if (n > 13 && strncasecmp(data, "content-type:", 13) == 0) {
		copy_header_text(st->content_type, sizeof(st->content_type),
		    data + 13, n - 13);
	} else if (n > 0 && (data[0] == '\r' || data[0] == '\n')) {
		/* End of a header block: fail fast on an error status, so
		 * that an error page is never fed to the decoder. */
		if (st->status_code >= 400) {
			stream_end(st, STREAM_END_HTTP, "%s: %s", st->shown,
			    st->status_text);
			return 0;
		}
	}
	return n;
}

/* Moves unread bytes to the front of the receive buffer. */
static void
rx_compact(struct source_stream *st)
{
	if (st->rx_off == 0)
		return;
	memmove(st->rx, st->rx + st->rx_off, st->rx_len - st->rx_off);
	st->rx_len -= st->rx_off;
	st->rx_off = 0;
}

/* Runs on: the feeder thread, inside curl. Appends body bytes, or pauses
 * the transfer when they do not fit (curl keeps them and calls again
 * after curl_easy_pause(CURLPAUSE_CONT)). */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct source_stream *st = arg;
	size_t n = size * nmemb;

	if (stopping(st))
		return 0;
	if (st->status_code < 200 || st->status_code >= 300) {
		/* A 3xx that was not followed, or no status line at all. */
		if (st->status_code > 0)
			stream_end(st, STREAM_END_HTTP, "%s: %s", st->shown,
			    st->status_text);
		else
			stream_end(st, STREAM_END_HTTP,
			    "%s: no HTTP status line", st->shown);
		return 0;
	}
	if (st->rx_len + n > STREAM_RX_BYTES)
		rx_compact(st);
	if (st->rx_len + n > STREAM_RX_BYTES) {
		st->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	memcpy(st->rx + st->rx_len, data, n);
	st->rx_len += n;
	st->last_rx_ns = util_now_mono_ns();
	return n;
}

/* Runs on: the feeder thread, inside curl. A second way out on stop; the
 * read callback checks the flag itself between polls. */
static int
xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct source_stream *st = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stopping(st) ? 1 : 0;
}

/* GnuTLS's verification status bits and what they mean. */
static const struct {
	long bit;
	const char *why;
} gnutls_status[] = {
    {GNUTLS_CERT_SIGNER_NOT_FOUND, "its issuer is not a trusted CA"},
    {GNUTLS_CERT_SIGNER_NOT_CA, "its issuer is not a CA"},
    {GNUTLS_CERT_EXPIRED, "certificate has expired"},
    {GNUTLS_CERT_NOT_ACTIVATED, "certificate is not yet valid"},
    {GNUTLS_CERT_REVOKED, "certificate is revoked"},
    {GNUTLS_CERT_INSECURE_ALGORITHM, "signed with an insecure algorithm"},
    {GNUTLS_CERT_SIGNATURE_FAILURE, "signature does not verify"},
};

/* libcurl's GnuTLS build says only "server certificate verification
 * failed. CAfile: FILE CRLfile: none" (the OpenSSL build names the
 * reason); the "(trusted: ...)" of the message names the CAs already, and
 * two long paths cut it short in the log. The reason is in
 * CURLINFO_SSL_VERIFYRESULT, as GnuTLS's status bits: named here. */
static void
gnutls_reason(struct source_stream *st)
{
	char *tail = strstr(st->curl_err, ". CAfile: ");
	long bits = 0;
	size_t i, n;
	int k = 0;

	if (tail == NULL)
		return; /* the OpenSSL build */
	*tail = '\0';
	if (dynlib_curl.easy_getinfo(
		st->easy, CURLINFO_SSL_VERIFYRESULT, &bits) != CURLE_OK)
		return;
	for (i = 0; i < sizeof(gnutls_status) / sizeof(gnutls_status[0]); i++) {
		if ((bits & gnutls_status[i].bit) == 0)
			continue;
		n = strlen(st->curl_err);
		snprintf(st->curl_err + n, sizeof(st->curl_err) - n, "%s%s",
		    k++ == 0 ? ": " : ", ", gnutls_status[i].why);
	}
}

/* Turns a finished transfer into a reason. Called once every received
 * byte was handed to vorbisfile. */
static void
transfer_finished(struct source_stream *st)
{
	long os_errno = 0;
	bool closed = false;

	if (st->result == CURLE_OK) {
		if (st->status_code >= 200 && st->status_code < 300)
			stream_end(st, STREAM_END_EOF,
			    "%s: the server ended the feed", st->shown);
		else
			stream_end(st, STREAM_END_HTTP, "%s: %s", st->shown,
			    st->status_text[0] != '\0' ? st->status_text
						       : "no HTTP status");
		return;
	}
	if (st->result == CURLE_COULDNT_CONNECT &&
	    dynlib_curl.easy_getinfo(st->easy, CURLINFO_OS_ERRNO, &os_errno) ==
		CURLE_OK &&
	    os_errno > 0 && os_errno < INT_MAX) {
		stream_end(st, STREAM_END_CURL, "%s: cannot connect: %s",
		    st->shown, strerror((int)os_errno));
		return;
	}
	if (st->result == CURLE_PARTIAL_FILE) {
		stream_end(st, STREAM_END_CURL, "%s: feed cut off (%s)",
		    st->shown, st->curl_err);
		return;
	}
	if (st->result == CURLE_PEER_FAILED_VERIFICATION)
		gnutls_reason(st);
	/* The GnuTLS build reports a TLS 1.3 server that closed the session
	 * over our client certificate as a failed handshake whose write
	 * found the connection gone (the OpenSSL build: a send or receive
	 * error, below). */
	if (st->result == CURLE_SSL_CONNECT_ERROR && st->https &&
	    st->status_code == 0 &&
	    dynlib_curl.easy_getinfo(st->easy, CURLINFO_OS_ERRNO, &os_errno) ==
		CURLE_OK &&
	    (os_errno == EPIPE || os_errno == ECONNRESET))
		closed = true;
	if (!closed && (st->result == CURLE_PEER_FAILED_VERIFICATION ||
			   st->result == CURLE_SSL_CONNECT_ERROR ||
			   st->result == CURLE_SSL_CERTPROBLEM ||
			   st->result == CURLE_SSL_CACERT_BADFILE)) {
		stream_end(st, STREAM_END_CURL,
		    "%s: TLS refused, nothing fetched: %s (trusted: %s)",
		    st->shown,
		    st->curl_err[0] != '\0'
			? st->curl_err
			: dynlib_curl.easy_strerror(st->result),
		    st->trust);
		return;
	}
	/* TLS 1.3 finishes the client's side of the handshake before the
	 * server judges its certificate, so a refusal then shows as a
	 * connection closed before any HTTP answer. */
	if (closed || (st->https && st->status_code == 0 &&
			  (st->result == CURLE_RECV_ERROR ||
			      st->result == CURLE_SEND_ERROR ||
			      st->result == CURLE_GOT_NOTHING ||
			      st->result == CURLE_COULDNT_CONNECT))) {
		stream_end(st, STREAM_END_CURL,
		    "%s: TLS session closed by the server before any HTTP "
		    "answer: did it refuse our client certificate (%s)? (%s)",
		    st->shown, st->client_cert,
		    st->curl_err[0] != '\0'
			? st->curl_err
			: dynlib_curl.easy_strerror(st->result));
		return;
	}
	stream_end(st, STREAM_END_CURL, "%s: %s", st->shown,
	    st->curl_err[0] != '\0' ? st->curl_err
				    : dynlib_curl.easy_strerror(st->result));
}

/* One round of curl: perform, collect a finished transfer, and when that
 * brought nothing, wait up to STREAM_POLL_MS for the socket. */
static void
pump(struct source_stream *st)
{
	CURLMcode mc;
	CURLMsg *msg;
	int running = 0, left;

	mc = dynlib_curl.multi_perform(st->multi, &running);
	if (mc != CURLM_OK) {
		stream_end(st, STREAM_END_CURL, "%s: %s", st->shown,
		    dynlib_curl.multi_strerror(mc));
		return;
	}
	while ((msg = dynlib_curl.multi_info_read(st->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == st->easy) {
			st->transfer_done = true;
			st->result = msg->data.result;
		}
	}
	if (st->rx_off < st->rx_len || st->transfer_done ||
	    st->end != STREAM_END_NONE)
		return;
	mc = dynlib_curl.multi_poll(st->multi, NULL, 0, STREAM_POLL_MS, NULL);
	if (mc != CURLM_OK)
		stream_end(st, STREAM_END_CURL, "%s: %s", st->shown,
		    dynlib_curl.multi_strerror(mc));
}

/* Resumes a paused transfer once a whole curl write fits again. */
static void
resume_if_room(struct source_stream *st)
{
	if (!st->paused ||
	    STREAM_RX_BYTES - (st->rx_len - st->rx_off) < CURL_MAX_WRITE_SIZE)
		return;
	rx_compact(st);
	st->paused = false;
	/* May call write_cb() right away with the held chunk. */
	dynlib_curl.easy_pause(st->easy, CURLPAUSE_CONT);
}

/* vorbisfile's read callback: blocks until bytes arrive or the feed is
 * over. 0 is end of stream (errno 0); the reason is in st->why. */
static size_t
ov_read_cb(void *ptr, size_t size, size_t nmemb, void *arg)
{
	struct source_stream *st = arg;
	size_t want = size * nmemb, n;
	int64_t wait_from_ns = util_now_mono_ns(), since_ns;

	while (want > 0) {
		if (st->rx_off < st->rx_len) {
			n = st->rx_len - st->rx_off;
			if (n > want)
				n = want;
			memcpy(ptr, st->rx + st->rx_off, n);
			st->rx_off += n;
			if (st->rx_off == st->rx_len)
				st->rx_off = st->rx_len = 0;
			st->consumed_bytes += n;
			resume_if_room(st);
			return n;
		}
		if (st->end != STREAM_END_NONE)
			break;
		if (stopping(st)) {
			stream_end(
			    st, STREAM_END_STOP, "%s: stopped", st->shown);
			break;
		}
		if (!st->vf_open &&
		    st->consumed_bytes >= STREAM_OPEN_MAX_BYTES) {
			stream_end(st, STREAM_END_NOTOGG,
			    "%s: no Vorbis headers in the first %d KiB",
			    st->shown, STREAM_OPEN_MAX_BYTES / 1024);
			break;
		}
		if (st->transfer_done) {
			transfer_finished(st);
			break;
		}
		since_ns = st->last_rx_ns > wait_from_ns ? st->last_rx_ns
							 : wait_from_ns;
		if (util_now_mono_ns() - since_ns >= SOURCE_STREAM_STALL_NS) {
			stream_end(st, STREAM_END_STALL, "%s: no data for %d s",
			    st->shown,
			    (int)(SOURCE_STREAM_STALL_NS / NS_PER_SEC));
			break;
		}
		pump(st);
	}
	errno = 0;
	return 0;
}

/* Sets up the easy and multi handles and starts the transfer. */
static int
curl_start(struct source_stream *st, const struct tls_config *tls, char *err,
    size_t errlen)
{
	static const struct tls_config system_trust = {0};
	char why[256];
	int rc;

	CURL *c;
	CURLcode cc;
	CURLMcode mc;

	if (dynlib_curl_init(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", st->shown, why);
		return -EIO;
	}
	st->easy = c = dynlib_curl.easy_init();
	st->multi = dynlib_curl.multi_init();
	if (c == NULL || st->multi == NULL) {
		snprintf(err, errlen, "%s: libcurl: %s", st->shown,
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	if ((cc = dynlib_curl.easy_setopt(c, CURLOPT_URL, st->url)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_ERRORBUFFER, st->curl_err)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_PROXY, "")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
		 st->https ? "https" : "http,https")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_MAXREDIRS, STREAM_MAX_REDIRS)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_USERAGENT, "relay")) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		 (long)SOURCE_STREAM_CONNECT_TIMEOUT_MS)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_HEADERFUNCTION, header_cb)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_HEADERDATA, st)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_WRITEFUNCTION, write_cb)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_WRITEDATA, st)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_XFERINFODATA, st)) !=
		CURLE_OK) {
		snprintf(err, errlen, "%s: libcurl: %s", st->shown,
		    dynlib_curl.easy_strerror(cc));
		return -EINVAL;
	}
	/* Also for http://: a redirect to https must verify just the same. */
	rc = tls_curl_setup(
	    c, tls != NULL ? tls : &system_trust, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", st->shown, why);
		return rc;
	}
	mc = dynlib_curl.multi_add_handle(st->multi, c);
	if (mc != CURLM_OK) {
		snprintf(err, errlen, "%s: libcurl: %s", st->shown,
		    dynlib_curl.multi_strerror(mc));
		return -EIO;
	}
	st->easy_added = true;
	return 0;
}

/* Checks the current link's format and, when it changed, rebuilds the
 * conversion (the only allocation after open). Logs each new link. */
static int
update_format(struct source_stream *st, int link)
{
	vorbis_info *vi;
	vorbis_comment *vc;
	struct resampler *rs = NULL;
	char msg[256], title[160];
	const char *t;
	size_t need, ch = (size_t)st->channels;
	float *p;

	vi = ov_info(&st->vf, -1);
	if (vi == NULL || vi->channels <= 0 || vi->rate <= 0 ||
	    vi->rate > INT_MAX) {
		stream_end(st, STREAM_END_DECODE,
		    "%s: link %d has no valid Vorbis format", st->shown,
		    link + 1);
		return -EPROTO;
	}
	if (link == st->link && vi->rate == st->src_rate_hz &&
	    vi->channels == st->src_channels)
		return 0;

	if (vi->channels > st->ileave_channels) {
		p = malloc(
		    STREAM_CHUNK_FRAMES * (size_t)vi->channels * sizeof(float));
		if (p == NULL)
			goto oom;
		free(st->ileave);
		st->ileave = p;
		st->ileave_channels = vi->channels;
	}
	if (vi->rate != st->src_rate_hz) {
		if (vi->rate != st->rate_hz) {
			rs = resampler_new(st->channels, (int)vi->rate,
			    st->rate_hz, msg, sizeof(msg));
			if (rs == NULL) {
				stream_end(st, STREAM_END_DECODE, "%s: %s",
				    st->shown, msg);
				return -EIO;
			}
			need = resampler_max_out(rs, STREAM_CHUNK_FRAMES);
			if (need > st->out_cap_frames) {
				p = malloc(need * ch * sizeof(float));
				if (p == NULL) {
					resampler_free(rs);
					goto oom;
				}
				free(st->out);
				st->out = p;
				st->out_cap_frames = need;
			}
		}
		resampler_free(st->rs);
		st->rs = rs;
	}
	st->src_rate_hz = vi->rate;
	st->src_channels = vi->channels;
	/* Vorbis order in (section 4.3.9), programme order out. */
	convert_mix_init(&st->mix_plan, vi->channels, CONVERT_ORDER_VORBIS,
	    st->channels, CONVERT_ORDER_PROGRAMME);

	vc = ov_comment(&st->vf, -1);
	t = vc != NULL ? vorbis_comment_query(vc, "TITLE", 0) : NULL;
	if (t != NULL)
		log_escape(title, sizeof(title), t);
	if (st->link < 0)
		log_info(st->mod, "%s: connected (%s, %s): %ld Hz, %d ch%s%s%s",
		    st->shown, st->status_text,
		    st->content_type[0] != '\0' ? st->content_type
						: "no Content-Type",
		    vi->rate, vi->channels, t != NULL ? ", title \"" : "",
		    t != NULL ? title : "", t != NULL ? "\"" : "");
	else
		log_info(st->mod, "%s: new link: %ld Hz, %d ch%s%s%s",
		    st->shown, vi->rate, vi->channels,
		    t != NULL ? ", title \"" : "", t != NULL ? title : "",
		    t != NULL ? "\"" : "");
	st->link = link;
	return 0;

oom:
	stream_end(
	    st, STREAM_END_DECODE, "%s: %s", st->shown, strerror(ENOMEM));
	return -ENOMEM;
}

int
source_stream_open(const char *url, const struct tls_config *tls,
    const char *log_mod, int rate_hz, int channels, const atomic_bool *stop,
    struct source_stream **out, char *err, size_t errlen)
{
	struct source_stream *st;
	ov_callbacks cb;
	int rc, ovrc;

	*out = NULL;
	if (rate_hz <= 0 || channels <= 0) {
		snprintf(err, errlen, "%s: invalid target format %d Hz, %d ch",
		    url, rate_hz, channels);
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "%s: %s", url, strerror(ENOMEM));
		return -ENOMEM;
	}
	st->mod = log_mod;
	st->stop = stop;
	st->rate_hz = rate_hz;
	st->channels = channels;
	st->link = -1;
	/* An https feed never follows a redirect to plain http. */
	st->https = strncasecmp(url, "https://", 8) == 0;
	util_strlcpy(st->client_cert, "none", sizeof(st->client_cert));
	if (tls != NULL) {
		char trust[600];
		snprintf(st->trust, sizeof(st->trust), "%s; TLS %s or later",
		    tls_trust_text(tls, trust, sizeof(trust)),
		    tls_version_name(tls->min_version));
		if (tls->client_cert != NULL)
			util_strlcpy(st->client_cert, tls->client_cert,
			    sizeof(st->client_cert));
	} else {
		util_strlcpy(
		    st->trust, "the system CA store", sizeof(st->trust));
	}
	st->url = strdup(url);
	st->shown = url_without_credentials(url);
	st->rx = malloc(STREAM_RX_BYTES);
	st->mix =
	    malloc(STREAM_CHUNK_FRAMES * (size_t)channels * sizeof(float));
	if (st->url == NULL || st->shown == NULL || st->rx == NULL ||
	    st->mix == NULL) {
		snprintf(err, errlen, "%s: %s", url, strerror(ENOMEM));
		rc = -ENOMEM;
		goto fail;
	}
	rc = curl_start(st, tls, err, errlen);
	if (rc < 0)
		goto fail;
	st->last_rx_ns = util_now_mono_ns();

	/* No seek or tell: vorbisfile treats the feed as unseekable and
	 * follows chained links as they come. */
	memset(&cb, 0, sizeof(cb));
	cb.read_func = ov_read_cb;
	ovrc = ov_open_callbacks(st, &st->vf, NULL, 0, cb);
	if (ovrc != 0) {
		/* On failure vorbisfile has already cleared vf. */
		switch (st->end) {
		case STREAM_END_NONE:
		case STREAM_END_EOF:
		case STREAM_END_NOTOGG:
			snprintf(err, errlen,
			    "%s: not an Ogg Vorbis stream (%s%s)", st->shown,
			    st->content_type[0] != '\0' ? "Content-Type: "
							: "no Content-Type",
			    st->content_type);
			rc = -EPROTO;
			break;
		case STREAM_END_STOP:
			snprintf(err, errlen, "%s", st->why);
			rc = -ECANCELED;
			break;
		case STREAM_END_STALL:
			snprintf(err, errlen, "%s", st->why);
			rc = -ETIMEDOUT;
			break;
		case STREAM_END_HTTP:
		case STREAM_END_CURL:
		case STREAM_END_DECODE:
			snprintf(err, errlen, "%s", st->why);
			rc = -EIO;
			break;
		}
		goto fail;
	}
	st->vf_open = true;
	rc = update_format(st, 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s", st->why);
		goto fail;
	}
	*out = st;
	return 0;

fail:
	source_stream_close(st);
	return rc;
}

/* Interleaves one block from vorbisfile, mixes it to the programme's
 * channels and order and resamples it into the pending buffer. */
static int
convert_block(struct source_stream *st, float **pcm, size_t n)
{
	size_t i, sc = (size_t)st->src_channels, c;
	float *dst;
	size_t got;

	dst = convert_mix_is_copy(&st->mix_plan) ? st->mix : st->ileave;
	for (i = 0; i < n; i++)
		for (c = 0; c < sc; c++)
			dst[i * sc + c] = pcm[c][i];
	if (dst != st->mix)
		convert_mix_run(&st->mix_plan, st->ileave, st->mix, n);
	st->pending_off_frames = 0;
	if (st->rs == NULL) {
		st->pending = st->mix;
		st->pending_frames = n;
		return 0;
	}
	if (resampler_process(
		st->rs, st->mix, n, st->out, st->out_cap_frames, &got) != 0) {
		stream_end(
		    st, STREAM_END_DECODE, "%s: resampler failed", st->shown);
		st->pending_frames = 0;
		return -EIO;
	}
	st->pending = st->out;
	st->pending_frames = got;
	return 0;
}

/* Whether the current link's rate differs from the one being converted
 * (update_format() then replaces the resampler). */
static bool
rate_changes(struct source_stream *st)
{
	vorbis_info *vi = ov_info(&st->vf, -1);

	return vi != NULL && vi->rate != st->src_rate_hz;
}

/* Flushes the resampler into the pending buffer; true when that gave
 * frames to read (a flushed resampler gives none again). */
static bool
flush_resampler(struct source_stream *st)
{
	size_t got = 0;

	if (st->rs == NULL ||
	    resampler_flush(st->rs, st->out, st->out_cap_frames, &got) != 0 ||
	    got == 0)
		return false;
	st->pending = st->out;
	st->pending_frames = got;
	st->pending_off_frames = 0;
	return true;
}

/* Runs on: the feeder thread. */
ssize_t
source_stream_read(struct source_stream *st, float *frames, size_t max_frames)
{
	size_t done = 0, n, ch = (size_t)st->channels;
	float **pcm;
	long got;
	int link = 0, rc;

	while (done < max_frames) {
		if (st->pending_off_frames < st->pending_frames) {
			n = st->pending_frames - st->pending_off_frames;
			if (n > max_frames - done)
				n = max_frames - done;
			memcpy(frames + done * ch,
			    st->pending + st->pending_off_frames * ch,
			    n * ch * sizeof(float));
			st->pending_off_frames += n;
			done += n;
			continue;
		}
		/* Hand over what is ready rather than wait for more. */
		if (done > 0)
			break;
		if (st->end == STREAM_END_DECODE)
			return -EIO;
		if (st->carry) {
			st->carry = false;
			pcm = st->carry_pcm;
			got = st->carry_got;
			link = st->carry_link;
			goto convert;
		}
		got = ov_read_float(&st->vf, &pcm, STREAM_CHUNK_FRAMES, &link);
		if (got == OV_HOLE) {
			/* vorbisfile says this at every link boundary of
			 * an unseekable stream too; only a hole that is
			 * not followed by a new link is lost data. */
			st->hole = true;
			continue;
		}
		if (got == 0) {
			if (flush_resampler(st))
				continue;
			stream_end(st, STREAM_END_EOF,
			    "%s: the server ended the feed", st->shown);
			return 0;
		}
		if (got < 0) {
			stream_end(st, STREAM_END_DECODE,
			    "%s: Vorbis decode error (%ld)", st->shown, got);
			return -EIO;
		}
		if (st->hole && link == st->link && !st->warned_hole) {
			log_warn(st->mod,
			    "%s: gap in the feed (lost or "
			    "corrupt data); playing on",
			    st->shown);
			st->warned_hole = true;
		}
		st->hole = false;
		if (rate_changes(st) && flush_resampler(st)) {
			st->carry = true;
			st->carry_pcm = pcm;
			st->carry_got = got;
			st->carry_link = link;
			continue;
		}
	convert:
		rc = update_format(st, link);
		if (rc < 0)
			return rc;
		rc = convert_block(st, pcm, (size_t)got);
		if (rc < 0)
			return rc;
	}
	return (ssize_t)done;
}

const char *
source_stream_error(const struct source_stream *st)
{
	return st->why;
}

void
source_stream_close(struct source_stream *st)
{
	if (st == NULL)
		return;
	if (st->vf_open)
		ov_clear(&st->vf);
	if (st->easy_added)
		dynlib_curl.multi_remove_handle(st->multi, st->easy);
	if (st->easy != NULL)
		dynlib_curl.easy_cleanup(st->easy);
	if (st->multi != NULL)
		dynlib_curl.multi_cleanup(st->multi);
	resampler_free(st->rs);
	free(st->ileave);
	free(st->mix);
	free(st->out);
	free(st->rx);
	free(st->shown);
	free(st->url);
	free(st);
}
