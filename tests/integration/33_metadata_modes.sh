#!/usr/bin/env bash
# [output] metadata = chain | admin | none, one output each on the same
# server, while a scheduled segment changes the title:
# - chain: Icecast's title follows, the listener's capture has a new chain;
# - admin: Icecast's title follows (relay asks the server);
# - none: the listener's capture stays one logical stream, the title stays.
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
pw=${ICE_PASSWORD[a]}

t0=$(($(date +%s) + 8))
cat >"$T/schedule.conf" <<EOF
[segment headlines]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = tone
frequency = 800
duration = 3s
title = Headlines
artist = News desk
EOF

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 300
level_dbfs = -30
title = Studio
[output chain]
port = $port
mount = /chain.ogg
password = $pw
metadata = chain
[output admin]
port = $port
mount = /admin.ogg
password = $pw
metadata = admin
[output none]
port = $port
mount = /none.ogg
password = $pw
metadata = none
[status]
listen = off
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF

start_relay "$T/relay.conf"
for m in chain admin none; do
	wait_mount "$port" "/$m.ogg" 15
done
listen_bg "http://127.0.0.1:$port/chain.ogg" 14 "$T/chain.ogg"
chain_pid=$LISTEN_PID
listen_bg "http://127.0.0.1:$port/none.ogg" 14 "$T/none.ogg"
none_pid=$LISTEN_PID

title_is() { [[ $(ice_field "$port" "$1" title) == "$2" ]]; }
wait_for -t 20 -m "chain title Headlines" title_is /chain.ogg Headlines ||
    fail "/chain.ogg title did not become Headlines"
wait_for -t 10 -m "admin title Headlines" title_is /admin.ogg Headlines ||
    fail "/admin.ogg title did not become Headlines"
[[ $(ice_field "$port" /none.ogg title) == Studio ]] ||
    fail "/none.ogg title changed to '$(ice_field "$port" /none.ogg title)'"
log_has 'title update failed' && fail "the admin title update failed"

listen_wait "$chain_pid" || fail "chain listener failed"
listen_wait "$none_pid" || fail "none listener failed"
check_vorbis "$T/none.ogg" 44100 2 8
n_none=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
[[ $n_none -eq 1 ]] || fail "/none.ogg capture has $n_none logical streams, expected 1"
check_vorbis "$T/chain.ogg" 44100 2 8
n_chain=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
assert_between "$n_chain" 2 10 "logical streams in the /chain.ogg capture"
grep -q 'TITLE=Headlines' "$VORBIS_INFO" || fail "no TITLE=Headlines chain in /chain.ogg"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
note "metadata modes: chain re-chains, admin retitles, none stays one stream"
