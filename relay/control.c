/* SPDX-License-Identifier: MIT */
/*
 * The control API. See control.h and docs/status-api.md.
 *
 * DESIGN
 * A call is refused as early as possible and always in the same order:
 * method (405), bearer token (401/403, judged by the status server), size
 * (413), JSON (400, naming the field), and only then the main thread
 * (202, or 422 with its reason). Each call writes one audit line whatever
 * the outcome; the Authorization header is never in it, and a token a
 * client put in the body anyway is blanked out by the server's redact
 * callback, so the token never leaves the server.
 *
 * The queue: one request at a time is plenty for an operator's API. A
 * mutex serialises submitters, the request sits in a single slot, the
 * main thread answers through a condition variable.
 *
 * Parsing a request's body (control_parse()) is control_parse.c.
 *
 * Threads: see control.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control.h"
#include "log.h"
#include "schedule.h"
#include "strbuf.h"

/* Room for the whole control_describe() text (path, URL, title and artist
 * at their longest), which the audit line must not cut before its
 * redaction. */
#define CONTROL_MEANING_BYTES (2 * CONTROL_TEXT + 1024)

/* ---- Describing a request, and what became of it. ---- */

/* Copies url into dst with any "user:password@" shown as "***@". The
 * userinfo ends at the authority's last "@": a password with an "@" not
 * written %40 ("user:p@ss@host") must not show its tail. */
