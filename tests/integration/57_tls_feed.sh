#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 57 An HTTPS feed from a partner that uses the station's own CA: a small
# local TLS server (python3's ssl module, http.server) serves an Ogg Vorbis
# feed (1500 Hz) with a certificate from the test CA. With [tls] ca_file
# naming that CA, a scheduled stream segment plays it: the 1500 Hz tone is
# in the recorded programme. Then the same feed, after a reload that trusts
# another CA, is refused like a feed that cannot be reached: the segment is
# skipped with a log line that says the certificate's issuer was not
# trusted (in the words of libcurl's OpenSSL build, or relay's for the
# GnuTLS one, whose own message names no reason), and
# the live programme (silence) goes on. A third segment of the same feed
# names the partner's CA itself (ca_file in the schedule) and plays despite
# [tls].
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

pki=$T/pki
tls_ca "$pki" ca
tls_ca "$pki" other
tls_cert "$pki" ca feeds "DNS:localhost,IP:127.0.0.1"
mkdir -p "$T/www"
ffmpeg -nostdin -v error -f lavfi -i "sine=f=1500:r=44100:d=8" -ac 1 \
    -c:a libvorbis -q:a 2 "$T/www/news.ogg" || fail "ffmpeg: no feed file"
feed_port=$(free_port)
cat >"$T/https.py" <<'PY'
import functools, http.server, ssl, sys
port, pem, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pem)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
PY
bg python3 "$T/https.py" "$feed_port" "$pki/feeds.pem" "$T/www"
feed_url=https://127.0.0.1:$feed_port/news.ogg
wait_for -t 5 -m "the https feed server" \
    curl -sf --cacert "$pki/ca.crt" -o /dev/null "$feed_url" ||
    fail "the https feed server does not answer"

start_icecast a
status_port=$(free_port)
t0=$(($(date +%s) + 4))
cat >"$T/schedule.conf" <<EOF
[segment partner]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = stream
url = $feed_url
duration = 2s
title = Partner news

[segment partner-again]
at = $(date -u -d "@$((t0 + 4))" '+%Y-%m-%d %H:%M:%S')
source = stream
url = $feed_url
duration = 1s
title = Partner news again

[segment partner-own-ca]
at = $(date -u -d "@$((t0 + 5))" '+%Y-%m-%d %H:%M:%S')
source = stream
url = $feed_url
ca_file = pki/ca.crt
duration = 2s
title = Partner news, its own CA
EOF
conf()
{
	silent_schedule_config "[tls]
ca_file = $1
[status]
listen = 127.0.0.1:$status_port"
}
conf pki/ca.crt >"$T/relay.conf"
chmod 600 "$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 15 -m "the https feed on air" log_has 'segment partner on air' ||
    fail "the https feed segment never went on air"

# The partner's CA is replaced by another one: the same feed is now a
# server relay must not trust. The segment on air keeps the settings its
# source opened with and plays to its end.
conf pki/other.crt >"$T/relay.conf"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 5 -m "reload applied" log_since 'reload' ||
    fail "the reload was not logged"
wait_for -t 20 -m "the untrusted feed refused" \
    log_since "segment partner-again.*$feed_url: TLS refused, nothing fetched: .*(unable to get local issuer certificate|its issuer is not a trusted CA).*\(trusted: ca_file $pki/other.crt; TLS 1.2 or later\)" ||
    fail "the feed with a certificate from an untrusted CA was not refused clearly"
! log_since 'segment partner-again on air' ||
    fail "the untrusted feed went on air"
relay_alive || fail "relay died"
wait_for -t 15 -m "the segment with its own CA on air" \
    log_since 'segment partner-own-ca on air' ||
    fail "the segment naming its own ca_file did not play"
wait_for -t 5 -m "/api/status programme_error" bash -c \
    "curl -sf http://127.0.0.1:$status_port/api/status |
    jq -e '.programme_error.segment == \"partner-again\"' >/dev/null" ||
    fail "/api/status has no programme_error for the refused feed"
log_has 'segment partner ended' ||
    fail "the first segment did not play to its end across the reload"
wait_for -t 10 -m "the last segment's end" \
    log_since 'segment partner-own-ca ended' ||
    fail "the segment with its own CA did not play to its end"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

# The trusted feed really played: 1500 Hz in the recorded programme.
check_vorbis "$T/archive.ogg" 44100 1 6
read -r feed_s freq < <(python3 - "$VORBIS_RAW" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 2
x = struct.unpack("<%dh" % n, raw[: n * 2])
rate, thr = 44100, 300
blocks = [i for i in range(0, n - 441, 441)
          if max(abs(v) for v in x[i:i + 441]) > thr]
# Zero crossings inside blocks that carry the tone: its frequency.
z = sum(1 for i in blocks for j in range(i, i + 440)
        if (x[j] < 0) != (x[j + 1] < 0))
secs = len(blocks) * 441 / rate
print(round(secs, 2), round(z / 2 / secs) if secs else 0)
PY
)
note "https feed heard for $feed_s s at $freq Hz"
assert_between "$freq" 1450 1550 "feed frequency (Hz)"
# The first segment's 2 s and the third one's 2 s; nothing of the refused
# second one.
assert_between "$feed_s" 3.5 4.6 "seconds of feed in the programme"
