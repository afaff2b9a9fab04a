#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/deps.sh (make deps): checks that the Debian 12 packages relay needs to
# build and test are installed: libraries (relay compiles against
# libcurl4-openssl-dev's headers and loads libcurl3-gnutls's build at run
# time, relay/dynlib.c), and every tool a test runs
# (iproute2 for ss and the network-namespace test, python3 for the page and
# API checks, clang and its libFuzzer runtime for the fuzz targets, valgrind
# for make valgrind, npm (when no npm command exists) for the page's
# vendored player and uPlot, openssl to check uPlot's pinned hash; minimal
# Debian images lack them). One dpkg-query call, so it is fast when
# nothing is missing. When something is missing: as root it runs apt-get
# (non-interactive: the icecast2 debconf question is answered "no", so no
# prompt and no system icecast is configured); otherwise it prints the exact
# command and exits 1.
#
# `deps.sh PACKAGE...` does the same for the packages named instead (make
# bench: the peers it measures).
#
# Threads: none.

set -eu

PKGS="build-essential pkg-config libshout-dev libvorbis-dev libogg-dev
libmicrohttpd-dev libinih-dev libcmocka-dev libsndfile1-dev
libsoxr-dev libasound2-dev libcurl4-openssl-dev libcurl3-gnutls
libcjson-dev libssl-dev icecast2 openssl
vorbis-tools ffmpeg sox jq curl alsa-utils libasound2-plugins chromium
iproute2 python3 valgrind clang libclang-rt-14-dev mandoc
man-db systemd openssl libopus-dev opus-tools libebur128-dev libmp3lame-dev
wrk"
# npm fetches the Listen Live page's fallback player at build time (see
# PLAYER_* in the Makefile). Asked for only when no npm is on PATH: a
# nodejs from NodeSource bundles its own npm and conflicts with Debian's.
want_npm=1
if [ $# -gt 0 ]; then
	PKGS="$*"
	want_npm=0
fi
if [ "$want_npm" -eq 1 ] && ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS npm"
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found; relay is built and tested on" \
	    "Debian 12. Needed packages (Debian names):" "$PKGS" >&2
	exit 1
fi

missing_pkgs()
{
	# Unknown packages are left out of dpkg-query's output (and make it
	# exit 1), so compare against what it does print as installed.
	# shellcheck disable=SC2086
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' \
	    $PKGS 2>/dev/null | awk '$2 == "installed" { printf "%s ", $1 }') ||
	    true
	for p in $PKGS; do
		case " $installed " in
		*" $p "*) ;;
		*) printf '%s ' "$p" ;;
		esac
	done
}

missing=$(missing_pkgs)
# npm fetches the operator page's pinned uPlot at build time. Debian's
# nodejs lacks it (package npm); a Node.js from elsewhere (NodeSource)
# brings its own, so the command counts, not the package.
if [ "$want_npm" -eq 1 ] && ! command -v npm >/dev/null 2>&1; then
	missing="${missing}npm "
fi
if [ -z "$missing" ]; then
	exit 0
fi
missing=${missing% }
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: $missing" >&2
	echo "deps.sh: as root, run:" >&2
	echo "  apt-get update" >&2
	echo "  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing" >&2
	echo "deps.sh: (or: sudo sh -c '$cmd')" >&2
	exit 1
fi

echo "deps.sh: installing: $missing" >&2
DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND
case " $missing " in
*" icecast2 "*)
	# The package asks whether to configure a system icecast; the tests
	# run private instances, so answer no before it is asked.
	if command -v debconf-set-selections >/dev/null 2>&1; then
		echo "icecast2 icecast2/icecast-setup boolean false" |
		    debconf-set-selections
	fi
	;;
esac
# Another apt or dpkg run on the machine (unattended-upgrades, a second
# make) holds the lock: wait for it rather than fail. apt waits for the dpkg
# lock itself (DPkg::Lock::Timeout); the lists lock of apt-get update is
# retried here.
apt_wait()
{
	tries=0
	while :; do
		if out=$(apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1); then
			printf '%s\n' "$out" | tail -n 3 >&2
			return 0
		fi
		case $out in
		*"Could not get lock"* | *"Unable to acquire"* | *"Unable to lock"*)
			tries=$((tries + 1))
			if [ "$tries" -ge 120 ]; then
				printf '%s\n' "$out" >&2
				return 1
			fi
			[ "$tries" -eq 1 ] &&
			    echo "deps.sh: apt is busy (another apt run); waiting" >&2
			sleep 5
			;;
		*)
			printf '%s\n' "$out" >&2
			return 1
			;;
		esac
	done
}

echo "deps.sh: (if another apt run holds the package lock, this waits" \
    "for it, up to 10 minutes)" >&2
apt_wait update
# shellcheck disable=SC2086
apt_wait install -y --no-install-recommends $missing

missing=$(missing_pkgs)
if [ -n "$missing" ]; then
	echo "deps.sh: still missing after apt-get: $missing" >&2
	exit 1
fi
