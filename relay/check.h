/* SPDX-License-Identifier: MIT */
/*
 * relay --check beyond parsing: what config_load() cannot know without
 * touching the machine. Every encoding is trial-initialised with
 * libvorbisenc (it refuses some rate/channel/bitrate combinations the key
 * table cannot express), the input file is opened, and every schedule
 * segment's file or playlist is looked at, and TLS certificates (client
 * certificate, CA files) that expire within 14 days draw warnings, and
 * so does a password of fewer than 4 characters (config_short_password()). A
 * systemd ExecStartPre= can then trust it: exit 0 means relay will start.
 *
 * Threads: main thread (before anything starts).
 */
#ifndef RELAY_CHECK_H
#define RELAY_CHECK_H

#include <stdio.h>

#include "config.h"
#include "schedule.h"

/*
 * Runs the checks on cfg and s (NULL: no schedule). Errors (relay would
 * not start) and warnings (a segment would be skipped) go to errs, one
 * line each, "FILE:LINE: [section NAME] key: what is wrong". Returns the
 * number of errors; warnings are counted in *n_warnings (may be NULL).
 */
int check_run(const struct config *cfg, const struct schedule *s, FILE *errs,
    int *n_warnings);

#endif
