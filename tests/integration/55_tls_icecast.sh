#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 55 TLS to Icecast with the station's own CA: the test makes a CA and a
# server certificate for 127.0.0.1 and localhost, icecast2 serves it on an
# <ssl>1</ssl> listen socket, and relay streams there with tls = yes and
# ca_file. A listener decodes the mount over https (curl --cacert). The
# status API shows the output as TLS with the certificate's subject and
# expiry, /metrics has relay_tls_cert_expiry_seconds, and no warning is
# logged for a certificate valid 30 days. Then icecast restarts with a
# certificate that expires in 5 days: relay reconnects, verifies it, and
# warns in its log, in /api/status, /metrics and on the status page.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

pki=$T/pki
tls_ca "$pki" ca
tls_cert "$pki" ca server "DNS:localhost,IP:127.0.0.1"
start_icecast a --tls "$pki/server.pem"
tport=${ICE_TLS_PORT[a]}
status_port=$(free_port)

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 1000
channels = 1

[encoding e]
channels = 1

[output secure]
host = 127.0.0.1
port = $tport
mount = /secure.ogg
password = ${ICE_PASSWORD[a]}
tls = yes
reconnect_min = 500ms
reconnect_max = 1s

[tls]
ca_file = pki/ca.crt

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
EOF
chmod 600 "$T/relay.conf"

"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "relay --check refused the config: $(cat "$T/check.out")"
grep -q "trusts ca_file $pki/ca.crt" "$T/check.out" ||
    fail "--check does not say whom the output trusts: $(cat "$T/check.out")"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /secure.ogg 15
log_has 'https://127.0.0.1:[0-9]+/secure.ogg: TLS certificate CN=server verified, expires' ||
    fail "relay did not log the verified certificate"

# A listener over https, trusting only the test CA.
curl -sN --max-time 4 --cacert "$pki/ca.crt" -o "$T/listen.ogg" \
    "https://127.0.0.1:$tport/secure.ogg" || [[ $? -eq 28 ]] ||
    fail "the https listener failed"
check_vorbis "$T/listen.ogg" 44100 1 2
read -r freq _ < <(audio_stats "$VORBIS_RAW" 44100 1)
assert_between "$freq" 990 1010 "tone heard over https (Hz)"

status=$(curl -sf "http://127.0.0.1:$status_port/api/status") ||
    fail "no /api/status"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$status") ||
    fail "jq could not check the schema"
[[ $problems == "[]" ]] || fail "/api/status schema: $problems"
jq -e '.outputs[0].tls == true' <<<"$status" >/dev/null ||
    fail "/api/status does not show the output as TLS"
jq -e '.outputs[0].tls_certificate.subject == "CN=server"' <<<"$status" \
    >/dev/null || fail "certificate subject: $(jq -c .outputs[0] <<<"$status")"
jq -e '.outputs[0].tls_certificate.issuer == "CN=relay test CA ca"' \
    <<<"$status" >/dev/null || fail "issuer: $(jq -c .outputs[0] <<<"$status")"
want=$(date -u -d "$(openssl x509 -in "$pki/server.crt" -noout -enddate |
    cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
got=$(jq -r '.outputs[0].tls_certificate.not_after' <<<"$status")
[[ $got == "$want" ]] || fail "not_after '$got', certificate says '$want'"
jq -e '.outputs[0].tls_certificate.expires_soon == false' <<<"$status" \
    >/dev/null || fail "a 30-day certificate is flagged as expiring soon"
# The poller reads status-json.xsl over https with the same CA.
wait_for -t 8 -m "mount listed by the https poller" bash -c \
    "curl -sf http://127.0.0.1:$status_port/api/status |
    jq -e '.outputs[0].mount_listed == true' >/dev/null" ||
    fail "the poller did not see the mount over https"
metrics=$(curl -sf "http://127.0.0.1:$status_port/metrics")
secs=$(sed -n 's/^relay_tls_cert_expiry_seconds{output="secure"} //p' \
    <<<"$metrics")
assert_between "${secs:-0}" $((29 * 86400)) $((31 * 86400)) \
    "relay_tls_cert_expiry_seconds"
grep -q '^relay_output_tls{output="secure"} 1$' <<<"$metrics" ||
    fail "/metrics lacks relay_output_tls 1"
! log_has 'expires in [0-9.]+ days' || fail "warned about a 30-day certificate"

# The server's certificate is renewed with one that expires in 5 days.
tls_cert "$pki" ca short "DNS:localhost,IP:127.0.0.1" \
    "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
    "$(date -u -d '+5 days' +%Y%m%d%H%M%SZ)"
log_mark
stop_icecast a
start_icecast a --tls "$pki/short.pem"
wait_for -t 15 -m "the expiry warning" \
    log_since 'warn .*secure.ogg: the server.s TLS certificate \(CN=short\) expires in [45]\.[0-9] days' ||
    fail "no warning for a certificate that expires in 5 days"
wait_mount "${ICE_PORT[a]}" /secure.ogg 10
status=$(curl -sf "http://127.0.0.1:$status_port/api/status")
jq -e '.outputs[0].tls_certificate.subject == "CN=short" and
    .outputs[0].tls_certificate.expires_soon == true' <<<"$status" \
    >/dev/null || fail "/api/status: $(jq -c .outputs[0] <<<"$status")"
secs=$(curl -sf "http://127.0.0.1:$status_port/metrics" |
    sed -n 's/^relay_tls_cert_expiry_seconds{output="secure"} //p')
assert_between "${secs:-0}" $((4 * 86400)) $((5 * 86400)) \
    "relay_tls_cert_expiry_seconds after the renewal"
page=$(curl -sf "http://127.0.0.1:$status_port/")
grep -q '<p id="ops-tls" >' <<<"$page" ||
    grep -q '<p id="ops-tls">' <<<"$page" ||
    fail "the status page does not show the TLS note"
grep -q 'output secure: the server&#39;s certificate (CN=short) expires' \
    <<<"$page" || fail "the status page's TLS note: $(grep -o 'ops-tls.*' <<<"$page" | head -c 300)"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

# Icecast 2.4.4 never drops a TLS source that closed cleanly (close_notify):
# the mount stays "in use" after relay's clean stop, and relay started again
# says why instead of promising the source-timeout.
log_mark
start_relay "$T/relay.conf"
wait_for -t 10 -m "the in-use line" log_since 'mountpoint /secure.ogg in use' ||
    fail "relay restarted over TLS: $(relay_lines "$LOG_MARK" | tail -n 3)"
log_since 'mountpoint /secure.ogg in use: .*Icecast 2.4 keeps the mount of a TLS source that ended cleanly' ||
    fail "the in-use line does not explain the TLS case: $(log_since 'in use' ; relay_lines "$LOG_MARK" | grep 'in use' | head -n 1)"
stop_relay TERM 5 || fail "relay did not stop"
