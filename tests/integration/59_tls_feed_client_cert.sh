#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 59 HTTPS feeds that ask more of relay: three local TLS servers (python3's
# ssl module) serve the same Ogg Vorbis feed with certificates from the
# station's CA.
#   partner   requires a client certificate from the station's CA: relay
#             presents [tls] client_cert and the segment plays;
#   stranger  requires a client certificate from another CA: it refuses
#             relay's, and the segment is skipped with a TLS reason;
#   oldtls    speaks at most TLS 1.2 while [tls] tls_min_version = 1.3:
#             relay refuses it and the segment is skipped.
# Only the first one is heard in the recorded programme.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

pki=$T/pki
tls_ca "$pki" ca
tls_ca "$pki" other
tls_cert "$pki" ca feeds "DNS:localhost,IP:127.0.0.1"
tls_cert "$pki" ca relay "DNS:relay.example"
mkdir -p "$T/www"
ffmpeg -nostdin -v error -f lavfi -i "sine=f=1500:r=44100:d=5" -ac 1 \
    -c:a libvorbis -q:a 2 "$T/www/news.ogg" || fail "ffmpeg: no feed file"
cat >"$T/https.py" <<'PY'
import functools, http.server, ssl, sys
port, pem, root, client_ca, max_version = sys.argv[1:6]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pem)
if client_ca != "-":
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_ca)
if max_version == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
PY
declare -A port=()
serve()
{
	port[$1]=$(free_port)
	bg python3 "$T/https.py" "${port[$1]}" "$pki/feeds.pem" "$T/www" "$2" "$3"
	wait_for -t 5 -m "feed server $1" bash -c \
	    "exec 3<>/dev/tcp/127.0.0.1/${port[$1]}" 2>/dev/null ||
	    fail "feed server $1 does not listen"
}
serve partner "$pki/ca.crt" -
serve stranger "$pki/other.crt" -
serve oldtls - 1.2

start_icecast a
t0=$(($(date +%s) + 4))
segment()
{
	cat <<EOF
[segment $1]
at = $(date -u -d "@$((t0 + $2))" '+%Y-%m-%d %H:%M:%S')
source = stream
url = https://127.0.0.1:${port[$1]}/news.ogg
duration = $3

EOF
}
{
	segment partner 0 2s
	segment stranger 2 1s
	segment oldtls 3 1s
} >"$T/schedule.conf"
silent_schedule_config "[tls]
ca_file = pki/ca.crt
client_cert = pki/relay.pem
tls_min_version = 1.3
[status]
listen = off" >"$T/relay.conf"
chmod 600 "$T/relay.conf"

started=$(now)
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 15 -m "the client-certificate feed on air" \
    log_has 'segment partner on air' ||
    fail "the feed that asks for relay's client certificate did not play"
wait_for -t 15 -m "the stranger refused" log_has \
    "segment stranger not played: https://127.0.0.1:${port[stranger]}/news.ogg: TLS session closed by the server before any HTTP answer: did it refuse our client certificate \($pki/relay.pem\)\?" ||
    fail "the server that refuses relay's client certificate was not reported"
wait_for -t 15 -m "TLS 1.2 refused" log_has \
    "segment oldtls not played: https://127.0.0.1:${port[oldtls]}/news.ogg: TLS refused, nothing fetched: .*(version|protocol)" ||
    fail "a TLS 1.2-only feed was not refused under tls_min_version = 1.3"
! log_has 'segment (stranger|oldtls) on air' || fail "a refused feed went on air"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

# The archive holds relay's whole run, whatever the machine's pace: from
# start-up (up to ~3.5 s before the first segment's second) to the stop
# after the last refusal (once 6 s fixed; CI had 5.85 s when icecast2 was
# slow to start).
lived=$(elapsed_since "$started")
check_vorbis "$T/archive.ogg" 44100 1 "$(awk -v l="$lived" 'BEGIN { print l - 1.5 }')"
read -r feed_s < <(python3 - "$VORBIS_RAW" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 2
x = struct.unpack("<%dh" % n, raw[: n * 2])
on = [i for i in range(0, n, 441) if max(abs(v) for v in x[i:i + 441]) > 300]
print(round((on[-1] - on[0]) / 44100, 2) if on else 0)
PY
)
note "feed heard for $feed_s s"
# partner's 2 s, nothing of the two refused ones.
assert_between "$feed_s" 1.5 2.6 "seconds of feed in the programme"
