/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for schedule.c with an injected clock: the example day in
 * tests/data/schedule/good, every file in tests/data/schedule/bad (each
 * names its expected error on its first line), every invalid key and
 * section with its exact FILE:LINE message, the merged upcoming list,
 * overlap resolution (priorities, later start, resume after a
 * pre-emption, unknown durations), and the `relay schedule` listing.
 *
 * Runs from the top of the tree (tests/run does); writes scratch files in
 * a mkdtemp() directory. Threads: one.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "schedule.h"
#include "test_tmpdir.h"
#include "util.h"

#define DATA_DIR "tests/data/schedule"
#define MIN_NS (60 * NS_PER_SEC)

static char scratch_dir[256];
static char scratch_path[512];

static int
group_setup(void **state)
{
	(void)state;
	test_tmpdir_template(scratch_dir, sizeof(scratch_dir), "test_schedule");
	if (mkdtemp(scratch_dir) == NULL)
		return -1;
	snprintf(scratch_path, sizeof(scratch_path), "%s/sched.conf",
	    scratch_dir);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(scratch_path);
	rmdir(scratch_dir);
	return 0;
}

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * NS_PER_SEC;
}

static void
write_scratch(const char *content, size_t len)
{
	FILE *fp = fopen(scratch_path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static struct schedule *
load_text(const char *content, const char *timezone)
{
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN];

	write_scratch(content, strlen(content));
	if (schedule_load(scratch_path, timezone, &s, err, sizeof(err)) < 0)
		fail_msg("schedule_load: %s", err);
	return s;
}

/* ------------------------------------------------------------------ */

static void
test_good_news_day(void **state)
{
	const char *path = DATA_DIR "/good/news-day.conf";
	const struct schedule_segment *g;
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN];

	(void)state;
	assert_int_equal(schedule_load(path, "Europe/London", &s, err,
	    sizeof(err)), 0);
	assert_int_equal(schedule_count(s), 6);
	assert_string_equal(cron_tz_name(schedule_tz(s)), "Europe/London");

	g = schedule_segment(s, 0);
	assert_string_equal(g->name, "news-on-the-hour");
	assert_int_equal(g->line, 5);
	assert_int_equal(g->when.kind, CRON_EXPR);
	assert_string_equal(g->when_text, "0 * * * *");
	assert_int_equal(g->source, SCHEDULE_SOURCE_STREAM);
	assert_string_equal(g->url, "http://127.0.0.1:8000/network-news.ogg");
	assert_null(g->path);
	assert_int_equal(g->duration_ns, 3 * MIN_NS);
	assert_string_equal(g->title, "News on the hour");
	assert_string_equal(g->artist, "Network News");
	assert_int_equal(g->priority, 10);
	assert_int_equal(g->fade_ns, 20 * NS_PER_MS);

	g = schedule_segment(s, 1);
	assert_string_equal(g->name, "breakfast");
	assert_int_equal(g->source, SCHEDULE_SOURCE_LIVE);
	assert_int_equal(g->duration_ns, 3 * 60 * MIN_NS);
	assert_int_equal(g->priority, 0);
	assert_int_equal(g->when.weekdays, 0x3e);

	g = schedule_segment(s, 2);
	assert_string_equal(g->name, "morning-feature");
	assert_int_equal(g->source, SCHEDULE_SOURCE_FILE);
	/* Relative to the schedule file's directory. */
	assert_string_equal(g->path, DATA_DIR "/good/segments/feature.ogg");
	assert_int_equal(g->duration_ns, SCHEDULE_DURATION_UNKNOWN);
	assert_int_equal(g->fade_ns, 50 * NS_PER_MS);

	g = schedule_segment(s, 3);
	assert_int_equal(g->source, SCHEDULE_SOURCE_PLAYLIST);
	assert_int_equal(g->order, SCHEDULE_ORDER_SHUFFLE);
	assert_string_equal(g->path, DATA_DIR "/good/music/overnight.m3u");
	assert_null(g->artist);

	g = schedule_segment(s, 4);
	assert_int_equal(g->source, SCHEDULE_SOURCE_TONE);
	assert_true(g->frequency_hz == 1000.0);
	assert_true(g->level_dbfs == -18.0);

	g = schedule_segment(s, 5);
	assert_string_equal(g->name, "christmas-eve-special");
	assert_int_equal(g->when.kind, CRON_AT);
	assert_string_equal(g->path, "/srv/radio/specials/carols.flac");
	assert_string_equal(g->artist, "Choir of King's College, Cambridge");
	assert_int_equal(cron_next(&g->when, schedule_tz(s), 0),
	    utc(2026, 12, 24, 18, 0, 0));

	assert_null(schedule_segment(s, 6));
	assert_int_equal(schedule_find(s, "overnight"), 3);
	assert_int_equal(schedule_find(s, "nope"), SCHEDULE_NONE);
	schedule_free(s);
	schedule_free(NULL);
}

static void
test_good_small_files(void **state)
{
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN];

	(void)state;
	assert_int_equal(schedule_load(DATA_DIR "/good/minimal.conf", "UTC",
	    &s, err, sizeof(err)), 0);
	assert_int_equal(schedule_count(s), 1);
	/* The title defaults to the name; tone defaults. */
	assert_string_equal(schedule_segment(s, 0)->title, "news");
	assert_true(schedule_segment(s, 0)->frequency_hz == 440.0);
	assert_true(schedule_segment(s, 0)->level_dbfs == -18.0);
	assert_int_equal(schedule_segment(s, 0)->duration_ns,
	    90 * NS_PER_SEC);
	schedule_free(s);
	assert_int_equal(schedule_load(DATA_DIR "/good/comments-only.conf",
	    NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(schedule_count(s), 0);
	schedule_free(s);
}

/* A stream's own TLS keys: paths resolved against the schedule's
 * directory, the version parsed, and unset keys left to [tls]. */
static void
test_stream_tls_keys(void **state)
{
	static const char text[] =
	    "[segment partner]\nat = 2026-12-01 06:00\nsource = stream\n"
	    "url = https://feeds.example/news.ogg\nduration = 3m\n"
	    "ca_file = partner-ca.pem\nclient_cert = /etc/relay/c.pem\n"
	    "tls_min_version = 1.3\n"
	    "[segment plain]\nat = 2026-12-01 07:00\nsource = stream\n"
	    "url = https://feeds.example/news.ogg\nduration = 3m\n";
	const struct schedule_segment *seg;
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN], want[600];

	(void)state;
	write_scratch(text, sizeof(text) - 1);
	assert_int_equal(
	    schedule_load(scratch_path, "UTC", &s, err, sizeof(err)), 0);
	seg = schedule_segment(s, 0);
	snprintf(want, sizeof(want), "%s/partner-ca.pem", scratch_dir);
	assert_string_equal(seg->ca_file, want);
	assert_null(seg->ca_dir);
	assert_string_equal(seg->client_cert, "/etc/relay/c.pem");
	assert_int_equal(seg->tls_min_version, 1);
	seg = schedule_segment(s, 1);
	assert_null(seg->ca_file);
	assert_null(seg->client_cert);
	assert_int_equal(seg->tls_min_version, -1);
	schedule_free(s);
}

