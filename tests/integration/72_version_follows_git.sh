#!/usr/bin/env bash
# serial: relinks relay, which the other tests run
# SPDX-License-Identifier: MIT
#
# 72 version follows git: `relay --version` (and the page's build line)
# names the revision relay was built from, also after an incremental
# build. The Makefile passed the revision as a flag of version.o, but
# nothing rebuilt version.o when HEAD moved: a station that pulled an
# update and ran make install went on showing the old revision. Here the
# revision is overridden (GIT_REV=feed123, as if HEAD had moved), relay is
# rebuilt incrementally and must say feed123; a second build with the real
# revision restores the binary the other tests use.
#
# timeout: 300

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

rev=$(git -C "$TOPDIR" rev-parse --short HEAD 2>/dev/null) ||
    skip "not a git checkout"
variant=$(basename "$RELAY_BUILD")
bin=$TOPDIR/build/$variant/relay

rebuild()
{
	make -s -C "$TOPDIR" VARIANT="$variant" "$@" "build/$variant/relay" \
	    >"$T/make.log" 2>&1 || fail "make failed: $(tail -5 "$T/make.log")"
}
# The real revision is restored whatever happens below.
at_cleanup make -s -C "$TOPDIR" VARIANT="$variant" "build/$variant/relay"

rebuild GIT_REV=feed123
got=$("$bin" --version) || fail "relay --version failed"
[[ $got == *"(feed123)"* ]] ||
    fail "after HEAD moved (GIT_REV=feed123) relay --version says: $got"
rebuild
got=$("$bin" --version) || fail "relay --version failed"
[[ $got == *"($rev)"* ]] || fail "relay --version says $got, HEAD is $rev"
note "relay --version follows the revision: $got"
