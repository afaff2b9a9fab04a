/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading. One table, config_keys[], describes every key:
 * its section, type, range, default, help text and whether a reload applies
 * it. The same table drives parsing, defaults (the default text goes
 * through the same parser as the file), --dump-config and the test that
 * checks docs/configuration.md lists every key.
 *
 * DESIGN
 * libinih r55 (Debian 12) calls the handler without a line number. We feed
 * it through ini_parse_stream() with our own line reader, which counts lines
 * and notices section headers, so every message can name FILE:LINE. The
 * first error is kept and parsing stops being meaningful after it; the
 * whole config is then discarded. Checks that involve several keys
 * (exactly one password source, encoding references, managed bitrates) run
 * after parsing (config_validate.c) and report the line of the key or
 * section involved.
 *
 * Threads: main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "convert.h"
#include "tls.h"

const char *const config_section_names[SEC_COUNT] = {
    "station",
    "input",
    "encoding",
    "output",
    "log",
    "status",
    "schedule",
    "processing",
    "fallback",
    "tls",
};

const bool config_section_named[SEC_COUNT] = {
    [SEC_ENCODING] = true,
    [SEC_OUTPUT] = true,
};

#define ST(f) offsetof(struct station_config, f)
#define IN(f) offsetof(struct input_config, f)
#define EN(f) offsetof(struct encoding_config, f)
#define OU(f) offsetof(struct output_config, f)
#define LG(f) offsetof(struct log_config, f)
#define SS(f) offsetof(struct status_config, f)
#define SC(f) offsetof(struct schedule_config, f)
#define PR(f) offsetof(struct processing_config, f)
#define FB(f) offsetof(struct fallback_config, f)
#define TL(f) offsetof(struct tls_config, f)
#define OT(f) offsetof(struct output_config, tls_settings.f)
#define NOFIELD SIZE_MAX

