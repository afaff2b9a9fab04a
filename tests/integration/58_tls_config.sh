#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 58 TLS settings are checked before anything starts: `relay --check` and a
# start both refuse, with FILE:LINE, section and key, a CA file that is
# missing or holds no certificate, a ca_dir that is not a directory, a
# client certificate without its key or with another one's key, TLS keys on
# an output that does not speak TLS, tls_min_version 1.3 reaching an Icecast
# output (libshout cannot enforce it), an unknown version, and any attempt
# to switch verification off (there is no such key). A good [tls] setup
# passes and --check names whom each output trusts; a client certificate
# that expires within 14 days draws a --check warning. All cases run; every
# mismatch is listed before the test fails.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

pki=$T/pki
tls_ca "$pki" ca
tls_cert "$pki" ca client "DNS:relay.example"
tls_cert "$pki" ca other "DNS:other.example"
cat "$pki/client.crt" "$pki/other.key" >"$pki/mismatch.pem"
printf 'not a certificate\n' >"$pki/junk.pem"
problems=()

# write NAME: relay.conf with an icecast output, then the lines on stdin
# appended (the first appended line is line 11).
write()
{
	{
		printf '[input]\ntype = tone\n\n[output main]\nhost = localhost\n'
		printf 'port = 8443\nmount = /live.ogg\npassword = %s\n' \
		    "$(random_secret)"
		printf 'tls = yes\n\n'
		cat
	} >"$T/$1.conf"
	chmod 600 "$T/$1.conf"
}

# expect NAME REGEX: --check and a start both exit 1 with REGEX on stderr.
expect()
{
	local name=$1 re=$2 rc=0 mode
	for mode in check start; do
		rc=0
		if [[ $mode == check ]]; then
			"$RELAY" --check -c "$T/$name.conf" >"$T/$name.$mode.out" \
			    2>&1 </dev/null || rc=$?
		else
			timeout 10 "$RELAY" -c "$T/$name.conf" \
			    >"$T/$name.$mode.out" 2>&1 </dev/null || rc=$?
		fi
		SANITIZER_FILES+=("$T/$name.$mode.out")
		if [[ $rc -ne 1 ]]; then
			problems+=("$name ($mode): exit $rc, expected 1: $(head -c 300 "$T/$name.$mode.out")")
		elif ! grep -qE -- "$re" "$T/$name.$mode.out"; then
			problems+=("$name ($mode): no /$re/ in: $(head -c 300 "$T/$name.$mode.out")")
		fi
	done
}

write ca_missing <<EOF
[tls]
ca_file = pki/no-such-ca.pem
EOF
expect ca_missing "ca_missing.conf:12: \[tls\] ca_file: cannot open \"$pki/no-such-ca.pem\": No such file"

# An [output] key: the error names the output's own line.
{
	printf '[input]\ntype = tone\n\n[output main]\nhost = localhost\n'
	printf 'port = 8443\nmount = /live.ogg\npassword = %s\ntls = yes\n' \
	    "$(random_secret)"
	printf 'ca_file = %s\n' "$pki/junk.pem"
} >"$T/ca_junk.conf"
expect ca_junk "ca_junk.conf:10: \[output main\] ca_file: \"$pki/junk.pem\" holds no PEM certificate"

write ca_dir_file <<EOF
[tls]
ca_dir = $pki/ca.crt
EOF
expect ca_dir_file "ca_dir_file.conf:12: \[tls\] ca_dir: \"$pki/ca.crt\" is not a directory"

write cert_no_key <<EOF
[tls]
ca_file = $pki/ca.crt
client_cert = $pki/client.crt
EOF
expect cert_no_key "cert_no_key.conf:13: \[tls\] client_cert: \"$pki/client.crt\" holds no unencrypted PEM private key"

write cert_wrong_key <<EOF
[tls]
client_cert = $pki/mismatch.pem
EOF
expect cert_wrong_key "cert_wrong_key.conf:12: \[tls\] client_cert: in \"$pki/mismatch.pem\" the private key does not belong to the certificate"

{
	printf '[input]\ntype = tone\n\n[output main]\nhost = localhost\n'
	printf 'mount = /live.ogg\npassword = %s\nca_file = %s\n' \
	    "$(random_secret)" "$pki/ca.crt"
} >"$T/plain_output.conf"
expect plain_output "plain_output.conf:8: \[output main\] ca_file: only used with tls = yes \(this output has tls = no\)"

