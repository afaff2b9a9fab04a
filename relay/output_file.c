/* SPDX-License-Identifier: MIT */
/*
 * File backend (`[output NAME] type = file`): the archive. It writes the
 * output's Ogg stream to files named by a strftime pattern (archive.h).
 * - rotate = none: one file per name; each (re)open appends a new chain,
 *   so a restart or a write error never cuts a whole page that was already
 *   recorded (darkice overwrote its dump on reconnect).
 * - rotate = PERIOD: a new file at every clock-aligned boundary, and at
 *   every (re)open. A name is built from the period's start and never
 *   reused: an existing file gets a sibling "-1", "-2"... (O_EXCL), so
 *   nothing is overwritten or appended to. output.c ends the stream in
 *   the old file with EOS and begins the next file with the old stream's
 *   last packet (muxer_split()), so the files join without a lost or
 *   doubled sample.
 * - keep = AGE: after each open, files of this output older than AGE are
 *   removed: only regular files under the pattern's fixed directory whose
 *   path the pattern makes (archive_name_matches()) and whose first Ogg
 *   pages carry relay's mark, the comment ENCODER=relay (file_is_ours()).
 * - Directories in the pattern are created as needed. A file removed
 *   while written (its directory deleted) is noticed within a second
 *   (st_nlink = 0) and recording goes on in a new file.
 *
 * DESIGN
 * The file must stay a valid Ogg file whatever happens to the disk. The
 * muxer hands over one whole page per write (muxer.h), and the backend
 * keeps the offset where the file could end cleanly (safe_end): after the
 * last audio page that ends a packet, or after an EOS page. A header-only
 * chain and a page that ends inside a packet do not move it. When a write
 * fails (ENOSPC, EDQUOT, EIO), the file is cut back to safe_end with
 * ftruncate() and the page there gets the EOS flag (its CRC recomputed),
 * so the interrupted chain ends cleanly and the next chain, after a
 * reopen, starts on a page boundary: no torn page, no hole, no CRC error
 * (a partly written page made ogginfo report "Hole in data").
 *
 * open() in append mode (rotate = none) also repairs what a crash left: a torn
 * page at the end is cut off and the last chain gets its EOS (repair_tail()).
 *
 * After ENOSPC or EDQUOT, open() refuses with the very same message until
 * FILE_RESUME_FREE_BYTES are free, so output.c backs off (doubling up to
 * reconnect_max) and logs the repeats at debug: one warning when the disk
 * fills, one "connected again" when recording resumes.
 *
 * Threads: runs on its output's thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "archive.h"
#include "cron.h"
#include "log.h"
#include "output.h"
#include "stats.h"

/* Largest Ogg page: 27-byte header, 255 lacing values, 255 * 255 body. */
#define FILE_PAGE_MAX_BYTES (27 + 255 + 255 * 255)
#define OGG_HEADER_BYTES 27
#define OGG_FLAG_BOS 0x02
#define OGG_FLAG_EOS 0x04
/* Free space needed before recording resumes after the disk filled:
 * about 15 s of a 128 kbit/s stream, so a disk that gains a few blocks
 * does not flap between full and recording every second. */
#define FILE_RESUME_FREE_BYTES (256 * 1024)
/* How often a file being written is checked for removal. */
#define FILE_LINK_CHECK_NS NS_PER_SEC
/* Siblings tried for one period's name ("-1" .. "-999"). */
#define FILE_SUFFIX_MAX 999
/* The mark keep looks for: the comment header's ENCODER tag. */
#define FILE_MARK "ENCODER=relay"
#define FILE_MARK_WINDOW 4096

struct output_backend {
	char mod[80];	    /* log module: out[name] */
	char pattern[4096]; /* path with strftime fields */
	char path[4096];    /* the file open now ("" when none) */
	int64_t rotate_s;   /* 0: none */
	int64_t keep_ns;    /* 0: forever */
	struct cron_tz *tz; /* zone of names and periods (owned) */
	int64_t period_end_ns;
	int64_t next_link_check_mono_ns;
	int stats_id;
	int fd;
	off_t end;		  /* bytes in the file */
	off_t safe_end;		  /* where the file can end cleanly (DESIGN) */
	off_t mark_off;		  /* offset of mark_page */
	size_t mark_bytes;	  /* 0: nothing to mark at safe_end */
	unsigned char *mark_page; /* the page ending at safe_end, no EOS */
	bool disk_full;		  /* ENOSPC/EDQUOT until space is free */
	bool created;		  /* this open made the file (O_EXCL) */
};

