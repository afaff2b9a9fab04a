/* SPDX-License-Identifier: MIT */
/*
 * relay --check: trial runs of what start-up would do. See check.h.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "audio_file.h"
#include "check.h"
#include "encoder.h"
#include "source.h"
#include "tls.h"
#include "util.h"

/* More occurrences than this competing at one instant draw a warning. */
#define CHECK_OVERLAP_MAX 16

/* Every encoding as engine_start() would build it. */
static int
check_encodings(const struct config *cfg, FILE *errs)
{
	char err[512];
	size_t i;
	int n = 0;

	for (i = 0; i < cfg->n_encodings; i++) {
		const struct encoding_config *c = &cfg->encodings[i];
		struct encoder *enc;

		err[0] = '\0';
		enc = encoder_new(c, cfg->input.rate_hz, cfg->input.channels,
		    "", "", err, sizeof(err));
		if (enc == NULL) {
			fprintf(errs, "%s:%d: %s\n", cfg->path, c->line, err);
			n++;
		}
		encoder_free(enc);
	}
	return n;
}

/* Only a readable regular file passes (never blocks on a FIFO). */
static int
probe_regular_file(const char *path, char *why, size_t whylen)
{
	int fd = util_open_regular(path);

	if (fd < 0) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    util_open_strerror(fd));
		return fd;
	}
	close(fd);
	return 0;
}

static int
check_input(const struct config *cfg, FILE *errs)
{
	struct audio_file *af;
	char err[512];

	if (cfg->input.type != INPUT_FILE || cfg->input.path == NULL)
		return 0;
	if (probe_regular_file(cfg->input.path, err, sizeof(err)) < 0) {
		fprintf(errs, "%s:%d: [input] path: %s\n", cfg->path,
		    cfg->input.path_line, err);
		return 1;
	}
	err[0] = '\0';
	af = audio_file_open(cfg->input.path, cfg->input.rate_hz,
	    cfg->input.channels, err, sizeof(err));
	if (af == NULL) {
		fprintf(errs, "%s:%d: [input] path: %s\n", cfg->path,
		    cfg->input.path_line, err);
		return 1;
	}
	audio_file_close(af);
	return 0;
}

/* File and playlist segments that start-up would skip: warnings, since
 * the file may still appear before the segment is due. */
static int
check_segments(const struct config *cfg, const struct schedule *s, FILE *errs)
{
	char err[512];
	size_t i;
	int n = 0;

	for (i = 0; s != NULL && i < schedule_count(s); i++) {
		const struct schedule_segment *seg = schedule_segment(s, i);
		int64_t ns;

		err[0] = '\0';
		if (seg->source == SCHEDULE_SOURCE_FILE) {
			if (probe_regular_file(seg->path, err, sizeof(err)) ==
				0 &&
			    source_probe_duration(
				seg->path, &ns, err, sizeof(err)) == 0)
				continue;
		} else if (seg->source == SCHEDULE_SOURCE_PLAYLIST) {
			struct source_spec spec = {
			    .name = seg->name,
			    .kind = seg->source,
			    .path = seg->path,
			    .order = seg->order,
			};
			struct source *src =
			    source_open(&spec, cfg->input.rate_hz,
				cfg->input.channels, err, sizeof(err));
			if (src != NULL) {
				source_close(src);
				continue;
			}
		} else if (seg->source == SCHEDULE_SOURCE_STREAM) {
			/* A feed's own CA or client certificate, read the way
			 * config_load() reads [tls]'s. */
			struct tls_config t = {
			    .ca_file = seg->ca_file,
			    .ca_dir = seg->ca_dir,
			    .client_cert = seg->client_cert,
			};
			const char *key;

			if (tls_config_check(&t, &key, err, sizeof(err)) == 0)
				continue;
			fprintf(errs,
			    "%s:%d: [segment %s] %s: %s (warning: the segment "
			    "will be skipped unless this is fixed)\n",
			    cfg->schedule.file, seg->line, seg->name, key, err);
			n++;
			continue;
		} else {
			continue;
		}
		fprintf(errs,
		    "%s:%d: [segment %s] path: %s (warning: the segment "
		    "will be skipped unless this is fixed)\n",
		    cfg->schedule.file,
		    seg->path_line > 0 ? seg->path_line : seg->line, seg->name,
		    err);
		n++;
	}
	return n;
}

