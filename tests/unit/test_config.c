/* SPDX-License-Identifier: MIT */
/*
 * Config loader: good files, every kind of error with its FILE:LINE message,
 * secrets, defaults, and docs/configuration.md listing every key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test_tmpdir.h"

static char tmpdir[256];

/* nftw() callback: removes what the tests wrote, the folder last. */
static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static const char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

#define GOOD_OUTPUT                                                            \
	"[output main]\nhost = 127.0.0.1\nport = 8000\nmount = /live.ogg\n"    \
	"password = s3cret-Pa55\n"

static struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";
	const char *path = write_file("ok.conf", text);
	int rc = config_load(path, &cfg, err, sizeof(err));

	if (rc != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(cfg);
	return cfg;
}

/* Loads text, expects failure, and checks err contains want. */
static void
expect_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";
	const char *path = write_file("bad.conf", text);
	int rc = config_load(path, &cfg, err, sizeof(err));

	assert_int_not_equal(rc, 0);
	assert_null(cfg);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	/* The message starts with the path and a line number. */
	assert_non_null(strstr(err, "bad.conf:"));
}

static void
test_minimal_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_int_equal(cfg->input.type, INPUT_TONE);
	assert_int_equal(cfg->input.rate_hz, 44100);
	assert_int_equal(cfg->input.channels, 2);
	assert_int_equal(cfg->n_encodings, 1);
	assert_string_equal(cfg->encodings[0].name, "default");
	assert_true(cfg->encodings[0].quality == 4.0);
	assert_false(cfg->encodings[0].managed);
	assert_int_equal(cfg->n_outputs, 1);
	assert_string_equal(cfg->outputs[0].user, "source");
	assert_int_equal(cfg->outputs[0].encoding_index, 0);
	assert_true(cfg->outputs[0].reconnect_min_ns == NS_PER_SEC);
	assert_true(cfg->outputs[0].reconnect_max_ns == 30 * NS_PER_SEC);
	assert_string_equal(cfg->outputs[0].password, "s3cret-Pa55");
	assert_true(cfg->status.enabled);
	assert_string_equal(cfg->status.listen_host, "127.0.0.1");
	assert_int_equal(cfg->status.listen_port, 8080);
	assert_int_equal(cfg->log.level, LOG_LEVEL_INFO);
	config_free(cfg);
}

/* [status] poll_icecast: a duration (the old form, default 5 s), or off. */
static void
test_poll_icecast(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_true(cfg->status.poll_icecast_ns == 5 * NS_PER_SEC);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[status]\npoll_icecast = 2s\n");
	assert_true(cfg->status.poll_icecast_ns == 2 * NS_PER_SEC);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[status]\npoll_icecast = off\n");
	assert_true(cfg->status.poll_icecast_ns == 0);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[status]\npoll_icecast = OFF\n");
	assert_true(cfg->status.poll_icecast_ns == 0);
	config_free(cfg);
	/* 0 is not a way to say off: it stays out of range. */
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "[status]\npoll_icecast = 0s\n",
	    "bad.conf:9: [status] poll_icecast: \"0s\" is out of range");
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "[status]\npoll_icecast = never\n",
	    "bad.conf:9: [status] poll_icecast: \"never\" is not a "
	    "duration (like 500ms, 10s, 5m, 1h30m) or off");
}

/* [status] listen_urls: a list of http(s) listener URLs with a mount. */
static void
test_listen_urls(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[status]\nlisten_urls = http://e1:8000/live.ogg, "
		      "https://e2.example/live.ogg\n");
	assert_int_equal(cfg->status.listen_urls.n, 2);
	assert_string_equal(
	    cfg->status.listen_urls.item[0], "http://e1:8000/live.ogg");
	assert_string_equal(
	    cfg->status.listen_urls.item[1], "https://e2.example/live.ogg");
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_int_equal(cfg->status.listen_urls.n, 0);
	config_free(cfg);
	expect_error(
	    "[input]\ntype = tone\n" GOOD_OUTPUT
	    "[status]\nlisten_urls = http://e1/live.ogg, e2/live.ogg\n",
	    "bad.conf:9: [status] listen_urls: \"e2/live.ogg\" is not an "
	    "http:// or https:// URL");
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "[status]\nlisten_urls = http://e1:8000\n",
	    "bad.conf:9: [status] listen_urls: \"http://e1:8000\" has no "
	    "mount path");
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "[status]\nlisten_urls = http://admin:pw@e1/live.ogg\n",
	    "must not hold credentials");
}

static void
test_full(void **state)
{
	struct config *cfg;

	(void)state;
	setenv("RELAY_TEST_PW", "from-env-123", 1);
	write_file("pw.txt", "from-file-456\n");
	cfg = load_ok("; comment\n[station]\nname = Café Radio\npublic = yes\n"
		      "[input]\ntype = stdin\nformat = f32le\nrate = 48000\n"
		      "channels = 1\n"
		      "[encoding hifi]\nquality = 6.5\n"
		      "[encoding mobile]\nrate = 22050\nchannels = 1\n"
		      "bitrate = 48\nmin_bitrate = 32\nmax_bitrate = 64\n"
		      "[output a]\nmount = /a.ogg\npassword_env = "
		      "RELAY_TEST_PW\nencoding = mobile\nreconnect_max = "
		      "1m30s\nmetadata = none\n"
		      "[output b]\nmount = /b.ogg\npassword_file = pw.txt\n"
		      "encoding = hifi\ntls = yes\n"
		      "[log]\nlevel = debug\n[status]\nlisten = [::1]:9000\n"
		      "token = 0123456789abcdef0123\n");
	assert_string_equal(cfg->station.name, "Café Radio");
	assert_true(cfg->station.public_listing);
	assert_int_equal(cfg->input.format, SAMPLE_F32LE);
	assert_int_equal(cfg->n_encodings, 2);
	assert_true(cfg->encodings[1].managed);
	assert_int_equal(cfg->encodings[1].bitrate_kbps, 48);
	assert_int_equal(cfg->outputs[0].encoding_index, 1);
	assert_string_equal(cfg->outputs[0].password, "from-env-123");
	assert_true(cfg->outputs[0].reconnect_max_ns == 90 * NS_PER_SEC);
	assert_int_equal(cfg->outputs[0].metadata, METADATA_NONE);
	assert_string_equal(cfg->outputs[1].password, "from-file-456");
	assert_true(cfg->outputs[1].tls);
	assert_string_equal(cfg->status.listen_host, "::1");
	assert_int_equal(cfg->status.listen_port, 9000);
	assert_int_equal(cfg->log.level, LOG_LEVEL_DEBUG);
	config_free(cfg);
}