/* The Ogg page checksum (RFC 3533 section 6): CRC-32, polynomial
 * 0x04c11db7, initial value 0, no reflection, no final XOR. Bitwise: it
 * only runs when a write fails. */
static uint32_t
ogg_crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
	size_t i;
	int bit;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 24;
		for (bit = 0; bit < 8; bit++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u
						: crc << 1;
	}
	return crc;
}

/* The page's checksum, computed with its CRC field taken as zero. */
static uint32_t
page_crc(const unsigned char *p, size_t bytes)
{
	static const unsigned char zero[4];
	uint32_t crc;

	crc = ogg_crc_update(0, p, 22);
	crc = ogg_crc_update(crc, zero, 4);
	return ogg_crc_update(crc, p + 26, bytes - 26);
}

/* The CRC the page at p carries. */
static uint32_t
page_stored_crc(const unsigned char *p)
{
	return (uint32_t)p[22] | (uint32_t)p[23] << 8 | (uint32_t)p[24] << 16 |
	       (uint32_t)p[25] << 24;
}

/* The length of the Ogg page at p from its header, or 0 when the avail
 * bytes do not start with a whole page header and body. */
static size_t
page_length(const unsigned char *p, size_t avail)
{
	size_t nseg, body = 0, i;

	if (avail < OGG_HEADER_BYTES || memcmp(p, "OggS", 4) != 0 || p[4] != 0)
		return 0;
	nseg = p[26];
	if (avail < OGG_HEADER_BYTES + nseg)
		return 0;
	for (i = 0; i < nseg; i++)
		body += p[OGG_HEADER_BYTES + i];
	if (avail < OGG_HEADER_BYTES + nseg + body)
		return 0;
	return OGG_HEADER_BYTES + nseg + body;
}

/* Page facts the backend needs; false when data is not one whole page. */
struct page_info {
	unsigned flags;
	int64_t granulepos;
	bool ends_packet; /* the last lacing value is below 255 */
};

static bool
page_parse(const unsigned char *p, size_t bytes, struct page_info *pi)
{
	size_t nseg, i;
	uint64_t g = 0;

	if (page_length(p, bytes) != bytes)
		return false;
	nseg = p[26];
	for (i = 0; i < 8; i++)
		g |= (uint64_t)p[6 + i] << (8 * i);
	pi->flags = p[5];
	pi->granulepos = (int64_t)g;
	pi->ends_packet = nseg > 0 && p[OGG_HEADER_BYTES + nseg - 1] < 255;
	return true;
}

/* Moves safe_end past a page just written at off (DESIGN). */
static void
track_page(struct output_backend *b, const unsigned char *data, size_t bytes,
    off_t off)
{
	struct page_info pi;

	if (!page_parse(data, bytes, &pi)) {
		/* Not a page: whatever it is was written whole. */
		b->safe_end = off + (off_t)bytes;
		b->mark_bytes = 0;
		return;
	}
	if (pi.flags & OGG_FLAG_EOS) {
		b->safe_end = off + (off_t)bytes;
		b->mark_bytes = 0;
		return;
	}
	/* Header pages have granule 0; a page inside a packet has -1. */
	if (!pi.ends_packet || pi.granulepos <= 0 || (pi.flags & OGG_FLAG_BOS))
		return;
	b->safe_end = off + (off_t)bytes;
	memcpy(b->mark_page, data, bytes);
	b->mark_bytes = bytes;
	b->mark_off = off;
}

/* Sets EOS on the page that now ends the file. Best effort: without it
 * the file is still whole, only its last chain lacks an end mark. */
