/* SPDX-License-Identifier: MIT */
/*
 * The Icecast backend of struct output_ops: one libshout connection per
 * output, non-blocking, sending the muxer's finished Ogg pages as they are
 * (shout_send_raw: libshout neither parses nor paces them; the sound card
 * is the clock, FIELD-NOTES 4.2), the pages of one wake-up of the output
 * thread gathered into one call at flush() (STAGE_BYTES). Reconnect, backoff,
 * the stall watchdog and every counter live in output.c; this file only
 * connects, moves bytes and turns libshout's error codes into reasons an
 * operator can act on. libshout types never leave this file.
 *
 * libshout 2.4.6 traps handled here (FIELD-NOTES 2.x, and its source):
 * - a failed open leaves the handle looking connected, so every failure
 *   (open, poll, send) is followed by shout_close() before the handle is
 *   used again; the handle lives as long as the backend because
 *   shout_free() of an unconnected handle frees nothing (libshout bug);
 * - "wrong password" (401) and "mountpoint in use" (403) both come back
 *   as SHOUTERR_NOLOGIN: we ask the server's status page whether the
 *   mount is taken to tell the operator which it is;
 * - shout_send_raw() queues and always reports success; a dead socket
 *   only shows in the pump call in flush(), and the pump's return value is
 *   stale whenever the queue drained, so it is judged with the queue
 *   length (see icecast_flush);
 * - libshout does not block SIGPIPE: the process must ignore or block it
 *   (main.c and output.c do) or a killed server kills relay.
 * - with TLS, libshout completes the handshake without verifying and
 *   then asks the application about the certificate: tls_check_cb()
 *   answers with tls_verify_chain() (tls.c), before the login is sent;
 * - shout_set_metadata() is a blocking HTTP request with no timeout, even
 *   on a non-blocking handle: the title update goes through libcurl
 *   instead (icecast_metadata_update), bounded in time.
 *
 * Threads: create/destroy run on the main thread; every other op runs on
 * the output's own thread, one handle per output, never shared.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <shout/shout.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "config.h"
#include "icecast_poll.h"
#include "output.h"
#include "tls.h"
#include "util.h"
#include "version.h"

/* How long a failed login may spend asking the status page whether the
 * mount is taken (the output thread is about to back off anyway). */
#define LOGIN_PROBE_TIMEOUT_NS (1500 * NS_PER_MS)
/* Icecast 2.4.4 lists a mount for ~0.3 s after its source left (its stats
 * lag its mounts): a mount still listed is asked about again after this,
 * so that an output restarted by a reload, whose old connection has just
 * ended, is not told "in use" for a password it got wrong. */
#define LOGIN_RELIST_DELAY_NS (600 * NS_PER_MS)
/* A reachability probe that has not connected within this long counts as
 * "not reachable" (a server that drops SYNs, or a frozen one whose accept
 * queue is full). */
#define PROBE_TIMEOUT_NS (1000 * NS_PER_MS)
#define META_TEXT 256
/* Pages written in one wake-up of the output thread are gathered here and
 * handed to libshout at flush() in one call. libshout queues data in
 * 4 KiB blocks and send()s each block on its own, so a page sent alone
 * (Vorbis pages run just over 4 KiB: libogg's rule) cost two sends, the
 * few pages of one Icecast page about four, and every MP3 frame one;
 * gathered, about one send per 4 KiB. A backlog larger than this goes out
 * whenever the buffer fills. */
#define STAGE_BYTES (16 * 1024)

/*
 * libshout 2.4.6 leaks in two places we cannot fix from outside: a handle
 * (~1.3 KB, once per backend, see disconnect()) and the send queue of a
 * connection that died with data still queued (shout_close() frees the
 * connection but not its queue, which also holds the login request while
 * connecting). Under LeakSanitizer (make check) the allocations libshout
 * makes inside those calls are marked as not leaks, so that a leak of
 * ours still fails the tests.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LIBSHOUT_LEAKS_BEGIN() __lsan_disable()
#define LIBSHOUT_LEAKS_END() __lsan_enable()
#else
#define LIBSHOUT_LEAKS_BEGIN() ((void)0)
#define LIBSHOUT_LEAKS_END() ((void)0)
#endif

enum shout_phase {
	PHASE_CONNECT = 0,
	PHASE_SEND,
};

static void icecast_destroy(struct output_backend *b);

struct output_backend {
	shout_t *shout;
	bool connected;
	/* Copies of the settings (the config may be freed on reload). */
	char *host;
	int port;
	char *mount;
	char *user;
	char *password;
	bool tls;
	struct tls_config tls_cfg; /* copy: whom the server must prove to be */
	/* Set by the certificate callback during each TLS connect. */
	bool tls_checked;	  /* the handshake got as far as the check */
	bool tls_verified;	  /* and the chain passed tls_verify_chain */
	char tls_why[512];	  /* why it did not */
	struct tls_peer tls_peer; /* the verified server certificate */
	char *station_name;
	char *station_description;
	char *station_genre;
	char *station_url;
	bool public_listing;
	int rate_hz;
	int channels;
	bool managed;
	bool mp3; /* codec = mp3: SHOUT_FORMAT_MP3, audio/mpeg */
	double quality;
	int bitrate_kbps;
	/* Reachability probe (see icecast_probe). */
	int probe_fd; /* -1: none in flight */
	int64_t probe_started_mono_ns;
	bool probe_resolved; /* probe_addr is valid, or resolving failed */
	bool probe_unresolvable;
	struct sockaddr_storage probe_addr;
	socklen_t probe_addrlen;
	unsigned char *stage; /* STAGE_BYTES: pages not yet given libshout */
	size_t stage_len;
};