/* Every bad file starts with "; expect: LINE: message". */
static void
test_bad_files(void **state)
{
	DIR *d = opendir(DATA_DIR "/bad");
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[512], first[512], want[1024], err[SCHEDULE_ERR_LEN];
		struct schedule *s = (struct schedule *)&s;
		FILE *fp;
		size_t len;

		if (strstr(e->d_name, ".conf") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/bad/%s", DATA_DIR, e->d_name);
		fp = fopen(path, "r");
		assert_non_null(fp);
		assert_non_null(fgets(first, sizeof(first), fp));
		fclose(fp);
		len = strlen(first);
		if (len > 0 && first[len - 1] == '\n')
			first[len - 1] = '\0';
		assert_int_equal(strncmp(first, "; expect: ", 10), 0);
		snprintf(want, sizeof(want), "%s:%s", path, first + 10);
		err[0] = '\0';
		if (schedule_load(path, "Europe/London", &s, err,
		    sizeof(err)) >= 0)
			fail_msg("%s was accepted", path);
		assert_null(s);
		if (strcmp(err, want) != 0)
			fail_msg("%s:\n  got      %s\n  expected %s", path, err,
			    want);
		n++;
	}
	closedir(d);
	assert_true(n >= 16);
}

struct bad_text {
	const char *text;
	const char *message; /* after "PATH:" */
};

#define SEG "[segment s]\ncron = 0 * * * *\n"

