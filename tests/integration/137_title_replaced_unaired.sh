#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 137 a held live title replaced before it aired is named, logged once
# (not per call in a burst), and a reload while a title is held neither
# loses it nor airs it twice. An archive (one file, a chain per title)
# records what went on air.
# - After a quiet spell: a1 (on air), a2 (held), a3: a3's answer says it
#   replaces a2 ("replaced": {"title": "a2"}, and in "result"), and the
#   log has one info line saying a2 was replaced before it aired.
# - 40 titles in 1 s (each replacing the one before): every answer is
#   200, and still that one line: the log is rate-limited; /metrics
#   counts them all (relay_titles_replaced_unaired_total).
# - After another quiet spell: r1 (on air), r2 (held), then a reload
#   that rebuilds the encoder (quality 2 -> 3) while r2 is held: r2 goes
#   on air once the hold ends, and the archive has one chain titled r2,
#   after the rebuilt encoder's first chain, titled r1 (the title on air
#   then: a rebuilt encoder used to start with the held title, on air
#   before /api/status and /api/history said so), and none of a2 or the
#   title any answer named as replaced.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
control_archive_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
sleep 3

# post SPACING_S TITLE...: one call per title, SPACING_S apart; prints
# each answer (one line of JSON, "code" added).
post()
{
	python3 - "$URL" "$TOKEN" "$@" <<'PY'
import json, sys, time, urllib.request, urllib.error
url, token, spacing = sys.argv[1], sys.argv[2], float(sys.argv[3])
t0 = time.monotonic()
for i, title in enumerate(sys.argv[4:]):
    req = urllib.request.Request(url + "/api/metadata", method="POST",
        data=json.dumps({"title": title}).encode(),
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code, body = r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        code, body = e.code, {}
    body["code"] = code
    print(json.dumps(body), flush=True)
    time.sleep(max(0.0, t0 + (i + 1) * spacing - time.monotonic()))
PY
}

post 0.05 a1 a2 a3 >"$T/a" || fail "posting a1..a3 failed"
note "a1..a3: $(tr '\n' ' ' <"$T/a")"
[[ $(jq -s -c '[.[] | .code]' "$T/a") == "[200,200,200]" ]] ||
    fail "not all 200: $(cat "$T/a")"
[[ $(jq -s -c '[.[] | .on_air]' "$T/a") == "[true,false,false]" ]] ||
    fail "on_air: $(jq -s -c '[.[] | .on_air]' "$T/a")"
jq -s -e '.[1].replaced == null and .[2].replaced == {"title": "a2", "artist": ""}' \
    "$T/a" >/dev/null || fail "replaced: $(jq -s -c '[.[] | .replaced]' "$T/a")"
jq -s -e '.[2].result | endswith("; replaces '"'a2'"', which never aired")' \
    "$T/a" >/dev/null || fail "a3's result: $(jq -s '.[2].result' "$T/a")"
replaced="info programme: live title '[a-z0-9]+' replaced before it aired by"
wait_for -t 3 -m "the replaced line" log_has "live title 'a2' replaced before it aired by 'a3'" ||
    fail "no log line for a2: $(relay_lines | tail -n 5)"

wait_for -t 5 -m "a3 on air" status_has '.now.title == "a3" and .now.title_pending == null' ||
    fail "a3 never aired: $(status_now | jq -c .now)"

# A burst: one line, not forty.
titles=()
for i in $(seq 1 40); do titles+=("b$i"); done
post 0.025 "${titles[@]}" >"$T/b" || fail "the burst failed"
[[ $(jq -s '[.[] | select(.code != 200)] | length' "$T/b") == 0 ]] ||
    fail "a call of the burst was refused: $(grep -v '"code": 200' "$T/b" | head -n 2)"
n=$(jq -s '[.[] | select(.replaced != null)] | length' "$T/b")
note "burst: $n of 40 answers name a title they replaced"
assert_between "$n" 30 40 "answers of the burst naming a replaced title"
wait_for -t 5 -m "b40 on air" status_has '.now.title == "b40" and .now.title_pending == null' ||
    fail "after the burst: $(status_now | jq -c .now)"
metric=$(curl -sf --max-time 3 "$URL/metrics" | sed -n 's/^relay_titles_replaced_unaired_total //p')
assert_between "$metric" 32 42 "/metrics relay_titles_replaced_unaired_total (a2 and the burst's)"
n=$(log_count "$replaced")
[[ $n == 1 ]] || fail "$n 'replaced before it aired' lines for a burst, expected 1: $(relay_lines | grep -E "$replaced" | head -n 3)"

# A reload that rebuilds the encoder while r2 is held.
sleep 3
post 0.05 r1 r2 >"$T/r" || fail "posting r1, r2 failed"
jq -s -e '.[0].on_air == true and .[1].on_air == false' "$T/r" >/dev/null ||
    fail "r1, r2: $(tr '\n' ' ' <"$T/r")"
sed -i 's/^quality = 2$/quality = 3/' "$T/relay.conf"
code=$(control_post -d '{}' "$URL/api/reload")
[[ $code == 200 ]] || fail "reload: $code $(cat "$T/body")"
note "reload: $(jq -r .result "$T/body")"
wait_for -t 5 -m "r2 on air" status_has '.now.title == "r2" and .now.title_pending == null' ||
    fail "after the reload: $(status_now | jq -c .now)"
sleep 1
stop_relay TERM 5 || fail "relay did not stop"
python3 "$TOPDIR/tests/tools/ogg_streams.py" "$T/archive.ogg" >"$T/streams" ||
    fail "the archive is damaged: $(tail -n 3 "$T/streams")"
chains=$(sed -n 's/.* title=//p' "$T/streams" | tr '\n' '|')
note "archive chains: $chains"
for t in a1 a3 b40 r2; do
	n=$(grep -c -- " title=$t\$" "$T/streams") || true
	[[ $n == 1 ]] || fail "$n chain(s) titled $t in the archive, expected 1 ($chains)"
done
# The rebuilt encoder's chain starts with the title on air, r1, not the
# held r2; r2 follows when the hold ends.
[[ $chains == *"|r1|r1|r2|" ]] ||
    fail "the chains around the reload are not r1 (old encoder), r1 (rebuilt), r2: $chains"
# No title an answer named as replaced ever aired.
while read -r t; do
	grep -qxF -- "$t" <(sed -n 's/.* title=//p' "$T/streams") &&
	    fail "$t was answered replaced (never aired), but it is in the archive: $chains"
done < <(jq -r 'select(.replaced != null) | .replaced.title' "$T/a" "$T/b" "$T/r")
check_sanitizer
