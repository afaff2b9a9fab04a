#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 71 log catalog: every warning and error line in the source (log_warn,
# log_err, log_msg at WARN or ERROR, and the error texts of the outputs and
# inputs that end up in them) is explained in docs/troubleshooting.md
# (tests/tools/log_catalog.py --check). Also checks that the catalog finds
# messages at all, so a broken extractor cannot pass by finding none.
#
# timeout: 30

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

cat_py=$TOPDIR/tests/tools/log_catalog.py
python3 "$cat_py" >"$T/catalog.txt" || fail "log_catalog.py failed"
n=$(wc -l <"$T/catalog.txt")
((n >= 50)) || fail "the catalog found only $n messages in relay/*.c"
grep -q "login refused (401)" "$T/catalog.txt" ||
    fail "the catalog misses the output's login error"
python3 "$cat_py" --check "$TOPDIR/docs/troubleshooting.md" >"$T/check.out" ||
    fail "docs/troubleshooting.md is missing messages: $(head -n 20 "$T/check.out")"
# And the check itself fails on a catalog without an entry.
grep -v "login refused (401)" "$TOPDIR/docs/troubleshooting.md" >"$T/partial.md"
! python3 "$cat_py" --check "$T/partial.md" >/dev/null ||
    fail "the check passes with an entry removed"
note "$(tail -n 1 "$T/check.out")"
