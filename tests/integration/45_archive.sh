#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# timeout: 60
#
# 45 archive: a 1 kHz tone goes to Icecast, to an archive rotating every
# 2 s (path with strftime fields and directories, timezone = UTC) and to a
# plain file (rotate = none) of the same encoding. Icecast is killed in the
# middle. After SIGTERM:
# - every archive file passes ogginfo with no warning (BOS and headers
#   first, EOS last) and holds one logical stream;
# - decoded with libvorbisfile (oggdec) and joined, the files are the plain
#   recording sample for sample and end where it ends within one Vorbis
#   block: no sample lost or doubled at a boundary; the tone's phase is
#   continuous across every boundary (tests/tools/archive_check.py);
# - each file but the first and last lasts the 2 s period within a block
#   and a packet (3072 frames; tests/tools/archive_check.py says why);
# - the archive is as long as relay ran: killing Icecast cost it nothing;
# - /api/status and /metrics showed the file being written and the count.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
ice=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sport=$(free_port) || fail "no free port for the status server"

cat >"$T/relay.conf" <<EOF2
[input]
type = tone
frequency = 1000

[encoding main]
quality = 4

[output live]
host = 127.0.0.1
port = $ice
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
reconnect_min = 0.5s
reconnect_max = 1s

[output archive]
type = file
path = $T/archive/%Y/%m/%d/%H%M%S.ogg
rotate = 2s
timezone = UTC

[output plain]
type = file
path = $T/plain.ogg

[status]
listen = 127.0.0.1:$sport
EOF2

status() { curl -sf --max-time 3 "http://127.0.0.1:$sport/api/status"; }

start_relay "$T/relay.conf"
wait_mount "$ice" /live.ogg
start=$(now)
sleep 2.5
stop_icecast a KILL
wait_for -t 10 -m "relay to notice icecast is gone" \
    log_has 'out\[live\].*(reconnecting|retrying)' ||
    fail "relay never noticed the killed icecast"
sleep 4
relay_alive || fail "relay exited"

status >"$T/status.json" || fail "GET /api/status failed"
jq -e '(.outputs[] | select(.name == "live") | .connected == false)
    and (.outputs[] | select(.name == "archive")
        | .connected and .archive.files_written >= 3
        and (.archive.file | test("/archive/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{6}(-[0-9]+)?\\.ogg$"))
        and .archive.errors == 0 and .archive.rotate_s == 2
        and .archive.keep_s == null)
    and (.outputs[] | select(.name == "live") | .archive == null)' \
    "$T/status.json" >/dev/null ||
    fail "unexpected /api/status: $(jq -c '.outputs' "$T/status.json")"
problems=$(jq -c -f "$(dirname "$0")/../tools/status_schema.jq" \
    <"$T/status.json") || fail "jq could not read /api/status"
[[ $problems == "[]" ]] || fail "schema: $problems"
curl -sf --max-time 3 "http://127.0.0.1:$sport/metrics" >"$T/metrics" ||
    fail "GET /metrics failed"
grep -qE '^relay_archive_files_total\{output="archive"\} ([3-9]|[1-9][0-9])' \
    "$T/metrics" || fail "metrics: $(grep relay_archive_files "$T/metrics")"
grep -qE '^relay_archive_errors_total\{output="archive"\} 0$' "$T/metrics" ||
    fail "metrics: $(grep relay_archive_errors "$T/metrics")"

ran=$(elapsed_since "$start")
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

mapfile -t files < <(find "$T/archive" -type f -name '*.ogg' | sort)
((${#files[@]} >= 5)) || fail "${#files[@]} archive files (want >= 5): ${files[*]}"
note "${#files[@]} archive files in $ran s"
raws=()
for f in "${files[@]}"; do
	rc=0
	ogginfo "$f" >"$f.ogginfo" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]] || grep -qiE 'warning|error|hole|corrupt' "$f.ogginfo"; then
		fail "$f is not a clean Ogg file (ogginfo exit $rc):" \
		    "$(grep -iE 'warning|error|hole|corrupt' "$f.ogginfo" | head -3)"
	fi
	n=$(grep -c 'New logical stream' "$f.ogginfo") || true
	[[ $n -eq 1 ]] || fail "$f: $n logical streams (want 1)"
	oggdec -Q -R -o "$f.raw" "$f" || fail "oggdec cannot decode $f"
	raws+=("$f.raw")
done
oggdec -Q -R -o "$T/plain.raw" "$T/plain.ogg" || fail "oggdec: plain.ogg"
python3 "$(dirname "$0")/../tools/archive_check.py" --freq 1000 \
    --rate 44100 --channels 2 --plain "$T/plain.raw" --rotate 2 \
    "${raws[@]}" >"$T/check.txt" 2>&1 ||
    fail "archive check: $(grep FAIL "$T/check.txt" | head -3)"
note "$(head -3 "$T/check.txt" | tr '\n' ' ')"
total=$(awk '/^files:/ { gsub(/[()]/, ""); print $(NF-1) }' "$T/check.txt")
# From the mount going live to SIGTERM; the archive started before that.
assert_between "$total" "$(awk -v r="$ran" 'BEGIN { print r - 0.5 }')" \
    "$(awk -v r="$ran" 'BEGIN { print r + 5 }')" "archived seconds"
