# shellcheck shell=bash
# Variables set here are read by the tests that source this file.
# shellcheck disable=SC2034
# SPDX-License-Identifier: MIT
#
# tests/lib.sh: helpers shared by every integration test (and tests/demo.sh).
# Source it first thing:  . "$(dirname "$0")/../lib.sh"
#
# Each test gets a private directory $T (mktemp -d), kept only when the test
# fails, and an EXIT trap that stops everything it started: relay, icecast
# servers, listeners, feeders. Nothing synchronises on a bare sleep: wait_for
# polls a condition until a deadline scaled by RELAY_TEST_TIMEOUT_MULT.
#
# Environment:
#   RELAY_BUILD              build tree holding the binary (build/release)
#   RELAY                    the binary ($RELAY_BUILD/relay)
#   RELAY_TEST_TIMEOUT_MULT  multiplies every deadline (3 for ASan builds)
#   RELAY_TEST_KEEP=1        keep $T even when the test passes
#
# Functions (return non-zero on failure unless they say they fail the test):
#   note MSG...                   progress line on stderr
#   fail MSG...                   prints "FAIL: MSG" and exits 1 (test fails)
#   skip MSG...                   exits 77 (test skipped)
#   scaled SECONDS                SECONDS * RELAY_TEST_TIMEOUT_MULT
#   now                           wall time in seconds, with microseconds
#   free_port                     an unused 127.0.0.1 TCP port (in
#                                 RELAY_TEST_PORT_LO..HI, set per lane by
#                                 tests/run; 20000..31999 by default)
#   random_secret                 18 random hex characters
#   assert_threads NAME...        fails unless relay has threads so named
#   control_api_setup             for a test of the control API: a free
#                                 status_port, URL (http://127.0.0.1:PORT),
#                                 TOKEN (exported as
#                                 RELAY_TEST_CONTROL_TOKEN for [status]
#                                 token_env) and the curl options auth
#                                 (bearer TOKEN) and json (content type)
#   control_archive_config [STATUS_KEYS]  prints a relay config for it: a
#                                 silent tone titled "Studio live", a
#                                 Vorbis archive $T/archive.ogg, no Icecast,
#                                 [status] on status_port with the token
#                                 and STATUS_KEYS (more of its lines)
#   tone_config MOUNT [OUTPUT_KEYS] [INI] [STATUS_KEYS]  prints a relay
#                                 config: a 500 Hz tone, encoding main at
#                                 quality 2, output main on icecast a's
#                                 MOUNT (password_env
#                                 RELAY_TEST_SOURCE_PASSWORD: export it)
#                                 with OUTPUT_KEYS (more of its lines), then
#                                 INI (more sections) and [status] with
#                                 STATUS_KEYS (listen = off)
#   icecast_output NAME MOUNT [KEYS]  prints an [output NAME] section on
#                                 icecast a's MOUNT (password_env
#                                 RELAY_TEST_SOURCE_PASSWORD), then KEYS
#                                 (more of its lines); tone_config's output
#   LISTENBACK_KEYS               an output's keys for listen-back, as the
#                                 listen-back tests set it: on, 2 s timeout
#   silent_schedule_config [INI] [CHANNELS]  prints a relay config for
#                                 schedule tests: a silent tone input of
#                                 CHANNELS (1) channels at 44.1 kHz,
#                                 encoding e (as many channels, quality 4),
#                                 output "ice" on icecast a's /live.ogg,
#                                 output "archive" in $T/archive.ogg,
#                                 [schedule] $T/schedule.conf in UTC, then
#                                 INI (more sections)
#   stdin_batch_config NAME QUALITY BITRATE [INI]  prints a relay config for
#                                 a batch run: s16le stereo 44.1 kHz stdin
#                                 read to its end (at_end = exit), encoding
#                                 "vorbis" at QUALITY and "opus" at BITRATE
#                                 kbit/s into the file outputs $T/NAME.ogg
#                                 and $T/NAME.opus, [status] listen = off,
#                                 then INI (more sections)
#   wait_for [-t S] [-m WHAT] CMD...   polls CMD every 0.1 s for S (10) s
#   start_icecast NAME [OPTION]...   private icecast2; again with
#                                 the same NAME: restart on the same port,
#                                 passwords and options. --hidden MOUNT adds
#                                 <mount> MOUNT with <hidden>1</hidden>: not
#                                 listed in status-json.xsl; --cors
#                                 ORIGIN sends Access-Control-Allow-Origin:
#                                 ORIGIN (or *) on every answer, as a
#                                 fetch()-based player needs (the page on
#                                 Safari/iOS; docs/operations.md)
#                                 --listener-auth MOUNT USER PASSWORD:
#                                 <mount> MOUNT whose listeners must log
#                                 in as USER (htpasswd); others get 401
#                                 --alias SRC DST adds <alias>: listeners
#                                 of SRC get DST (sources still reach SRC)
#                                 --relay FROM MOUNT: an edge that pulls
#                                 MOUNT from the running icecast FROM
#                                 (<relay>, not on demand), under the
#                                 same mount name.
#                                 --master FROM: an edge relaying every
#                                 mount of FROM (<master-server>).
#                                 Both set <master-update-interval> to
#                                 ICE_MASTER_INTERVAL (2) s: how often
#                                 Icecast asks FROM for its mounts and
#                                 retries a failed pull (default 120 s).
#                                 --fallback MOUNT BACKUP: <mount> MOUNT
#                                 with <fallback-mount> BACKUP and
#                                 <fallback-override>1.
#                                 ICE_BURST_SIZE (8192) sets its
#                                 <burst-size> in bytes.
#                                 ICE_SOURCE_TIMEOUT (10) sets its
#                                 <source-timeout> in seconds.
#                                 ICE_LOGLEVEL (3) sets its <loglevel>
#                                 (4: debug, to see how Icecast handles
#                                 a stream).
#                                 ICE_EXTRA_BIND=ADDR adds a second
#                                 listen socket on ADDR (test 18).
#                                 --tls PEM adds an <ssl>1</ssl> listen
#                                 socket on 127.0.0.1 with PEM (certificate
#                                 and key in one file, as Icecast 2.4.4
#                                 wants) as <ssl-certificate>; its port
#                                 is ICE_TLS_PORT[NAME].
#                                 Sets ICE_PORT[NAME], ICE_PASSWORD[NAME]
#                                 (source), ICE_ADMIN_PASSWORD[NAME],
#                                 ICE_PID[NAME], ICE_DIR[NAME], and
#                                 ICECAST_PORT / ICECAST_PASSWORD (latest)
#   tls_ca DIR NAME               a test CA: DIR/NAME.crt, DIR/NAME.key
#   tls_cert DIR CA NAME SAN [START END]   a server certificate from CA
#                                 (tls_ca) for SAN ("DNS:localhost,IP:
#                                 127.0.0.1"), valid 30 days or from START
#                                 to END (openssl ca dates, YYYYMMDDHHMMSSZ;
#                                 in the past for an expired one): writes
#                                 DIR/NAME.crt, .key and .pem (both)
#   stop_icecast NAME [SIG]       SIG (TERM) and wait until it has exited
#   pause_icecast / resume_icecast NAME   kill -STOP / -CONT
#   icecast_ready PORT            status-json parses and names the server
#   ice_source PORT MOUNT         the mount's status-json object (compact)
#   ice_field PORT MOUNT FIELD    one field of it (raw)
#   mount_live PORT MOUNT         the mount is listed and carries audio
#   wait_mount PORT MOUNT [S]     wait_for mount_live, fails the test
#   start_relay CONFIG [ARGS...]  relay -c CONFIG in the background, stdout
#                                 and stderr to $RELAY_LOG, stdin from
#                                 $RELAY_STDIN (/dev/null); sets RELAY_PID
#   relay_alive                   relay has not exited
#   stop_relay [SIG] [S]          SIG (TERM), waits S (5) s, sets RELAY_RC
#                                 and RELAY_STOP_SECONDS; KILLs and returns
#                                 1 if it did not exit in time
#   log_has ERE / log_count ERE   search $RELAY_LOG
#   log_mark                      remembers how long $RELAY_LOG is now
#   log_since ERE                 true if a line after the mark matches
#   log_count_since ERE           how many lines after the mark match
#   bg CMD...                     runs an external command in the background,
#                                 stopped by cleanup; sets BG_PID
#   listen URL SECONDS OUT        curl -sN --max-time SECONDS (timeout is OK)
#   listen_bg URL SECONDS OUT     the same in the background; sets LISTEN_PID
#   listen_wait PID               waits for a background listener
#   check_vorbis FILE RATE CH MIN_S   Vorbis, RATE Hz, CH channels, at least
#                                 MIN_S seconds decodable; fails the test.
#                                 Sets VORBIS_SECONDS, VORBIS_RAW (s16le PCM),
#                                 VORBIS_INFO (ogginfo's text)
#   audio_stats RAW RATE CH [C [FROM]]   "FREQ_HZ PEAK_DBFS RMS_DBFS" of
#                                 channel C (1) of s16le PCM, from FROM s
#                                 (0.5; negative: that long before the end)
#   decoded_seconds FILE          seconds of audio ffmpeg decodes from FILE
#                                 (also from a capture still being written)
#   has_seconds FILE S            true once FILE decodes to at least S s
#   file_size FILE                bytes (0 when missing)
#   size_at_least FILE BYTES      true once FILE holds BYTES
#   assert_between VALUE MIN MAX WHAT   numeric range check, fails the test
#   check_sanitizer [FILE...]     fails on sanitizer reports in the files
#                                 (default $RELAY_LOG)
#   relay_sanitized               true when $RELAY is a sanitizer build
#                                 (ASan, UBSan or TSan: make check, make
#                                 tsan), which runs several times slower
#   at_cleanup CMD...             runs CMD at exit, after relay and every
#                                 background process stopped and before $T
#                                 is removed (e.g. umount a file system)
#
# Threads: none; each test is one bash process plus its children.