const struct config_key config_keys[] = {
    {SEC_STATION, "name", KT_STRING, 0, 0, "relay", NULL, true, ST(name),
	"Station name (ice-name header, Listen Live page)."},
    {SEC_STATION, "description", KT_STRING, 0, 0, "", NULL, true,
	ST(description), "One-line description of the station."},
    {SEC_STATION, "genre", KT_STRING, 0, 0, "News", NULL, true, ST(genre),
	"Genre sent to Icecast."},
    {SEC_STATION, "url", KT_STRING, 0, 0, "", NULL, true, ST(url),
	"The station's web site."},
    {SEC_STATION, "public", KT_BOOL, 0, 0, "no", NULL, true, ST(public_listing),
	"List the stream in public directories."},
    {SEC_STATION, "user", KT_STRING, 0, 0, NULL, NULL, false, ST(user),
	"Started as root: the user to run as once the status port is "
	"bound (its groups too, e.g. audio)."},
    {SEC_STATION, "group", KT_STRING, 0, 0, NULL, NULL, false, ST(group),
	"With user: the group to run as (default: the user's own)."},

    {SEC_INPUT, "type", KT_ENUM, 0, 0, NULL, "tone|stdin|file|alsa", false,
	IN(type), "Where the live programme comes from (required)."},
    {SEC_INPUT, "rate", KT_INT, 8000, 192000, "44100", NULL, false, IN(rate_hz),
	"Programme sample rate in Hz; every source is "
	"converted to it."},
    {SEC_INPUT, "channels", KT_INT, 1, 8, "2", NULL, false, IN(channels),
	"Programme channel count."},
    {SEC_INPUT, "title", KT_STRING, 0, 0, "Live", NULL, true, IN(title),
	"Now-playing title of the live programme."},
    {SEC_INPUT, "artist", KT_STRING, 0, 0, "", NULL, true, IN(artist),
	"Now-playing artist of the live programme."},
    {SEC_INPUT, "device", KT_STRING, 0, 0, "default", NULL, false, IN(device),
	"alsa: the PCM to capture from (default, hw:1, ...)."},
    {SEC_INPUT, "period_frames", KT_INT, 32, 65536, "1024", NULL, false,
	IN(period_frames), "alsa: period size in frames."},
    {SEC_INPUT, "buffer_frames", KT_INT, 64, 1048576, "8192", NULL, false,
	IN(buffer_frames), "alsa: buffer size in frames."},
    {SEC_INPUT, "format", KT_ENUM, 0, 0, "s16le", "s16le|s32le|f32le", false,
	IN(format), "stdin: raw sample format."},
    {SEC_INPUT, "path", KT_STRING, 0, 0, NULL, NULL, false, IN(path),
	"file: audio file to play (any format libsndfile reads)."},
    {SEC_INPUT, "loop", KT_BOOL, 0, 0, "yes", NULL, false, IN(loop),
	"file: start again at the end."},
    {SEC_INPUT, "frequency", KT_DOUBLE, 0, 20000, "440", NULL, false,
	IN(frequency_hz), "tone: frequency in Hz; 0 = digital silence."},
    {SEC_INPUT, "level_dbfs", KT_DOUBLE, -120, 0, "-18", NULL, false,
	IN(level_dbfs), "tone: peak level in dBFS."},
    {SEC_INPUT, "at_end", KT_ENUM, 0, 0, "silence", "silence|exit", false,
	IN(at_end),
	"When stdin closes or a file (loop = no) ends: keep "
	"streaming silence, or end the streams and exit."},
    {SEC_INPUT, "silence_threshold_dbfs", KT_DOUBLE, -120, 0, "-50", NULL, true,
	IN(silence_threshold_dbfs),
	"Below this RMS level the programme counts as silent."},

    {SEC_ENCODING, "codec", KT_ENUM, 0, 0, "vorbis", "vorbis|opus|mp3", false,
	EN(codec),
	"vorbis, opus (48 kHz, 1 or 2 ch; for mobile), or mp3 (44.1 or "
	"48 kHz, 1 or 2 ch; for devices without Ogg)."},
    {SEC_ENCODING, "rate", KT_INT, 8000, 192000, NULL, NULL, false, EN(rate_hz),
	"Encoded sample rate in Hz; default: the programme's ([input] rate). "
	"opus: always 48000; mp3: 44100 or 48000 (left out, the programme's "
	"when it is one of them, else 48000 for a multiple of 8000 Hz, "
	"44100 for the others; vorbis the same when libvorbisenc cannot "
	"encode its bitrate at the programme's)."},
    {SEC_ENCODING, "channels", KT_INT, 1, 8, NULL, NULL, false, EN(channels),
	"Encoded channel count (mix-down or up-mix); default: the "
	"programme's ([input] channels), at most 2 (opus, mp3: 1 or 2; "
	"vorbis the same, and stereo when libvorbisenc cannot encode its "
	"bitrate in mono)."},
    {SEC_ENCODING, "quality", KT_DOUBLE, -1, 10, "4", NULL, false, EN(quality),
	"vorbis: VBR quality, oggenc's -1..10 scale; mp3: VBR, LAME's -V "
	"0 (best) .. 9."},
    {SEC_ENCODING, "bitrate", KT_INT, 6, 510, NULL, NULL, false,
	EN(bitrate_kbps),
	"Bitrate in kbit/s. vorbis: 8..500, managed mode; opus: 6..510, "
	"default 32 (mono) or 64 (stereo); mp3: CBR 32..320, default 64 "
	"(mono) or 128 (stereo)."},
    {SEC_ENCODING, "min_bitrate", KT_INT, 8, 500, NULL, NULL, false,
	EN(min_bitrate_kbps), "Managed mode floor in kbit/s."},
    {SEC_ENCODING, "max_bitrate", KT_INT, 8, 500, NULL, NULL, false,
	EN(max_bitrate_kbps), "Managed mode ceiling in kbit/s."},
    {SEC_ENCODING, "application", KT_ENUM, 0, 0, "audio", "audio|voip", false,
	EN(application),
	"opus: audio (music and mixed), or voip (speech-heavy streams)."},
    {SEC_ENCODING, "complexity", KT_INT, 0, 10, "10", NULL, false,
	EN(complexity), "opus: encoder effort 0..10 (lower: less CPU)."},
    {SEC_ENCODING, "frame_ms", KT_DOUBLE, 2.5, 60, "20", NULL, false,
	EN(frame_ms), "opus: frame length, 2.5, 5, 10, 20, 40 or 60 ms."},

    {SEC_OUTPUT, "type", KT_ENUM, 0, 0, "icecast", "icecast|file", false,
	OU(type), "icecast (a server) or file (an archive)."},
    {SEC_OUTPUT, "host", KT_STRING, 0, 0, "127.0.0.1", NULL, false, OU(host),
	"icecast: server host name or address."},
    {SEC_OUTPUT, "port", KT_INT, 1, 65535, "8000", NULL, false, OU(port),
	"icecast: server port."},
    {SEC_OUTPUT, "mount", KT_STRING, 0, 0, NULL, NULL, false, OU(mount),
	"icecast: mount point, e.g. /live.ogg (required)."},
    {SEC_OUTPUT, "user", KT_STRING, 0, 0, "source", NULL, false, OU(user),
	"icecast: source user name."},
    {SEC_OUTPUT, "password", KT_STRING, 0, 0, NULL, NULL, false, OU(password),
	"icecast: source password (or password_file, "
	"password_env)."},
    {SEC_OUTPUT, "password_file", KT_STRING, 0, 0, NULL, NULL, false, NOFIELD,
	"icecast: file holding the password (first line)."},
    {SEC_OUTPUT, "password_env", KT_STRING, 0, 0, NULL, NULL, false, NOFIELD,
	"icecast: environment variable holding the password."},
    {SEC_OUTPUT, "encoding", KT_STRING, 0, 0, NULL, NULL, false,
	OU(encoding_name), "Name of the [encoding] to send."},
    {SEC_OUTPUT, "tls", KT_BOOL, 0, 0, "no", NULL, false, OU(tls),
	"icecast: verified TLS, never falls back to plaintext."},
    {SEC_OUTPUT, "ca_file", KT_STRING, 0, 0, NULL, NULL, false, OT(ca_file),
	"icecast: CA certificates (PEM) to trust instead of the system's; "
	"default: [tls] ca_file."},
    {SEC_OUTPUT, "ca_dir", KT_STRING, 0, 0, NULL, NULL, false, OT(ca_dir),
	"icecast: directory of hashed CA certificates (c_rehash); default: "
	"[tls] ca_dir."},
    {SEC_OUTPUT, "client_cert", KT_STRING, 0, 0, NULL, NULL, false,
	OT(client_cert),
	"icecast: PEM file with a client certificate and its private key, "
	"for servers that ask for one; default: [tls] client_cert."},
    {SEC_OUTPUT, "tls_min_version", KT_ENUM, 0, 0, NULL, "1.2|1.3", false,
	OT(min_version),
	"icecast: oldest TLS version accepted; default: [tls] "
	"tls_min_version."},
    {SEC_OUTPUT, "metadata", KT_ENUM, 0, 0, "chain", "chain|admin|none", false,
	OU(metadata), "How title changes reach listeners."},
    {SEC_OUTPUT, "path", KT_STRING, 0, 0, NULL, NULL, false, OU(path),
	"file: where to write; strftime fields like %Y/%m/%d/%H%M.ogg."},
    {SEC_OUTPUT, "rotate", KT_DURATION, 1, 86400, "none", "none", false,
	OU(rotate_ns),
	"file: start a new file every period, aligned to the clock (1h)."},
    {SEC_OUTPUT, "keep", KT_DURATION, 1, 36500.0 * 86400, "forever", "forever",
	false, OU(keep_ns),
	"file: remove this output's files older than this (90d)."},
    {SEC_OUTPUT, "timezone", KT_STRING, 0, 0, NULL, NULL, false, OU(timezone),
	"file: zone of the names and periods (UTC; default: "
	"the system's)."},
    {SEC_OUTPUT, "reconnect_min", KT_DURATION, 0.1, 3600, "1s", NULL, false,
	OU(reconnect_min_ns), "First retry delay."},
    {SEC_OUTPUT, "reconnect_max", KT_DURATION, 0.1, 3600, "30s", NULL, false,
	OU(reconnect_max_ns), "Longest retry delay."},
    {SEC_OUTPUT, "stall_timeout", KT_DURATION, 1, 600, "10s", NULL, false,
	OU(stall_timeout_ns),
	"No progress for this long: close and reconnect."},
    {SEC_OUTPUT, "connect_timeout", KT_DURATION, 1, 600, "10s", NULL, false,
	OU(connect_timeout_ns), "Give up a connect attempt after."},
    {SEC_OUTPUT, "queue", KT_DURATION, 1, 3600, "30s", NULL, false,
	OU(queue_ns), "Audio the output may buffer before dropping."},
    {SEC_OUTPUT, "listenback", KT_BOOL, 0, 0, "no", NULL, true, OU(listenback),
	"icecast: listen to the mount as a listener and report what "
	"listeners hear (audio, level, lag); on_air then follows it."},
    {SEC_OUTPUT, "listenback_url", KT_STRING, 0, 0, NULL, NULL, true,
	OU(listenback_url),
	"icecast: where listen-back listens (http or https URL); default: "
	"the mount itself. Set it to the URL listeners really use (a relay, "
	"an alias, a proxy)."},
    {SEC_OUTPUT, "on_listenback", KT_STRING, 0, 0, NULL, NULL, true,
	OU(on_listenback),
	"Command run (without a shell) when listen-back flags this mount "
	"and when it clears; the event is in its environment."},
    {SEC_OUTPUT, "listenback_timeout", KT_DURATION, 1, 600, "5s", NULL, true,
	OU(listenback_timeout_ns),
	"icecast: no audio reaching the listen-back for this long: flagged "
	"as no audio, and it reconnects."},

    {SEC_LOG, "level", KT_ENUM, 0, 0, "info", "error|warn|info|debug", true,
	LG(level), "Least severe level logged."},
    {SEC_LOG, "target", KT_ENUM, 0, 0, "stderr", "stderr|syslog", true,
	LG(target), "stderr (journald collects it) or syslog."},

    {SEC_STATUS, "listen", KT_STRING, 0, 0, "127.0.0.1:8080", NULL, false,
	SS(listen), "Status HTTP address:port, or off."},
    {SEC_STATUS, "public_url", KT_STRING, 0, 0, NULL, NULL, true,
	SS(public_url), "Base URL listeners use for the mounts."},
    {SEC_STATUS, "token", KT_STRING, 0, 0, NULL, NULL, true, SS(token),
	"Bearer token for control endpoints (or token_file, token_env)."},
    {SEC_STATUS, "token_file", KT_STRING, 0, 0, NULL, NULL, true, NOFIELD,
	"File holding the control token."},
    {SEC_STATUS, "token_env", KT_STRING, 0, 0, NULL, NULL, true, NOFIELD,
	"Environment variable holding the control token."},
    {SEC_STATUS, "poll_icecast", KT_DURATION, 1, 3600, "5s", "off", true,
	SS(poll_icecast_ns),
	"How often to read Icecast's status, or off (no listener counts, "
	"no on-air check, no server-side stall check)."},
    {SEC_STATUS, "cors_origins", KT_STRING, 0, 0, NULL, NULL, true,
	SS(cors_origins_text),
	"Web origins (https://host[:port], comma-separated, or *) whose "
	"pages may read /api/status and /api/events; default none."},
    {SEC_STATUS, "listen_urls", KT_STRING, 0, 0, NULL, NULL, true,
	SS(listen_urls_text),
	"Listener URLs of the edge Icecast servers (comma-separated "
	"http(s)://host[:port]/mount): the page offers them and "
	"/api/status adds up their listeners; default none."},
    {SEC_STATUS, "media_dirs", KT_STRING, 0, 0, NULL, NULL, true,
	SS(media_dirs_text),
	"Directories (comma-separated, or none) that control API file and "
	"playlist segments must lie in; default: the schedule file's."},
    {SEC_STATUS, "feed_hosts", KT_STRING, 0, 0, NULL, NULL, true,
	SS(feed_hosts_text),
	"Hosts (comma-separated, or none) control API stream segments may "
	"pull from; default: any but loopback and link-local."},

    {SEC_SCHEDULE, "file", KT_STRING, 0, 0, NULL, NULL, true, SC(file),
	"Schedule file (see docs/schedule.md)."},
    {SEC_SCHEDULE, "timezone", KT_STRING, 0, 0, NULL, NULL, true, SC(timezone),
	"IANA time zone of the schedule; default: system."},
    {SEC_SCHEDULE, "start_grace", KT_DURATION, 0, 60, "5s", NULL, true,
	SC(start_grace_ns),
	"How long a due segment may wait for its source's first audio."},

    {SEC_PROCESSING, "processing", KT_BOOL, 0, 0, "off", NULL, true,
	PR(enabled),
	"on: loudness rider and true-peak limiter on the programme before "
	"every encoding; off: the audio is untouched."},
    {SEC_PROCESSING, "loudness_target", KT_DOUBLE, -40, -5, "-16", NULL, true,
	PR(loudness_target_lufs),
	"Target loudness in LUFS (-16 for streams, -23 for EBU R128 "
	"broadcast)."},
    {SEC_PROCESSING, "true_peak_max", KT_DOUBLE, -9, 0, "-1", NULL, true,
	PR(true_peak_max_dbtp), "True-peak ceiling of the limiter in dBTP."},
    {SEC_PROCESSING, "max_boost", KT_DOUBLE, 0, 30, "20", NULL, true,
	PR(max_boost_db), "Most the rider lifts a quiet programme, in dB."},
    {SEC_PROCESSING, "lookahead_ms", KT_DOUBLE, 1, 20, "5", NULL, true,
	PR(lookahead_ms),
	"Limiter look-ahead in ms (added to the programme's delay)."},
    {SEC_FALLBACK, "threshold_dbfs", KT_DOUBLE, -120, 0, NULL, NULL, true,
	FB(threshold_dbfs),
	"Below this RMS level the programme counts as dead air; default: "
	"[input] silence_threshold_dbfs."},
    {SEC_FALLBACK, "after", KT_DURATION, 0.5, 3600, "10s", NULL, true,
	FB(after_ns),
	"Dead air this long puts the filler on air; on_air and listen-back "
	"wait as long (10s without [fallback])."},
    {SEC_FALLBACK, "restore_after", KT_DURATION, 0.1, 3600, "2s", NULL, true,
	FB(restore_after_ns),
	"The live input above the threshold this long brings it back."},
    {SEC_FALLBACK, "source", KT_ENUM, 0, 0, "silence",
	"playlist|file|tone|silence", true, FB(source),
	"The filler: a playlist (directory or .m3u), a file, a 440 Hz tone "
	"or digital silence."},
    {SEC_FALLBACK, "path", KT_STRING, 0, 0, NULL, NULL, true, FB(path),
	"file, playlist: what the filler plays."},
    {SEC_FALLBACK, "title", KT_STRING, 0, 0, "", NULL, true, FB(title),
	"Now-playing title while the filler is on air; default: the "
	"station name."},
    {SEC_FALLBACK, "artist", KT_STRING, 0, 0, "", NULL, true, FB(artist),
	"Now-playing artist while the filler is on air."},
    {SEC_FALLBACK, "on_dead_air", KT_STRING, 0, 0, NULL, NULL, true,
	FB(on_dead_air),
	"Command run (without a shell) when the filler goes on air."},
    {SEC_FALLBACK, "on_restore", KT_STRING, 0, 0, NULL, NULL, true,
	FB(on_restore), "Command run (without a shell) when live returns."},
    {SEC_FALLBACK, "hook_timeout", KT_DURATION, 0.1, 3600, "10s", NULL, true,
	FB(hook_timeout_ns),
	"A hook still running after this long is killed (SIGKILL)."},
    {SEC_TLS, "ca_file", KT_STRING, 0, 0, NULL, NULL, true, TL(ca_file),
	"CA certificates (PEM bundle) that TLS outputs and https feeds "
	"trust instead of the system store."},
    {SEC_TLS, "ca_dir", KT_STRING, 0, 0, NULL, NULL, true, TL(ca_dir),
	"Directory of hashed CA certificates (c_rehash), instead of the "
	"system store."},
    {SEC_TLS, "client_cert", KT_STRING, 0, 0, NULL, NULL, true, TL(client_cert),
	"PEM file with a client certificate and its private key, sent "
	"when a server asks for one."},
    {SEC_TLS, "tls_min_version", KT_ENUM, 0, 0, "1.2", "1.2|1.3", true,
	TL(min_version), "Oldest TLS version accepted from a server."},
};

