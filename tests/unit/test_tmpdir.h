/* SPDX-License-Identifier: MIT */
/*
 * Scratch folders for unit tests: under $TMPDIR (tests/run gives each test
 * its own and fails a test that leaves anything in it), else /tmp.
 */
#ifndef RELAY_TEST_TMPDIR_H
#define RELAY_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

/* Fills buf with "$TMPDIR/NAME.XXXXXX", ready for mkdtemp(). */
static inline void
test_tmpdir_template(char *buf, size_t n, const char *name)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(buf, n, "%s/%s.XXXXXX", base, name);
}

#endif
