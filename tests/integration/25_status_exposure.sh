#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 38 status exposure: what a web page or a token guesser can get out of a
# relay. /api/status and /api/events carry Access-Control-Allow-Origin only
# for the origins in [status] cors_origins (none by default). API file
# segments must lie in [status] media_dirs, and a refusal reads the same
# whether the file exists outside them or not. API stream segments may not
# pull from loopback or link-local addresses (not listed in feed_hosts).
# Five refused tokens within 10 s lock the address out: 429 with
# Retry-After for every control call, the right token included, and the
# log says so once instead of a line per attempt.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

mkdir -p "$T/media"
status_up "cors_origins = https://ops.example, http://127.0.0.1:9
media_dirs = $T/media"
auth=(-H "Authorization: Bearer $STATUS_TOKEN")
json=(-H 'Content-Type: application/json')

# call METHOD PATH [CURL_ARGS...]: the HTTP code; body in $T/body, headers
# in $T/headers.
call()
{
	local method=(-X "$1") path=$2
	[[ $1 != HEAD ]] || method=(-I)
	shift 2
	curl -s "${method[@]}" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
	    --max-time 10 "$@" "$STATUS_URL$path" || true
}

# --- CORS ---------------------------------------------------------------------
for origin in '' 'https://evil.example' 'null' 'https://ops.example.evil'; do
	for p in /api/status /api/events; do
		code=$(call HEAD "$p" ${origin:+-H "Origin: $origin"})
		[[ $code == 200 ]] || fail "HEAD $p: $code"
		! grep -qi '^Access-Control-Allow-Origin' "$T/headers" ||
		    fail "$p gives origin '$origin' $(grep -i '^Access-Control' "$T/headers")"
	done
done
for p in /api/status /api/events; do
	code=$(call HEAD "$p" -H 'Origin: https://ops.example')
	grep -qi '^Access-Control-Allow-Origin: https://ops.example' "$T/headers" ||
	    fail "$p does not allow https://ops.example: $(cat "$T/headers")"
	grep -qi '^Vary: Origin' "$T/headers" || fail "$p: no Vary: Origin"
done
code=$(call GET /metrics -H 'Origin: https://ops.example')
! grep -qi '^Access-Control-Allow-Origin' "$T/headers" ||
    fail "/metrics has a CORS header"
note "CORS: only the listed origins"

# --- file segments: only from media_dirs ---------------------------------------
sox -n -r 44100 -c 1 -b 16 "$T/media/bulletin.wav" synth 2 sine 600 vol 0.2 \
    2>/dev/null || fail "sox failed"
cp "$T/media/bulletin.wav" "$T/outside.wav"
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data "{\"source\":\"file\",\"path\":\"$T/outside.wav\"}")
[[ $code == 422 ]] || fail "a file outside media_dirs: $code $(cat "$T/body")"
exists=$(jq -r '.error' "$T/body")
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data "{\"source\":\"file\",\"path\":\"$T/missing.wav\"}")
[[ $code == 422 ]] || fail "a missing file outside: $code $(cat "$T/body")"
missing=$(jq -r '.error' "$T/body")
[[ ${exists/outside.wav/X} == "${missing/missing.wav/X}" ]] ||
    fail "the refusals differ: '$exists' / '$missing'"
[[ $exists == *'[status] media_dirs'* ]] || fail "422 text: $exists"
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"file","path":"../outside.wav"}')
[[ $code == 422 ]] || fail "../ out of media_dirs: $code $(cat "$T/body")"
ln -s "$T/outside.wav" "$T/media/link.wav"
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"file","path":"link.wav"}')
[[ $code == 422 ]] || fail "a link out of media_dirs: $code $(cat "$T/body")"
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"file","path":"bulletin.wav","name":"inside"}')
[[ $code == 202 ]] || fail "a file in media_dirs: $code $(cat "$T/body")"
note "file segments: media_dirs only"

# --- stream segments: no loopback or link-local feeds ---------------------------
for url in "http://127.0.0.1:${ICE_PORT[a]}/live.ogg" "http://127.1:${ICE_PORT[a]}/x" \
    'http://169.254.169.254/latest/meta-data' 'http://[::1]:80/x' \
    'http://localhost/x'; do
	code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
	    --data "{\"source\":\"stream\",\"url\":\"$url\",\"duration\":\"5s\"}")
	[[ $code == 422 ]] || fail "feed $url: $code $(cat "$T/body")"
	jq -e '.error | contains("feed_hosts")' "$T/body" >/dev/null ||
	    fail "feed $url: $(cat "$T/body")"
done
note "stream segments: no loopback or link-local feeds"

# --- refused tokens are rate-limited ------------------------------------------
log_mark
for ((i = 1; i <= 5; i++)); do
	code=$(call POST /api/skip -H "Authorization: Bearer wrong-$i")
	[[ $code == 403 ]] || fail "wrong token $i: $code"
done
code=$(call POST /api/skip -H 'Authorization: Bearer wrong-6')
[[ $code == 429 ]] || fail "the sixth wrong token: $code, expected 429"
grep -qi '^Retry-After: [0-9]' "$T/headers" || fail "429 without Retry-After"
code=$(call POST /api/skip "${auth[@]}")
[[ $code == 429 ]] || fail "the right token while locked out: $code"
jq -e '.error | startswith("too many refused tokens")' "$T/body" >/dev/null ||
    fail "429 body: $(cat "$T/body")"
# One line per refused token up to the fourth, one for the lockout, none
# for the calls refused during it.
n=$(log_count_since 'POST /api/skip 403')
[[ $n == 4 ]] || fail "$n audit lines for 5 wrong tokens, expected 4"
log_since '127\.0\.0\.1: 5 refused tokens within 10 s' ||
    fail "no lockout line"
n=$(log_count_since 'POST /api/skip 429')
[[ $n == 0 ]] || fail "$n audit lines for calls refused while locked out"
# The status views are not affected.
[[ $(http_code "$STATUS_URL/api/status") == 200 ]] ||
    fail "/api/status during a lockout"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
