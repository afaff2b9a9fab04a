/* SPDX-License-Identifier: MIT */
/*
 * "relay status": the status of a running relay for an operator's
 * terminal. Fetches URL/api/status with libcurl and prints one screen
 * (or, with --json, the document as received). Exit codes: 0 on air,
 * 1 off air, 2 unreachable or not a relay status document.
 *
 * Threads: runs alone on the main thread of a short-lived process.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "dynlib.h"
#include "status.h"
#include "status_rules.h"
#include "util.h"

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"
#define CLIENT_MAX_BODY_BYTES ((size_t)1024 * 1024)
#define CLIENT_TIMEOUT_MS 5000L
#define CLIENT_CONNECT_TIMEOUT_MS 3000L

enum {
	EXIT_ON_AIR = 0,
	EXIT_OFF_AIR = 1,
	EXIT_UNREACHABLE = 2,
};

struct body {
	char *data;
	size_t len;
	bool too_big;
};

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > CLIENT_MAX_BODY_BYTES - b->len) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->data = p;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: relay status [--url URL | -c FILE] [--json]\n"
	    "  --url URL   the relay's status address (default %s)\n"
	    "  -c FILE     take the address from FILE's [status] listen\n"
	    "  --json      print the /api/status document as received\n"
	    "Exit status: 0 on air, 1 off air, 2 unreachable.\n",
	    CLIENT_DEFAULT_URL);
}

/* ---- Reading the document. ---- */

static const char *
jstr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) && it->valuestring != NULL ? it->valuestring
							     : "";
}

static bool
jnum(const cJSON *obj, const char *key, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(it))
		return false;
	*out = it->valuedouble;
	return true;
}

static double
jnum0(const cJSON *obj, const char *key)
{
	double v = 0;

	jnum(obj, key, &v);
	return v;
}