#define N_KEYS RELAY_ARRAY_LEN(config_keys)
_Static_assert(N_KEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");
const size_t config_n_keys = N_KEYS;

void
config_set_err(struct parse_state *ps, int line, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN], shown[CONFIG_ERR_LEN];
	va_list ap;

	if (ps->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keys, values and section names come from the file: a terminal
	 * must not see their control bytes or broken UTF-8. */
	util_escape(shown, sizeof(shown), msg);
	snprintf(ps->err, sizeof(ps->err), "%s:%d: %s", ps->path, line, shown);
	ps->failed = true;
}

/* "[output main]" or "[input]" for messages. */
const char *
config_section_label(const struct section_state *s, char *buf, size_t len)
{
	if (s->name[0] != '\0')
		snprintf(buf, len, "[%s %s]", config_section_names[s->kind],
		    s->name);
	else
		snprintf(buf, len, "[%s]", config_section_names[s->kind]);
	return buf;
}

static void *
section_base(struct config *cfg, enum section_kind kind, size_t index)
{
	switch (kind) {
	case SEC_STATION:
		return &cfg->station;
	case SEC_INPUT:
		return &cfg->input;
	case SEC_ENCODING:
		return &cfg->encodings[index];
	case SEC_OUTPUT:
		return &cfg->outputs[index];
	case SEC_LOG:
		return &cfg->log;
	case SEC_STATUS:
		return &cfg->status;
	case SEC_SCHEDULE:
		return &cfg->schedule;
	case SEC_PROCESSING:
		return &cfg->processing;
	case SEC_FALLBACK:
		return &cfg->fallback;
	case SEC_TLS:
		return &cfg->tls;
	case SEC_COUNT:
		break;
	}
	return NULL;
}

/* Index of the named section instance within its kind. */
static size_t
section_index(const struct parse_state *ps, const struct section_state *s)
{
	size_t i, n = 0;

	for (i = 0; i < ps->n_sections; i++) {
		if (&ps->sections[i] == s)
			return n;
		if (ps->sections[i].kind == s->kind)
			n++;
	}
	return n;
}

static int
enum_parse(const char *allowed, const char *value, int *out)
{
	const char *p = allowed;
	int idx = 0;
	size_t vlen = strlen(value);

	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncasecmp(p, value, len) == 0) {
			*out = idx;
			return 0;
		}
		idx++;
		p += len;
		if (*p == '|')
			p++;
	}
	return -EINVAL;
}