/* An [encoding] without rate encodes at the programme's rate; opus stays
 * at 48000, mp3 takes the programme's when it can, else the rate of the
 * same family; an explicit rate wins. */
static void
test_encoding_rate_follows_programme(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\nrate = 48000\n" GOOD_OUTPUT);
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nrate = 48000\n"
		      "[encoding v]\n[encoding fixed]\nrate = 44100\n"
		      "[encoding o]\ncodec = opus\n"
		      "[encoding m]\ncodec = mp3\n" GOOD_OUTPUT
		      "encoding = v\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	assert_int_equal(cfg->encodings[1].rate_hz, 44100);
	assert_int_equal(cfg->encodings[2].rate_hz, 48000);
	assert_int_equal(cfg->encodings[3].rate_hz, 48000);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nrate = 22050\n"
		      "[encoding v]\n[encoding m]\ncodec = mp3\n"
		      "[encoding o]\ncodec = opus\n" GOOD_OUTPUT
		      "encoding = v\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 22050);
	assert_int_equal(cfg->encodings[1].rate_hz, 44100);
	assert_int_equal(cfg->encodings[2].rate_hz, 48000);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nrate = 32000\n"
		      "[encoding m]\ncodec = mp3\n" GOOD_OUTPUT
		      "encoding = m\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	config_free(cfg);
}

/* A vorbis encoding without rate whose mode libvorbisenc cannot encode
 * at the programme's rate (managed bitrates at 96 kHz, 128 kbit/s at
 * 8 kHz) takes the same family's 48000 or 44100, as mp3 does: such a
 * config started when the default was 44100. What it can encode stays at
 * the programme's rate, and an explicit rate is never changed. */
static void
test_encoding_rate_vorbis_fallback(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\nrate = 96000\n"
		      "[encoding managed]\nbitrate = 128\n"
		      "[encoding vbr]\nquality = 4\n"
		      "[encoding fixed]\nrate = 96000\nbitrate = 128\n"
		      GOOD_OUTPUT "encoding = managed\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	assert_int_equal(cfg->encodings[1].rate_hz, 96000);
	assert_int_equal(cfg->encodings[2].rate_hz, 96000);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nrate = 11025\n"
		      "[encoding managed]\nbitrate = 128\n"
		      "[encoding low]\nbitrate = 32\n" GOOD_OUTPUT
		      "encoding = managed\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 44100);
	assert_int_equal(cfg->encodings[1].rate_hz, 11025);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nrate = 8000\n"
		      "[encoding managed]\nbitrate = 128\n" GOOD_OUTPUT
		      "encoding = managed\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	config_free(cfg);
}

/* An [encoding] without channels encodes the programme's, at most 2: a
 * mono studio streams mono (opus and mp3 halve their default bitrate with
 * it), a 5.1 programme stereo; an explicit channels is kept; a vorbis
 * bitrate libvorbisenc cannot encode in mono stays stereo. */
static void
test_encoding_channels_follow_programme(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\nchannels = 1\n" GOOD_OUTPUT);
	assert_int_equal(cfg->encodings[0].channels, 1);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nchannels = 1\n"
		      "[encoding v]\n[encoding st]\nchannels = 2\n"
		      "[encoding o]\ncodec = opus\n"
		      "[encoding m]\ncodec = mp3\n"
		      "[encoding hi]\nbitrate = 256\n"
		      "[encoding lo]\nbitrate = 64\n" GOOD_OUTPUT
		      "encoding = v\n");
	assert_int_equal(cfg->encodings[0].channels, 1);
	assert_int_equal(cfg->encodings[1].channels, 2);
	assert_int_equal(cfg->encodings[2].channels, 1);
	assert_int_equal(cfg->encodings[2].bitrate_kbps, 32);
	assert_int_equal(cfg->encodings[3].channels, 1);
	assert_int_equal(cfg->encodings[3].bitrate_kbps, 64);
	assert_int_equal(cfg->encodings[4].channels, 2);
	assert_int_equal(cfg->encodings[5].channels, 1);
	config_free(cfg);
	/* Mono at 96 kHz: the rate falls back, the channels stay mono. */
	cfg = load_ok("[input]\ntype = tone\nchannels = 1\nrate = 96000\n"
		      "[encoding managed]\nbitrate = 128\n" GOOD_OUTPUT
		      "encoding = managed\n");
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	assert_int_equal(cfg->encodings[0].channels, 1);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\nchannels = 6\n"
		      "[encoding v]\n[encoding six]\nchannels = 6\n"
		      "[encoding o]\ncodec = opus\n"
		      "[encoding m]\ncodec = mp3\n" GOOD_OUTPUT
		      "encoding = v\n");
	assert_int_equal(cfg->encodings[0].channels, 2);
	assert_int_equal(cfg->encodings[1].channels, 6);
	assert_int_equal(cfg->encodings[2].channels, 2);
	assert_int_equal(cfg->encodings[2].bitrate_kbps, 64);
	assert_int_equal(cfg->encodings[3].channels, 2);
	assert_int_equal(cfg->encodings[3].bitrate_kbps, 128);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n[encoding v]\n"
		      "[encoding mono]\nchannels = 1\n" GOOD_OUTPUT
		      "encoding = v\n");
	assert_int_equal(cfg->encodings[0].channels, 2);
	assert_int_equal(cfg->encodings[1].channels, 1);
	config_free(cfg);
}

