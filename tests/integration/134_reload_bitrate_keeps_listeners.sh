#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 134 a reload that changes only an Ogg encoding's bitrate keeps the
# Icecast source connection and so the listeners (found by a station: a
# SIGHUP for 128 -> 160 kbit/s restarted the output, Icecast dropped the
# mount and every listener with it). relay streams a 440 Hz tone as Vorbis
# at 128 kbit/s to /live.ogg (listen-back on) and records an archive of the
# same encoding; a listener (curl) joins before the reload, which changes
# only the bitrate to 160.
# - the log says the output was kept, its encoding continuing in a new
#   chain, and nothing was stopped or started;
# - Icecast's stream_start for the mount, /api/status's connected "since"
#   and reconnects, and listen-back's connects do not change;
# - the listener's curl is still running after the reload, and its one
#   HTTP capture holds two chains: the first at 128 kbit/s nominal, the
#   second at 160 (ogginfo), with no damage;
# - decoded with oggdec (libvorbisfile, chains included), the capture is
#   one unbroken tone: x[n] - 2 cos(w) x[n-1] + x[n-2] stays under 1000
#   LSB everywhere (a gap or a restart from silence is a jump of
#   thousands), and it holds about as many seconds as the listener was
#   connected (curl's 14 s, Icecast's burst added);
# - a listener who joins after the reload gets a valid stream at 160;
# - on a second mount (encoding side, quality 3 -> bitrate 96) with
#   metadata = admin, relay does not ask Icecast
#   (/admin/metadata, in its access log) for the title the new chain
#   already carries: Icecast would re-chain the stream once more for its
#   listeners, or race the chain's headers; that listener's capture also
#   holds two chains;
# - Icecast shows the new nominal bitrate (audio_bitrate 160000, taken
#   from the new chain's header) and /api/status the encoding's 160;
# - listen-back stays ok; the kept connection keeps the ice-audio-info it
#   sent, and once Icecast drops the source (admin killsource) relay's
#   next connection announces bitrate=160; /admin.ogg's encoding went from
#   quality 3 to bitrate 96, and its next connection announces
#   bitrate=96 and no quality;
# - the archive (one file) holds the same two chains, ogginfo finds no
#   error.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
mkdir "$T/archive"

