/* SPDX-License-Identifier: MIT */
/*
 * The release version, and the git revision the binary was built from.
 *
 * Threads: read-only, any thread.
 */
#ifndef RELAY_VERSION_H
#define RELAY_VERSION_H

#define RELAY_VERSION "0.1.0"

/* "a1b2c3d", or "unknown" outside a git checkout. */
const char *relay_git_rev(void);

#endif