static void
redact_userinfo(char *dst, size_t len, const char *url)
{
	const char *host = strstr(url, "://"), *at = NULL, *end;

	if (host == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	for (const char *p = host; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	if (at == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	snprintf(dst, len, "%.*s***%s", (int)(host - url), url, at);
}

static void
describe_seconds(char *buf, size_t len, int64_t ns)
{
	if (ns % NS_PER_SEC == 0)
		snprintf(buf, len, "%" PRId64 " s", ns / NS_PER_SEC);
	else
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
}

char *
control_describe(const struct control_request *req, char *buf, size_t len)
{
	const struct programme_request *play = &req->play;
	struct strbuf sb = {0};
	char tmp[CONTROL_TEXT + 16];
	char *text;

	if (len == 0)
		return buf;
	switch (req->what) {
	case CONTROL_PLAY:
		strbuf_printf(&sb, "play %s", schedule_source_name(play->kind));
		if (req->path[0] != '\0')
			strbuf_printf(&sb, " %s", req->path);
		if (req->url[0] != '\0') {
			redact_userinfo(tmp, sizeof(tmp), req->url);
			strbuf_printf(&sb, " %s", tmp);
		}
		if (play->kind == SCHEDULE_SOURCE_TONE)
			strbuf_printf(&sb, " %g Hz %g dBFS", play->frequency_hz,
			    play->level_dbfs);
		if (play->duration_ns > 0) {
			describe_seconds(tmp, sizeof(tmp), play->duration_ns);
			strbuf_printf(&sb, " %s", tmp);
		} else
			strbuf_puts(&sb, " (whole file)");
		if (play->at_wall_ns > 0)
			strbuf_printf(&sb, " at %s",
			    util_format_iso8601(
				play->at_wall_ns, false, tmp, sizeof(tmp)));
		if (req->title[0] != '\0')
			strbuf_printf(&sb, " '%s'", req->title);
		if (req->artist[0] != '\0')
			strbuf_printf(&sb, " by '%s'", req->artist);
		break;
	case CONTROL_SKIP:
		strbuf_puts(&sb, "skip the segment on air");
		break;
	case CONTROL_METADATA:
		strbuf_printf(&sb, "live title '%s'", req->title);
		if (req->artist[0] != '\0')
			strbuf_printf(&sb, " by '%s'", req->artist);
		break;
	case CONTROL_RELOAD:
		strbuf_puts(&sb, "reload config and schedule");
		break;
	}
	text = strbuf_take(&sb);
	util_strlcpy(buf, text != NULL ? text : "?", len);
	free(text);
	return buf;
}

char *
control_title_text(const struct engine_title_result *r, char *buf, size_t len)
{
	struct strbuf sb = {0};
	char *text;

	if (len == 0)
		return buf;
	switch (r->fate) {
	case ENGINE_TITLE_ON_AIR:
		strbuf_puts(&sb, "on air now");
		break;
	case ENGINE_TITLE_HELD:
		strbuf_printf(&sb,
		    "held: on air in %.1f s, %g s after the last title change "
		    "(titles are coalesced); a later title before then "
		    "replaces it",
		    (double)r->due_in_ns / 1e9, (double)r->gap_ns / 1e9);
		break;
	case ENGINE_TITLE_WAITS_FOR_LIVE:
		if (r->segment_first)
			strbuf_printf(&sb,
			    "held: segment %s starts in %.1f s, before %g s "
			    "after the last title change have passed (titles "
			    "are coalesced); the title goes on air when live "
			    "returns; a later title before then replaces it",
			    r->segment[0] != '\0' ? r->segment : "(unnamed)",
			    (double)r->segment_in_ns / 1e9,
			    (double)r->gap_ns / 1e9);
		else
			strbuf_puts(&sb,
			    "set for the live programme: a segment or the "
			    "filler is on air, the title goes on air when "
			    "live returns");
		break;
	case ENGINE_TITLE_UNCHANGED:
		strbuf_puts(&sb, "already the live title on air: nothing "
				 "changes");
		break;
	}
	if (r->replaced) {
		strbuf_printf(&sb, "; replaces '%s'", r->replaced_title);
		if (r->replaced_artist[0] != '\0')
			strbuf_printf(&sb, " by '%s'", r->replaced_artist);
		strbuf_puts(&sb, ", which never aired");
	}
	text = strbuf_take(&sb);
	util_strlcpy(buf, text != NULL ? text : "?", len);
	free(text);
	return buf;
}

bool
control_title_log_due(struct control_title_log_state *st, int64_t now_mono_ns,
    unsigned int *left_out)
{
	if (st->last_ns != 0 &&
	    now_mono_ns - st->last_ns < CONTROL_TITLE_LOG_NS) {
		st->left_out++;
		return false;
	}
	*left_out = st->left_out;
	st->left_out = 0;
	st->last_ns = now_mono_ns;
	return true;
}

void
control_title_log(const struct control_request *req, int64_t now_mono_ns)
{
	static struct control_title_log_state st;
	const struct engine_title_result *r = &req->title_result;
	char by[STATS_TEXT + 8] = "", more[96] = "";
	unsigned int left_out;

	if (!req->has_title_result || !r->replaced ||
	    !control_title_log_due(&st, now_mono_ns, &left_out))
		return;
	if (r->replaced_artist[0] != '\0')
		snprintf(by, sizeof(by), " by '%s'", r->replaced_artist);
	if (left_out > 0)
		snprintf(more, sizeof(more),
		    " (and %u more replaced unaired since the last such line)",
		    left_out);
	log_info("programme",
	    "live title '%s'%s replaced before it aired by '%s' (titles less "
	    "than %g s apart are coalesced)%s",
	    r->replaced_title, by, req->title, (double)r->gap_ns / 1e9, more);
}

char *
control_withdrawn_text(
    const struct programme_withdrawn *w, size_t n, char *buf, size_t len)
{
	char item[sizeof(w->segment) + 48], tail[48];
	size_t used = 0, shown = 0, need, rest;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	/* Whole names in order while they fit, each with room left for
	 * the count of those after it, should the next not fit. */
	for (shown = 0; shown < n; shown++) {
		snprintf(item, sizeof(item), "%srequest %" PRIu64 " (%s)",
		    shown > 0 ? ", " : "", w[shown].request_id,
		    w[shown].segment);
		need = strlen(item);
		rest = n - shown - 1;
		snprintf(tail, sizeof(tail), " and %zu more", rest);
		if (used + need + (rest > 0 ? strlen(tail) : 0) >= len)
			break;
		memcpy(buf + used, item, need + 1);
		used += need;
	}
	if (shown == n)
		return buf;
	if (shown == 0)
		snprintf(
		    tail, sizeof(tail), "%zu request%s", n, n == 1 ? "" : "s");
	else
		snprintf(tail, sizeof(tail), " and %zu more", n - shown);
	util_strlcpy(buf + used, tail, len - used);
	return buf;
}

/* ---- Failed token attempts. ---- */

/* CONTROL_AUTH_MAX_FAILS refusals (no, or a wrong, token) from one
 * address within CONTROL_AUTH_WINDOW_NS lock it out for
 * CONTROL_AUTH_LOCKOUT_NS: every control call from it gets 429, the token
 * unchecked, and no audit line. At most CONTROL_AUTH_SLOTS addresses are
 * tracked; a new one takes the slot idle longest. */
#define CONTROL_AUTH_MAX_FAILS 5
#define CONTROL_AUTH_WINDOW_NS (10 * NS_PER_SEC)
#define CONTROL_AUTH_LOCKOUT_NS (30 * NS_PER_SEC)
#define CONTROL_AUTH_SLOTS 64

struct auth_slot {
	char addr[64]; /* "" = free */
	int64_t window_start_ns;
	int fails;
	int64_t locked_until_ns; /* 0 = not locked */
	unsigned int refused;	 /* calls answered 429 in this lockout */
	int64_t last_ns;
};

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth_slot auth_slots[CONTROL_AUTH_SLOTS];

/* "127.0.0.1:50312" -> "127.0.0.1", "[::1]:50312" -> "::1". */
static void
client_addr(const char *client, char *out, size_t len)
{
	const char *end;

	if (client == NULL)
		client = "?";
	if (client[0] == '[' && (end = strchr(client, ']')) != NULL) {
		snprintf(out, len, "%.*s", (int)(end - client - 1), client + 1);
		return;
	}
	end = strrchr(client, ':');
	if (end != NULL && strchr(client, ':') == end)
		snprintf(out, len, "%.*s", (int)(end - client), client);
	else
		util_strlcpy(out, client, len);
}

static struct auth_slot *
auth_find(const char *addr, bool create, int64_t now)
{
	struct auth_slot *victim = NULL, *s;
	size_t i;

	for (i = 0; i < CONTROL_AUTH_SLOTS; i++) {
		s = &auth_slots[i];
		if (strcmp(s->addr, addr) == 0)
			return s;
		/* A free slot, else the one idle longest. */
		if (victim == NULL ||
		    (victim->addr[0] != '\0' &&
			(s->addr[0] == '\0' || s->last_ns < victim->last_ns)))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	util_strlcpy(victim->addr, addr, sizeof(victim->addr));
	victim->window_start_ns = now;
	victim->last_ns = now;
	return victim;
}

/* Before the token is looked at: seconds to wait (429) or 0. Logs the end
 * of a lockout. */
static unsigned int
auth_locked(const char *addr, int64_t now)
{
	struct auth_slot *s;
	unsigned int wait_s = 0, refused = 0;
	bool ended = false;

	pthread_mutex_lock(&auth_lock);
	s = auth_find(addr, false, now);
	if (s != NULL && s->locked_until_ns != 0) {
		if (now < s->locked_until_ns) {
			wait_s = (unsigned int)((s->locked_until_ns - now +
						    NS_PER_SEC - 1) /
						NS_PER_SEC);
			s->refused++;
			s->last_ns = now;
		} else {
			ended = true;
			refused = s->refused;
			memset(s, 0, sizeof(*s));
		}
	}
	pthread_mutex_unlock(&auth_lock);
	if (ended)
		log_info("control",
		    "%s: lockout over (%u calls refused with 429 during it)",
		    addr, refused);
	return wait_s;
}

/* A refused token: true when this call is still worth an audit line (the
 * first CONTROL_AUTH_MAX_FAILS - 1 of a window); the one that locks the
 * address out logs that instead. */
static bool
auth_failed(const char *addr, const char *why, int64_t now)
{
	struct auth_slot *s;
	bool audit_it = true, locked = false;

	pthread_mutex_lock(&auth_lock);
	s = auth_find(addr, true, now);
	if (now - s->window_start_ns > CONTROL_AUTH_WINDOW_NS) {
		s->window_start_ns = now;
		s->fails = 0;
	}
	s->last_ns = now;
	if (++s->fails >= CONTROL_AUTH_MAX_FAILS) {
		s->locked_until_ns = now + CONTROL_AUTH_LOCKOUT_NS;
		s->refused = 0;
		s->fails = 0;
		audit_it = false;
		locked = true;
	}
	pthread_mutex_unlock(&auth_lock);
	if (locked)
		log_warn("control",
		    "%s: %d refused tokens within %" PRId64 " s (last: %s); "
		    "answering 429 to every control call from it for %" PRId64
		    " s",
		    addr, CONTROL_AUTH_MAX_FAILS,
		    CONTROL_AUTH_WINDOW_NS / NS_PER_SEC, why,
		    CONTROL_AUTH_LOCKOUT_NS / NS_PER_SEC);
	return audit_it;
}

/* ---- The endpoints. ---- */

/* How long a control request waits for the main thread. */
#define CONTROL_TIMEOUT_NS (5 * NS_PER_SEC)
#define CONTROL_RELOAD_TIMEOUT_NS (30 * NS_PER_SEC)

/* The HTTP status codes the control API answers with. */
#define HTTP_OK 200
#define HTTP_ACCEPTED 202
#define HTTP_BAD_REQUEST 400
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_METHOD_NOT_ALLOWED 405
#define HTTP_CONTENT_TOO_LARGE 413
#define HTTP_UNPROCESSABLE_CONTENT 422
#define HTTP_TOO_MANY_REQUESTS 429
#define HTTP_INTERNAL_ERROR 500
#define HTTP_SERVICE_UNAVAILABLE 503

static const char *const control_paths[] = {
    [CONTROL_ENDPOINT_SEGMENTS] = "/api/segments",
    [CONTROL_ENDPOINT_SKIP] = "/api/skip",
    [CONTROL_ENDPOINT_METADATA] = "/api/metadata",
    [CONTROL_ENDPOINT_RELOAD] = "/api/reload",
};

/* What a request meant before its body was read. */
static const char *const control_verbs[] = {
    [CONTROL_ENDPOINT_SEGMENTS] = "play a segment",
    [CONTROL_ENDPOINT_SKIP] = "skip the segment on air",
    [CONTROL_ENDPOINT_METADATA] = "set the live title",
    [CONTROL_ENDPOINT_RELOAD] = "reload config and schedule",
};

bool
control_endpoint_of(const char *path, enum control_endpoint *ep)
{
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(control_paths); i++) {
		if (strcmp(path, control_paths[i]) == 0) {
			*ep = (enum control_endpoint)i;
			return true;
		}
	}
	return false;
}

/* One audit line per control call, refused ones included. Runs on: a
 * connection thread. */
static void
audit(const struct control_call *call, unsigned int code, const char *meaning,
    const char *error, control_redact_cb *redact, void *redact_arg)
{
	char m[24], esc[CONTROL_RESULT_BYTES + 1200];
	struct strbuf sb = {0};
	char *line;

	/* Whole until the redact callback has had it (a cut could leave
	 * part of the token, which it blanks only whole); cut after. */
	log_escape(m, sizeof(m), call->method);
	strbuf_printf(&sb, "%s %s %s %u %s",
	    call->client != NULL ? call->client : "?", m,
	    control_paths[call->endpoint], code, meaning);
	if (error != NULL && error[0] != '\0')
		strbuf_printf(&sb, ": %s", error);
	line = strbuf_take(&sb);
	if (line == NULL) {
		log_warn("control",
		    "%s %s %u: out of memory for the audit line", m,
		    control_paths[call->endpoint], code);
		return;
	}
	if (redact != NULL)
		redact(line, strlen(line) + 1, redact_arg);
	log_escape(esc, sizeof(esc), line);
	free(line);
	if (code >= 200 && code < 300)
		log_info("control", "%s", esc);
	else
		log_warn("control", "%s", esc);
}

/*
 * {"error": text}, or {"ok": true, "request": text} plus, for a segment,
 * "id" and "state": "pending" (follow it in /api/status "requests"), for
 * a reload and a skip "result": what it did, and for a skip that withdrew
 * waiting requests "withdrawn": their ids (withdrawn[0..n_withdrawn),
 * every one, whatever the result's text could name). NULL on OOM.
 */
/* A live title's answer: "on_air" (true when it is, or is already, the
 * title on air), "on_air_in_s" (0 on air now; seconds while held; null
 * when it waits for live to return) and "replaced" ({"title", "artist"}
 * of the title not yet on air it replaced, which never airs; or null). */
static bool
add_title_fields(cJSON *root, const struct engine_title_result *r)
{
	bool on_air =
	    r->fate == ENGINE_TITLE_ON_AIR || r->fate == ENGINE_TITLE_UNCHANGED;
	char clean[STATS_TEXT];
	cJSON *o;

	if (cJSON_AddBoolToObject(root, "on_air", on_air) == NULL)
		return false;
	if (r->fate == ENGINE_TITLE_WAITS_FOR_LIVE) {
		if (cJSON_AddNullToObject(root, "on_air_in_s") == NULL)
			return false;
	} else if (cJSON_AddNumberToObject(root, "on_air_in_s",
		       r->fate == ENGINE_TITLE_HELD
			   ? round((double)r->due_in_ns / 1e8) / 10.0
			   : 0.0) == NULL) {
		return false;
	}
	if (!r->replaced)
		return cJSON_AddNullToObject(root, "replaced") != NULL;
	o = cJSON_AddObjectToObject(root, "replaced");
	if (o == NULL)
		return false;
	util_sanitize_text(clean, sizeof(clean), r->replaced_title);
	if (cJSON_AddStringToObject(o, "title", clean) == NULL)
		return false;
	util_sanitize_text(clean, sizeof(clean), r->replaced_artist);
	return cJSON_AddStringToObject(o, "artist", clean) != NULL;
}

static char *
answer_body(unsigned int code, const char *text, uint64_t id,
    const char *result, const uint64_t *withdrawn, size_t n_withdrawn,
    const struct engine_title_result *title)
{
	cJSON *root, *ids;
	char clean[CONTROL_RESULT_BYTES + 200], *body = NULL;
	size_t i;

	util_sanitize_text(clean, sizeof(clean), text);
	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	if (code >= 200 && code < 300) {
		if (cJSON_AddTrueToObject(root, "ok") == NULL ||
		    cJSON_AddStringToObject(root, "request", clean) == NULL)
			goto out;
		if (id != 0 &&
		    (cJSON_AddNumberToObject(root, "id", (double)id) == NULL ||
			cJSON_AddStringToObject(root, "state", "pending") ==
			    NULL))
			goto out;
		if (result != NULL && result[0] != '\0') {
			util_sanitize_text(clean, sizeof(clean), result);
			if (cJSON_AddStringToObject(root, "result", clean) ==
			    NULL)
				goto out;
		}
		if (n_withdrawn > 0) {
			ids = cJSON_AddArrayToObject(root, "withdrawn");
			if (ids == NULL)
				goto out;
			for (i = 0; i < n_withdrawn; i++) {
				if (!cJSON_AddItemToArray(
					ids, cJSON_CreateNumber(
						 (double)withdrawn[i])))
					goto out;
			}
		}
		if (title != NULL && !add_title_fields(root, title))
			goto out;
	} else if (cJSON_AddStringToObject(root, "error", clean) == NULL) {
		goto out;
	}
	body = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return body;
}

void
control_handle(const struct control_call *call, control_redact_cb *redact,
    void *redact_arg, struct control_answer *out)
{
	enum control_endpoint ep = call->endpoint;
	struct control_request *req = NULL;
	char err[CONTROL_RESULT_BYTES + 200], meaning[CONTROL_MEANING_BYTES];
	char addr[64];
	uint64_t withdrawn[PROGRAMME_MAX_WITHDRAWN];
	size_t n_withdrawn = 0;
	struct engine_title_result title = {0};
	bool has_title = false;
	int64_t now = util_now_mono_ns();
	unsigned int code = 0, wait_s;
	uint64_t id = 0;
	bool ok, quiet = false;
	int rc;

	err[0] = '\0';
	out->retry_after_s = 0;
	util_strlcpy(meaning, control_verbs[ep], sizeof(meaning));
	if (strcmp(call->method, "POST") != 0) {
		code = HTTP_METHOD_NOT_ALLOWED;
		snprintf(
		    err, sizeof(err), "%s takes POST only", control_paths[ep]);
		goto answer;
	}
	client_addr(call->client, addr, sizeof(addr));
	wait_s = auth_locked(addr, now);
	if (wait_s > 0) {
		code = HTTP_TOO_MANY_REQUESTS;
		snprintf(err, sizeof(err),
		    "too many refused tokens from %s; try again in %u s", addr,
		    wait_s);
		out->retry_after_s = wait_s;
		quiet = true;
		goto answer;
	}
	switch (call->auth) {
	case STATUS_AUTH_OK:
		break;
	case STATUS_AUTH_MISSING:
		code = HTTP_UNAUTHORIZED;
		util_strlcpy(err,
		    "a bearer token is required (Authorization: Bearer TOKEN)",
		    sizeof(err));
		break;
	case STATUS_AUTH_WRONG:
		code = HTTP_FORBIDDEN;
		util_strlcpy(err, "wrong token", sizeof(err));
		break;
	case STATUS_AUTH_DISABLED:
		code = HTTP_FORBIDDEN;
		util_strlcpy(err,
		    "control is disabled: set [status] token, "
		    "token_file or token_env",
		    sizeof(err));
		break;
	}
	/* A relay without a token has none to guess: not counted. */
	if (code != 0 && call->auth != STATUS_AUTH_DISABLED)
		quiet = !auth_failed(addr, err, now);
	if (code != 0)
		goto answer;
	if (call->body_bytes > CONTROL_MAX_BODY_BYTES) {
		code = HTTP_CONTENT_TOO_LARGE;
		snprintf(err, sizeof(err),
		    "the body is %" PRIu64 " bytes, at most %zu allowed",
		    call->body_bytes, CONTROL_MAX_BODY_BYTES);
		goto answer;
	}
	if (call->query != NULL) {
		code = HTTP_BAD_REQUEST;
		/* As unknown_field(): a long name is not shown, not cut. */
		if (strlen(call->query) <= CONTROL_FIELD_SHOWN)
			snprintf(err, sizeof(err),
			    "query parameter \"%s\": the control endpoints "
			    "take none; the request goes in the body",
			    call->query);
		else
			snprintf(err, sizeof(err),
			    "a query parameter of %zu bytes: the control "
			    "endpoints take none; the request goes in the body",
			    strlen(call->query));
		goto answer;
	}
	req = malloc(sizeof(*req));
	if (req == NULL) {
		code = HTTP_INTERNAL_ERROR;
		util_strlcpy(err, "out of memory", sizeof(err));
		goto answer;
	}
	rc = control_parse(ep, call->body, call->body_len, util_now_wall_ns(),
	    req, err, sizeof(err));
	if (rc < 0) {
		code =
		    rc == -EMSGSIZE ? HTTP_CONTENT_TOO_LARGE : HTTP_BAD_REQUEST;
		goto answer;
	}
	control_describe(req, meaning, sizeof(meaning));
	if (control_check_sources(req, err, sizeof(err)) < 0) {
		code = HTTP_UNPROCESSABLE_CONTENT;
		goto answer;
	}
	/* A reload rebuilds encoders and drains outputs: give it longer. */
	rc = control_submit(req,
	    req->what == CONTROL_RELOAD ? CONTROL_RELOAD_TIMEOUT_NS
					: CONTROL_TIMEOUT_NS,
	    err, sizeof(err));
	switch (rc) {
	case 0:
		/* Done (reload, metadata, skip) or accepted and followed
		 * by id (a segment). */
		code = req->what == CONTROL_PLAY ? HTTP_ACCEPTED : HTTP_OK;
		id = req->id;
		n_withdrawn = req->n_withdrawn;
		memcpy(withdrawn, req->withdrawn, sizeof(withdrawn));
		has_title = req->has_title_result;
		title = req->title_result;
		break;
	case -ETIMEDOUT:
	case -ESHUTDOWN:
	case -ENOTSUP:
	case -EINPROGRESS:
		code = HTTP_SERVICE_UNAVAILABLE;
		break;
	default:
		code = HTTP_UNPROCESSABLE_CONTENT;
		break;
	}
	if ((code < 200 || code >= 300) && err[0] == '\0') {
		char ebuf[128];

		snprintf(err, sizeof(err), "refused (%s)",
		    strerror_r(-rc, ebuf, sizeof(ebuf)));
	}
answer:
	free(req);
	ok = code >= 200 && code < 300;
	if (ok && id != 0)
		snprintf(meaning + strlen(meaning),
		    sizeof(meaning) - strlen(meaning), " (request %" PRIu64 ")",
		    id);
	/* A skip's line says what it did (a segment ended, or a "play now"
	 * waiting for its source withdrawn). */
	if (!quiet)
		audit(call, code, meaning,
		    ok && call->endpoint != CONTROL_ENDPOINT_SKIP ? NULL : err,
		    redact, redact_arg);
	out->code = code;
	out->body = answer_body(code, ok ? meaning : err, id, ok ? err : NULL,
	    withdrawn, ok ? n_withdrawn : 0, ok && has_title ? &title : NULL);
}

/* ---- The queue to the main thread. ---- */

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond;
static int efd = -1;
static control_handler_cb *handler;
static void *handler_arg;
static bool pending, answered, shut;
static struct control_request slot;
static uint64_t slot_seq;    /* the request in the slot */
static uint64_t running_seq; /* the request the main thread runs; 0 */
static uint64_t last_seq;
static int result;
static uint64_t result_id;
static uint64_t result_withdrawn[PROGRAMME_MAX_WITHDRAWN];
static size_t result_n_withdrawn;
static bool result_has_title;
static struct engine_title_result result_title;
static char result_err[CONTROL_RESULT_BYTES];

int
control_init(control_handler_cb *cb, void *arg)
{
	pthread_condattr_t ca;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&done_cond, &ca);
	pthread_condattr_destroy(&ca);
	handler = cb;
	handler_arg = arg;
	shut = false;
	return 0;
}

void
control_shutdown(void)
{
	control_sources_release();
	pthread_mutex_lock(&lock);
	shut = true;
	if (pending) {
		result = -ESHUTDOWN;
		util_strlcpy(
		    result_err, "relay is stopping", sizeof(result_err));
		answered = true;
		pending = false;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
}

int
control_fd(void)
{
	return efd;
}

int
control_submit(
    struct control_request *req, int64_t timeout_ns, char *err, size_t errlen)
{
	struct timespec ts;
	int64_t deadline = util_now_mono_ns() + timeout_ns;
	uint64_t one = 1, mine;
	int rc;

	if (efd < 0) {
		snprintf(err, errlen, "control is not available");
		return -ENOTSUP;
	}
	/* One request in the slot at a time: later callers queue here. */
	pthread_mutex_lock(&submit_lock);
	pthread_mutex_lock(&lock);
	if (shut) {
		pthread_mutex_unlock(&lock);
		pthread_mutex_unlock(&submit_lock);
		snprintf(err, errlen, "relay is stopping");
		return -ESHUTDOWN;
	}
	mine = ++last_seq;
	slot = *req;
	slot_seq = mine;
	pending = true;
	answered = false;
	if (write(efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one request at a time. */
	}
	ts.tv_sec = (time_t)(deadline / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline % NS_PER_SEC);
	while (!answered) {
		if (pthread_cond_timedwait(&done_cond, &lock, &ts) == ETIMEDOUT)
			break;
	}
	if (answered) {
		rc = result;
		req->id = result_id;
		req->n_withdrawn = result_n_withdrawn;
		memcpy(
		    req->withdrawn, result_withdrawn, sizeof(req->withdrawn));
		req->has_title_result = result_has_title;
		req->title_result = result_title;
		util_strlcpy(err, result_err, errlen);
	} else if (running_seq == mine) {
		/* Too late to withdraw: say so rather than "failed". */
		pending = false;
		rc = -EINPROGRESS;
		snprintf(err, errlen,
		    "the main loop is still carrying this request out; it "
		    "may yet take effect (see /api/status)");
	} else {
		pending = false; /* the main thread will not run it now */
		rc = -ETIMEDOUT;
		snprintf(err, errlen,
		    "the main loop did not answer in time; the request was "
		    "withdrawn and will not be carried out");
	}
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(&submit_lock);
	return rc;
}

/* The handler sees the string fields through play's pointers. */
static void
point_strings(struct control_request *req)
{
	req->play.path = req->path[0] != '\0' ? req->path : NULL;
	req->play.url = req->url[0] != '\0' ? req->url : NULL;
	req->play.title = req->title[0] != '\0' ? req->title : NULL;
	req->play.artist = req->artist[0] != '\0' ? req->artist : NULL;
	req->play.name = req->name[0] != '\0' ? req->name : NULL;
}

void
control_run(void)
{
	struct control_request req;
	uint64_t v, seq;
	char err[CONTROL_RESULT_BYTES];
	int rc;

	if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&lock);
	if (!pending || running_seq != 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	req = slot;
	seq = slot_seq;
	running_seq = seq;
	pthread_mutex_unlock(&lock);

	point_strings(&req);
	req.id = 0;
	req.n_withdrawn = 0;
	req.has_title_result = false;
	err[0] = '\0';
	rc = handler(&req, err, sizeof(err), handler_arg);

	pthread_mutex_lock(&lock);
	running_seq = 0;
	/* Only the caller of this very request gets this answer. */
	if (pending && slot_seq == seq) {
		result = rc;
		result_id = req.id;
		result_n_withdrawn = req.n_withdrawn < PROGRAMME_MAX_WITHDRAWN
					 ? req.n_withdrawn
					 : PROGRAMME_MAX_WITHDRAWN;
		memcpy(
		    result_withdrawn, req.withdrawn, sizeof(result_withdrawn));
		result_has_title = req.has_title_result;
		result_title = req.title_result;
		util_strlcpy(result_err, err, sizeof(result_err));
		answered = true;
		pending = false;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
}