# write_config BITRATE ADMIN_KEY: replaced whole, as an editor would.
write_config()
{
	cat >"$T/relay.conf.new" <<CONF
[input]
type = tone
frequency = 440
level_dbfs = -6

[encoding main]
bitrate = $1

[encoding side]
$2

$(icecast_output live /live.ogg "$LISTENBACK_KEYS"$'\nencoding = main')

$(icecast_output admin /admin.ogg $'metadata = admin\nencoding = side')

[output archive]
type = file
path = $T/archive/a.ogg
encoding = main

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF
	mv "$T/relay.conf.new" "$T/relay.conf"
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
live() { status_json | jq -c '.outputs[] | select(.name == "live")'; }
lb_ok() { [[ $(live | jq -r .listenback.state 2>/dev/null) == ok ]]; }

write_config 128 "quality = 3"
start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg
wait_for -t 15 -m "listen-back ok" lb_ok ||
    fail "listen-back never ok: $(live | jq -c .listenback)"
ice_start=$(ice_field "$port" /live.ogg stream_start_iso8601) ||
    fail "no stream_start for /live.ogg"
[[ -n $ice_start ]] || fail "empty stream_start for /live.ogg"
since=$(live | jq -r .since)
lb_connects=$(live | jq -r .listenback.connects)
[[ $(ice_field "$port" /live.ogg audio_bitrate) == 128000 ]] ||
    fail "Icecast does not show 128 kbit/s before the reload: $(ice_source "$port" /live.ogg)"

listen_secs=14
listen_bg "http://127.0.0.1:$port/live.ogg" "$listen_secs" "$T/old.ogg"
listener=$LISTEN_PID
listen_bg "http://127.0.0.1:$port/admin.ogg" "$listen_secs" "$T/admin.ogg"
admin_listener=$LISTEN_PID
wait_for -t 10 -m "audio on the listener" has_seconds "$T/old.ogg" 1 ||
    fail "the listener gets no audio"
sleep 3

write_config 160 "bitrate = 96"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "the reload" log_since 'reloaded:' ||
    fail "no reload line"
relay_lines "$LOG_MARK" | grep -E 'reload|kept|output' | while read -r l; do
	note "log: $l"
done
sleep 2
proc_gone "$listener" && fail "the listener's connection ended at the reload"
size=$(file_size "$T/old.ogg")
wait_for -t 5 -m "the capture to grow after the reload" \
    size_at_least "$T/old.ogg" $((size + 4000)) ||
    fail "no audio reached the listener after the reload"
log_since '\[output live\]: kept; its encoding \[main\] continues in a new chain on the same connection' ||
    fail "no line saying the output was kept: $(relay_lines "$LOG_MARK" | tail -5)"
log_since '\[output archive\]: kept; its encoding \[main\] continues in a new chain on the same file' ||
    fail "no line saying the archive was kept: $(relay_lines "$LOG_MARK" | tail -5)"
log_since 'reloaded: 3 output\(s\) kept streaming \(3 in a new chain\), 0 started, 0 stopped; 2 encoder\(s\) rebuilt' ||
    fail "the reload restarted outputs: $(relay_lines "$LOG_MARK" | grep reloaded: | tail -1)"

# A listener who joins now gets the new stream, valid from its start.
listen "http://127.0.0.1:$port/live.ogg" 4 "$T/new.ogg" ||
    fail "a new listener after the reload failed"
check_vorbis "$T/new.ogg" 44100 2 2
grep -q 'Nominal bitrate: 160' "$VORBIS_INFO" ||
    fail "the new listener's stream is not at 160 kbit/s: $(grep -i bitrate "$VORBIS_INFO")"
grep -q 'Nominal bitrate: 128' "$VORBIS_INFO" &&
    fail "the new listener got the old headers: $(grep -i bitrate "$VORBIS_INFO")"

listen_wait "$listener" || fail "the listener's curl failed"
ogginfo "$T/old.ogg" >"$T/old.info" 2>&1 || true
if grep -qiE 'hole in data|corrupt|^error|decreases' "$T/old.info"; then
	fail "damaged capture: $(grep -iE 'hole in data|corrupt|^error|decreases' "$T/old.info" | head -3)"
fi
chains=$(grep -c 'New logical stream' "$T/old.info") || true
[[ $chains == 2 ]] || fail "the listener's capture holds $chains chain(s), not 2: $(cat "$T/old.info")"
rates=$(sed -n 's/^[[:space:]]*Nominal bitrate: \([0-9]*\).*/\1/p' "$T/old.info" | tr '\n' ' ')
[[ $rates == "128 160 " ]] || fail "chain bitrates '$rates', not '128 160 '"
# metadata = admin: the new encoder's chain carries the title Icecast
# shows already, and is not asked for again (Icecast would re-chain the
# stream, or race our chain's headers).
listen_wait "$admin_listener" || fail "the /admin.ogg listener's curl failed"
chains=$(ogginfo "$T/admin.ogg" 2>&1 | grep -c 'New logical stream') || true
[[ $chains == 2 ]] || fail "the /admin.ogg capture holds $chains chain(s), not 2"
asked=$(grep -c 'GET /admin/metadata' "${ICE_DIR[a]}/log/access.log") || true
[[ $asked == 0 ]] || fail "relay asked Icecast $asked time(s) for the title the new chain carries"

# One unbroken tone across the join (oggdec restarts cleanly at a chain).
oggdec -Q -o "$T/old.wav" "$T/old.ogg" 2>"$T/oggdec.err" ||
    grep -q . "$T/old.wav" || fail "oggdec cannot decode the capture: $(head -3 "$T/oggdec.err")"
python3 - "$T/old.wav" "$listen_secs" >"$T/click.out" <<'PY' || fail "the listener's audio breaks: $(cat "$T/click.out")"
import math, struct, sys, wave
w = wave.open(sys.argv[1])
rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
pcm = struct.unpack("<%dh" % (n * ch), w.readframes(n))
wall = float(sys.argv[2])
worst = (0, 0, 0)
k = 2 * math.cos(2 * math.pi * 440.0 / rate)
for c in range(ch):
    x = pcm[c::ch]
    for i in range(2, len(x)):
        e = abs(x[i] - k * x[i - 1] + x[i - 2])
        if e > worst[0]:
            worst = (e, c, i)
secs = n / rate
print("%.2f s decoded over %.2f s connected; largest step %.0f LSB "
      "(channel %d, %.4f s)" % (secs, wall, worst[0], worst[1],
                                worst[2] / rate))
# Icecast's burst gives a new listener a few seconds at once; a listener
# cut at the reload would hold a fraction of the time.
ok = worst[0] < 1000 and wall - 1.0 <= secs <= wall + 8.0
sys.exit(0 if ok else 1)
PY
note "$(cat "$T/click.out")"

# Neither Icecast nor relay saw a reconnect; the new rate is shown.
now_start=$(ice_field "$port" /live.ogg stream_start_iso8601) || now_start=
[[ $now_start == "$ice_start" ]] ||
    fail "Icecast restarted the mount: stream_start $ice_start -> $now_start"
[[ $(live | jq -r .since) == "$since" ]] ||
    fail "the output reconnected: since $since -> $(live | jq -r .since)"
[[ $(live | jq -r .reconnects) == 0 ]] ||
    fail "the output counts reconnects: $(live | jq -c .)"
[[ $(ice_field "$port" /live.ogg audio_bitrate) == 160000 ]] ||
    fail "Icecast does not show 160 kbit/s after the reload: $(ice_source "$port" /live.ogg)"
[[ $(status_json | jq -r '.encodings[] | select(.name == "main") | .bitrate') == 160 ]] ||
    fail "/api/status does not show 160: $(status_json | jq -c .encodings)"
wait_for -t 10 -m "listen-back ok after the reload" lb_ok ||
    fail "listen-back not ok after the reload: $(live | jq -c .listenback)"
[[ $(live | jq -r .listenback.connects) == "$lb_connects" ]] ||
    fail "listen-back reconnected: $lb_connects -> $(live | jq -r .listenback.connects)"

# The open connection keeps the ice-audio-info it sent (documented); the
# next one announces the new bitrate. Icecast drops the source: relay
# reconnects with bitrate=160.
info=$(ice_field "$port" /live.ogg audio_info)
note "audio_info on the kept connection: $info"
curl -sf --max-time 3 -u "admin:${ICE_ADMIN_PASSWORD[a]}" \
    "http://127.0.0.1:$port/admin/killsource?mount=/live.ogg" >/dev/null ||
    fail "cannot make Icecast drop the source"
wait_for -t 10 -m "the output to connect again" \
    log_since 'out\[live\]: .*connected again' ||
    fail "the output did not connect again"
wait_mount "$port" /live.ogg
info=$(ice_field "$port" /live.ogg audio_info)
[[ $info == *bitrate=160* ]] ||
    fail "the new connection did not announce 160 kbit/s: audio_info '$info'"
# /admin.ogg went from quality to bitrate: libshout cannot drop the
# quality key, so its next connection starts from a new handle.
curl -sf --max-time 3 -u "admin:${ICE_ADMIN_PASSWORD[a]}" \
    "http://127.0.0.1:$port/admin/killsource?mount=/admin.ogg" >/dev/null ||
    fail "cannot make Icecast drop the /admin.ogg source"
wait_for -t 10 -m "output admin to connect again" \
    log_since 'out\[admin\]: .*connected again' ||
    fail "output admin did not connect again"
wait_mount "$port" /admin.ogg
info=$(ice_field "$port" /admin.ogg audio_info)
[[ $info == *bitrate=96* && $info != *quality* ]] ||
    fail "/admin.ogg's new connection announced '$info', not bitrate=96 alone"

# The archive: the same file goes on in a new chain.
stop_relay
ogginfo "$T/archive/a.ogg" >"$T/arch.info" 2>&1 ||
    fail "ogginfo rejects the archive: $(grep -iE 'error|warn' "$T/arch.info" | head -3)"
chains=$(grep -c 'New logical stream' "$T/arch.info") || true
[[ $chains == 2 ]] || fail "the archive holds $chains chain(s), not 2"
rates=$(sed -n 's/^[[:space:]]*Nominal bitrate: \([0-9]*\).*/\1/p' "$T/arch.info" | tr '\n' ' ')
[[ $rates == "128 160 " ]] || fail "archive chain bitrates '$rates', not '128 160 '"
rm -f "$T"/*.wav "$T"/*.s16le
rm -rf "$T/archive"
