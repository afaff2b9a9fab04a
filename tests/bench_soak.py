#!/usr/bin/env python3
"""What a station pays over hours: relay and ices2 streaming the bench's
news-like mix side by side in real time (looped, 20 ms writes on stdin),
to one private icecast2 on loopback, each with a curl listener, for
SOAK_SECONDS (default 7200). Every minute it appends each tool's CPU
time and RSS to DIR/samples.jsonl; at the end it prints CPU s per audio
minute (from the first minute on, start-up left out) and RSS first, last
and peak, and how much audio each listener got. Not a test, and not part of `make bench`: it asserts nothing.

    python3 tests/bench_soak.py DIR [RELAY]     (RELAY: build/release/relay)
"""
import json
import os
import sys
import threading
import time
import subprocess

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

TOOLS = ("relay", "ices2")


def feed(wfd, data, seconds):
    """The mix, looped, one CHUNK per period, on the clock."""
    step = bench.CHUNK * bench.BPS
    period = bench.CHUNK / bench.RATE
    t0, off = time.monotonic(), 0
    try:
        for n in range(int(seconds / period)):
            delay = t0 + n * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if off + step > len(data):
                off = 0
            os.write(wfd, data[off:off + step])
            off += step
    except BrokenPipeError:
        pass
    os.close(wfd)


def sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/status") as f:
        status = f.read()

    def kb(key):
        return int(status.split(key + ":")[1].split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    return {"utime": int(st[11]) / tick, "stime": int(st[12]) / tick,
            "rss": kb("VmRSS"), "hwm": kb("VmHWM")}


def summary(rows):
    if len(rows) < 3:
        return
    a, b = rows[1], rows[-1]
    mins = (b["t"] - a["t"]) / 60
    print(f"soak: {mins:.1f} min of audio measured")
    for name in TOOLS:
        if name not in a or name not in b:
            continue
        user = (b[name]["utime"] - a[name]["utime"]) / mins
        sys_ = (b[name]["stime"] - a[name]["stime"]) / mins
        print(f"  {name:6s} cpu {user + sys_:.3f} s/min (user {user:.3f} "
              f"sys {sys_:.3f}); rss {a[name]['rss'] / 1024:.1f} -> "
              f"{b[name]['rss'] / 1024:.1f} MB, peak "
              f"{b[name]['hwm'] / 1024:.1f} MB")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    work = sys.argv[1]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    relay = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        top, "build", "release", "relay")
    seconds = int(os.environ.get("SOAK_SECONDS", "7200"))
    os.makedirs(work, exist_ok=True)
    os.environ["BENCH_RELAY"] = relay
    raw = bench.make_mix(work, 120)
    with open(raw, "rb") as f:
        data = f.read()
    ports = (bench.free_port(), bench.free_port())
    ice = bench.start_icecast(work, ports[0])
    procs, feeders, listeners, rows = {}, [], [], []
    try:
        for name in TOOLS:
            p, _, wfd = bench.start_tool(name, work, raw, ports, False)
            t = threading.Thread(target=feed, args=(wfd, data, seconds))
            t.start()
            procs[name] = p
            feeders.append(t)
        time.sleep(5)
        for name in TOOLS:
            listeners.append(subprocess.Popen(
                ["curl", "-s", "-o", os.path.join(work, f"{name}.ogg"),
                 f"http://127.0.0.1:{ports[0]}/{name}.ogg"]))
        t0 = time.monotonic()
        with open(os.path.join(work, "samples.jsonl"), "w") as log:
            while any(p.poll() is None for p in procs.values()):
                row = {"t": round(time.monotonic() - t0, 1)}
                for name, p in procs.items():
                    try:
                        row[name] = sample(p.pid)
                    except OSError:
                        pass
                rows.append(row)
                log.write(json.dumps(row) + "\n")
                log.flush()
                time.sleep(60)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for t in feeders:
            t.join()
        for p in listeners:
            p.terminate()
        ice.terminate()
    summary(rows)
    for name in TOOLS:
        # What the listener got, against the time it listened: a gap in
        # the stream shows as missing audio.
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration",
             "-of", "default=nw=1:nk=1", os.path.join(work, f"{name}.ogg")],
            capture_output=True, text=True).stdout.strip()
        print(f"  {name:6s} listener decoded {out or '?'} s")


if __name__ == "__main__":
    main()
