#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 51 listen-back, what listeners get is not our programme. Icecast has an
# <alias> that sends listeners of /live.ogg to /other.ogg (a forgotten
# alias, or a backup encoder left on the public mount: the source side of
# relay sees nothing wrong). A second relay, "backup", pushes digital
# silence to /other.ogg.
# - relay "main" streams a tone to /live.ogg: the source is connected and
#   Icecast lists the mount with audio, yet listen-back must report that
#   listeners hear a stream it did not send: state foreign, ours false,
#   flagged, on_air false, relay_listenback_ours 0, one warn line.
# - relay "backup" listens back to its own /other.ogg: its packets are
#   ours, but they are silence, as the programme is: dead air, so state
#   silent after 10 s (the dead-air time without [fallback]), flagged,
#   on_air false.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a --alias /live.ogg /other.ogg
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
backup_port=$(free_port) || fail "no free port"

conf()
{
	cat <<CONF
[input]
type = tone
frequency = $1
level_dbfs = -12

[encoding main]
quality = 2

[output main]
host = 127.0.0.1
port = $port
mount = $2
password_env = RELAY_TEST_SOURCE_PASSWORD
listenback = yes
listenback_timeout = 2s

[status]
listen = 127.0.0.1:$3
poll_icecast = 1s
CONF
}
conf 0 /other.ogg "$backup_port" >"$T/backup.conf"
conf 440 /live.ogg "$status_port" >"$T/relay.conf"

bg "$RELAY" -c "$T/backup.conf" >"$T/backup.log" 2>&1
SANITIZER_FILES+=("$T/backup.log")
wait_mount "$port" /other.ogg
start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$1/api/status"; }
lb_state_is() { [[ $(status_json "$1" | jq -r .outputs[0].listenback.state) == "$2" ]]; }

wait_for -t 10 -m "main: foreign" lb_state_is "$status_port" foreign ||
    fail "listen-back did not see the foreign stream: $(status_json "$status_port" | jq -c .outputs[0].listenback)"
# Listen-back can tell before the poller has seen the mount listed (make
# check once read it 0.5 s after the flag, the poll not yet in): the point
# is that a listed, connected mount that plays another stream is off air.
listed() { [[ $(status_json "$status_port" | jq -r .outputs[0].mount_listed) == true ]]; }
wait_for -t 10 -m "main: listed" listed || fail "the mount is not listed"
doc=$(status_json "$status_port")
note "main: $(jq -c .outputs[0].listenback <<<"$doc")"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$doc") ||
    fail "status_schema.jq failed"
[[ $problems == "[]" ]] || fail "schema: $problems"
[[ $(jq -r .outputs[0].connected <<<"$doc") == true ]] || fail "the source is not connected"
[[ $(jq -r .outputs[0].mount_listed <<<"$doc") == true ]] || fail "the mount is not listed"
[[ $(jq -r .outputs[0].listenback.ours <<<"$doc") == false ]] || fail "ours true"
[[ $(jq -r .outputs[0].listenback.audio <<<"$doc") == true ]] || fail "audio false"
[[ $(jq -r .outputs[0].listenback.flagged <<<"$doc") == true ]] || fail "not flagged"
[[ $(jq -r .on_air <<<"$doc") == false ]] || fail "on_air true while listeners hear another stream"
curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics" |
    grep '^relay_listenback_ours{output="main"} 0$' >/dev/null ||
    fail "metrics: relay_listenback_ours not 0"
[[ $(log_count 'warn listen\[main\].*did not send') -eq 1 ]] ||
    fail "expected one warn line about a stream relay did not send"

wait_for -t 20 -m "backup: silent" lb_state_is "$backup_port" silent ||
    fail "listen-back did not hear the silence: $(status_json "$backup_port" | jq -c .outputs[0].listenback)"
doc=$(status_json "$backup_port")
note "backup: $(jq -c .outputs[0].listenback <<<"$doc")"
[[ $(jq -r .outputs[0].listenback.ours <<<"$doc") == true ]] || fail "backup: ours false"
[[ $(jq -r .outputs[0].listenback.flagged <<<"$doc") == true ]] || fail "backup: not flagged"
assert_between "$(jq -r .outputs[0].listenback.silent_s <<<"$doc")" 10 60 "backup silent_s"
[[ $(jq -r .on_air <<<"$doc") == false ]] || fail "backup: on_air true while silent"
grep -q 'warn listen\[main\].*listeners hear silence' "$T/backup.log" ||
    fail "backup: no warn line about silence"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
