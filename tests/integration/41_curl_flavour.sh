#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 41 libcurl's flavour: the default station (the Icecast poller on) loads
# Debian's GnuTLS build of libcurl (libcurl-gnutls.so.4, package
# libcurl3-gnutls), which shares the gnutls libmicrohttpd already mapped,
# not the OpenSSL build (libcurl.so.4), whose curl_global_init()
# initialises OpenSSL (docs/performance.md, Memory). When the GnuTLS build
# cannot be loaded (an empty file of that name first in LD_LIBRARY_PATH,
# as a broken package would be), relay falls back to libcurl.so.4 and the
# poller works the same. Asserts which library is mapped, never memory
# figures. (That curl_global_init() leaves OpenSSL's engines unloaded is
# test_dynlib's test_curl_table.)
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_setup
port=${ICE_PORT[a]}

tone_config /flavour.ogg "" "" "listen = 127.0.0.1:$STATUS_PORT
poll_icecast = 1s" >"$T/relay.conf"

mapped() { grep -q "/$1" "/proc/$RELAY_PID/maps"; }
counted() { status_now 2 | jq -e '.outputs[0].listeners >= 1 and .on_air' \
    >/dev/null; }

# $1: what the run is, for messages. The poller counts a listener.
poller_counts()
{
	wait_mount "$port" /flavour.ogg
	listen_bg "http://127.0.0.1:$port/flavour.ogg" 20 "$T/listener.ogg"
	wait_for -t 15 -m "the poller to count the listener ($1)" counted ||
	    fail "$1: /api/status never counted the listener: $(status_now 2)"
}

# --- the GnuTLS build, as installed ----------------------------------------
start_relay "$T/relay.conf"
poller_counts "libcurl-gnutls"
mapped 'libcurl-gnutls\.so\.4' ||
    fail "libcurl-gnutls.so.4 not mapped although the poller runs"
! mapped 'libcurl\.so\.4' ||
    fail "the OpenSSL build libcurl.so.4 is mapped beside the GnuTLS one"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

# --- the GnuTLS build broken: libcurl.so.4 instead --------------------------
mkdir "$T/lib"
: >"$T/lib/libcurl-gnutls.so.4"
LD_LIBRARY_PATH=$T/lib start_relay "$T/relay.conf"
poller_counts "fallback"
mapped 'libcurl\.so\.4' || fail "libcurl.so.4 not mapped in the fallback"
! mapped 'libcurl-gnutls' || fail "the broken libcurl-gnutls.so.4 is mapped"
! log_has 'cannot be loaded' || fail "the fallback logged a load failure"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
