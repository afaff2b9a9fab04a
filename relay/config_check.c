/* SPDX-License-Identifier: MIT */
/*
 * The checks of one feature's keys, run by config_validate() once the
 * whole file is read: codec-specific encoding keys, the MP3 output's
 * metadata, the [status] lists, [fallback], TLS (inherited from [tls] into
 * each output) and the archive keys of file outputs. Each names the
 * FILE:LINE of the key at fault through config_set_err().
 *
 * Threads: main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <vorbis/vorbisenc.h>

#include "archive.h"
#include "config.h"
#include "config_internal.h"
#include "hook.h"
#include "tls.h"
#include "util.h"

/* Keys only one codec understands are refused for the other, so a typo
 * in codec = does not silently drop settings. */
static const char *const opus_only_keys[] = {
    "application", "complexity", "frame_ms"};
static const char *const vorbis_only_keys[] = {
    "quality", "min_bitrate", "max_bitrate"};

/* Refuses the first of keys[from..n) that s sets: "only for codec =
 * owner", with note saying what this codec takes instead. */
static int
refuse_keys(struct parse_state *ps, const struct section_state *s,
    const char *label, const char *const *keys, size_t from, size_t n,
    const char *owner, const char *note)
{
	size_t i;

	for (i = from; i < n; i++) {
		if (config_has_key(s, keys[i])) {
			config_set_err(ps, config_line_of(s, keys[i]),
			    "%s %s: only for codec = %s%s", label, keys[i],
			    owner, note);
			return -EINVAL;
		}
	}
	return 0;
}

int
config_check_vorbis_only(
    struct parse_state *ps, const struct section_state *s, const char *label)
{
	return refuse_keys(ps, s, label, opus_only_keys, 0,
	    RELAY_ARRAY_LEN(opus_only_keys), "opus", "");
}

/*
 * codec = opus: always 48 kHz (libopus's own rate; the programme is
 * resampled), 1 or 2 channels (mapping family 0, RFC 7845 section 5.1.1),
 * bitrate mode only, and a frame length libopus accepts.
 */
int
config_check_opus(struct parse_state *ps, const struct section_state *s,
    struct encoding_config *e, const char *label)
{
	static const double frames_ms[] = {2.5, 5, 10, 20, 40, 60};
	bool frame_ok = false;
	size_t i;

	if (refuse_keys(ps, s, label, vorbis_only_keys, 0,
		RELAY_ARRAY_LEN(vorbis_only_keys), "vorbis",
		" (opus takes bitrate)") < 0)
		return -EINVAL;
	if (config_has_key(s, "rate") && e->rate_hz != 48000) {
		config_set_err(ps, config_line_of(s, "rate"),
		    "%s rate: %d: opus always encodes at 48000 Hz (leave "
		    "rate out)",
		    label, e->rate_hz);
		return -EINVAL;
	}
	e->rate_hz = 48000;
	if (e->channels > 2) {
		config_set_err(ps, config_line_of(s, "channels"),
		    "%s channels: %d: opus takes 1 or 2 here", label,
		    e->channels);
		return -EINVAL;
	}
	for (i = 0; i < RELAY_ARRAY_LEN(frames_ms); i++) {
		if (e->frame_ms == frames_ms[i])
			frame_ok = true;
	}
	if (!frame_ok) {
		config_set_err(ps, config_line_of(s, "frame_ms"),
		    "%s frame_ms: %g is not an opus frame length (2.5, 5, "
		    "10, 20, 40 or 60)",
		    label, e->frame_ms);
		return -EINVAL;
	}
	if (!config_has_key(s, "bitrate"))
		e->bitrate_kbps = 32 * e->channels;
	e->managed = false;
	e->quality = 0;
	return 0;
}

/* The rate of hz's family that every player takes: 48000 for a multiple
 * of 8000 Hz, 44100 for the others (22050, 88200, ...). */
static int
rate_family(int hz)
{
	return hz % 8000 == 0 ? 48000 : 44100;
}

static long
vorbis_bps(int kbps)
{
	return kbps > 0 ? (long)kbps * 1000 : -1;
}

