/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: the input as a temporary file, for the
 * parsers that read a path (config, schedule, audio files).
 */
#ifndef RELAY_FUZZ_UTIL_H
#define RELAY_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to a fresh file under $TMPDIR; fills path (for unlink). 0
 * or -1. */
static inline int
fuzz_write_file(const uint8_t *data, size_t size, const char *suffix,
    char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/relay-fuzz-XXXXXX%s",
	    dir != NULL && dir[0] != '\0' ? dir : "/tmp", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	if (fd < 0)
		return -1;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

#endif