static int
copy_text(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -ENOMEM;
}

/*
 * Closes the connection and resets the handle for the next open():
 * shout_close() is what clears the half-open state a failed connect
 * leaves behind (FIELD-NOTES 2.3). Its result (UNCONNECTED when nothing
 * was open) does not matter.
 *
 * The handle itself is kept for the life of the backend, because
 * libshout 2.4.6's shout_free() frees nothing unless the handle is
 * connected (its source tests "if (!self->connection) return;", and the
 * Debian build does the same), so a new handle per attempt would leak
 * ~1.3 KB on every reconnect while a server is down.
 */
static void
disconnect(struct output_backend *b)
{
	if (b->shout != NULL)
		shout_close(b->shout);
	b->connected = false;
	b->stage_len = 0;
	if (b->probe_fd >= 0) {
		close(b->probe_fd);
		b->probe_fd = -1;
	}
}

/* The password must never reach a log line, stats or the status API:
 * libshout's texts never contain it, but a server reply could, so every
 * message is checked before it leaves. The host, mount and user are
 * public names: their letters are left alone unless the password is one
 * of their labels (util_redact_names). */
static void
redact(const struct output_backend *b, char *err, size_t errlen)
{
	const char *names[] = {b->host, b->mount, b->user, NULL};
	char *clean;

	if (b->password == NULL || b->password[0] == '\0' ||
	    strstr(err, b->password) == NULL)
		return;
	clean = util_redact_names(err, b->password, names);
	if (clean == NULL) {
		util_strlcpy(
		    err, "(message withheld: it contained a secret)", errlen);
		return;
	}
	util_strlcpy(err, clean, errlen);
	free(clean);
}

/* Fetches the server's status page and reads our mount from it: 0 with
 * *st filled, or a negative errno with the reason in probe_err. */
static int
probe_mount(struct output_backend *b, struct icecast_mount_status *st,
    char *probe_err, size_t errlen)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	rc = icecast_status_fetch(b->host, b->port, b->tls ? &b->tls_cfg : NULL,
	    LOGIN_PROBE_TIMEOUT_NS, NULL, &body, &len, probe_err, errlen);
	if (rc < 0)
		return rc;
	rc = icecast_status_parse(body, len, b->mount, st);
	free(body);
	if (rc < 0)
		util_strlcpy(
		    probe_err, "status-json.xsl is not valid JSON", errlen);
	return rc;
}

/* A failed login: 401 (credentials) and 403 (mount taken) look the same
 * through libshout, so ask the server's status page whether our mount is
 * already listed, and once more a moment later if it is (a source that
 * just left, our own before a reload, is still listed for a while). */
static int
diagnose_login(
    struct output_backend *b, const char *lib, char *err, size_t errlen)
{
	struct icecast_mount_status st;
	char probe_err[256];
	int rc;

	rc = probe_mount(b, &st, probe_err, sizeof(probe_err));
	if (rc == 0 && st.present && !b->tls) {
		util_sleep_ns(LOGIN_RELIST_DELAY_NS);
		rc = probe_mount(b, &st, probe_err, sizeof(probe_err));
	}
	/* Icecast 2.4.4 reads a TLS source's close_notify as "no
	 * data yet": it keeps the mount and spins one CPU until it
	 * restarts, whatever its source-timeout. */
	if (rc == 0 && st.present && b->tls) {
		snprintf(err, errlen,
		    "mountpoint %s in use: another source is "
		    "streaming there, or our own earlier connection "
		    "(Icecast 2.4 keeps the mount of a TLS source "
		    "that ended cleanly, busy on one CPU, until it "
		    "restarts: restart Icecast) (libshout: %s)",
		    b->mount, lib);
		return -EBUSY;
	}
	if (rc == 0 && st.present) {
		snprintf(err, errlen,
		    "mountpoint %s in use: another source is "
		    "streaming there (Icecast refused us; if it is "
		    "our own dead connection, the server drops it "
		    "after its source-timeout) (libshout: %s)",
		    b->mount, lib);
		return -EBUSY;
	}
	if (rc == 0) {
		snprintf(err, errlen,
		    "login refused (401): wrong user or password "
		    "(user \"%s\"; check the password setting of "
		    "this output) (libshout: %s)",
		    b->user, lib);
		return -EACCES;
	}
	snprintf(err, errlen,
	    "login refused: wrong user or password, or mountpoint %s in "
	    "use (could not tell: %s) (libshout: %s)",
	    b->mount, probe_err, lib);
	return -EACCES;
}

/* NOCONNECT before any byte moved: usually a name that does not resolve. */
static int
diagnose_noconnect(struct output_backend *b, int saved_errno, const char *lib,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	g = getaddrinfo(b->host, NULL, &hints, &res);
	if (g != 0) {
		snprintf(err, errlen,
		    "cannot resolve host \"%s\": %s "
		    "(libshout: %s)",
		    b->host, gai_strerror(g), lib);
		return -EHOSTUNREACH;
	}
	freeaddrinfo(res);
	if (saved_errno == ECONNREFUSED) {
		snprintf(err, errlen,
		    "connection refused by %s:%d: is "
		    "Icecast running and listening there? "
		    "(libshout: %s)",
		    b->host, b->port, lib);
		return -ECONNREFUSED;
	}
	snprintf(err, errlen, "cannot connect to %s:%d: %s (libshout: %s)",
	    b->host, b->port,
	    saved_errno != 0 ? strerror(saved_errno) : "no route or no answer",
	    lib);
	return saved_errno != 0 ? -saved_errno : -EHOSTUNREACH;
}