struct bad_case {
	const char *text;
	const char *want;
};

#define MP3_ENC "[input]\ntype = tone\n[encoding e]\ncodec = mp3\n"

static const struct bad_case bad_cases[] = {
	/* codec = mp3: rates, channels, bitrates LAME takes; one mode. */
	{ MP3_ENC "rate = 22050\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding e] rate: 22050: mp3 encodes at 44100 or "
	    "48000 Hz" },
	{ MP3_ENC "channels = 3\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding e] channels: 3: mp3 takes 1 or 2" },
	{ MP3_ENC "bitrate = 100\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding e] bitrate: 100 is not an MP3 bitrate" },
	{ MP3_ENC "bitrate = 128\nquality = 2\n" GOOD_OUTPUT,
	    "bad.conf:6: [encoding e] quality: give either quality (VBR) or "
	    "bitrate (CBR), not both" },
	{ MP3_ENC "quality = 9.5\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding e] quality: 9.5 is out of range (mp3" },
	{ MP3_ENC "bitrate = 128\nmin_bitrate = 64\n" GOOD_OUTPUT,
	    "bad.conf:6: [encoding e] min_bitrate: only for codec = vorbis "
	    "(mp3 takes bitrate or quality)" },
	{ MP3_ENC "frame_ms = 20\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding e] frame_ms: only for codec = opus" },
	/* An output of it: bare MP3 frames, no Ogg chain, no file. */
	{ MP3_ENC GOOD_OUTPUT "metadata = chain\n",
	    "bad.conf:10: [output main] metadata: chain needs Ogg; an mp3 "
	    "output takes admin (the default for mp3) or none" },
	{ MP3_ENC "[output main]\ntype = file\npath = x.mp3\n",
	    "bad.conf:6: [output main] type: file is not supported for an mp3 "
	    "encoding" },
	{ MP3_ENC GOOD_OUTPUT "listenback = yes\n",
	    "bad.conf:10: [output main] listenback: not for an mp3 output" },
	{ "[input]\ntype = tone\n[bogus]\nx = 1\n" GOOD_OUTPUT,
	    "bad.conf:3: [bogus]: unknown section" },
	{ "[input]\ntype = tone\n[ouptut x]\nmount = /x\n",
	    "bad.conf:3: [ouptut x]: unknown section (did you mean [output]?)" },
	{ "[input]\ntyp = tone\n" GOOD_OUTPUT,
	    "bad.conf:2: [input] typ: unknown key (did you mean type?)" },
	/* darkice's and ices2's words, and keys of another section. */
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "hostname = x\n",
	    "bad.conf:8: [output main] hostname: unknown key (the server's "
	    "name or address is host)" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "mountPoint = /x\n",
	    "bad.conf:8: [output main] mountPoint: unknown key (the mount "
	    "point is mount)" },
	{ "[input]\ntype = tone\nsampleRate = 48000\n" GOOD_OUTPUT,
	    "bad.conf:3: [input] sampleRate: unknown key (the programme's "
	    "rate is rate)" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "bitrate = 128\n",
	    "bad.conf:8: [output main] bitrate: unknown key (it is a key of "
	    "[encoding NAME])" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "name = Riverside\n",
	    "bad.conf:8: [output main] name: unknown key (it is a key of "
	    "[station])" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "title = News\n",
	    "bad.conf:8: [output main] title: unknown key (it is a key of "
	    "[input], [fallback])" },
	{ "[input]\ntype = foo\n" GOOD_OUTPUT,
	    "bad.conf:2: [input] type: \"foo\" is not one of "
	    "tone|stdin|file|alsa" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "port = 80000\n",
	    "[output main] port: set twice" },
	{ "[input]\ntype = tone\n[output main]\nport = 80000\n",
	    "bad.conf:4: [output main] port: \"80000\" is out of range "
	    "(1..65535)" },
	{ "[input]\ntype = tone\n[output main]\nport = 12ab\n",
	    "bad.conf:4: [output main] port: \"12ab\" is not a whole number" },
	{ "[input]\ntype = tone\n[encoding e]\nquality = 11\n" GOOD_OUTPUT,
	    "bad.conf:4: [encoding e] quality: \"11\" is out of range" },
	{ "[input]\ntype = tone\n[output main]\npassword = abcdefgh\n",
	    "bad.conf:3: [output main] mount: missing" },
	{ "[input]\ntype = tone\n[output main]\nmount = live.ogg\n"
	  "password = abcdefgh\n",
	    "bad.conf:4: [output main] mount: \"live.ogg\" must start with /" },
	/* A URL pasted as the host: refused without showing it (the
	 * password was printed by --check and in every message). */
	{ "[input]\ntype = tone\n[output main]\nmount = /x\n"
	  "host = source:Sup3rSecret@ice.example\npassword = Sup3rSecret\n",
	    "bad.conf:5: [output main] host: holds \"user:password@\": set "
	    "user and password, and only the server's name or address "
	    "here" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\n"
	  "host = http://ice.example\npassword = abcdefgh\n",
	    "bad.conf:5: [output main] host: \"http://ice.example\" is not "
	    "a host name or address (no scheme, path or spaces)" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword = "
	  "hackme\n",
	    "bad.conf:5: [output main] password: refusing the default "
	    "\"hackme\" password" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword =\n",
	    "bad.conf:5: [output main] password: refusing an empty password" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\n",
	    "bad.conf:3: [output main] password: missing" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword = "
	  "abcdefgh\npassword_env = HOME\n",
	    "bad.conf:6: [output main] password_env: give exactly one of" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword_file "
	  "= /nonexistent/pw\n",
	    "bad.conf:5: [output main] password_file: cannot read "
	    "\"/nonexistent/pw\"" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword_env "
	  "= RELAY_SURELY_UNSET_VAR\n",
	    "bad.conf:5: [output main] password_env: environment variable "
	    "RELAY_SURELY_UNSET_VAR is not set" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "encoding = nope\n",
	    "bad.conf:8: [output main] encoding: \"nope\" is not an "
	    "[encoding] section" },
	{ "[input]\ntype = tone\n[encoding a]\n[encoding b]\nrate = 48000\n"
	  "[encoding a]\nrate = 22050\n" GOOD_OUTPUT,
	    "bad.conf:6: [encoding a]: section appears twice (first on line "
	    "3)" },
	{ "[input]\ntype = tone\n[encoding hifi]\n" GOOD_OUTPUT
	  "encoding = hifi\n[status]\nlisten = 127.0.0.1:99999\n",
	    "bad.conf:11: [status] listen" },
	{ "[input]\ntype = tone\n[encoding a]\nrate = 44100\n[encoding b]\n"
	  "rate = 48000\n" GOOD_OUTPUT,
	    "bad.conf:7: [output main] encoding: missing (there are 2 "
	    "encodings" },
	{ "[input]\ntype = tone\n[output main]\nreconnect_max = 10x\n",
	    "bad.conf:4: [output main] reconnect_max: \"10x\" is not a "
	    "duration" },
	{ "[input]\ntype = tone\nrate = 0\n" GOOD_OUTPUT,
	    "bad.conf:3: [input] rate: \"0\" is out of range (8000..192000)" },
	{ "[input]\ntype = tone\n[station]\npublic = maybe\n" GOOD_OUTPUT,
	    "bad.conf:4: [station] public: \"maybe\" is not yes or no" },
	{ "[input]\ntype = tone\n", "[output]: none configured" },
	{ "[station]\nname = x\n" GOOD_OUTPUT, "[input]: missing" },
	{ "[input]\nrate = 44100\n" GOOD_OUTPUT,
	    "bad.conf:1: [input] type: missing" },
	{ "[input]\ntype = file\n" GOOD_OUTPUT,
	    "bad.conf:2: [input] path: missing" },
	{ "[input]\ntype = tone\n[output]\nmount = /x\n",
	    "bad.conf:3: [output]: needs a name" },
	{ "[input x]\ntype = tone\n", "bad.conf:1: [input x]: [input] takes "
				      "no name" },
	{ "type = tone\n", "bad.conf:1: type: key outside any section" },
	{ "[input]\ntype = tone\nthis line has no equals sign\n",
	    "bad.conf:3: cannot parse this line" },
	{ "[input]\ntype = tone\n[encoding m]\nmin_bitrate = 32\n" GOOD_OUTPUT,
	    "bad.conf:4: [encoding m] bitrate: missing (managed mode" },
	{ "[input]\ntype = tone\n[encoding m]\nbitrate = 64\nquality = 3\n"
	  GOOD_OUTPUT,
	    "bad.conf:5: [encoding m] quality: give either quality" },
	{ "[input]\ntype = tone\n[encoding m]\nbitrate = 64\nmin_bitrate = "
	  "96\n" GOOD_OUTPUT,
	    "bad.conf:5: [encoding m] min_bitrate: 96 is above bitrate 64" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[output b]\nmount = /live.ogg\n"
	  "password = abcdefgh\n",
	    "bad.conf:9: [output b] mount: 127.0.0.1:8000/live.ogg is already "
	    "used by [output main]" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[status]\nlisten = 8080\n",
	    "bad.conf:9: [status] listen: \"8080\" is not ADDRESS:PORT" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[status]\ntoken = short\n",
	    "bad.conf:9: [status] token: too short" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[schedule]\ntimezone = "
	  "Mars/Olympus\n",
	    "bad.conf:9: [schedule] timezone: \"Mars/Olympus\" is not an IANA "
	    "time zone" },
	{ "[input]\ntype = alsa\nperiod_frames = 4096\nbuffer_frames = 4096\n"
	  GOOD_OUTPUT,
	    "bad.conf:4: [input] buffer_frames: 4096 must be at least twice" },
	{ "[input]\ntype = tone\n[output main]\nmount = /x\npassword = abcdefg"
	  "h\nreconnect_min = 1m\nreconnect_max = 10s\n",
	    "bad.conf:6: [output main] reconnect_min: longer than "
	    "reconnect_max" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "listenback = maybe\n",
	    "bad.conf:8: [output main] listenback: \"maybe\"" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT
	  "listenback_url = ftp://x/live.ogg\n",
	    "bad.conf:8: [output main] listenback_url: must be an http:// or "
	    "https:// URL (it starts with \"ftp\")" },
	/* A typo in the scheme must not put the password in the journal. */
	{ "[input]\ntype = tone\n" GOOD_OUTPUT
	  "listenback_url = htps://user:Secr3t-pw@x/live.ogg\n",
	    "URL (it starts with \"htps\")" },
	/* A raw '/' in the password: it would be read as the path, and
	 * shown whole in the listen-back's messages and /api/status. */
	{ "[input]\ntype = tone\n" GOOD_OUTPUT
	  "listenback_url = http://u:p/ss@x/live.ogg\n",
	    "bad.conf:8: [output main] listenback_url: has an '@' after a "
	    "'/', '?' or '#'" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "listenback_timeout = 0.5s\n",
	    "bad.conf:8: [output main] listenback_timeout:" },
	{ "[input]\ntype = tone\n[output arch]\ntype = file\npath = /tmp/x."
	  "ogg\nlistenback = yes\n",
	    "bad.conf:6: [output arch] listenback: only for type = icecast" },
	{ "[station]\ngroup = audio\n[input]\ntype = tone\n" GOOD_OUTPUT,
	    "bad.conf:2: [station] group: only with user" },
	/* The daily archive's keep removed the hourly one's files (its
	 * "2026-11-20-14.ogg" looked like the 14th sibling of a day). */
	{ "[input]\ntype = tone\n[output daily]\ntype = file\n"
	  "path = /tmp/%F.ogg\nrotate = 1d\nkeep = 7d\n[output hourly]\n"
	  "type = file\npath = /tmp/%F-%H.ogg\nrotate = 1h\n",
	    "bad.conf:10: [output hourly] path: \"/tmp/%F-%H.ogg\" and "
	    "[output daily] path \"/tmp/%F.ogg\" name files alike, so the "
	    "keep of [output daily] would remove the other's files" },
	{ "[input]\ntype = tone\n[output a]\ntype = file\n"
	  "path = /tmp/%H%M.ogg\n[output b]\ntype = file\n"
	  "path = /tmp/%H%M.ogg\nkeep = 1d\n",
	    "bad.conf:8: [output b] path: \"/tmp/%H%M.ogg\" and [output a] "
	    "path \"/tmp/%H%M.ogg\" name files alike, so the keep of "
	    "[output b]" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[fallback]\nafter = 3s\n"
	  "source = file\n",
	    "bad.conf:10: [fallback] path: missing (source = file needs a "
	    "path)" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[fallback]\n"
	  "on_restore = /bin/notify 'restored\n",
	    "bad.conf:9: [fallback] on_restore: unterminated ' quote" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[fallback]\nafter = 0.1s\n",
	    "bad.conf:9: [fallback] after: \"0.1s\" is out of range "
	    "(0.5s..3600s)" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[fallback]\nsource = jingle\n",
	    "bad.conf:9: [fallback] source: \"jingle\" is not one of "
	    "playlist|file|tone|silence" },
	{ "[input]\ntype = tone\n" GOOD_OUTPUT "[fallback]\nrestore_afte = 2s\n",
	    "bad.conf:9: [fallback] restore_afte: unknown key (did you mean "
	    "restore_after?)" },
};

