#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 50 listen-back, healthy and frozen: relay streams a tone to /live.ogg
# with listenback = yes. It must report what a listener hears: state ok,
# audio arriving, our own pages, a level near the tone's, and a lag
# between 0 and 2 s measured after Icecast's burst. Then icecast is frozen
# (SIGSTOP): within listenback_timeout (2 s) + a margin, listen-back says
# no audio, flags the output, /api/status on_air turns false and /metrics
# shows it, with one warn line. After SIGCONT it hears our audio again
# (on_air true) and logs that once. relay status shows it too.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440
level_dbfs = -12

[encoding main]
quality = 2

$(icecast_output main /live.ogg "$LISTENBACK_KEYS")
stall_timeout = 30s
on_listenback = "$T/hook.sh" "two words"

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF

# The hook appends its argument and the event to hook.log.
cat >"$T/hook.sh" <<'HOOK'
#!/bin/sh
echo "$1|$RELAY_EVENT|$RELAY_OUTPUT|$RELAY_STATE|$RELAY_STATION|$RELAY_SINCE|$RELAY_REASON" >>"${0%/*}/hook.log"
HOOK
chmod +x "$T/hook.sh"

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
lb() { status_json | jq -r ".outputs[0].listenback.$1"; }
lb_state_is() { [[ $(lb state 2>/dev/null) == "$1" ]]; }
lag_measured() { [[ $(lb lag_ms 2>/dev/null) =~ ^[0-9]+$ ]]; }
on_air_is() { [[ $(status_json | jq -r .on_air 2>/dev/null) == "$1" ]]; }

start_relay "$T/relay.conf"
wait_for -t 15 -m "listen-back ok" lb_state_is ok ||
    fail "listen-back never reported ok: $(status_json | jq -c .outputs[0].listenback)"
wait_for -t 5 -m "a measured lag" lag_measured ||
    fail "no lag measured: $(status_json | jq -c .outputs[0].listenback)"
doc=$(status_json)
note "healthy: $(jq -c .outputs[0].listenback <<<"$doc")"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$doc") ||
    fail "status_schema.jq failed"
