#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 60 page fallback: the Listen Live page where the browser cannot play Ogg
# (Safari, iOS), in real headless Chromium told so before the page loads
# (canPlayType answers "" for Ogg). The page loads icecast-metadata-player
# from relay (/vendor/), which fetch()es the mount from Icecast (sending
# Access-Control-Allow-Origin for the page's origin): audio plays (the
# element's clock advances and a Web Audio analyser sees the tone), the
# title comes from the stream's own Vorbis comments, and after Icecast is
# stopped and started again the player is playing again by itself. A second
# page without MediaSource (an iPhone) plays through the WASM decoder and
# Web Audio; /embed falls back too. With native Ogg nothing changes: the
# library is never requested. relay shows the header Icecast sends in
# /api/status (and the page no CORS warning), and serves the library's
# licence next to it.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
cdp=(python3 "$STATUS_TOOLS/status_cdp.py")

STATUS_PORT=$(free_port) || fail "no free port for the status server"
status_up '' --cors "http://127.0.0.1:$STATUS_PORT"

# Before the page's scripts: no Ogg in <audio> (Safari); with no_mse no
# MediaSource either (the iPhone).
no_ogg='(function () {
	var real = HTMLMediaElement.prototype.canPlayType;
	HTMLMediaElement.prototype.canPlayType = function (t) {
		return /ogg/i.test(String(t)) ? "" : real.call(this, t);
	};
}());'
no_mse='delete window.MediaSource; delete window.ManagedMediaSource;
window.MediaSource = undefined;'
# A Web Audio analyser on what the element plays: window.__sig.peak is
# the last 100 ms peak (full scale 1), from the element's MediaStream
# (Web Audio path) or a capture of it (MediaSource path); it follows the
# element to a new source after a reconnect.
probe='(function () {
	var a = document.getElementById("audio");
	var ctx = new AudioContext();
	var an = ctx.createAnalyser();
	var buf = new Float32Array(2048);
	var cap = null, capSrc = null, track = null, src = null;
	window.__sig = { peak: 0, ticks: 0 };
	ctx.resume();
	setInterval(function () {
		var s = a.srcObject;
		if (!s) {
			if (a.currentSrc !== capSrc) {
				capSrc = a.currentSrc;
				cap = a.captureStream();
			}
			s = cap;
		}
		var t = s.getAudioTracks().filter(function (x) {
			return x.readyState === "live";
		}).pop();
		if (t && t !== track) {
			if (src)
				src.disconnect();
			track = t;
			src = ctx.createMediaStreamSource(new MediaStream([t]));
			src.connect(an);
		}
		an.getFloatTimeDomainData(buf);
		var p = 0;
		for (var i = 0; i < buf.length; i++)
			p = Math.max(p, Math.abs(buf[i]));
		window.__sig.peak = p;
		window.__sig.ticks++;
	}, 100);
	return true;
}())'
body_is() { printf "document.body.dataset.%s === '%s'" "$1" "$2"; }
audio="document.getElementById('audio')"
vendor_requests="performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/vendor/') >= 0; }).length"
title_js=$(jq -Rn --arg s 'Morning <News>' '$s')

# relay read the header from icecast (on status-json.xsl: a global one).
cors_ok() {
	status_now | jq -e --arg o "http://127.0.0.1:$STATUS_PORT" \
	    'all(.outputs[]; .cors_allow_origin == $o)' >/dev/null
}
wait_for -t 10 -m "cors_allow_origin in /api/status" cors_ok ||
    fail "cors_allow_origin: $(status_now | jq -c '[.outputs[].cors_allow_origin]')"
! log_has 'sends no Access-Control-Allow-Origin' ||
    fail "a CORS warning although icecast sends the header"

# The library's licence (LGPL-3.0) is served with it.
status_get /vendor/icecast-metadata-player-LICENSE.txt >"$T/license.txt" ||
    fail "no /vendor/icecast-metadata-player-LICENSE.txt"
grep -q 'GNU LESSER GENERAL PUBLIC LICENSE' "$T/license.txt" ||
    fail "the served licence is not the LGPL: $(head -3 "$T/license.txt")"
# ... and so is the notice the script's first line points to.
status_get /vendor/icecast-metadata-player.min.js >"$T/player.js" ||
    fail "no /vendor/icecast-metadata-player.min.js"
notice=$(head -n 1 "$T/player.js" |
    grep -o 'icecast-metadata-player-[0-9.]*\.main\.min\.js\.LICENSE\.txt') ||
    fail "the player script names no licence notice"
