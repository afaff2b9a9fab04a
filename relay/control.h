/* SPDX-License-Identifier: MIT */
/*
 * The control API end to end: POST /api/segments, /api/skip,
 * /api/metadata and /api/reload (docs/status-api.md). The status server
 * receives the HTTP request and checks the bearer token; everything else
 * happens here: control_handle() checks the method and the body size,
 * parses and validates the JSON body into a struct control_request, hands
 * it to the main thread through a one-slot queue (an eventfd wakes the
 * main loop; the caller waits for the answer, so the HTTP reply can say
 * whether it worked and why not), writes one audit line (module
 * "control"), and returns the HTTP status code and JSON body to send.
 *
 * Threads: control_handle() and control_submit() on any thread except the
 * main thread (the status server's connection threads); they wait up to a
 * few seconds for the main thread. control_init(), control_shutdown(),
 * control_fd() and control_run() on the main thread. The parse and
 * describe functions are pure and thread-safe.
 */
#ifndef RELAY_CONTROL_H
#define RELAY_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programme.h"
#include "status.h"
#include "util.h"

#define CONTROL_TEXT 4096

/* The longest text the main thread's handler can send back (its err): a
 * reload's summary or error, a skip's withdrawn requests. */
#define CONTROL_RESULT_BYTES 1280
/* The longest field or query parameter name an error quotes (longer
 * ones are described by their length). */
#define CONTROL_FIELD_SHOWN 40
/* The most a skip's answer spends naming the requests it withdrew (whole
 * names; the rest counted, " and N more"): eight names of the longest
 * kind (127 bytes) nearly fit, eight of 100 bytes do. */
#define CONTROL_WITHDRAWN_TEXT_BYTES 1024

/* The largest request body a control endpoint reads; more gives 413. */
#define CONTROL_MAX_BODY_BYTES ((size_t)16384)

enum control_endpoint {
	CONTROL_ENDPOINT_SEGMENTS = 0, /* POST /api/segments */
	CONTROL_ENDPOINT_SKIP,	       /* POST /api/skip */
	CONTROL_ENDPOINT_METADATA,     /* POST /api/metadata */
	CONTROL_ENDPOINT_RELOAD,       /* POST /api/reload */
};

enum control_what {
	CONTROL_PLAY = 0, /* play a segment now or at a time */
	CONTROL_SKIP,	  /* end the segment on air, back to live */
	CONTROL_METADATA, /* title/artist of the live programme */
	CONTROL_RELOAD,	  /* re-read config and schedule (like SIGHUP) */
};

struct control_request {
	enum control_what what;
	/* CONTROL_PLAY: kind, at_wall_ns, duration_ns, frequency, level;
	 * the string pointers are set by control_submit() to the buffers
	 * below. */
	struct programme_request play;
	char path[CONTROL_TEXT];
	char url[CONTROL_TEXT];
	char title[256]; /* PLAY and METADATA */
	char artist[256];
	char name[128]; /* PLAY: the segment's name ("" for "api") */
	uint64_t id;	/* PLAY: set by the handler, the request id */
	/* SKIP: set by the handler, the ids of the requests it withdrew
	 * (nothing on air; each waiting for its source). */
	uint64_t withdrawn[PROGRAMME_MAX_WITHDRAWN];
	size_t n_withdrawn;
	/* METADATA: set by the handler, what became of the title (on air,
	 * held, ...); the answer says so. has_title_result false: the
	 * answer says nothing more than "ok". */
	bool has_title_result;
	struct engine_title_result title_result;
};

/* ---- From the status server's threads. ---- */

/* One control call as the status server received it. Everything is
 * borrowed for the call. */
struct control_call {
	enum control_endpoint endpoint;
	const char *method;    /* as the client sent it */
	enum status_auth auth; /* the bearer-token verdict */
	const char *body;      /* first CONTROL_MAX_BODY_BYTES bytes; or NULL */
	size_t body_len;
	uint64_t body_bytes; /* the whole body (or its Content-Length) */
	const char *client;  /* "127.0.0.1:50312", for the audit line */
	/* The name of the URL's first query parameter, or NULL: the control
	 * paths take none (400), so "POST /api/segments?dry_run=1" is never
	 * carried out as a real segment. */
	const char *query;
};

/* What to send back. */
struct control_answer {
	unsigned int code; /* HTTP status: 202, 400, 401, 403, 405, ... */
	unsigned int retry_after_s; /* 429: send Retry-After; else 0 */
	/* {"ok":true,"request":...} or {"error":...}. Owned: free(). NULL
	 * when it could not be built: send a plain 500 instead. */
	char *body;
};

/* Removes the caller's secrets from an audit line in place (line is
 * terminated, capacity len). */
typedef void control_redact_cb(char *line, size_t len, void *arg);

/* The path's endpoint: true and *ep set when path is a control path. */
bool control_endpoint_of(const char *path, enum control_endpoint *ep);

/* Carries out one call: method (405), a locked-out client address (429),
 * token verdict (401/403), body size (413), body (400), where a file or
 * stream segment comes from (422, control_check_path/feed), then the main
 * thread (202; 503 when it cannot answer, 422 when it refuses). Five
 * refused tokens from one address within 10 s lock it out for 30 s. A
 * query parameter in the URL is refused with the body (400).
 * Logs one audit line, passed through redact (may be NULL) first, except
 * for the refused tokens past the fourth of a window (one line says the
 * address is locked out, one that the lockout is over). Fills *out.
 * Waits up to 5 s. */
