#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 76 library installed later: relay starts with a file input while
# libsndfile.so.1 cannot be loaded (an empty file of that name first in
# LD_LIBRARY_PATH, as a broken or half-installed package would be). The
# mount stays up with silence and the log names the package; once the
# library is there (the file replaced by the real one, as installing
# libsndfile1 would), the input's next retry loads it and the file's
# audio flows, without a restart (docs/troubleshooting.md). Before the
# fix, the first failure was kept for good: "retry in 1 s" retried nothing.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# The cache is read whole first: awk leaving early would kill ldconfig
# with SIGPIPE, which pipefail turns into the script's exit status.
cache=$(ldconfig -p) || fail "ldconfig -p failed"
real=$(awk '$1 == "libsndfile.so.1" && /x86-64|64bit/ {print $NF; exit}' <<<"$cache")
[[ -n $real && -e $real ]] ||
    real=$(awk '$1 == "libsndfile.so.1" {print $NF; exit}' <<<"$cache")
[[ -n $real && -e $real ]] || fail "no libsndfile.so.1 on this system"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sport=$(free_port) || fail "no free port for the status server"

mkdir "$T/lib"
: >"$T/lib/libsndfile.so.1"
sox -n -r 44100 -c 2 -b 16 "$T/in.wav" synth 3 sine 660 gain -6

cat >"$T/relay.conf" <<EOF2
[input]
type = file
path = $T/in.wav
loop = yes

[encoding main]
rate = 44100
channels = 2
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = /later.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$sport
EOF2

status_now() { curl -sf --max-time 2 "http://127.0.0.1:$sport/api/status"; }
flowing() { status_now | jq -e '.input.flowing' >/dev/null; }
refused() { log_has 'libsndfile\.so\.1 cannot be loaded.*libsndfile1'; }

LD_LIBRARY_PATH=$T/lib start_relay "$T/relay.conf"
wait_for -t 10 -m "the load failure in the log" refused ||
    fail "no 'cannot be loaded ... libsndfile1' line in the log"
wait_mount "$port" /later.ogg
# Past the first retries: the failure must not have been kept.
sleep 2.5
flowing && fail "input flowing although libsndfile cannot be loaded"
relay_alive || fail "relay exited while the library was missing"

ln -sf "$real" "$T/lib/libsndfile.so.1"
wait_for -t 15 -m "the file input to flow once libsndfile is there" flowing ||
    fail "input never flowed after libsndfile appeared: $(status_now | jq -c .input)"
mount_live "$port" /later.ogg || fail "the mount went away"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
