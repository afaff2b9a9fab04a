#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: what a station pays to run each live source, in real time.

Every tool encodes the same news-like mix (speech + music + noise, 44.1 kHz
stereo) at Vorbis quality 4 and streams it IN REAL TIME to one private
icecast2 on loopback; oggenc -q 4 encodes it to a file as fast as it can
(the libvorbis floor, no network, no pacing). Runs are interleaved (one of
each tool per round) and each figure is the median over the rounds.

Per tool, from wait4() on the tool's own process (all of its threads):
CPU seconds per audio minute (user and system apart), peak RSS (the
kernel's VmHWM, sampled every 50 ms), the largest PSS and private memory
seen (smaps_rollup, once a second), wakeups per second (voluntary + involuntary context
switches over the wall time). relay and ices2 read the PCM from a pipe fed
in real time by this script (20 ms chunks on CLOCK_MONOTONIC); ffmpeg paces
itself with -re. Not a test: nothing is asserted about the figures.

Usage: bench.py WORKDIR RELAY_BIN   (env: BENCH_SECONDS, BENCH_RUNS, BENCH_TOOLS,
RELAY_BEFORE: another relay binary, measured as the row "relay-before")
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

RATE, CH, BPS = 44100, 2, 4  # s16le stereo: 4 bytes per frame
PW = "bench-source-pw"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_mix(work, seconds):
    """Speech over a music bed, the kind of audio a news station carries."""
    raw = os.path.join(work, "mix.raw")
    if os.path.exists(raw) and os.path.getsize(raw) == seconds * RATE * BPS:
        return raw
    text = ("Good evening. This is the news at six. The council met today to "
            "discuss the new bridge over the river, and agreed to fund the "
            "first phase of the work. In sport, the home side won by two goals "
            "to one after a late penalty. The weather tonight: cloudy, with "
            "showers spreading from the west, and a low of eight degrees. ")
    speech = os.path.join(work, "speech.wav")
    subprocess.run(["espeak-ng", "-s", "165", "-w", speech, text * 4], check=True)
    sox = ["sox", "-D", "-q"]
    subprocess.run(sox + [speech, "-r", str(RATE), "-c", str(CH), "-b", "16",
                          os.path.join(work, "speech44.wav"),
                          "repeat", "20", "trim", "0", str(seconds)], check=True)
    subprocess.run(sox + ["-n", "-r", str(RATE), "-c", str(CH), "-b", "16",
                          os.path.join(work, "music.wav"), "synth", str(seconds),
                          "sine", "220-660", "sine", "330-990", "pinknoise",
                          "tremolo", "2", "40", "vol", "0.15"], check=True)
    subprocess.run(sox + ["-m", os.path.join(work, "speech44.wav"),
                          os.path.join(work, "music.wav"), "-t", "raw", "-e",
                          "signed", "-b", "16", "-L", raw, "trim", "0",
                          str(seconds)], check=True)
    wav = os.path.join(work, "mix.wav")
    subprocess.run(sox + ["-t", "raw", "-r", str(RATE), "-c", str(CH), "-e",
                          "signed", "-b", "16", "-L", raw, wav], check=True)
    return raw


def start_icecast(work, port):
    d = os.path.join(work, "icecast")
    os.makedirs(os.path.join(d, "log"), exist_ok=True)
    owner = ""
    if os.geteuid() == 0:  # icecast2 refuses to run as root
        owner = "<changeowner><user>icecast2</user><group>icecast</group></changeowner>"
    with open(os.path.join(d, "icecast.xml"), "w") as f:
        f.write(f"""<icecast><location>bench</location><admin>b@localhost</admin>
<hostname>127.0.0.1</hostname>
<limits><clients>50</clients><sources>20</sources><queue-size>1048576</queue-size>
<client-timeout>30</client-timeout><header-timeout>15</header-timeout>
<source-timeout>10</source-timeout><burst-size>65536</burst-size></limits>
<authentication><source-password>{PW}</source-password><admin-user>admin</admin-user>
<admin-password>{PW}</admin-password></authentication>
<listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
<paths><basedir>/usr/share/icecast2</basedir><logdir>{d}/log</logdir>
<webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
</paths><logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
<loglevel>2</loglevel></logging><security><chroot>0</chroot>{owner}</security></icecast>
""")
    if owner:
        shutil.chown(d, "icecast2", "icecast")
        shutil.chown(os.path.join(d, "log"), "icecast2", "icecast")
    p = subprocess.Popen(["icecast2", "-c", os.path.join(d, "icecast.xml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl",
                                   timeout=1).read()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    sys.exit("bench: icecast2 did not start")


def feed(raw, wfd, seconds):
    """Writes the PCM into wfd in real time: 20 ms per chunk on the clock."""
    chunk = RATE // 50 * BPS
    with open(raw, "rb") as f:
        data = f.read(seconds * RATE * BPS)
    t0 = time.monotonic()
    off = n = 0
    try:
        while off < len(data):
            os.write(wfd, data[off:off + chunk])
            off += chunk
            n += 1
            delay = t0 + n * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except BrokenPipeError:
        pass
    finally:
        os.close(wfd)


def vm_hwm_kb(pid):
    """The peak RSS so far. Not ru_maxrss: a child forked (vfork) from this
    Python process inherits Python's high-water mark through exec."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rollup_kb(pid):
    """Pss and private (clean + dirty) kB of the whole process, from
    smaps_rollup. RSS counts every shared-library page the process maps in
    full; PSS splits each page among the processes that map it; private
    is what this process alone holds (its heap, stacks, written data)."""
    out = {"pss": 0, "private": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Pss":
                    out["pss"] = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    out["private"] += int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def run_tool(name, work, raw, seconds, port, relay_bin, status_port):
    """Runs one tool to the end; returns its rusage and wall time."""
    log = open(os.path.join(work, f"{name}.log"), "wb")
    mount = f"/{name}.ogg"
    stdin_pcm = True
    if name == "oggenc":
        cmd = ["oggenc", "-Q", "-q", "4", "-r", "-B", "16", "-C", "2", "-R",
               str(RATE), "-o", os.path.join(work, "oggenc.ogg"), raw]
        stdin_pcm = False
    elif name in ("relay", "relay-before", "relay-opus", "relay-loudness"):
        # relay-opus: the same, encoded as Ogg Opus 64 kbit/s stereo
        # instead; relay-loudness: Vorbis q4 with [processing] on.
        conf = os.path.join(work, f"{name}.conf")
        encoding = ("codec = opus\nbitrate = 64" if name == "relay-opus"
                    else "quality = 4")
        processing = "on" if name == "relay-loudness" else "off"
        with open(conf, "w") as f:
            f.write(f"""[station]
name = bench relay
[input]
type = stdin
format = s16le
rate = {RATE}
channels = {CH}
at_end = exit
[processing]
processing = {processing}
[encoding q4]
{encoding}
[output main]
host = 127.0.0.1
port = {port}
mount = {mount}
password_env = BENCH_PW
[status]
listen = 127.0.0.1:{status_port}
[log]
level = warn
""")
        cmd = [os.environ["RELAY_BEFORE"] if name == "relay-before"
               else relay_bin, "-c", conf]
    elif name == "ices2":
        conf = os.path.join(work, "ices2.xml")
        with open(conf, "w") as f:
            f.write(f"""<?xml version="1.0"?>
<ices><background>0</background><logpath>{work}</logpath><logfile>ices.log</logfile>
<logsize>2048</logsize><loglevel>2</loglevel><consolelog>0</consolelog>
<stream><metadata><name>bench ices2</name><genre>x</genre><description>x</description>
<url>http://127.0.0.1/</url></metadata>
<input><module>stdinpcm</module><param name="rate">{RATE}</param>
<param name="channels">{CH}</param><param name="metadata">0</param></input>
<instance><hostname>127.0.0.1</hostname><port>{port}</port><password>{PW}</password>
<mount>{mount}</mount><yp>0</yp><encode><quality>4</quality><samplerate>{RATE}</samplerate>
<channels>{CH}</channels></encode><downmix>0</downmix></instance></stream></ices>
""")
        cmd = ["ices2", conf]
    elif name == "ffmpeg":
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
               "-f", "s16le", "-ar", str(RATE), "-ac", str(CH), "-i", raw,
               "-c:a", "libvorbis", "-q:a", "4", "-content_type",
               "application/ogg", "-f", "ogg",
               f"icecast://source:{PW}@127.0.0.1:{port}{mount}"]
        stdin_pcm = False
    else:
        sys.exit(f"bench: unknown tool {name}")
    env = dict(os.environ, BENCH_PW=PW)
    t0 = time.monotonic()
    if stdin_pcm:
        rfd, wfd = os.pipe()
        p = subprocess.Popen(cmd, stdin=rfd, stdout=log, stderr=log, env=env)
        os.close(rfd)
        feeder = threading.Thread(target=feed, args=(raw, wfd, seconds))
        feeder.start()
    else:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=env)
        feeder = None
    deadline = t0 + seconds * 1.5 + 30
    hwm = pss = private = 0
    n = 0
    while True:
        hwm = max(hwm, vm_hwm_kb(p.pid))
        if n % 20 == 0:  # once a second: smaps_rollup walks every mapping
            ro = rollup_kb(p.pid)
            pss, private = max(pss, ro["pss"]), max(private, ro["private"])
        n += 1
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.send_signal(signal.SIGTERM)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = 0  # reaped by wait4
    wall = time.monotonic() - t0
    if feeder:
        feeder.join()
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        print(f"bench: {name} ended with status {status:#x} (see {work}/{name}.log)",
              file=sys.stderr)
    mins = seconds / 60
    return {"user": ru.ru_utime / mins, "sys": ru.ru_stime / mins,
            "cpu": (ru.ru_utime + ru.ru_stime) / mins,
            "rss": hwm / 1024, "pss": pss / 1024, "private": private / 1024,
            "wake": (ru.ru_nvcsw + ru.ru_nivcsw) / wall, "wall": wall}


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main():
    work, relay_bin = sys.argv[1], sys.argv[2]
    seconds = int(os.environ.get("BENCH_SECONDS", "120"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    tools = os.environ.get("BENCH_TOOLS", "oggenc relay relay-opus "
                           "relay-loudness ices2 ffmpeg").split()
    if os.environ.get("RELAY_BEFORE") and "relay-before" not in tools:
        tools.insert(tools.index("relay") + 1 if "relay" in tools else 0,
                     "relay-before")
    print(f"bench: {seconds} s mix, {runs} interleaved round(s): {' '.join(tools)}",
          flush=True)
    raw = make_mix(work, seconds)
    port, status_port = free_port(), free_port()
    ice = start_icecast(work, port)
    results = {t: [] for t in tools}
    try:
        for r in range(runs):
            for t in tools:
                res = run_tool(t, work, raw, seconds, port, relay_bin, status_port)
                results[t].append(res)
                print(f"  round {r + 1} {t:7s} cpu {res['cpu']:.3f} s/min "
                      f"(user {res['user']:.3f} sys {res['sys']:.3f}) "
                      f"rss {res['rss']:.1f} MB (pss {res['pss']:.1f}, private "
                      f"{res['private']:.1f}) wakeups {res['wake']:.0f}/s",
                      flush=True)
    finally:
        ice.terminate()
        ice.wait()
    med = {t: {k: statistics.median(x[k] for x in results[t])
               for k in results[t][0]} for t in tools}
    base = med.get("oggenc")
    print()
    print("| tool | CPU s/audio min | user | system | x oggenc | peak RSS MB "
          "| x oggenc | PSS MB | private MB | wakeups/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in tools:
        m = med[t]
        rc = f"{m['cpu'] / base['cpu']:.2f}" if base else "-"
        rr = f"{m['rss'] / base['rss']:.2f}" if base else "-"
        wk = "-" if t == "oggenc" else f"{m['wake']:.0f}"  # unpaced
        print(f"| {t} | {m['cpu']:.3f} | {m['user']:.3f} | {m['sys']:.3f} | {rc} "
              f"| {m['rss']:.1f} | {rr} | {m['pss']:.1f} | {m['private']:.1f} "
              f"| {wk} |")
    print()
    print(f"median of {runs} interleaved round(s), {seconds} s of audio each; "
          "oggenc unpaced to a file, the others in real time to icecast2")
    vers = {"relay": version([relay_bin, "--version"]),
            "oggenc": version(["oggenc", "--version"]),
            "ices2": version(["dpkg-query", "-W", "ices2"]),
            "ffmpeg": version(["ffmpeg", "-version"]),
            "icecast2": version(["dpkg-query", "-W", "icecast2"]),
            "libvorbis": version(["dpkg-query", "-W", "libvorbis0a"])}
    print("versions: " + "; ".join(f"{k}: {v}" for k, v in vers.items()))
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"runs": results, "median": med, "versions": vers}, f, indent=1)


if __name__ == "__main__":
    main()
