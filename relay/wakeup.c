/* SPDX-License-Identifier: MIT */
/*
 * The main thread's wake-up eventfd. See wakeup.h.
 *
 * The descriptor is an atomic int so that a signalling thread sees either
 * -1 (nothing to wake) or a descriptor that stays open until every other
 * thread has stopped: main.c closes it last, after stop_all().
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"
#include "wakeup.h"

static atomic_int wake_fd = -1;
static atomic_uint_fast64_t signals;

int
wakeup_open(void)
{
	int fd;

	if (atomic_load(&wake_fd) >= 0)
		return 0;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	atomic_store(&wake_fd, fd);
	return 0;
}

void
wakeup_close(void)
{
	int fd = atomic_exchange(&wake_fd, -1);

	if (fd >= 0)
		close(fd);
}

int
wakeup_fd(void)
{
	return atomic_load(&wake_fd);
}

void
wakeup_drain(void)
{
	int fd = atomic_load(&wake_fd);

	if (fd >= 0)
		util_eventfd_drain(fd);
}

void
wakeup_signal(void)
{
	int fd = atomic_load(&wake_fd);

	atomic_fetch_add(&signals, 1);
	if (fd >= 0)
		util_eventfd_signal(fd);
}

uint64_t
wakeup_count(void)
{
	return atomic_load(&signals);
}