static bool
jbool(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* ---- Formatting. ---- */

static void
fmt_bytes(double v, char *buf, size_t len)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < RELAY_ARRAY_LEN(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* s seconds as relay writes durations for people everywhere else (the
 * log, the operator page): util_format_duration(), to the second. */
static void
fmt_duration(double s, char *buf, size_t len)
{
	int64_t ns = s > 0 ? (int64_t)(s * 1e9) : 0;

	util_format_duration(util_round_ns(ns, NS_PER_SEC), buf, len);
}

/* "2026-11-27T10:00:00Z" -> seconds since the epoch; -1 if malformed. */
static int64_t
parse_iso(const char *s)
{
	struct tm tm = {0};
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* "10:00:01Z (2 h 03 min ago)" relative to the document's own time; the
 * date is shown only when it is not the document's day. */
static void
fmt_since(const char *iso, const char *doc_time, char *buf, size_t len)
{
	int64_t t = parse_iso(iso), now = parse_iso(doc_time);
	const char *shown = iso;
	char d[32];

	if (t < 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (strlen(iso) > 11 && strncmp(iso, doc_time, 10) == 0)
		shown = iso + 11;
	if (now >= t) {
		fmt_duration((double)(now - t), d, sizeof(d));
		snprintf(buf, len, "%s (%s ago)", shown, d);
	} else
		snprintf(buf, len, "%s", shown);
}

/* An output's last_error is history: it has connected since (as
 * status_rules_output_error_past() and the operator page tell it). */
static bool
error_past(const cJSON *out)
{
	int64_t since = parse_iso(jstr(out, "since"));
	int64_t at = parse_iso(jstr(out, "last_error_at"));

	if (!jbool(out, "connected") || jstr(out, "last_error")[0] == '\0')
		return false;
	return since < 0 || at < 0 || since >= at;
}

/* Drops control characters (a terminal escape in a title) and bad UTF-8
 * from every string of the document, in place. false on OOM. */
static bool
sanitize_tree(cJSON *node)
{
	cJSON *child;
	size_t cap;
	char *clean;

	if (cJSON_IsString(node) && node->valuestring != NULL) {
		cap = strlen(node->valuestring) * 3 + 1;
		clean = malloc(cap);
		if (clean == NULL)
			return false;
		util_sanitize_text(clean, cap, node->valuestring);
		cJSON_free(node->valuestring);
		node->valuestring = clean;
	}
	cJSON_ArrayForEach(child, node)
	{
		if (!sanitize_tree(child))
			return false;
	}
	return true;
}

struct style {
	const char *on, *off, *bold, *reset;
};

/* Control API requests still waiting or on air, then the last reload and
 * the last thing in the programme that did not go as planned. */
static void
print_programme_log(const cJSON *doc, const char *doc_time)
{
	const cJSON *arr, *it, *o;
	char since[96];

	arr = cJSON_GetObjectItemCaseSensitive(doc, "requests");
	cJSON_ArrayForEach(it, arr)
	{
		const char *state = jstr(it, "state");

		if (strcmp(state, "pending") != 0 &&
		    strcmp(state, "on_air") != 0)
			continue;
		printf("Request   #%.0f %s  %s  %s → %s\n", jnum0(it, "id"),
		    state,
		    jstr(it, "name")[0] != '\0' ? jstr(it, "name")
						: jstr(it, "title"),
		    jstr(it, "starts_at"), jstr(it, "ends_at"));
	}
	o = cJSON_GetObjectItemCaseSensitive(doc, "reload");
	if (cJSON_IsObject(o) && jstr(o, "at")[0] != '\0') {
		fmt_since(jstr(o, "at"), doc_time, since, sizeof(since));
		printf("Reload    %s %s",
		    jbool(o, "ok") ? "applied" : "REJECTED", since);
		if (jstr(o, "detail")[0] != '\0')
			printf(": %s", jstr(o, "detail"));
		printf("\n");
	}
	o = cJSON_GetObjectItemCaseSensitive(doc, "programme_error");
	if (cJSON_IsObject(o) && jstr(o, "at")[0] != '\0') {
		fmt_since(jstr(o, "at"), doc_time, since, sizeof(since));
		printf("Problem   %s", since);
		if (jstr(o, "segment")[0] != '\0')
			printf(" [%s]", jstr(o, "segment"));
		printf(": %s\n", jstr(o, "text"));
	}
}

/* One line on what relay's own listener hears on the output's mount. */
static void
print_listenback(const cJSON *out, const struct style *st)
{
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(out, "listenback");
	const char *state;
	bool flagged;
	double v;

	if (!cJSON_IsObject(lb))
		return;
	state = jstr(lb, "state");
	flagged = jbool(lb, "flagged");
	printf("          listen-back %s%s%s", flagged ? st->off : st->on,
	    state, st->reset);
	if (jnum(lb, "lag_ms", &v))
		printf("  lag %.0f ms", v);
	printf("  RMS %.0f dBFS  silent %.0f s  %s\n", jnum0(lb, "rms_dbfs"),
	    jnum0(lb, "silent_s"),
	    jbool(lb, "ours") ? "our stream" : "NOT our stream");
}

static void
print_summary(const cJSON *doc, const char *url, const struct style *st)
{
	const cJSON *station, *now, *pending, *input, *arr, *it;
	const char *doc_time = jstr(doc, "time");
	char a[64], b[64], c[64], since[96];
	bool on_air = jbool(doc, "on_air");
	double v;

	station = cJSON_GetObjectItemCaseSensitive(doc, "station");
	fmt_duration(jnum0(doc, "uptime_s"), a, sizeof(a));
	printf("%s%s%s  %s%s%s (%s)\n", st->bold, jstr(station, "name"),
	    st->reset, on_air ? st->on : st->off, on_air ? "ON AIR" : "OFF AIR",
	    st->reset, jstr(doc, "state"));
	printf("  up %s · %.0f listening · relay %s · %s\n", a,
	    jnum0(doc, "listeners"), jstr(doc, "version"), url);

	now = cJSON_GetObjectItemCaseSensitive(doc, "now");
	printf("Now       %s", jstr(now, "title"));
	if (jstr(now, "artist")[0] != '\0')
		printf(" · %s", jstr(now, "artist"));
	if (jstr(now, "segment")[0] != '\0')
		printf(" [%s]", jstr(now, "segment"));
	printf(" — %s", jstr(now, "source"));
	if (jstr(now, "started_at")[0] != '\0') {
		fmt_since(
		    jstr(now, "started_at"), doc_time, since, sizeof(since));
		printf(" since %s", since);
	}
	printf("\n");
	pending = cJSON_GetObjectItemCaseSensitive(now, "title_pending");
	if (cJSON_IsObject(pending)) {
		double due;

		printf("Held      %s", jstr(pending, "title"));
		if (jstr(pending, "artist")[0] != '\0')
			printf(" · %s", jstr(pending, "artist"));
		if (jnum(pending, "due_in_s", &due))
			printf(" — on air in %.1f s\n", due);
		else
			printf(" — on air when live returns\n");
	}
	arr = cJSON_GetObjectItemCaseSensitive(doc, "next");
	cJSON_ArrayForEach(it, arr)
	{
		printf("Next      %s  %s%s%s\n", jstr(it, "starts_at"),
		    jstr(it, "title"),
		    jstr(it, "segment")[0] != '\0' ? " · " : "",
		    jstr(it, "segment"));
	}

	input = cJSON_GetObjectItemCaseSensitive(doc, "input");
	printf("Input     %s  %s  peak %.1f dBFS  rms %.1f dBFS  silent %.1f s"
	       "  xruns %.0f  buffer peak %.2f of %.2f s",
	    jstr(input, "type"),
	    jbool(input, "flowing") ? "flowing" : "NOT FLOWING",
	    jnum0(input, "peak_dbfs"), jnum0(input, "rms_dbfs"),
	    jnum0(input, "silent_s"), jnum0(input, "xruns"),
	    jnum0(input, "buffer_peak_s"), jnum0(input, "buffer_s"));
	if (jnum0(input, "overflow_frames") > 0)
		printf("  LOST %.0f frames", jnum0(input, "overflow_frames"));
	putchar('\n');

	arr = cJSON_GetObjectItemCaseSensitive(doc, "encodings");
	cJSON_ArrayForEach(it, arr)
	{
		printf("Encoding  %s  %.0f Hz  %.0f ch  ", jstr(it, "name"),
		    jnum0(it, "rate"), jnum0(it, "channels"));
		if (jnum(it, "bitrate", &v))
			printf("%.0f kbit/s\n", v);
		else
			printf("quality %.1f\n", jnum0(it, "quality"));
	}

	arr = cJSON_GetObjectItemCaseSensitive(doc, "outputs");
	cJSON_ArrayForEach(it, arr)
	{
		bool conn = jbool(it, "connected");

		fmt_since(jstr(it, "since"), doc_time, since, sizeof(since));
		printf("Output    %s (%s, %s)  %s%s%s since %s\n",
		    jstr(it, "name"), jstr(it, "type"), jstr(it, "encoding"),
		    conn ? st->on : st->off,
		    conn ? "connected" : "DISCONNECTED", st->reset, since);
		if (jstr(it, "url")[0] != '\0') {
			printf("          %s", jstr(it, "url"));
			if (strcmp(jstr(it, "type"), "icecast") == 0)
				printf("  %s by Icecast",
				    jbool(it, "mount_listed") ? "listed"
							      : "NOT listed");
			if (jnum(it, "listeners", &v)) {
				printf("  %.0f listening", v);
				if (jnum(it, "listener_peak", &v))
					printf(" (peak %.0f)", v);
			}
			printf("\n");
		}
		fmt_bytes(jnum0(it, "bytes_sent"), a, sizeof(a));
		fmt_bytes(jnum0(it, "queue_bytes"), b, sizeof(b));
		fmt_bytes(jnum0(it, "dropped_bytes"), c, sizeof(c));
		printf("          sent %s  queued %s  dropped %s  reconnects "
		       "%.0f\n",
		    a, b, c, jnum0(it, "reconnects"));
		if (error_past(it) && jstr(it, "last_error_at")[0] != '\0') {
			fmt_since(jstr(it, "last_error_at"), doc_time, since,
			    sizeof(since));
			printf("          earlier, at %s: %s\n", since,
			    jstr(it, "last_error"));
		} else if (error_past(it))
			printf(
			    "          earlier: %s\n", jstr(it, "last_error"));
		else if (jstr(it, "last_error")[0] != '\0')
			printf("          last error: %s\n",
			    jstr(it, "last_error"));
		print_listenback(it, st);
	}
	print_programme_log(doc, doc_time);
}

/* Why off air when on_air follows listen-back: what each mount's
 * listener hears. */
static void
print_listenback_reasons(const cJSON *doc)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "outputs");
	const cJSON *it, *lb;
	bool said = false;

	printf("Off air because listeners do not hear us:");
	cJSON_ArrayForEach(it, arr)
	{
		lb = cJSON_GetObjectItemCaseSensitive(it, "listenback");
		if (!cJSON_IsObject(lb))
			continue;
		printf("%s %s: %s", said ? ";" : "", jstr(it, "name"),
		    jstr(lb, "state"));
		said = true;
	}
	printf("\n");
}

/* Why off air, in the order an operator should look. */
static void
print_off_air_reasons(const cJSON *doc)
{
	const cJSON *input, *arr, *it;
	bool any_conn = false, any_listed = false, any_reachable = false;
	double dead_air_s;

	const cJSON *now = cJSON_GetObjectItemCaseSensitive(doc, "now");
	const char *seg = jstr(now, "segment");
	bool said = false;

	input = cJSON_GetObjectItemCaseSensitive(doc, "input");
	/* The on-air rule's bound (an older relay does not send it). */
	dead_air_s =
	    jnum0(cJSON_GetObjectItemCaseSensitive(doc, "fallback"), "after_s");
	if (!(dead_air_s > 0))
		dead_air_s = (double)CONFIG_DEAD_AIR_DEFAULT_NS / 1e9;
	printf("Off air because:");
	/* The level is the programme's: name what is on air. */
	if (!jbool(input, "flowing")) {
		printf(" no audio is entering");
		said = true;
	} else if (jnum0(input, "silent_s") >= dead_air_s) {
		if (seg[0] != '\0')
			printf(" segment %s has been silent for %.0f s", seg,
			    jnum0(input, "silent_s"));
		else
			printf(" the live input has been silent for %.0f s",
			    jnum0(input, "silent_s"));
		said = true;
	}
	arr = cJSON_GetObjectItemCaseSensitive(doc, "outputs");
	cJSON_ArrayForEach(it, arr)
	{
		if (strcmp(jstr(it, "type"), "icecast") != 0)
			continue;
		if (jbool(it, "connected")) {
			any_conn = true;
			if (jbool(it, "mount_listed"))
				any_listed = true;
			if (jbool(it, "server_reachable"))
				any_reachable = true;
		}
	}
	if (!any_conn)
		printf("%s no Icecast output is connected", said ? ";" : "");
	else if (!any_reachable)
		printf("%s Icecast's status page does not answer",
		    said ? ";" : "");
	else if (!any_listed)
		printf("%s Icecast does not list our mount (yet)",
		    said ? ";" : "");
	else if (!said)
		printf(" the programme is off air");
	printf("\n");
}

static int
url_from_config(const char *path, char *url, size_t len)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN];
	const char *host;
	int rc;

	rc = config_load(path, &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "relay status: %s\n", err);
		return rc;
	}
	if (!cfg->status.enabled) {
		fprintf(
		    stderr, "relay status: %s: [status] listen = off\n", path);
		config_free(cfg);
		return -ENOENT;
	}
	host = cfg->status.listen_host;
	/* A wildcard bind is reached on loopback. */
	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	snprintf(url, len, "http://%s%s%s:%d", strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", cfg->status.listen_port);
	config_free(cfg);
	return 0;
}

