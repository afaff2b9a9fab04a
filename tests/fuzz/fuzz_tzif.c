/* SPDX-License-Identifier: MIT */
/* libFuzzer: relay's own TZif reader (zone files), through $TZ=":/path",
 * then local time and mktime across the year with the zone it loaded. */
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "fuzz_util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512], env[600], err[256];
	struct cron_tz *tz = NULL;
	struct cron_local l;
	struct cron c;
	int64_t t = INT64_C(1796014800) * NS_PER_SEC;
	int m;

	if (fuzz_write_file(data, size, ".tzif", path, sizeof(path)) < 0)
		return 0;
	snprintf(env, sizeof(env), ":%s", path);
	setenv("TZ", env, 1);
	if (cron_tz_load(NULL, &tz, err, sizeof(err)) == 0) {
		for (m = 1; m <= 12; m++) {
			int64_t w = cron_tz_mktime(tz, 2026, m, 15, 2, 30, 0);
			if (w != CRON_NEVER)
				cron_tz_local(tz, w, &l);
		}
		cron_tz_local(tz, t, &l);
		if (cron_parse("30 1 * * *", &c, err, sizeof(err)) == 0)
			(void)cron_next(&c, tz, t);
		cron_tz_free(tz);
	}
	unsetenv("TZ");
	unlink(path);
	return 0;
}