static void
test_invalid_keys(void **state)
{
	static const struct bad_text cases[] = {
		/* Sections. */
		{ "[segment]\n", "1: [segment]: the segment needs a name "
		    "(allowed [segment NAME])" },
		{ "[segment   ]\n", "1: [segment]: the segment needs a name "
		    "(allowed [segment NAME])" },
		{ "[segment a b]\n", "1: [segment a b]: the name may use only "
		    "letters, digits, '-', '_' and '.' (at most 63 bytes)" },
		{ "[segment news] extra\n", "1: [segment news]: unexpected "
		    "text after \"]\"" },
		{ "[segmentnews]\n", "1: [segmentnews]: unknown section "
		    "(allowed [segment NAME])" },
		{ "[schedule]\ntimezone = UTC\n", "1: [schedule]: unknown "
		    "section (allowed [segment NAME])" },
		{ "[segment news\n", "1: syntax error: \"[\" without \"]\"" },
		{ "\n; comment\ncron = 0 * * * *\n", "3: cron: key outside a "
		    "section (put it under [segment NAME])" },
		{ SEG "source = tone\nduration = 1m\n  title = x\n",
		    "5: indented line (continuation lines are not supported: "
		    "start keys and sections in column 1)" },
		{ SEG "source = tone\njust words\n", "4: syntax error "
		    "(expected [segment NAME], key = value, or a comment "
		    "starting with ; or #)" },
		/* Keys. */
		{ SEG "foo = 1\n", "3: [segment s] foo: unknown key (allowed "
		    "cron, at, source, path, order, url, frequency, level_dbfs, "
		    "duration, title, artist, priority, fade, gain, normalise, "
		    "ca_file, ca_dir, client_cert, tls_min_version)" },
		{ SEG "sorce = tone\n", "3: [segment s] sorce: unknown key "
		    "(did you mean source?)" },
		{ SEG "cron = 1 * * * *\n", "3: [segment s] cron: given twice "
		    "(first on line 2)" },
		{ SEG "at = 2026-12-24 18:00\n", "3: [segment s] at: cron is "
		    "already set on line 2 (allowed one of cron or at)" },
		{ "[segment s]\ncron = 0 0 * * * *\n", "2: [segment s] cron: "
		    "expected 5 fields (minute hour day-of-month month "
		    "day-of-week), got 6" },
		{ "[segment s]\ncron = */0 * * * *\n", "2: [segment s] cron: "
		    "minute step \"0\" is not valid (allowed 1-59)" },
		{ "[segment s]\nat = tomorrow\n", "2: [segment s] at: "
		    "\"tomorrow\" is not a date and time (allowed YYYY-MM-DD "
		    "HH:MM or YYYY-MM-DD HH:MM:SS)" },
		{ SEG "source = radio\n", "3: [segment s] source: \"radio\" is "
		    "not a source (allowed file|playlist|live|stream|tone|"
		    "silence)" },
		{ SEG "source = playlist\norder = random\n", "4: [segment s] "
		    "order: \"random\" is not an order (allowed "
		    "sequential|shuffle)" },
		{ SEG "path =\n", "3: [segment s] path: is empty (allowed a "
		    "file, directory or .m3u path)" },
		{ SEG "url = http:///feed.ogg\n", "3: [segment s] url: "
		    "\"http:///feed.ogg\" is not a valid URL (allowed e.g. "
		    "http://host:8000/feed.ogg, no spaces)" },
		{ SEG "url = http://host/a b.ogg\n", "3: [segment s] url: "
		    "\"http://host/a b.ogg\" is not a valid URL (allowed e.g. "
		    "http://host:8000/feed.ogg, no spaces)" },
		{ SEG "url = feed.ogg\n", "3: [segment s] url: \"feed.ogg\" "
		    "must start with http:// or https://" },
		/* A feed's credentials never reach the message (--check, the
		 * log, a rejected reload's detail in /api/status). */
		{ SEG "url = http://user:pw secret@feeds.example/n.ogg\n",
		    "3: [segment s] url: \"http://***@feeds.example/n.ogg\" "
		    "is not a valid URL (allowed e.g. "
		    "http://host:8000/feed.ogg, no spaces)" },
		{ SEG "url = ftp://user:feedpw@feeds.example/n.ogg\n",
		    "3: [segment s] url: \"ftp://***@feeds.example/n.ogg\" "
		    "must start with http:// or https://" },
		{ SEG "url = user:feedpw@feeds.example/n.ogg\n",
		    "3: [segment s] url: \"***@feeds.example/n.ogg\" "
		    "must start with http:// or https://" },
		{ SEG "url = http://u:fe/edpw@feeds.example/n.ogg\n",
		    "3: [segment s] url: has an '@' after a '/', '?' or '#', "
		    "so a password in it could not be told from the path "
		    "(and would be shown): write a password's '/' as %2F, "
		    "'?' as %3F, '#' as %23 and '@' as %40" },
		{ SEG "frequency = loud\n", "3: [segment s] frequency: "
		    "\"loud\" is not a number (allowed 0 to 20000 Hz)" },
		{ SEG "frequency = 30000\n", "3: [segment s] frequency: "
		    "\"30000\" is out of range (allowed 0 to 20000 Hz)" },
		{ SEG "level_dbfs = 3\n", "3: [segment s] level_dbfs: \"3\" is "
		    "out of range (allowed -120 to 0)" },
		{ SEG "duration = soon\n", "3: [segment s] duration: \"soon\" "
		    "is not a duration (allowed e.g. 90s, 15m, 1h30m)" },
		{ SEG "duration = 0\n", "3: [segment s] duration: \"0\" is out "
		    "of range (allowed 0.1s to 24h: shorter would not be "
		    "heard)" },
		{ SEG "duration = 25h\n", "3: [segment s] duration: \"25h\" is "
		    "out of range (allowed 0.1s to 24h)" },
		/* The control API's rules: at least 0.1 s, each unit once,
		 * no space between a number and its unit. */
		{ SEG "duration = 1ms\n", "3: [segment s] duration: \"1ms\" is "
		    "out of range (allowed 0.1s to 24h: shorter would not be "
		    "heard)" },
		{ SEG "duration = 99ms\n", "3: [segment s] duration: \"99ms\" "
		    "is out of range (allowed 0.1s to 24h: shorter would not "
		    "be heard)" },
		{ SEG "duration = 1h1h\n", "3: [segment s] duration: \"1h1h\" "
		    "is not a duration (allowed e.g. 90s, 15m, 1h30m)" },
		{ SEG "duration = 30s 1m\n", "3: [segment s] duration: \"30s 1m\" "
		    "is not a duration (allowed e.g. 90s, 15m, 1h30m)" },
		{ SEG "fade = quick\n", "3: [segment s] fade: \"quick\" is not "
		    "a duration (allowed e.g. 20ms, 1s)" },
		{ SEG "fade = 10s1ms\n", "3: [segment s] fade: \"10s1ms\" is "
		    "out of range (allowed 0 to 10s)" },
		{ SEG "gain = 31\n", "3: [segment s] gain: \"31\" is out of "
		    "range (allowed -30 to 30 dB)" },
		{ SEG "gain = loud\n", "3: [segment s] gain: \"loud\" is not "
		    "a number (allowed -30 to 30 dB)" },
		{ SEG "normalise = maybe\n", "3: [segment s] normalise: "
		    "\"maybe\" is not yes or no" },
		{ SEG "priority = high\n", "3: [segment s] priority: \"high\" "
		    "is not an integer (allowed an integer from -1000000 to "
		    "1000000)" },
		{ SEG "priority = 2000000\n", "3: [segment s] priority: "
		    "\"2000000\" is out of range (allowed an integer from "
		    "-1000000 to 1000000)" },
		/* Whole-section checks, at the header's line. */
		{ "[segment s]\nsource = tone\nduration = 1m\n", "1: "
		    "[segment s]: no start time (allowed cron = EXPRESSION or "
		    "at = YYYY-MM-DD HH:MM)" },
		{ SEG "duration = 1m\n", "1: [segment s]: no source (allowed "
		    "source = file|playlist|live|stream|tone|silence)" },
		{ SEG "source = file\n", "1: [segment s]: source = file needs "
		    "path" },
		{ SEG "source = playlist\nduration = 1h\n", "1: [segment s]: "
		    "source = playlist needs path" },
		{ SEG "source = playlist\npath = x.m3u\n", "1: [segment s]: "
		    "source = playlist needs duration (e.g. duration = 3m)" },
		{ SEG "source = live\n", "1: [segment s]: source = live needs "
		    "duration (e.g. duration = 3m)" },
		{ SEG "source = silence\n", "1: [segment s]: source = silence "
		    "needs duration (e.g. duration = 3m)" },
		{ SEG "source = stream\nurl = https://h/f.ogg\n", "1: "
		    "[segment s]: source = stream needs duration (e.g. "
		    "duration = 3m)" },
		{ SEG "order = shuffle\nsource = file\npath = a.ogg\n", "3: "
		    "[segment s] order: not used by source = file (only by "
		    "source = playlist)" },
		{ SEG "source = live\nduration = 1m\nfrequency = 1000\n", "5: "
		    "[segment s] frequency: not used by source = live (only by "
		    "source = tone)" },
		{ SEG "source = tone\nduration = 1m\npath = a.ogg\n", "5: "
		    "[segment s] path: not used by source = tone (only by "
		    "source = file or playlist)" },
		/* TLS keys: a stream's only, checked in form only. */
		{ SEG "tls_min_version = 1.1\n", "3: [segment s] "
		    "tls_min_version: \"1.1\" is not one of 1.2|1.3" },
		{ SEG "ca_file =\n", "3: [segment s] ca_file: is empty" },
		{ SEG "source = file\npath = a.ogg\nca_file = ca.pem\n", "5: "
		    "[segment s] ca_file: not used by source = file (only by "
		    "source = stream)" },
		/* The first error wins, even after a good segment. */
		{ "[segment a]\ncron = 0 * * * *\nsource = tone\nduration = 1m\n"
		    "[segment b]\ncron = 0 * * * *\nsource = tone\nbad = 1\n"
		    "worse = 2\n", "8: [segment b] bad: unknown key (did you "
		    "mean at?)" },
	};
	char err[SCHEDULE_ERR_LEN], want[SCHEDULE_ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct schedule *s = (struct schedule *)&s;

		write_scratch(cases[i].text, strlen(cases[i].text));
		snprintf(want, sizeof(want), "%s:%s", scratch_path,
		    cases[i].message);
		err[0] = '\0';
		if (schedule_load(scratch_path, "UTC", &s, err,
		    sizeof(err)) != -EINVAL)
			fail_msg("case %zu was accepted:\n%s", i,
			    cases[i].text);
		assert_null(s);
		if (strcmp(err, want) != 0)
			fail_msg("case %zu:\n  got      %s\n  expected %s", i,
			    err, want);
	}
}