/* The name of a libshout error code, for when its own text is stale. */
static const char *
code_name(int code)
{
	switch (code) {
	case SHOUTERR_INSANE:
		return "SHOUTERR_INSANE";
	case SHOUTERR_NOCONNECT:
		return "SHOUTERR_NOCONNECT";
	case SHOUTERR_NOLOGIN:
		return "SHOUTERR_NOLOGIN";
	case SHOUTERR_SOCKET:
		return "SHOUTERR_SOCKET";
	case SHOUTERR_MALLOC:
		return "SHOUTERR_MALLOC";
	case SHOUTERR_METADATA:
		return "SHOUTERR_METADATA";
	case SHOUTERR_CONNECTED:
		return "SHOUTERR_CONNECTED";
	case SHOUTERR_UNCONNECTED:
		return "SHOUTERR_UNCONNECTED";
	case SHOUTERR_UNSUPPORTED:
		return "SHOUTERR_UNSUPPORTED";
	case SHOUTERR_BUSY:
		return "SHOUTERR_BUSY";
	case SHOUTERR_NOTLS:
		return "SHOUTERR_NOTLS";
	case SHOUTERR_TLSBADCERT:
		return "SHOUTERR_TLSBADCERT";
	case SHOUTERR_RETRY:
		return "SHOUTERR_RETRY";
	default:
		return "unknown error code";
	}
}

/* True when host is an IPv4 or IPv6 literal. */
static bool
is_ip_literal(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 ||
	       inet_pton(AF_INET6, host, addr) == 1;
}

/* True for errno values that describe a network failure worth naming. */
static bool
net_errno(int e)
{
	return e == ECONNREFUSED || e == ECONNRESET || e == EPIPE ||
	       e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH ||
	       e == ENETDOWN || e == ECONNABORTED || e == EHOSTDOWN;
}

/* Turns a libshout error code into a negative errno and a reason in err.
 * lib is libshout's own text, copied right after the failing call. */
static int
translate(struct output_backend *b, int code, int saved_errno,
    enum shout_phase phase, const char *lib, char *err, size_t errlen)
{
	int rc;

	/* libshout's text can lag behind the code it returned (the pump in
	 * flush() returns a code without storing it): name the code then. */
	if (strcmp(lib, "No error") == 0)
		lib = code_name(code);

	switch (code) {
	case SHOUTERR_NOLOGIN:
		if (phase == PHASE_CONNECT) {
			rc = diagnose_login(b, lib, err, errlen);
		} else {
			snprintf(err, errlen,
			    "the server refused the request: wrong "
			    "credentials, or the mount is gone "
			    "(libshout: %s)",
			    lib);
			rc = -EACCES;
		}
		break;
	case SHOUTERR_SOCKET:
		if (saved_errno == ECONNREFUSED) {
			snprintf(err, errlen,
			    "connection refused by %s:%d: is Icecast running "
			    "and listening there? (libshout: %s)",
			    b->host, b->port, lib);
			rc = -ECONNREFUSED;
		} else if (phase == PHASE_SEND) {
			snprintf(err, errlen,
			    "connection lost: %s (libshout: %s)",
			    net_errno(saved_errno) ? strerror(saved_errno)
						   : "the server closed it or "
						     "the network failed",
			    lib);
			rc = net_errno(saved_errno) ? -saved_errno : -EPIPE;
		} else if (b->tls && !b->tls_checked) {
			snprintf(err, errlen,
			    "TLS handshake with %s:%d failed: the server does "
			    "not speak TLS there (is it an Icecast "
			    "listen-socket with <ssl>1</ssl>?) or refused our "
			    "TLS version or client certificate; nothing was "
			    "sent in plaintext (libshout: %s)",
			    b->host, b->port, lib);
			rc = -EPROTO;
		} else if (b->tls) {
			snprintf(err, errlen,
			    "connection failed during the TLS login to %s:%d "
			    "(libshout: %s)",
			    b->host, b->port, lib);
			rc = -ECONNRESET;
		} else {
			snprintf(err, errlen,
			    "connection failed during login: %s; is %s:%d "
			    "an Icecast server without TLS? (libshout: %s)",
			    net_errno(saved_errno) ? strerror(saved_errno)
						   : "the server closed it",
			    b->host, b->port, lib);
			rc =
			    net_errno(saved_errno) ? -saved_errno : -ECONNRESET;
		}
		break;
	case SHOUTERR_NOCONNECT:
		rc = diagnose_noconnect(b, saved_errno, lib, err, errlen);
		break;
	case SHOUTERR_TLSBADCERT:
		if (b->tls_checked && !b->tls_verified) {
			/* libshout's own text ("bad certificate") adds
			 * nothing to ours. */
			snprintf(err, errlen,
			    "TLS certificate of %s:%d refused: %s; nothing "
			    "was sent",
			    b->host, b->port, b->tls_why);
			rc = -EPROTO;
			break;
		}
		snprintf(err, errlen,
		    "TLS certificate of %s rejected: not trusted by the "
		    "system CAs, expired, or not issued for the name "
		    "\"%s\"%s (libshout: %s)",
		    b->host, b->host,
		    is_ip_literal(b->host)
			? " (libshout checks host names only: use the "
			  "name the certificate was issued for, not an IP "
			  "address)"
			: "",
		    lib);
		rc = -EPROTO;
		break;
	case SHOUTERR_NOTLS:
		snprintf(err, errlen,
		    "TLS requested but %s:%d does not offer it; relay never "
		    "falls back to plain text (libshout: %s)",
		    b->host, b->port, lib);
		rc = -EPROTO;
		break;
	case SHOUTERR_INSANE:
		if (b->tls) {
			snprintf(err, errlen,
			    "TLS was not established, so the credentials "
			    "were not sent (libshout: %s)",
			    lib);
			rc = -EPROTO;
		} else {
			snprintf(err, errlen,
			    "libshout rejected the settings (libshout: %s)",
			    lib);
			rc = -EINVAL;
		}
		break;
	case SHOUTERR_MALLOC:
		snprintf(err, errlen, "out of memory (libshout: %s)", lib);
		rc = -ENOMEM;
		break;
	case SHOUTERR_UNSUPPORTED:
		snprintf(err, errlen,
		    "this libshout does not support a requested option "
		    "(libshout: %s)",
		    lib);
		rc = -ENOTSUP;
		break;
	case SHOUTERR_UNCONNECTED:
		snprintf(err, errlen, "not connected (libshout: %s)", lib);
		rc = -ENOTCONN;
		break;
	case SHOUTERR_CONNECTED:
		/* Never success: libshout says this for a handle left
		 * half-open by an earlier failure (FIELD-NOTES 2.3). */
		snprintf(err, errlen,
		    "stale libshout connection state (libshout: %s)", lib);
		rc = -EISCONN;
		break;
	case SHOUTERR_METADATA:
		snprintf(err, errlen, "metadata rejected (libshout: %s)", lib);
		rc = -EINVAL;
		break;
	case SHOUTERR_BUSY:
	case SHOUTERR_RETRY:
		snprintf(err, errlen, "busy, try again (libshout: %s)", lib);
		rc = -EAGAIN;
		break;
	default:
		snprintf(
		    err, errlen, "libshout error %d (libshout: %s)", code, lib);
		rc = -EIO;
		break;
	}
	redact(b, err, errlen);
	return rc;
}