/* Whether libvorbisenc takes e's mode (as encoder.c sets it up) at rate. */
static bool
vorbis_takes(const struct encoding_config *e, int rate_hz)
{
	vorbis_info vi;
	int rc;

	vorbis_info_init(&vi);
	if (e->managed)
		rc = vorbis_encode_init(&vi, e->channels, rate_hz,
		    vorbis_bps(e->max_bitrate_kbps),
		    vorbis_bps(e->bitrate_kbps),
		    vorbis_bps(e->min_bitrate_kbps));
	else
		rc = vorbis_encode_init_vbr(
		    &vi, e->channels, rate_hz, (float)(e->quality / 10.0));
	vorbis_info_clear(&vi);
	return rc == 0;
}

void
config_vorbis_fallback(
    struct encoding_config *e, bool rate_left_out, bool channels_left_out)
{
	/* In order: the programme's channels and rate, then its rate's
	 * family, then stereo (the default before either followed the
	 * programme); the first libvorbisenc takes. */
	struct {
		bool ok;
		int channels;
		int rate_hz;
	} try[] = {
	    {true, e->channels, e->rate_hz},
	    {rate_left_out, e->channels, rate_family(e->rate_hz)},
	    {channels_left_out, 2, e->rate_hz},
	    {rate_left_out && channels_left_out, 2, rate_family(e->rate_hz)},
	};
	struct encoding_config t = *e;
	bool other = false;
	size_t i;

	/* Nothing else to try: no need to ask (and libvorbisenc 1.3.7's
	 * setup of 6 channels leaks 2848 bytes a time, which ASan reports). */
	for (i = 1; i < RELAY_ARRAY_LEN(try); i++)
		other |= try[i].ok && (try[i].channels != e->channels ||
					  try[i].rate_hz != e->rate_hz);
	if (!other)
		return;
	for (i = 0; i < RELAY_ARRAY_LEN(try); i++) {
		if (!try[i].ok)
			continue;
		t.channels = try[i].channels;
		if (vorbis_takes(&t, try[i].rate_hz)) {
			e->channels = try[i].channels;
			e->rate_hz = try[i].rate_hz;
			return;
		}
	}
}

/*
 * codec = mp3 (LAME): 44.1 or 48 kHz (the rates every MP3 player takes;
 * the programme is resampled; rate left out: the programme's when it is
 * one of them, else the same family's), 1 or 2 channels, and either
 * bitrate (CBR, one of MPEG-1 Layer III's bitrates) or quality (VBR,
 * LAME's -V 0..9), never both. The default is CBR, 64 kbit/s a channel.
 */
