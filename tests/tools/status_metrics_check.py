#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Strict checker for the Prometheus text exposition format (0.0.4).

Usage: status_metrics_check.py FILE [--require NAME ...]

Reads FILE (the body of GET /metrics) and fails (exit 1, reason on stderr)
on anything a strict reader would reject:
  - a line that is not "# HELP name text", "# TYPE name type", another
    comment, or a sample "name{label="value",...} value [timestamp]";
  - a bad metric or label name, a label value with an escape other than
    \\\\ \\" \\n, a duplicate label name, a value that is not a float
    (NaN, +Inf, -Inf allowed), a bad timestamp;
  - TYPE after the family's first sample, TYPE or HELP given twice, an
    unknown type, a family whose lines are not all together;
  - the same series (name + label set) twice; a counter not named *_total;
  - a missing final newline, or a required family without a TYPE line.
On success prints one JSON object {"series": value, ...} on stdout, the
series written as name{a="x",b="y"} with labels sorted, for jq.
"""
import json
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
FLOAT = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


class Bad(Exception):
    pass


def parse_value(text, lineno):
    if text in ('NaN', '+Inf', '-Inf', 'Inf'):
        return {'NaN': math.nan, '+Inf': math.inf, 'Inf': math.inf,
                '-Inf': -math.inf}[text]
    if not FLOAT.fullmatch(text):
        raise Bad(f'line {lineno}: bad value {text!r}')
    return float(text)


def parse_labels(s, i, lineno):
    """Parses {a="x",...} starting at s[i] == '{'; returns (labels, end)."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == '}':
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise Bad(f'line {lineno}: bad label name at column {i + 1}')
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise Bad(f'line {lineno}: expected =" after label {name}')
        i += 2
        value = []
        while True:
            if i >= len(s):
                raise Bad(f'line {lineno}: unterminated label value')
            c = s[i]
            if c == '"':
                i += 1
                break
            if c == '\\':
                nxt = s[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    raise Bad(f'line {lineno}: bad escape \\{nxt} in label')
                value.append('\n' if nxt == 'n' else nxt)
                i += 2
                continue
            value.append(c)
            i += 1
        if name in labels:
            raise Bad(f'line {lineno}: label {name} given twice')
        labels[name] = ''.join(value)
        if i < len(s) and s[i] == ',':
            i += 1
        elif i < len(s) and s[i] == '}':
            continue
        else:
            raise Bad(f'line {lineno}: expected , or }} after label {name}')


def check(text, required):
    if not text.endswith('\n'):
        raise Bad('the body does not end with a newline')
    types, helps, series = {}, set(), {}
    finished = set()   # families whose block of lines has ended
    current = [None]

    def enter(family, lineno):
        """Every line of a family must sit in one block."""
        if family == current[0]:
            return
        if family in finished:
            raise Bad(f'line {lineno}: the lines of {family} are split')
        if current[0] is not None:
            finished.add(current[0])
        current[0] = family

    for lineno, line in enumerate(text[:-1].split('\n'), 1):
        if line == '':
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) < 3 or parts[0] != '#' or \
                    parts[1] not in ('HELP', 'TYPE'):
                continue  # an ordinary comment
            name = parts[2]
            if not NAME.fullmatch(name):
                raise Bad(f'line {lineno}: bad metric name {name!r}')
            enter(name, lineno)
            if parts[1] == 'TYPE':
                if len(parts) != 4 or parts[3] not in TYPES:
                    raise Bad(f'line {lineno}: bad TYPE line')
                if name in types:
                    raise Bad(f'line {lineno}: second TYPE for {name}')
                if any(k.split('{')[0] == name for k in series):
                    raise Bad(f'line {lineno}: TYPE after samples of {name}')
                if parts[3] == 'counter' and not name.endswith('_total'):
                    raise Bad(f'line {lineno}: counter {name} is not named '
                              f'*_total')
                types[name] = parts[3]
            else:
                if name in helps:
                    raise Bad(f'line {lineno}: second HELP for {name}')
                if len(parts) != 4 or parts[3].strip() == '':
                    raise Bad(f'line {lineno}: empty HELP for {name}')
                helps.add(name)
            continue
        m = NAME.match(line)
        if not m:
            raise Bad(f'line {lineno}: bad sample line {line!r}')
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == '{':
            labels, i = parse_labels(line, i, lineno)
        if line[i:i + 1] != ' ':
            raise Bad(f'line {lineno}: expected a space before the value')
        fields = line[i + 1:].split(' ')
        if len(fields) not in (1, 2):
            raise Bad(f'line {lineno}: expected "value [timestamp]"')
        value = parse_value(fields[0], lineno)
        if len(fields) == 2 and not re.fullmatch(r'-?[0-9]+', fields[1]):
            raise Bad(f'line {lineno}: bad timestamp {fields[1]!r}')
        enter(name, lineno)
        if name not in types:
            raise Bad(f'line {lineno}: sample of {name} without a TYPE')
        key = name
        if labels:
            key += '{' + ','.join(
                f'{k}={json.dumps(v)}' for k, v in sorted(labels.items())) + '}'
        if key in series:
            raise Bad(f'line {lineno}: series {key} given twice')
        if types[name] == 'counter' and not math.isnan(value) and value < 0:
            raise Bad(f'line {lineno}: counter {key} is negative')
        series[key] = value
    for name in required:
        if name not in types:
            raise Bad(f'required family {name} is missing')
    return series


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    required = []
    args = argv[2:]
    while args:
        if args[0] == '--require' and len(args) > 1:
            required.append(args[1])
            args = args[2:]
        else:
            print(f'unknown argument {args[0]!r}', file=sys.stderr)
            return 2
    with open(argv[1], encoding='utf-8') as f:
        text = f.read()
    try:
        series = check(text, required)
    except Bad as e:
        print(f'metrics: {e}', file=sys.stderr)
        return 1
    out = {k: (None if math.isnan(v) else v if math.isfinite(v) else str(v))
           for k, v in series.items()}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