/* The [fallback] filler, opened as start-up opens it: a warning, since
 * digital silence stands in for it (and the file may still appear). */
static int
check_fallback(const struct config *cfg, FILE *errs)
{
	const struct fallback_config *fb = &cfg->fallback;
	struct source_spec spec = {
	    .name = "fallback",
	    .path = fb->path,
	    .order = SCHEDULE_ORDER_SEQUENTIAL,
	};
	struct source *src;
	char err[512];

	if (!fb->enabled ||
	    (fb->source != FALLBACK_FILE && fb->source != FALLBACK_PLAYLIST))
		return 0;
	spec.kind = fb->source == FALLBACK_FILE ? SCHEDULE_SOURCE_FILE
						: SCHEDULE_SOURCE_PLAYLIST;
	err[0] = '\0';
	if (fb->source == FALLBACK_FILE &&
	    probe_regular_file(fb->path, err, sizeof(err)) < 0)
		src = NULL;
	else
		src = source_open(&spec, cfg->input.rate_hz,
		    cfg->input.channels, err, sizeof(err));
	if (src != NULL) {
		source_close(src);
		return 0;
	}
	fprintf(errs,
	    "%s:%d: [fallback] path: %s (warning: digital silence will "
	    "stand in for the filler unless this is fixed)\n",
	    cfg->path, fb->path_line, err);
	return 1;
}

/* A schedule where many occurrences compete at once: valid, and cheap to
 * evaluate, but almost certainly not what was meant (a cron that fires
 * every minute with a day-long duration). A warning, over the next week. */
static int
check_overlaps(const struct config *cfg, const struct schedule *s, FILE *errs)
{
	struct schedule_overlap peak;
	const struct schedule_segment *seg;
	int64_t now = util_now_wall_ns();
	char when[64];

	if (s == NULL ||
	    schedule_overlap_peak(s, now, now + 7 * 24 * 3600 * NS_PER_SEC,
		CHECK_OVERLAP_MAX, &peak) < 0 ||
	    peak.occurrences <= CHECK_OVERLAP_MAX)
		return 0;
	seg = schedule_segment(s, peak.busiest);
	fprintf(errs,
	    "%s:%d: [segment %s] duration: warning: at %s more than %d "
	    "occurrences of %zu segment(s) could be on air at once; only one "
	    "plays (check the segments' cron and duration)\n",
	    cfg->schedule.file, seg->line, seg->name,
	    schedule_format_local(s, peak.at_wall_ns, when, sizeof(when)),
	    CHECK_OVERLAP_MAX, peak.segments);
	return 1;
}

/* File outputs: the pattern's fixed directory (archive_pattern_root(),
 * the part before the first field) must exist and be writable, or relay
 * would retry opening forever; relay creates the dated ones below it. A
 * missing one is more likely a typo than a wish for a new tree. */
static int
check_file_outputs(const struct config *cfg, FILE *errs)
{
	char dir[4096];
	size_t i;
	int n = 0;

	for (i = 0; i < cfg->n_outputs; i++) {
		const struct output_config *o = &cfg->outputs[i];

		if (o->type != OUTPUT_FILE || o->path == NULL ||
		    archive_pattern_root(o->path, dir, sizeof(dir)) < 0)
			continue;
		if (access(dir, W_OK | X_OK) != 0) {
			fprintf(errs,
			    "%s:%d: [output %s] path: cannot write in %s: %s\n",
			    cfg->path, o->path_line, o->name, dir,
			    strerror(errno));
			n++;
		}
	}
	return n;
}