/* [fallback]: absent means off; present, its defaults, the threshold
 * following [input], the path relative to the config file. */
static void
test_fallback(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_false(cfg->fallback.enabled);
	config_free(cfg);
	cfg = load_ok(
	    "[input]\ntype = tone\nsilence_threshold_dbfs = -40\n" GOOD_OUTPUT
	    "[fallback]\n");
	assert_true(cfg->fallback.enabled);
	assert_int_equal(cfg->fallback.line, 9);
	assert_float_equal(cfg->fallback.threshold_dbfs, -40.0, 1e-9);
	assert_int_equal(cfg->fallback.after_ns, 10 * NS_PER_SEC);
	assert_int_equal(cfg->fallback.restore_after_ns, 2 * NS_PER_SEC);
	assert_int_equal(cfg->fallback.hook_timeout_ns, 10 * NS_PER_SEC);
	assert_int_equal(cfg->fallback.source, FALLBACK_SILENCE);
	assert_null(cfg->fallback.on_dead_air);
	config_free(cfg);
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[fallback]\nthreshold_dbfs = -60\nsource = playlist\n"
		      "path = filler\non_dead_air = a \"b c\"\n");
	assert_float_equal(cfg->fallback.threshold_dbfs, -60.0, 1e-9);
	assert_int_equal(cfg->fallback.source, FALLBACK_PLAYLIST);
	assert_non_null(strstr(cfg->fallback.path, "/filler"));
	assert_true(cfg->fallback.path[0] == '/');
	assert_string_equal(cfg->fallback.on_dead_air, "a \"b c\"");
	config_free(cfg);
}

