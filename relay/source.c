/* SPDX-License-Identifier: MIT */
/*
 * Segment sources (see source.h): a file, a playlist, an Ogg Vorbis feed
 * (source_stream.c), a tone or silence, each decoded ahead by its own
 * feeder thread into a private SPSC ring that the engine drains with
 * source_read().
 *
 * DESIGN
 * source_open() does on the main thread everything that can fail at once:
 * it opens the file, lists and probes the playlist, checks the tone and
 * the URL. It then allocates the ring (source_ahead_ns(): 10 s for a
 * feed, 2.5 s for a file or playlist, 1 s for a tone or silence) and one chunk
 * buffer and starts feeder_thread(). The feeder loops: when the ring has room
 * for a chunk (20 ms) it produces one -- decodes, generates, or pulls from the
 * feed -- and writes it; when the ring is full it naps (feeder_nap_ns()). A
 * source joined in progress first produces and throws away skip_ns of audio; a
 * sequential playlist skips whole files by their probed length without decoding
 * them.
 *
 * Shared state: the ring (the feeder writes, the engine reads), the atomic
 * state and stop flag, and the error string. The error is written once,
 * under a mutex, and never changed again, so source_error() can hand out a
 * pointer to it. The feeder publishes ENDED only after its last
 * ring_write(), and source_state() reports RUNNING until the ring is also
 * empty: ENDED means every frame was delivered. FAILED means the source
 * stopped with an error before it produced a single frame.
 *
 * A playlist names a file ("playing FILE") when it is heard, not when the
 * feeder opens it up to 2.5 s ahead: the feeder notes at which ring frame
 * each file starts (marks), the engine counts the frames it read
 * (frames_read, one atomic store per read), and the feeder names each
 * file once the engine has read past its start. With a struct source_resume the
 * last file heard is kept for the next source of the same list (the [fallback]
 * filler's next dead air carries on after it).
 *
 * Allocation happens in source_open() and in the feeder's open steps (the
 * feed's connection, each playlist file as it starts); never per chunk.
 *
 * Threads: source_open(), source_close() and source_probe_duration() on
 * the main thread; feeder_thread() and everything it calls on the feeder
 * thread; source_read() on the engine thread; source_state(),
 * source_buffered(), source_exhausted(), source_duration_ns() and
 * source_error() on any.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio_file.h"
#include "dynlib.h"
#include "log.h"
#include "ring.h"
#include "schedule.h"
#include "source.h"
#include "tls.h"
#include "source_stream.h"
#include "util.h"
#include "wakeup.h"

/* Decoded audio kept ahead of the engine (source_ahead_ns()). */
#define SOURCE_AHEAD_FEED_NS (10 * NS_PER_SEC)
#define SOURCE_AHEAD_FILE_NS (2500 * NS_PER_MS)
#define SOURCE_AHEAD_COMPUTED_NS NS_PER_SEC
/* Frames produced per step: 1/50 s. */
#define SOURCE_CHUNKS_PER_SECOND 50
/*
 * Naps (feeder_nap_ns()). A thread with nothing to do sleeps until it has
 * something to do: a source nobody reads yet (the [fallback] filler, for
 * days) until its next look at the disk (check_stale()), or until the
 * first read or source_close() wakes it (wake_fd); one being read until
 * the engine has made room for a refill, or read up to the next playlist
 * file's start (marks_heard()). It used to nap 10 ms at a time, full ring
 * or not: ~100 wake-ups a second for every waiting filler.
 */
/* The shortest nap: a mark due, or a refill late. */
#define SOURCE_IDLE_NS (10 * NS_PER_MS)
/* A full ring is refilled once a step of it is free (refill_frames): the
 * room the ring has beyond source_ahead_ns() (its size is rounded up to a
 * power of two), at most a quarter of that or 0.5 s. So the ring never
 * holds less than source_ahead_ns() when the feeder wakes: a stall of its
 * disk right then is bridged by all of it. (Refilling once a quarter of a
 * 2.5 s ring was free left 2 s: a 2.25 s stall was heard, test 127.) At
 * 44.1 kHz a file's step is 0.47 s, at 48 kHz 0.23 s: 2 or 4 wake-ups a
 * second while a file plays. */
#define SOURCE_REFILL_DIV 4
#define SOURCE_REFILL_MAX_NS (NS_PER_SEC / 2)
/* A file is named this late after the engine read into it, at most. */
#define SOURCE_MARK_SLACK_NS (2 * NS_PER_MS)
#define SOURCE_ERR_LEN 512
#define SOURCE_MOD_LEN (SCHEDULE_NAME_MAX + 16)
#define SOURCE_M3U_MAX_BYTES (1024 * 1024)
#define SOURCE_TWO_PI 6.283185307179586476925

struct playlist_entry {
	char *path;
	int64_t frames;	     /* in programme frames; -1 when unknown */
	int64_t duration_ns; /* -1 when unknown */
	bool warned;	     /* a failure to play it was logged */
};

/* How many unplayable playlist entries are named in the log. */
#define SOURCE_UNPLAYABLE_LOGGED 5
/* Playlist files opened ahead and not yet heard, at most: the feeder
 * waits for the engine to read into them before it opens more (the ring's
 * 2.5 s hold more only when the files are shorter than 80 ms). */
#define SOURCE_MARKS 32

/* How often a source nobody has read yet looks whether the files it
 * opened ahead changed on disk (check_stale()). */
#define SOURCE_STALE_CHECK_NS NS_PER_SEC
/* A changed file counts as changed (stale) only once it has stayed the
 * same for this long: one still being written (an upload, `cat >>` in
 * steps) changes at every look, and was opened anew every second. */
#define SOURCE_STALE_SETTLE_NS (2 * NS_PER_SEC)

/* Which file a path named when it was opened: rewritten in place (new
 * size or time), replaced (new inode) or deleted, it is another. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* Where a playlist file starts in the ring: frames written before it. */