const char *
config_enum_name(const char *allowed, int value, char *buf, size_t len)
{
	const char *p = allowed;
	int idx = 0;

	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (idx == value) {
			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return buf;
		}
		idx++;
		p += n;
		if (*p == '|')
			p++;
	}
	util_strlcpy(buf, "?", len);
	return buf;
}

/*
 * Parses value for key k into the field at base. On error writes the
 * reason (without file:line or key) into why and returns -EINVAL.
 */
static int
key_apply(const struct config_key *k, void *base, const char *value, char *why,
    size_t whylen)
{
	char *field = base != NULL && k->offset != NOFIELD
			  ? (char *)base + k->offset
			  : NULL;
	int64_t iv;
	double dv;
	bool bv;
	int ev, rc;

	switch (k->type) {
	case KT_STRING:
		if (field != NULL) {
			char **sp = (char **)(void *)field;
			char *dup = strdup(value);
			if (dup == NULL) {
				snprintf(why, whylen, "out of memory");
				return -ENOMEM;
			}
			free(*sp);
			*sp = dup;
		}
		return 0;
	case KT_INT:
		rc = util_parse_int64(
		    value, (int64_t)k->min, (int64_t)k->max, &iv);
		if (rc == -ERANGE) {
			snprintf(why, whylen,
			    "\"%s\" is out of range (%.0f..%.0f)", value,
			    k->min, k->max);
			return -EINVAL;
		}
		if (rc < 0) {
			snprintf(why, whylen,
			    "\"%s\" is not a whole number (%.0f..%.0f)", value,
			    k->min, k->max);
			return -EINVAL;
		}
		if (field != NULL)
			*(int *)(void *)field = (int)iv;
		return 0;
	case KT_DOUBLE:
		rc = util_parse_double(value, k->min, k->max, &dv);
		if (rc == -ERANGE) {
			snprintf(why, whylen, "\"%s\" is out of range (%g..%g)",
			    value, k->min, k->max);
			return -EINVAL;
		}
		if (rc < 0) {
			snprintf(why, whylen, "\"%s\" is not a number (%g..%g)",
			    value, k->min, k->max);
			return -EINVAL;
		}
		if (field != NULL)
			*(double *)(void *)field = dv;
		return 0;
	case KT_BOOL:
		if (util_parse_bool(value, &bv) < 0) {
			snprintf(why, whylen,
			    "\"%s\" is not yes or no "
			    "(yes|no|true|false|on|off)",
			    value);
			return -EINVAL;
		}
		if (field != NULL)
			*(bool *)(void *)field = bv;
		return 0;
	case KT_DURATION:
		if (k->allowed != NULL && strcasecmp(value, k->allowed) == 0) {
			if (field != NULL)
				*(int64_t *)(void *)field = 0;
			return 0;
		}
		if (util_parse_duration_ns(value, &iv) < 0) {
			snprintf(why, whylen,
			    "\"%s\" is not a duration (like 500ms, 10s, 5m, "
			    "1h30m)%s%s",
			    value, k->allowed != NULL ? " or " : "",
			    k->allowed != NULL ? k->allowed : "");
			return -EINVAL;
		}
		if ((double)iv < k->min * 1e9 - 0.5 ||
		    (double)iv > k->max * 1e9 + 0.5) {
			snprintf(why, whylen,
			    "\"%s\" is out of range (%gs..%gs)", value, k->min,
			    k->max);
			return -EINVAL;
		}
		if (field != NULL)
			*(int64_t *)(void *)field = iv;
		return 0;
	case KT_ENUM:
		if (enum_parse(k->allowed, value, &ev) < 0) {
			snprintf(why, whylen, "\"%s\" is not one of %s", value,
			    k->allowed);
			return -EINVAL;
		}
		if (field != NULL)
			*(int *)(void *)field = ev;
		return 0;
	}
	return -EINVAL;
}