/* Copies libshout's current error text (valid only until the next call
 * on the handle). */
static void
lib_text(struct output_backend *b, char *buf, size_t len)
{
	const char *t = b->shout != NULL ? shout_get_error(b->shout) : NULL;

	util_strlcpy(buf, t != NULL ? t : "no detail", len);
}

/* Fails a libshout setter: reason in err, handle dropped by the caller. */
static int
setter_failed(struct output_backend *b, int code, const char *what, char *err,
    size_t errlen)
{
	char lib[128];

	lib_text(b, lib, sizeof(lib));
	snprintf(err, errlen, "cannot set %s: %s", what, lib);
	redact(b, err, errlen);
	return code == SHOUTERR_MALLOC ? -ENOMEM : -EINVAL;
}

/* Sets a station text as an ice-* header, without control characters
 * (libshout refuses header values holding them). */
static int
set_meta(struct output_backend *b, const char *key, const char *value,
    char *err, size_t errlen)
{
	char clean[META_TEXT];
	int code;

	if (value == NULL || value[0] == '\0')
		return 0;
	util_sanitize_text(clean, sizeof(clean), value);
	code = shout_set_meta(b->shout, key, clean);
	if (code != SHOUTERR_SUCCESS)
		return setter_failed(b, code, key, err, errlen);
	return 0;
}

/*
 * libshout's certificate check (see tls.c DESIGN): the chain the server
 * sent is verified against this output's CAs and host before libshout
 * sends a byte. Anything but a verified chain refuses the connection.
 * Runs on: the output thread, inside shout_open()/shout_get_connected().
 */
static int
tls_check_cb(shout_t *s, shout_event_t event, void *userdata, va_list ap)
{
	struct output_backend *b = userdata;
	void *chain = NULL;
	int code;

	(void)ap;
	if (event != SHOUT_EVENT_TLS_CHECK_PEER_CERTIFICATE)
		return SHOUT_CALLBACK_PASS;
	b->tls_checked = true;
	b->tls_verified = false;
	code = shout_control(
	    s, SHOUT_CONTROL_GET_SERVER_CERTIFICATE_CHAIN_AS_PEM, &chain);
	if (code != SHOUTERR_SUCCESS || chain == NULL) {
		snprintf(b->tls_why, sizeof(b->tls_why),
		    "libshout could not hand over the server's certificate "
		    "chain (%s)",
		    code_name(code));
		free(chain);
		return SHOUTERR_TLSBADCERT;
	}
	if (tls_verify_chain(&b->tls_cfg, b->host, chain, &b->tls_peer,
		b->tls_why, sizeof(b->tls_why)) < 0) {
		free(chain);
		return SHOUTERR_TLSBADCERT;
	}
	free(chain);
	b->tls_verified = true;
	/* Verified here in full: libshout's own, weaker check (system store
	 * added, host names only) is not run on top. */
	return SHOUTERR_SUCCESS;
}