/* A self-signed CA certificate (made once with openssl req -x509; only
 * parsed here, never trusted for anything). */
static const char test_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjzCCATWgAwIBAgIUdsBeT7YEp9lDZtGuUuJk3Mb63sswCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwScmVsYXkgdW5pdCB0ZXN0IENBMB4XDTI2MTEzMDEwMzIwOVoX\n"
    "DTM2MTEyNzEwMzIwOVowHTEbMBkGA1UEAwwScmVsYXkgdW5pdCB0ZXN0IENBMFkw\n"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEoPrSM82QeYgf5pHF0QM8g1mxEEhiHrqj\n"
    "iptM1Q3eK6Jh82Mp4uHgHnWJjr0Z1i5op7B+Wx3l6jHfuwhPgD8Zz6NTMFEwHQYD\n"
    "VR0OBBYEFCBdXJQiyNmJWFYdu5Z70GD8bmV/MB8GA1UdIwQYMBaAFCBdXJQiyNmJ\n"
    "WFYdu5Z70GD8bmV/MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh\n"
    "AMKV3sq4kAEvvs0SmYZy+0DayyaNevGTM00SJa5wtAXKAiBohk4AecH1fRgoBqSV\n"
    "gupRXqK//JRYo0UovJzIqwtq1Q==\n"
    "-----END CERTIFICATE-----\n";

/* [tls] reaches the outputs with tls = yes, not the others; an output's
 * own key wins, paths are relative to the config file, and the output is
 * restarted on reload when its TLS settings change. */
static void
test_tls_inheritance(void **state)
{
	struct config *cfg, *other;
	char want[600];

	(void)state;
	write_file("ca.pem", test_ca_pem);
	write_file("own-ca.pem", test_ca_pem);
	cfg = load_ok("[input]\ntype = tone\n"
		      "[output a]\nhost = r.example\nport = 8443\n"
		      "mount = /a.ogg\npassword = s3cret-Pa55\ntls = yes\n"
		      "[output b]\nmount = /b.ogg\npassword = s3cret-Pa55\n"
		      "[output c]\nhost = r.example\nport = 8443\n"
		      "mount = /c.ogg\npassword = s3cret-Pa55\ntls = yes\n"
		      "ca_file = own-ca.pem\n"
		      "[tls]\nca_file = ca.pem\ntls_min_version = 1.2\n");
	snprintf(want, sizeof(want), "%s/ca.pem", tmpdir);
	assert_string_equal(cfg->tls.ca_file, want);
	assert_string_equal(cfg->outputs[0].tls_settings.ca_file, want);
	assert_null(cfg->outputs[1].tls_settings.ca_file);
	snprintf(want, sizeof(want), "%s/own-ca.pem", tmpdir);
	assert_string_equal(cfg->outputs[2].tls_settings.ca_file, want);
	assert_int_equal(
	    cfg->outputs[0].tls_settings.min_version, TLS_VERSION_1_2);
	assert_true(
	    config_output_same(cfg, &cfg->outputs[0], cfg, &cfg->outputs[0]));
	other = load_ok("[input]\ntype = tone\n"
			"[output a]\nhost = r.example\nport = 8443\n"
			"mount = /a.ogg\npassword = s3cret-Pa55\ntls = yes\n"
			"[tls]\nca_file = own-ca.pem\n");
	assert_false(config_output_same(
	    cfg, &cfg->outputs[0], other, &other->outputs[0]));
	config_free(other);
	config_free(cfg);
	/* Feeds alone may ask for 1.3; outputs may not. */
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT
		      "[tls]\ntls_min_version = 1.3\n");
	assert_int_equal(cfg->tls.min_version, TLS_VERSION_1_3);
	config_free(cfg);
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "tls = yes\n[tls]\ntls_min_version = 1.3\n",
	    "[tls] tls_min_version: 1.3 cannot be enforced on Icecast "
	    "outputs");
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "tls = yes\nca_file = missing.pem\n",
	    "[output main] ca_file: cannot open");
	/* A good CA, then a damaged block: OpenSSL's loader (every
	 * connection's) refuses the whole file, so the check must too. */
	{
		char damaged[2048];

		snprintf(damaged, sizeof(damaged),
		    "%s-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n",
		    test_ca_pem);
		write_file("damaged.pem", damaged);
	}
	expect_error("[input]\ntype = tone\n" GOOD_OUTPUT
		     "tls = yes\nca_file = damaged.pem\n",
	    "damaged.pem\": OpenSSL cannot load it whole");
}

