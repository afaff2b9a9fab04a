/* SPDX-License-Identifier: MIT */
/*
 * systemd notifications (see service.h), without libsystemd: the
 * protocol is two environment variables and a datagram, and linking
 * libsystemd only for them cost ~0.7 MB of resident library pages
 * (libsystemd, libgcrypt, libzstd, liblz4, liblzma... mapped and
 * relocated at every start; docs/performance.md, Memory). The messages
 * go out through notify() here, never waiting: sd_notify() blocks while
 * the receiver's queue is full, and a notify socket that nobody reads (a
 * stuck manager, a stray $NOTIFY_SOCKET) then held the main thread, with
 * its signals and the control API, for good. This file also decides when.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "service.h"
#include "util.h"

#define MOD "service"

static struct {
	int64_t period_ns; /* 0: no watchdog */
	int64_t last_ping_ns;
	uint64_t last_progress;
	bool pinged;
	bool stalled_noted;
	bool full_noted;
	char status[256];
} svc;

/* Sends msg to $NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace) at once, or drops it when the receiver's queue is full. */
static void
notify(const char *msg)
{
	const char *where = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	size_t n;
	int fd;

	if (where == NULL || (where[0] != '/' && where[0] != '@'))
		return;
	n = strlen(where);
	if (n < 2 || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, where, n);
	if (where[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			  (where[0] == '/' ? 1 : 0));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
		(struct sockaddr *)&sa, len) < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK) && !svc.full_noted) {
		svc.full_noted = true;
		log_warn(MOD,
		    "%s (NOTIFY_SOCKET) is not read: a notification was "
		    "dropped (and later ones may be); relay goes on",
		    where);
	}
	close(fd);
}

/* The watchdog period systemd asks of this process, in microseconds: 0
 * when $WATCHDOG_USEC is unset, not a positive number, or meant for
 * another process ($WATCHDOG_PID names the process the manager watches; a
 * child that inherited the environment must not ping in its name). The
 * rules of sd_watchdog_enabled(); the environment is left as it is. */
static uint64_t
watchdog_usec(void)
{
	const char *usec_s = getenv("WATCHDOG_USEC");
	const char *pid_s = getenv("WATCHDOG_PID");
	uintmax_t usec, pid;
	char *end;

	if (usec_s == NULL || usec_s[0] < '0' || usec_s[0] > '9')
		return 0;
	errno = 0;
	usec = strtoumax(usec_s, &end, 10);
	if (errno != 0 || *end != '\0' || usec == 0)
		return 0;
	if (pid_s != NULL) {
		if (pid_s[0] < '0' || pid_s[0] > '9')
			return 0;
		errno = 0;
		pid = strtoumax(pid_s, &end, 10);
		if (errno != 0 || *end != '\0' || pid != (uintmax_t)getpid())
			return 0;
	}
	return (uint64_t)usec;
}

void
service_init(void)
{
	uint64_t usec;

	memset(&svc, 0, sizeof(svc));
	usec = watchdog_usec();
	if (usec > 0) {
		/* A period past int64 nanoseconds (centuries) is no limit. */
		svc.period_ns = usec > (uint64_t)INT64_MAX / 1000
				    ? INT64_MAX
				    : (int64_t)usec * 1000;
		log_info(MOD,
		    "systemd watchdog: every %.1f s while the engine "
		    "runs",
		    (double)svc.period_ns / 2e9);
	}
}

int64_t
service_watchdog_due_ns(int64_t now_ns)
{
	int64_t t;

	if (svc.period_ns <= 0)
		return INT64_MAX;
	if (!svc.pinged)
		return now_ns;
	t = svc.last_ping_ns + svc.period_ns / 2;
	return t > now_ns ? t : now_ns + 100 * NS_PER_MS;
}

bool
service_watchdog_enabled(void)
{
	return svc.period_ns > 0;
}

/* notify() of what followed by status. */
static void
notify_status(const char *what, const char *status)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "%s%s", what, status);
	notify(msg);
}

void
service_ready(const char *status)
{
	util_strlcpy(svc.status, status, sizeof(svc.status));
	notify_status("READY=1\nSTATUS=", status);
}

void
service_status(const char *status)
{
	if (strcmp(status, svc.status) == 0)
		return;
	util_strlcpy(svc.status, status, sizeof(svc.status));
	notify_status("STATUS=", status);
}

void
service_reloading(void)
{
	notify("RELOADING=1\nSTATUS=reloading");
}

void
service_reloaded(const char *status)
{
	util_strlcpy(svc.status, status, sizeof(svc.status));
	notify_status("READY=1\nSTATUS=", status);
}

void
service_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping");
}

void
service_watchdog(int64_t now_ns, uint64_t progress)
{
	if (svc.period_ns <= 0)
		return;
	if (svc.pinged && now_ns - svc.last_ping_ns < svc.period_ns / 2)
		return;
	if (svc.pinged && progress == svc.last_progress) {
		/* No ping: systemd ends relay at the full period. */
		if (!svc.stalled_noted)
			log_err(MOD,
			    "the engine thread has not come round "
			    "its loop for %.1f s; withholding the "
			    "watchdog ping",
			    (double)(now_ns - svc.last_ping_ns) / 1e9);
		svc.stalled_noted = true;
		return;
	}
	svc.stalled_noted = false;
	svc.pinged = true;
	svc.last_ping_ns = now_ns;
	svc.last_progress = progress;
	notify("WATCHDOG=1");
}
