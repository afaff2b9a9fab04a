#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 70 install and service: `make install DESTDIR=... PREFIX=/usr/local`
# installs the binary, relay(1) and relay.conf(5) (which mandoc lints clean
# and man renders), the docs, the example configs (the installed binary's
# --check passes on them) and the systemd unit (systemd-analyze verify
# passes; its security score is printed); `make uninstall` removes exactly
# that. Then relay as a systemd service would run it: sd_notify READY,
# STATUS, WATCHDOG pings, RELOADING/READY around a SIGHUP and STOPPING
# (read from a notify socket of our own); started as root with [station]
# user it binds a privileged port, then runs as that user, and its files
# belong to that user; without a user it warns; a readable password file
# draws a warning.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root (privilege drop, chown)"

# --- install -----------------------------------------------------------------
root=$T/root
make -s --no-print-directory -C "$TOPDIR" install DESTDIR="$root" \
    PREFIX=/usr/local >"$T/install.out" 2>&1 ||
    fail "make install: $(tail -n 5 "$T/install.out")"
p=$root/usr/local
for f in bin/relay share/man/man1/relay.1 share/man/man5/relay.conf.5 \
    lib/systemd/system/relay.service share/doc/relay/relay.conf.example \
    share/doc/relay/demo.conf.example share/doc/relay/configuration.md; do
	[[ -f $p/$f ]] || fail "make install did not install $f"
done
[[ -x $p/bin/relay ]] || fail "the installed relay is not executable"
grep -q "^ExecStart=/usr/local/bin/relay -c /etc/relay/relay.conf$" \
    "$p/lib/systemd/system/relay.service" ||
    fail "the installed unit does not run /usr/local/bin/relay"

# The man pages: lint clean at warning level, rendered, and relay.conf(5)
# lists every key the binary knows.
mandoc -T lint -W warning "$p/share/man/man1/relay.1" \
    "$p/share/man/man5/relay.conf.5" >"$T/lint.out" 2>&1 ||
    fail "mandoc -T lint: $(head -n 5 "$T/lint.out")"
for page in man1/relay.1 man5/relay.conf.5; do
	lexgrog "$p/share/man/$page" >/dev/null ||
	    fail "lexgrog finds no NAME line in $page"
	MANWIDTH=80 man -l "$p/share/man/$page" >"$T/man.txt" 2>"$T/man.err" ||
	    fail "man -l $page: $(head -n 3 "$T/man.err")"
	[[ ! -s $T/man.err ]] || fail "man -l $page: $(head -n 3 "$T/man.err")"
done
MANWIDTH=200 man -l "$p/share/man/man5/relay.conf.5" 2>/dev/null |
    col -b >"$T/conf5.txt"
missing=0
while read -r key; do
	grep -qE "^ +${key}( |$)" "$T/conf5.txt" || {
		note "relay.conf(5) lacks the key $key"
		missing=$((missing + 1))
	}
done < <("$p/bin/relay" --dump-config | sed -n 's/^;\([a-z_]*\) =.*/\1/p' | sort -u)
((missing == 0)) || fail "relay.conf(5) lacks $missing key(s)"

# The installed binary checks the installed examples: the demo as it is,
# the station example with its /etc/relay files and archive made in $T.
RELAY_DEMO_PASSWORD=$(random_secret) "$p/bin/relay" --check \
    -c "$p/share/doc/relay/demo.conf.example" >"$T/check1.out" 2>&1 ||
    fail "--check on the installed demo example: $(tail -n 3 "$T/check1.out")"
mkdir -p "$T/etc" "$T/archive"
sed "s#/etc/relay/#$T/etc/#g; s#/var/lib/relay/archive/#$T/archive/#g" \
    "$p/share/doc/relay/relay.conf.example" >"$T/etc/relay.conf"
while read -r f; do
	[[ -e $f ]] || { random_secret >"$f" && chmod 600 "$f"; }
done < <(grep -v '^[;#]' "$T/etc/relay.conf" | grep -o "$T/etc/[^ ]*" | sort -u)
while read -r v; do
	export "$v=$(random_secret)"
