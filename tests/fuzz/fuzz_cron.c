/* SPDX-License-Identifier: MIT */
/* libFuzzer: cron expressions, "at" times, POSIX TZ strings, and the next
 * starts they give. The input is up to three NUL-separated strings. */
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *expr, *tzs, *at, err[256];
	struct cron c;
	struct cron_tz *tz = NULL;
	struct cron_local l;
	int64_t t = INT64_C(1796014800) * NS_PER_SEC;
	size_t n;
	int i;

	text = calloc(size + 3, 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	expr = text;
	n = strlen(expr);
	tzs = expr + n + 1 <= text + size ? expr + n + 1 : text + size + 1;
	at = tzs + strlen(tzs) + 1 <= text + size + 1 ? tzs + strlen(tzs) + 1
						    : text + size + 2;
	if (tzs[0] != '\0') {
		/* The system-zone path reads $TZ (a POSIX TZ string). */
		setenv("TZ", tzs, 1);
		if (cron_tz_load(NULL, &tz, err, sizeof(err)) != 0)
			tz = NULL;
	}
	if (cron_parse(expr, &c, err, sizeof(err)) == 0) {
		for (i = 0; i < 4 && t != CRON_NEVER; i++)
			t = cron_next(&c, tz, t);
	}
	if (cron_parse_at(at, &c, err, sizeof(err)) == 0)
		(void)cron_next(&c, tz, t);
	if (tz != NULL) {
		cron_tz_local(tz, INT64_C(1796014800) * NS_PER_SEC, &l);
		(void)cron_tz_mktime(tz, 2026, 3, 29, 1, 30, 0);
	}
	cron_tz_free(tz);
	unsetenv("TZ");
	free(text);
	return 0;
}
