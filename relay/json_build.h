/* SPDX-License-Identifier: MIT */
/*
 * Small cJSON builders shared by the JSON documents (status_json.c,
 * history.c). Every helper takes ownership of item: on any failure (NULL
 * item, OOM) it deletes item and clears ctx->ok, so a builder runs to the
 * end and checks ok once. Texts are cleaned of control characters and
 * bad UTF-8 (util_sanitize_text), times are ISO 8601 UTC, and numbers
 * never NaN or infinite.
 *
 * Threads: pure functions on the caller's objects; any thread.
 */
#ifndef RELAY_JSON_BUILD_H
#define RELAY_JSON_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct jctx {
	bool ok;
};

void jadd(struct jctx *j, cJSON *obj, const char *key, cJSON *item);
void jpush(struct jctx *j, cJSON *arr, cJSON *item);
/* A text; NULL counts as "". */
cJSON *jtext(const char *s);
/* null for NULL or "". */
cJSON *jtext_or_null(const char *s);
/* null for wall_ns <= 0. */
cJSON *jtime(int64_t wall_ns);
/* The same with milliseconds ("2026-11-30T06:05:01.250Z"): log and
 * history events, where the order of things within a second matters. */
cJSON *jtime_ms(int64_t wall_ns);
/* One decimal; below floor_value, NaN or infinite: floor_value. */
cJSON *jtenths(double v, double floor_value);
cJSON *jcount(uint64_t v);
/* Two decimals (seconds to 10 ms); NaN or infinite: 0. */
cJSON *jhundredths(double v);

#endif