/* Warns about one certificate file (each path once) whose earliest
 * certificate has expired or expires within TLS_EXPIRY_WARN_NS. */
static int
check_cert_file(const struct config *cfg, int line, const char *section,
    const char *key, const char *path, const char **seen, size_t *n_seen,
    FILE *errs)
{
	char subject[256], when[40];
	int64_t not_after, left;
	size_t i;

	if (path == NULL)
		return 0;
	for (i = 0; i < *n_seen; i++) {
		if (strcmp(seen[i], path) == 0)
			return 0;
	}
	if (*n_seen < 2 * CONFIG_MAX_OUTPUTS + 2)
		seen[(*n_seen)++] = path;
	if (tls_file_first_expiry(path, subject, sizeof(subject), &not_after) <
	    0)
		return 0; /* config_load() already refused what is unreadable */
	left = not_after - util_now_wall_ns();
	if (left >= TLS_EXPIRY_WARN_NS)
		return 0;
	util_format_iso8601(not_after, false, when, sizeof(when));
	fprintf(errs,
	    "%s:%d: %s %s: warning: the certificate %s in %s %s %s%s\n",
	    cfg->path, line, section, key, subject, path,
	    left < 0 ? "expired on" : "expires on", when,
	    left < 0 ? "" : " (within 14 days): renew it");
	return 1;
}

/* Certificates relay will present or trust that have expired or soon
 * will: warnings (a CA bundle may hold old certificates on purpose). */
static int
check_tls(const struct config *cfg, FILE *errs)
{
	const char *seen[2 * CONFIG_MAX_OUTPUTS + 2];
	char label[96];
	size_t i, n_seen = 0;
	int n = 0;

	/* [tls] first: an output that inherits a file is reported there. */
	n += check_cert_file(cfg, cfg->tls_line, "[tls]", "client_cert",
	    cfg->tls.client_cert, seen, &n_seen, errs);
	n += check_cert_file(cfg, cfg->tls_line, "[tls]", "ca_file",
	    cfg->tls.ca_file, seen, &n_seen, errs);
	for (i = 0; i < cfg->n_outputs; i++) {
		const struct output_config *o = &cfg->outputs[i];

		if (o->type != OUTPUT_ICECAST || !o->tls)
			continue;
		snprintf(label, sizeof(label), "[output %s]", o->name);
		n += check_cert_file(cfg, o->line, label, "client_cert",
		    o->tls_settings.client_cert, seen, &n_seen, errs);
		n += check_cert_file(cfg, o->line, label, "ca_file",
		    o->tls_settings.ca_file, seen, &n_seen, errs);
	}
	return n;
}

/* Passwords so short that they are easy to guess and that messages blank
 * only as a whole word (util_redact()): warnings. */
static int
check_short_passwords(const struct config *cfg, FILE *errs)
{
	char where[512];
	size_t i, n;
	int w = 0;

	for (i = 0; i < cfg->n_outputs; i++) {
		n = config_short_password(cfg, i, where, sizeof(where));
		if (n == 0)
			continue;
		fprintf(errs, "%s: warning: " CONFIG_SHORT_PASSWORD_FMT "\n",
		    where, CONFIG_SHORT_PASSWORD_ARGS(n));
		w++;
	}
	return w;
}

int
check_run(const struct config *cfg, const struct schedule *s, FILE *errs,
    int *n_warnings)
{
	int n, w;

	n = check_encodings(cfg, errs);
	n += check_input(cfg, errs);
	n += check_file_outputs(cfg, errs);
	w = check_segments(cfg, s, errs);
	w += check_overlaps(cfg, s, errs);
	w += check_fallback(cfg, errs);
	w += check_tls(cfg, errs);
	w += check_short_passwords(cfg, errs);
	if (n_warnings != NULL)
		*n_warnings = w;
	return n;
}