struct heard_mark {
	int64_t at;
	size_t entry;
	unsigned pass;
	struct file_id id; /* the file as it was opened */
};

struct source {
	size_t n_unplayable; /* playlist entries skipped while listing */
	enum schedule_source kind;
	char mod[SOURCE_MOD_LEN]; /* "source[NAME]" for log lines */
	int rate_hz;
	int channels;
	struct ring *ring;
	/* What the feeder fills the ring to: source_ahead_ns() plus a
	 * refill step, within ring_capacity(). */
	size_t ring_frames;
	size_t refill_frames;
	float *chunk; /* chunk_frames * channels */
	size_t chunk_frames;
	int64_t duration_ns; /* fixed in source_open() */
	int64_t skip_frames; /* left to throw away (feeder) */
	bool thread_started;
	pthread_t thread;
	atomic_int state; /* enum source_state as the feeder sees it */
	atomic_bool stop;
	/* Wakes the napping feeder: source_close(), and the engine's first
	 * read (once; a write(2), no lock). -1 until opened. */
	int wake_fd;

	pthread_mutex_t error_lock;
	atomic_bool error_set; /* written under error_lock, once */
	char error[SOURCE_ERR_LEN];

	/* file: the file; playlist: the list's path (dir or .m3u) */
	char *path;
	/* file, and the playlist file now playing */
	struct audio_file *af;

	/* playlist */
	struct playlist_entry *entries;
	size_t n_entries;
	size_t *order; /* entries indexes of this pass */
	size_t order_pos;
	enum schedule_order order_mode;
	unsigned pass;	     /* 0 for the first */
	bool file_had_audio; /* af delivered a frame */
	size_t empty_in_row; /* files in a row that gave nothing */
	/* Which file is heard: the engine counts the frames it read, the
	 * feeder where each file starts in the ring (feeder only) and names
	 * it once the engine has read into it (marks_heard()). */
	atomic_int_fast64_t frames_read;
	int64_t frames_written;
	struct heard_mark marks[SOURCE_MARKS];
	size_t n_marks;
	struct source_resume *resume; /* NULL: none */
	/* Files opened ahead that changed on disk before anyone read
	 * (check_stale(), feeder only but for the flag). */
	struct file_id file_id; /* file: as it was opened */
	int64_t stale_check_mono_ns;
	/* The file seen changed, as it was at the last look, and since when
	 * it has looked like that (0: none seen changed). */
	const char *changed_path;
	struct file_id changed_id;
	int64_t changed_since_mono_ns;
	bool changing_logged; /* "changing on disk" said once */
	atomic_bool stale;

	/* stream */
	char *url;
	struct tls_config tls; /* copy of spec->tls */
	struct source_stream *stream;

	/* tone */
	double phase;
	double phase_step;
	double amplitude;
};

/* Records the first error; later ones are dropped so that the string a
 * reader holds never changes. */
static void __attribute__((format(printf, 2, 3)))
set_error(struct source *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->error_lock);
	if (!atomic_load_explicit(&s->error_set, memory_order_relaxed)) {
		va_start(ap, fmt);
		vsnprintf(s->error, sizeof(s->error), fmt, ap);
		va_end(ap);
		atomic_store_explicit(
		    &s->error_set, true, memory_order_release);
	}
	pthread_mutex_unlock(&s->error_lock);
}

