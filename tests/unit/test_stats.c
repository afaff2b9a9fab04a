/* SPDX-License-Identifier: MIT */
/*
 * stats: the two writers of the programme record (engine: what is on air;
 * planner: next[]) never overwrite each other's part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "stats.h"

static void
test_programme_parts_are_separate(void **state)
{
	struct stats_programme now, got;
	struct stats_next next[2];

	(void)state;
	memset(&now, 0, sizeof(now));
	now.state = PROGRAMME_SEGMENT;
	strcpy(now.title, "News");
	strcpy(now.segment, "news");
	now.started_at_wall_ns = 100;
	now.n_next = 0; /* set_now must ignore next[] */
	stats_programme_set_now(&now);

	memset(next, 0, sizeof(next));
	strcpy(next[0].segment, "feature");
	next[0].starts_at_wall_ns = 200;
	strcpy(next[1].segment, "weather");
	stats_programme_set_next(next, 2);

	stats_programme_get(&got);
	assert_string_equal(got.title, "News");
	assert_string_equal(got.segment, "news");
	assert_int_equal(got.n_next, 2);
	assert_string_equal(got.next[0].segment, "feature");

	/* The engine's next update leaves the planner's list alone. */
	now.state = PROGRAMME_LIVE;
	strcpy(now.title, "Live");
	now.segment[0] = '\0';
	stats_programme_set_now(&now);
	stats_programme_get(&got);
	assert_int_equal(got.state, PROGRAMME_LIVE);
	assert_string_equal(got.title, "Live");
	assert_int_equal(got.n_next, 2);
	assert_string_equal(got.next[1].segment, "weather");

	/* And the planner's update leaves what is on air alone. */
	stats_programme_set_next(next, 1);
	stats_programme_get(&got);
	assert_string_equal(got.title, "Live");
	assert_int_equal(got.n_next, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_programme_parts_are_separate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
