#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# tests/tools/status_hammer.py: many keep-alive clients polling one status
# path at once, for tests/integration/67_status_load.sh.
#   status_hammer.py HOST PORT PATH CLIENTS SECONDS
# Each client opens one HTTP/1.1 connection and sends GET PATH on it, one
# request after another, for SECONDS. Every answer must be 200 with a body
# that parses as JSON (a JSON object). Prints one JSON line:
#   {"requests": N, "ok": N, "bad": [first few problems], "codes": {...},
#    "connections": N}
# where connections counts every connection opened: CLIENTS when
# keep-alive held for the whole run. Asserts nothing itself.
#
# Threads: one per client.

import http.client
import json
import sys
import threading
import time


def client(host, port, path, until, out):
    conn = None
    while time.monotonic() < until:
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
            out["connections"] += 1
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            out["bad"].append("%s: %s" % (type(e).__name__, e))
            conn.close()
            conn = None
            continue
        out["requests"] += 1
        out["codes"][resp.status] = out["codes"].get(resp.status, 0) + 1
        problem = None
        if resp.status != 200:
            problem = "HTTP %d" % resp.status
        else:
            try:
                if not isinstance(json.loads(body), dict):
                    problem = "not a JSON object"
            except ValueError as e:
                problem = "bad JSON (%s): %r" % (e, body[:80])
        if problem is None:
            out["ok"] += 1
        else:
            out["bad"].append(problem)
        if resp.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clients, seconds = int(sys.argv[4]), float(sys.argv[5])
    until = time.monotonic() + seconds
    outs = [{"requests": 0, "ok": 0, "bad": [], "codes": {},
             "connections": 0} for _ in range(clients)]
    threads = [threading.Thread(target=client,
                                args=(host, port, path, until, o))
               for o in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = {"requests": 0, "ok": 0, "bad": [], "codes": {},
             "connections": 0}
    for o in outs:
        for k in ("requests", "ok", "connections"):
            total[k] += o[k]
        total["bad"].extend(o["bad"])
        for c, n in o["codes"].items():
            total["codes"][str(c)] = total["codes"].get(str(c), 0) + n
    total["bad"] = total["bad"][:5]
    print(json.dumps(total))


if __name__ == "__main__":
    main()
