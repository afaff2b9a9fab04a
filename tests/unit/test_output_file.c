/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the file output backend (output_file.c), driven through
 * output_file_ops as output.c drives it: a write that fails part-way (the
 * file size limit, RLIMIT_FSIZE, stands in for a full disk and needs no
 * root) leaves the file cut back to its last audio page that ends a
 * packet, with that page marked EOS; a reopen appends a clean new chain;
 * and a torn page left by a crash is cut off at open. Pages are made with
 * libogg and the file is checked with libogg's own sync layer, which
 * reports any hole or bad CRC.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ogg/ogg.h>

#include "config.h"
#include "output.h"
#include "test_tmpdir.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	test_tmpdir_template(tmpdir, sizeof(tmpdir), "test_output_file");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* Past RLIMIT_FSIZE a write fails with EFBIG instead of killing us. */
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Up to 8 pages made from one packet; each page is owned by the caller
 * (free with pages_free). */
struct pages {
	unsigned char *data[8];
	size_t bytes[8];
	size_t n;
};

static void
pages_free(struct pages *pg)
{
	size_t i;

	for (i = 0; i < pg->n; i++)
		free(pg->data[i]);
	pg->n = 0;
}

/* Puts one packet of bytes bytes into os and flushes it into pages. */
static void
packet_pages(ogg_stream_state *os, size_t bytes, int64_t granulepos,
    int bos, struct pages *pg)
{
	unsigned char *body = malloc(bytes);
	ogg_packet op;
	ogg_page og;

	assert_non_null(body);
	memset(body, 0x5a, bytes);
	memset(&op, 0, sizeof(op));
	op.packet = body;
	op.bytes = (long)bytes;
	op.b_o_s = bos;
	op.granulepos = granulepos;
	op.packetno = os->packetno;
	assert_int_equal(ogg_stream_packetin(os, &op), 0);
	pg->n = 0;
	while (ogg_stream_flush(os, &og) != 0) {
		size_t n = (size_t)og.header_len + (size_t)og.body_len;

		assert_true(pg->n < 8);
		pg->data[pg->n] = malloc(n);
		assert_non_null(pg->data[pg->n]);
		memcpy(pg->data[pg->n], og.header, (size_t)og.header_len);
		memcpy(pg->data[pg->n] + og.header_len, og.body,
		    (size_t)og.body_len);
		pg->bytes[pg->n++] = n;
	}
	free(body);
}

/* Checks path with libogg's sync layer: every byte in whole, CRC-valid
 * pages (no hole). Returns the page count; *eos_pages counts EOS pages,
 * *last_eos says whether the last page has EOS and *last_granule its
 * granule position. */
static size_t
check_file(const char *path, size_t *eos_pages, int *last_eos,
    int64_t *last_granule)
{
	ogg_sync_state oy;
	ogg_page og;
	unsigned char buf[4096];
	size_t pages = 0;
	ssize_t n;
	char *dst;
	int fd, rc;

	*eos_pages = 0;
	*last_eos = 0;
	*last_granule = -1;
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ogg_sync_init(&oy);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		dst = ogg_sync_buffer(&oy, n);
		memcpy(dst, buf, (size_t)n);
		ogg_sync_wrote(&oy, n);
		while ((rc = ogg_sync_pageout(&oy, &og)) != 0) {
			if (rc < 0)
				fail_msg("%s: hole or bad page after %zu "
					 "pages",
				    path, pages);
			pages++;
			*last_eos = ogg_page_eos(&og);
			*last_granule = ogg_page_granulepos(&og);
			if (*last_eos)
				(*eos_pages)++;
		}
	}
	/* Bytes left over are a torn page. */
	if (oy.fill != oy.returned)
		fail_msg("%s: %d bytes after the last whole page", path,
		    oy.fill - oy.returned);
	ogg_sync_clear(&oy);
	close(fd);
	return pages;
}