static void
mark_eos(struct output_backend *b)
{
	unsigned char *p = b->mark_page;
	uint32_t crc;
	ssize_t n;

	if (b->mark_bytes == 0)
		return;
	p[5] |= OGG_FLAG_EOS;
	crc = page_crc(p, b->mark_bytes);
	p[22] = (unsigned char)(crc & 0xff);
	p[23] = (unsigned char)(crc >> 8 & 0xff);
	p[24] = (unsigned char)(crc >> 16 & 0xff);
	p[25] = (unsigned char)(crc >> 24 & 0xff);
	do {
		n = pwrite(b->fd, p, OGG_HEADER_BYTES, b->mark_off);
	} while (n < 0 && errno == EINTR);
	b->mark_bytes = 0;
}

/*
 * A file left by a crash (or a power cut) may end inside a page, and may
 * end its last chain without EOS. Before appending, find the last whole,
 * CRC-valid page within the last two page sizes, cut anything after it,
 * and end its chain as mark_eos() does. A file holding no valid page there
 * is not ours to cut (not Ogg, or damaged beyond a torn tail): left alone.
 */
static void
repair_tail(struct output_backend *b)
{
	const size_t window_max = 2 * FILE_PAGE_MAX_BYTES;
	size_t len, i, plen, last = 0, last_len = 0;
	struct page_info pi;
	unsigned char *buf;
	off_t start, clean_end;

	if (b->end == 0)
		return;
	len = (size_t)b->end < window_max ? (size_t)b->end : window_max;
	start = b->end - (off_t)len;
	buf = malloc(len);
	if (buf == NULL)
		return;
	if (pread(b->fd, buf, len, start) != (ssize_t)len)
		goto out;
	for (i = 0; i + OGG_HEADER_BYTES <= len; i++) {
		plen = page_length(buf + i, len - i);
		if (plen == 0 ||
		    page_crc(buf + i, plen) != page_stored_crc(buf + i))
			continue;
		last = i;
		last_len = plen;
		i += plen - 1;
	}
	if (last_len == 0)
		goto out;
	clean_end = start + (off_t)(last + last_len);
	if (clean_end < b->end) {
		if (ftruncate(b->fd, clean_end) != 0)
			goto out;
		b->end = clean_end;
	}
	/* Ended already, or a page that cannot take EOS: nothing to mark. */
	if (!page_parse(buf + last, last_len, &pi) ||
	    (pi.flags & OGG_FLAG_EOS) || !pi.ends_packet || pi.granulepos <= 0)
		goto out;
	memcpy(b->mark_page, buf + last, last_len);
	b->mark_bytes = last_len;
	b->mark_off = start + (off_t)last;
	mark_eos(b);
out:
	free(buf);
}

/* The message for a full disk, the same from write() and open() so that
 * output.c logs the first one and only counts the repeats. */
static void
full_message(int e, char *err, size_t errlen)
{
	snprintf(err, errlen,
	    "disk full (%s): the file ends at its last whole Ogg page; "
	    "recording resumes when %d KiB are free",
	    strerror(e), FILE_RESUME_FREE_BYTES / 1024);
}

/* True when the file system holding fd has room to record again. root
 * may use the blocks reserved for it, others only f_bavail. */
static bool
has_room(int fd)
{
	struct statvfs vfs;
	unsigned long long blocks;

	if (fstatvfs(fd, &vfs) != 0)
		return true; /* cannot tell: let the next write decide */
	blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
	return blocks * (unsigned long long)vfs.f_frsize >=
	       FILE_RESUME_FREE_BYTES;
}

static int
file_create(const struct config *cfg, const struct output_config *o,
    struct output_backend **out, char *err, size_t errlen)
{
	struct output_backend *b;
	int rc;

