#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/tools/status_chromium.sh: loads a page in Debian's headless Chromium
# and prints the DOM after the page's JavaScript ran, or saves a screenshot.
#   status_chromium.sh dom URL [WAIT_MS]          DOM on stdout
#   status_chromium.sh shot URL OUT.png [WxH] [dark]   screenshot (412x900)
# The Listen Live page keeps an event stream open, so --virtual-time-budget
# never runs out (virtual time stops while a request is pending); --timeout
# (real milliseconds) ends the load instead and the DOM is dumped as it is.
# Each run gets a private profile, removed afterwards. Exit status is
# Chromium's; a run is cut after 60 s.
set -euo pipefail

mode=${1:?mode}
url=${2:?url}
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "status_chromium: $chromium not found" >&2; exit 77; }
profile=$(mktemp -d "${TMPDIR:-/tmp}/relay-chromium.XXXXXX")
trap 'rm -rf "$profile"' EXIT
# Chromium leaves shared-memory and pulse folders in TMPDIR: keep them in
# the profile, which the trap removes.
mkdir "$profile/tmp"
export TMPDIR=$profile/tmp
common=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-default-apps --disable-extensions --mute-audio
    --autoplay-policy=user-gesture-required --user-data-dir="$profile")

case $mode in
dom)
	wait_ms=${3:-3000}
	timeout -k 5 60 "$chromium" "${common[@]}" --timeout="$wait_ms" \
	    --dump-dom "$url" 2>"$profile/stderr"
	;;
shot)
	out=${3:?out.png}
	size=${4:-412,900}
	extra=()
	if [[ ${5:-} == dark ]]; then
		extra+=(--force-dark-mode --blink-settings=preferredColorScheme=0)
	fi
	rm -f "$out"
	timeout -k 5 60 "$chromium" "${common[@]}" "${extra[@]}" --timeout=3000 \
	    --hide-scrollbars --window-size="$size" --screenshot="$out" "$url" \
	    2>"$profile/stderr" >/dev/null
	[[ -s $out ]]
	;;
*)
	echo "usage: status_chromium.sh dom URL [WAIT_MS] | shot URL OUT.png [WxH] [dark]" >&2
	exit 2
	;;
esac
