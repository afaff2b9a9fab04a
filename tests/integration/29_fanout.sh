#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 29 fan-out: one encoding sent to 16 mounts of one icecast2. Every mount
# carries the same audio: the Vorbis packets 16 listeners receive at once
# are the same bytes, in the same order (Icecast re-pages a Vorbis stream,
# so packets, not pages, are compared). And each output thread, with a
# healthy server, wakes about once per page it sends (docs/performance.md,
# fan-out): its voluntary context switches, read from
# /proc/PID/task/TID/status (threads "out[NAME]"), stay under 1.5 per page
# of ~0.5 s. Before, a thread woke at a page's last packet, again at the
# packet after it, and at a 0.5 s timer that fired just before most pages:
# about 2.6 per page. And the pages of one wake-up go out in full 4 KiB
# blocks (output_icecast.c, STAGE_BYTES): beyond bytes / 4096, at most
# ~1.3 sends per page, from each connection's data_segs_out and bytes_sent
# in ss (1.74 when each Ogg page went to libshout on its own).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=16
start_icecast a
pa=${ICE_PORT[a]}
printf '%s\n' "${ICE_PASSWORD[a]}" >"$T/a.pw"
chmod 600 "$T/a.pw"
# Noise, so that no two Vorbis packets are alike (a steady tone repeats
# them, and the comparison below could not align the mounts).
sox -n -r 44100 -c 2 -b 16 "$T/noise.wav" synth 20 pinknoise gain -12

{
	cat <<EOF
[input]
type = file
path = $T/noise.wav
loop = yes

[encoding main]
quality = 2

[status]
listen = off
EOF
	for i in $(seq 1 "$N"); do
		cat <<EOF

[output f$i]
host = 127.0.0.1
port = $pa
mount = /f$i.ogg
password_file = $T/a.pw
encoding = main
EOF
	done
} >"$T/relay.conf"

start_relay "$T/relay.conf"
for i in $(seq 1 "$N"); do
	wait_mount "$pa" "/f$i.ogg"
done

# Voluntary context switches of every output thread (tid comm count).
out_switches()
{
	local d comm
	for d in /proc/"$RELAY_PID"/task/*; do
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		[[ $comm == out\[* ]] || continue
		printf '%s %s %s\n' "${d##*/}" "$comm" \
		    "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$d/status")"
	done
}

# bytes_sent and data_segs_out of each of relay's connections to the
# server (local port, bytes, segments): on loopback each send() is one
# segment (or fewer, never more: 4 KiB against a 64 KiB MSS).
source_sends()
{
	ss -tinpH state established "( dport = :$pa )" 2>/dev/null | awk -v pid="pid=$RELAY_PID," '
		/^ / || /^\t/ { if (keep) { b = s = 0
			if (match($0, /bytes_sent:[0-9]+/)) b = substr($0, RSTART + 11, RLENGTH - 11)
			if (match($0, /data_segs_out:[0-9]+/)) s = substr($0, RSTART + 14, RLENGTH - 14)
			print port, b, s }; keep = 0; next }
		{ keep = index($0, pid) > 0; port = $3; sub(/.*:/, "", port) }'
}

sleep 1
out_switches >"$T/sw0"
source_sends >"$T/ss0"
t0=$(now_us)
pids=()
for i in $(seq 1 "$N"); do
	listen_bg "http://127.0.0.1:$pa/f$i.ogg" 6 "$T/f$i.ogg"
	pids+=("$LISTEN_PID")
done
for p in "${pids[@]}"; do
	listen_wait "$p" || fail "a listener failed"
done
out_switches >"$T/sw1"
source_sends >"$T/ss1"
t1=$(now_us)
relay_alive || fail "relay exited while streaming"

[[ $(wc -l <"$T/sw0") -eq $N ]] ||
    fail "expected $N output threads named out[*, found: $(cat "$T/sw0")"
# Pages come at most every 0.5 s (Icecast pages: 0.5 s and a packet).
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
max_pages=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 2 + 1 }')
worst=$(join <(sort "$T/sw0") <(sort "$T/sw1") | awk -v p="$max_pages" '
	{ w = ($5 - $3) / p; if (w > m) { m = w; who = $2 } }
	END { printf "%.2f %s", m, who }')
note "over $secs s (<= $max_pages pages): the busiest output thread woke" \
    "${worst% *} times per page (${worst#* })"
assert_between "${worst% *}" 0 1.5 "output thread wake-ups per page"

# The pages of one wake-up go to libshout together, which sends them in
# full 4 KiB blocks: beyond bytes / 4096, about one send per wake-up for
# the last, partial block. Sent page by page, each Ogg page (libogg cuts
# them at ~4 KiB, two or three per Icecast page) cost a partial block.
# (The sources are the connections that sent audio meanwhile: the Icecast
# poller's requests go to the same port.)
read -r sources partial < <(join <(sort "$T/ss0") <(sort "$T/ss1") |
    awk -v p="$max_pages" '$4 - $2 > 10000 { n++
	x = (($5 - $3) - ($4 - $2) / 4096) / p; if (x > m) m = x }
	END { printf "%d %.2f\n", n, m }')
[[ $sources -eq $N ]] ||
    fail "expected $N source connections in ss, found $sources: $(tr '\n' ';' <"$T/ss1")"
note "sends beyond bytes / 4096 per page, the most of any output: $partial"
assert_between "$partial" 0 1.3 "partial sends per page"

# The same packets on every mount: each listener's audio packets, hashed,
# must be one run of listener 1's (all started together, 6 s each).
python3 - "$T" "$N" <<'EOF' || fail "the mounts do not carry the same audio"
import hashlib, sys

def packets(path):
    data = open(path, "rb").read()
    out, cur, i = [], b"", 0
    while True:
        i = data.find(b"OggS", i)
        if i < 0 or i + 27 > len(data):
            break
        nseg = data[i + 26]
        lace = data[i + 27:i + 27 + nseg]
        body = i + 27 + nseg
        if len(lace) < nseg or body + sum(lace) > len(data):
            break  # the page curl's time limit cut
        for n in lace:
            cur += data[body:body + n]
            body += n
            if n < 255:
                out.append(hashlib.sha1(cur).digest())
                cur = b""
        i = body
    return out[3:]  # the three Vorbis headers

work, n = sys.argv[1], int(sys.argv[2])
ref = packets(f"{work}/f1.ogg")
pos = {h: k for k, h in enumerate(ref)}
assert len(ref) > 100, f"listener 1 got {len(ref)} packets"
for m in range(2, n + 1):
    got = packets(f"{work}/f{m}.ogg")
    start = next((k for k, h in enumerate(got) if h in pos), None)
    assert start is not None, f"/f{m}.ogg: no packet in common with /f1.ogg"
    k0 = pos[got[start]]
    same = 0
    for a, b in zip(got[start:], ref[k0:]):
        assert a == b, f"/f{m}.ogg differs from /f1.ogg after {same} packets"
        same += 1
    assert same > 100, f"/f{m}.ogg: only {same} packets in common"
print(f"{n} mounts: the same packets ({len(ref)} on /f1.ogg)")
EOF
