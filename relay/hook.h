/* SPDX-License-Identifier: MIT */
/*
 * Hooks: the operator's commands run on a programme event ([fallback]
 * on_dead_air, on_restore). A command is split into words here, never by
 * a shell: words are separated by blanks; '...' keeps everything inside
 * as is; "..." keeps blanks and honours \" and \\; outside quotes a
 * backslash takes the next character literally. No variables, globs,
 * pipes or redirections: for those, name a script.
 *
 * The runner starts one command at a time with posix_spawnp() (stdin
 * /dev/null, stdout and stderr relay's, no other descriptor, default
 * signal mask, its own process group) and gives it timeout_ns; then the
 * whole group gets SIGKILL. An event that comes while a hook runs waits
 * in a queue of HOOK_QUEUE_MAX; when that is full the new event is
 * skipped and logged. Every start, exit, failure, kill and skip is one
 * log line. Nothing here ever blocks its caller.
 *
 * Threads: hook_split() anywhere (pure). hook_runner_new(),
 * hook_runner_run() and hook_runner_free() on the main thread; the
 * runner's own thread spawns, waits and kills.
 */
#ifndef RELAY_HOOK_H
#define RELAY_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define HOOK_MAX_ARGS 64
#define HOOK_MAX_ENV 8
#define HOOK_QUEUE_MAX 4

/*
 * Splits command into at most HOOK_MAX_ARGS words, copied into buf (buflen
 * bytes) and pointed at by argv[0..*argc-1], argv[*argc] = NULL. 0, or
 * -EINVAL with err filled (an unterminated quote, a trailing backslash, no
 * words, too many words) or -ENOSPC (buf too small).
 */
RELAY_MUST_CHECK int hook_split(const char *command, char *buf, size_t buflen,
    char *argv[HOOK_MAX_ARGS + 1], int *argc, char *err, size_t errlen);

struct hook_runner;

/* A runner with its thread started. Owned: hook_runner_free(). NULL
 * when out of memory or the thread cannot start. */
struct hook_runner *hook_runner_new(void);

/*
 * Queues command (what = the event name for logs, "on_dead_air") with
 * env: up to HOOK_MAX_ENV "NAME=value" strings added to relay's own
 * environment. Copies everything. timeout_ns > 0. Returns at once: 0
 * queued, -EBUSY skipped (queue full, logged), -EINVAL the command does
 * not split (logged).
 */
int hook_runner_run(struct hook_runner *r, const char *what,
    const char *command, const char *const *env, size_t n_env,
    int64_t timeout_ns);

/* Kills a running hook (SIGKILL to its group), drops queued ones (logged)
 * and joins the thread: returns within ~100 ms. NULL is a no-op. */
void hook_runner_free(struct hook_runner *r);

#endif
