/* SPDX-License-Identifier: MIT */
/*
 * Hook commands: splitting without a shell, and the runner thread that
 * starts them one at a time, waits with a deadline and kills. See hook.h.
 *
 * DESIGN
 * The main thread only queues (a mutex held for a copy); the runner's own
 * thread does posix_spawnp() and polls waitpid(WNOHANG) every 20 ms, so a
 * hook that hangs costs the audio path nothing and the main loop nothing.
 * Polling rather than SIGCHLD keeps relay's signal handling (a signalfd
 * on the main thread) untouched, and 20 ms is nothing next to a hook's
 * timeout. Each hook is a process group leader, so the SIGKILL at the
 * deadline also reaches what a script started (a `sleep` in a shell
 * script would otherwise live on, holding relay's stderr).
 *
 * Threads: see hook.h. hook_thread is the only one that spawns or reaps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"
#include "log.h"

#define MOD "hook"
#define HOOK_POLL_NS (20 * NS_PER_MS)
#define HOOK_TEXT 1024

extern char **environ;

int
hook_split(const char *command, char *buf, size_t buflen,
    char *argv[HOOK_MAX_ARGS + 1], int *argc, char *err, size_t errlen)
{
	const char *p = command;
	size_t o = 0;
	int n = 0;

	*argc = 0;
	for (;;) {
		bool word = false;
		char quote = '\0';

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == HOOK_MAX_ARGS) {
			snprintf(
			    err, errlen, "more than %d words", HOOK_MAX_ARGS);
			return -EINVAL;
		}
		argv[n] = buf + o;
		while (*p != '\0') {
			char c = *p++;

			if (quote == '\'') {
				if (c == '\'') {
					quote = '\0';
					continue;
				}
			} else if (quote == '"') {
				if (c == '"') {
					quote = '\0';
					continue;
				}
				if (c == '\\' && (*p == '"' || *p == '\\'))
					c = *p++;
			} else if (c == ' ' || c == '\t') {
				break;
			} else if (c == '\'' || c == '"') {
				quote = c;
				word = true;
				continue;
			} else if (c == '\\') {
				if (*p == '\0') {
					snprintf(err, errlen,
					    "a backslash ends the command "
					    "(quote it: '\\')");
					return -EINVAL;
				}
				c = *p++;
			}
			if (o + 1 >= buflen)
				return -ENOSPC;
			buf[o++] = c;
			word = true;
		}
		if (quote != '\0') {
			snprintf(err, errlen, "unterminated %c quote", quote);
			return -EINVAL;
		}
		if (!word)
			break;
		if (o + 1 >= buflen)
			return -ENOSPC;
		buf[o++] = '\0';
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no command (empty)");
		return -EINVAL;
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
}

struct hook_job {
	char what[32];
	char command[HOOK_TEXT];
	char env[HOOK_MAX_ENV][HOOK_TEXT];
	size_t n_env;
	int64_t timeout_ns;
};

struct hook_runner {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hook_job queue[HOOK_QUEUE_MAX];
	size_t head, count;
	bool running; /* a hook is running now */
	bool stop;
	atomic_bool stop_now; /* read while a hook runs, without the lock */
	pthread_t thread;
};

/* Runs job: spawn, wait up to its timeout, kill. Runs on: the hook
 * thread. */
