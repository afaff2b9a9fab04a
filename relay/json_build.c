/* SPDX-License-Identifier: MIT */
/* cJSON builders (see json_build.h). */
#include <math.h>

#include "json_build.h"
#include "util.h"

void
jadd(struct jctx *j, cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL || obj == NULL ||
	    !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		j->ok = false;
	}
}

void
jpush(struct jctx *j, cJSON *arr, cJSON *item)
{
	if (item == NULL || arr == NULL || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		j->ok = false;
	}
}

cJSON *
jtext(const char *s)
{
	char clean[1024];

	util_sanitize_text(clean, sizeof(clean), s != NULL ? s : "");
	return cJSON_CreateString(clean);
}

cJSON *
jtext_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return cJSON_CreateNull();
	return jtext(s);
}

cJSON *
jtime(int64_t wall_ns)
{
	char buf[40];

	if (wall_ns <= 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(
	    util_format_iso8601(wall_ns, false, buf, sizeof(buf)));
}

cJSON *
jtime_ms(int64_t wall_ns)
{
	char buf[40];

	if (wall_ns <= 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(
	    util_format_iso8601(wall_ns, true, buf, sizeof(buf)));
}

cJSON *
jtenths(double v, double floor_value)
{
	if (isnan(v) || isinf(v) || v < floor_value)
		v = floor_value;
	return cJSON_CreateNumber(round(v * 10.0) / 10.0);
}

cJSON *
jhundredths(double v)
{
	if (isnan(v) || isinf(v))
		v = 0.0;
	return cJSON_CreateNumber(round(v * 100.0) / 100.0);
}

cJSON *
jcount(uint64_t v)
{
	return cJSON_CreateNumber((double)v);
}