static bool
stopping(struct source *s)
{
	return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

/* Frames at rate_hz that src_frames at src_rate_hz become, rounded as
 * audio_file rounds them. */
static int64_t
frames_at_rate(int64_t src_frames, int src_rate_hz, int rate_hz)
{
	return (int64_t)(((uint64_t)src_frames * (uint64_t)rate_hz +
			     (uint64_t)src_rate_hz / 2) /
			 (uint64_t)src_rate_hz);
}

static int64_t
frames_to_ns(int64_t frames, int rate_hz)
{
	return frames / rate_hz * NS_PER_SEC +
	       frames % rate_hz * NS_PER_SEC / rate_hz;
}

/* Reads a file's header with libsndfile. *frames is -1 when libsndfile
 * does not know the length. 0, or a negative errno with err naming path
 * (the same wording as audio_file_open()). */
static int
probe_file(
    const char *path, int64_t *frames, int *rate_hz, char *err, size_t errlen)
{
	SF_INFO info;
	SNDFILE *sf;
	int fd, rc;
	char why[240];

	/* Never blocks: this runs on the main thread, and a FIFO given as a
	 * segment would otherwise wait in open() for a writer. */
	fd = util_open_regular(path);
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    util_open_strerror(rc));
		goto fail;
	}
	rc = dynlib_sndfile_load(why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	memset(&info, 0, sizeof(info));
	sf = dynlib_sf.open_fd(fd, SFM_READ, &info, SF_FALSE);
	if (sf == NULL) {
		/* sf_strerror(NULL): the error of the last failed open. */
		rc = -EINVAL;
		snprintf(err, errlen,
		    "%s: not an audio file libsndfile can read (%s)", path,
		    dynlib_sf.strerror(NULL));
		goto fail;
	}
	dynlib_sf.close(sf);
	close(fd);
	if (info.samplerate <= 0 || info.channels <= 0) {
		snprintf(err, errlen,
		    "%s: not an audio file libsndfile can read (%d Hz, %d "
		    "channels)",
		    path, info.samplerate, info.channels);
		return -EINVAL;
	}
	*rate_hz = info.samplerate;
	*frames = (info.frames < 0 || info.frames == SF_COUNT_MAX)
		      ? -1
		      : (int64_t)info.frames;
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
source_probe_duration(
    const char *path, int64_t *duration_ns, char *err, size_t errlen)
{
	int64_t frames;
	int rate_hz, rc;

	rc = probe_file(path, &frames, &rate_hz, err, errlen);
	if (rc < 0)
		return rc;
	if (frames < 0) {
		snprintf(err, errlen, "%s: libsndfile does not know its length",
		    path);
		return -ENODATA;
	}
	*duration_ns = frames_to_ns(frames, rate_hz);
	return 0;
}

/* "dir/name", or a copy of name when it is absolute. Owned; NULL on OOM. */
static char *
path_join(const char *dir, const char *name)
{
	char *out;

	if (name[0] == '/' || dir[0] == '\0')
		return strdup(name);
	if (asprintf(&out, "%s%s%s", dir,
		dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return out;
}

/* Adds path (taking ownership) to the playlist when libsndfile can read
 * it; logs and drops it otherwise. where prefixes the log line
 * ("list.m3u:3: "). 0 or -ENOMEM. */
static int
playlist_add(struct source *s, char *path, const char *where)
{
	struct playlist_entry *e;
	char err[SOURCE_ERR_LEN], esc[SOURCE_ERR_LEN];
	int64_t frames;
	int rate_hz, rc;

	rc = probe_file(path, &frames, &rate_hz, err, sizeof(err));
	/* A file of no frames (a header left by a failed copy) plays as
	 * nothing: a list of only such files failed at once, over and over
	 * (as a filler, a warning five times a second). */
	if (rc == 0 && frames == 0) {
		snprintf(
		    err, sizeof(err), "%s: holds no audio (0 frames)", path);
		rc = -ENODATA;
	}
	if (rc < 0) {
		/* A folder of thousands of unreadable files must not flood
		 * the log: the first few by name, then a count at the end. */
		if (++s->n_unplayable <= SOURCE_UNPLAYABLE_LOGGED)
			log_warn(s->mod, "%s%s; skipping it", where,
			    log_escape(esc, sizeof(esc), err));
		free(path);
		return 0;
	}
	if (s->n_entries % 16 == 0) {
		e = reallocarray(s->entries, s->n_entries + 16, sizeof(*e));
		if (e == NULL) {
			free(path);
			return -ENOMEM;
		}
		s->entries = e;
	}
	e = &s->entries[s->n_entries++];
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->frames =
	    frames < 0 ? -1 : frames_at_rate(frames, rate_hz, s->rate_hz);
	e->duration_ns = frames < 0 ? -1 : frames_to_ns(frames, rate_hz);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular, non-hidden file of dir, sorted by name. */
static int
playlist_from_dir(struct source *s, const char *dir, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char **names = NULL, **p, *path;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		snprintf(
		    err, errlen, "%s: cannot open: %s", dir, strerror(-rc));
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				rc = -errno;
				snprintf(err, errlen, "%s: cannot list: %s",
				    dir, strerror(-rc));
				goto out;
			}
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		path = path_join(dir, de->d_name);
		if (path == NULL)
			goto oom;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			p = reallocarray(names, cap, sizeof(*names));
			if (p == NULL) {
				free(path);
				goto oom;
			}
			names = p;
		}
		names[n++] = path;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		path = names[i];
		names[i] = NULL;
		if (playlist_add(s, path, "") < 0)
			goto oom;
	}
	goto out;

oom:
	rc = -ENOMEM;
	snprintf(err, errlen, "%s: %s", dir, strerror(ENOMEM));
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* One path per line; '#' lines and blank lines are ignored; relative
 * paths are relative to the .m3u's directory. */
static int
playlist_from_m3u(struct source *s, const char *m3u, char *err, size_t errlen)
{
	char *text = NULL, *dir = NULL, *line, *next, *end, *path, *slash;
	char where[SOURCE_ERR_LEN], esc[SOURCE_ERR_LEN];
	int lineno = 0, rc;

	rc = util_read_small_file(m3u, SOURCE_M3U_MAX_BYTES, &text);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", m3u,
		    util_open_strerror(rc));
		return rc;
	}
	dir = strdup(m3u);
	if (dir == NULL)
		goto oom;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		dir[0] = '\0';
	else
		slash[1] = '\0';

	line = text;
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0) /* UTF-8 BOM */
		line += 3;
	for (; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line &&
		       (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%d: ", m3u, lineno);
		if (strstr(line, "://") != NULL) {
			log_warn(s->mod,
			    "%s%s: URLs are not supported in "
			    "playlists; skipping it",
			    where, log_escape(esc, sizeof(esc), line));
			continue;
		}
		path = path_join(dir, line);
		if (path == NULL || playlist_add(s, path, where) < 0)
			goto oom;
	}
	rc = 0;
	goto out;

oom:
	rc = -ENOMEM;
	snprintf(err, errlen, "%s: %s", m3u, strerror(ENOMEM));
out:
	free(dir);
	free(text);
	return rc;
}

static bool
has_suffix_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Uniform in [0, n), n >= 1, without modulo bias. */
static size_t
random_below(size_t n)
{
	uint32_t limit, r;

	if (n <= 1)
		return 0;
	limit = UINT32_MAX - (uint32_t)(((uint64_t)UINT32_MAX + 1) % n);
	do
		r = util_random_u32();
	while (r > limit);
	return r % n;
}

/* A new random order for the next pass (Fisher-Yates). It does not start
 * with the file that ended the previous pass, so nothing plays twice in a
 * row. */
static void
shuffle_order(struct source *s, size_t last_played)
{
	size_t i, j, t, n = s->n_entries;

	for (i = n - 1; i > 0; i--) {
		j = random_below(i + 1);
		t = s->order[i];
		s->order[i] = s->order[j];
		s->order[j] = t;
	}
	if (n > 1 && s->order[0] == last_played) {
		j = 1 + random_below(n - 1);
		s->order[0] = s->order[j];
		s->order[j] = last_played;
	}
}

