/* SPDX-License-Identifier: MIT */
/*
 * File backend (`[output NAME] type = file`): writes the output's Ogg
 * stream to a file. Each (re)open appends a new chain, so a restart or a
 * write error never cuts a whole page that was already recorded (darkice
 * overwrote its dump on reconnect). Rotation and retention belong to the
 * archive issue; this backend is the plain, lossless base it builds on.
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
 * open() also repairs what a crash left: a torn page at the end is cut
 * off and the last chain gets its EOS (repair_tail()).
 *
 * After ENOSPC or EDQUOT, open() refuses with the very same message until
 * FILE_RESUME_FREE_BYTES are free, so output.c backs off (doubling up to
 * reconnect_max) and logs the repeats at debug: one warning when the disk
 * fills, one "connected again" when recording resumes.
 *
 * Threads: runs on its output's thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "output.h"

/* Largest Ogg page: 27-byte header, 255 lacing values, 255 * 255 body. */
#define FILE_PAGE_MAX_BYTES (27 + 255 + 255 * 255)
#define OGG_HEADER_BYTES 27
#define OGG_FLAG_BOS 0x02
#define OGG_FLAG_EOS 0x04
/* Free space needed before recording resumes after the disk filled:
 * about 15 s of a 128 kbit/s stream, so a disk that gains a few blocks
 * does not flap between full and recording every second. */
#define FILE_RESUME_FREE_BYTES (256 * 1024)

struct output_backend {
	char path[4096];
	int fd;
	off_t end;		  /* bytes in the file */
	off_t safe_end;		  /* where the file can end cleanly (DESIGN) */
	off_t mark_off;		  /* offset of mark_page */
	size_t mark_bytes;	  /* 0: nothing to mark at safe_end */
	unsigned char *mark_page; /* the page ending at safe_end, no EOS */
	bool disk_full;		  /* ENOSPC/EDQUOT until space is free */
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

	(void)cfg;
	b = calloc(1, sizeof(*b));
	if (b != NULL)
		b->mark_page = malloc(FILE_PAGE_MAX_BYTES);
	if (b == NULL || b->mark_page == NULL) {
		free(b);
		snprintf(err, errlen, "[output %s]: out of memory", o->name);
		return -ENOMEM;
	}
	util_strlcpy(b->path, o->path, sizeof(b->path));
	b->fd = -1;
	*out = b;
	return 0;
}

/* Opens to append at the end; read-write for repair_tail(). Not
 * O_APPEND: Linux pwrite() ignores the offset on such a file, and
 * mark_eos() must write in place. */
static int
file_open(struct output_backend *b, char *err, size_t errlen)
{
	int e;

	b->fd = open(b->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (b->fd < 0) {
		e = errno;
		snprintf(
		    err, errlen, "cannot open %s: %s", b->path, strerror(e));
		return -e;
	}
	b->end = lseek(b->fd, 0, SEEK_END);
	if (b->end < 0) {
		e = errno;
		snprintf(
		    err, errlen, "cannot seek %s: %s", b->path, strerror(e));
		goto fail;
	}
	b->mark_bytes = 0;
	repair_tail(b);
	if (b->disk_full) {
		if (!has_room(b->fd)) {
			e = ENOSPC;
			full_message(e, err, errlen);
			goto fail;
		}
		b->disk_full = false;
	}
	b->safe_end = b->end;
	b->mark_bytes = 0;
	return 0;

fail:
	close(b->fd);
	b->fd = -1;
	return -e;
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
	ssize_t n;
	int e;

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
	return 0;

fail:
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
 * back and ended as after a failed write, so the file ends cleanly. */
static void
file_close(struct output_backend *b)
{
	if (b->fd >= 0) {
		if ((b->end != b->safe_end || b->mark_bytes > 0) &&
		    ftruncate(b->fd, b->safe_end) == 0) {
			b->end = b->safe_end;
			mark_eos(b);
		}
		(void)fdatasync(b->fd);
		close(b->fd);
	}
	b->fd = -1;
}

static void
file_destroy(struct output_backend *b)
{
	if (b == NULL)
		return;
	file_close(b);
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
    .close = file_close,
    .destroy = file_destroy,
};