void
config_apply_defaults(void *base, enum section_kind kind)
{
	size_t i;
	char why[128];

	for (i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->section != kind || k->def == NULL)
			continue;
		/* Defaults come from our own table and always parse. */
		if (key_apply(k, base, k->def, why, sizeof(why)) < 0)
			abort();
	}
}

static struct section_state *
find_or_add_section(struct parse_state *ps, const char *section, bool header)
{
	char kind_name[64], name[64];
	const char *sp;
	size_t i, n_kind = 0;
	int kind = -1;
	struct section_state *s;
	char label[160];

	sp = strchr(section, ' ');
	if (sp != NULL) {
		size_t kl = (size_t)(sp - section);
		if (kl >= sizeof(kind_name))
			kl = sizeof(kind_name) - 1;
		memcpy(kind_name, section, kl);
		kind_name[kl] = '\0';
		while (*sp == ' ')
			sp++;
		util_strlcpy(name, sp, sizeof(name));
	} else {
		util_strlcpy(kind_name, section, sizeof(kind_name));
		name[0] = '\0';
	}
	for (i = 0; i < SEC_COUNT; i++) {
		if (strcmp(kind_name, config_section_names[i]) == 0)
			kind = (int)i;
	}
	if (kind < 0) {
		const char *best = NULL;
		size_t bestd = 3;
		for (i = 0; i < SEC_COUNT; i++) {
			size_t d = util_edit_distance(
			    kind_name, config_section_names[i]);
			if (d < bestd) {
				bestd = d;
				best = config_section_names[i];
			}
		}
		if (best != NULL)
			config_set_err(ps, ps->section_line,
			    "[%s]: unknown section (did you mean [%s]?)",
			    section, best);
		else
			config_set_err(ps, ps->section_line,
			    "[%s]: unknown section (sections: station, input, "
			    "encoding NAME, output NAME, log, status, "
			    "schedule, processing, fallback, tls)",
			    section);
		return NULL;
	}
	if (config_section_named[kind] && name[0] == '\0') {
		config_set_err(ps, ps->section_line,
		    "[%s]: needs a name, like [%s main]", section,
		    config_section_names[kind]);
		return NULL;
	}
	if (!config_section_named[kind] && name[0] != '\0') {
		config_set_err(ps, ps->section_line, "[%s]: [%s] takes no name",
		    section, config_section_names[kind]);
		return NULL;
	}
	for (i = 0; i < strlen(name); i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			config_set_err(ps, ps->section_line,
			    "[%s]: name \"%s\" may only hold letters, digits, "
			    "'-', '_' and '.'",
			    section, name);
			return NULL;
		}
	}
	for (i = 0; i < ps->n_sections; i++) {
		s = &ps->sections[i];
		if ((int)s->kind == kind && strcmp(s->name, name) == 0) {
			if (header) {
				config_set_err(ps, ps->section_line,
				    "%s: section appears twice (first on line "
				    "%d)",
				    config_section_label(
					s, label, sizeof(label)),
				    s->header_line);
				return NULL;
			}
			return s;
		}
		if ((int)s->kind == kind)
			n_kind++;
	}
	if ((kind == SEC_ENCODING && n_kind >= CONFIG_MAX_ENCODINGS) ||
	    (kind == SEC_OUTPUT && n_kind >= CONFIG_MAX_OUTPUTS) ||
	    ps->n_sections >= MAX_SECTIONS) {
		config_set_err(ps, ps->section_line,
		    "[%s]: too many [%s] sections "
		    "(at most %d)",
		    section, config_section_names[kind],
		    kind == SEC_ENCODING ? CONFIG_MAX_ENCODINGS
					 : CONFIG_MAX_OUTPUTS);
		return NULL;
	}
	s = &ps->sections[ps->n_sections++];
	memset(s, 0, sizeof(*s));
	s->kind = (enum section_kind)kind;
	util_strlcpy(s->name, name, sizeof(s->name));
	s->header_line = ps->section_line;
	if (kind == SEC_INPUT)
		ps->cfg->input.line = ps->section_line;
	if (kind == SEC_FALLBACK) {
		ps->cfg->fallback.enabled = true;
		ps->cfg->fallback.line = ps->section_line;
	}
	if (kind == SEC_TLS)
		ps->cfg->tls_line = ps->section_line;
	if (kind == SEC_ENCODING) {
		struct encoding_config *e = &ps->cfg->encodings[n_kind];
		config_apply_defaults(e, SEC_ENCODING);
		e->name = strdup(name);
		e->line = ps->section_line;
		ps->cfg->n_encodings = n_kind + 1;
	} else if (kind == SEC_OUTPUT) {
		struct output_config *o = &ps->cfg->outputs[n_kind];
		config_apply_defaults(o, SEC_OUTPUT);
		o->name = strdup(name);
		o->line = ps->section_line;
		ps->cfg->n_outputs = n_kind + 1;
	}
	return s;
}