/* codec = mp3 defaults: CBR 64 kbit/s a channel, admin titles. */
static void
test_mp3(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok(MP3_ENC GOOD_OUTPUT);
	assert_int_equal(cfg->encodings[0].codec, CODEC_MP3);
	assert_true(cfg->encodings[0].managed);
	assert_int_equal(cfg->encodings[0].bitrate_kbps, 128);
	assert_int_equal(cfg->encodings[0].rate_hz, 44100);
	assert_int_equal(cfg->outputs[0].metadata, METADATA_ADMIN);
	assert_string_equal(codec_name(CODEC_MP3), "mp3");
	config_free(cfg);
	cfg = load_ok(MP3_ENC "channels = 1\nrate = 48000\n" GOOD_OUTPUT
		      "metadata = none\n");
	assert_int_equal(cfg->encodings[0].bitrate_kbps, 64);
	assert_int_equal(cfg->encodings[0].rate_hz, 48000);
	assert_int_equal(cfg->outputs[0].metadata, METADATA_NONE);
	config_free(cfg);
	cfg = load_ok(MP3_ENC "quality = 2\n" GOOD_OUTPUT);
	assert_false(cfg->encodings[0].managed);
	assert_int_equal(cfg->encodings[0].bitrate_kbps, 0);
	assert_true(cfg->encodings[0].quality == 2.0);
	config_free(cfg);
}

static void
test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		expect_error(bad_cases[i].text, bad_cases[i].want);
}

static void
test_missing_file(void **state)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	assert_int_not_equal(
	    config_load("/nonexistent/relay.conf", &cfg, err, sizeof(err)), 0);
	assert_null(cfg);
	assert_non_null(strstr(err, "/nonexistent/relay.conf: cannot open"));

	/* A FIFO in place of the file is refused at once: opening it would
	 * wait for a writer and hang a reload (and SIGTERM) for good. */
	{
		char fifo[512];

		snprintf(fifo, sizeof(fifo), "%s/relay.fifo", tmpdir);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_int_not_equal(
		    config_load(fifo, &cfg, err, sizeof(err)), 0);
		assert_non_null(strstr(err, "not a regular file"));
		unlink(fifo);
	}
}

static void
test_secret_not_in_errors_or_summary(void **state)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	const char *path;

	(void)state;
	/* An error later in the file must not quote the password. */
	path =
	    write_file("s.conf", "[input]\ntype = tone\n[output m]\nmount ="
				 " /x\npassword = TopSecret-991\nport = 0\n");
	assert_int_not_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_null(strstr(err, "TopSecret-991"));

	cfg = load_ok("[input]\ntype = tone\n[output m]\nmount = /x\n"
		      "password = TopSecret-991\n");
	mem = open_memstream(&buf, &len);
	config_print_summary(cfg, mem);
	fclose(mem);
	assert_null(strstr(buf, "TopSecret-991"));
	assert_non_null(strstr(buf, "password from password"));
	free(buf);
	config_free(cfg);
}

/* A world-readable file with a secret written in it draws a warning,
 * whether the secret is a source password or the [status] token; a
 * secret taken from the environment or a private file does not. */
static void
test_exposed_secret(void **state)
{
	struct config *cfg;
	const char *path;

	(void)state;
	setenv("RELAY_TEST_EXPOSED_PW", "s3cret-Pa55-from-env", 1);
	cfg = load_ok("[input]\ntype = tone\n[output main]\nmount = /x.ogg\n"
		      "password_env = RELAY_TEST_EXPOSED_PW\n[status]\n"
		      "token = abcdefghijklmnopqrstuvwx\n");
	path = cfg->path;
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(config_exposed_secret(cfg));
	assert_string_equal(config_exposed_secret(cfg), "the [status] token");
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(config_exposed_secret(cfg));
	config_free(cfg);

	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_int_equal(chmod(cfg->path, 0604), 0);
	assert_string_equal(config_exposed_secret(cfg), "a password");
	config_free(cfg);

	cfg = load_ok("[input]\ntype = tone\n[output main]\nmount = /x.ogg\n"
		      "password_env = RELAY_TEST_EXPOSED_PW\n[status]\n"
		      "token_env = RELAY_TEST_EXPOSED_PW\n");
	assert_int_equal(chmod(cfg->path, 0644), 0);
	assert_null(config_exposed_secret(cfg));
	config_free(cfg);
	unsetenv("RELAY_TEST_EXPOSED_PW");
}