status_get "/vendor/$notice" | grep 'GNU Lesser General Public License' >/dev/null ||
    fail "/vendor/$notice is not served"

# Safari: the fallback through MediaSource; icecast restarted under it.
"${cdp[@]}" --init "$no_ogg" open "$STATUS_URL/" \
    wait "$(body_is feed events)" 10 \
    wait "!!window.IcecastMetadataPlayer" 10 \
    click '#play' \
    wait "$(body_is player playing)" 20 \
    wait "$(body_is fallback mediasource)" 10 \
    eval "$probe" \
    wait "$audio.currentTime > 1" 10 \
    wait "window.__sig.peak > 0.05" 10 \
    wait "document.body.dataset.streamTitle === $title_js" 10 \
    wait "document.getElementById('ops-cors').hidden" \
    eval "[$audio.currentTime, window.__sig.peak, $vendor_requests]" \
    eval "'phase:playing'" \
    wait "Number(document.body.dataset.reconnects) >= 1" 30 \
    eval "'phase:reconnecting'" \
    wait "$(body_is player playing)" 40 \
    eval "window.__t0 = $audio.currentTime" \
    wait "$audio.currentTime > window.__t0 + 1" 10 \
    wait "window.__sig.peak > 0.05" 10 \
    eval "[$audio.currentTime, window.__sig.peak, document.body.dataset.reconnects]" \
    >"$T/cdp.out" 2>&1 &
session=$!
BG_PIDS+=("$session")

wait_for -t 45 -m "the fallback page to play" grep -q 'phase:playing' "$T/cdp.out" ||
    fail "the fallback page never played: $(cat "$T/cdp.out")"
note "fallback playing; restarting icecast"
stop_icecast a
wait_for -t 30 -m "the page to reconnect" grep -q 'phase:reconnecting' "$T/cdp.out" ||
    fail "the fallback page never noticed: $(cat "$T/cdp.out")"
start_icecast a
rc=0
wait "$session" || rc=$?
cat "$T/cdp.out" >&2
[[ $rc -eq 0 ]] || fail "fallback session failed (exit $rc): $(grep FAIL "$T/cdp.out")"
wait_mount "${ICE_PORT[a]}" /live.ogg

# The iPhone: no MediaSource, so WASM decoding and Web Audio; switching to
# the low-data mount replaces the library's player without a gap that
# lasts or a reconnect.
"${cdp[@]}" --init "$no_ogg" --init "$no_mse" open "$STATUS_URL/" \
    wait "!!window.IcecastMetadataPlayer" 10 \
    click '#play' \
    wait "$(body_is player playing)" 20 \
    wait "$(body_is fallback webaudio)" 10 \
    eval "$probe" \
    wait "window.__sig.peak > 0.05" 10 \
    wait "document.body.dataset.streamTitle === $title_js" 10 \
    eval "[$audio.currentTime, window.__sig.peak]" \
    click '#low' \
    wait "document.getElementById('low').getAttribute('aria-pressed') === 'true'" \
    sleep 3 \
    wait "window.__sig.peak > 0.05 && $(body_is player playing) && $(body_is reconnects 0)" 10 \
    eval "[$audio.currentTime, window.__sig.peak]" \
    >"$T/cdp-webaudio.out" 2>&1 ||
    fail "Web Audio fallback: $(cat "$T/cdp-webaudio.out")"
cat "$T/cdp-webaudio.out" >&2

# /embed takes the same path.
"${cdp[@]}" --size 480,120 --init "$no_ogg" open "$STATUS_URL/embed" \
    wait "!!window.IcecastMetadataPlayer" 10 \
    click '#play' \
    wait "$(body_is player playing)" 20 \
    wait "$(body_is fallback mediasource)" 10 \
    wait "document.body.dataset.streamTitle === $title_js" 10 \
    >"$T/cdp-embed.out" 2>&1 || fail "/embed fallback: $(cat "$T/cdp-embed.out")"

# Native Ogg: the library is never requested.
"${cdp[@]}" open "$STATUS_URL/" \
    click '#play' \
    wait "$(body_is player playing)" 20 \
    wait "$audio.currentTime > 1" 10 \
    wait "$vendor_requests === 0 && !window.IcecastMetadataPlayer && !document.body.dataset.fallback" \
    >"$T/cdp-native.out" 2>&1 ||
    fail "native page: $(cat "$T/cdp-native.out")"
grep -q '^ok wait .*vendor' "$T/cdp-native.out" || fail "native check did not run"

relay_alive || fail "relay died"