/* Words other encoders' files use (darkice, ices2), which the nearest
 * spelling would send elsewhere ("hostname" is far from "host"). */
static const struct {
	enum section_kind kind;
	const char *word; /* compared without case */
	const char *hint;
} key_words[] = {
    {SEC_OUTPUT, "server", "the server's name or address is host"},
    {SEC_OUTPUT, "hostname", "the server's name or address is host"},
    {SEC_OUTPUT, "mountpoint", "the mount point is mount"},
    {SEC_OUTPUT, "username", "the source user is user"},
    {SEC_OUTPUT, "samplerate",
	"the stream's rate is rate in its [encoding NAME]"},
    {SEC_OUTPUT, "sample_rate",
	"the stream's rate is rate in its [encoding NAME]"},
    {SEC_ENCODING, "samplerate", "the encoded rate is rate"},
    {SEC_ENCODING, "sample_rate", "the encoded rate is rate"},
    {SEC_ENCODING, "bitratemode",
	"bitrate selects managed (ABR) mode, quality VBR"},
    {SEC_INPUT, "samplerate", "the programme's rate is rate"},
    {SEC_INPUT, "sample_rate", "the programme's rate is rate"},
};

/* Why a key is unknown in a section of this kind, for its message: the
 * key another program's word stands for, the sections the key belongs
 * to ("bitrate" in an [output]), or the nearest key of this section.
 * Empty when nothing comes close. */
static void
unknown_key_hint(
    enum section_kind kind, const char *name, char *buf, size_t len)
{
	const char *best = NULL;
	size_t i, j, o = 0, bestd = 4;

	buf[0] = '\0';
	for (i = 0; i < RELAY_ARRAY_LEN(key_words); i++) {
		if (key_words[i].kind == kind &&
		    strcasecmp(name, key_words[i].word) == 0) {
			snprintf(buf, len, "%s", key_words[i].hint);
			return;
		}
	}
	for (i = 0; i < N_KEYS && o < len; i++) {
		const struct config_key *k = &config_keys[i];
		bool seen = false;

		if (k->section == kind || strcasecmp(name, k->key) != 0)
			continue;
		for (j = 0; j < i; j++) {
			if (config_keys[j].section == k->section &&
			    strcasecmp(name, config_keys[j].key) == 0)
				seen = true;
		}
		if (seen)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s[%s%s]",
		    o == 0 ? "it is a key of " : ", ",
		    config_section_names[k->section],
		    config_section_named[k->section] ? " NAME" : "");
	}
	if (o > 0)
		return;
	for (i = 0; i < N_KEYS; i++) {
		size_t d;

		if (config_keys[i].section != kind)
			continue;
		d = util_edit_distance(name, config_keys[i].key);
		if (d < bestd) {
			bestd = d;
			best = config_keys[i].key;
		}
	}
	if (best != NULL)
		snprintf(buf, len, "did you mean %s?", best);
}

