#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 141 a live title posted while a segment is on air is not on air, even
# when it is the title live had (found by attack10b: an automation
# system that posts the current live title again, as many do every few
# seconds, was answered "already the live title on air", "on_air": true,
# while listeners heard the bulletin's chain, titled News). relay plays a
# tone titled Studio to /live.ogg (metadata = chain); a scheduled segment
# (a tone titled News) comes on air; a listener captures the mount.
# While the segment plays:
# - POST /api/metadata {"title": "Studio"} (the live title) answers
#   "on_air": false, "on_air_in_s": null, "result" saying it goes on air
#   when live returns, as any other title does then;
# - /api/status now.title is News, and the listener's chain at that time
#   is titled News (what was answered is checked against what is heard);
# - a held-title case: "Other" (waits for live) then "Studio" again:
#   "Other" is replaced (named in "replaced") and "Studio" still answers
#   on_air false;
# - once the segment ends, live returns titled Studio (status and a chain
#   in the capture), and "Other" never aired.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
control_api_setup
seg_at=$(($(date +%s) + 8))
tone_segment news "$seg_at" 6s 660 News >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
sed -i 's/^frequency = 0$/frequency = 440\nlevel_dbfs = -12/' "$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
listen_bg "http://127.0.0.1:$port/live.ogg" 24 "$T/live.ogg"
lpid=$LISTEN_PID
wait_for -t 20 -m "segment news on air" on_air news ||
    fail "the segment never came on air: $(status_now | jq -c .now)"
sleep 1

# post TITLE: prints the answer (one line of JSON, "code" added).
post()
{
	local code
	code=$(control_post -d "$(jq -cn --arg t "$1" '{title: $t}')" \
	    "$URL/api/metadata")
	jq -c --arg c "$code" '. + {code: ($c | tonumber)}' "$T/body"
}

a1=$(post Studio)
note "Studio during the segment: $a1"
now_title=$(status_now | jq -r .now.title)
[[ $now_title == News ]] || fail "now.title '$now_title' while the segment plays"
[[ $(jq -r .code <<<"$a1") == 200 ]] || fail "not 200: $a1"
[[ $(jq -r .on_air <<<"$a1") == false ]] ||
    fail "the live title answered on air while segment News plays: $a1"
[[ $(jq -r .on_air_in_s <<<"$a1") == null ]] ||
    fail "on_air_in_s is not null: $a1"
[[ $(jq -r .result <<<"$a1") == *"when live returns"* ]] ||
    fail "the result does not say it waits for live: $a1"

a2=$(post Other)
a3=$(post Studio)
note "Other: $a2"
note "Studio again: $a3"
[[ $(jq -r .on_air <<<"$a2") == false && $(jq -r .on_air <<<"$a3") == false ]] ||
    fail "a title answered on air during the segment: $a2 / $a3"
[[ $(jq -r .replaced.title <<<"$a3") == Other ]] ||
    fail "Studio did not name Other as replaced: $a3"
on_air news || fail "the segment is no longer on air: the answers came too late"

wait_for -t 15 -m "live back titled Studio" \
    status_has '.state == "live" and .now.title == "Studio"' ||
    fail "live did not return titled Studio: $(status_now | jq -c .now)"
listen_wait "$lpid" || fail "the listener failed"
python3 "$(dirname "$0")/../tools/ogg_streams.py" "$T/live.ogg" >"$T/streams" ||
    fail "the capture is damaged: $(cat "$T/streams")"
titles=$(sed -n 's/.* title=\(.*\)$/\1/p' "$T/streams" | uniq | tr '\n' ' ')
note "chains heard: $titles"
[[ $titles == *"News Studio "* ]] ||
    fail "the listener did not hear News then Studio: '$titles'"
[[ $titles != *Other* ]] || fail "the replaced title Other aired: '$titles'"
