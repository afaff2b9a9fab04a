/* SPDX-License-Identifier: MIT */
/*
 * The rules every status view applies to a snapshot in the same way: is
 * the station on air, the state's name, is relay healthy, and which URL a
 * listener uses for an output. The JSON, the metrics, the page and the
 * health check all ask here, so they can never disagree.
 *
 * Threads: pure functions on a caller's struct stats_snapshot; any thread.
 * Only status_rules_healthy() allocates, and frees before it returns.
 */
#ifndef RELAY_STATUS_RULES_H
#define RELAY_STATUS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"
#include "status.h"

/* The programme counts as silent, so off air, after this long below the
 * [input] silence_threshold_dbfs: the station's dead-air time
 * (stats_fallback.after_ns: [fallback] after, or without [fallback]
 * CONFIG_DEAD_AIR_DEFAULT_NS), in seconds. */
double status_rules_dead_air_s(const struct stats_snapshot *s);

/* The on-air rule. With listen-back on for any output (see
 * status_rules_listenback()): listeners hear audio, that is at least one
 * listen-back mount reports LISTENBACK_OK (our stream arrives, above the
 * silence threshold). Otherwise: audio above the silence threshold is
 * entering (input flowing, silent for less than
 * status_rules_dead_air_s()) and at least one Icecast output is connected
 * while the poller saw its mount listed within the last 2 *
 * poll_icecast_ns + 5 s. False when the programme is PROGRAMME_OFF_AIR. */
bool status_rules_on_air(
    const struct stats_snapshot *s, int64_t poll_icecast_ns);

/* True when at least one output has listen-back on: on_air then means
 * "listeners hear audio". */
bool status_rules_listenback(const struct stats_snapshot *s);

/* True when at least one listen-back mount reports LISTENBACK_OK. */
bool status_rules_listeners_hear(const struct stats_snapshot *s);

/* "live" | "segment" | "fallback" | "off_air" ("off_air" when !on_air).
 * A static string. */
const char *status_rules_state_name(
    const struct stats_snapshot *s, bool on_air);

/* Health: true when input flows and at least one output is connected;
 * otherwise false with the reasons ("input not flowing; no output
 * connected (main: Connection refused)") in reason. */
bool status_rules_healthy(
    const struct stats_snapshot *s, char *reason, size_t reason_len);

/* Whether output i is a TLS output whose server showed a certificate that
 * expires (or expired) within TLS_EXPIRY_WARN_NS of the snapshot's time. */
bool status_rules_tls_expiring(const struct stats_snapshot *s, size_t i);

/* The first output status_rules_tls_expiring() flags, or -1. */
int status_rules_tls_expiring_first(const struct stats_snapshot *s);

/* The output's last_error is history: it is connected, and has been
 * since the error (the two times compared as shown, to the second, as the
 * operator page's script compares them). false without a last_error. */
bool status_rules_output_error_past(const struct stats_output *o);

/* The listener URL of output i: public_url + mount when set, else the
 * output's own URL. Returns buf, "" for file outputs. set may be NULL. */
char *status_rules_output_url(const struct stats_snapshot *s, size_t i,
    const struct status_settings *set, char *buf, size_t len);

#endif