static int
on_ini_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct section_state *s;
	const struct config_key *k = NULL;
	size_t i;
	char label[160], why[CONFIG_ERR_LEN / 2];
	void *base;
	int kidx = -1;

	if (ps->failed)
		return 0;
	if (section[0] == '\0') {
		config_set_err(ps, ps->line,
		    "%s: key outside any section (put it "
		    "under [station], [input], ...)",
		    name);
		return 0;
	}
	s = find_or_add_section(ps, section, false);
	if (s == NULL)
		return 0;
	config_section_label(s, label, sizeof(label));
	for (i = 0; i < N_KEYS; i++) {
		if (config_keys[i].section == s->kind &&
		    strcmp(config_keys[i].key, name) == 0) {
			k = &config_keys[i];
			kidx = (int)i;
		}
	}
	if (k == NULL) {
		unknown_key_hint(s->kind, name, why, sizeof(why));
		if (why[0] != '\0')
			config_set_err(ps, ps->line, "%s %s: unknown key (%s)",
			    label, name, why);
		else
			config_set_err(
			    ps, ps->line, "%s %s: unknown key", label, name);
		return 0;
	}
	if (s->key_line[kidx] != 0) {
		config_set_err(ps, ps->line,
		    "%s %s: set twice (first on line %d)", label, name,
		    s->key_line[kidx]);
		return 0;
	}
	s->key_line[kidx] = ps->line;
	base = section_base(ps->cfg, s->kind, section_index(ps, s));
	if (key_apply(k, base, value, why, sizeof(why)) < 0) {
		config_set_err(ps, ps->line, "%s %s: %s", label, name, why);
		return 0;
	}
	/* Keys without a field: the secret sources, resolved later. */
	if (k->offset == NOFIELD) {
		char **slot = NULL;
		if (strcmp(name, "password_file") == 0)
			slot = &s->password_file;
		else if (strcmp(name, "password_env") == 0)
			slot = &s->password_env;
		else if (strcmp(name, "token_file") == 0)
			slot = &s->token_file;
		else if (strcmp(name, "token_env") == 0)
			slot = &s->token_env;
		if (slot != NULL) {
			free(*slot);
			*slot = strdup(value);
		}
	}
	return 1;
}

/*
 * Line reader for ini_parse_stream: counts lines, notes section headers,
 * and refuses what libinih would mangle. Its buffer holds size - 1 bytes
 * (INI_MAX_LINE, 200 in Debian's build): a longer line would reach it in
 * pieces, the rest of a long comment read as a key. A NUL byte would cut
 * a line short, and an indented line after a key would be glued to that
 * key's value (INI_ALLOW_MULTILINE). Each becomes an error at its own
 * line and reaches inih as an empty line.
 */
static char *
line_reader(char *buf, int size, void *stream)
{
	struct parse_state *ps = stream;
	ssize_t n;
	char *line;
	const char *start, *p;

	errno = 0;
	n = getline(&ps->linebuf, &ps->linecap, ps->fp);
	if (n < 0) {
		if (errno != 0 && !feof(ps->fp))
			config_set_err(ps, ps->line + 1, "cannot read: %s",
			    strerror(errno));
		return NULL;
	}
	ps->line++;
	line = ps->linebuf;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	buf[0] = '\0';
	if (strlen(line) != (size_t)n) {
		config_set_err(ps, ps->line, "the line contains a NUL byte");
		return buf;
	}
	if (n >= size) {
		config_set_err(ps, ps->line,
		    "the line is too long (%zd bytes; allowed at most %d)", n,
		    size - 1);
		return buf;
	}
	start = line;
	if (ps->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		start += 3; /* UTF-8 byte order mark: inih skips it too */
	for (p = start; *p == ' ' || *p == '\t'; p++)
		;
	if (p != start && ps->after_key && *p != '\0' && *p != ';' &&
	    *p != '#' && *p != '[') {
		config_set_err(ps, ps->line,
		    "indented line (libinih would append it to the value "
		    "above; continuation lines are not supported)");
		return buf;
	}
	/* inih's rule: an indented line continues the last key's value
	 * until the next section header, blank lines notwithstanding. */
	if (*p == '[')
		ps->after_key = false;
	else if (*p != '\0' && *p != ';' && *p != '#')
		ps->after_key = true;
	memcpy(buf, line, (size_t)n + 1);
	if (*p == '[' && !ps->failed) {
		/* Register the section here, so a section without keys
		 * ([encoding hifi] with every default) exists too, and a
		 * repeated header is caught at its own line. */
		const char *close = strchr(p, ']');
		char name[160];
		size_t len;

		ps->section_line = ps->line;
		if (close == NULL)
			return buf; /* inih reports the line */
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		len = (size_t)(close - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p, len);
		name[len] = '\0';
		(void)find_or_add_section(ps, name, true);
	}
	return buf;
}

static int
key_index(enum section_kind kind, const char *key)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (config_keys[i].section == kind &&
		    strcmp(config_keys[i].key, key) == 0)
			return (int)i;
	}
	return -1;
}

/* Line of key in section s, or the section header line when unset. */
int
config_line_of(const struct section_state *s, const char *key)
{
	int i = key_index(s->kind, key);

	if (i >= 0 && s->key_line[i] != 0)
		return s->key_line[i];
	return s->header_line;
}

bool
config_has_key(const struct section_state *s, const char *key)
{
	int i = key_index(s->kind, key);

	return i >= 0 && s->key_line[i] != 0;
}

