#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 15 faults a station meets, against a real icecast2, with a listener
# recording throughout:
#  - an output whose host does not resolve: one clear log line, retried,
#    the other output streams on;
#  - a mount already taken by another source: a clear log line, retried
#    until the other source goes, then streaming;
#  - 1,000 SIGHUPs in quick succession: the listener's stream stays one
#    Ogg chain with no audio lost;
#  - 1,000 control calls: every one answered 200, nothing lost;
#  - the file playing as a segment is deleted: it plays on to its end
#    (the open file stays readable) and its request is "done".
#
# timeout: 180

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
control_api_setup

# Another source holds /taken.ogg first.
cat >"$T/squatter.conf" <<EOF
[input]
type = tone
frequency = 300
[output s]
port = $port
mount = /taken.ogg
password = ${ICE_PASSWORD[a]}
[status]
listen = off
EOF
"$RELAY" -c "$T/squatter.conf" >"$T/squatter.log" 2>&1 &
squatter=$!
BG_PIDS+=("$squatter")
wait_mount "$port" /taken.ogg 10

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 440
channels = 1
[encoding e]
channels = 1
quality = 1
[output main]
port = $port
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
metadata = none
[output nowhere]
host = no-such-host.invalid
port = $port
mount = /nowhere.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
reconnect_min = 500ms
reconnect_max = 2s
[output taken]
port = $port
mount = /taken.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
reconnect_min = 500ms
reconnect_max = 1s
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
media_dirs = $T/media
EOF
mkdir -p "$T/media"
sox -n -r 44100 -c 1 -b 16 "$T/media/feature.wav" synth 5 sine 700 vol 0.3 \
    2>/dev/null || fail "sox failed"
start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
# curl's own time limit is only a backstop: the test stops the listener
# itself, and a sanitizer build on a loaded machine takes minutes over the
# 1,000 calls below (150 s once cut the listener there: a false "cut").
listen_bg "http://127.0.0.1:$port/live.ogg" 900 "$T/live.ogg"
listener=$LISTEN_PID
listen_start=$(now)
wait_for -t 10 -m "audio on the listener" has_seconds "$T/live.ogg" 1 ||
    fail "the listener gets no audio"

# Unresolvable host: said once (per state), retried, nothing else hurt.
wait_for -t 10 -m "the unresolvable host reported" \
    log_has 'nowhere.*no-such-host\.invalid' ||
    fail "no log line names the unresolvable host"
n=$(log_count 'no-such-host\.invalid')
note "unresolvable host: $n log line(s) so far"

# Mount in use: reported, then taken over once the other source leaves.
wait_for -t 10 -m "the taken mount reported" log_has 'taken.*(in use|busy|already)' ||
    fail "no log line says /taken.ogg is in use: $(relay_lines | grep taken | head -3)"
kill -TERM "$squatter"
wait "$squatter" 2>/dev/null || true
wait_for -t 10 -m "relay on /taken.ogg" log_has 'out\[taken\].*connected' ||
    fail "relay did not take /taken.ogg after the other source left"

# 1,000 SIGHUPs.
for ((i = 0; i < 1000; i++)); do
	kill -HUP "$RELAY_PID" || fail "relay died during the SIGHUP storm"
	((i % 50 == 0)) && sleep 0.05
done
wait_for -t 20 -m "relay to settle" log_has 'main: reloaded' || fail "no reload"
relay_alive || fail "relay died after 1,000 SIGHUPs"
note "1,000 SIGHUPs: $(log_count 'main: reloaded') reload(s) carried out"

# 1,000 control calls.
bad=0
for ((i = 0; i < 1000; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
	    -H "Authorization: Bearer $TOKEN" --data "{\"title\":\"Call $i\"}" \
	    "$URL/api/metadata")
	[[ $code == 200 ]] || bad=$((bad + 1))
done
((bad == 0)) || fail "$bad of 1,000 control calls were not answered 200"
note "1,000 control calls: all 200"

# The file on air is deleted.
status_seg() { curl -sf --max-time 3 "$URL/api/status" | jq -r "$1"; }
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -X POST \
    -H "Authorization: Bearer $TOKEN" \
    --data "{\"source\":\"file\",\"path\":\"$T/media/feature.wav\",\"name\":\"feature\"}" \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
req=$(jq -r .id "$T/body")
feature_on() { [[ $(status_seg '.now.segment // ""') == feature ]]; }
wait_for -t 5 -m "the feature on air" feature_on || fail "the feature never aired"
rm -f "$T/media/feature.wav"
sleep 2
feature_on || fail "deleting the file cut the segment: $(status_seg .now)"
req_done() { [[ $(status_seg ".requests[] | select(.id == $req) | .state") == done ]]; }
wait_for -t 8 -m "request $req done" req_done ||
    fail "request $req: $(status_seg .requests)"
note "a deleted file played on to its end (request $req done)"

relay_alive || fail "relay died"
proc_gone "$listener" && fail "the listener was cut"
kill -TERM "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
wall=$(elapsed_since "$listen_start")
check_vorbis "$T/live.ogg" 44100 1 3
chains=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
[[ $chains -eq 1 ]] || fail "the listener's capture has $chains logical streams"
assert_between "$VORBIS_SECONDS" \
    "$(awk -v w="$wall" 'BEGIN { print w - 2.5 }')" \
    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds over $wall s of listening"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