int
config_check_mp3(struct parse_state *ps, const struct section_state *s,
    struct encoding_config *e, const char *label)
{
	static const int rates_kbps[] = {
	    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
	bool rate_ok = false;
	size_t i;

	/* quality (vorbis_only_keys[0]) is LAME's VBR scale here. */
	if (config_check_vorbis_only(ps, s, label) < 0 ||
	    refuse_keys(ps, s, label, vorbis_only_keys, 1,
		RELAY_ARRAY_LEN(vorbis_only_keys), "vorbis",
		" (mp3 takes bitrate or quality)") < 0)
		return -EINVAL;
	/* rate left out and the programme's is neither: its family's, not
	 * an error, so a config that started before (when the default was
	 * 44100) starts still; --check shows it. */
	if (!config_has_key(s, "rate") && e->rate_hz != 44100 &&
	    e->rate_hz != 48000)
		e->rate_hz = rate_family(e->rate_hz);
	if (e->rate_hz != 44100 && e->rate_hz != 48000) {
		config_set_err(ps, config_line_of(s, "rate"),
		    "%s rate: %d: mp3 encodes at 44100 or 48000 Hz", label,
		    e->rate_hz);
		return -EINVAL;
	}
	if (e->channels > 2) {
		config_set_err(ps, config_line_of(s, "channels"),
		    "%s channels: %d: mp3 takes 1 or 2", label, e->channels);
		return -EINVAL;
	}
	if (config_has_key(s, "quality")) {
		if (config_has_key(s, "bitrate")) {
			config_set_err(ps, config_line_of(s, "quality"),
			    "%s quality: give either quality (VBR) or "
			    "bitrate (CBR), not both",
			    label);
			return -EINVAL;
		}
		if (e->quality < 0 || e->quality > 9) {
			config_set_err(ps, config_line_of(s, "quality"),
			    "%s quality: %g is out of range (mp3: LAME's VBR "
			    "scale, 0 best .. 9 smallest)",
			    label, e->quality);
			return -EINVAL;
		}
		e->managed = false;
		e->bitrate_kbps = 0;
		return 0;
	}
	if (!config_has_key(s, "bitrate"))
		e->bitrate_kbps = 64 * e->channels;
	for (i = 0; i < RELAY_ARRAY_LEN(rates_kbps); i++) {
		if (e->bitrate_kbps == rates_kbps[i])
			rate_ok = true;
	}
	if (!rate_ok) {
		config_set_err(ps, config_line_of(s, "bitrate"),
		    "%s bitrate: %d is not an MP3 bitrate (32, 40, 48, 56, "
		    "64, 80, 96, 112, 128, 160, 192, 224, 256 or 320)",
		    label, e->bitrate_kbps);
		return -EINVAL;
	}
	e->managed = true;
	return 0;
}

/*
 * An output of an mp3 encoding sends bare MP3 frames: no Ogg, so no chain
 * for titles (they go through Icecast's admin interface, the default here),
 * no file or archive (not written yet) and no listenback (it decodes Ogg).
 */
int
config_check_mp3_output(struct parse_state *ps, const struct section_state *s,
    const char *label, struct output_config *o)
{
	if (o->type == OUTPUT_FILE) {
		config_set_err(ps, config_line_of(s, "type"),
		    "%s type: file is not supported for an mp3 encoding "
		    "(stream it to Icecast, or archive a vorbis or opus "
		    "encoding)",
		    label);
		return -EINVAL;
	}
	if (config_has_key(s, "metadata") && o->metadata == METADATA_CHAIN) {
		config_set_err(ps, config_line_of(s, "metadata"),
		    "%s metadata: chain needs Ogg; an mp3 output takes admin "
		    "(the default for mp3) or none",
		    label);
		return -EINVAL;
	}
	if (!config_has_key(s, "metadata"))
		o->metadata = METADATA_ADMIN;
	if (!config_has_key(s, "listenback"))
		o->listenback = false; /* [defaults] may turn it on */
	if (o->listenback) {
		config_set_err(ps, config_line_of(s, "listenback"),
		    "%s listenback: not for an mp3 output (the check "
		    "decodes Ogg; enable it on a vorbis or opus output)",
		    label);
		return -EINVAL;
	}
	return 0;
}

/* What one item of a list key must look like; NULL or a reason. */
typedef const char *list_item_check(const char *item);

static const char *
check_origin(const char *o)
{
	const char *rest = util_http_url_rest(o);

	if (strcmp(o, "*") == 0)
		return NULL;
	if (rest == NULL || *rest == '\0' || strchr(rest, '/') != NULL ||
	    strpbrk(rest, "?#@") != NULL)
		return "is not an origin such as https://radio.example or "
		       "http://127.0.0.1:8081 (scheme, host, port; no path)";
	return NULL;
}

static const char *
check_listen_url(const char *u)
{
	char host[256];
	const char *path, *why = NULL;
	bool tls;
	int port;

	if (util_http_url_parse(
		u, host, sizeof(host), &port, &tls, &path, &why) < 0)
		return why;
	return NULL;
}

static const char *
check_dir(const char *d)
{
	if (strstr(d, "/../") != NULL || strcmp(d, "..") == 0 ||
	    strncmp(d, "../", 3) == 0 ||
	    (strlen(d) >= 3 && strcmp(d + strlen(d) - 3, "/..") == 0))
		return "must not contain \"..\"";
	return NULL;
}

static const char *
check_host(const char *h)
{
	const char *p;

	if (strstr(h, "://") != NULL || strpbrk(h, "/@?#%") != NULL)
		return "is not a host name or address (like "
		       "feeds.example.org, 192.0.2.7 or [2001:db8::7])";
	for (p = h; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "must not hold spaces or control characters";
	}
	return NULL;
}

/*
 * Splits a comma-separated key of [status] into *list (items trimmed,
 * empty ones skipped). "none" alone gives an empty list. 0 or -EINVAL
 * with the error set at the key's line.
 */
static int
parse_list(struct parse_state *ps, const struct section_state *s,
    const char *key, const char *text, list_item_check *check,
    struct config_list *list)
{
	const char *p = text, *why;
	char item[1024];

