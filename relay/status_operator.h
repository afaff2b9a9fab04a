/* SPDX-License-Identifier: MIT */
/*
 * The operator page's first paint (GET /operator): the parts of
 * relay/www/operator.html that show the station's state (the State panel,
 * the item on air and what comes next, the outputs table, the recent
 * warnings from the log ring) rendered from one stats_snapshot into the
 * HTML, so that the page is complete at its load event, without
 * JavaScript and before /api/events says anything. operator.js builds the
 * same elements (same ids, classes, data-* attributes and texts) from each
 * status document and replaces these on its first update. Times are shown
 * in the page's zone ([schedule] timezone, else the server's; op_tz tells
 * the script) rounded to the second, as the script shows them.
 *
 * Threads: functions on a caller's snapshot; any thread (the status
 * server's connection threads call them). Besides the caller's strbuf they
 * allocate a copy of the log ring (freed before return) and load the
 * page's zone (a file under /usr/share/zoneinfo) into the caller's
 * struct status_operator_zone, once per rendering, for the keys that need
 * it.
 */
#ifndef RELAY_STATUS_OPERATOR_H
#define RELAY_STATUS_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "stats.h"
#include "status.h"
#include "strbuf.h"

struct cron_tz;

/* The page's zone for one rendering: zero it before the first
 * status_operator_value() call of a page, which loads it when a key first
 * needs it, and give it to status_operator_zone_done() after the last. */
struct status_operator_zone {
	bool loaded;
	struct cron_tz *tz; /* NULL: UTC */
	const char *name;   /* as the browser is told; borrowed from tz */
};

/* Appends the operator page's value for template key (klen bytes, without
 * the "op_" prefix status_page_render() routes here) to sb: HTML, escaped
 * here. on_air is status_rules_on_air()'s answer for s; zone is this
 * rendering's (see above). Returns false, appending nothing, for a key it
 * does not know. */
bool status_operator_value(struct strbuf *sb, const struct stats_snapshot *s,
    const struct status_settings *set, bool on_air,
    struct status_operator_zone *zone, const char *key, size_t klen);

/* Frees what zone holds; it may be used for another rendering after. */
void status_operator_zone_done(struct status_operator_zone *zone);

#endif
