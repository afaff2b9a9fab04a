/* SPDX-License-Identifier: MIT */
/* libFuzzer: the schedule file (keys, cron, at, durations) and, when it
 * loads, a day of its occurrences. */
#include <string.h>

#include "fuzz_util.h"
#include "schedule.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512], err[SCHEDULE_ERR_LEN];
	struct schedule *s = NULL;
	struct schedule_occurrence occ[8], act;
	/* A fixed "now": 2026-11-30 05:00 UTC, so runs repeat. */
	int64_t now = INT64_C(1796014800) * NS_PER_SEC;

	if (fuzz_write_file(data, size, ".conf", path, sizeof(path)) < 0)
		return 0;
	if (schedule_load(path, "UTC", &s, err, sizeof(err)) == 0) {
		(void)schedule_upcoming(s, now, now + 24 * 3600 * NS_PER_SEC,
		    occ, 8);
		(void)schedule_active(s, now, &act);
		schedule_free(s);
	}
	unlink(path);
	return 0;
}