int
status_client_main(int argc, char **argv)
{
	char why[240];
	struct style st = {"", "", "", ""};
	struct body body = {0};
	char base[1024] = CLIENT_DEFAULT_URL, full[1100], cerr[CURL_ERROR_SIZE];
	const char *config_path = NULL;
	bool json = false, have_url = false;
	cJSON *doc = NULL;
	CURL *curl = NULL;
	CURLcode cc;
	long code = 0;
	size_t n;
	int i, rc = EXIT_UNREACHABLE;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			util_strlcpy(base, argv[++i], sizeof(base));
			have_url = true;
		} else if (strncmp(argv[i], "--url=", 6) == 0) {
			util_strlcpy(base, argv[i] + 6, sizeof(base));
			have_url = true;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr,
			    "relay status: unknown argument "
			    "\"%s\"\n",
			    argv[i]);
			usage(stderr);
			return EXIT_UNREACHABLE;
		}
	}
	if (config_path != NULL && !have_url &&
	    url_from_config(config_path, base, sizeof(base)) < 0)
		return EXIT_UNREACHABLE;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	if (n >= 11 && strcmp(base + n - 11, "/api/status") == 0)
		base[n - 11] = '\0';
	snprintf(full, sizeof(full), "%s/api/status", base);

	if (dynlib_curl_init(why, sizeof(why)) < 0) {
		fprintf(stderr, "relay status: %s\n", why);
		return EXIT_UNREACHABLE;
	}
	curl = dynlib_curl.easy_init();
	if (curl == NULL) {
		fprintf(stderr, "relay status: out of memory\n");
		goto out;
	}
	cerr[0] = '\0';
	dynlib_curl.easy_setopt(curl, CURLOPT_URL, full);
	dynlib_curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	dynlib_curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	dynlib_curl.easy_setopt(
	    curl, CURLOPT_CONNECTTIMEOUT_MS, CLIENT_CONNECT_TIMEOUT_MS);
	dynlib_curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS, CLIENT_TIMEOUT_MS);
	dynlib_curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	dynlib_curl.easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	dynlib_curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	dynlib_curl.easy_setopt(curl, CURLOPT_USERAGENT, "relay-status");
	cc = dynlib_curl.easy_perform(curl);
	if (cc != CURLE_OK) {
		fprintf(stderr, "relay status: %s: %s\n", full,
		    body.too_big      ? "answer larger than 1 MB"
		    : cerr[0] != '\0' ? cerr
				      : dynlib_curl.easy_strerror(cc));
		if (cc == CURLE_COULDNT_CONNECT)
			fprintf(stderr,
			    "relay status: is relay running there? Point at "
			    "its [status] listen with -c FILE or --url URL\n");
		goto out;
	}
	dynlib_curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		fprintf(stderr, "relay status: %s: HTTP %ld\n", full, code);
		goto out;
	}
	doc = body.data != NULL ? cJSON_ParseWithLength(body.data, body.len)
				: NULL;
	if (!cJSON_IsObject(doc) ||
	    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(doc, "on_air"))) {
		fprintf(stderr,
		    "relay status: %s: not a relay status "
		    "document\n",
		    full);
		goto out;
	}
	rc = jbool(doc, "on_air") ? EXIT_ON_AIR : EXIT_OFF_AIR;
	if (json) {
		/* The document as received, for jq and scripts. */
		fwrite(body.data, 1, body.len, stdout);
		if (body.len == 0 || body.data[body.len - 1] != '\n')
			putchar('\n');
		goto out;
	}
	if (!sanitize_tree(doc)) {
		fprintf(stderr, "relay status: out of memory\n");
		rc = EXIT_UNREACHABLE;
		goto out;
	}
	if (isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL) {
		st.on = "\033[1;32m";
		st.off = "\033[1;31m";
		st.bold = "\033[1m";
		st.reset = "\033[0m";
	}
	print_summary(doc, base, &st);
	if (rc == EXIT_OFF_AIR) {
		if (strcmp(jstr(doc, "on_air_rule"), "listenback") == 0)
			print_listenback_reasons(doc);
		else
			print_off_air_reasons(doc);
	}
out:
	fflush(stdout);
	cJSON_Delete(doc);
	free(body.data);
	if (curl != NULL)
		dynlib_curl.easy_cleanup(curl);
	return rc;
}