	while (*p == ' ' || *p == '\t')
		p++;
	if (strcasecmp(p, "none") == 0)
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *next = p + n + (p[n] == ',' ? 1 : 0);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item)) {
			config_set_err(ps, config_line_of(s, key),
			    "[status] %s: an item is over %zu bytes", key,
			    sizeof(item) - 1);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p = next;
		if (n == 0)
			continue;
		if ((why = check(item)) != NULL) {
			config_set_err(ps, config_line_of(s, key),
			    "[status] %s: \"%s\" %s", key, item, why);
			return -EINVAL;
		}
		if (list->n == CONFIG_MAX_LIST_ITEMS) {
			config_set_err(ps, config_line_of(s, key),
			    "[status] %s: more than %d items", key,
			    CONFIG_MAX_LIST_ITEMS);
			return -EINVAL;
		}
		list->item[list->n] = strdup(item);
		if (list->item[list->n] == NULL) {
			config_set_err(
			    ps, config_line_of(s, key), "out of memory");
			return -ENOMEM;
		}
		list->n++;
	}
	return 0;
}

void
config_list_free(struct config_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->item[i]);
	list->n = 0;
}

/* The [status] lists; media_dirs defaults to the schedule's directory. */
int
config_parse_status_lists(struct parse_state *ps, const struct section_state *s)
{
	struct status_config *st = &ps->cfg->status;
	size_t i;

	if (s != NULL && st->cors_origins_text != NULL &&
	    parse_list(ps, s, "cors_origins", st->cors_origins_text,
		check_origin, &st->cors_origins) < 0)
		return -EINVAL;
	for (i = 0; i < st->cors_origins.n; i++) {
		if (strcmp(st->cors_origins.item[i], "*") == 0 &&
		    st->cors_origins.n > 1) {
			config_set_err(ps, config_line_of(s, "cors_origins"),
			    "[status] cors_origins: \"*\" must stand alone");
			return -EINVAL;
		}
	}
	if (s != NULL && st->feed_hosts_text != NULL) {
		st->feed_hosts_set = true;
		if (parse_list(ps, s, "feed_hosts", st->feed_hosts_text,
			check_host, &st->feed_hosts) < 0)
			return -EINVAL;
	}
	if (s != NULL && st->listen_urls_text != NULL &&
	    parse_list(ps, s, "listen_urls", st->listen_urls_text,
		check_listen_url, &st->listen_urls) < 0)
		return -EINVAL;
	if (s != NULL && st->media_dirs_text != NULL) {
		if (parse_list(ps, s, "media_dirs", st->media_dirs_text,
			check_dir, &st->media_dirs) < 0)
			return -EINVAL;
		/* Relative to the config file, as every other path in it. */
		for (i = 0; i < st->media_dirs.n; i++)
			config_resolve_in_place(
			    ps->path, &st->media_dirs.item[i]);
	} else if (ps->cfg->schedule.file != NULL) {
		/* Already resolved against the config file's directory. */
		const char *f = ps->cfg->schedule.file;
		const char *slash = strrchr(f, '/');

		st->media_dirs.item[0] = slash == NULL ? strdup(".")
					 : slash == f
					     ? strdup("/")
					     : strndup(f, (size_t)(slash - f));
		if (st->media_dirs.item[0] == NULL) {
			config_set_err(ps, 0, "out of memory");
			return -ENOMEM;
		}
		st->media_dirs.n = 1;
	}
	for (i = 0; i < st->media_dirs.n; i++) {
		char *d = st->media_dirs.item[i];
		size_t n = strlen(d);

		while (n > 1 && d[n - 1] == '/')
			d[--n] = '\0';
	}
	return 0;
}