	(void)cfg;
	b = calloc(1, sizeof(*b));
	if (b != NULL)
		b->mark_page = malloc(FILE_PAGE_MAX_BYTES);
	if (b == NULL || b->mark_page == NULL) {
		free(b);
		snprintf(err, errlen, "[output %s]: out of memory", o->name);
		return -ENOMEM;
	}
	snprintf(b->mod, sizeof(b->mod), "out[%s]", o->name);
	util_strlcpy(b->pattern, o->path, sizeof(b->pattern));
	b->rotate_s = o->rotate_ns / NS_PER_SEC;
	b->keep_ns = o->keep_ns;
	b->stats_id = -1;
	b->fd = -1;
	rc = cron_tz_load(o->timezone, &b->tz, err, errlen);
	if (rc < 0) {
		free(b->mark_page);
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static void
file_set_stats(struct output_backend *b, int stats_id)
{
	b->stats_id = stats_id;
}

/* Creates the directories above path (mkdir -p of its dirname). */
static int
make_parents(const char *path)
{
	char dir[4096];
	size_t i;

	util_strlcpy(dir, path, sizeof(dir));
	for (i = 1; dir[i] != '\0'; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		dir[i] = '/';
	}
	return 0;
}

/* True when the file system that will hold path has room to record
 * again (see has_room); its nearest existing directory is asked. */
static bool
has_room_at(const char *path)
{
	char dir[4096];
	struct statvfs vfs;
	unsigned long long blocks;
	char *slash;

	util_strlcpy(dir, path, sizeof(dir));
	for (;;) {
		slash = strrchr(dir, '/');
		if (slash == NULL)
			util_strlcpy(dir, ".", sizeof(dir));
		else if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (statvfs(dir, &vfs) == 0)
			break;
		if (slash == NULL || slash == dir)
			return true; /* cannot tell: let the open decide */
	}
	blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
	return blocks * (unsigned long long)vfs.f_frsize >=
	       FILE_RESUME_FREE_BYTES;
}

/*
 * Whether the file at path carries relay's mark: it starts with an Ogg
 * BOS page, and its first FILE_MARK_WINDOW bytes hold a Vorbis comment
 * header with ENCODER=relay (encoder.c writes it first, so it is near the
 * start). Symbolic links are never followed.
 */
static bool
file_is_ours(const char *path)
{
	unsigned char buf[FILE_MARK_WINDOW];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < OGG_HEADER_BYTES || memcmp(buf, "OggS", 4) != 0 ||
	    !(buf[5] & OGG_FLAG_BOS))
		return false;
	return memmem(buf, (size_t)n, "\x03vorbis", 7) != NULL &&
	       memmem(buf, (size_t)n, FILE_MARK, strlen(FILE_MARK)) != NULL;
}

/* One directory of the keep sweep; recurses into the pattern's own
 * directories only (archive_dir_matches()). */
static void
sweep_dir(struct output_backend *b, const char *dir, bool relative,
    int64_t now_ns, int depth)
{
	char path[4096], age[32];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n;

	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (relative)
			n = snprintf(path, sizeof(path), "%s", de->d_name);
		else
			n = snprintf(path, sizeof(path), "%s%s%s", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 32 &&
			    archive_dir_matches(b->pattern, path)) {
				sweep_dir(b, path, false, now_ns, depth + 1);
				/* Gone if that emptied it; kept otherwise. */
				(void)rmdir(path);
			}
			continue;
		}
		if (!S_ISREG(st.st_mode) || strcmp(path, b->path) == 0 ||
		    !archive_name_matches(b->pattern, path) ||
		    !archive_expired((int64_t)st.st_mtim.tv_sec * NS_PER_SEC +
					 st.st_mtim.tv_nsec,
			now_ns, b->keep_ns) ||
		    !file_is_ours(path))
			continue;
		if (unlink(path) == 0) {
			stats_output_inc_removed(b->stats_id);
			log_info(b->mod, "keep: removed %s (older than %s)",
			    path,
			    util_format_duration(b->keep_ns, age, sizeof(age)));
		} else {
			stats_output_inc_file_errors(b->stats_id);
			log_warn(b->mod,
			    "keep: cannot remove %s: %s; trying again at the "
			    "next file",
			    path, strerror(errno));
		}
	}
	closedir(d);
}

/* keep: removes this output's files older than keep_ns (see top). */
static void
sweep(struct output_backend *b)
{
	char root[4096];

	if (b->keep_ns <= 0 ||
	    archive_pattern_root(b->pattern, root, sizeof(root)) < 0)
		return;
	sweep_dir(b, root, strcmp(root, ".") == 0, util_now_wall_ns(), 0);
}

