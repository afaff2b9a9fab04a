/* SPDX-License-Identifier: MIT */
/*
 * The cross-key checks, once config.c has read the whole file: relative
 * paths resolved against the config's directory, [input] complete,
 * vorbis managed bitrates, every output's encoding reference, mount,
 * archive and listen-back keys, each output's password and the [status]
 * token (through config_secret.c), [status] listen, the schedule's time
 * zone; the checks of one feature's keys are in config_check.c.
 * Every message names the line of the key or section involved.
 *
 * Threads: main thread only, like the loader.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "archive.h"
#include "config.h"
#include "config_internal.h"
#include "hook.h"
#include "util.h"

static int
parse_listen(
    struct parse_state *ps, struct section_state *s, struct status_config *st)
{
	const char *v = st->listen;
	const char *colon;
	char host[256];
	int64_t port;
	size_t hl;

	st->listen_line = s != NULL && config_has_key(s, "listen")
			      ? config_line_of(s, "listen")
			      : 0;
	if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0) {
		st->enabled = false;
		return 0;
	}
	st->enabled = true;
	colon = strrchr(v, ':');
	if (colon == NULL || colon == v)
		goto bad;
	hl = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hl < 3 || v[hl - 1] != ']')
			goto bad;
		memcpy(host, v + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, v, hl);
		host[hl] = '\0';
	}
	if (util_parse_int64(colon + 1, 1, 65535, &port) < 0)
		goto bad;
	st->listen_host = strdup(host);
	st->listen_port = (int)port;
	return 0;
bad:
	config_set_err(ps, s != NULL ? config_line_of(s, "listen") : 0,
	    "[status] listen: \"%s\" is not ADDRESS:PORT (like "
	    "127.0.0.1:8080, [::1]:8080) or off",
	    v);
	return -EINVAL;
}

/* True when mount holds no space, control character, '?' or '#'. */
static bool
mount_chars_ok(const char *mount)
{
	const unsigned char *p;

	for (p = (const unsigned char *)mount; *p != '\0'; p++) {
		if (isspace(*p) || iscntrl(*p) || *p == '?' || *p == '#')
			return false;
	}
	return true;
}