/* In set_audio_info() and configure(): a libshout setter's failure
 * returns from the function with err set (setter_failed()). */
#define SET(call, what)                                                        \
	do {                                                                   \
		code = (call);                                                 \
		if (code != SHOUTERR_SUCCESS)                                  \
			return setter_failed(b, code, what, err, errlen);      \
	} while (0)

/* The encoding's rate, channels and bitrate or quality, which libshout
 * sends at connect (ice-audio-info; Icecast's audio_info). */
static int
set_audio_info(struct output_backend *b, char *err, size_t errlen)
{
	char num[32];
	int code;

	snprintf(num, sizeof(num), "%d", b->rate_hz);
	SET(shout_set_audio_info(b->shout, SHOUT_AI_SAMPLERATE, num),
	    "audio info samplerate");
	snprintf(num, sizeof(num), "%d", b->channels);
	SET(shout_set_audio_info(b->shout, SHOUT_AI_CHANNELS, num),
	    "audio info channels");
	if (b->managed) {
		snprintf(num, sizeof(num), "%d", b->bitrate_kbps);
		SET(shout_set_audio_info(b->shout, SHOUT_AI_BITRATE, num),
		    "audio info bitrate");
	} else {
		snprintf(num, sizeof(num), "%.2f", b->quality);
		SET(shout_set_audio_info(b->shout, SHOUT_AI_QUALITY, num),
		    "audio info quality");
	}
	return 0;
}

/* Applies every setting to a new handle. */
static int
configure(struct output_backend *b, char *err, size_t errlen)
{
	int code, rc;

	SET(shout_set_host(b->shout, b->host), "host");
	SET(shout_set_port(b->shout, (unsigned short)b->port), "port");
	SET(shout_set_mount(b->shout, b->mount), "mount");
	SET(shout_set_user(b->shout, b->user), "user");
	SET(shout_set_password(b->shout, b->password), "password");
	SET(shout_set_protocol(b->shout, SHOUT_PROTOCOL_HTTP), "protocol");
	/* USAGE_AUDIO makes listeners get audio/ogg, not application/ogg
	 * (FIELD-NOTES 1.1). */
	/* MP3: bare frames, listeners get audio/mpeg. */
	SET(shout_set_content_format(b->shout,
		b->mp3 ? SHOUT_FORMAT_MP3 : SHOUT_FORMAT_OGG, SHOUT_USAGE_AUDIO,
		NULL),
	    "content format");
	if ((rc = set_meta(b, SHOUT_META_NAME, b->station_name, err, errlen)) <
		0 ||
	    (rc = set_meta(b, SHOUT_META_DESCRIPTION, b->station_description,
		 err, errlen)) < 0 ||
	    (rc = set_meta(
		 b, SHOUT_META_GENRE, b->station_genre, err, errlen)) < 0 ||
	    (rc = set_meta(b, SHOUT_META_URL, b->station_url, err, errlen)) < 0)
		return rc;
	SET(shout_set_public(b->shout, b->public_listing ? 1U : 0U), "public");
	if ((rc = set_audio_info(b, err, errlen)) < 0)
		return rc;
	SET(shout_set_agent(b->shout, "relay/" RELAY_VERSION), "user agent");
	/*
	 * TLS: SHOUT_TLS_RFC2818 (TLS from the first byte, like HTTPS), not
	 * AUTO_NO_PLAIN. Icecast 2.4 offers TLS only that way, on a
	 * listen-socket with <ssl>1</ssl>; it has no RFC 2817 Upgrade. The
	 * AUTO modes first send a plain-text OPTIONS request and switch
	 * modes depending on how the server reacts, which costs round trips
	 * on every connect and makes a misconfigured port fail in ways that
	 * are hard to explain. RFC2818 sends nothing before the handshake
	 * and the certificate check (tls_check_cb) passed, so the password
	 * never goes out in clear. "Auto" (may fall back to plain) is never
	 * used.
	 */
	SET(shout_set_tls(
		b->shout, b->tls ? SHOUT_TLS_RFC2818 : SHOUT_TLS_DISABLED),
	    "TLS mode");
	if (b->tls) {
		SET(shout_set_callback(b->shout, tls_check_cb, b),
		    "TLS certificate check");
		/* libshout wants the certificate and its key in one file
		 * (checked when the configuration loaded). */
		if (b->tls_cfg.client_cert != NULL)
			SET(shout_set_client_certificate(
				b->shout, b->tls_cfg.client_cert),
			    "client certificate");
	}
	/* Must come before shout_open (FIELD-NOTES 4.1). */
	SET(shout_set_nonblocking(b->shout, SHOUT_BLOCKING_NONE),
	    "non-blocking mode");
#undef SET
	return 0;
}

static int
icecast_create(const struct config *cfg, const struct output_config *o,
    struct output_backend **out, char *err, size_t errlen)
{
	const struct encoding_config *e;
	struct output_backend *b;

