#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 18 a silently dead link: relay runs in its own network namespace and
# reaches a private icecast2 over a veth pair; the link is set down (no
# reset, no error: packets just vanish) for ~15 s, then up again. relay must
# notice it (stall watchdog), keep answering its status API meanwhile,
# come back by itself within a few seconds of the link's return, and stop
# cleanly on SIGTERM. Needs root (network namespaces); skipped otherwise.
#
# timeout: 150

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"

# Addresses of this test's own namespace link (never routed anywhere).
ns=relay-t18-$$
host_if=r18h$$
ns_if=r18n$$
net=10.$((200 + RANDOM % 50)).$((RANDOM % 250)).
host_ip=${net}1
ns_ip=${net}2
ip netns add "$ns" || skip "cannot create a network namespace here"
at_cleanup ip netns del "$ns"
ip link add "$host_if" type veth peer name "$ns_if" ||
    fail "cannot create a veth pair"
at_cleanup ip link del "$host_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$host_ip/30" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

ICE_EXTRA_BIND=$host_ip start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"
cat >"$T/relay.conf" <<EOF
[input]
type = tone
channels = 1
[encoding e]
channels = 1
quality = 1
[output main]
host = $host_ip
port = $port
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
stall_timeout = 5s
connect_timeout = 3s
reconnect_max = 10s
[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
EOF
ns_curl() { ip netns exec "$ns" curl -sf --max-time 2 "$@"; }
RELAY_WRAPPER="ip netns exec $ns" start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
# Cut the link only once relay's own poller has listed the mount: that arms
# the watchdog's "not listed any more" rule, which is what notices a dead
# link while the kernel still takes our bytes. (The mount goes live ~0.5 s
# after connecting since relay pages as Icecast does, often before the
# poller's next look, 1 s apart; a link that dies in that first second is
# caught only once the socket buffer is full.)
listed_by_relay()
{
	ns_curl "http://127.0.0.1:$status_port/api/status" |
	    jq -e '.outputs[0].mount_listed == true' >/dev/null
}
wait_for -t 10 -m "relay's poller to list the mount" listed_by_relay ||
    fail "relay's poller never listed /live.ogg"

# The link dies silently.
log_mark
ip link set "$host_if" down
t_down=$(now)
wait_for -t 15 -m "relay to notice the dead link" \
    log_since 'out\[main\].*(stall|no progress|timed out|timeout)' ||
    fail "relay did not notice the dead link: $(relay_lines | tail -3)"
noticed=$(elapsed_since "$t_down")
note "dead link noticed after $noticed s (stall_timeout 5 s)"
for ((i = 0; i < 5; i++)); do
	ns_curl -o /dev/null "http://127.0.0.1:$status_port/healthz" ||
	    ns_curl -o /dev/null "http://127.0.0.1:$status_port/api/status" ||
	    fail "the status API did not answer while the link was dead"
	sleep 1
done
relay_alive || fail "relay died"
sleep 3

# The link returns.
ip link set "$host_if" up
t_up=$(now)
wait_for -t 20 -m "the mount back" mount_live "$port" /live.ogg ||
    fail "relay did not come back after the link returned: $(relay_lines | tail -3)"
back=$(elapsed_since "$t_up")
note "back on air $back s after the link returned"
listen "http://127.0.0.1:$port/live.ogg" 3 "$T/after.ogg" ||
    fail "no audio after the link returned"
check_vorbis "$T/after.ogg" 44100 1 1
stop_relay TERM 5 || fail "relay did not stop on SIGTERM"
check_sanitizer
