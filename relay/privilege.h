/* SPDX-License-Identifier: MIT */
/*
 * Running as root only as long as needed. Started as root with [station]
 * user, relay binds the status port (status_bind_early) and then becomes
 * that user, with that user's supplementary groups (audio, for ALSA) and
 * [station] group or the user's own group, before any other thread
 * starts, any output file is created or the capture device is opened:
 * files are owned by the user and a device that comes back after being
 * unplugged is reopened with the same rights. Started as root without a
 * user, relay says once, loudly, that it keeps running as root.
 *
 * Threads: the main thread, before any other thread exists.
 */
#ifndef RELAY_PRIVILEGE_H
#define RELAY_PRIVILEGE_H

#include <stddef.h>

/* When the effective user is root and user is not NULL: switches to user
 * (and group, or the user's primary group when NULL) for good, checking
 * that root cannot be regained. Not root: user must be NULL or the
 * current user, else an error. Returns 0, or a negative errno with err
 * set to one line naming the key. */
int privilege_drop(
    const char *user, const char *group, char *err, size_t errlen);

#endif