done < <(sed -n 's/^[a-z]*_env *= *\([A-Z_]*\).*/\1/p' "$T/etc/relay.conf")
"$p/bin/relay" --check -c "$T/etc/relay.conf" >"$T/check2.out" 2>&1 ||
    fail "--check on the installed relay.conf example: $(tail -n 3 "$T/check2.out")"
! grep -q warning "$T/check2.out" ||
    fail "--check warns on the example: $(grep warning "$T/check2.out")"
# A password file every user can read is a warning, not silence.
pw=$(grep -o "$T/etc/[^ ]*password" "$T/etc/relay.conf" | head -n 1)
chmod 644 "$pw"
"$p/bin/relay" --check -c "$T/etc/relay.conf" >"$T/check3.out" 2>&1 ||
    fail "--check failed with a readable password file"
grep -q "password file $pw .* is readable by every user" "$T/check3.out" ||
    fail "no warning for a readable password file: $(cat "$T/check3.out")"
chmod 600 "$pw"

# The unit: verified (its Documentation= man pages from the install).
unit=$T/relay.service
sed "s#/usr/local/bin/#$p/bin/#g" "$p/lib/systemd/system/relay.service" >"$unit"
MANPATH=$p/share/man systemd-analyze verify "$unit" >"$T/verify.out" 2>&1 ||
    fail "systemd-analyze verify: $(head -n 5 "$T/verify.out")"
score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[[ -n $score ]] || fail "systemd-analyze security gave no score"
assert_between "$score" 0 3 "systemd-analyze security exposure (0 best, 10 worst)"

# Uninstall removes exactly what install put there.
make -s --no-print-directory -C "$TOPDIR" uninstall DESTDIR="$root" \
    PREFIX=/usr/local >"$T/uninstall.out" 2>&1 ||
    fail "make uninstall: $(tail -n 5 "$T/uninstall.out")"
left=$(find "$root" -type f | head -n 5)
[[ -z $left ]] || fail "make uninstall left files: $left"

# --- the service: notify socket, privilege drop --------------------------------
cat >"$T/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        for line in msg.split("\n"):
            out.write("%.3f %s\n" % (time.monotonic(), line))
PY
bg python3 "$T/notify.py" "$T/notify.sock" "$T/notify.log"
wait_for -t 5 -m "the notify socket" test -S "$T/notify.sock" ||
    fail "the notify socket did not appear"
chmod 777 "$T/notify.sock"