int
config_validate(struct parse_state *ps)
{
	struct config *cfg = ps->cfg;
	struct section_state *s;
	char label[160];
	size_t i, j;

	config_resolve_in_place(ps->path, &cfg->input.path);
	config_resolve_in_place(ps->path, &cfg->schedule.file);
	for (i = 0; i < ps->n_sections; i++) {
		config_resolve_in_place(
		    ps->path, &ps->sections[i].password_file);
		config_resolve_in_place(ps->path, &ps->sections[i].token_file);
	}
	for (i = 0; i < cfg->n_outputs; i++) {
		config_resolve_in_place(ps->path, &cfg->outputs[i].path);
		config_resolve_tls_paths(
		    ps->path, &cfg->outputs[i].tls_settings);
	}
	config_resolve_tls_paths(ps->path, &cfg->tls);

	/* A group alone was ignored without a word, root kept. */
	s = config_find_section(ps, SEC_STATION, 0);
	if (s != NULL && cfg->station.group != NULL &&
	    cfg->station.user == NULL) {
		config_set_err(ps, config_line_of(s, "group"),
		    "[station] group: only with user (relay changes group "
		    "when it drops root to that user)");
		return -EINVAL;
	}
	s = config_find_section(ps, SEC_INPUT, 0);
	if (s == NULL) {
		config_set_err(ps, ps->line > 0 ? 1 : 0,
		    "[input]: missing (say where the programme comes from: "
		    "type = tone|stdin|file|alsa)");
		return -EINVAL;
	}
	if (!config_has_key(s, "type")) {
		config_set_err(ps, s->header_line,
		    "[input] type: missing (tone|stdin|file|alsa)");
		return -EINVAL;
	}
	cfg->input.path_line = config_line_of(s, "path");
	if (cfg->input.type == INPUT_FILE &&
	    (cfg->input.path == NULL || cfg->input.path[0] == '\0')) {
		config_set_err(ps, config_line_of(s, "type"),
		    "[input] path: missing (type = file needs a path)");
		return -EINVAL;
	}
	if (cfg->input.type == INPUT_ALSA &&
	    cfg->input.buffer_frames < 2 * cfg->input.period_frames) {
		config_set_err(ps, config_line_of(s, "buffer_frames"),
		    "[input] buffer_frames: %d must be at least twice "
		    "period_frames (%d)",
		    cfg->input.buffer_frames, cfg->input.period_frames);
		return -EINVAL;
	}

	if (cfg->n_encodings == 0) {
		/* An implicit encoding: the programme's rate and channels
		 * (below), at quality 4. */
		config_apply_defaults(&cfg->encodings[0], SEC_ENCODING);
		cfg->encodings[0].name = strdup("default");
		cfg->n_encodings = 1;
	}
	for (i = 0; i < cfg->n_encodings; i++) {
		struct encoding_config *e = &cfg->encodings[i];
		/* rate left out (its key has no default): the programme's,
		 * so nothing is resampled that need not be. Opus and MP3
		 * take only some rates and correct it below. */
		if (e->rate_hz == 0)
			e->rate_hz = cfg->input.rate_hz;
		/* channels left out (no default either): the programme's,
		 * so a mono studio is not encoded as two equal channels;
		 * at most 2 (a 5.1 programme is mixed down to stereo, as
		 * every codec and player takes; set channels to keep
		 * more with vorbis). */
		if (e->channels == 0)
			e->channels =
			    cfg->input.channels < 2 ? cfg->input.channels : 2;
		s = config_find_section(ps, SEC_ENCODING, i);
		if (s == NULL)
			continue;
		config_section_label(s, label, sizeof(label));
		if (e->codec == CODEC_OPUS) {
			if (config_check_opus(ps, s, e, label) < 0)
				return -EINVAL;
			continue;
		}
		if (e->codec == CODEC_MP3) {
			if (config_check_mp3(ps, s, e, label) < 0)
				return -EINVAL;
			continue;
		}
		if (config_check_vorbis_only(ps, s, label) < 0)
			return -EINVAL;
		if (config_has_key(s, "min_bitrate") ||
		    config_has_key(s, "max_bitrate") ||
		    config_has_key(s, "bitrate")) {
			if (!config_has_key(s, "bitrate")) {
				config_set_err(ps,
				    config_line_of(
					s, config_has_key(s, "min_bitrate")
					       ? "min_bitrate"
					       : "max_bitrate"),
				    "%s bitrate: missing (managed mode needs "
				    "a nominal bitrate)",
				    label);
				return -EINVAL;
			}
			if (config_has_key(s, "quality")) {
				config_set_err(ps, config_line_of(s, "quality"),
				    "%s quality: give either quality (VBR) or "
				    "bitrate (managed), not both",
				    label);
				return -EINVAL;
			}
			if (e->bitrate_kbps < 8 || e->bitrate_kbps > 500) {
				config_set_err(ps, config_line_of(s, "bitrate"),
				    "%s bitrate: \"%d\" is out of range "
				    "(8..500 for vorbis; 6..510 for opus)",
				    label, e->bitrate_kbps);
				return -EINVAL;
			}
			e->managed = true;
			if (e->min_bitrate_kbps != 0 &&
			    e->min_bitrate_kbps > e->bitrate_kbps) {
				config_set_err(ps,
				    config_line_of(s, "min_bitrate"),
				    "%s min_bitrate: %d is above bitrate %d",
				    label, e->min_bitrate_kbps,
				    e->bitrate_kbps);
				return -EINVAL;
			}
			if (e->max_bitrate_kbps != 0 &&
			    e->max_bitrate_kbps < e->bitrate_kbps) {
				config_set_err(ps,
				    config_line_of(s, "max_bitrate"),
				    "%s max_bitrate: %d is below bitrate %d",
				    label, e->max_bitrate_kbps,
				    e->bitrate_kbps);
				return -EINVAL;
			}
		}
		/* rate or channels left out: the programme's, unless
		 * libvorbisenc cannot encode this mode at them (managed at
		 * 96 kHz, 256 kbit/s mono): then 48000 or 44100 Hz, then
		 * stereo, so a config that started when the defaults were
		 * 44100 Hz stereo starts still; --check shows the
		 * resampling and the mixing. */
		if (!config_has_key(s, "rate") ||
		    !config_has_key(s, "channels"))
			config_vorbis_fallback(e, !config_has_key(s, "rate"),
			    !config_has_key(s, "channels"));
	}

	if (cfg->n_outputs == 0) {
		config_set_err(ps, ps->line > 0 ? ps->line : 1,
		    "[output]: none configured (add an [output NAME] section "
		    "with host, port, mount and password)");
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_outputs; i++) {
		struct output_config *o = &cfg->outputs[i];
		struct in6_addr in6;

		s = config_find_section(ps, SEC_OUTPUT, i);
		config_section_label(s, label, sizeof(label));
		/* Encoding reference. */
		if (o->encoding_name == NULL) {
			if (cfg->n_encodings > 1) {
				config_set_err(ps, s->header_line,
				    "%s encoding: missing (there are %zu "
				    "encodings; name one)",
				    label, cfg->n_encodings);
				return -EINVAL;
			}
			o->encoding_index = 0;
			o->encoding_name = strdup(cfg->encodings[0].name);
		} else {
			o->encoding_index = -1;
			for (j = 0; j < cfg->n_encodings; j++) {
				if (strcmp(cfg->encodings[j].name,
					o->encoding_name) == 0)
					o->encoding_index = (int)j;
			}
			if (o->encoding_index < 0) {
				config_set_err(ps,
				    config_line_of(s, "encoding"),
				    "%s encoding: \"%s\" is not an [encoding] "
				    "section",
				    label, o->encoding_name);
				return -EINVAL;
			}
		}
		if (cfg->encodings[o->encoding_index].codec == CODEC_MP3 &&
		    config_check_mp3_output(ps, s, label, o) < 0)
			return -EINVAL;
		if (o->reconnect_min_ns > o->reconnect_max_ns) {
			config_set_err(ps, config_line_of(s, "reconnect_min"),
			    "%s reconnect_min: longer than reconnect_max",
			    label);
			return -EINVAL;
		}
		o->path_line = config_line_of(s, "path");
		if (o->type == OUTPUT_FILE) {
			if (o->path == NULL || o->path[0] == '\0') {
				config_set_err(ps, s->header_line,
				    "%s path: missing (type = file needs a "
				    "path)",
				    label);
				return -EINVAL;
			}
			if (o->listenback) {
				config_set_err(ps,
				    config_line_of(s, "listenback"),
				    "%s listenback: only for type = icecast "
				    "(a file has no listeners)",
				    label);
				return -EINVAL;
			}
			if (config_check_archive(ps, s, label, o) < 0)
				return -EINVAL;
			/* Each output's keep removes the files its own
			 * pattern names (any relay file): never another
			 * output's ("%F.ogg" would take "%F-%H.ogg"'s). */
			for (j = 0; j < i; j++) {
				const struct output_config *p =
				    &cfg->outputs[j];
				const struct output_config *keeper = NULL;

				if (p->type != OUTPUT_FILE)
					continue;
				if (o->keep_ns > 0 &&
				    archive_patterns_overlap(o->path, p->path))
					keeper = o;
				else if (p->keep_ns > 0 &&
					 archive_patterns_overlap(
					     p->path, o->path))
					keeper = p;
				if (keeper == NULL)
					continue;
				config_set_err(ps, config_line_of(s, "path"),
				    "%s path: \"%s\" and [output %s] path "
				    "\"%s\" name files alike, so the keep of "
				    "[output %s] would remove the other's "
				    "files: use another directory or name",
				    label, o->path, p->name, p->path,
				    keeper->name);
				return -EINVAL;
			}
			continue;
		}
		if (o->on_listenback != NULL) {
			char hbuf[1024], why[256], *argv[HOOK_MAX_ARGS + 1];
			int argc, hrc;

			why[0] = '\0';
			hrc = hook_split(o->on_listenback, hbuf, sizeof(hbuf),
			    argv, &argc, why, sizeof(why));
			if (hrc < 0) {
				config_set_err(ps,
				    config_line_of(s, "on_listenback"),
				    "%s on_listenback: %s (words are split "
				    "without a shell; quote with '...' or "
				    "\"...\")",
				    label, hrc == -ENOSPC ? "too long" : why);
				return -EINVAL;
			}
		}
		if (o->listenback_url != NULL &&
		    strncmp(o->listenback_url, "http://", 7) != 0 &&
		    strncmp(o->listenback_url, "https://", 8) != 0) {
			/* Only its scheme: the URL may hold a password. */
			config_set_err(ps, config_line_of(s, "listenback_url"),
			    "%s listenback_url: must be an http:// or "
			    "https:// URL (it starts with \"%.*s\")",
			    label, (int)strcspn(o->listenback_url, ":/@"),
			    o->listenback_url);
			return -EINVAL;
		}
		if (o->listenback_url != NULL &&
		    util_url_stray_at(o->listenback_url)) {
			config_set_err(ps, config_line_of(s, "listenback_url"),
			    "%s listenback_url: %s", label,
			    UTIL_URL_STRAY_AT_HELP);
			return -EINVAL;
		}
		if (o->mount == NULL || o->mount[0] == '\0') {
			config_set_err(ps, s->header_line,
			    "%s mount: missing (like mount = /live.ogg)",
			    label);
			return -EINVAL;
		}
		/* A '#' would end the listeners' URL there: the page's
		 * link to /live.ogg#x asks Icecast for /live.ogg. */
		if (o->mount[0] != '/' || !mount_chars_ok(o->mount)) {
			config_set_err(ps, config_line_of(s, "mount"),
			    "%s mount: \"%s\" must start with / and hold no "
			    "spaces, control characters, '?' or '#'",
			    label, o->mount);
			return -EINVAL;
		}
		if (o->host == NULL || o->host[0] == '\0') {
			config_set_err(ps, config_line_of(s, "host"),
			    "%s host: empty", label);
			return -EINVAL;
		}
		/* Never echoed when it may hold a password. */
		if (strchr(o->host, '@') != NULL) {
			config_set_err(ps, config_line_of(s, "host"),
			    "%s host: holds \"user:password@\": set user and "
			    "password, and only the server's name or address "
			    "here",
			    label);
			return -EINVAL;
		}
		if (strpbrk(o->host, "/?# \t") != NULL) {
			config_set_err(ps, config_line_of(s, "host"),
			    "%s host: \"%s\" is not a host name or address "
			    "(no scheme, path or spaces)",
			    label, o->host);
			return -EINVAL;
		}
		/* "127.0.0.1:8000" would be looked up as a name and never
		 * found; only an IPv6 address has a ':' here. */
		if (strchr(o->host, ':') != NULL &&
		    inet_pton(AF_INET6, o->host, &in6) != 1) {
			config_set_err(ps, config_line_of(s, "host"),
			    "%s host: \"%s\" is not a host name or address "
			    "(the port goes in port =; an IPv6 address is "
			    "written without brackets: host = ::1)",
			    label, o->host);
			return -EINVAL;
		}
		/* HTTP Basic ends the user name at its first ':', so Icecast
		 * would read "a:b" as user "a" and refuse every login. */
		if (o->user != NULL && strchr(o->user, ':') != NULL) {
			config_set_err(ps, config_line_of(s, "user"),
			    "%s user: \"%s\" holds a ':', which HTTP ends the "
			    "user name at (Icecast would refuse every login)",
			    label, o->user);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			const struct output_config *p = &cfg->outputs[j];
			if (p->type == OUTPUT_ICECAST &&
			    strcmp(p->host, o->host) == 0 &&
			    p->port == o->port &&
			    strcmp(p->mount, o->mount) == 0) {
				config_set_err(ps, config_line_of(s, "mount"),
				    "%s mount: %s:%d%s is already used by "
				    "[output %s]",
				    label, o->host, o->port, o->mount, p->name);
				return -EINVAL;
			}
		}
		if (config_secret_output_password(ps, s, label, o) < 0)
			return -EINVAL;
	}

	if (config_validate_tls(ps) < 0)
		return -EINVAL;

	s = config_find_section(ps, SEC_STATUS, 0);
	if (parse_listen(ps, s, &cfg->status) < 0)
		return -EINVAL;
	if (s != NULL && config_secret_status_token(ps, s) < 0)
		return -EINVAL;
	if (config_parse_status_lists(ps, s) < 0)
		return -EINVAL;
	s = config_find_section(ps, SEC_SCHEDULE, 0);
	if (s != NULL && cfg->schedule.file != NULL) {
		/* Here, not only in schedule_load(), so that a typo in the
		 * name is reported at this line (start, --check, reload). */
		int fd = util_open_regular(cfg->schedule.file);

		if (fd < 0) {
			config_set_err(ps, config_line_of(s, "file"),
			    "[schedule] file: cannot open %s: %s",
			    cfg->schedule.file, util_open_strerror(fd));
			return -EINVAL;
		}
		close(fd);
	}
	if (s != NULL && cfg->schedule.timezone != NULL &&
	    !config_zone_known(cfg->schedule.timezone)) {
		config_set_err(ps, config_line_of(s, "timezone"),
		    "[schedule] timezone: \"%s\" is not an IANA time "
		    "zone (like Europe/London; see "
		    "/usr/share/zoneinfo)",
		    cfg->schedule.timezone);
		return -EINVAL;
	}
	return config_validate_fallback(ps);
}
