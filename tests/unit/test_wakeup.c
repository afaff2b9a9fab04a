/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of wakeup.c, the main thread's wake-up eventfd (the
 * switcher's use of it: test_switcher, test_events_wake_the_main_thread).
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <stdbool.h>

#include "wakeup.h"

/* True when poll() finds the descriptor readable at once. */
static bool
readable(void)
{
	struct pollfd pfd = {.fd = wakeup_fd(), .events = POLLIN};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

/* Signals before the open and after the close only count; signals in
 * between make the descriptor readable until drained, however many. */
static void
test_signal_drain(void **state)
{
	uint64_t before;
	int i;

	(void)state;
	assert_int_equal(wakeup_fd(), -1);
	before = wakeup_count();
	wakeup_signal(); /* nothing to wake: harmless */
	assert_true(wakeup_count() == before + 1);

	assert_int_equal(wakeup_open(), 0);
	assert_true(wakeup_fd() >= 0);
	assert_false(readable());
	for (i = 0; i < 3; i++)
		wakeup_signal();
	assert_true(readable());
	wakeup_drain();
	assert_false(readable());
	wakeup_drain(); /* already empty: returns at once */
	assert_false(readable());
	wakeup_close();
	assert_int_equal(wakeup_fd(), -1);
	wakeup_signal();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signal_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