# A free privileged port: only root can bind it.
lowport=$(python3 - <<'PY'
import socket
for p in range(990, 700, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    s.close()
    print(p)
    break
PY
)
[[ -n $lowport ]] || fail "no free port below 1024"
mkdir -p "$T/rec"
chown nobody "$T/rec"
cat >"$T/relay.conf" <<CONF
[station]
name = Service Test
user = nobody
group = nogroup

[input]
type = tone

[encoding main]
quality = 1

[output rec]
type = file
path = $T/rec/rec.ogg

[status]
listen = 127.0.0.1:$lowport
CONF
chmod 644 "$T/relay.conf"
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000
start_relay "$T/relay.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_for -t 10 -m "READY=1" grep -q " READY=1$" "$T/notify.log" ||
    fail "no READY=1 from relay: $(tail -n 5 "$RELAY_LOG")"
uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$RELAY_PID/status")
[[ $uid == "65534 65534 65534 65534" ]] ||
    fail "relay runs with uids '$uid', not nobody's"
gid=$(awk '/^Gid:/ { print $2 }' "/proc/$RELAY_PID/status")
[[ $gid == "$(getent group nogroup | cut -d: -f3)" ]] ||
    fail "relay runs with gid $gid, not nogroup"
log_has "running as user nobody" || fail "no log line for the privilege drop"
# Healthy once the input's first frames are in: the tone input delivers
# its first block ~46 ms after it opens, which can be after READY=1.
healthz_ok() {
	[[ $(curl -s --max-time 2 "http://127.0.0.1:$lowport/healthz" \
	    -o /dev/null -w '%{http_code}') == 200 ]]
}
wait_for -t 3 -m "/healthz on port $lowport" healthz_ok ||
    fail "the status server on port $lowport does not answer 200"
wait_for -t 5 -m "the recording" test -s "$T/rec/rec.ogg" ||
    fail "no recording"
[[ $(stat -c %U "$T/rec/rec.ogg") == nobody ]] ||
    fail "the recording belongs to $(stat -c %U "$T/rec/rec.ogg"), not nobody"
wait_for -t 5 -m "STATUS with the outputs" \
    grep -q "STATUS=Service Test: 1 of 1 output(s) connected" "$T/notify.log" ||
    fail "no STATUS line: $(grep STATUS "$T/notify.log" | tail -n 2)"
sleep 2.5
pings=$(grep -c " WATCHDOG=1$" "$T/notify.log")
((pings >= 4)) || fail "only $pings watchdog pings with WATCHDOG_USEC=1 s"
note "$pings watchdog pings; $(grep STATUS= "$T/notify.log" | tail -n 1)"
# The reload also changes the user: that needs a restart, and relay says so.
sed -i 's/^user = nobody/user = daemon/' "$T/relay.conf"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "RELOADING=1 then READY=1" \
    awk '/ RELOADING=1$/ { r = 1 } r && / READY=1$/ { ok = 1 } END { exit !ok }' \
    "$T/notify.log" || fail "no RELOADING=1 then READY=1 after SIGHUP"
wait_for -t 5 -m "the restart warning" \
    log_since 'warn main: \[station\] user and group change only with a restart' ||
    fail "a changed user was reloaded silently: $(relay_lines "$LOG_MARK" | tail -n 3)"
sed -i 's/^user = daemon/user = nobody/' "$T/relay.conf"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
grep -q " STOPPING=1$" "$T/notify.log" || fail "no STOPPING=1"
ogginfo "$T/rec/rec.ogg" >/dev/null 2>&1 || fail "the recording is not valid Ogg"

# A root-only token file: read at start as root, but a reload reads it as
# nobody and would be rejected; relay says so at start, not at the SIGHUP.
# Likewise an archive directory that only root may write in (--check,
# run as root, passes it).
random_secret >"$T/token"
chmod 600 "$T/token"
mkdir -m 755 "$T/rootonly"
cp "$T/relay.conf" "$T/relay.conf.keep"
sed -i "s|^listen = .*|&\ntoken_file = $T/token|" "$T/relay.conf"
printf '[output rec2]\ntype = file\npath = %s/rootonly/rec.ogg\n' "$T" >>"$T/relay.conf"
"$RELAY" --check -c "$T/relay.conf" >/dev/null 2>&1 ||
    fail "--check as root refused the root-only archive directory"
start_relay "$T/relay.conf"
wait_for -t 5 -m "the warning about reloads" \
    log_since "as user nobody relay cannot read its configuration again, so every reload will be rejected: .*token_file" ||
    fail "no warning that reloads will fail: $(tail -n 3 "$RELAY_LOG")"
log_since "\[output rec2\]: as user nobody relay cannot write in $T/rootonly: Permission denied" ||
    fail "no warning for the archive directory: $(tail -n 3 "$RELAY_LOG")"
stop_relay TERM 5 || fail "relay did not stop"
mv "$T/relay.conf.keep" "$T/relay.conf"

# No such user: refused before anything starts.
sed -i 's/^user = nobody/user = no-such-relay-user/' "$T/relay.conf"
log_mark
start_relay "$T/relay.conf"
wait_for -t 5 -m "relay to exit" proc_gone "$RELAY_PID" ||
    fail "relay runs with a user that does not exist"
rc=0
wait "$RELAY_PID" || rc=$?
RELAY_PID=
((rc == 1)) || fail "exit status $rc for an unknown user"
log_since "\[station\] user no-such-relay-user: no such user" ||
    fail "no error naming [station] user: $(tail -n 2 "$RELAY_LOG")"

# As root without a user: it runs, and says so loudly.
sed -i '/^user = /d; /^group = /d; s/^listen = .*/listen = off/' "$T/relay.conf"
log_mark
start_relay "$T/relay.conf"
wait_for -t 5 -m "the warning" log_since "running as root" ||
    fail "no warning for running as root"
stop_relay TERM 5 || fail "relay did not stop"
note "installed, checked, verified (security $score), uninstalled; notify and privilege drop OK"
