#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/tools/log_catalog.py [--check FILE]: every warning and error line
relay can log, read from the source: each log_warn(), log_err() and
log_msg(...WARN...) call in relay/*.c, its format string put together from
its string literals, each conversion (%s, %.1f, %zu, ...) shown as "…".
Formats that are nothing but conversions (the text comes from elsewhere,
such as a config error) are left out.

Without --check: prints "module-file<TAB>level<TAB>key" lines.
With --check FILE (docs/troubleshooting.md): every key must appear in FILE
between backticks; prints the missing ones and exits 1 if there are any.
"""
import glob
import os
import re
import sys

CONV = re.compile(r"%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]|%\"\s*PRI[diux]\d*\s*\"")


def rest_of_call(src, i):
    """The text from i up to the ")" that closes a call opened before i
    (nested parentheses and string literals skipped)."""
    j = i
    depth = 1
    while depth:
        c = src[j]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == '"':
            j += 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
        j += 1
    return src[i:j - 1]


def calls(src):
    for m in re.finditer(r"\blog_(warn|err|msg)\s*\(", src):
        yield m.group(1), rest_of_call(src, m.end())


def split_args(args):
    """Top-level comma-separated arguments."""
    out, depth, cur, i = [], 0, "", 0
    while i < len(args):
        c = args[i]
        if c == '"':
            j = i + 1
            while args[j] != '"':
                j += 2 if args[j] == "\\" else 1
            cur += args[i:j + 1]
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return out


def key_of(args, macros=None):
    """The format argument (the one after the module), its literals joined;
    PRIu64 and friends between them count as a conversion, and string
    macros of the same file (#define NAME "text") are put in."""
    parts = split_args(args)
    if len(parts) < 2:
        return ""
    text = parts[1]
    for name, value in (macros or {}).items():
        text = re.sub(r'(?<=")\s*\b%s\b\s*(?=")' % name, '"%s"' % value, text)
    text = re.sub(r'"\s*PRI[diux]\d*\s*"', "d", text)
    lits = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    fmt = "".join(lits).replace('\\"', '"')
    key = CONV.sub("…", fmt)
    return key


# Files whose error texts (snprintf(err, errlen, ...)) become the reason in
# an output's or the input's warning line ("...: REASON; retrying in 2 s").
REASON_FILES = ("output_icecast.c", "output_file.c", "input_alsa.c",
                "input_stdin.c", "input_file.c")


def reasons(src):
    for m in re.finditer(r"\bsnprintf\s*\(\s*err\s*,\s*errlen\s*,", src):
        yield "x," + rest_of_call(src, m.end())


def catalog(top):
    out = []
    for path in sorted(glob.glob(os.path.join(top, "relay", "*.c"))):
        src = open(path, encoding="utf-8").read()
        macros = dict(re.findall(r'^#define\s+([A-Z_][A-Z0-9_]*)\s+"((?:[^"\\]|\\.)*)"\s*$', src, re.M))
        for kind, args in calls(src):
            if kind == "msg":
                if "LOG_LEVEL_WARN" in args:
                    level = "warn"
                elif "LOG_LEVEL_ERROR" in args:
                    level = "error"
                else:
                    continue
                args = args.split(",", 1)[1]
            else:
                level = "warn" if kind == "warn" else "error"
            key = key_of(args, macros)
            if re.fullmatch(r"[…:; ]*", key):
                continue
            out.append((os.path.basename(path), level, key))
        if os.path.basename(path) in REASON_FILES:
            for args in reasons(src):
                key = key_of(args, macros)
                if not re.fullmatch(r"[…:; ]*", key):
                    out.append((os.path.basename(path), "reason", key))
    return out


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    cat = catalog(top)
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        doc = open(sys.argv[2], encoding="utf-8").read()
        missing = [c for c in cat if "`" + c[2] + "`" not in doc]
        for f, level, key in missing:
            print("%s: %s not documented: `%s`" % (f, level, key))
        print("%d of %d log messages documented" % (len(cat) - len(missing), len(cat)))
        return 1 if missing else 0
    for f, level, key in cat:
        print("%s\t%s\t%s" % (f, level, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