struct section_state *
config_find_section(
    struct parse_state *ps, enum section_kind kind, size_t index)
{
	size_t i, n = 0;

	for (i = 0; i < ps->n_sections; i++) {
		if (ps->sections[i].kind != kind)
			continue;
		if (n == index)
			return &ps->sections[i];
		n++;
	}
	return NULL;
}

/*
 * Relative paths in the file are relative to the file's directory, so a
 * config and its segments can move together. Returns owned or NULL.
 */
static char *
resolve_path(const char *config_path, const char *p)
{
	const char *slash;
	char *out;
	size_t dl;

	if (p == NULL)
		return NULL;
	slash = strrchr(config_path, '/');
	if (p[0] == '/' || p[0] == '\0' || slash == NULL)
		return strdup(p);
	dl = (size_t)(slash - config_path);
	out = malloc(dl + strlen(p) + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, config_path, dl);
	out[dl] = '/';
	strcpy(out + dl + 1, p);
	return out;
}

void
config_resolve_in_place(const char *config_path, char **p)
{
	char *r;

	if (*p == NULL)
		return;
	r = resolve_path(config_path, *p);
	if (r != NULL) {
		free(*p);
		*p = r;
	}
}

static void
free_strings(void *base, enum section_kind kind)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->section != kind || k->type != KT_STRING ||
		    k->offset == NOFIELD)
			continue;
		free(*(char **)(void *)((char *)base + k->offset));
	}
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free_strings(&cfg->station, SEC_STATION);
	free_strings(&cfg->input, SEC_INPUT);
	for (i = 0; i < CONFIG_MAX_ENCODINGS; i++) {
		free_strings(&cfg->encodings[i], SEC_ENCODING);
		free(cfg->encodings[i].name);
	}
	for (i = 0; i < CONFIG_MAX_OUTPUTS; i++) {
		struct output_config *o = &cfg->outputs[i];
		if (o->password != NULL)
			explicit_bzero(o->password, strlen(o->password));
		free_strings(o, SEC_OUTPUT);
		free(o->name);
		free(o->password_from);
	}
	free_strings(&cfg->log, SEC_LOG);
	if (cfg->status.token != NULL)
		explicit_bzero(cfg->status.token, strlen(cfg->status.token));
	free_strings(&cfg->status, SEC_STATUS);
	free(cfg->status.token_file);
	free(cfg->status.listen_host);
	config_list_free(&cfg->status.cors_origins);
	config_list_free(&cfg->status.media_dirs);
	config_list_free(&cfg->status.listen_urls);
	config_list_free(&cfg->status.feed_hosts);
	free_strings(&cfg->schedule, SEC_SCHEDULE);
	free_strings(&cfg->fallback, SEC_FALLBACK);
	free_strings(&cfg->tls, SEC_TLS);
	free(cfg->path);
	free(cfg);
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parse_state *ps;
	struct config *cfg;
	int rc = 0;
	size_t i;

	*out = NULL;
	ps = calloc(1, sizeof(*ps));
	cfg = calloc(1, sizeof(*cfg));
	if (ps == NULL || cfg == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(ps);
		free(cfg);
		return -ENOMEM;
	}
	ps->path = path;
	ps->cfg = cfg;
	cfg->path = strdup(path);
	config_apply_defaults(&cfg->station, SEC_STATION);
	config_apply_defaults(&cfg->input, SEC_INPUT);
	config_apply_defaults(&cfg->log, SEC_LOG);
	config_apply_defaults(&cfg->status, SEC_STATUS);
	config_apply_defaults(&cfg->schedule, SEC_SCHEDULE);
	config_apply_defaults(&cfg->processing, SEC_PROCESSING);
	config_apply_defaults(&cfg->fallback, SEC_FALLBACK);
	config_apply_defaults(&cfg->tls, SEC_TLS);

	/* Never blocks (a FIFO would hang a reload in open()). */
	rc = util_open_regular(path);
	ps->fp = rc >= 0 ? fdopen(rc, "r") : NULL;
	if (ps->fp == NULL) {
		if (rc >= 0) {
			close(rc);
			rc = -ENOMEM;
		}
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    util_open_strerror(rc));
		goto fail;
	}
	rc = ini_parse_stream(line_reader, ps, on_ini_key, ps);
	fclose(ps->fp);
	ps->fp = NULL;
	free(ps->linebuf);
	ps->linebuf = NULL;
	if (rc > 0 && !ps->failed) {
		/* A line inih could not parse (no '=' or unclosed '['). */
		config_set_err(ps, rc,
		    "cannot parse this line (expected "
		    "[section], key = value, or a ; comment)");
	} else if (rc < 0 && !ps->failed) {
		config_set_err(ps, 0, "cannot read the file");
	}
	if (!ps->failed)
		config_validate(ps);
	if (ps->failed) {
		util_strlcpy(err, ps->err, errlen);
		rc = -EINVAL;
		goto fail;
	}
	for (i = 0; i < ps->n_sections; i++) {
		free(ps->sections[i].password_file);
		free(ps->sections[i].password_env);
		free(ps->sections[i].token_file);
		free(ps->sections[i].token_env);
	}
	free(ps);
	*out = cfg;
	return 0;
fail:
	for (i = 0; i < ps->n_sections; i++) {
		free(ps->sections[i].password_file);
		free(ps->sections[i].password_env);
		free(ps->sections[i].token_file);
		free(ps->sections[i].token_env);
	}
	free(ps);
	config_free(cfg);
	return rc < 0 ? rc : -EINVAL;
}

size_t
config_key_count(void)
{
	return N_KEYS;
}

const char *
config_key_section(size_t i)
{
	return i < N_KEYS ? config_section_names[config_keys[i].section] : NULL;
}

const char *
config_key_name(size_t i)
{
	return i < N_KEYS ? config_keys[i].key : NULL;
}