static void
run_job(struct hook_runner *r, const struct hook_job *job)
{
	char buf[HOOK_TEXT], err[256], shown[HOOK_TEXT];
	char *argv[HOOK_MAX_ARGS + 1];
	char **envp = NULL;
	size_t n_environ = 0, i, k;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	int argc, rc, status;
	pid_t pid = -1, w;
	int64_t start, deadline;
	bool killed = false;

	log_escape(shown, sizeof(shown), job->command);
	err[0] = '\0';
	rc = hook_split(
	    job->command, buf, sizeof(buf), argv, &argc, err, sizeof(err));
	if (rc < 0) {
		log_warn(MOD, "%s: cannot run \"%s\": %s", job->what, shown,
		    rc == -ENOSPC ? "too long" : err);
		return;
	}
	while (environ != NULL && environ[n_environ] != NULL)
		n_environ++;
	envp = calloc(n_environ + job->n_env + 1, sizeof(*envp));
	if (envp == NULL) {
		log_warn(MOD, "%s: out of memory; not run", job->what);
		return;
	}
	/* Ours first, so that a RELAY_* of relay's own environment loses
	 * to the event's (getenv returns the first match). */
	for (k = 0; k < job->n_env; k++)
		envp[k] = (char *)(uintptr_t)job->env[k];
	for (i = 0; i < n_environ; i++)
		envp[k++] = environ[i];
	envp[k] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE); /* relay ignores it; the hook must not */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (rc != 0) {
		log_warn(MOD, "%s: cannot start \"%s\": %s", job->what, shown,
		    strerror(rc));
		return;
	}
	log_info(
	    MOD, "%s: started \"%s\" (pid %ld)", job->what, shown, (long)pid);
	start = util_now_mono_ns();
	deadline = start + job->timeout_ns;
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (!killed && (util_now_mono_ns() >= deadline ||
				   atomic_load(&r->stop_now))) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			log_warn(MOD,
			    "%s: \"%s\" (pid %ld) %s; killed it (SIGKILL)",
			    job->what, shown, (long)pid,
			    atomic_load(&r->stop_now)
				? "still ran at shutdown"
				: "ran past hook_timeout");
			continue; /* reap it on the next round */
		}
		util_sleep_ns(HOOK_POLL_NS);
	}
	if (w != pid)
		log_warn(MOD, "%s: lost track of pid %ld: %s", job->what,
		    (long)pid, strerror(errno));
	else if (killed)
		; /* said above */
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info(MOD, "%s: \"%s\" finished in %.1f s", job->what, shown,
		    (double)(util_now_mono_ns() - start) / 1e9);
	else if (WIFEXITED(status))
		log_warn(MOD, "%s: \"%s\" failed with exit status %d",
		    job->what, shown, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warn(MOD, "%s: \"%s\" was killed by signal %d", job->what,
		    shown, WTERMSIG(status));
	/* Whatever the group leader left behind goes too. */
	kill(-pid, SIGKILL);
}

/* Runs on: the hook thread. */
static void *
hook_thread(void *arg)
{
	struct hook_runner *r = arg;
	struct hook_job *job;

	util_thread_name("relay-hook");
	job = malloc(sizeof(*job));
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->count == 0 && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		if (job != NULL)
			*job = r->queue[r->head];
		r->head = (r->head + 1) % HOOK_QUEUE_MAX;
		r->count--;
		r->running = true;
		pthread_mutex_unlock(&r->lock);
		if (job != NULL)
			run_job(r, job);
		pthread_mutex_lock(&r->lock);
		r->running = false;
	}
	pthread_mutex_unlock(&r->lock);
	free(job);
	return NULL;
}

struct hook_runner *
hook_runner_new(void)
{
	struct hook_runner *r;
	sigset_t all, old;
	int rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	atomic_init(&r->stop_now, false);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, hook_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		free(r);
		return NULL;
	}
	return r;
}

int
hook_runner_run(struct hook_runner *r, const char *what, const char *command,
    const char *const *env, size_t n_env, int64_t timeout_ns)
{
	char buf[HOOK_TEXT], err[256], shown[HOOK_TEXT];
	char *argv[HOOK_MAX_ARGS + 1];
	struct hook_job *job;
	int argc, rc;
	size_t i;

	log_escape(shown, sizeof(shown), command);
	err[0] = '\0';
	rc = hook_split(
	    command, buf, sizeof(buf), argv, &argc, err, sizeof(err));
	if (rc < 0 || strlen(command) >= HOOK_TEXT) {
		log_warn(MOD, "%s: cannot run \"%s\": %s", what, shown,
		    rc == -EINVAL ? err : "too long");
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	if (r->count == HOOK_QUEUE_MAX) {
		pthread_mutex_unlock(&r->lock);
		log_warn(MOD,
		    "%s: skipped \"%s\": %d hooks already wait behind the "
		    "one running",
		    what, shown, HOOK_QUEUE_MAX);
		return -EBUSY;
	}
	job = &r->queue[(r->head + r->count) % HOOK_QUEUE_MAX];
	memset(job, 0, sizeof(*job));
	util_strlcpy(job->what, what, sizeof(job->what));
	util_strlcpy(job->command, command, sizeof(job->command));
	for (i = 0; i < n_env && i < HOOK_MAX_ENV; i++)
		util_strlcpy(job->env[i], env[i], sizeof(job->env[i]));
	job->n_env = i;
	job->timeout_ns = timeout_ns > 0 ? timeout_ns : NS_PER_SEC;
	r->count++;
	if (r->running || r->count > 1)
		log_info(MOD,
		    "%s: queued \"%s\": another hook is running (one at a "
		    "time)",
		    what, shown);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void
hook_runner_free(struct hook_runner *r)
{
	size_t i;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	atomic_store(&r->stop_now, true);
	for (i = 0; i < r->count; i++) {
		const struct hook_job *job =
		    &r->queue[(r->head + i) % HOOK_QUEUE_MAX];
		log_info(MOD, "%s: not run: relay is stopping", job->what);
	}
	r->count = 0;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}
