#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 82 an Ogg Opus mount (metadata = chain) across an Icecast restart and a
# title change. After the restart relay reconnects by itself and its new
# source stream is a valid Ogg Opus chain cut from the running programme:
# OpusHead with 80 ms of pre-roll as pre-skip, granules that start at its
# packets, clean for opusinfo and decoded by ffmpeg. A title change (POST
# /api/metadata) reaches a listener who stays connected as a second chain
# (EOS, then a new BOS with OpusTags TITLE=Traffic and pre-roll), and a
# listener who joins afterwards gets the new title (ffprobe).
#
# timeout: 45

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v opusinfo >/dev/null || skip "opusinfo (opus-tools) is not installed"
start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"
TOKEN=$(random_secret)
export RELAY_TEST_CONTROL_TOKEN=$TOKEN

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 500
level_dbfs = -14
title = Studio
[encoding op]
codec = opus
channels = 2
[output ice]
port = $port
mount = /live.opus
password = ${ICE_PASSWORD[a]}
encoding = op
metadata = chain
reconnect_min = 0.2s
reconnect_max = 1s
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
poll_icecast = off
CONF

# check_opus FILE MIN_STREAMS: opusinfo and our Ogg reader find no fault
# (a cut capture lacks EOS, nothing else), ffmpeg decodes the tone.
check_opus()
{
	local f=$1 n
	[[ -s $f ]] || fail "$f: capture is empty"
	opusinfo "$f" >"$f.opusinfo" 2>&1 || true
	grep -q 'type opus' "$f.opusinfo" ||
	    fail "$f: opusinfo finds no Opus stream: $(head -c 300 "$f.opusinfo")"
	# Icecast starts a listener at a recent page after the headers: opusinfo
	# calls that a gap "normal for live streams" and then a discontinuity
	# of the granule count. Any other complaint is ours.
	awk 'tolower($0) ~ /warning|error|hole|corrupt/ {
		if ($0 ~ /normal for live streams/) { gap = ($0 ~ /gap/); next }
		if (gap && $0 ~ /discontinuity/) { gap = 0; next }
		print; bad = 1
	} END { exit bad }' "$f.opusinfo" >"$f.complaints" ||
	    fail "$f: opusinfo: $(head -3 "$f.complaints")"
	python3 "$TOPDIR/tests/tools/ogg_streams.py" "$f" >"$f.streams" ||
	    fail "$f: $(grep ERROR "$f.streams" | head -3)"
	n=$(wc -l <"$f.streams")
	assert_between "$n" "$2" 10 "$f: logical streams"
	ffmpeg -nostdin -v error -i "$f" -f s16le -acodec pcm_s16le -ar 48000 \
	    -ac 2 -y "$f.s16le" 2>"$f.ffmpeg.log" ||
	    fail "$f: ffmpeg cannot decode it: $(head -3 "$f.ffmpeg.log")"
	read -r freq _ _ < <(audio_stats "$f.s16le" 48000 2) ||
	    fail "$f: cannot analyse"
	assert_between "$freq" 480 520 "$f: frequency (Hz)"
}

probe_title()
{
	ffprobe -v error -show_entries format_tags=title:stream_tags=title \
	    -of default=nw=1:nk=1 "$1" 2>/dev/null | head -n 1
}

start_relay "$T/relay.conf"
wait_mount "$port" /live.opus
listen "http://127.0.0.1:$port/live.opus" 2 "$T/first.opus" ||
    fail "first listener failed"
check_opus "$T/first.opus" 1
[[ $(probe_title "$T/first.opus") == Studio ]] ||
    fail "first capture title: '$(probe_title "$T/first.opus")'"

# --- Icecast restarts: relay reconnects on a fresh chain ------------------
log_mark
stop_icecast a
start_icecast a
wait_mount "$port" /live.opus 20
log_since 'live.opus: connected' || fail "no reconnection logged"
listen "http://127.0.0.1:$port/live.opus" 2 "$T/after_restart.opus" ||
    fail "listener after the restart failed"
check_opus "$T/after_restart.opus" 1
# Cut from the running encoder: pre-roll, not the encoder's lookahead.
head -n 1 "$T/after_restart.opus.streams" | grep -q 'preskip=3840 ' ||
    fail "stream after the restart: $(head -n 1 "$T/after_restart.opus.streams")"

# --- Title change while a listener stays connected ------------------------
listen_bg "http://127.0.0.1:$port/live.opus" 4 "$T/across.opus"
across=$LISTEN_PID
wait_for -t 5 -m "the listener to receive audio" size_at_least \
    "$T/across.opus" 8000 || fail "the listener got no audio"
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{"title":"Traffic","artist":"Desk"}' \
    "http://127.0.0.1:$status_port/api/metadata") || true
[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/body")"
listen_wait "$across" || fail "listener across the title change failed"
check_opus "$T/across.opus" 2
grep -q 'title=Studio$' "$T/across.opus.streams" ||
    fail "no Studio chain: $(cat "$T/across.opus.streams")"
new=$(grep 'title=Traffic$' "$T/across.opus.streams" | head -n 1)
[[ -n $new ]] || fail "no Traffic chain: $(cat "$T/across.opus.streams")"
grep -q ' eos=1 .*title=Studio$' "$T/across.opus.streams" ||
    fail "the Studio chain did not end with EOS: $(cat "$T/across.opus.streams")"
grep -q ' bos=1 ' <<<"$new" || fail "the Traffic chain has no BOS: $new"
pre=$(sed -n 's/.* preskip=\([0-9]*\) .*/\1/p' <<<"$new")
assert_between "$pre" 3840 4800 "pre-roll of the Traffic chain (samples)"

listen "http://127.0.0.1:$port/live.opus" 2 "$T/late.opus" ||
    fail "late listener failed"
check_opus "$T/late.opus" 1
[[ $(probe_title "$T/late.opus") == Traffic ]] ||
    fail "late listener's title: '$(probe_title "$T/late.opus")'"
relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
