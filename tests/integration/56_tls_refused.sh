#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 56 TLS fails closed. One relay, four TLS outputs that must all be refused
# with a clear log line, and not one byte of the login or of audio may reach
# the server:
#   otherca    icecast2 with a certificate from a CA relay does not trust
#   wrongname  a certificate from the trusted CA, for DNS:radio.example only
#   expired    a certificate from the trusted CA that expired 10 days ago
#   plain      a server that speaks plaintext HTTP on the TLS port (a
#              python listener that records every byte it receives)
# The icecast servers never see a source request (no mount, nothing in
# their access logs); the plaintext server receives TLS ClientHellos only:
# no "SOURCE", "PUT", credentials or Ogg page. relay keeps running, retries
# each one with backoff, and /api/status shows each reason.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

pki=$T/pki
tls_ca "$pki" ca
tls_ca "$pki" other
tls_cert "$pki" other foreign "DNS:localhost,IP:127.0.0.1"
tls_cert "$pki" ca named "DNS:radio.example"
tls_cert "$pki" ca old "DNS:localhost,IP:127.0.0.1" \
    "$(date -u -d '-40 days' +%Y%m%d%H%M%SZ)" \
    "$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)"
start_icecast b --tls "$pki/foreign.pem"
start_icecast c --tls "$pki/named.pem"
# Same password everywhere: one secret to look for in what was received.
pw=${ICE_PASSWORD[b]}
start_icecast d --tls "$pki/old.pem"
plain_port=$(free_port)
status_port=$(free_port)

# The plaintext server: answers whatever arrives with a plaintext HTTP
# error, the way a plain Icecast port would, and keeps every byte.
cat >"$T/plain.py" <<'PY'
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
n = 0
while True:
    c, _ = srv.accept()
    c.settimeout(2)
    data = b""
    try:
        data = c.recv(65536)
        c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nplaintext\r\n")
        c.shutdown(socket.SHUT_WR)
        while True:
            more = c.recv(65536)
            if not more:
                break
            data += more
    except OSError:
        pass
    c.close()
    n += 1
    with open("%s.%d" % (out, n), "wb") as f:
        f.write(data)
PY
bg python3 "$T/plain.py" "$plain_port" "$T/plain.got"
wait_for -t 5 -m "plaintext server listening" \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$plain_port" ||
    fail "the plaintext server did not start"
rm -f "$T"/plain.got.*

out()
{
	cat <<EOF
[output $1]
host = 127.0.0.1
port = $2
mount = /$1.ogg
password = $pw
tls = yes
reconnect_min = 500ms
reconnect_max = 1s

EOF
}
{
	printf '[input]\ntype = tone\n\n[tls]\nca_file = pki/ca.crt\n\n'
	out otherca "${ICE_TLS_PORT[b]}"
	out wrongname "${ICE_TLS_PORT[c]}"
	out expired "${ICE_TLS_PORT[d]}"
	out plain "$plain_port"
	printf '[status]\nlisten = 127.0.0.1:%s\npoll_icecast = off\n' \
	    "$status_port"
} >"$T/relay.conf"
chmod 600 "$T/relay.conf"

start_relay "$T/relay.conf"
wait_for -t 10 -m "other CA refused" log_has \
    "out\[otherca\]: .*TLS certificate of 127.0.0.1:${ICE_TLS_PORT[b]} refused: certificate not trusted: unable to get local issuer certificate \(issuer CN=relay test CA other; trusted: ca_file $pki/ca.crt\); nothing was sent" ||
    fail "no clear refusal of the certificate from another CA"
wait_for -t 10 -m "host name mismatch refused" log_has \
    "out\[wrongname\]: .*refused: certificate is not issued for 127.0.0.1 \(it names DNS:radio.example\); nothing was sent" ||
    fail "no clear refusal of the certificate for another name"
wait_for -t 10 -m "expired refused" log_has \
    "out\[expired\]: .*refused: certificate has expired \(CN=old, notAfter [0-9T:-]+Z\); nothing was sent" ||
    fail "no clear refusal of the expired certificate"
wait_for -t 10 -m "plaintext port refused" log_has \
    "out\[plain\]: .*TLS handshake with 127.0.0.1:$plain_port failed: the server does not speak TLS there.*nothing was sent in plaintext" ||
    fail "no clear refusal of the plaintext server"
# Each is retried: at least a second attempt on every one.
for o in otherca wrongname expired plain; do
	log_has "out\\[$o\\]: .*; retrying in [0-9.]+ s" ||
	    fail "$o is not retried"
done
relay_alive || fail "relay died"

status=$(curl -sf "http://127.0.0.1:$status_port/api/status") ||
    fail "no /api/status"
jq -e '[.outputs[] | select(.connected)] | length == 0' <<<"$status" \
    >/dev/null || fail "an output counts as connected"
jq -e '[.outputs[] | select(.tls and .tls_certificate == null)] |
    length == 4' <<<"$status" >/dev/null ||
    fail "a refused server's certificate is shown: $(jq -c .outputs <<<"$status")"
jq -e '.outputs[] | select(.name == "expired") | .last_error |
    test("certificate has expired")' <<<"$status" >/dev/null ||
    fail "/api/status last_error: $(jq -c '.outputs[2]' <<<"$status")"
! grep -q 'relay_tls_cert_expiry_seconds{' < <(curl -sf \
    "http://127.0.0.1:$status_port/metrics") ||
    fail "/metrics shows an expiry for a refused certificate"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

# Icecast never saw a source request: no mount, nothing logged for it.
for s in b c d; do
	for m in otherca wrongname expired; do
		! mount_live "${ICE_PORT[$s]}" "/$m.ogg" ||
		    fail "/$m.ogg is live on icecast $s"
	done
	if grep -E 'SOURCE|PUT|\.ogg' "${ICE_DIR[$s]}/log/access.log" \
	    2>/dev/null; then
		fail "icecast $s logged a source request"
	fi
done

# What the plaintext server received: TLS handshakes, nothing else. It
# writes a connection's bytes down once the connection closed.
plain_seen()
{
	find "$T" -maxdepth 1 -name 'plain.got.*' -size +0 | grep -q .
}
wait_for -t 5 -m "a connection recorded by the plaintext server" plain_seen ||
    fail "relay never connected to the plaintext server"
shopt -s nullglob
got=("$T"/plain.got.*)
python3 - "$pw" "${got[@]}" <<'PY' || fail "plaintext bytes reached the server"
import sys
pw = sys.argv[1].encode()
seen = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    if not data:
        continue  # the test's own probe that the server listens
    seen += 1
    if data[0] != 0x16 or data[1] != 0x03:
        sys.exit("%s: not a TLS record: %r" % (path, data[:40]))
    for bad in (b"SOURCE", b"PUT", b"OggS", b"Authorization", b"vorbis",
                b"/plain.ogg", pw):
        if bad in data:
            sys.exit("%s: holds %r" % (path, bad))
if seen == 0:
    sys.exit("no connection from relay was recorded")
print("plaintext server: %d connection(s), TLS records only" % seen)
PY