	*out = NULL;
	if (o->host == NULL || o->mount == NULL || o->port <= 0 ||
	    o->port > 65535 || o->encoding_index < 0 ||
	    (size_t)o->encoding_index >= cfg->n_encodings) {
		snprintf(err, errlen,
		    "[output %s]: host, port, mount or "
		    "encoding missing",
		    o->name != NULL ? o->name : "?");
		return -EINVAL;
	}
	e = &cfg->encodings[o->encoding_index];
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto nomem;
	b->probe_fd = -1;
	b->port = o->port;
	b->stage = malloc(STAGE_BYTES);
	if (b->stage == NULL)
		goto nomem;
	b->tls = o->tls;
	if (b->tls && tls_config_copy(&b->tls_cfg, &o->tls_settings) < 0)
		goto nomem;
	b->public_listing = cfg->station.public_listing;
	b->rate_hz = e->rate_hz;
	b->channels = e->channels;
	/* Opus is always bitrate-driven: Icecast shows its bitrate. */
	b->managed = e->managed || e->codec == CODEC_OPUS;
	b->mp3 = e->codec == CODEC_MP3;
	b->quality = e->quality;
	b->bitrate_kbps = e->bitrate_kbps;
	if (copy_text(&b->host, o->host) < 0 ||
	    copy_text(&b->mount, o->mount) < 0 ||
	    copy_text(&b->user, o->user != NULL ? o->user : "source") < 0 ||
	    copy_text(&b->password, o->password != NULL ? o->password : "") <
		0 ||
	    copy_text(&b->station_name, cfg->station.name) < 0 ||
	    copy_text(&b->station_description, cfg->station.description) < 0 ||
	    copy_text(&b->station_genre, cfg->station.genre) < 0 ||
	    copy_text(&b->station_url, cfg->station.url) < 0)
		goto nomem;
	*out = b;
	return 0;
nomem:
	snprintf(err, errlen, "[output %s]: out of memory",
	    o->name != NULL ? o->name : "?");
	icecast_destroy(b);
	return -ENOMEM;
}

/*
 * A reload kept this output while its encoding's bitrate or quality changed
 * (a new Ogg chain on the open connection, config_output_change()): the
 * next connection announces the new values. The open one keeps the old
 * ice-audio-info; Icecast 2.4.4 takes audio_bitrate and ice-bitrate of a
 * Vorbis mount from each chain's header anyway. libshout cannot remove an
 * audio info key, so a switch between quality and bitrate starts over from
 * a new handle (libshout 2.4.6 leaks the old one's ~1.3 KB, see
 * disconnect(): once per such reload, not per reconnect).
 */
static void
icecast_set_encoding(struct output_backend *b, const struct encoding_config *e)
{
	bool managed = e->managed || e->codec == CODEC_OPUS;
	char err[256];

	if (b->shout != NULL && managed != b->managed) {
		shout_free(b->shout);
		b->shout = NULL;
	}
	b->rate_hz = e->rate_hz;
	b->channels = e->channels;
	b->managed = managed;
	b->quality = e->quality;
	b->bitrate_kbps = e->bitrate_kbps;
	if (b->shout != NULL && set_audio_info(b, err, sizeof(err)) < 0) {
		/* Set again on a new handle, where open() reports it. */
		shout_free(b->shout);
		b->shout = NULL;
	}
}

/*
 * libshout reports the login done. On a TLS output the certificate
 * callback must have passed the chain: a libshout that skipped it (another
 * build, a changed TLS mode) judged the server by its own, looser rules,
 * and no audio goes to a server relay did not verify itself.
 */
static int
logged_in(struct output_backend *b, char *err, size_t errlen)
{
	if (b->tls && !b->tls_verified) {
		disconnect(b);
		snprintf(err, errlen,
		    "libshout completed the TLS login without letting relay "
		    "verify the certificate of %s:%d; refusing to stream",
		    b->host, b->port);
		return -EPROTO;
	}
	b->connected = true;
	return 0;
}

static int
icecast_open(struct output_backend *b, char *err, size_t errlen)
{
	char lib[128];
	int code, saved, rc;

	disconnect(b);
	b->tls_checked = false;
	b->tls_verified = false;
	b->tls_why[0] = '\0';
	/* Each attempt resolves afresh (libshout does), and so does the
	 * next probe: the server may have moved. */
	b->probe_resolved = false;
	if (b->shout == NULL) {
		LIBSHOUT_LEAKS_BEGIN();
		b->shout = shout_new();
		rc = b->shout != NULL ? configure(b, err, errlen) : -ENOMEM;
		LIBSHOUT_LEAKS_END();
		if (b->shout == NULL) {
			snprintf(err, errlen, "out of memory (shout_new)");
			return -ENOMEM;
		}
		if (rc < 0) {
			/* Settings that fail once fail every time; start
			 * over from a new handle on the next attempt. */
			shout_free(b->shout);
			b->shout = NULL;
			return rc;
		}
	}
	errno = 0;
	LIBSHOUT_LEAKS_BEGIN();
	code = shout_open(b->shout);
	saved = errno;
	LIBSHOUT_LEAKS_END();
	if (code == SHOUTERR_SUCCESS)
		return logged_in(b, err, errlen);
	if (code == SHOUTERR_BUSY || code == SHOUTERR_RETRY)
		return -EINPROGRESS;
	/* Copy the text first: it is only valid until the next call. Close
	 * before explaining: diagnosing a refused login asks the server
	 * again, and the failed connection should not linger meanwhile. */
	lib_text(b, lib, sizeof(lib));
	disconnect(b);
	return translate(b, code, saved, PHASE_CONNECT, lib, err, errlen);
}

