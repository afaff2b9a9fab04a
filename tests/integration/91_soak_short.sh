#!/usr/bin/env bash
# serial: soak: measures growth under load
# SPDX-License-Identifier: MIT
#
# 91 a 1-minute soak (tests/soak.sh; make soak SOAK_MINUTES=N for longer):
# status polling, control calls, reloads and an Icecast restart while
# streaming; RSS flat, stream clock on the wall clock, no gap in the file
# output.
#
# timeout: 140

SOAK_MINUTES=${SOAK_MINUTES:-1} exec bash "$(dirname "$0")/../soak.sh"