/* Lists the playlist and prepares the first pass. */
static int
playlist_setup(
    struct source *s, const struct source_spec *spec, char *err, size_t errlen)
{
	struct stat st;
	int64_t total_frames = 0, total_ns = 0;
	bool known = true;
	size_t i;
	int rc;

	if (stat(spec->path, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", spec->path,
		    strerror(-rc));
		return rc;
	}
	if (S_ISDIR(st.st_mode))
		rc = playlist_from_dir(s, spec->path, err, errlen);
	else if (has_suffix_ci(spec->path, ".m3u") ||
		 has_suffix_ci(spec->path, ".m3u8"))
		rc = playlist_from_m3u(s, spec->path, err, errlen);
	else {
		snprintf(err, errlen,
		    "%s: a playlist is a directory or an .m3u/.m3u8 file",
		    spec->path);
		return -EINVAL;
	}
	if (s->n_unplayable > SOURCE_UNPLAYABLE_LOGGED)
		log_warn(s->mod, "%s: %zu more unplayable file(s) skipped",
		    spec->path, s->n_unplayable - SOURCE_UNPLAYABLE_LOGGED);
	if (rc < 0)
		return rc;
	if (s->n_entries == 0) {
		snprintf(err, errlen,
		    "%s: no audio file libsndfile can read in the playlist",
		    spec->path);
		return -ENOENT;
	}
	s->order = calloc(s->n_entries, sizeof(*s->order));
	if (s->order == NULL) {
		snprintf(err, errlen, "%s: %s", spec->path, strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < s->n_entries; i++) {
		s->order[i] = i;
		if (s->entries[i].frames < 0) {
			known = false;
			continue;
		}
		total_frames += s->entries[i].frames;
		total_ns += s->entries[i].duration_ns;
	}
	s->order_mode = spec->order;
	if (s->order_mode == SCHEDULE_ORDER_SHUFFLE)
		shuffle_order(s, SIZE_MAX);
	s->duration_ns = total_ns > 0 ? total_ns : -1;
	s->resume = spec->resume;
	if (s->resume != NULL && s->order_mode == SCHEDULE_ORDER_SEQUENTIAL &&
	    s->skip_frames == 0) {
		/* Carry on after the last file heard, if still listed: after
		 * the entry heard when it still names that file, else after
		 * the file's first entry. */
		pthread_mutex_lock(&s->resume->lock);
		i = s->resume->entry;
		if (i >= s->n_entries ||
		    strcmp(s->entries[i].path, s->resume->last) != 0)
			for (i = 0; i < s->n_entries; i++)
				if (strcmp(s->entries[i].path,
					s->resume->last) == 0)
					break;
		if (i < s->n_entries)
			s->order_pos = (i + 1) % s->n_entries;
		pthread_mutex_unlock(&s->resume->lock);
	}

	/* Join in progress: the list loops, so only the skip within one
	 * pass matters; a sequential list skips whole files unread. */
	if (s->skip_frames > 0 && known && total_frames > 0) {
		s->skip_frames %= total_frames;
		if (s->order_mode == SCHEDULE_ORDER_SEQUENTIAL) {
			while (s->order_pos < s->n_entries &&
			       s->skip_frames >=
				   s->entries[s->order[s->order_pos]].frames) {
				s->skip_frames -=
				    s->entries[s->order[s->order_pos]].frames;
				s->order_pos++;
			}
		}
	}
	return 0;
}

/* The file path names now; all zero when it cannot be read. */
static void
file_id_of(const char *path, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns =
	    (int64_t)st.st_mtim.tv_sec * NS_PER_SEC + st.st_mtim.tv_nsec;
}

static bool
file_id_same(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* Notes that the file entry starts at ring frame at; marks_heard() names
 * it once the engine reads it. */
static void
mark_push(struct source *s, int64_t at, size_t entry)
{
	/* The file before gave no frame (thrown away by a skip, or
	 * empty): never heard, forgotten. */
	if (s->n_marks > 0 && s->marks[s->n_marks - 1].at >= at)
		s->n_marks--;
	/* Full only after a chunk of files that gave nothing: the oldest
	 * goes unnamed. */
	if (s->n_marks == SOURCE_MARKS) {
		memmove(s->marks, s->marks + 1,
		    (SOURCE_MARKS - 1) * sizeof(*s->marks));
		s->n_marks--;
	}
	s->marks[s->n_marks].at = at;
	s->marks[s->n_marks].entry = entry;
	s->marks[s->n_marks].pass = s->pass;
	file_id_of(s->entries[entry].path, &s->marks[s->n_marks].id);
	s->n_marks++;
}

/* Names every file the engine has begun to read, in order, and notes it
 * in the resume (a file that gave no frame has no mark: mark_push()). */
static void
marks_heard(struct source *s)
{
	int64_t read =
	    atomic_load_explicit(&s->frames_read, memory_order_relaxed);
	char esc[SOURCE_ERR_LEN];
	struct heard_mark m;
	const char *path;

	while (s->n_marks > 0 && read > s->marks[0].at) {
		m = s->marks[0];
		memmove(s->marks, s->marks + 1,
		    (s->n_marks - 1) * sizeof(*s->marks));
		s->n_marks--;
		path = s->entries[m.entry].path;
		/* Each file once on the first pass; a short list that loops
		 * for an hour would otherwise fill the log. */
		if (m.pass == 0)
			log_info(s->mod, "playing %s",
			    log_escape(esc, sizeof(esc), path));
		else
			log_debug(s->mod, "playing %s (pass %u)",
			    log_escape(esc, sizeof(esc), path), m.pass + 1);
		if (s->resume != NULL) {
			pthread_mutex_lock(&s->resume->lock);
			util_strlcpy(
			    s->resume->last, path, sizeof(s->resume->last));
			s->resume->entry = m.entry;
			pthread_mutex_unlock(&s->resume->lock);
		}
	}
}

void
source_resume_init(struct source_resume *r)
{
	pthread_mutex_init(&r->lock, NULL);
	r->last[0] = '\0';
	r->entry = 0;
}

void
source_resume_destroy(struct source_resume *r)
{
	pthread_mutex_destroy(&r->lock);
}

/* Opens the next playable file of the list into s->af, starting a new
 * pass when one ends; its first frame goes to ring frame at. Fails when
 * every file in a row gave nothing. */
static int
playlist_open_next(struct source *s, int64_t at)
{
	char err[SOURCE_ERR_LEN], esc[SOURCE_ERR_LEN];
	struct playlist_entry *e;
	size_t idx;

	while (s->empty_in_row < s->n_entries && !stopping(s)) {
		if (s->order_pos >= s->n_entries) {
			s->order_pos = 0;
			s->pass++;
			if (s->order_mode == SCHEDULE_ORDER_SHUFFLE)
				shuffle_order(s, s->order[s->n_entries - 1]);
		}
		idx = s->order[s->order_pos++];
		e = &s->entries[idx];
		s->af = audio_file_open(
		    e->path, s->rate_hz, s->channels, err, sizeof(err));
		if (s->af == NULL) {
			if (!e->warned)
				log_warn(s->mod, "%s; skipping it",
				    log_escape(esc, sizeof(esc), err));
			e->warned = true;
			s->empty_in_row++;
			continue;
		}
		s->file_had_audio = false;
		mark_push(s, at, idx);
		return 0;
	}
	if (!stopping(s))
		set_error(
		    s, "%s: no file of the playlist can be played", s->path);
	return -ENOENT;
}

/* Runs on: the feeder thread. Each produce function fills up to n frames
 * and returns the count, 0 at the end, or a negative errno (error set). */
static ssize_t
produce_file(struct source *s, float *buf, size_t n)
{
	ssize_t got;

	got = audio_file_read(s->af, buf, n);
	if (got < 0)
		set_error(s, "%s", audio_file_error(s->af));
	return got;
}

static ssize_t
produce_playlist(struct source *s, float *buf, size_t n)
{
	char esc[SOURCE_ERR_LEN];
	size_t done = 0, ch = (size_t)s->channels;
	ssize_t got;
	int rc;

	/* Files follow each other inside one chunk: no gap. */
	while (done < n && !stopping(s)) {
		/* No more files ahead than marks to name them. */
		if (s->af == NULL && s->n_marks == SOURCE_MARKS && done > 0)
			break;
		if (s->af == NULL) {
			/* Frames of a skip are thrown away, not written. */
			rc = playlist_open_next(
			    s, s->frames_written +
				   (s->skip_frames > 0 ? 0 : (int64_t)done));
			if (rc < 0)
				return done > 0 ? (ssize_t)done : rc;
		}
		got = audio_file_read(s->af, buf + done * ch, n - done);
		if (got > 0) {
			done += (size_t)got;
			s->file_had_audio = true;
			s->empty_in_row = 0;
			continue;
		}
		if (got < 0)
			log_warn(s->mod, "%s; going on with the next file",
			    log_escape(
				esc, sizeof(esc), audio_file_error(s->af)));
		if (!s->file_had_audio)
			s->empty_in_row++;
		audio_file_close(s->af);
		s->af = NULL;
	}
	return (ssize_t)done;
}

static ssize_t
produce_stream(struct source *s, float *buf, size_t n)
{
	ssize_t got;

	got = source_stream_read(s->stream, buf, n);
	if (got <= 0 && !stopping(s))
		set_error(s, "%s", source_stream_error(s->stream));
	return got;
}

/* A sine with a phase that runs on across chunks. */
static ssize_t
produce_tone(struct source *s, float *buf, size_t n)
{
	size_t i, c, ch = (size_t)s->channels;
	float v;

	for (i = 0; i < n; i++) {
		v = (float)(s->amplitude * sin(s->phase));
		for (c = 0; c < ch; c++)
			buf[i * ch + c] = v;
		s->phase += s->phase_step;
		if (s->phase >= SOURCE_TWO_PI)
			s->phase -= SOURCE_TWO_PI;
	}
	return (ssize_t)n;
}

static ssize_t
produce(struct source *s, float *buf, size_t n)
{
	switch (s->kind) {
	case SCHEDULE_SOURCE_FILE:
		return produce_file(s, buf, n);
	case SCHEDULE_SOURCE_PLAYLIST:
		return produce_playlist(s, buf, n);
	case SCHEDULE_SOURCE_STREAM:
		return produce_stream(s, buf, n);
	case SCHEDULE_SOURCE_TONE:
		return produce_tone(s, buf, n);
	case SCHEDULE_SOURCE_SILENCE:
		memset(buf, 0, n * (size_t)s->channels * sizeof(float));
		return (ssize_t)n;
	case SCHEDULE_SOURCE_LIVE:
		break;
	}
	set_error(s, "the live input is not a segment source");
	return -EINVAL;
}

/* Whether the engine has read a frame. */
static bool
read_yet(struct source *s)
{
	return atomic_load_explicit(&s->frames_read, memory_order_relaxed) > 0;
}

/* A source nobody has read yet (the [fallback] filler waits for the next
 * dead air, maybe for days) holds the files it opened ahead: one
 * rewritten, replaced or deleted since would air as it was, or, rewritten
 * in place, with its new bytes read under the old header (noise). Looks
 * once a second, whether the ring is full or the material was read to
 * its end (a file shorter than the ring); source_stale() then tells the
 * owner to open the source anew. A file that changed counts only once it
 * has looked the same for SOURCE_STALE_SETTLE_NS: one still being
 * written changes at every look, and opening it anew each time would
 * only read another part of it. Runs on: the feeder thread. */
static void
check_stale(struct source *s)
{
	char esc[SOURCE_ERR_LEN];
	const char *path = NULL;
	struct file_id now_id;
	int64_t now;
	size_t i;

	if (source_stale(s) || read_yet(s))
		return;
	now = util_now_mono_ns();
	if (now < s->stale_check_mono_ns)
		return;
	s->stale_check_mono_ns = now + SOURCE_STALE_CHECK_NS;
	if (s->kind == SCHEDULE_SOURCE_FILE && s->af != NULL) {
		file_id_of(s->path, &now_id);
		if (!file_id_same(&now_id, &s->file_id))
			path = s->path;
	} else if (s->kind == SCHEDULE_SOURCE_PLAYLIST) {
		for (i = 0; i < s->n_marks && path == NULL; i++) {
			const char *p = s->entries[s->marks[i].entry].path;

			file_id_of(p, &now_id);
			if (!file_id_same(&now_id, &s->marks[i].id))
				path = p;
		}
	}
	if (path == NULL) {
		/* Changed back (a copy that ended where it began). */
		s->changed_since_mono_ns = 0;
		return;
	}
	if (s->changed_since_mono_ns == 0 || path != s->changed_path ||
	    !file_id_same(&now_id, &s->changed_id)) {
		/* Changed again since the last look: still being written. */
		if (s->changed_since_mono_ns != 0 && !s->changing_logged) {
			log_debug(s->mod,
			    "%s is changing on disk (still being written?); "
			    "taken as changed once it stays the same for "
			    "%d s",
			    log_escape(esc, sizeof(esc), path),
			    (int)(SOURCE_STALE_SETTLE_NS / NS_PER_SEC));
			s->changing_logged = true;
		}
		s->changed_path = path;
		s->changed_id = now_id;
		s->changed_since_mono_ns = now;
		return;
	}
	if (now - s->changed_since_mono_ns < SOURCE_STALE_SETTLE_NS)
		return;
	log_debug(s->mod, "%s changed on disk since it was opened ahead",
	    log_escape(esc, sizeof(esc), path));
	atomic_store_explicit(&s->stale, true, memory_order_relaxed);
	wakeup_signal();
}

bool
source_stale(struct source *s)
{
	return atomic_load_explicit(&s->stale, memory_order_relaxed);
}

/* How long the feeder may nap (DESIGN, "Naps"): with the ring full
 * (filling) or the material read to its end. Runs on: the feeder thread. */
static int64_t
feeder_nap_ns(struct source *s, bool filling)
{
	int64_t read, ns = INT64_MAX, space, until;

	if (!read_yet(s)) {
		/* Until the next look at the disk (none once stale: the
		 * owner closes us). The first read wakes us early. */
		until = s->stale_check_mono_ns - util_now_mono_ns();
		if (source_stale(s) || until > SOURCE_STALE_CHECK_NS)
			until = SOURCE_STALE_CHECK_NS;
		return until > SOURCE_IDLE_NS ? until : SOURCE_IDLE_NS;
	}
	read = atomic_load_explicit(&s->frames_read, memory_order_relaxed);
	if (s->n_marks > 0)
		ns = (s->marks[0].at + 1 - read) * NS_PER_SEC / s->rate_hz +
		     SOURCE_MARK_SLACK_NS;
	if (filling) {
		space =
		    (int64_t)s->ring_frames - (int64_t)ring_readable(s->ring);
		until = ((int64_t)s->refill_frames - space) * NS_PER_SEC /
			s->rate_hz;
		if (until < ns)
			ns = until;
	}
	if (ns == INT64_MAX)
		ns = SOURCE_STALE_CHECK_NS;
	return ns > SOURCE_IDLE_NS ? ns : SOURCE_IDLE_NS;
}

/* Naps for feeder_nap_ns(), or until woken (wake_fd). */
static void
feeder_nap(struct source *s, bool filling)
{
	int64_t ns = feeder_nap_ns(s, filling);

	if (!stopping(s))
		(void)util_eventfd_wait_until(
		    s->wake_fd, util_now_mono_ns() + ns);
}

/* Runs on: the feeder thread. Opens the feed (other kinds were opened by
 * source_open()), throws away skip_frames, then keeps the ring full until
 * the material ends, fails, or source_close() asks it to stop. */
static void *
feeder_thread(void *arg)
{
	struct source *s = arg;
	char err[SOURCE_ERR_LEN], esc[SOURCE_ERR_LEN];
	bool produced = false;
	double ahead_s;
	size_t want, space;
	ssize_t got = 0;
	int rc;

	util_thread_name("%s", s->mod);
	if (s->kind == SCHEDULE_SOURCE_STREAM) {
		rc = source_stream_open(s->url, &s->tls, s->mod, s->rate_hz,
		    s->channels, &s->stop, &s->stream, err, sizeof(err));
		if (rc < 0) {
			if (!stopping(s))
				set_error(s, "%s", err);
			goto done;
		}
	}
	while (!stopping(s)) {
		if (s->n_marks > 0)
			marks_heard(s);
		check_stale(s); /* a stat() a second at most, until read */
		if (s->n_marks == SOURCE_MARKS) {
			feeder_nap(s, false);
			continue;
		}
		if (s->skip_frames > 0) {
			want = s->chunk_frames;
			if ((int64_t)want > s->skip_frames)
				want = (size_t)s->skip_frames;
		} else {
			space = s->ring_frames - ring_readable(s->ring);
			if (space < s->chunk_frames) {
				feeder_nap(s, true);
				continue;
			}
			want = s->chunk_frames;
		}
		got = produce(s, s->chunk, want);
		if (got <= 0)
			break;
		produced = true;
		if (s->skip_frames > 0) {
			s->skip_frames -= got;
			continue;
		}
		/* Cannot be short: only this thread fills the ring. */
		ring_write(s->ring, s->chunk, (size_t)got);
		s->frames_written += got;
		if (atomic_load_explicit(&s->state, memory_order_relaxed) ==
		    SOURCE_STARTING)
			atomic_store_explicit(
			    &s->state, SOURCE_RUNNING, memory_order_release);
	}

done:
	if (stopping(s)) {
		atomic_store_explicit(
		    &s->state, SOURCE_ENDED, memory_order_release);
		return NULL;
	}
	/* What is still buffered plays out after this line: the segment
	 * leaves the air that much later (the programme logs that end). */
	ahead_s = (double)ring_readable(s->ring) / s->rate_hz;
	if (atomic_load_explicit(&s->error_set, memory_order_acquire)) {
		log_escape(esc, sizeof(esc), s->error);
		if (produced) {
			log_warn(s->mod,
			    "ended early: %s (the %.1f s already read still "
			    "play)",
			    esc, ahead_s);
		} else {
			log_warn(s->mod, "failed: %s", esc);
			atomic_store_explicit(
			    &s->state, SOURCE_FAILED, memory_order_release);
			return NULL;
		}
	} else {
		/* Debug: the programme says when it leaves the air (and
		 * a filler's may never air). */
		log_debug(s->mod,
		    "read to the end of the material; its last %.1f s are "
		    "still to play",
		    ahead_s);
	}
	atomic_store_explicit(&s->state, SOURCE_ENDED, memory_order_release);
	/* Material shorter than the ring was read whole ahead: until the
	 * engine reads it, its files are watched as a full ring's are. */
	while (!stopping(s) && !read_yet(s) && !source_stale(s)) {
		check_stale(s);
		feeder_nap(s, false);
	}
	/* The files still in the ring are named as they are heard. */
	while (s->n_marks > 0 && !stopping(s)) {
		marks_heard(s);
		if (atomic_load_explicit(&s->frames_read,
			memory_order_relaxed) >= s->frames_written)
			break;
		feeder_nap(s, false);
	}
	return NULL;
}

/* Checks the spec and does the kind's part of the opening that can fail
 * at once. */
static int
open_kind(
    struct source *s, const struct source_spec *spec, char *err, size_t errlen)
{
	switch (spec->kind) {
	case SCHEDULE_SOURCE_FILE:
	case SCHEDULE_SOURCE_PLAYLIST:
		if (spec->path == NULL || spec->path[0] == '\0') {
			snprintf(err, errlen, "%s: no path set",
			    schedule_source_name(spec->kind));
			return -EINVAL;
		}
		s->path = strdup(spec->path);
		if (s->path == NULL)
			goto oom;
		if (spec->kind == SCHEDULE_SOURCE_PLAYLIST)
			return playlist_setup(s, spec, err, errlen);
		s->af = audio_file_open(
		    spec->path, s->rate_hz, s->channels, err, errlen);
		if (s->af == NULL)
			return -ENOENT;
		file_id_of(spec->path, &s->file_id);
		s->duration_ns = audio_file_duration_ns(s->af);
		return 0;
	case SCHEDULE_SOURCE_STREAM:
		if (spec->url == NULL ||
		    (strncasecmp(spec->url, "http://", 7) != 0 &&
			strncasecmp(spec->url, "https://", 8) != 0)) {
			snprintf(err, errlen,
			    "%s: a stream URL must start with http:// or "
			    "https://",
			    spec->url != NULL ? spec->url : "(no url)");
			return -EINVAL;
		}
		s->url = strdup(spec->url);
		if (s->url == NULL)
			goto oom;
		if (spec->tls != NULL &&
		    tls_config_copy(&s->tls, spec->tls) < 0)
			goto oom;
		s->skip_frames = 0; /* a live feed cannot be joined late */
		return 0;
	case SCHEDULE_SOURCE_TONE:
		if (!isfinite(spec->frequency_hz) || spec->frequency_hz < 0 ||
		    spec->frequency_hz >= s->rate_hz / 2.0) {
			snprintf(err, errlen,
			    "tone: %g Hz is not below half the programme "
			    "rate (%d Hz)",
			    spec->frequency_hz, s->rate_hz / 2);
			return -EINVAL;
		}
		if (!isfinite(spec->level_dbfs) || spec->level_dbfs > 0) {
			snprintf(err, errlen, "tone: level %g dBFS is above 0",
			    spec->level_dbfs);
			return -EINVAL;
		}
		s->amplitude = pow(10.0, spec->level_dbfs / 20.0);
		s->phase_step = SOURCE_TWO_PI * spec->frequency_hz / s->rate_hz;
		s->skip_frames = 0; /* nothing to skip in a steady tone */
		return 0;
	case SCHEDULE_SOURCE_SILENCE:
		s->skip_frames = 0;
		return 0;
	case SCHEDULE_SOURCE_LIVE:
		break;
	}
	snprintf(err, errlen, "%s: not a segment source",
	    schedule_source_name(spec->kind));
	return -EINVAL;

oom:
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

/* Frees everything but the thread (joined by the caller). */
static void
source_free(struct source *s)
{
	size_t i;

	source_stream_close(s->stream);
	audio_file_close(s->af);
	for (i = 0; i < s->n_entries; i++)
		free(s->entries[i].path);
	free(s->entries);
	free(s->order);
	free(s->path);
	free(s->url);
	tls_config_clear(&s->tls);
	free(s->chunk);
	ring_free(s->ring);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->error_lock);
	free(s);
}

int64_t
source_ahead_ns(enum schedule_source kind)
{
	/* A feed's connection can stall for seconds, and the ring is what
	 * bridges it. A file (or playlist) is decoded at many times real
	 * time, but its disk can stall too (a music library on NFS or a
	 * NAS): 2.5 s bridges such a stall (1 s did not: a 1.5 s freeze of
	 * the feeder cut 0.48 s of the segment). A tone or silence is
	 * computed, and only has to outlast a scheduling delay. The ring is
	 * resident while the segment plays (rounded up to a power of two,
	 * and the room beyond this is the refill step, SOURCE_REFILL_DIV:
	 * at 44.1 kHz stereo 10 s is 4 MiB, 2.5 s 1 MiB, 1 s 512 KiB). */
	switch (kind) {
	case SCHEDULE_SOURCE_STREAM:
		return SOURCE_AHEAD_FEED_NS;
	case SCHEDULE_SOURCE_FILE:
	case SCHEDULE_SOURCE_PLAYLIST:
		return SOURCE_AHEAD_FILE_NS;
	case SCHEDULE_SOURCE_TONE:
	case SCHEDULE_SOURCE_SILENCE:
	case SCHEDULE_SOURCE_LIVE:
		break;
	}
	return SOURCE_AHEAD_COMPUTED_NS;
}

struct source *
source_open(const struct source_spec *spec, int rate_hz, int channels,
    char *err, size_t errlen)
{
	struct source *s;
	size_t ahead;
	int rc;

	if (rate_hz <= 0 || channels <= 0) {
		snprintf(err, errlen, "invalid programme format %d Hz, %d ch",
		    rate_hz, channels);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	pthread_mutex_init(&s->error_lock, NULL);
	atomic_init(&s->state, SOURCE_STARTING);
	atomic_init(&s->stop, false);
	atomic_init(&s->error_set, false);
	atomic_init(&s->frames_read, 0);
	atomic_init(&s->stale, false);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail; /* source_free() takes a source this empty */
	}
	snprintf(s->mod, sizeof(s->mod), "source[%s]",
	    spec->name != NULL ? spec->name : "?");
	s->kind = spec->kind;
	s->rate_hz = rate_hz;
	s->channels = channels;
	s->duration_ns = -1;
	/* Split so that skip_ns * rate cannot overflow (24 h * 192 kHz
	 * would). */
	if (spec->skip_ns > 0)
		s->skip_frames =
		    spec->skip_ns / NS_PER_SEC * rate_hz +
		    (spec->skip_ns % NS_PER_SEC * rate_hz + NS_PER_SEC / 2) /
			NS_PER_SEC;

	if (open_kind(s, spec, err, errlen) < 0)
		goto fail;

	s->chunk_frames = (size_t)rate_hz / SOURCE_CHUNKS_PER_SECOND;
	if (s->chunk_frames == 0)
		s->chunk_frames = 1;
	ahead = (size_t)(source_ahead_ns(spec->kind) * rate_hz / NS_PER_SEC);
	/* Room for a chunk beyond ahead at least; the power-of-two rounding
	 * gives more, which is the refill step (SOURCE_REFILL_DIV). */
	s->ring = ring_new(ahead + s->chunk_frames, channels);
	s->chunk = calloc(s->chunk_frames * (size_t)channels, sizeof(float));
	if (s->ring == NULL || s->chunk == NULL) {
		snprintf(err, errlen, "%s: cannot allocate the buffer: %s",
		    s->mod, strerror(ENOMEM));
		goto fail;
	}
	s->refill_frames = ring_capacity(s->ring) - ahead;
	if (s->refill_frames > ahead / SOURCE_REFILL_DIV)
		s->refill_frames = ahead / SOURCE_REFILL_DIV;
	if (s->refill_frames >
	    (size_t)(SOURCE_REFILL_MAX_NS * rate_hz / NS_PER_SEC))
		s->refill_frames =
		    (size_t)(SOURCE_REFILL_MAX_NS * rate_hz / NS_PER_SEC);
	if (s->refill_frames < s->chunk_frames)
		s->refill_frames = s->chunk_frames;
	s->ring_frames = ahead + s->refill_frames;
	rc = pthread_create(&s->thread, NULL, feeder_thread, s);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot start the feeder thread: %s",
		    s->mod, strerror(rc));
		goto fail;
	}
	s->thread_started = true;
	return s;

fail:
	source_free(s);
	return NULL;
}