void control_handle(const struct control_call *call, control_redact_cb *redact,
    void *redact_arg, struct control_answer *out);

/* Sets what control_handle() checks segments against from cfg's
 * [status] media_dirs and feed_hosts (copied; NULL: the defaults of a
 * config without them: no file segments, no loopback feeds). Until the
 * first call file and playlist segments are refused. 0 or -ENOMEM (the
 * previous settings stay). Any thread. */
RELAY_MUST_CHECK int control_configure(const struct config *cfg);

/* Checks a parsed segment's path or URL against the lists of the last
 * control_configure(); a path is replaced by its real path, which is what
 * the main thread opens. 0, or negative errno with err filled (422).
 * control_sources.c. */
int control_check_sources(
    struct control_request *req, char *err, size_t errlen);

/* Drops the lists (control_shutdown). */
void control_sources_release(void);

/* Whether an API segment may play path (file or playlist): it must be a
 * regular file below one of dirs once symbolic links are resolved; a
 * relative path is taken in dirs->item[0]. 0 with its real path in out,
 * or -EACCES with the one text every refusal gets, so that it never tells
 * whether a file exists outside dirs. NULL or empty dirs refuse all. */
int control_check_path(const struct config_list *dirs, const char *path,
    char *out, size_t outlen, char *err, size_t errlen);

/* Whether an API stream segment may pull url. With hosts_set only the
 * hosts listed (exact, case-insensitive; none when empty); otherwise any
 * host but loopback, 0.0.0.0/8 and link-local ones (names are resolved;
 * every address must pass). 0, -EINVAL (no host) or -EACCES, err says
 * why. May block on a DNS lookup. */
int control_check_feed(const struct config_list *hosts, bool hosts_set,
    const char *url, char *err, size_t errlen);

/* Parses the JSON body (len bytes, need not be terminated) of endpoint ep
 * into *req (zeroed first; req->what set). now_wall_ns judges "at". 0, or
 * -EINVAL with err naming the field and what is allowed ("duration: must
 * be a string such as \"90s\" or a number of seconds"), or -EMSGSIZE when
 * len is over CONTROL_MAX_BODY_BYTES. Skip and reload take an empty body
 * or {}. Strings are stored with control characters stripped. */
int control_parse(enum control_endpoint ep, const char *body, size_t len,
    int64_t now_wall_ns, struct control_request *req, char *err, size_t errlen);

/* The request's meaning for the audit log, e.g. "play tone 30 s 'Breaking
 * news'", with any user:password in a URL shown as ***. Returns buf. */
char *control_describe(
    const struct control_request *req, char *buf, size_t len);

/* A skip's text for the requests it withdrew: "request 3 (flash), request
 * 4 (news)", each name whole, in at most len bytes (the caller passes
 * CONTROL_WITHDRAWN_TEXT_BYTES); those that do not fit follow, counted,
 * as " and 2 more". Returns buf. Pure. */
char *control_withdrawn_text(
    const struct programme_withdrawn *w, size_t n, char *buf, size_t len);

/* A live title's "result" text from what became of it: "on air now",
 * "held: on air in 1.4 s, 2 s after the last title change (titles are
 * coalesced); a later title before then replaces it", ..., and, when it
 * replaced a title not on air yet, "; replaces 'A' by 'B', which never
 * aired". Returns buf. Pure. */
char *control_title_text(
    const struct engine_title_result *r, char *buf, size_t len);

/* Logs, on the main thread, one info line (module "programme") for a
 * live title that replaced one not yet on air (req's title_result
 * says); at most one per CONTROL_TITLE_LOG_NS, the next line counting
 * those left out. No-op when nothing was replaced. */
#define CONTROL_TITLE_LOG_NS (10 * NS_PER_SEC)
void control_title_log(const struct control_request *req, int64_t now_mono_ns);

/* The rate limit of control_title_log(): whether a line is due at
 * now_mono_ns; when it is, *left_out gets how many were not logged since
 * the last line, else the count grows. Pure. */
struct control_title_log_state {
	int64_t last_ns; /* the last line; 0: none yet */
	unsigned int left_out;
};
bool control_title_log_due(struct control_title_log_state *st,
    int64_t now_mono_ns, unsigned int *left_out);

/* ---- The queue to the main thread. ---- */

/* What the main thread does with a request: 0 or negative errno with err
 * filled. */
typedef int control_handler_cb(
    struct control_request *req, char *err, size_t errlen, void *arg);

/* Sets up the queue (main thread, before the status server starts). */
RELAY_MUST_CHECK int control_init(control_handler_cb *cb, void *arg);
void control_shutdown(void);

/* Queues req and waits up to timeout_ns for the result. Returns the
 * handler's result, -ETIMEDOUT or -ESHUTDOWN, with err filled (on success
 * with what the handler said, possibly ""), and req->id set. Every
 * request is numbered: an answer only ever reaches its own caller, and a
 * caller that timed out while the main thread was already carrying its
 * request out is told so (-EINPROGRESS). */
int control_submit(
    struct control_request *req, int64_t timeout_ns, char *err, size_t errlen);

/* The eventfd the main loop polls; readable when requests wait. */
int control_fd(void);

/* Runs every waiting request (main thread). */
void control_run(void);

#endif