static off_t
file_bytes(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static struct output_backend *
backend_for(const char *path, struct output_config *oc)
{
	static struct config cfg;
	struct output_backend *b = NULL;
	char err[256] = "";

	memset(oc, 0, sizeof(*oc));
	oc->name = (char *)(uintptr_t) "archive";
	oc->type = OUTPUT_FILE;
	oc->path = (char *)(uintptr_t)path;
	assert_int_equal(
	    output_file_ops.create(&cfg, oc, &b, err, sizeof(err)), 0);
	return b;
}

static int
write_pages(struct output_backend *b, const struct pages *pg, char *err,
    size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < pg->n; i++) {
		rc = output_file_ops.write(
		    b, pg->data[i], pg->bytes[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Headers, two audio pages, a page that ends inside a packet, then the
 * file size limit cuts the next page: the file ends after the second
 * audio page, marked EOS. A reopen appends a second chain cleanly. */
static void
test_failed_write_cuts_back_to_a_whole_page(void **state)
{
	struct output_config oc;
	struct output_backend *b;
	ogg_stream_state os;
	struct pages pg;
	struct rlimit old, lim;
	char path[512], err[256] = "";
	size_t pages, eos_pages;
	off_t safe, before_big;
	int64_t granule;
	int last_eos, rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/cut.ogg", tmpdir);
	b = backend_for(path, &oc);
	assert_int_equal(output_file_ops.open(b, err, sizeof(err)), 0);
	ogg_stream_init(&os, 1234);
	packet_pages(&os, 30, 0, 1, &pg); /* BOS, identification header */
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	packet_pages(&os, 3000, 0, 0, &pg); /* comment and setup */
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	packet_pages(&os, 1000, 1024, 0, &pg);
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	packet_pages(&os, 1000, 2048, 0, &pg);
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	safe = file_bytes(path);

	/* A packet over two pages: the first page ends inside it. */
	packet_pages(&os, 70000, 3072, 0, &pg);
	assert_int_equal(pg.n, 2);
	assert_int_equal(output_file_ops.write(
			     b, pg.data[0], pg.bytes[0], err, sizeof(err)),
	    0);
	before_big = file_bytes(path);
	assert_true(before_big > safe);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before_big + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = output_file_ops.write(b, pg.data[1], pg.bytes[1], err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	pages_free(&pg);
	assert_int_equal(rc, -EFBIG);
	output_file_ops.close(b);

	assert_int_equal(file_bytes(path), safe);
	pages = check_file(path, &eos_pages, &last_eos, &granule);
	assert_int_equal(pages, 4);
	assert_int_equal(eos_pages, 1);
	assert_true(last_eos);
	assert_int_equal(granule, 2048);
	assert_non_null(strstr(err, "last whole Ogg page"));
	ogg_stream_clear(&os);

	/* A reopen appends a new chain; the file stays whole. */
	assert_int_equal(output_file_ops.open(b, err, sizeof(err)), 0);
	ogg_stream_init(&os, 5678);
	packet_pages(&os, 30, 0, 1, &pg);
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	packet_pages(&os, 500, 512, 0, &pg);
	assert_int_equal(write_pages(b, &pg, err, sizeof(err)), 0);
	pages_free(&pg);
	ogg_stream_clear(&os);
	output_file_ops.close(b);
	output_file_ops.destroy(b);
	pages = check_file(path, &eos_pages, &last_eos, &granule);
	assert_int_equal(pages, 6);
	/* output.c ends a chain (muxer_end()) before a normal close; a
	 * close with the chain still open ends it at its last page. */
	assert_int_equal(eos_pages, 2);
	assert_true(last_eos);
	assert_int_equal(granule, 512);
}

/* A crash left half a page at the end: open cuts it off and ends the
 * chain on the last whole page before appending. */
static void
test_open_repairs_a_torn_tail(void **state)
{
	struct output_config oc;
	struct output_backend *b;
	ogg_stream_state os;
	struct pages pg;
	char path[512], err[256] = "";
	size_t pages, eos_pages, i;
	off_t whole;
	int64_t granule;
	int last_eos, fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn.ogg", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	ogg_stream_init(&os, 42);
	packet_pages(&os, 30, 0, 1, &pg);
	for (i = 0; i < pg.n; i++)
		assert_int_equal(write(fd, pg.data[i], pg.bytes[i]),
		    (ssize_t)pg.bytes[i]);
	pages_free(&pg);
	packet_pages(&os, 2000, 4096, 0, &pg);
	for (i = 0; i < pg.n; i++)
		assert_int_equal(write(fd, pg.data[i], pg.bytes[i]),
		    (ssize_t)pg.bytes[i]);
	pages_free(&pg);
	whole = lseek(fd, 0, SEEK_CUR);
	packet_pages(&os, 2000, 8192, 0, &pg);
	assert_int_equal(write(fd, pg.data[0], pg.bytes[0] / 2),
	    (ssize_t)(pg.bytes[0] / 2));
	pages_free(&pg);
	close(fd);
	ogg_stream_clear(&os);

	b = backend_for(path, &oc);
	assert_int_equal(output_file_ops.open(b, err, sizeof(err)), 0);
	assert_int_equal(file_bytes(path), whole);
	output_file_ops.close(b);
	output_file_ops.destroy(b);
	pages = check_file(path, &eos_pages, &last_eos, &granule);
	assert_int_equal(pages, 2);
	assert_true(last_eos);
	assert_int_equal(granule, 4096);

	/* Not an Ogg file: left alone. */
	snprintf(path, sizeof(path), "%s/notes.txt", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not Ogg at all\n", 15), 15);
	close(fd);
	b = backend_for(path, &oc);
	assert_int_equal(output_file_ops.open(b, err, sizeof(err)), 0);
	output_file_ops.close(b);
	output_file_ops.destroy(b);
	assert_int_equal(file_bytes(path), 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_write_cuts_back_to_a_whole_page),
		cmocka_unit_test(test_open_repairs_a_torn_tail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