set -euo pipefail

TOPDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELAY_BUILD=${RELAY_BUILD:-build/release}
case $RELAY_BUILD in
/*) ;;
*) RELAY_BUILD=$TOPDIR/$RELAY_BUILD ;;
esac
RELAY=${RELAY:-$RELAY_BUILD/relay}
case $RELAY in
/*) ;;
*) RELAY=$TOPDIR/$RELAY ;;
esac
RELAY_TEST_TIMEOUT_MULT=${RELAY_TEST_TIMEOUT_MULT:-1}
TEST_NAME=$(basename "$0" .sh)
# Only the number goes into the path: a name like "wrong_password" in every
# logged path would match the very words a test greps relay's log for.
T=$(mktemp -d "${TMPDIR:-/tmp}/relay-t${TEST_NAME%%_*}.XXXXXX")
# icecast2 drops root (changeowner) and must still reach its log directory.
chmod 755 "$T"
RELAY_LOG=$T/relay.log
RELAY_PID=
RELAY_RC=
RELAY_STOP_SECONDS=
LOG_MARK=0
RELAY_STDIN=${RELAY_STDIN:-/dev/null}
BG_PID=
LISTEN_PID=
BG_PIDS=()
SANITIZER_FILES=()
CLEANUP_CMDS=()
ICE_SOURCE_TIMEOUT=${ICE_SOURCE_TIMEOUT:-10}
VORBIS_SECONDS=
VORBIS_RAW=
VORBIS_INFO=
ICECAST_PORT=
ICECAST_PASSWORD=
declare -A ICE_PORT=() ICE_PASSWORD=() ICE_ADMIN_PASSWORD=() ICE_PID=() \
    ICE_DIR=() ICE_MOUNTS_XML=() ICE_ALIASES_XML=() ICE_RELAYS_XML=() \
    ICE_HEADERS_XML=() ICE_TLS_PORT=() ICE_TLS_PEM=()
export RELAY_BUILD RELAY RELAY_TEST_TIMEOUT_MULT

SANITIZER_RE='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|ERROR SUMMARY: [1-9]|definitely lost: [1-9]'

note()
{
	printf '%s %s: %s\n' "$(date +%H:%M:%S.%3N)" "$TEST_NAME" "$*" >&2
}

fail()
{
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

skip()
{
	printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 77
}

scaled()
{
	awk -v s="$1" -v m="$RELAY_TEST_TIMEOUT_MULT" \
	    'BEGIN { printf "%.3f\n", s * m }'
}

now()
{
	# EPOCHREALTIME uses the locale's decimal mark; keep the digits only.
	local us=${EPOCHREALTIME//[!0-9]/}
	printf '%d.%06d\n' "$((us / 1000000))" "$((us % 1000000))"
}

# Microseconds since the epoch, for deadline arithmetic.
now_us()
{
	printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"
}

# Prints elapsed seconds since START (a value from now).
elapsed_since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'
}

random_secret()
{
	od -An -N9 -tx1 /dev/urandom | tr -d ' \n'
	printf '\n'
}

free_port()
{
	local p i used port_lo=${RELAY_TEST_PORT_LO:-20000}
	local port_hi=${RELAY_TEST_PORT_HI:-31999}
	for ((i = 0; i < 500; i++)); do
		p=$((port_lo + RANDOM % (port_hi - port_lo + 1)))
		if [[ -f $T/ports ]] && grep -qx "$p" "$T/ports"; then
			continue
		fi
		# Any socket on the port (listening, TIME-WAIT, ...) rules it out.
		used=$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ||
		    return 1
		if [[ -z $used ]]; then
			printf '%s\n' "$p" >>"$T/ports"
			printf '%s\n' "$p"
			return 0
		fi
	done
	note "free_port: no free port found"
	return 1
}

wait_for()
{
	local timeout=10 what='' deadline
	while [[ $# -gt 0 ]]; do
		case $1 in
		-t)
			timeout=$2
			shift 2
			;;
		-m)
			what=$2
			shift 2
			;;
		--)
			shift
			break
			;;
		*) break ;;
		esac
	done
	deadline=$(awk -v n="$(now_us)" -v s="$(scaled "$timeout")" \
	    'BEGIN { printf "%.0f\n", n + s * 1000000 }')
	while :; do
		if "$@"; then
			return 0
		fi
		if (($(now_us) > deadline)); then
			note "timed out after $(scaled "$timeout") s waiting for:" \
			    "${what:-$*}"
			return 1
		fi
		sleep 0.1
	done
}

# True when PID has exited (a zombie counts: it is only waiting for us).
proc_gone()
{
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[[ ${st%% *} == Z ]]
}

# --- icecast ---------------------------------------------------------------

icecast_ready()
{
	local json
	json=$(curl -sf --max-time 2 "http://127.0.0.1:$1/status-json.xsl") ||
	    return 1
	# For ~0.2 s after start icecast serves invalid JSON (FIELD-NOTES 0.2).
	jq -e .icestats.server_id <<<"$json" >/dev/null 2>&1
}

# Waits until icecast NAME answers (0), exits (1) or the deadline (2).
_icecast_wait()
{
	local name=$1 deadline
	deadline=$(awk -v n="$(now)" -v s="$(scaled 10)" 'BEGIN{printf "%.3f", n + s}')
	while :; do
		if proc_gone "${ICE_PID[$name]}"; then
			return 1
		fi
		icecast_ready "${ICE_PORT[$name]}" && return 0
		awk -v n="$(now)" -v d="$deadline" 'BEGIN{exit !(n > d)}' && return 2
		sleep 0.1
	done
}

start_icecast()
{
	local name=$1 dir port pw apw owner mounts='' aliases='' relays='' interval='' users=''
	local headers=''
	local tls_pem='' tls_xml='' tls_port=''
	[[ $name =~ ^[A-Za-z0-9_]+$ ]] || fail "start_icecast: bad name '$name'"
	shift
	while (($# > 0)); do
		case $1 in
		--tls)
			[[ -f ${2:-} ]] || fail "start_icecast: no PEM '${2:-}'"
			tls_pem=$2
			shift 2
			;;
		--hidden)
			[[ ${2:-} =~ ^/[A-Za-z0-9_.-]+$ ]] ||
			    fail "start_icecast: bad mount '${2:-}'"
			mounts+="
    <mount>
        <mount-name>$2</mount-name>
        <hidden>1</hidden>
    </mount>"
			shift 2
			;;
		--listener-auth)
			# Listeners of MOUNT log in (htpasswd); others get 401.
			[[ ${2:-} =~ ^/[A-Za-z0-9_.-]+$ && ${3:-} =~ ^[A-Za-z0-9]+$ && -n ${4:-} ]] ||
			    fail "start_icecast: --listener-auth MOUNT USER PASSWORD: bad '${2:-}' '${3:-}'"
			users+="$3:$(printf '%s' "$4" | md5sum | cut -d' ' -f1)
"
			mounts+="
    <mount>
        <mount-name>$2</mount-name>
        <authentication type=\"htpasswd\">
            <option name=\"filename\" value=\"$T/icecast-$name/listeners.htpasswd\"/>
            <option name=\"allow_duplicate_users\" value=\"1\"/>
        </authentication>
    </mount>"
			shift 4
			;;
		--alias)
			[[ ${2:-} =~ ^/[A-Za-z0-9_.-]+$ && ${3:-} =~ ^/[A-Za-z0-9_.-]+$ ]] ||
			    fail "start_icecast: bad alias '${2:-}' '${3:-}'"
			aliases+="
        <alias source=\"$2\" destination=\"$3\"/>"
			shift 3
			;;
		--relay)
			# An edge: pulls MOUNT from icecast FROM as a listener
			# would and serves it under the same name.
			[[ -n ${ICE_PORT[${2:-}]:-} && ${3:-} =~ ^/[A-Za-z0-9_.-]+$ ]] ||
			    fail "start_icecast: --relay FROM MOUNT: bad '${2:-}' '${3:-}'"
			interval="
    <master-update-interval>${ICE_MASTER_INTERVAL:-2}</master-update-interval>"
			relays+="
    <relay>
        <server>127.0.0.1</server>
        <port>${ICE_PORT[$2]}</port>
        <mount>$3</mount>
        <local-mount>$3</local-mount>
        <on-demand>0</on-demand>
        <relay-shoutcast-metadata>0</relay-shoutcast-metadata>
    </relay>"
			shift 3
			;;
		--master)
			# An edge: relays every mount icecast FROM lists,
			# asking for the list every ICE_MASTER_INTERVAL s.
			[[ -n ${ICE_PORT[${2:-}]:-} ]] ||
			    fail "start_icecast: --master: unknown icecast '${2:-}'"
			interval="
    <master-update-interval>${ICE_MASTER_INTERVAL:-2}</master-update-interval>"
			relays+="
    <master-server>127.0.0.1</master-server>
    <master-server-port>${ICE_PORT[$2]}</master-server-port>
    <master-username>relay</master-username>
    <master-password>${ICE_ADMIN_PASSWORD[$2]}</master-password>
    <relays-on-demand>0</relays-on-demand>"
			shift 2
			;;
		--fallback)
			[[ ${2:-} =~ ^/[A-Za-z0-9_.-]+$ && ${3:-} =~ ^/[A-Za-z0-9_.-]+$ ]] ||
			    fail "start_icecast: --fallback MOUNT BACKUP: bad '${2:-}' '${3:-}'"
			mounts+="
    <mount>
        <mount-name>$2</mount-name>
        <fallback-mount>$3</fallback-mount>
        <fallback-override>1</fallback-override>
    </mount>"
			shift 3
			;;
		--cors)
			[[ ${2:-} =~ ^(\*|https?://[A-Za-z0-9.:-]+)$ ]] ||
			    fail "start_icecast: bad origin '${2:-}'"
			headers="
    <http-headers>
        <header name=\"Access-Control-Allow-Origin\" value=\"$2\" />
    </http-headers>"
			shift 2
			;;
		*) fail "start_icecast: unknown option '$1'" ;;
		esac
	done
	relays=$interval$relays
	command -v icecast2 >/dev/null || fail "icecast2 is not installed"
	dir=$T/icecast-$name
	mkdir -p "$dir/log"
	[[ -z $users ]] || printf '%s' "$users" >"$dir/listeners.htpasswd"
	if [[ -n ${ICE_PORT[$name]:-} ]]; then
		[[ -z ${ICE_PID[$name]:-} ]] ||
		    fail "start_icecast: $name is already running"
		port=${ICE_PORT[$name]}
		pw=${ICE_PASSWORD[$name]}
		apw=${ICE_ADMIN_PASSWORD[$name]}
		[[ -n $mounts ]] || mounts=${ICE_MOUNTS_XML[$name]:-}
		[[ -n $aliases ]] || aliases=${ICE_ALIASES_XML[$name]:-}
		[[ -n $relays ]] || relays=${ICE_RELAYS_XML[$name]:-}
		[[ -n $headers ]] || headers=${ICE_HEADERS_XML[$name]:-}
		[[ -n $tls_pem ]] || tls_pem=${ICE_TLS_PEM[$name]:-}
		tls_port=${ICE_TLS_PORT[$name]:-}
	else
		port=$(free_port) || fail "no free port for icecast $name"
		pw=$(random_secret)
		apw=$(random_secret)
	fi
	if [[ -n $tls_pem ]]; then
		[[ -n $tls_port ]] || tls_port=$(free_port) ||
		    fail "no free port for icecast $name TLS"
		# In its own directory: icecast2 drops root and must read it.
		cp "$tls_pem" "$dir/ssl.pem"
		tls_xml="
    <listen-socket>
        <port>$tls_port</port>
        <bind-address>127.0.0.1</bind-address>
        <ssl>1</ssl>
    </listen-socket>"
	fi
	owner=
	if [[ $(id -u) -eq 0 ]]; then
		# icecast2 refuses to run as root (FIELD-NOTES 0.1).
		owner='<changeowner><user>icecast2</user><group>icecast</group></changeowner>'
	fi
	cat >"$dir/icecast.xml" <<EOF
<icecast>
    <location>relay test $TEST_NAME</location>
    <admin>test@localhost</admin>
    <hostname>127.0.0.1</hostname>
    <limits>
        <clients>200</clients>
        <sources>50</sources>
        <queue-size>1048576</queue-size>
        <client-timeout>30</client-timeout>
        <header-timeout>15</header-timeout>
        <source-timeout>$ICE_SOURCE_TIMEOUT</source-timeout>
        <burst-on-connect>1</burst-on-connect>
        <burst-size>${ICE_BURST_SIZE:-8192}</burst-size>
    </limits>
    <authentication>
        <source-password>$pw</source-password>
        <relay-password>$apw</relay-password>
        <admin-user>admin</admin-user>
        <admin-password>$apw</admin-password>
    </authentication>
    <listen-socket>
        <port>$port</port>
        <bind-address>127.0.0.1</bind-address>
    </listen-socket>${ICE_EXTRA_BIND:+
    <listen-socket>
        <port>$port</port>
        <bind-address>$ICE_EXTRA_BIND</bind-address>
    </listen-socket>}$tls_xml
    <fileserve>1</fileserve>$headers$mounts$relays
    <paths>
        <basedir>/usr/share/icecast2</basedir>
        <logdir>$dir/log</logdir>
        <webroot>/usr/share/icecast2/web</webroot>
        <adminroot>/usr/share/icecast2/admin</adminroot>
        <pidfile>$dir/icecast.pid</pidfile>$aliases${tls_pem:+
        <ssl-certificate>$dir/ssl.pem</ssl-certificate>}
    </paths>
    <logging>
        <accesslog>access.log</accesslog>
        <errorlog>error.log</errorlog>
        <loglevel>${ICE_LOGLEVEL:-3}</loglevel>
        <logsize>10000</logsize>
    </logging>
    <security>
        <chroot>0</chroot>
        $owner
    </security>
</icecast>
EOF
	if [[ -n $owner ]]; then
		chown -R icecast2:icecast "$dir"
	fi
	ICE_PORT[$name]=$port
	ICE_PASSWORD[$name]=$pw
	ICE_ADMIN_PASSWORD[$name]=$apw
	ICE_DIR[$name]=$dir
	ICE_MOUNTS_XML[$name]=$mounts
	ICE_ALIASES_XML[$name]=$aliases
	ICE_RELAYS_XML[$name]=$relays
	ICE_HEADERS_XML[$name]=$headers
	ICE_TLS_PEM[$name]=$tls_pem
	ICE_TLS_PORT[$name]=$tls_port
	export ICECAST_PORT=$port ICECAST_PASSWORD=$pw
	# icecast2 2.4.4 now and then crashes (SIGSEGV) while starting up,
	# before it serves anything: that is the server, not relay, so start
	# it again, up to three times.
	local attempt rc
	for attempt in 1 2 3; do
		icecast2 -c "$dir/icecast.xml" >>"$dir/stdout.log" 2>&1 &
		ICE_PID[$name]=$!
		rc=0
		_icecast_wait "$name" || rc=$?
		[[ $rc -eq 0 ]] && break
		if [[ $rc -eq 2 ]]; then
			fail "icecast $name did not answer on port $port"
		fi
		note "icecast $name exited while starting (attempt $attempt); its logs:"
		cat "$dir/stdout.log" "$dir/log/error.log" >&2 2>/dev/null || true
		[[ $attempt -lt 3 ]] || fail "icecast $name did not start"
	done
	note "icecast $name up on 127.0.0.1:$port${tls_port:+ and TLS :$tls_port} (pid ${ICE_PID[$name]})"
}

# --- TLS certificates (openssl only, nothing leaves $T) --------------------

tls_ca()
{
	local dir=$1 name=$2
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
	    -subj "/CN=relay test CA $name" -keyout "$dir/$name.key" \
	    -out "$dir/$name.crt" 2>"$dir/$name.openssl.log" ||
	    fail "openssl could not make CA $name: $(tail -3 "$dir/$name.openssl.log")"
}

tls_cert()
{
	local dir=$1 ca=$2 name=$3 san=$4 start=${5:-} end=${6:-} db
	local -a dates=()
	db=$dir/$ca.db
	mkdir -p "$db/new"
	[[ -f $db/index.txt ]] || : >"$db/index.txt"
	[[ -f $db/serial ]] || printf '%s\n' "$(random_secret | cut -c1-16)" \
	    >"$db/serial"
	printf '%s\n' "[ca]" "default_ca = ca_test" "[ca_test]" \
	    "database = $db/index.txt" "new_certs_dir = $db/new" \
	    "serial = $db/serial" "default_md = sha256" "policy = policy_any" \
	    "unique_subject = no" "default_days = 30" "[policy_any]" \
	    "commonName = supplied" "[server]" \
	    "basicConstraints = critical, CA:FALSE" \
	    "keyUsage = critical, digitalSignature, keyEncipherment" \
	    "extendedKeyUsage = serverAuth, clientAuth" \
	    "subjectAltName = $san" >"$db/ca.cnf"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
	    -keyout "$dir/$name.key" -out "$dir/$name.csr" \
	    2>"$dir/$name.openssl.log" ||
	    fail "openssl req $name: $(tail -3 "$dir/$name.openssl.log")"
	if [[ -n $start ]]; then
		dates=(-startdate "$start" -enddate "$end")
	fi
	openssl ca -batch -notext -config "$db/ca.cnf" -extensions server \
	    -cert "$dir/$ca.crt" -keyfile "$dir/$ca.key" "${dates[@]}" \
	    -in "$dir/$name.csr" -out "$dir/$name.crt" \
	    2>>"$dir/$name.openssl.log" ||
	    fail "openssl ca $name: $(tail -3 "$dir/$name.openssl.log")"
	cat "$dir/$name.crt" "$dir/$name.key" >"$dir/$name.pem"
}

stop_icecast()
{
	local name=$1 sig=${2:-TERM} pid=${ICE_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	# A stopped process only acts on the signal once it runs again.
	kill -CONT "$pid" 2>/dev/null || true
	if ! wait_for -t 6 -m "icecast $name to exit" proc_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	ICE_PID[$name]=
}

pause_icecast()
{
	kill -STOP "${ICE_PID[$1]}"
}

resume_icecast()
{
	kill -CONT "${ICE_PID[$1]}"
}

ice_source()
{
	local json
	json=$(curl -sf --max-time 3 "http://127.0.0.1:$1/status-json.xsl") ||
	    return 1
	# source is absent, an object or an array (FIELD-NOTES 4.1).
	jq -ce --arg m "$2" '[.icestats.source // empty] | flatten
	    | map(select((.listenurl // "") | sub("^[a-z]+://[^/]*"; "") == $m))
	    | first // empty' <<<"$json" 2>/dev/null
}

ice_field()
{
	local src
	src=$(ice_source "$1" "$2") || return 1
	jq -r --arg f "$3" '.[$f] // empty' <<<"$src"
}

mount_live()
{
	local src
	src=$(ice_source "$1" "$2") || return 1
	# Listed without subtype = connected but no audio (FIELD-NOTES 2.5).
	jq -e 'has("subtype")' <<<"$src" >/dev/null
}

wait_mount()
{
	wait_for -t "${3:-15}" -m "mount $2 live on port $1" \
	    mount_live "$1" "$2" || fail "mount $2 on port $1 never went live"
}

# --- relay -----------------------------------------------------------------

start_relay()
{
	local cfg=$1
	shift
	[[ -f $RELAY && -x $RELAY ]] || fail "relay binary not found: $RELAY (run make)"
	printf '### %s start_relay -c %s %s\n' "$(now)" "$cfg" "$*" \
	    >>"$RELAY_LOG"
	# RELAY_WRAPPER (make valgrind) runs relay under a tool; word
	# splitting is wanted there.
	# shellcheck disable=SC2086
	${RELAY_WRAPPER:-} "$RELAY" -c "$cfg" "$@" <"$RELAY_STDIN" \
	    >>"$RELAY_LOG" 2>&1 &
	RELAY_PID=$!
	export RELAY_PID
	note "relay started (pid $RELAY_PID, log $RELAY_LOG)"
}

# Fails the test unless relay's threads include every NAME given
# (/proc/PID/task/*/comm: what top -H, ps -L and gdb show).
assert_threads()
{
	local names want
	names=$(cat /proc/"$RELAY_PID"/task/*/comm 2>/dev/null | sort -u) ||
	    fail "cannot read relay's thread names"
	for want in "$@"; do
		grep -qxF -- "$want" <<<"$names" ||
		    fail "no relay thread named '$want' (threads:" \
		    "$(tr '\n' ' ' <<<"$names"))"
	done
}

control_api_setup()
{
	status_port=$(free_port) || fail "no free port"
	URL=http://127.0.0.1:$status_port
	TOKEN=$(random_secret)
	export RELAY_TEST_CONTROL_TOKEN=$TOKEN
	auth=(-H "Authorization: Bearer $TOKEN")
	json=(-H 'Content-Type: application/json')
}

# control_archive_config [EXTRA_STATUS_KEYS]: relay with a silent tone
# titled "Studio live", one Vorbis archive ($T/archive.ogg), no Icecast,
# and the status server with the control API on $status_port (after
# control_api_setup); EXTRA_STATUS_KEYS are more [status] lines.
# control_post CURL_ARGS...: a POST with the control token and a JSON
# body (control_api_setup); prints the HTTP code, the body goes to $T/body.
control_post()
{
	curl -s -X POST "${auth[@]}" "${json[@]}" -o "$T/body" \
	    -w '%{http_code}' --max-time 10 "$@" || true
}

control_archive_config()
{
	cat <<EOF
[input]
type = tone
frequency = 0
rate = 44100
channels = 1
title = Studio live
[encoding e]
rate = 44100
channels = 1
quality = 2
[output archive]
type = file
path = $T/archive.ogg
encoding = e
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
${1:-}
EOF
}

icecast_output()
{
	cat <<EOF
[output $1]
host = 127.0.0.1
port = ${ICE_PORT[a]}
mount = $2
password_env = RELAY_TEST_SOURCE_PASSWORD
${3:-}
EOF
}

LISTENBACK_KEYS=$'listenback = yes\nlistenback_timeout = 2s'

# stdin_pause_config [OUTPUT_KEYS] [SECTIONS]: s16le stereo on stdin (what
# tests/tools/pcm_script.py writes), one Vorbis q2 encoding sent to
# /live.ogg on server a with OUTPUT_KEYS, then SECTIONS (whole sections:
# a [fallback]), and the status server on $status_port, polling Icecast
# every second (123, 124, 129: pauses in the studio).
stdin_pause_config()
{
	cat <<EOF
[input]
type = stdin
format = s16le
rate = 44100
channels = 2

[encoding main]
quality = 2

$(icecast_output main /live.ogg "${1:-}")

${2:-}

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
EOF
}

# hook_logger PATH: an executable hook at PATH that appends
# "RELAY_EVENT|RELAY_STATE|RELAY_REASON" to hook.log beside it.
hook_logger()
{
	cat >"$1" <<'EOF'
#!/bin/sh
echo "$RELAY_EVENT|$RELAY_STATE|$RELAY_REASON" >>"${0%/*}/hook.log"
EOF
	chmod +x "$1"
}

tone_config()
{
	cat <<EOF
[input]
type = tone
frequency = 500

[encoding main]
quality = 2

$(icecast_output main "$1" "${2:-}")

${3:-}

[status]
${4:-listen = off}
EOF
}

silent_schedule_config()
{
	cat <<EOF
[input]
type = tone
frequency = 0
channels = ${2:-1}
[encoding e]
channels = ${2:-1}
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
[output archive]
type = file
path = $T/archive.ogg
[schedule]
file = $T/schedule.conf
timezone = UTC
${1:-}
EOF
}

# api_station_config [EXTRA]: a station for the programme's control-API
# tests: a silent live programme (tone 0 Hz, mono, titled Studio), one
# Icecast mount /live.ogg on server a, the status server on $status_port
# with the control token (control_api_setup), and the schedule
# $T/schedule.conf in UTC. EXTRA (whole sections) goes before [status].
api_station_config()
{
	cat <<EOF
[input]
type = tone
frequency = 0
channels = 1
title = Studio
[encoding e]
channels = 1
quality = 2
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
${1:-}
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF
}

# tone_segment NAME EPOCH DURATION FREQUENCY [TITLE]: a schedule's
# [segment NAME] from that second: a -12 dBFS tone, titled when TITLE is
# given.
tone_segment()
{
	cat <<EOF
[segment $1]
at = $(utc "$2")
source = tone
frequency = $4
level_dbfs = -12
duration = $3
EOF
	[[ -z ${5:-} ]] || echo "title = $5"
}

# news_segment EPOCH [DURATION]: a schedule's [segment news] from that
# second: a 600 Hz tone titled News, 60 s unless DURATION says otherwise.
news_segment() { tone_segment news "$1" "${2:-60s}" 600 News; }

# stdin_air_config PORT STATUS_PORT: s16le stereo on stdin, one Vorbis
# q1 encoding sent to PORT's /air.ogg, the status server on STATUS_PORT;
# the test adds its [fallback] (and what else it needs).
stdin_air_config()
{
	cat <<EOF
[input]
type = stdin
format = s16le
rate = 44100
channels = 2

[encoding main]
rate = 44100
channels = 2
quality = 1

[output main]
host = 127.0.0.1
port = $1
mount = /air.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$2

EOF
}

# filler_air_config PORT STATUS_PORT SOURCE PATH [AFTER]: stdin_air_config,
# an archive of the programme in $T/archive.ogg, and a [fallback] filler
# of SOURCE (file or playlist) at PATH on air AFTER (1s) of dead air.
filler_air_config()
{
	stdin_air_config "$1" "$2"
	cat <<EOF
[output archive]
type = file
path = $T/archive.ogg

[fallback]
after = ${5:-1s}
restore_after = 1s
source = $3
path = $4
EOF
}

# utc EPOCH: a schedule's `at` for that second.
utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }

# /api/status at $URL (control_api_setup): the whole answer, whether it
# matches a jq expression, and whether segment NAME is on air.
status_now() { curl -sf --max-time 3 "$URL/api/status"; }
status_has() { status_now | jq -e "$1" >/dev/null 2>&1; }
on_air() { status_has ".state == \"segment\" and .now.segment == \"$1\""; }

# relay's own listen-back on /live.ogg and the listener counts (73, 77):
# relay's status on $status_port, Icecast on $port.
lb_status() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
counts() { lb_status | jq -r '"\(.listeners) \(.outputs[0].listeners)"'; }
counts_are() { [[ $(counts 2>/dev/null) == "$1" ]]; }
ice_listeners_are() { [[ $(ice_field "$port" /live.ogg listeners 2>/dev/null) == "$1" ]]; }
# Starts relay with config $1 and waits until its listen-back is ok and
# Icecast lists it as the mount's one listener, then two of relay's polls.
start_relay_listened_back()
{
	start_relay "$1"
	wait_mount "$port" /live.ogg
	wait_for -t 15 -m "listen-back ok" lb_status_ok ||
		fail "listen-back never reported ok: $(lb_status | jq -c .outputs[0].listenback)"
	wait_for -t 5 -m "Icecast listing our listen-back" ice_listeners_are 1 ||
		fail "Icecast lists $(ice_field "$port" /live.ogg listeners) listeners, not 1 (ours)"
	sleep "$(scaled 2.5)" # two polls (1 s) after Icecast counts it
}
lb_status_ok() { [[ $(lb_status | jq -r .outputs[0].listenback.state 2>/dev/null) == ok ]]; }

stdin_batch_config()
{
	cat <<EOF
[input]
type = stdin
format = s16le
rate = 44100
channels = 2
at_end = exit
[encoding vorbis]
quality = $2
[encoding opus]
codec = opus
bitrate = $3
[output vorbis]
type = file
path = $T/$1.ogg
encoding = vorbis
[output opus]
type = file
path = $T/$1.opus
encoding = opus
[status]
listen = off
${4:-}
EOF
}

relay_alive()
{
	[[ -n $RELAY_PID ]] && ! proc_gone "$RELAY_PID"
}

stop_relay()
{
	local sig=${1:-TERM} limit=${2:-5} start
	RELAY_RC=
	RELAY_STOP_SECONDS=
	[[ -n $RELAY_PID ]] || return 0
	start=$(now)
	kill -"$sig" "$RELAY_PID" 2>/dev/null || true
	if ! wait_for -t "$limit" -m "relay to exit after SIG$sig" \
	    proc_gone "$RELAY_PID"; then
		kill -KILL "$RELAY_PID" 2>/dev/null || true
		wait "$RELAY_PID" 2>/dev/null || true
		RELAY_PID=
		return 1
	fi
	RELAY_STOP_SECONDS=$(elapsed_since "$start")
	RELAY_RC=0
	wait "$RELAY_PID" || RELAY_RC=$?
	RELAY_PID=
	return 0
}

# relay's own lines: start_relay's "### " markers are left out.
relay_lines()
{
	tail -n "+$((${1:-0} + 1))" "$RELAY_LOG" 2>/dev/null | grep -v '^### '
}

log_has()
{
	relay_lines | grep -E -- "$1" >/dev/null
}

log_count()
{
	local n
	n=$(relay_lines | grep -cE -- "$1") || true
	printf '%d\n' "${n:-0}"
}

log_mark()
{
	LOG_MARK=$(wc -l 2>/dev/null <"$RELAY_LOG") || LOG_MARK=0
}

log_since()
{
	relay_lines "${LOG_MARK:-0}" | grep -E -- "$1" >/dev/null
}

log_count_since()
{
	local n
	n=$(relay_lines "${LOG_MARK:-0}" | grep -cE -- "$1") || true
	printf '%d\n' "${n:-0}"
}

# --- background processes and listeners ------------------------------------

bg()
{
	"$@" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

listen()
{
	local rc=0
	curl -sN --max-time "$2" -o "$3" "$1" || rc=$?
	# 28: --max-time reached, the normal end of a live capture.
	if [[ $rc -ne 0 && $rc -ne 28 ]]; then
		note "listener $1: curl exit $rc"
		return 1
	fi
}

listen_bg()
{
	curl -sN --max-time "$2" -o "$3" "$1" &
	LISTEN_PID=$!
	BG_PIDS+=("$LISTEN_PID")
}

listen_wait()
{
	local rc=0
	wait "$1" || rc=$?
	if [[ $rc -ne 0 && $rc -ne 28 ]]; then
		note "background listener (pid $1): curl exit $rc"
		return 1
	fi
}

# --- audio checks ----------------------------------------------------------

check_vorbis()
{
	local f=$1 rate=$2 ch=$3 min=$4 got bytes
	VORBIS_SECONDS=
	VORBIS_RAW=
	[[ -s $f ]] || fail "$f: capture is empty"
	VORBIS_INFO=$f.ogginfo
	# ogginfo exits 1 on any cut live capture ("EOS not set", FIELD-NOTES
	# 1.4), so its text is what counts, not its exit code.
	ogginfo "$f" >"$VORBIS_INFO" 2>&1 || true
	grep -q 'type vorbis' "$VORBIS_INFO" ||
	    fail "$f: no Vorbis stream; ogginfo says: $(head -c 400 "$VORBIS_INFO")"
	if grep -qiE 'hole in data|corrupt|^error|decreases' "$VORBIS_INFO"; then
		fail "$f: damaged stream: $(grep -iE 'hole in data|corrupt|^error|decreases' \
		    "$VORBIS_INFO" | head -3)"
	fi
	got=$(sed -n 's/^[[:space:]]*Rate: *\([0-9]*\).*/\1/p' "$VORBIS_INFO" |
	    sort -u | tr '\n' ' ')
	[[ $got == "$rate " ]] || fail "$f: sample rate '${got% }', expected $rate"
	got=$(sed -n 's/^[[:space:]]*Channels: *\([0-9]*\).*/\1/p' \
	    "$VORBIS_INFO" | sort -u | tr '\n' ' ')
	[[ $got == "$ch " ]] || fail "$f: channels '${got% }', expected $ch"
	# ffprobe reports only the first chain of a chained stream; decode all.
	VORBIS_RAW=$f.s16le
	ffmpeg -nostdin -v error -i "$f" -f s16le -acodec pcm_s16le -y \
	    "$VORBIS_RAW" 2>"$f.ffmpeg.log" ||
	    fail "$f: ffmpeg cannot decode it: $(head -3 "$f.ffmpeg.log")"
	bytes=$(stat -c %s "$VORBIS_RAW")
	VORBIS_SECONDS=$(awk -v b="$bytes" -v r="$rate" -v c="$ch" \
	    'BEGIN { printf "%.2f\n", b / (2 * r * c) }')
	assert_between "$VORBIS_SECONDS" "$min" 1e9 "$f: decoded seconds"
	note "$f: Vorbis ${rate} Hz ${ch} ch, ${VORBIS_SECONDS} s decoded"
}