/* The message for a file that cannot be created or opened. */
static int
open_error(
    struct output_backend *b, const char *path, int e, char *err, size_t errlen)
{
	if (e == ENOSPC || e == EDQUOT) {
		b->disk_full = true;
		full_message(e, err, errlen);
	} else {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
	}
	stats_output_inc_file_errors(b->stats_id);
	return -e;
}

/*
 * Opens the file for the period holding wall_ns. rotate = none: the
 * expanded name, appended to (read-write for repair_tail(); not
 * O_APPEND: Linux pwrite() ignores the offset on such a file, and
 * mark_eos() must write in place). Otherwise a new file, never an
 * existing one (O_EXCL, then "-1", "-2"...).
 */
static int
open_for(struct output_backend *b, int64_t wall_ns, char *err, size_t errlen)
{
	char path[4096];
	struct cron_local lt;
	int64_t start_ns, end_ns;
	unsigned suffix = 0;
	bool made_dirs = false;
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, e;

	b->path[0] = '\0';
	/* After a full disk keep makes room before the attempt; otherwise
	 * it runs once the new file exists, so a name of this period that
	 * it frees is never taken again (suffixes stay in time order). */
	if (b->disk_full)
		sweep(b);
	archive_period(b->tz, b->rotate_s, wall_ns, &start_ns, &end_ns);
	cron_tz_local(b->tz, b->rotate_s > 0 ? start_ns : wall_ns, &lt);
	if (b->rotate_s > 0)
		flags |= O_EXCL;
	for (;;) {
		if (archive_expand(
			b->pattern, &lt, suffix, path, sizeof(path)) < 0) {
			snprintf(
			    err, errlen, "%s: file name too long", b->pattern);
			stats_output_inc_file_errors(b->stats_id);
			return -ENAMETOOLONG;
		}
		if (b->disk_full && !has_room_at(path)) {
			full_message(ENOSPC, err, errlen);
			return -ENOSPC;
		}
		b->fd = open(path, flags, 0644);
		if (b->fd >= 0)
			break;
		e = errno;
		if (e == ENOENT && !made_dirs) {
			made_dirs = true;
			e = -make_parents(path);
			if (e == 0)
				continue;
		} else if (e == EEXIST && suffix < FILE_SUFFIX_MAX) {
			suffix++;
			continue;
		}
		return open_error(b, path, e, err, errlen);
	}
	util_strlcpy(b->path, path, sizeof(b->path));
	b->created = (flags & O_EXCL) != 0;
	b->end = lseek(b->fd, 0, SEEK_END);
	if (b->end < 0) {
		e = errno;
		close(b->fd);
		b->fd = -1;
		b->path[0] = '\0';
		return open_error(b, path, e, err, errlen);
	}
	b->mark_bytes = 0;
	repair_tail(b);
	if (b->disk_full) {
		if (!has_room(b->fd)) {
			close(b->fd);
			if (b->created)
				(void)unlink(b->path);
			b->fd = -1;
			b->path[0] = '\0';
			full_message(ENOSPC, err, errlen);
			return -ENOSPC;
		}
		b->disk_full = false;
	}
	b->safe_end = b->end;
	b->mark_bytes = 0;
	b->period_end_ns = end_ns;
	b->next_link_check_mono_ns = util_now_mono_ns() + FILE_LINK_CHECK_NS;
	stats_output_set_file(b->stats_id, b->path);
	stats_output_set_file_bytes(b->stats_id, (uint64_t)b->end);
	log_info(b->mod, "recording to %s", b->path);
	sweep(b);
	return 0;
}

static int
file_open(struct output_backend *b, char *err, size_t errlen)
{
	return open_for(b, util_now_wall_ns(), err, errlen);
}

static int
file_open_poll(struct output_backend *b, char *err, size_t errlen)
{
	return file_open(b, err, errlen);
}