static int
icecast_open_poll(struct output_backend *b, char *err, size_t errlen)
{
	char lib[128];
	int code, saved;

	if (b->shout == NULL) {
		snprintf(err, errlen, "no connection in progress");
		return -ENOTCONN;
	}
	if (b->connected)
		return 0;
	errno = 0;
	LIBSHOUT_LEAKS_BEGIN();
	code = shout_get_connected(b->shout);
	saved = errno;
	LIBSHOUT_LEAKS_END();
	if (code == SHOUTERR_CONNECTED)
		return logged_in(b, err, errlen);
	if (code == SHOUTERR_BUSY || code == SHOUTERR_RETRY)
		return -EINPROGRESS;
	lib_text(b, lib, sizeof(lib));
	disconnect(b);
	if (code == SHOUTERR_UNCONNECTED) {
		snprintf(err, errlen,
		    "the connection closed during login "
		    "(libshout: %s)",
		    lib);
		return -ECONNRESET;
	}
	return translate(b, code, saved, PHASE_CONNECT, lib, err, errlen);
}

static ssize_t
queue_bytes(struct output_backend *b)
{
	ssize_t q = shout_queuelen(b->shout);

	return q > 0 ? q : 0;
}

/* Hands bytes to libshout, which queues them and tries to write at once;
 * never waits (non-blocking handle). */
static int
send_raw(struct output_backend *b, const unsigned char *data, size_t bytes,
    char *err, size_t errlen)
{
	char lib[128];
	ssize_t n;
	int code, saved;

	errno = 0;
	/* In 2.4.6 shout_send_raw() returns bytes even when the write
	 * failed: then the failed data stays queued and the fresh error code
	 * says SOCKET (a would-block write says BUSY instead). */
	LIBSHOUT_LEAKS_BEGIN();
	n = shout_send_raw(b->shout, data, bytes);
	saved = errno;
	LIBSHOUT_LEAKS_END();
	if (n >= 0 && (size_t)n == bytes) {
		code = shout_get_errno(b->shout);
		if (code != SHOUTERR_SOCKET || queue_bytes(b) == 0)
			return 0;
	} else {
		code = n < 0 ? (int)n : SHOUTERR_SOCKET;
	}
	lib_text(b, lib, sizeof(lib));
	disconnect(b);
	return translate(b, code, saved, PHASE_SEND, lib, err, errlen);
}

/* Hands the gathered pages to libshout (see STAGE_BYTES). */
static int
send_stage(struct output_backend *b, char *err, size_t errlen)
{
	size_t bytes = b->stage_len;

	if (bytes == 0)
		return 0;
	b->stage_len = 0;
	return send_raw(b, b->stage, bytes, err, errlen);
}

/* Gathers the bytes for flush() (see STAGE_BYTES); sends what is gathered
 * first when they do not fit, and bytes larger than the buffer at once. */