audio_stats()
{
	local out freq peak rms
	out=$(sox -t raw -r "$2" -c "$3" -b 16 -e signed-integer "$1" -n \
	    remix "${4:-1}" trim "${5:-0.5}" stat 2>&1) || {
		note "sox stat failed: $out"
		return 1
	}
	freq=$(sed -n 's/^Rough[[:space:]]*frequency:[[:space:]]*//p' <<<"$out")
	peak=$(sed -n 's/^Maximum amplitude:[[:space:]]*//p' <<<"$out")
	rms=$(sed -n 's/^RMS[[:space:]]*amplitude:[[:space:]]*//p' <<<"$out")
	[[ -n $freq && -n $peak && -n $rms ]] || {
		note "sox stat: unexpected output: $out"
		return 1
	}
	awk -v f="$freq" -v p="$peak" -v r="$rms" 'BEGIN {
		if (p < 1e-6) p = 1e-6
		if (r < 1e-6) r = 1e-6
		printf "%d %.1f %.1f\n", f, 20 * log(p) / log(10),
		    20 * log(r) / log(10)
	}'
}

decoded_seconds()
{
	local info rate ch bytes
	info=$(ffprobe -v error -select_streams a:0 -show_entries \
	    stream=sample_rate,channels -of csv=p=0 "$1" 2>/dev/null) || return 1
	rate=${info%%,*}
	ch=${info##*,}
	[[ $rate =~ ^[0-9]+$ && $ch =~ ^[0-9]+$ ]] || return 1
	bytes=$(ffmpeg -nostdin -v quiet -i "$1" -f s16le -acodec pcm_s16le - \
	    2>/dev/null | wc -c) || true
	awk -v b="${bytes:-0}" -v r="$rate" -v c="$ch" \
	    'BEGIN { printf "%.2f\n", b / (2 * r * c) }'
}

has_seconds()
{
	local s
	[[ -s $1 ]] || return 1
	s=$(decoded_seconds "$1") || return 1
	awk -v s="$s" -v m="$2" 'BEGIN { exit !(s + 0 >= m + 0) }'
}

file_size()
{
	stat -c %s "$1" 2>/dev/null || echo 0
}

size_at_least()
{
	(($(file_size "$1") >= $2))
}

assert_between()
{
	awk -v v="$1" -v lo="$2" -v hi="$3" \
	    'BEGIN { exit !(v != "" && v + 0 >= lo + 0 && v + 0 <= hi + 0) }' ||
	    fail "$4: $1 is not within [$2, $3]"
}

# --- cleanup ---------------------------------------------------------------

at_cleanup()
{
	CLEANUP_CMDS+=("$(printf '%q ' "$@")")
}

relay_sanitized()
{
	grep -qaE -- '__(asan|ubsan|tsan)_' "$RELAY"
}

check_sanitizer()
{
	local f hits
	(($# > 0)) || set -- "$RELAY_LOG"
	for f in "$@"; do
		[[ -f $f ]] || continue
		hits=$(grep -E -A8 -- "$SANITIZER_RE" "$f" | head -40) || true
		if [[ -n $hits ]]; then
			printf '%s\n' "$hits" >&2
			fail "sanitizer report in $f"
		fi
	done
}

cleanup()
{
	local rc=$? pid name cmd
	set +e
	trap - EXIT INT TERM
	if [[ -n $RELAY_PID ]] && ! proc_gone "$RELAY_PID"; then
		# TERM, not KILL: sanitizer leak reports come at exit.
		kill -TERM "$RELAY_PID" 2>/dev/null
		wait_for -t 5 -m "relay to exit" proc_gone "$RELAY_PID" ||
		    kill -KILL "$RELAY_PID" 2>/dev/null
	fi
	[[ -z $RELAY_PID ]] || wait "$RELAY_PID" 2>/dev/null
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for name in "${!ICE_PID[@]}"; do
		pid=${ICE_PID[$name]}
		[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
		[[ -n $pid ]] && kill -CONT "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		wait_for -t 3 proc_gone "$pid" 2>/dev/null ||
		    kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	for cmd in "${CLEANUP_CMDS[@]}"; do
		eval "$cmd" || note "cleanup: '$cmd' failed"
	done
	if [[ $rc -eq 0 || $rc -eq 77 ]]; then
		(check_sanitizer "$RELAY_LOG" "${SANITIZER_FILES[@]}") || rc=1
	fi
	if [[ $rc -eq 0 || $rc -eq 77 ]]; then
		if [[ ${RELAY_TEST_KEEP:-0} == 1 ]]; then
			printf '%s: kept %s\n' "$TEST_NAME" "$T" >&2
		else
			rm -rf "$T"
		fi
	else
		if [[ -s $RELAY_LOG ]]; then
			printf -- '--- last lines of %s\n' "$RELAY_LOG" >&2
			tail -n 30 "$RELAY_LOG" >&2
		fi
		printf 'FAIL: %s (exit %d); kept %s\n' "$TEST_NAME" "$rc" "$T" >&2
	fi
	exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