/*
 * libinih's 200-byte line buffer: a longer line is refused at its own
 * line instead of being split (the rest of a long comment read as a
 * key), a NUL byte and an indented continuation are refused, and file
 * bytes in a message are escaped. Inline " ;" comments end a value.
 */
static void
test_lines(void **state)
{
	char text[6000], comment[200], header[5010];
	struct config *cfg;

	(void)state;
	memset(comment, 'x', sizeof(comment));
	comment[0] = ';';
	comment[199] = '\0';
	snprintf(text, sizeof(text),
	    "[input]\ntype = tone\n%stitle = Hacked\n" GOOD_OUTPUT, comment);
	expect_error(text, "bad.conf:3: the line is too long (213 bytes; "
			   "allowed at most 199)");
	/* 199 bytes is fine, and stays a comment. */
	snprintf(text, sizeof(text), "[input]\ntype = tone\n%s\n" GOOD_OUTPUT,
	    comment);
	cfg = load_ok(text);
	assert_string_equal(cfg->input.title, "Live");
	config_free(cfg);
	/* A 5,009-byte header, then a real error: both at their own line. */
	memset(header, 'a', sizeof(header));
	header[0] = '[';
	header[5007] = ']';
	header[5008] = '\0';
	snprintf(text, sizeof(text), "[input]\ntype = tone\n%s\n", header);
	expect_error(text, "bad.conf:3: the line is too long (5008 bytes");
	snprintf(text, sizeof(text),
	    "[input]\ntype = tone\n; %s\n" GOOD_OUTPUT "port = 0\n",
	    "a fine comment");
	expect_error(text, "bad.conf:9: [output main] port");
	expect_error("[input]\ntype = tone\ntitle = Live\n  more\n" GOOD_OUTPUT,
	    "bad.conf:4: indented line");
	{
		static const char nul[] =
		    "[input]\ntype = tone\ntitle = a\0b\n";
		struct config *c = NULL;
		char err[CONFIG_ERR_LEN] = "";
		FILE *fp;
		char path[512];

		snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fwrite(nul, 1, sizeof(nul) - 1, fp);
		fclose(fp);
		assert_int_not_equal(
		    config_load(path, &c, err, sizeof(err)), 0);
		assert_non_null(
		    strstr(err, "nul.conf:3: the line contains a NUL"));
	}
	/* Control bytes and broken UTF-8 from the file are escaped. */
	expect_error("[input]\ntype = tone\nti\x1b[31mtle\xff\x01 = x\n",
	    "bad.conf:3: [input] ti\\x1b[31mtle\\xff\\x01: unknown key");
	expect_error(
	    "[input]\ntype = tone\n[station]\npublic = \xc3\xa9t\xe9\n",
	    "\"\xc3\xa9t\\xe9\" is not yes or no");
	/* " ;" starts a comment after a value; ";" alone does not. */
	cfg = load_ok(
	    "[input]\ntype = tone ; the test tone\n"
	    "title = News;Weather ; shown as News;Weather\n" GOOD_OUTPUT);
	assert_int_equal(cfg->input.type, INPUT_TONE);
	assert_string_equal(cfg->input.title, "News;Weather");
	config_free(cfg);
	/* Durations are decimals: no exponent, no hex float. */
	expect_error("[input]\ntype = tone\n[output main]\nqueue = 1e1\n",
	    "bad.conf:4: [output main] queue: \"1e1\" is not a duration");
	expect_error("[input]\ntype = tone\n[output main]\nqueue = 0x1p4\n",
	    "bad.conf:4: [output main] queue: \"0x1p4\" is not a duration");
}