write min13 <<EOF
[tls]
tls_min_version = 1.3
EOF
expect min13 "min13.conf:12: \[tls\] tls_min_version: 1.3 cannot be enforced on Icecast outputs .*set \[output main\] tls_min_version = 1.2"

write min11 <<EOF
[tls]
tls_min_version = 1.1
EOF
expect min11 'min11.conf:12: \[tls\] tls_min_version: "1.1" is not one of 1.2\|1.3'

write verify_off <<EOF
[tls]
verify = no
EOF
expect verify_off 'verify_off.conf:12: \[tls\] verify: unknown key'

{
	printf '[input]\ntype = tone\n\n[output main]\nhost = localhost\n'
	printf 'port = 8443\nmount = /live.ogg\npassword = %s\ntls = yes\n' \
	    "$(random_secret)"
	printf 'tls_verify = insecure\n'
} >"$T/output_verify_off.conf"
expect output_verify_off 'output_verify_off.conf:10: \[output main\] tls_verify: unknown key'

# A good setup: [tls] for feeds at 1.3, the output overrides what it must.
{
	printf '[input]\ntype = tone\n\n[output main]\nhost = localhost\n'
	printf 'port = 8443\nmount = /live.ogg\npassword = %s\ntls = yes\n' \
	    "$(random_secret)"
	printf 'tls_min_version = 1.2\n\n[tls]\nca_file = pki/ca.crt\n'
	printf 'client_cert = pki/client.pem\ntls_min_version = 1.3\n'
} >"$T/good.conf"
chmod 600 "$T/good.conf"
rc=0
"$RELAY" --check -c "$T/good.conf" >"$T/good.out" 2>&1 </dev/null || rc=$?
SANITIZER_FILES+=("$T/good.out")
if [[ $rc -ne 0 ]]; then
	problems+=("good: exit $rc: $(head -c 300 "$T/good.out")")
elif ! grep -qF "(trusts ca_file $pki/ca.crt, client certificate $pki/client.pem)" \
    "$T/good.out"; then
	problems+=("good: --check does not name the trust: $(cat "$T/good.out")")
fi

# A client certificate that expires in 3 days: valid, but --check warns
# (exit 0) with the file, the subject and the date.
tls_cert "$pki" ca soon "DNS:relay.example" \
    "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
    "$(date -u -d '+3 days' +%Y%m%d%H%M%SZ)"
write soon <<EOF
[tls]
ca_file = pki/ca.crt
client_cert = pki/soon.pem
EOF
rc=0
"$RELAY" --check -c "$T/soon.conf" >"$T/soon.out" 2>&1 </dev/null || rc=$?
SANITIZER_FILES+=("$T/soon.out")
if [[ $rc -ne 0 ]]; then
	problems+=("soon: exit $rc: $(head -c 300 "$T/soon.out")")
elif ! grep -qE "soon.conf:11: \[tls\] client_cert: warning: the certificate CN=soon in $pki/soon.pem expires on [0-9T:-]+Z \(within 14 days\): renew it" \
    "$T/soon.out"; then
	problems+=("soon: no expiry warning: $(cat "$T/soon.out")")
fi

# A stream segment naming its own CA file that is missing: the schedule is
# valid (it is not read at load), --check warns that it will be skipped.
printf '%s\n' '[segment partner]' 'cron = 0 * * * *' 'source = stream' \
    'url = https://feeds.example/news.ogg' 'duration = 3m' \
    'ca_file = partner-ca.pem' >"$T/schedule.conf"
write feed <<EOF
[schedule]
file = schedule.conf
timezone = UTC
EOF
rc=0
"$RELAY" --check -c "$T/feed.conf" >"$T/feed.out" 2>&1 </dev/null || rc=$?
SANITIZER_FILES+=("$T/feed.out")
if [[ $rc -ne 0 ]]; then
	problems+=("feed: exit $rc: $(head -c 300 "$T/feed.out")")
elif ! grep -qF "schedule.conf:1: [segment partner] ca_file: cannot open \"$T/partner-ca.pem\": No such file or directory (warning: the segment will be skipped unless this is fixed)" \
    "$T/feed.out"; then
	problems+=("feed: no warning for the segment's CA file: $(cat "$T/feed.out")")
fi

if ((${#problems[@]} > 0)); then
	printf '%s\n' "${problems[@]}" >&2
	fail "${#problems[@]} case(s) wrong"
fi
note "all TLS configuration cases behave"