static void
test_line_limits(void **state)
{
	char text[400], err[SCHEDULE_ERR_LEN], want[SCHEDULE_ERR_LEN];
	struct schedule *s = NULL;

	(void)state;
	/* libinih's line buffer: a long line is an error, not two lines. */
	snprintf(text, sizeof(text), SEG "source = tone\nduration = 1m\n"
	    "title = %0250d\n", 7);
	write_scratch(text, strlen(text));
	assert_int_equal(schedule_load(scratch_path, "UTC", &s, err,
	    sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: the line is too long (258 bytes; "
	    "allowed at most 199)", scratch_path);
	assert_string_equal(err, want);
	/* A NUL byte. */
	write_scratch("[segment s]\ncron = 0 * * * *\0\n", 31);
	assert_int_equal(schedule_load(scratch_path, "UTC", &s, err,
	    sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: the line contains a NUL byte",
	    scratch_path);
	assert_string_equal(err, want);
	/* A byte order mark, CRLF line ends and both comment styles. */
	s = load_text("\xef\xbb\xbf[segment s]\r\ncron = 0 * * * *\r\n"
	    "# hash\r\n; semicolon\r\nsource = tone ; inline\r\n"
	    "duration = 1m\r\n", "UTC");
	assert_int_equal(schedule_count(s), 1);
	assert_int_equal(schedule_segment(s, 0)->source, SCHEDULE_SOURCE_TONE);
	schedule_free(s);
}

static void
test_timezone_and_open_errors(void **state)
{
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN], want[SCHEDULE_ERR_LEN];

	(void)state;
	write_scratch(SEG "source = tone\nduration = 1m\n",
	    strlen(SEG "source = tone\nduration = 1m\n"));
	assert_int_equal(schedule_load(scratch_path, "Mars/Olympus", &s, err,
	    sizeof(err)), -ENOENT);
	assert_null(s);
	assert_string_equal(err, "[schedule] timezone: \"Mars/Olympus\" is "
	    "not a known time zone (no /usr/share/zoneinfo/Mars/Olympus)");
	assert_int_equal(schedule_check_timezone("Mars/Olympus", err,
	    sizeof(err)), -ENOENT);
	assert_int_equal(schedule_check_timezone("America/New_York", err,
	    sizeof(err)), 0);
	assert_int_equal(schedule_load(DATA_DIR "/nope.conf", "UTC", &s, err,
	    sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s",
	    DATA_DIR "/nope.conf", strerror(ENOENT));
	assert_string_equal(err, want);
	/* A FIFO is refused at once (open() would wait for a writer). */
	snprintf(want, sizeof(want), "%s/schedule.fifo", scratch_dir);
	assert_int_equal(mkfifo(want, 0600), 0);
	assert_int_equal(schedule_load(want, "UTC", &s, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(want);
}

static void
test_titles_are_sanitized(void **state)
{
	struct schedule *s;

	(void)state;
	s = load_text(SEG "source = tone\nduration = 1m\n"
	    "title = Caf\xc3\xa9\x01 News\x1f\n"
	    "artist = Bad \xff byte\n", "UTC");
	assert_string_equal(schedule_segment(s, 0)->title, "Caf\xc3\xa9 News");
	assert_string_equal(schedule_segment(s, 0)->artist,
	    "Bad \xef\xbf\xbd byte");
	schedule_free(s);
}

static const char overlap_text[] =
    "[segment show]\ncron = 0 6 * * *\nsource = live\nduration = 3h\n"
    "[segment news]\ncron = 0 * * * *\nsource = tone\nduration = 3m\n"
    "priority = 10\n"
    "[segment feature]\ncron = 30 7 * * *\nsource = tone\n"
    "duration = 10m\npriority = 5\n"
    "[segment later]\ncron = 45 7 * * *\nsource = silence\n"
    "duration = 30m\n"
    "[segment special]\nat = 2026-12-24 06:58\nsource = tone\n"
    "duration = 10m\npriority = 20\n"
    "[segment tie-a]\ncron = 0 12 * * *\nsource = tone\nduration = 5m\n"
    "[segment tie-b]\ncron = 0 12 * * *\nsource = tone\n"
    "duration = 10m\n"
    "[segment recording]\ncron = 0 13 * * *\nsource = file\n"
    "path = r.ogg\n";

/* "name start-from-until" (minutes since 00:00 of day) of what is on air
 * at h:m on the given day; "none from-until" for the default programme. */
static const char *
on_air(const struct schedule *s, int day, int h, int m)
{
	static char buf[128];
	struct schedule_occurrence o;
	int64_t midnight = utc(2026, 12, day, 0, 0, 0);

	assert_int_equal(schedule_active(s, utc(2026, 12, day, h, m, 0), &o),
	    0);
#define MINS(t) ((long long)(((t) - midnight) / MIN_NS))
	if (o.segment == SCHEDULE_NONE)
		snprintf(buf, sizeof(buf), "none %lld-%lld",
		    o.from_wall_ns == INT64_MIN ? -1LL : MINS(o.from_wall_ns),
		    o.until_wall_ns == CRON_NEVER ? -1LL :
		    MINS(o.until_wall_ns));
	else
		snprintf(buf, sizeof(buf), "%s %lld %lld-%lld",
		    schedule_segment(s, o.segment)->name,
		    MINS(o.start_wall_ns), MINS(o.from_wall_ns),
		    MINS(o.until_wall_ns));
#undef MINS
	return buf;
}

/* [segment] gain and normalise ([processing]): parsed, with defaults. */
static void
test_gain_and_normalise(void **state)
{
	struct schedule *s;
	const struct schedule_segment *g;

	(void)state;
	s = load_text("[segment feature]\ncron = 0 * * * *\nsource = tone\n"
		      "duration = 1m\ngain = -4.5\nnormalise = no\n"
		      "[segment plain]\ncron = 30 * * * *\nsource = tone\n"
		      "duration = 1m\n",
	    "UTC");
	assert_non_null(s);
	g = schedule_segment(s, 0);
	assert_float_equal(g->gain_db, -4.5, 1e-9);
	assert_true(g->no_normalise);
	g = schedule_segment(s, 1);
	assert_float_equal(g->gain_db, 0.0, 1e-9);
	assert_false(g->no_normalise);
	schedule_free(s);
}

static void
test_overlap_resolution(void **state)
{
	struct schedule *s = load_text(overlap_text, "UTC");

	(void)state;
	/* 2026-12-23: show 06:00-09:00, the news every hour (priority 10),
	 * the feature 07:30 (5), "later" 07:45-08:15 (0, later start). */
	assert_string_equal(on_air(s, 23, 5, 59), "none 303-360");
	assert_string_equal(on_air(s, 23, 6, 0), "news 360 360-363");
	assert_string_equal(on_air(s, 23, 6, 3), "show 360 363-420");
	assert_string_equal(on_air(s, 23, 6, 30), "show 360 363-420");
	assert_string_equal(on_air(s, 23, 7, 1), "news 420 420-423");
	assert_string_equal(on_air(s, 23, 7, 3), "show 360 423-450");
	assert_string_equal(on_air(s, 23, 7, 30), "feature 450 450-460");
	/* The show resumes for what is left of its window. */
	assert_string_equal(on_air(s, 23, 7, 40), "show 360 460-465");
	/* Equal priority: the later start wins. */
	assert_string_equal(on_air(s, 23, 7, 45), "later 465 465-480");
	assert_string_equal(on_air(s, 23, 8, 1), "news 480 480-483");
	assert_string_equal(on_air(s, 23, 8, 3), "later 465 483-495");
	assert_string_equal(on_air(s, 23, 8, 15), "show 360 495-540");
	assert_string_equal(on_air(s, 23, 9, 0), "news 540 540-543");
	assert_string_equal(on_air(s, 23, 9, 3), "none 543-600");
	/* Same start, same priority: the one written first, then the
	 * other for the rest of its own window. */
	assert_string_equal(on_air(s, 23, 12, 3), "tie-a 720 723-725");
	assert_string_equal(on_air(s, 23, 12, 5), "tie-b 720 725-730");
	/* Unknown duration: never on air until the engine sets it. */
	assert_string_equal(on_air(s, 23, 13, 4), "none 783-840");
	assert_int_equal(schedule_set_duration(s, 7, 10 * MIN_NS), 0);
	assert_string_equal(on_air(s, 23, 13, 1), "news 780 780-783");
	assert_string_equal(on_air(s, 23, 13, 4), "recording 780 783-790");
	assert_string_equal(on_air(s, 23, 13, 10), "none 790-840");

	/* 2026-12-24: the special (priority 20) 06:58-07:08 keeps the 07:00
	 * news out; the show then resumes. */
	assert_string_equal(on_air(s, 24, 6, 57), "show 360 363-418");
	assert_string_equal(on_air(s, 24, 6, 58), "special 418 418-428");
	assert_string_equal(on_air(s, 24, 7, 2), "special 418 418-428");
	assert_string_equal(on_air(s, 24, 7, 8), "show 360 428-450");
	schedule_free(s);
}

static void
test_set_duration(void **state)
{
	struct schedule *s = load_text(overlap_text, "UTC");

	(void)state;
	assert_int_equal(schedule_set_duration(s, 99, MIN_NS), -EINVAL);
	assert_int_equal(schedule_set_duration(s, 7, 0), -EINVAL);
	assert_int_equal(schedule_set_duration(s, 7, -5), -EINVAL);
	assert_int_equal(schedule_set_duration(s, 7,
	    SCHEDULE_DURATION_MAX_NS + 1), -ERANGE);
	assert_int_equal(schedule_segment(s, 7)->duration_ns,
	    SCHEDULE_DURATION_UNKNOWN);
	assert_int_equal(schedule_set_duration(s, 7, 90 * NS_PER_SEC), 0);
	assert_int_equal(schedule_segment(s, 7)->duration_ns, 90 * NS_PER_SEC);
	schedule_free(s);
}

static void
test_upcoming(void **state)
{
	struct schedule *s = load_text(overlap_text, "UTC");
	struct schedule_occurrence o[8];
	int64_t from = utc(2026, 12, 23, 11, 0, 0);
	int n;

	(void)state;
	/* [from, until): the 11:00 news is in, the 13:00 recording out. */
	n = schedule_upcoming(s, from, utc(2026, 12, 23, 13, 0, 0), o, 8);
	assert_int_equal(n, 4);
	assert_int_equal(o[0].segment, 1);
	assert_int_equal(o[0].start_wall_ns, from);
	assert_int_equal(o[0].end_wall_ns, from + 3 * MIN_NS);
	assert_int_equal(o[0].from_wall_ns, o[0].start_wall_ns);
	assert_int_equal(o[0].until_wall_ns, o[0].end_wall_ns);
	/* 12:00: three starts, in file order. */
	assert_int_equal(o[1].segment, 1);
	assert_int_equal(o[2].segment, 5);
	assert_int_equal(o[3].segment, 6);
	assert_int_equal(o[3].start_wall_ns, utc(2026, 12, 23, 12, 0, 0));
	assert_int_equal(o[3].end_wall_ns, utc(2026, 12, 23, 12, 10, 0));
	/* max cuts the list short, here between two 12:00 starts;
	 * schedule_upcoming_after() goes on with neither loss nor repeat. */
	n = schedule_upcoming(s, from, utc(2026, 12, 23, 14, 0, 0), o, 3);
	assert_int_equal(n, 3);
	assert_int_equal(o[2].segment, 5);
	n = schedule_upcoming_after(s, &o[2], utc(2026, 12, 23, 14, 0, 0), o,
	    8);
	assert_int_equal(n, 3);
	assert_int_equal(o[0].segment, 6);
	assert_int_equal(o[0].start_wall_ns, utc(2026, 12, 23, 12, 0, 0));
	/* 13:00: the news (index 1) before the recording (7). */
	assert_int_equal(o[1].segment, 1);
	assert_int_equal(o[1].start_wall_ns, utc(2026, 12, 23, 13, 0, 0));
	/* An unknown duration is listed with end == start. */
	assert_int_equal(o[2].segment, 7);
	assert_int_equal(o[2].end_wall_ns, o[2].start_wall_ns);
	n = schedule_upcoming_after(s, &o[2], utc(2026, 12, 23, 14, 0, 0), o,
	    8);
	assert_int_equal(n, 0);
	assert_int_equal(schedule_upcoming(s, from, from, o, 8), 0);
	assert_int_equal(schedule_upcoming(s, from, from + 1, o, 0), 0);
	schedule_free(s);
}

/* Owned result. (Static holders: gcc 12 -O1 warns about a dangling
 * pointer when open_memstream() gets the address of a local.) */
static char *
print_upcoming(const struct schedule *s, int64_t from, int64_t hours)
{
	static char *text;
	static size_t len;
	FILE *fp;

	text = NULL;
	fp = open_memstream(&text, &len);

	assert_non_null(fp);
	schedule_print_upcoming(s, from, hours, fp);
	fclose(fp);
	return text;
}

static void
test_print_upcoming(void **state)
{
	struct schedule *s = load_text(overlap_text, "UTC");
	char *text, want[2048];
	size_t i;

	(void)state;
	text = print_upcoming(s, utc(2026, 12, 24, 6, 30, 0), 1);
	snprintf(want, sizeof(want),
	    "# %s: the next 1 h from 2026-12-24 06:30:00 UTC (UTC)\n"
	    "2026-12-24 06:58:00 UTC  special    tone      10 min      special"
	    "\n"
	    "2026-12-24 07:00:00 UTC  news       tone      3 min       news"
	    "  [pre-empted by special]\n"
	    "# 2 occurrences\n", scratch_path);
	assert_string_equal(text, want);
	free(text);
	text = print_upcoming(s, utc(2026, 12, 23, 7, 40, 0), 1);
	snprintf(want, sizeof(want),
	    "# %s: the next 1 h from 2026-12-23 07:40:00 UTC (UTC)\n"
	    "2026-12-23 07:45:00 UTC  later      silence   30 min      later"
	    "  [cut at 2026-12-23 08:00:00 UTC by news]\n"
	    "2026-12-23 08:00:00 UTC  news       tone      3 min       news\n"
	    "# 2 occurrences\n", scratch_path);
	assert_string_equal(text, want);
	free(text);
	text = print_upcoming(s, utc(2026, 12, 23, 5, 30, 0), 1);
	snprintf(want, sizeof(want),
	    "# %s: the next 1 h from 2026-12-23 05:30:00 UTC (UTC)\n"
	    "2026-12-23 06:00:00 UTC  show       live      3 h         show"
	    "  [from 2026-12-23 06:03:00 UTC, after news]\n"
	    "2026-12-23 06:00:00 UTC  news       tone      3 min       news\n"
	    "# 2 occurrences\n", scratch_path);
	assert_string_equal(text, want);
	free(text);
	text = print_upcoming(s, utc(2026, 12, 23, 12, 30, 0), 1);
	snprintf(want, sizeof(want),
	    "# %s: the next 1 h from 2026-12-23 12:30:00 UTC (UTC)\n"
	    "2026-12-23 13:00:00 UTC  news       tone      3 min       news\n"
	    "2026-12-23 13:00:00 UTC  recording  file      ?           "
	    "recording\n"
	    "# 2 occurrences; ? = a file relay could not read (its length "
	    "is read again before it starts)\n", scratch_path);
	assert_string_equal(text, want);
	free(text);
	/* A file's length, read to the millisecond, is for people: "32.1 s",
	 * not the schedule syntax "32s61ms". */
	for (i = 0; strcmp(schedule_segment(s, i)->name, "recording") != 0;)
		i++;
	assert_int_equal(schedule_set_duration(s, i,
	    32 * NS_PER_SEC + 61 * NS_PER_MS), 0);
	text = print_upcoming(s, utc(2026, 12, 23, 12, 30, 0), 1);
	assert_non_null(strstr(text, "  recording  file      32.1 s      "
	    "recording"));
	free(text);
	schedule_free(s);

	s = load_text("; nothing\n", "UTC");
	text = print_upcoming(s, 0, 24);
	assert_non_null(strstr(text, "# nothing scheduled\n"));
	free(text);
	schedule_free(s);
}

/* Three segments every minute: 1,080 lines in 6 h, read in chunks of
 * 1,024 that end between segments sharing a start. None lost, none
 * repeated. */
static void
test_print_upcoming_many(void **state)
{
	struct schedule *s = load_text(
	    "[segment a]\ncron = * * * * *\nsource = tone\nduration = 1m\n"
	    "[segment b]\ncron = * * * * *\nsource = tone\nduration = 1m\n"
	    "[segment c]\ncron = * * * * *\nsource = tone\nduration = 1m\n",
	    "UTC");
	char *text = print_upcoming(s, utc(2026, 12, 23, 0, 0, 0), 6), *p;
	int lines = 0;

	(void)state;
	assert_non_null(strstr(text, "# 1080 occurrences\n"));
	for (p = strchr(text, '\n') + 1; *p != '#'; p = strchr(p, '\n') + 1) {
		char name = p[25];

		/* a, b, c, a, b, c ... */
		assert_int_equal(name, "abc"[lines % 3]);
		lines++;
	}
	assert_int_equal(lines, 1080);
	assert_non_null(strstr(text, "2026-12-23 00:21:00 UTC  b "));
	assert_non_null(strstr(text, "2026-12-23 05:41:00 UTC  a "));
	assert_non_null(strstr(text, "2026-12-23 05:41:00 UTC  b "));
	assert_non_null(strstr(text, "2026-12-23 05:59:00 UTC  c "));
	free(text);
	schedule_free(s);
}

/*
 * A valid but heavy schedule: 1,000 segments, each every minute for a
 * day, so 1,440,000 occurrences compete at any instant. Evaluating it
 * must cost per segment, not per occurrence: what is on air, the next
 * hour's listing (60,000 lines) and the --check overlap scan finish in
 * well under the bounds below (the old code needed seconds per
 * schedule_active() call and never finished the listing). A light
 * schedule next to it gives no overlap warning.
 */
/* Loads text, expects it refused with "PATH:LINE: " + a message that
 * starts with want. */
static void
expect_line_error(const char *text, int line, const char *want)
{
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN], head[SCHEDULE_ERR_LEN];

	write_scratch(text, strlen(text));
	err[0] = '\0';
	assert_int_equal(
	    schedule_load(scratch_path, "UTC", &s, err, sizeof(err)), -EINVAL);
	assert_null(s);
	snprintf(head, sizeof(head), "%s:%d: %s", scratch_path, line, want);
	if (strncmp(err, head, strlen(head)) != 0)
		fail_msg("got      %s\nexpected %s...", err, head);
}

/* Times at the ends of int64 and of the calendar: answers, no overflow
 * (the sanitizer build aborts on one), and absurd values refused with
 * FILE:LINE. */
static void
test_extreme_times(void **state)
{
	static const int64_t times[] = {INT64_MIN, INT64_MIN + 1, -1, 0,
	    INT64_C(7258118399) * NS_PER_SEC, INT64_MAX - 1, INT64_MAX};
	struct schedule *s = load_text(
	    "[segment last]\nat = 2199-12-31 23:59:59\nsource = tone\n"
	    "duration = 24h\n[segment first]\nat = 1970-01-01 00:00\n"
	    "source = tone\nduration = 24h\n[segment every]\n"
	    "cron = * * * * *\nsource = silence\nduration = 24h\n",
	    "Pacific/Kiritimati");
	struct schedule_occurrence occ[4], act;
	struct schedule_overlap peak;
	size_t i;
	char *text;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		int n = schedule_upcoming(s, times[i], INT64_MAX, occ, 4);

		assert_true(n >= 0);
		if (n > 0)
			assert_true(schedule_upcoming_after(s, &occ[n - 1],
					INT64_MAX, occ, 4) >= 0);
		assert_int_equal(schedule_active(s, times[i], &act), 0);
		assert_true(
		    act.until_wall_ns > times[i] || times[i] == INT64_MAX);
		assert_int_equal(
		    schedule_overlap_peak(s, times[i], INT64_MAX, 16, &peak),
		    0);
		text = print_upcoming(s, times[i], 2);
		assert_non_null(text);
		free(text);
	}
	schedule_free(s);
	expect_line_error("[segment x]\nat = 2200-01-01 00:00\n"
			  "source = tone\nduration = 1m\n",
	    2, "[segment x] at: \"2200-01-01 00:00\" is not a valid date");
	expect_line_error("[segment x]\ncron = 0 * * * *\nsource = tone\n"
			  "duration = 24h 1s\n",
	    4, "[segment x] duration: \"24h 1s\" is out of range");
	expect_line_error("[segment x]\ncron = 0 * * * *\nsource = tone\n"
			  "duration = 99999999999999h\n",
	    4, "[segment x] duration: \"99999999999999h\" is out of range");
	expect_line_error("[segment x]\ncron = 0 * * * *\nsource = tone\n"
			  "duration = 1e3\n",
	    4, "[segment x] duration: \"1e3\" is not a duration");
	expect_line_error("[segment x]\ncron = 0 * * * *\nsource = tone\n"
			  "duration = 3m\nfade = 0x1p2\n",
	    5, "[segment x] fade: \"0x1p2\" is not a duration");
}

static void
test_heavy_schedule(void **state)
{
	size_t cap = 1000 * 80, o = 0, i;
	char *text = malloc(cap), *out, *line;
	struct schedule *s;
	struct schedule_occurrence act;
	struct schedule_overlap peak;
	int64_t t0 = utc(2026, 12, 23, 10, 0, 17), start;
	double active_ms, print_s;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(text + o, cap - o,
		    "[segment s%zu]\ncron = * * * * *\nsource = silence\n"
		    "duration = 24h\n",
		    i);
	s = load_text(text, "Europe/London");
	free(text);

	start = util_now_mono_ns();
	for (i = 0; i < 20; i++)
		assert_int_equal(
		    schedule_active(s, t0 + (int64_t)i * 200 * NS_PER_MS, &act),
		    0);
	active_ms = (double)(util_now_mono_ns() - start) / 1e6 / 20;
	/* The latest start wins, then the segment written first. */
	assert_int_equal(act.segment, 0);
	assert_int_equal(act.start_wall_ns, utc(2026, 12, 23, 10, 0, 0));
	assert_int_equal(act.until_wall_ns, utc(2026, 12, 23, 10, 1, 0));
	assert_int_equal(act.from_wall_ns, utc(2026, 12, 23, 10, 0, 0));
	if (active_ms > 250)
		fail_msg("schedule_active() took %.1f ms a call", active_ms);

	start = util_now_mono_ns();
	out = print_upcoming(s, t0, 1);
	print_s = (double)(util_now_mono_ns() - start) / 1e9;
	if (print_s > 20)
		fail_msg("the 1 h listing took %.1f s", print_s);
	assert_non_null(strstr(out, "# 60000 occurrences\n"));
	line = strstr(out, "2026-12-23 10:01:00 GMT  s0  ");
	assert_non_null(line);
	*strchr(line, '\n') = '\0';
	assert_non_null(
	    strstr(line, "  [cut at 2026-12-23 10:02:00 GMT by s0]"));
	line += strlen(line) + 1;
	line = strstr(line, "2026-12-23 10:01:00 GMT  s999");
	assert_non_null(line);
	*strchr(line, '\n') = '\0';
	assert_non_null(strstr(line, "  [pre-empted by s0]"));
	free(out);

	assert_int_equal(schedule_overlap_peak(
			     s, t0, t0 + 7 * 24 * 3600 * NS_PER_SEC, 16, &peak),
	    0);
	assert_true(peak.occurrences > 16);
	assert_int_equal(peak.segments, 1000);
	assert_int_equal(peak.at_wall_ns, utc(2026, 12, 23, 10, 1, 0));
	schedule_free(s);

	s = load_text(overlap_text, "UTC");
	assert_int_equal(schedule_overlap_peak(
			     s, t0, t0 + 7 * 24 * 3600 * NS_PER_SEC, 16, &peak),
	    0);
	assert_true(peak.occurrences >= 1 && peak.occurrences <= 16);
	schedule_free(s);
}

/* The listing across the London fall-back night: both 01:00s, by zone
 * abbreviation. */
static void
test_print_upcoming_dst(void **state)
{
	struct schedule *s = load_text("[segment news]\ncron = 0 * * * *\n"
	    "source = tone\nduration = 3m\ntitle = News\n", "Europe/London");
	char *text, want[1024];

	(void)state;
	text = print_upcoming(s, utc(2026, 10, 24, 23, 0, 0), 4);
	snprintf(want, sizeof(want),
	    "# %s: the next 4 h from 2026-10-25 00:00:00 BST "
	    "(Europe/London)\n"
	    "2026-10-25 00:00:00 BST  news  tone      3 min       News\n"
	    "2026-10-25 01:00:00 BST  news  tone      3 min       News\n"
	    "2026-10-25 01:00:00 GMT  news  tone      3 min       News\n"
	    "2026-10-25 02:00:00 GMT  news  tone      3 min       News\n"
	    "# 4 occurrences\n", scratch_path);
	assert_string_equal(text, want);
	free(text);
	schedule_free(s);
}

static void
test_formatting(void **state)
{
	char buf[48];
	struct schedule *s = load_text("", "America/New_York");

	(void)state;
	assert_string_equal(schedule_format_duration(3 * MIN_NS, buf,
	    sizeof(buf)), "3m");
	assert_string_equal(schedule_format_duration(90 * MIN_NS, buf,
	    sizeof(buf)), "1h30m");
	assert_string_equal(schedule_format_duration(90 * NS_PER_SEC, buf,
	    sizeof(buf)), "1m30s");
	assert_string_equal(schedule_format_duration(250 * NS_PER_MS, buf,
	    sizeof(buf)), "250ms");
	assert_string_equal(schedule_format_duration(3600 * NS_PER_SEC +
	    NS_PER_MS, buf, sizeof(buf)), "1h1ms");
	assert_string_equal(schedule_format_duration(0, buf, sizeof(buf)),
	    "0ms");
	assert_string_equal(schedule_format_duration(
	    SCHEDULE_DURATION_UNKNOWN, buf, sizeof(buf)), "?");
	assert_string_equal(schedule_format_local(s,
	    utc(2026, 7, 4, 16, 0, 0), buf, sizeof(buf)),
	    "2026-07-04 12:00:00 EDT");
	/* Rounded, not truncated: the 12:00 bulletin on air 0.4 ms early. */
	assert_string_equal(schedule_format_local(s,
	    utc(2026, 7, 4, 16, 0, 0) - 400 * 1000, buf, sizeof(buf)),
	    "2026-07-04 12:00:00 EDT");
	assert_string_equal(schedule_source_name(SCHEDULE_SOURCE_PLAYLIST),
	    "playlist");
	schedule_free(s);
}

static void
test_print_summary(void **state)
{
	struct schedule *s = NULL;
	char err[SCHEDULE_ERR_LEN];
	static char *text;
	static size_t len;
	FILE *fp;

	(void)state;
	assert_int_equal(schedule_load(DATA_DIR "/good/news-day.conf",
	    "Europe/London", &s, err, sizeof(err)), 0);
	fp = open_memstream(&text, &len);
	schedule_print_summary(s, fp);
	fclose(fp);
	assert_non_null(strstr(text, "schedule " DATA_DIR "/good/news-day.conf"
	    ": 6 segments, time zone Europe/London\n"));
	assert_non_null(strstr(text, "  news-on-the-hour: cron 0 * * * *, "
	    "stream, 3 min, priority 10\n"));
	assert_non_null(strstr(text, "  christmas-eve-special: at 2026-12-24 "
	    "18:00, file, 1 h 30 min, priority 20\n"));
	free(text);
	schedule_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_news_day),
		cmocka_unit_test(test_good_small_files),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_invalid_keys),
		cmocka_unit_test(test_stream_tls_keys),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_timezone_and_open_errors),
		cmocka_unit_test(test_titles_are_sanitized),
		cmocka_unit_test(test_gain_and_normalise),
		cmocka_unit_test(test_overlap_resolution),
		cmocka_unit_test(test_set_duration),
		cmocka_unit_test(test_upcoming),
		cmocka_unit_test(test_print_upcoming),
		cmocka_unit_test(test_print_upcoming_many),
		cmocka_unit_test(test_print_upcoming_dst),
		cmocka_unit_test(test_extreme_times),
		cmocka_unit_test(test_heavy_schedule),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_print_summary),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
