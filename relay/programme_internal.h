/* SPDX-License-Identifier: MIT */
/*
 * What programme.c (the planner) and programme_request.c (control-API
 * requests) share: the planner's state and the steps both take. Not for
 * other modules (programme.h is the interface).
 */
#ifndef RELAY_PROGRAMME_INTERNAL_H
#define RELAY_PROGRAMME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "programme.h"
#include "schedule.h"
#include "source.h"
#include "stats.h"
#include "tls.h"

#define MOD "programme"
#define PLANNED_MAX 64
#define HANDED_MAX (ENGINE_MAX_PENDING + 4)
_Static_assert(HANDED_MAX <= PROGRAMME_MAX_WITHDRAWN,
    "a skip can withdraw every handed item");
#define HOLDS_MAX 8
/* Times the engine reports are frames turned back into wall time: an item
 * that started or ended "at T" may read up to a frame off T. Closer than
 * this is on time (a frame is 125 us even at 8 kHz). */
#define PROGRAMME_CLOCK_SLACK_NS NS_PER_MS
/* API items' keys: the request id with the top bit set (planner keys are
 * hashes; a clash needs 2^63 requests). */
#define API_KEY_BIT (1ull << 63)
#define API_KEY(id) ((uint64_t)(id) | API_KEY_BIT)

/* An item handed to the engine and not yet over. */
struct handed {
	uint64_t key;
	uint64_t fp; /* segment fingerprint; 0 for API items */
	char segment[128];
	int64_t start_wall_ns, end_wall_ns;
	int priority;
	bool on_air;
	bool floating;	     /* API "now": its end follows its real start */
	int64_t aired_at_ns; /* when it went on air (STARTED) */
	uint64_t request_id; /* API items; 0 for scheduled ones */
	bool withdrawn; /* programme_withdraw_waiting(): done, not failed */
};

/* A window the schedule must leave alone (see DESIGN). */
struct hold {
	bool used;
	bool by_name;	/* segment on air across a reload: holds its name */
	char name[128]; /* by_name */
	int priority;	/* !by_name: holds lower priorities */
	int64_t from_wall_ns, until_wall_ns;
	uint64_t key; /* the holding item: its end shrinks the hold */
	uint64_t resume_keys[4]; /* items planned after it */
	size_t n_resume;
	/* Its item ended before until: until is now that end, and the next
	 * planning pass plans what it held from there, then lets it go. */
	bool ended;
};

struct programme {
	struct schedule *schedule;
	struct engine *engine;
	uint64_t planned[PLANNED_MAX]; /* keys handed over or skipped */
	size_t planned_next;
	int64_t next_published_ns;
	struct handed handed[HANDED_MAX];
	struct hold holds[HOLDS_MAX];
	struct stats_request requests[STATS_MAX_REQUESTS]; /* newest first */
	size_t n_requests;
	uint64_t next_request_id;
	struct tls_config feed_tls; /* [tls], for https stream sources */
};

/* Records an item handed to the engine (fp: its segment's fingerprint,
 * 0 for a request; request_id: 0 for a scheduled one). */
void programme_handed_add(struct programme *p, const struct engine_item *it,
    uint64_t fp, uint64_t request_id);

/* A hold slot, cleared and marked used (a free one, or one whose window
 * is over); NULL when all HOLDS_MAX still hold. */
struct hold *programme_hold_add(struct programme *p);

/* Whether hold h keeps segment seg (index i) off the air. */
bool programme_hold_applies(
    const struct hold *h, const struct schedule_segment *seg);

/* The item holding hd ended before the hold did, at until: the hold
 * shrinks to it, and is let go once that pass has planned past it. */
void programme_hold_end_early(
    struct programme *p, struct hold *hd, int64_t until, const char *why);

/* An engine item's segment name, title, artist and source kind. */
void programme_fill_item_texts(struct engine_item *it, const char *segment,
    const char *title, const char *artist, enum schedule_source kind);

/* Opens spec's source in the engine's programme format into it->src
 * (NULL for the live input). 0, or -EINVAL with err filled. */
int programme_open_source(struct programme *p, const struct source_spec *spec,
    struct engine_item *it, char *err, size_t errlen);

/* engine_drop_pending() filter: the item whose key is *arg. */
bool programme_drop_by_key(const struct engine_item *it, void *arg);

#endif