/* Writes one page at the end; on failure cuts the file back (DESIGN). */
static int
file_write(struct output_backend *b, const unsigned char *data, size_t bytes,
    char *err, size_t errlen)
{
	const unsigned char *p = data;
	size_t left = bytes;
	off_t off = b->end;
	struct stat st;
	int64_t now;
	ssize_t n;
	int e;

	now = util_now_mono_ns();
	if (now >= b->next_link_check_mono_ns) {
		b->next_link_check_mono_ns = now + FILE_LINK_CHECK_NS;
		if (fstat(b->fd, &st) == 0 && st.st_nlink == 0) {
			/* Written on, the audio would vanish with the inode. */
			snprintf(err, errlen,
			    "%s was removed (or its directory) while being "
			    "written; recording goes on in a new file",
			    b->path);
			stats_output_inc_file_errors(b->stats_id);
			return -ENOENT;
		}
	}
	while (left > 0) {
		n = pwrite(b->fd, p, left, off);
		if (n < 0) {
			e = errno;
			if (e == EINTR)
				continue;
			goto fail;
		}
		p += n;
		off += n;
		left -= (size_t)n;
	}
	track_page(b, data, bytes, b->end);
	b->end = off;
	stats_output_set_file_bytes(b->stats_id, (uint64_t)b->end);
	return 0;

fail:
	stats_output_inc_file_errors(b->stats_id);
	if (ftruncate(b->fd, b->safe_end) == 0) {
		b->end = b->safe_end;
		mark_eos(b);
	}
	if (e == ENOSPC || e == EDQUOT) {
		b->disk_full = true;
		full_message(e, err, errlen);
	} else {
		snprintf(err, errlen,
		    "cannot write %s: %s; the file ends at its last whole Ogg "
		    "page",
		    b->path, strerror(e));
	}
	return -e;
}

static int
file_flush(struct output_backend *b, size_t *pending, char *err, size_t errlen)
{
	(void)b;
	(void)err;
	(void)errlen;
	*pending = 0;
	return 0;
}

/* Closes; a chain left open by an error (no EOS page written) is cut
 * back and ended as after a failed write, so the file ends cleanly.
 * report: show "no file" in the status (not between two files). */
static void
close_file(struct output_backend *b, bool report)
{
	if (b->fd >= 0) {
		if ((b->end != b->safe_end || b->mark_bytes > 0) &&
		    ftruncate(b->fd, b->safe_end) == 0) {
			b->end = b->safe_end;
			mark_eos(b);
		}
		(void)fdatasync(b->fd);
		close(b->fd);
		/* A file this open created that holds no whole audio page
		 * (the disk was full from the start) is no recording. */
		if (b->created && b->end == 0)
			(void)unlink(b->path);
		if (report)
			stats_output_set_file(b->stats_id, NULL);
	}
	b->fd = -1;
	b->path[0] = '\0';
}

static void
file_close(struct output_backend *b)
{
	close_file(b, true);
}

static bool
file_rotate_due(struct output_backend *b, int64_t wall_ns)
{
	return b->rotate_s > 0 && b->fd >= 0 && wall_ns >= b->period_end_ns;
}

/* The stream in the old file has ended (EOS): close it, start the next. */
static int
file_rotate(struct output_backend *b, int64_t wall_ns, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	/* Removed since the last check: say so, as file_write() would. */
	if (b->fd >= 0 && fstat(b->fd, &st) == 0 && st.st_nlink == 0) {
		stats_output_inc_file_errors(b->stats_id);
		log_warn(b->mod,
		    "%s was removed (or its directory) while being written; "
		    "recording goes on in a new file",
		    b->path);
	}
	close_file(b, false);
	rc = open_for(b, wall_ns, err, errlen);
	if (rc < 0)
		stats_output_set_file(b->stats_id, NULL);
	return rc;
}

static void
file_destroy(struct output_backend *b)
{
	if (b == NULL)
		return;
	file_close(b);
	cron_tz_free(b->tz);
	free(b->mark_page);
	free(b);
}

const struct output_ops output_file_ops = {
    .name = "file",
    .create = file_create,
    .open = file_open,
    .open_poll = file_open_poll,
    .write = file_write,
    .flush = file_flush,
    .set_title = NULL,
    .set_stats = file_set_stats,
    .rotate_due = file_rotate_due,
    .rotate = file_rotate,
    .close = file_close,
    .destroy = file_destroy,
};