static int
icecast_write(struct output_backend *b, const unsigned char *data, size_t bytes,
    char *err, size_t errlen)
{
	int rc;

	if (b->shout == NULL || !b->connected) {
		snprintf(err, errlen, "not connected");
		return -ENOTCONN;
	}
	if (bytes == 0)
		return 0;
	if (b->stage_len + bytes > STAGE_BYTES) {
		rc = send_stage(b, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (bytes > STAGE_BYTES)
		return send_raw(b, data, bytes, err, errlen);
	memcpy(b->stage + b->stage_len, data, bytes);
	b->stage_len += bytes;
	return 0;
}

static int
icecast_flush(
    struct output_backend *b, size_t *pending, char *err, size_t errlen)
{
	char lib[128];
	int code, saved;

	*pending = 0;
	if (b->shout == NULL || !b->connected) {
		snprintf(err, errlen, "not connected");
		return -ENOTCONN;
	}
	code = send_stage(b, err, errlen);
	if (code < 0)
		return code;
	if (queue_bytes(b) == 0)
		return 0;
	/*
	 * Pump the queue. shout_send(s, NULL, 0) runs one write pass and
	 * parses nothing (shout_send_raw(s, NULL, 0) would also run it but
	 * hides the result). Its return value is only fresh while data is
	 * still queued: once the queue empties, 2.4.6 returns whatever
	 * error code the handle last held. So: queue empty = success; data
	 * left plus BUSY/RETRY = the socket is full, try later; data left
	 * plus anything else = the connection failed.
	 */
	errno = 0;
	code = shout_send(b->shout, NULL, 0);
	saved = errno;
	*pending = (size_t)queue_bytes(b);
	if (*pending == 0 || code == SHOUTERR_SUCCESS ||
	    code == SHOUTERR_BUSY || code == SHOUTERR_RETRY)
		return 0;
	lib_text(b, lib, sizeof(lib));
	disconnect(b);
	return translate(b, code, saved, PHASE_SEND, lib, err, errlen);
}

/*
 * Not shout_set_metadata(): over HTTP it opens its own connection in
 * blocking mode and waits for the reply without any timeout, so a server
 * that froze (or a link that died) after the last check held this thread,
 * and with it the stall watchdog, a reload and SIGTERM (output_stop joins
 * it), for as long as the server stayed frozen. The same request through
 * libcurl is bounded by OUTPUT_TITLE_TIMEOUT_NS and by cancel. Icecast
 * 2.4.4 applies it to Ogg Vorbis mounts ~2-3 s later by starting a new
 * chain for listeners (FIELD-NOTES 3.1, 3.3).
 */
static int
icecast_set_title(struct output_backend *b, const char *title,
    const char *artist, const atomic_bool *cancel, char *err, size_t errlen)
{
	char clean_title[META_TEXT], clean_artist[META_TEXT];
	struct icecast_metadata_request r;
	int rc;

	if (b->shout == NULL || !b->connected) {
		snprintf(err, errlen, "not connected");
		return -ENOTCONN;
	}
	/* A C0 control character in a title makes Icecast's status-json
	 * invalid for every mount (FIELD-NOTES 4.2). */
	util_sanitize_text(
	    clean_title, sizeof(clean_title), title != NULL ? title : "");
	util_sanitize_text(
	    clean_artist, sizeof(clean_artist), artist != NULL ? artist : "");
	memset(&r, 0, sizeof(r));
	r.host = b->host;
	r.port = b->port;
	r.tls = b->tls ? &b->tls_cfg : NULL;
	r.mount = b->mount;
	r.user = b->user;
	r.password = b->password;
	r.title = clean_title;
	r.artist = clean_artist;
	rc = icecast_metadata_update(
	    &r, OUTPUT_TITLE_TIMEOUT_NS, cancel, err, errlen);
	if (rc < 0)
		redact(b, err, errlen);
	return rc;
}

/* Resolves the server's address for the probe, once per connect attempt
 * (getaddrinfo may block on DNS; a numeric host does not). */
static int
probe_resolve(struct output_backend *b)
{
	struct addrinfo hints, *res = NULL;
	char port[16];

	if (b->probe_resolved)
		return b->probe_unresolvable ? -EHOSTUNREACH : 0;
	b->probe_resolved = true;
	b->probe_unresolvable = true;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", b->port);
	if (getaddrinfo(b->host, port, &hints, &res) != 0 || res == NULL)
		return -EHOSTUNREACH;
	/* The first address only: a probe is a hint, the real connect
	 * (libshout) still tries them all. */
	if (res->ai_addrlen <= sizeof(b->probe_addr)) {
		memcpy(&b->probe_addr, res->ai_addr, res->ai_addrlen);
		b->probe_addrlen = res->ai_addrlen;
		b->probe_unresolvable = false;
	}
	freeaddrinfo(res);
	return b->probe_unresolvable ? -EHOSTUNREACH : 0;
}

/* Ends the probe in flight; returns rc. */
static int
probe_done(struct output_backend *b, int rc)
{
	if (b->probe_fd >= 0) {
		close(b->probe_fd);
		b->probe_fd = -1;
	}
	return rc;
}

/*
 * Does the server accept TCP connections? A non-blocking connect, polled
 * without waiting, then closed at once: the server's accept loop sees a
 * connection that closes without a request, which Icecast drops quietly.
 * No login, so a server that refuses us (401, mount in use) is not asked
 * again any sooner; output.c only acts on a change from "refused" to
 * "accepts".
 */
static int
icecast_probe(struct output_backend *b)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int rc, e = 0;

	if (b->probe_fd < 0) {
		rc = probe_resolve(b);
		if (rc < 0)
			return rc;
		b->probe_fd = socket(b->probe_addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (b->probe_fd < 0)
			return -errno;
		b->probe_started_mono_ns = util_now_mono_ns();
		if (connect(b->probe_fd, (struct sockaddr *)&b->probe_addr,
			b->probe_addrlen) == 0)
			return probe_done(b, 0);
		if (errno != EINPROGRESS)
			return probe_done(b, -errno);
	}
	pfd.fd = b->probe_fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) < 0)
		return probe_done(b, -errno);
	if (pfd.revents == 0) {
		if (util_now_mono_ns() - b->probe_started_mono_ns >
		    PROBE_TIMEOUT_NS)
			return probe_done(b, -ETIMEDOUT);
		return -EINPROGRESS;
	}
	if (getsockopt(b->probe_fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	return probe_done(b, e != 0 ? -e : 0);
}

static bool
icecast_tls_peer(struct output_backend *b, struct tls_peer *peer)
{
	if (!b->tls || !b->connected || !b->tls_verified)
		return false;
	*peer = b->tls_peer;
	return true;
}

static void
icecast_close(struct output_backend *b)
{
	disconnect(b);
}

static void
icecast_destroy(struct output_backend *b)
{
	if (b == NULL)
		return;
	disconnect(b);
	/* Leaks ~1.3 KB inside libshout 2.4.6 (see disconnect()): once per
	 * output lifetime. */
	shout_free(b->shout);
	b->shout = NULL;
	free(b->host);
	free(b->mount);
	free(b->user);
	if (b->password != NULL) {
		/* Do not leave the secret in freed heap memory. */
		explicit_bzero(b->password, strlen(b->password));
		free(b->password);
	}
	free(b->station_name);
	free(b->station_description);
	free(b->station_genre);
	free(b->station_url);
	tls_config_clear(&b->tls_cfg);
	free(b->stage);
	free(b);
}

const struct output_ops output_icecast_ops = {
    .name = "icecast",
    .create = icecast_create,
    .open = icecast_open,
    .open_poll = icecast_open_poll,
    .write = icecast_write,
    .flush = icecast_flush,
    .set_title = icecast_set_title,
    .probe = icecast_probe,
    .tls_peer = icecast_tls_peer,
    .set_encoding = icecast_set_encoding,
    .close = icecast_close,
    .destroy = icecast_destroy,
};