static void
test_output_same(void **state)
{
	struct config *a, *b;

	(void)state;
	a = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	b = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_true(config_output_same(a, &a->outputs[0], b, &b->outputs[0]));
	config_free(b);
	b = load_ok("[input]\ntype = tone\n[output main]\nport = 8001\n"
		    "mount = /live.ogg\npassword = s3cret-Pa55\n");
	assert_false(config_output_same(a, &a->outputs[0], b, &b->outputs[0]));
	config_free(b);
	b = load_ok("[input]\ntype = tone\n[encoding default]\nquality = "
		    "2\n" GOOD_OUTPUT);
	assert_false(config_output_same(a, &a->outputs[0], b, &b->outputs[0]));
	config_free(b);
	/* Station texts go to Icecast at connect: they restart an Icecast
	 * output, but an archive does not carry them and must not be cut
	 * into a new file for a new description. */
	b = load_ok("[station]\ndescription = Local news\n"
		    "[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_false(config_output_same(a, &a->outputs[0], b, &b->outputs[0]));
	config_free(b);
	config_free(a);
	a = load_ok("[input]\ntype = tone\n[output rec]\ntype = file\n"
		    "path = rec.ogg\n");
	b = load_ok("[station]\nname = Other\ndescription = Local news\n"
		    "[input]\ntype = tone\n[output rec]\ntype = file\n"
		    "path = rec.ogg\n");
	assert_true(config_output_same(a, &a->outputs[0], b, &b->outputs[0]));
	config_free(b);
	config_free(a);
}

/* change_of(A, B, OUT): what a reload from encoding section(s) A to B
 * does to output main (on encoding e, then with keys OUT after
 * GOOD_OUTPUT). */
static enum config_output_change
change_of(const char *a_text, const char *b_text, const char *out)
{
	char buf[1024];
	struct config *a, *b;
	enum config_output_change c;

	snprintf(buf, sizeof(buf),
	    "[input]\ntype = tone\n%s" GOOD_OUTPUT "encoding = e\n", a_text);
	a = load_ok(buf);
	snprintf(buf, sizeof(buf), "[input]\ntype = tone\n%s" GOOD_OUTPUT "%s",
	    b_text, out);
	b = load_ok(buf);
	c = config_output_change(a, &a->outputs[0], b, &b->outputs[0]);
	config_free(b);
	config_free(a);
	return c;
}

/* What a reload keeps while an encoding changes: an Ogg stream can go on
 * in a new chain on the same connection when codec, rate, channels (and
 * Opus frame length) stay; anything else restarts the output, and so does
 * any change of the output's own keys. */
static void
test_output_change(void **state)
{
	const char *vorbis = "[encoding e]\nbitrate = 128\n";
	const char *opus = "[encoding e]\ncodec = opus\nbitrate = 64\n";
	const char *mp3 = "[encoding e]\ncodec = mp3\nbitrate = 128\n";
	const char *on_e = "encoding = e\n";
	char e_name[] = "e", f_name[] = "f";
	struct encoding_config x, y;

	(void)state;
	assert_int_equal(
	    change_of(vorbis, vorbis, on_e), CONFIG_OUTPUT_SAME);
	/* Vorbis: bitrate, min/max, quality, managed or not: a new chain. */
	assert_int_equal(change_of(vorbis, "[encoding e]\nbitrate = 160\n", on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	assert_int_equal(change_of(vorbis,
			     "[encoding e]\nbitrate = 128\nmax_bitrate = 192\n",
			     on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	assert_int_equal(change_of(vorbis, "[encoding e]\nquality = 5\n", on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	assert_int_equal(change_of("[encoding e]\nquality = 2\n",
			     "[encoding e]\nquality = 3\n", on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	/* ... not a new rate, channel count or codec. */
	assert_int_equal(change_of(vorbis,
			     "[encoding e]\nbitrate = 128\nrate = 48000\n",
			     on_e),
	    CONFIG_OUTPUT_RESTART);
	assert_int_equal(change_of(vorbis,
			     "[encoding e]\nbitrate = 64\nchannels = 1\n",
			     on_e),
	    CONFIG_OUTPUT_RESTART);
	assert_int_equal(change_of(vorbis, opus, on_e), CONFIG_OUTPUT_RESTART);
	/* Opus: bitrate, complexity, application; not frame_ms. */
	assert_int_equal(
	    change_of(opus, "[encoding e]\ncodec = opus\nbitrate = 96\n", on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	assert_int_equal(change_of(opus,
			     "[encoding e]\ncodec = opus\nbitrate = 64\n"
			     "complexity = 5\napplication = voip\n",
			     on_e),
	    CONFIG_OUTPUT_NEW_CHAIN);
	assert_int_equal(change_of(opus,
			     "[encoding e]\ncodec = opus\nbitrate = 64\n"
			     "frame_ms = 10\n",
			     on_e),
	    CONFIG_OUTPUT_RESTART);
	/* MP3 has no chain: any change restarts. */
	assert_int_equal(
	    change_of(mp3, "[encoding e]\ncodec = mp3\nbitrate = 160\n", on_e),
	    CONFIG_OUTPUT_RESTART);
	/* The output's own keys changed as well: restarts. */
	assert_int_equal(change_of(vorbis, "[encoding e]\nbitrate = 160\n",
			     "encoding = e\nstall_timeout = 20s\n"),
	    CONFIG_OUTPUT_RESTART);
	/* Another encoding's change does not touch this output. */
	assert_int_equal(change_of("[encoding e]\n[encoding f]\nbitrate = 64\n",
			     "[encoding e]\n[encoding f]\nbitrate = 96\n", on_e),
	    CONFIG_OUTPUT_SAME);
	/* A same-named encoding only (a renamed one is another stream). */
	x = (struct encoding_config){.name = e_name, .codec = CODEC_VORBIS,
	    .rate_hz = 44100, .channels = 2};
	y = x;
	y.quality = 6;
	assert_true(config_encoding_chains(&x, &y));
	y.name = f_name;
	assert_false(config_encoding_chains(&x, &y));
}

static void
test_output_url(void **state)
{
	struct config *cfg;
	char url[256];

	(void)state;
	cfg = load_ok("[input]\ntype = tone\n" GOOD_OUTPUT);
	assert_string_equal(
	    config_output_url(&cfg->outputs[0], url, sizeof(url)),
	    "http://127.0.0.1:8000/live.ogg");
	config_free(cfg);
}

/* docs/configuration.md must document every key of the table. */
static void
test_docs_list_every_key(void **state)
{
	char *doc = NULL;
	size_t i, len = 0;
	FILE *fp;
	char needle[128];

	(void)state;
	fp = fopen("docs/configuration.md", "r");
	if (fp == NULL)
		fp = fopen("../docs/configuration.md", "r");
	assert_non_null(fp);
	doc = malloc(1 << 20);
	assert_non_null(doc);
	len = fread(doc, 1, (1 << 20) - 1, fp);
	doc[len] = '\0';
	fclose(fp);
	assert_true(config_key_count() > 40);
	for (i = 0; i < config_key_count(); i++) {
		const char *sec = config_key_section(i);
		char *start, *end;

		snprintf(needle, sizeof(needle), "## [%s", sec);
		start = strstr(doc, needle);
		if (start == NULL)
			fail_msg(
			    "docs/configuration.md has no section %s", needle);
		end = strstr(start + 3, "\n## ");
		snprintf(
		    needle, sizeof(needle), "| `%s` |", config_key_name(i));
		{
			char *hit = strstr(start, needle);
			if (hit == NULL || (end != NULL && hit > end))
				fail_msg("docs/configuration.md [%s] lacks key "
					 "%s",
				    sec, config_key_name(i));
		}
	}
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_encoding_rate_follows_programme),
	    cmocka_unit_test(test_encoding_rate_vorbis_fallback),
	    cmocka_unit_test(test_encoding_channels_follow_programme),
	    cmocka_unit_test(test_poll_icecast),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_mp3),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_secret_not_in_errors_or_summary),
	    cmocka_unit_test(test_exposed_secret),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_output_same),
	    cmocka_unit_test(test_output_change),
	    cmocka_unit_test(test_output_url),
	    cmocka_unit_test(test_tls_inheritance),
	    cmocka_unit_test(test_docs_list_every_key),
	    cmocka_unit_test(test_fallback),
	    cmocka_unit_test(test_listen_urls),
	};
	int rc;

	test_tmpdir_template(tmpdir, sizeof(tmpdir), "relay-test-config");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		perror(tmpdir);
	return rc;
}