[[ $problems == "[]" ]] || fail "schema: $problems"
[[ $(jq -r .on_air_rule <<<"$doc") == listenback ]] || fail "on_air_rule is not listenback"
[[ $(jq -r .on_air <<<"$doc") == true ]] || fail "on_air false while listeners hear audio"
[[ $(jq -r .outputs[0].listenback.audio <<<"$doc") == true ]] || fail "audio false"
[[ $(jq -r .outputs[0].listenback.ours <<<"$doc") == true ]] || fail "ours false"
[[ $(jq -r .outputs[0].listenback.flagged <<<"$doc") == false ]] || fail "flagged"
assert_between "$(jq -r .outputs[0].listenback.lag_ms <<<"$doc")" 0 2000 "lag_ms"
# The tone peaks at -12 dBFS; a Vorbis round trip stays within ~1 dB.
assert_between "$(jq -r .outputs[0].listenback.peak_dbfs <<<"$doc")" -14 -10 "peak_dbfs"
assert_between "$(jq -r .outputs[0].listenback.silent_s <<<"$doc")" 0 0.5 "silent_s"
metrics=$(curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics")
grep -q '^relay_listenback_audio{output="main"} 1$' <<<"$metrics" ||
    fail "metrics: relay_listenback_audio not 1"
grep -q '^relay_listenback_flagged{output="main"} 0$' <<<"$metrics" ||
    fail "metrics: relay_listenback_flagged not 0"
grep -Eq '^relay_listenback_lag_seconds\{output="main"\} [0-9.e-]+$' <<<"$metrics" ||
    fail "metrics: no relay_listenback_lag_seconds"
# The Listen Live page's operator notes.
# (The page is read whole first: grep -q would close the pipe early and
# pipefail would count curl's broken pipe as a failure.)
page=$(curl -sf --max-time 2 "http://127.0.0.1:$status_port/")
grep -q 'id="ops-listenback-text" dir="auto">main: heard' <<<"$page" ||
    fail "the page's operator notes do not say main is heard"
log_count 'listen\[main\].*listeners hear our audio' | grep -qx 1 ||
    fail "expected one 'listeners hear our audio' line"

# Frozen server: the source side still looks connected for stall_timeout.
log_mark
pause_icecast a
frozen_at=$(now)
wait_for -t 5 -m "listen-back no_audio" lb_state_is no_audio ||
    fail "a frozen server was not flagged: $(status_json | jq -c .outputs[0].listenback)"
took=$(elapsed_since "$frozen_at")
note "flagged after $took s"
doc=$(status_json)
[[ $(jq -r .on_air <<<"$doc") == false ]] || fail "on_air true while frozen"
# The point: the source side still looks healthy (stall_timeout 30 s).
[[ $(jq -r .outputs[0].connected <<<"$doc") == true ]] ||
    fail "the output already dropped; the test shows nothing"
[[ $(jq -r .outputs[0].listenback.audio <<<"$doc") == false ]] || fail "audio true while frozen"
[[ $(jq -r .outputs[0].listenback.flagged <<<"$doc") == true ]] || fail "not flagged while frozen"
curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics" |
    grep '^relay_listenback_flagged{output="main"} 1$' >/dev/null ||
    fail "metrics: relay_listenback_flagged not 1 while frozen"
log_since 'warn listen\[main\].*no audio reaches listeners' ||
    fail "no warn line for the frozen server"
curl -sf --max-time 2 "http://127.0.0.1:$status_port/" |
    grep 'main: NO AUDIO reaches listeners' >/dev/null ||
    fail "the page's operator notes do not flag main"
# relay status: exit 1 (off air), and says why.
rs_rc=0
"$RELAY" status -c "$T/relay.conf" >"$T/rs.out" 2>&1 || rs_rc=$?
[[ $rs_rc -eq 1 ]] || fail "relay status exited $rs_rc while frozen: $(cat "$T/rs.out")"
grep -q 'listen-back no_audio' "$T/rs.out" ||
    fail "relay status does not show listen-back: $(cat "$T/rs.out")"
grep -q 'Off air because listeners do not hear us: main: no_audio' "$T/rs.out" ||
    fail "relay status does not say why: $(cat "$T/rs.out")"
# on_listenback ran once for the flag (a healthy start ran nothing).
wait_for -t 3 -m "the on_listenback hook" test -s "$T/hook.log" ||
    fail "on_listenback did not run when the mount was flagged"
[[ $(wc -l <"$T/hook.log") -eq 1 ]] || fail "hook runs: $(cat "$T/hook.log")"
grep -Eq '^two words\|listenback_flagged\|main\|no_audio\|relay\|[0-9]{4}-[^|]*\|no audio reaches listeners \(' "$T/hook.log" ||
    fail "hook environment: $(cat "$T/hook.log")"

resume_icecast a
resumed_at=$(now)
wait_for -t 15 -m "listen-back ok again" lb_state_is ok ||
    fail "listen-back did not recover: $(status_json | jq -c .outputs[0].listenback)"
note "ok again $(elapsed_since "$resumed_at") s after SIGCONT"
wait_for -t 3 -m "on_air true" on_air_is true || fail "on_air stayed false"
[[ $(log_count_since 'no audio reaches listeners') -eq 1 ]] ||
    fail "the no-audio change was logged $(log_count_since 'no audio reaches listeners') times"
log_since 'listen\[main\].*listeners hear our audio again' ||
    fail "no line for the recovery"
wait_for -t 3 -m "the recovery hook" grep -q '|listenback_ok|main|ok|' "$T/hook.log" ||
    fail "on_listenback did not run for the recovery: $(cat "$T/hook.log")"
# The recovery's reason is the recovery, not the failure before it.
grep -q '|listenback_ok|main|ok|.*|listeners hear our audio again$' "$T/hook.log" ||
    fail "RELAY_REASON of the recovery: $(cat "$T/hook.log")"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