/* [fallback]: the threshold's default, the filler's path, the hooks. */
int
config_validate_fallback(struct parse_state *ps)
{
	struct fallback_config *fb = &ps->cfg->fallback;
	struct section_state *s = config_find_section(ps, SEC_FALLBACK, 0);
	const char *hooks[2] = {"on_dead_air", "on_restore"};
	const char *cmds[2] = {fb->on_dead_air, fb->on_restore};
	char buf[1024], why[256], *argv[HOOK_MAX_ARGS + 1];
	int argc, rc;
	size_t i;

	if (s == NULL)
		return 0;
	if (!config_has_key(s, "threshold_dbfs"))
		fb->threshold_dbfs = ps->cfg->input.silence_threshold_dbfs;
	config_resolve_in_place(ps->path, &fb->path);
	fb->path_line = config_line_of(s, "path");
	if ((fb->source == FALLBACK_FILE || fb->source == FALLBACK_PLAYLIST) &&
	    (fb->path == NULL || fb->path[0] == '\0')) {
		config_set_err(ps, config_line_of(s, "source"),
		    "[fallback] path: missing (source = %s needs a path)",
		    fallback_source_name(fb->source));
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		if (cmds[i] == NULL)
			continue;
		why[0] = '\0';
		rc = hook_split(
		    cmds[i], buf, sizeof(buf), argv, &argc, why, sizeof(why));
		if (rc < 0) {
			config_set_err(ps, config_line_of(s, hooks[i]),
			    "[fallback] %s: %s (words are split without a "
			    "shell; quote with '...' or \"...\")",
			    hooks[i], rc == -ENOSPC ? "too long" : why);
			return -EINVAL;
		}
	}
	return 0;
}

void
config_resolve_tls_paths(const char *config_path, struct tls_config *t)
{
	config_resolve_in_place(config_path, &t->ca_file);
	config_resolve_in_place(config_path, &t->ca_dir);
	config_resolve_in_place(config_path, &t->client_cert);
}

static const char *const tls_keys[] = {
    "ca_file", "ca_dir", "client_cert", "tls_min_version"};

/* Checks the files of t; the error goes to the line of the key at fault,
 * in own when it sets that key, else in [tls]. */
static int
check_tls_files(struct parse_state *ps, const struct tls_config *t,
    const struct section_state *own, const struct section_state *defaults)
{
	const struct section_state *at;
	const char *key;
	char why[CONFIG_ERR_LEN / 2], label[160];

	if (tls_config_check(t, &key, why, sizeof(why)) == 0)
		return 0;
	at = own != NULL && config_has_key(own, key) ? own : defaults;
	if (at == NULL)
		at = own;
	config_set_err(ps, at != NULL ? config_line_of(at, key) : 0,
	    "%s %s: %s",
	    at != NULL ? config_section_label(at, label, sizeof(label))
		       : "[tls]",
	    key, why);
	return -EINVAL;
}

/* Inherits [tls] into every output, refuses TLS keys where no TLS is
 * spoken, and checks that every CA and certificate file parses. */