/* Runs on: the engine thread. Lock-free. */
size_t
source_read(struct source *s, float *frames, size_t n)
{
	size_t got = ring_read(s->ring, frames, n);
	int_fast64_t before;

	/* One writer (this thread): no read-modify-write needed. */
	if (got > 0) {
		before =
		    atomic_load_explicit(&s->frames_read, memory_order_relaxed);
		atomic_store_explicit(&s->frames_read,
		    before + (int_fast64_t)got, memory_order_relaxed);
		/* On air: the feeder names the file now and starts
		 * refilling (DESIGN, "Naps"). Once per source. */
		if (before == 0)
			util_eventfd_signal(s->wake_fd);
	}
	return got;
}

enum source_state
source_state(struct source *s)
{
	int st = atomic_load_explicit(&s->state, memory_order_acquire);

	/* The feeder says ENDED after its last write; until the engine has
	 * read that too, the source is still playing. */
	if (st == SOURCE_ENDED && ring_readable(s->ring) > 0)
		return SOURCE_RUNNING;
	return (enum source_state)st;
}

size_t
source_buffered(struct source *s)
{
	return ring_readable(s->ring);
}

bool
source_exhausted(struct source *s)
{
	/* The feeder stores its final state after its last ring_write(). */
	int st = atomic_load_explicit(&s->state, memory_order_acquire);

	return st == SOURCE_ENDED || st == SOURCE_FAILED;
}

int64_t
source_duration_ns(struct source *s)
{
	return s->duration_ns;
}

/* The error is written once, so the pointer stays valid and its text
 * never changes under a reader. */
const char *
source_error(struct source *s)
{
	if (!atomic_load_explicit(&s->error_set, memory_order_acquire))
		return "";
	return s->error;
}

void
source_close(struct source *s)
{
	if (s == NULL)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_relaxed);
	if (s->thread_started) {
		util_eventfd_signal(s->wake_fd);
		pthread_join(s->thread, NULL);
	}
	source_free(s);
}
