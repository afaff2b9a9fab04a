/* SPDX-License-Identifier: MIT */
/*
 * systemd notifications (see service.h). libsystemd does the protocol;
 * this file decides when.
 */
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

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
	char status[256];
} svc;

void
service_init(void)
{
	uint64_t usec = 0;

	memset(&svc, 0, sizeof(svc));
	/* unset_environment = 0: threads may read the environment. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		svc.period_ns = (int64_t)usec * 1000;
		log_info(MOD,
		    "systemd watchdog: every %.1f s while the engine "
		    "runs",
		    (double)svc.period_ns / 2e9);
	}
}

bool
service_watchdog_enabled(void)
{
	return svc.period_ns > 0;
}

void
service_ready(const char *status)
{
	util_strlcpy(svc.status, status, sizeof(svc.status));
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
service_status(const char *status)
{
	if (strcmp(status, svc.status) == 0)
		return;
	util_strlcpy(svc.status, status, sizeof(svc.status));
	(void)sd_notifyf(0, "STATUS=%s", status);
}

void
service_reloading(void)
{
	(void)sd_notify(0, "RELOADING=1\nSTATUS=reloading");
}

void
service_reloaded(const char *status)
{
	util_strlcpy(svc.status, status, sizeof(svc.status));
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
service_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
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
	(void)sd_notify(0, "WATCHDOG=1");
}