int
config_validate_tls(struct parse_state *ps)
{
	struct config *cfg = ps->cfg;
	struct section_state *tls_sec = config_find_section(ps, SEC_TLS, 0), *s;
	char label[160];
	size_t i, k;

	if (tls_sec != NULL &&
	    check_tls_files(ps, &cfg->tls, NULL, tls_sec) < 0)
		return -EINVAL;
	for (i = 0; i < cfg->n_outputs; i++) {
		struct output_config *o = &cfg->outputs[i];
		struct tls_config *t = &o->tls_settings;
		bool own = false;

		s = config_find_section(ps, SEC_OUTPUT, i);
		config_section_label(s, label, sizeof(label));
		for (k = 0; k < RELAY_ARRAY_LEN(tls_keys); k++) {
			if (!config_has_key(s, tls_keys[k]))
				continue;
			own = true;
			if (o->type == OUTPUT_FILE || !o->tls) {
				config_set_err(ps,
				    config_line_of(s, tls_keys[k]),
				    "%s %s: only used with tls = yes (this "
				    "output %s)",
				    label, tls_keys[k],
				    o->type == OUTPUT_FILE ? "is a file"
							   : "has tls = no");
				return -EINVAL;
			}
		}
		if (o->type != OUTPUT_ICECAST || !o->tls)
			continue;
		if ((!config_has_key(s, "ca_file") &&
			cfg->tls.ca_file != NULL &&
			(t->ca_file = strdup(cfg->tls.ca_file)) == NULL) ||
		    (!config_has_key(s, "ca_dir") && cfg->tls.ca_dir != NULL &&
			(t->ca_dir = strdup(cfg->tls.ca_dir)) == NULL) ||
		    (!config_has_key(s, "client_cert") &&
			cfg->tls.client_cert != NULL &&
			(t->client_cert = strdup(cfg->tls.client_cert)) ==
			    NULL)) {
			config_set_err(ps, s->header_line, "out of memory");
			return -ENOMEM;
		}
		if (!config_has_key(s, "tls_min_version"))
			t->min_version = cfg->tls.min_version;
		/*
		 * libshout 2.4.6 builds its own SSL_CTX and offers no way to
		 * set a minimum protocol version, so 1.3 could not be held
		 * to; OpenSSL 3 itself refuses anything below 1.2 at its
		 * default security level.
		 */
		if (t->min_version == TLS_VERSION_1_3) {
			const struct section_state *at =
			    config_has_key(s, "tls_min_version") ? s : tls_sec;
			char at_label[160];
			config_set_err(ps,
			    config_line_of(at, "tls_min_version"),
			    "%s tls_min_version: 1.3 cannot be enforced on "
			    "Icecast outputs (libshout has no setting for it; "
			    "TLS 1.2 is the floor there): set %s "
			    "tls_min_version = 1.2",
			    config_section_label(
				at, at_label, sizeof(at_label)),
			    label);
			return -EINVAL;
		}
		if (own && check_tls_files(ps, t, s, tls_sec) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Whether tz names a zone file under /usr/share/zoneinfo (what
 * cron_tz_load() reads), checked without loading it. */
bool
config_zone_known(const char *tz)
{
	char tzpath[512];
	struct stat st;

	snprintf(tzpath, sizeof(tzpath), "/usr/share/zoneinfo/%s", tz);
	return tz[0] != '\0' && tz[0] != '/' && strstr(tz, "..") == NULL &&
	       stat(tzpath, &st) == 0 && S_ISREG(st.st_mode);
}

/* The archive keys of a file output: path pattern, rotate, timezone. */
int
config_check_archive(struct parse_state *ps, const struct section_state *s,
    const char *label, const struct output_config *o)
{
	char why[256];

	if (archive_pattern_check(o->path, why, sizeof(why)) < 0) {
		config_set_err(ps, config_line_of(s, "path"),
		    "%s path: \"%s\": %s", label, o->path, why);
		return -EINVAL;
	}
	if (o->rotate_ns % NS_PER_SEC != 0 ||
	    archive_rotate_check(o->rotate_ns / NS_PER_SEC, why, sizeof(why)) <
		0) {
		config_set_err(ps, config_line_of(s, "rotate"), "%s rotate: %s",
		    label,
		    o->rotate_ns % NS_PER_SEC != 0 ? "must be whole seconds"
						   : why);
		return -EINVAL;
	}
	if (o->timezone != NULL && !config_zone_known(o->timezone)) {
		config_set_err(ps, config_line_of(s, "timezone"),
		    "%s timezone: \"%s\" is not an IANA time zone (like UTC "
		    "or Europe/London; see /usr/share/zoneinfo)",
		    label, o->timezone);
		return -EINVAL;
	}
	return 0;
}
