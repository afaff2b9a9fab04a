/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of service.c: what systemd receives. A datagram socket
 * stands in for systemd's notify socket ($NOTIFY_SOCKET), so relay's own
 * notify code sends real messages.
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "service.h"
#include "util.h"

struct notify {
	int fd;
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct notify *n = calloc(1, sizeof(*n));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_non_null(n);
	snprintf(n->dir, sizeof(n->dir), "%s",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	snprintf(
	    n->path, sizeof(n->path), "%s/notify.%d", n->dir, (int)getpid());
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(n->fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", n->path);
	assert_int_equal(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", n->path, 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	unsetenv("WATCHDOG_PID");
	*state = n;
	return 0;
}

static int
teardown(void **state)
{
	struct notify *n = *state;

	close(n->fd);
	unlink(n->path);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	free(n);
	return 0;
}

/* The next message, or "" when none is waiting. */
static const char *
next_message(struct notify *n)
{
	static char buf[512];
	ssize_t got = recv(n->fd, buf, sizeof(buf) - 1, 0);

	if (got < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		got = 0;
	}
	buf[got] = '\0';
	return buf;
}

/* Pings at most every half period, and never while the engine is stuck. */
static void
test_watchdog_needs_progress(void **state)
{
	struct notify *n = *state;
	int64_t t0 = 5 * NS_PER_SEC;

	service_init();
	assert_true(service_watchdog_enabled());
	service_watchdog(t0, 1);
	assert_string_equal(next_message(n), "WATCHDOG=1");
	/* Within half the period: nothing, progress or not. */
	service_watchdog(t0 + 300 * NS_PER_MS, 2);
	assert_string_equal(next_message(n), "");
	/* Half a period on, but the engine has not moved since the ping. */
	service_watchdog(t0 + 600 * NS_PER_MS, 1);
	assert_string_equal(next_message(n), "");
	service_watchdog(t0 + 900 * NS_PER_MS, 1);
	assert_string_equal(next_message(n), "");
	/* It moves again: the ping goes at once. */
	service_watchdog(t0 + 950 * NS_PER_MS, 7);
	assert_string_equal(next_message(n), "WATCHDOG=1");
	service_watchdog(t0 + 1000 * NS_PER_MS, 8);
	assert_string_equal(next_message(n), "");
}

/* The main loop sleeps until service_watchdog_due_ns(): the first ping at
 * once, then half a period after each, and every 100 ms while a ping is
 * withheld; never without a watchdog. */
static void
test_watchdog_says_when_due(void **state)
{
	struct notify *n = *state;
	int64_t t0 = 5 * NS_PER_SEC;

	service_init();
	assert_int_equal(service_watchdog_due_ns(t0), t0);
	service_watchdog(t0, 1);
	assert_string_equal(next_message(n), "WATCHDOG=1");
	/* WATCHDOG_USEC is 1 s (setup): a ping every half second. */
	assert_int_equal(
	    service_watchdog_due_ns(t0 + NS_PER_MS), t0 + 500 * NS_PER_MS);
	service_watchdog(t0 + 500 * NS_PER_MS, 1); /* stuck: withheld */
	assert_string_equal(next_message(n), "");
	assert_int_equal(service_watchdog_due_ns(t0 + 550 * NS_PER_MS),
	    t0 + 650 * NS_PER_MS);
	service_watchdog(t0 + 650 * NS_PER_MS, 2);
	assert_string_equal(next_message(n), "WATCHDOG=1");
	assert_int_equal(service_watchdog_due_ns(t0 + 650 * NS_PER_MS),
	    t0 + 1150 * NS_PER_MS);

	unsetenv("WATCHDOG_USEC");
	service_init();
	assert_true(service_watchdog_due_ns(t0) == INT64_MAX);
}

static void
test_lifecycle_messages(void **state)
{
	struct notify *n = *state;

	service_init();
	service_ready("started");
	assert_string_equal(next_message(n), "READY=1\nSTATUS=started");
	service_status("started");
	assert_string_equal(next_message(n), ""); /* unchanged: not sent */
	service_status("1 of 2 outputs connected");
	assert_string_equal(next_message(n), "STATUS=1 of 2 outputs connected");
	service_reloading();
	assert_string_equal(next_message(n), "RELOADING=1\nSTATUS=reloading");
	service_reloaded("reloaded");
	assert_string_equal(next_message(n), "READY=1\nSTATUS=reloaded");
	service_stopping();
	assert_string_equal(next_message(n), "STOPPING=1\nSTATUS=stopping");
}

/* A notify socket that nobody reads (its queue full) never makes a call
 * wait: libsystemd's sd_notify() blocked there for good, holding the main
 * loop. SIGALRM (default action) ends the test if a call waits. */
static void
test_unread_socket_never_blocks(void **state)
{
	struct notify *n = *state;
	char text[64];
	int i, small = 1024;

	assert_int_equal(
	    setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	service_init();
	alarm(20);
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "%d of 2 outputs connected", i);
		service_status(text);
		service_watchdog((int64_t)i * NS_PER_SEC, (uint64_t)i);
	}
	alarm(0);
	/* The first ones did arrive. */
	assert_string_equal(next_message(n), "STATUS=0 of 2 outputs connected");
}

/* Outside systemd every call is silent and harmless. */
static void
test_no_watchdog_outside_systemd(void **state)
{
	struct notify *n = *state;

	unsetenv("WATCHDOG_USEC");
	service_init();
	assert_false(service_watchdog_enabled());
	service_watchdog(NS_PER_SEC, 1);
	service_watchdog(3 * NS_PER_SEC, 2);
	assert_string_equal(next_message(n), "");
}

/* The period is for the process $WATCHDOG_PID names (a child that
 * inherited the environment must not ping for its parent), and only a
 * positive decimal number is a period: the rules of libsystemd's
 * sd_watchdog_enabled(), which relay no longer links. */
static void
test_watchdog_environment_rules(void **state)
{
	static const char *const bad[] = {"", "0", "-5", "abc", "12x"};
	char pid[32];
	size_t i;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	service_init();
	assert_true(service_watchdog_enabled());

	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	service_init();
	assert_false(service_watchdog_enabled());
	setenv("WATCHDOG_PID", "self", 1);
	service_init();
	assert_false(service_watchdog_enabled());
	unsetenv("WATCHDOG_PID");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		service_init();
		assert_false(service_watchdog_enabled());
	}
	setenv("WATCHDOG_USEC", "250000", 1);
	service_init();
	assert_true(service_watchdog_enabled());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_watchdog_needs_progress, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_watchdog_says_when_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lifecycle_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_unread_socket_never_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_no_watchdog_outside_systemd, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_watchdog_environment_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
