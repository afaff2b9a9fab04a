/* SPDX-License-Identifier: MIT */
/*
 * The programme planner: turns the schedule (schedule.h) into engine items
 * a few seconds ahead of time, so that each segment's source is open and
 * decoded before its first sample is due, and the engine can switch at the
 * exact frame. It also logs what the engine did (segment started, ended,
 * failed and fell back to live), publishes the next segments in stats,
 * and carries out control requests (play now, skip, live title).
 *
 * Threads: main thread only.
 */
#ifndef RELAY_PROGRAMME_H
#define RELAY_PROGRAMME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "schedule.h"
#include "util.h"

/* How far ahead sources are opened. */
#define PROGRAMME_PREROLL_NS (3 * NS_PER_SEC)

struct programme;

/* Loads cfg's schedule (if any). Owned: programme_free(). NULL with err
 * "FILE:LINE: [segment x] key: ..." when the schedule has an error. */
struct programme *programme_new(
    const struct config *cfg, char *err, size_t errlen);
void programme_free(struct programme *p);

/* Attaches the engine items go to (borrowed). */
void programme_attach(struct programme *p, struct engine *e);

/* Replaces the schedule by cfg's. On error nothing changes and err is
 * filled. Items handed to the engine whose segment and time the new
 * schedule keeps stay as they are; changed ones waiting are dropped and
 * re-planned; a changed one on air plays to its end. summary (may be
 * NULL) says what happened ("schedule: 3 segment(s), 2 planned item(s)
 * kept, ..."). */
RELAY_MUST_CHECK int programme_reload(struct programme *p,
    const struct config *cfg, char *err, size_t errlen, char *summary,
    size_t summary_len);

/* Plans, logs engine events, publishes next[]. Call when the engine
 * signals (wakeup.h), at programme_next_wall_ns(), and at least once a
 * second. */
void programme_tick(struct programme *p, int64_t now_wall_ns);

/* The wall time by which programme_tick() must run again: the moment the
 * next occurrence, or what a control-API segment holds off the air,
 * enters the planner's look-ahead (its start, or the hold's end, minus
 * PROGRAMME_PREROLL_NS), or the next publication of next[], whichever
 * comes first. A window an overlap narrows is planned at the next tick
 * after it enters: the caller's once-a-second floor covers it. */
int64_t programme_next_wall_ns(const struct programme *p, int64_t now_wall_ns);

/* A segment requested through the control API (breaking news). */
/* The priority of an API segment that does not give one: above any
 * scheduled segment that keeps the default 0. */
#define PROGRAMME_API_PRIORITY 100
/* The shortest API segment: the schedule's shortest. */
#define PROGRAMME_API_MIN_NS SCHEDULE_DURATION_MIN_NS

struct programme_request {
	enum schedule_source kind; /* file, playlist, stream, tone, silence,
				      live */
	const char *name;	   /* for logs and /api/status; NULL: "api" */
	int priority;		   /* when has_priority */
	bool has_priority;
	const char *path;
	const char *url;
	const char *title;
	const char *artist;
	int64_t at_wall_ns;  /* 0: now */
	int64_t duration_ns; /* 0: the file's length (file only) */
	double frequency_hz;
	double level_dbfs;
};

/* Before engine_skip(): when the control-API segment on air holds a
 * scheduled segment's open window off the air, plans the rest of that
 * window to follow it at once (the engine hands over to it at the skip,
 * no live between) and returns the segment's name; NULL when live will
 * follow. */
const char *programme_skip(struct programme *p, int64_t now);

/* What a request withdrawn by programme_withdraw_waiting() says (log, and
 * its reason after "never aired: "). */
#define PROGRAMME_WITHDRAWN_BY_SKIP                                            \
	"withdrawn through the control API (POST /api/skip) while its "        \
	"source had no audio yet"

/* The most requests one skip can withdraw: every item handed to the
 * engine and not on air. */
#define PROGRAMME_MAX_WITHDRAWN (ENGINE_MAX_PENDING + 4)

/* A request programme_withdraw_waiting() withdrew. */
struct programme_withdrawn {
	uint64_t request_id;
	char segment[128]; /* its segment's name */
};

/* POST /api/skip with no segment on air: withdraws every control-API
 * request that is due but not on air yet (a "play now", or one whose `at`
 * has come, whose source, a feed still connecting, has no audio yet
 * within [schedule] start_grace), so it never airs; its request ends
 * done. A request whose `at` is still ahead is left. Returns how many,
 * each in out[] (room for PROGRAMME_MAX_WITHDRAWN), by request id (oldest
 * first). 0
 * when none waits (or each started meanwhile). */
size_t programme_withdraw_waiting(
    struct programme *p, int64_t now, struct programme_withdrawn *out);

/* Queues req in the engine and returns its request id in *id (followed
 * in /api/status "requests"). Scheduled segments of lower priority wait
 * for its end and then play the rest of their windows. 0 or negative
 * errno with err filled ("...: cannot open: No such file or directory"). */
RELAY_MUST_CHECK int programme_play(struct programme *p,
    const struct programme_request *req, uint64_t *id, char *err,
    size_t errlen);

/* The loaded schedule (borrowed; NULL when none). */
const struct schedule *programme_schedule(const struct programme *p);

/* Probes the length of every file segment whose duration is unknown and
 * records it; logs (when log_failures) the ones that cannot be read. */
void programme_probe_files(struct schedule *s, bool log_failures);

#endif
