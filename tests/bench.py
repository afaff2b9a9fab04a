#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: what a station pays to run each live source, in real time.

Every tool encodes the same news-like mix (speech + music + noise, 44.1 kHz
stereo) at Vorbis quality 4 and streams it IN REAL TIME to one private
icecast2 on loopback; oggenc -q 4 encodes it to a file as fast as it can
(the libvorbis floor, no network, no pacing). Runs are interleaved (one of
each measurement per round) and each figure is the median over the rounds.

Measurements (one function each, docs/performance.md gives the commands):
- measure_cpu: CPU seconds per audio minute (user and system apart), peak
  RSS (VmHWM), wake-ups per second, from wait4() on the tool's own process.
  The PCM is written into the tool's stdin (or an ALSA FIFO for darkice, a
  FIFO read by `cat` for liquidsoap) in real time, 20 ms chunks on
  CLOCK_MONOTONIC; ffmpeg paces itself with -re.
- measure_latency: the click test. Digital silence with a 50 ms 1 kHz click
  every 5 s written into the tool's input in real time; a listener (curl of
  the mount | ffmpeg decoding to PCM, read here) times each click from its
  write to its decoded arrival.
- fan-out rows: measure_cpu on relay with 4 and 16 mounts, and with three
  encodings (q4, q2, q0) beside each of them alone; with RELAY_BEFORE, the
  4 and 16 mounts of that binary too.
- measure_status_load: wrk against relay's /api/status while relay streams
  the mix and a listener checks its decoded audio keeps arriving.
- measure_startup: exec -> the mount's stream headers and first audio page
  on Icecast, and exec -> on_air in /api/status.
Not a test: nothing is asserted about the figures.

Usage: bench.py WORKDIR RELAY_BIN   (env: BENCH_SECONDS, BENCH_RUNS,
BENCH_TOOLS, BENCH_CLICKS, RELAY_BEFORE: another relay binary, the row
"relay-before")
"""
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.request

RATE, CH, BPS = 44100, 2, 4  # s16le stereo: 4 bytes per frame
PW = "bench-source-pw"
CHUNK = RATE // 50  # 20 ms of frames per write
# The ALSA file plugin returns a full period even when the FIFO holds less
# (alsa-lib 1.2.8, see tests/integration/05_alsa.sh): darkice's input gets
# 4096-frame writes so each of its reads finds its data waiting.
ALSA_CHUNK = 4096
CLICK_EVERY = 5.0  # seconds between clicks, plus a jitter of up to
CLICK_JITTER = 0.6  # seconds: each click falls at another phase of the
# ~0.5 s pages (a fixed 5 s spacing moved the phase by ~0.1 s per click,
# so 12 clicks saw few phases and the median moved with the start)
CLICK_THRESHOLD = 3000  # |sample| above this (s16, mono) is the click

# With RELAY_BEFORE, "fanout" also runs the 4- and 16-mount rows with that
# binary (relay-before-fan4, relay-before-fan16), compared with its own
# 1-mount row (relay-before).
FANOUT_BEFORE = ("relay-before-fan4", "relay-before-fan16")
RELAYS = ("relay", "relay-before", "relay-opus", "relay-48k", "relay-loudness",
          "relay-fan4", "relay-fan16", "relay-q2", "relay-q0",
          "relay-3enc") + FANOUT_BEFORE
FANOUT = ("relay-fan4", "relay-fan16", "relay-q2", "relay-q0", "relay-3enc")
# Rows measured with the click test as well as (or, for ices2-flush,
# instead of) the CPU run.
LATENCY_TOOLS = ("relay", "relay-before", "relay-48k", "ices2", "ices2-flush",
                 "ffmpeg", "darkice", "liquidsoap")
CPU_TOOLS = ("oggenc", "oggenc-rt", "relay", "relay-before", "relay-opus",
             "relay-48k", "relay-loudness", "ices2", "ffmpeg", "darkice",
             "liquidsoap") + FANOUT + FANOUT_BEFORE
DEFAULT_TOOLS = ("oggenc oggenc-rt relay relay-opus relay-loudness ices2 ices2-flush "
                 "ffmpeg darkice liquidsoap fanout status startup")


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
<limits><clients>100</clients><sources>40</sources><queue-size>1048576</queue-size>
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


# ---------------------------------------------------------------- tools

def relay_conf(name, port, status_port, mount):
    """relay's config for one row: stdin s16le, q4, one Icecast output, the
    status server on; the relay-* rows change the encodings or outputs."""
    encodings = {"relay-opus": [("main", "codec = opus\nbitrate = 64")],
                 "relay-48k": [("main", "quality = 4\nrate = 48000")],
                 "relay-q2": [("main", "quality = 2")],
                 "relay-q0": [("main", "quality = 0")],
                 "relay-3enc": [("q4", "quality = 4"), ("q2", "quality = 2"),
                                ("q0", "quality = 0")]}.get(
                                    name, [("main", "quality = 4")])
    mounts = {"relay-fan4": 4, "relay-fan16": 16, "relay-before-fan4": 4,
              "relay-before-fan16": 16}.get(name, 1)
    conf = ["[station]", "name = bench relay", "[input]", "type = stdin",
            "format = s16le", f"rate = {RATE}", f"channels = {CH}",
            "at_end = exit", "[processing]",
            "processing = " + ("on" if name == "relay-loudness" else "off")]
    for enc, body in encodings:
        conf += [f"[encoding {enc}]", body]
    outputs = [(f"f{i + 1}", encodings[0][0]) for i in range(mounts)]
    if len(encodings) > 1:
        outputs = [(enc, enc) for enc, _ in encodings]
    for out, enc in outputs:
        m = mount if len(outputs) == 1 else mount.replace(".ogg", f"-{out}.ogg")
        conf += [f"[output {out}]", "host = 127.0.0.1", f"port = {port}",
                 f"mount = {m}", "password_env = BENCH_PW", f"encoding = {enc}"]
    conf += ["[status]", f"listen = 127.0.0.1:{status_port}",
             "[log]", "level = warn", ""]
    return "\n".join(conf)


def ices2_conf(work, port, mount, flush):
    extra = "<flush-samples>4410</flush-samples>" if flush else ""
    return f"""<?xml version="1.0"?>
<ices><background>0</background><logpath>{work}</logpath><logfile>ices.log</logfile>
<logsize>2048</logsize><loglevel>2</loglevel><consolelog>0</consolelog>
<stream><metadata><name>bench ices2</name><genre>x</genre><description>x</description>
<url>http://127.0.0.1/</url></metadata>
<input><module>stdinpcm</module><param name="rate">{RATE}</param>
<param name="channels">{CH}</param><param name="metadata">0</param></input>
<instance><hostname>127.0.0.1</hostname><port>{port}</port><password>{PW}</password>
<mount>{mount}</mount><yp>0</yp><encode><quality>4</quality><samplerate>{RATE}</samplerate>
<channels>{CH}</channels>{extra}</encode><downmix>0</downmix></instance></stream></ices>
"""


def asound_conf(fifo):
    """An ALSA default device capturing from a FIFO (alsa-lib's file
    plugin), so darkice needs no sound card."""
    return f"""pcm.filein {{
	type file
	slave.pcm "null"
	file "/dev/null"
	infile "{fifo}"
	format "raw"
}}
pcm.!default {{
	type plug
	slave {{ pcm "filein" format S16_LE channels {CH} rate {RATE} }}
}}
"""


def darkice_conf(port, mount):
    return f"""[general]
duration = 0
bufferSecs = 1
reconnect = no
realtime = no
[input]
device = default
sampleRate = {RATE}
bitsPerSample = 16
channel = {CH}
[icecast2-0]
bitrateMode = vbr
format = vorbis
quality = 0.4
server = 127.0.0.1
port = {port}
password = {PW}
mountPoint = {mount.lstrip('/')}
name = bench darkice
public = no
"""


def liquidsoap_script(port, mount, fifo):
    return f"""settings.init.allow_root.set(true)
settings.log.file.set(false)
settings.log.stdout.set(true)
settings.log.level.set(2)
s = input.external.rawaudio(restart=false, channels={CH}, samplerate={RATE},
                            "cat {fifo}")
output.icecast(%vorbis(samplerate={RATE}, channels={CH}, quality=0.4),
               host="127.0.0.1", port={port}, password="{PW}",
               mount="{mount}", fallible=true, s)
"""


def tool_command(name, work, raw, ports, latency, mount=None):
    """How to start one row's tool. Returns (argv, input, env): input is
    "stdin" (the feed writes its stdin), "fifo" (the feed writes
    WORK/NAME.fifo), or None (the tool reads the mix itself)."""
    port, status_port = ports
    mount = mount or f"/{name}.ogg"
    env = dict(os.environ, BENCH_PW=PW)
    if name == "oggenc":
        return (["oggenc", "-Q", "-q", "4", "-r", "-B", "16", "-C", "2", "-R",
                 str(RATE), "-o", os.path.join(work, "oggenc.ogg"), raw],
                None, env)
    if name == "oggenc-rt":
        # The same encoder fed the real-time feed on stdin (20 ms writes,
        # as relay and ices2 are): what libvorbis costs in real time on
        # this machine with one thread and no network.
        return (["oggenc", "-Q", "-q", "4", "-r", "-B", "16", "-C", "2", "-R",
                 str(RATE), "-o", os.path.join(work, "oggenc-rt.ogg"), "-"],
                "stdin", env)
    if name in RELAYS:
        conf = os.path.join(work, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(relay_conf(name, port, status_port, mount))
        binary = (os.environ["RELAY_BEFORE"]
                  if name.startswith("relay-before") else env["BENCH_RELAY"])
        return [binary, "-c", conf], "stdin", env
    if name in ("ices2", "ices2-flush"):
        conf = os.path.join(work, f"{name}.xml")
        with open(conf, "w") as f:
            f.write(ices2_conf(work, port, mount, name == "ices2-flush"))
        return ["ices2", conf], "stdin", env
    if name == "ffmpeg":
        # CPU row: reads the file and paces itself (-re); click test: the
        # same encoder reading the real-time feed on stdin.
        src = ["-f", "s16le", "-ar", str(RATE), "-ac", str(CH), "-i"]
        src = src + ["pipe:0"] if latency else ["-re"] + src + [raw]
        return (["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]
                + src + ["-c:a", "libvorbis", "-q:a", "4", "-content_type",
                         "application/ogg", "-f", "ogg",
                         f"icecast://source:{PW}@127.0.0.1:{port}{mount}"],
                None if not latency else "stdin", env)
    fifo = os.path.join(work, f"{name}.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    if name == "darkice":
        home = os.path.join(work, "darkice-home")
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, ".asoundrc"), "w") as f:
            f.write(asound_conf(fifo))
        conf = os.path.join(work, "darkice.cfg")
        with open(conf, "w") as f:
            f.write(darkice_conf(port, mount))
        return ["darkice", "-c", conf], "fifo", dict(env, HOME=home)
    if name == "liquidsoap":
        script = os.path.join(work, "bench.liq")
        with open(script, "w") as f:
            f.write(liquidsoap_script(port, mount, fifo))
        return ["liquidsoap", script], "fifo", env
    sys.exit(f"bench: unknown tool {name}")


# ---------------------------------------------------------------- feeding

def open_writer(path, give_up):
    """Opens a FIFO for writing once its reader has it open (O_NONBLOCK
    fails with ENXIO until then), without hanging if the tool died."""
    while time.monotonic() < give_up:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError:
            time.sleep(0.01)
    return None


def write_paced(wfd, chunks, period, on_write=None, close=True):
    """Writes each chunk on the clock, one per period: real time. A FIFO
    is left open (close=False) until its reader is stopped: at EOF the
    ALSA file plugin hands darkice full periods of nothing, as fast as it
    can encode them."""
    t0 = time.monotonic()
    try:
        for n, data in enumerate(chunks):
            delay = t0 + n * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if on_write:
                on_write(n, time.monotonic())
            os.write(wfd, data)
    except BrokenPipeError:
        pass
    finally:
        if close:
            os.close(wfd)


def mix_chunks(raw, seconds, frames):
    """The mix cut into chunks of `frames`, looped to `seconds`."""
    with open(raw, "rb") as f:
        data = f.read()
    data = (data * math.ceil(seconds * RATE * BPS / len(data)))[
        :seconds * RATE * BPS]
    step = frames * BPS
    return [data[i:i + step] for i in range(0, len(data), step)]


class ClickTrack:
    """Silence; once `ready` is set (the listener decodes), a 50 ms 1 kHz
    click every CLICK_EVERY seconds, `count` of them, then silence until
    `heard_all()` or 15 s. Each click starts a chunk; `written` holds the
    times its first chunk was written (on_write, called by write_paced
    just before the write); `offsets` the frames from the first click to
    each. The spacing is CLICK_EVERY plus a jitter drawn from `seed`, so
    the rows of one round get the same clicks at the same places."""

    def __init__(self, frames, count, ready, seed=1):
        self.frames, self.count, self.ready = frames, count, ready
        self.heard_all = lambda: False
        self.written = []
        period = frames / RATE
        rng = random.Random(seed)
        self.gaps = [round(CLICK_EVERY / period)
                     + rng.randrange(max(1, round(CLICK_JITTER / period)))
                     for _ in range(count)]
        self.offsets = [sum(self.gaps[:i]) * frames for i in range(count)]
        self.pending = False
        n = int(RATE * 0.05)
        tone = b"".join(struct.pack("<hh", v, v) for v in (
            int(16000 * math.sin(2 * math.pi * 1000 * i / RATE))
            for i in range(n)))
        per = frames * BPS
        tone += bytes(-len(tone) % per)
        self.click = [tone[i:i + per] for i in range(0, len(tone), per)]
        self.silence = bytes(per)

    def chunks(self):
        period = self.frames / RATE
        give_up = time.monotonic() + 30
        while not self.ready.is_set():
            if time.monotonic() > give_up:
                return
            yield self.silence
        for _ in range(round(1.0 / period)):
            yield self.silence
        for gap in self.gaps:
            self.pending = True
            yield from self.click
            for _ in range(gap - len(self.click)):
                yield self.silence
        give_up = time.monotonic() + 15
        while not self.heard_all() and time.monotonic() < give_up:
            yield self.silence

    def on_write(self, n, t):
        if self.pending:
            self.written.append(t)
            self.pending = False


# ---------------------------------------------------------------- listening

class Listener:
    """curl -sN URL | ffmpeg -> s16le mono, read here: when each decoded
    byte arrived, and when each click (|sample| > CLICK_THRESHOLD after at
    least 0.5 s of quiet) was decoded."""

    def __init__(self, url):
        self.curl = subprocess.Popen(["curl", "-sN", url],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.ff = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
             "-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0",
             "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(RATE),
             "-flush_packets", "1", "pipe:1"],
            stdin=self.curl.stdout, stdout=subprocess.PIPE)
        self.curl.stdout.close()
        self.ready = threading.Event()
        self.arrivals = []  # (time, decoded samples so far)
        self.clicks = []  # (time, decoded sample position)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        fd = self.ff.stdout.fileno()
        samples, quiet, armed, rest = 0, 0, True, b""
        while True:
            data = os.read(fd, 65536)
            t = time.monotonic()
            if not data:
                break
            data = rest + data
            n = len(data) // 2
            rest = data[n * 2:]
            s = memoryview(data[:n * 2]).cast("h")
            if n and (max(s) > CLICK_THRESHOLD or min(s) < -CLICK_THRESHOLD):
                for i, v in enumerate(s):
                    if -CLICK_THRESHOLD <= v <= CLICK_THRESHOLD:
                        quiet += 1
                        armed = armed or quiet >= RATE // 2
                        continue
                    if armed:
                        self.clicks.append((t, samples + i))
                    armed, quiet = False, 0
            else:
                quiet += n
                armed = armed or quiet >= RATE // 2
            samples += n
            self.arrivals.append((t, samples))
            self.ready.set()

    def stop(self):
        for p in (self.curl, self.ff):
            if p.poll() is None:
                p.terminate()
        for p in (self.curl, self.ff):
            p.wait()
        self.thread.join(timeout=5)


def http_get_status(port, path, timeout=1.0):
    """The status code of GET path (the connection closed at once)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            head = s.recv(64).decode("latin-1")
        return int(head.split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def wait_mount(port, mount, proc, give_up):
    while time.monotonic() < give_up and proc.poll() is None:
        if http_get_status(port, mount) == 200:
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- running

def start_tool(name, work, raw, ports, latency, mount=None):
    cmd, kind, env = tool_command(name, work, raw, ports, latency, mount)
    log = open(os.path.join(work, f"{name}{'-lat' if latency else ''}.log"),
               "wb")
    if kind == "stdin":
        rfd, wfd = os.pipe()
        p = subprocess.Popen(cmd, stdin=rfd, stdout=log, stderr=log, env=env)
        os.close(rfd)
    else:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=env)
        wfd = None
        if kind == "fifo":
            wfd = open_writer(os.path.join(work, f"{name}.fifo"),
                              time.monotonic() + 30)
    return p, kind, wfd


def reap(p, feeder, deadline, linger, fifo=None):
    """Waits for the tool, sampling its VmHWM; once the feed has ended the
    tool gets `linger` seconds to exit on its own (relay, ices2: end of
    input) before SIGTERM (darkice, liquidsoap keep running). A FIFO the
    feed left open is closed then: liquidsoap waits for its `cat`."""
    hwm, fed_at, n = 0, None, 0
    mem = {"pss": 0, "private": 0}
    fifo = [fifo] if fifo is not None else []
    while True:
        hwm = max(hwm, vm_hwm_kb(p.pid))
        # Once a second (smaps_rollup walks every mapping), and every
        # 50 ms in the first second: oggenc's whole run can be shorter.
        if n % 20 == 0 or n < 20:
            ro = rollup_kb(p.pid)
            for k in mem:
                mem[k] = max(mem[k], ro[k])
        n += 1
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if feeder and not feeder.is_alive() and fed_at is None:
            fed_at = now
        if now > deadline or (fed_at and now > fed_at + linger):
            pid, status, ru = stop(p, fifo)
            break
        time.sleep(0.05)
    p.returncode = 0  # reaped by wait4
    for fd in fifo:  # still open: the tool ended by itself
        os.close(fd)
    if feeder:
        feeder.join()
    return status, ru, hwm, mem


def stop(p, fifo):
    """SIGTERM; the FIFO closed after 1 s; SIGKILL after 10 s."""
    p.send_signal(signal.SIGTERM)
    for i in range(220):
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            return pid, status, ru
        if i == 20 and fifo:
            os.close(fifo.pop())
        time.sleep(0.05)
    p.kill()
    return os.wait4(p.pid, 0)


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


# Tools that do not end with their input: stopped when the feed ends.
LINGER = {"darkice": 0, "liquidsoap": 0}

# The unpaced oggenc row encodes the mix looped to at least this much audio:
# 30 s of it takes oggenc ~0.3 s, and a run that short moved by +-15 % from
# round to round on a shared machine, which made every "x oggenc" ratio noise.
OGGENC_MIN_SECONDS = 300


def looped_seconds(seconds):
    return seconds * max(1, math.ceil(OGGENC_MIN_SECONDS / seconds))


def looped_mix(work, raw, seconds):
    """The mix repeated to OGGENC_MIN_SECONDS or more: (path, seconds)."""
    times = looped_seconds(seconds) // seconds
    path = os.path.join(work, f"mix-x{times}.raw")
    if not os.path.exists(path):
        with open(raw, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            for _ in range(times):
                f.write(data)
    return path, seconds * times


def measure_cpu(name, work, raw, seconds, ports):
    """One CPU row: the tool streams the mix in real time to the end."""
    if name == "oggenc":
        raw, seconds = looped_mix(work, raw, seconds)
    t0 = time.monotonic()
    p, kind, wfd = start_tool(name, work, raw, ports, False)
    feeder = None
    if wfd is not None:
        frames = ALSA_CHUNK if name == "darkice" else CHUNK
        feeder = threading.Thread(target=write_paced, args=(
            wfd, mix_chunks(raw, seconds, frames), frames / RATE, None,
            kind != "fifo"))
        feeder.start()
    status, ru, hwm, mem = reap(p, feeder, t0 + seconds * 1.5 + 30,
                           LINGER.get(name, 5), wfd if kind == "fifo" else None)
    wall = time.monotonic() - t0
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0) \
            and name not in LINGER:
        print(f"bench: {name} ended with status {status:#x} "
              f"(see {work}/{name}.log)", file=sys.stderr)
    mins = seconds / 60
    return {"user": ru.ru_utime / mins, "sys": ru.ru_stime / mins,
            "cpu": (ru.ru_utime + ru.ru_stime) / mins,
            "rss": hwm / 1024, "pss": mem["pss"] / 1024,
            "private": mem["private"] / 1024,
            "wake": (ru.ru_nvcsw + ru.ru_nivcsw) / wall, "wall": wall}


def measure_latency(name, work, ports, clicks, seed=1, rests=None):
    """The click test: returns each click's delay (s) from its write into
    the tool's input to its decoded arrival at a listener of the mount.
    rests, a list: gets for each click the audio (s) its page brought
    after it (match_clicks)."""
    port = ports[0]
    mount = f"/{name}.ogg"
    p, kind, wfd = start_tool(name, work, None, ports, True)
    if wfd is None:
        p.kill()
        p.wait()
        return []
    frames = ALSA_CHUNK if name == "darkice" else CHUNK
    ready = threading.Event()
    track = ClickTrack(frames, clicks, ready, seed)
    feeder = threading.Thread(target=write_paced, args=(
        wfd, track.chunks(), frames / RATE, track.on_write, kind != "fifo"))
    feeder.start()
    listener = None
    if wait_mount(port, mount, p, time.monotonic() + 20):
        listener = Listener(f"http://127.0.0.1:{port}{mount}")
        listener.ready.wait(20)
        track.heard_all = lambda: len(listener.clicks) >= clicks
    ready.set()  # clicks start 1 s from now (or the feed gives up)
    reap(p, feeder, time.monotonic() + clicks * CLICK_EVERY + 60,
         LINGER.get(name, 3), wfd if kind == "fifo" else None)
    if not listener:
        print(f"bench: {name}: no mount for the click test", file=sys.stderr)
        return []
    time.sleep(0.5)
    listener.stop()
    return match_clicks(name, track, listener.clicks, listener.arrivals,
                        rests)


def page_rest(arrivals, t, pos):
    """The audio (s) decoded after sample pos in the burst that brought it
    at t: the rest of the server's page, which the click waited for and
    no source can shorten. A click's delay less this is the part that
    does not depend on where the page grid fell (the source's own delay
    and the pipeline's fixed costs)."""
    end = max((n for a, n in arrivals if t <= a <= t + 0.05), default=pos)
    return max(0, end - pos) / RATE


def match_clicks(name, track, heard, arrivals=None, rests=None):
    """Pairs each decoded click with the click written: the listener
    decodes from before the first click, so the first click heard is the
    first written, and each other sits at its written offset from it in
    the decoded samples (a delay may exceed the spacing: darkice's).
    With arrivals and a list rests: page_rest() of each click matched."""
    delays = []
    if heard:
        pos0 = heard[0][1]
        for t, pos in heard:
            k = min(range(len(track.offsets)),
                    key=lambda i: abs(pos - pos0 - track.offsets[i]))
            if abs(pos - pos0 - track.offsets[k]) < RATE // 5 \
                    and k < len(track.written) and t > track.written[k]:
                delays.append(t - track.written[k])
                if arrivals is not None and rests is not None:
                    rests.append(page_rest(arrivals, t, pos))
    if len(delays) != len(track.written):
        print(f"bench: {name}: {len(track.written)} clicks written, "
              f"{len(delays)} heard", file=sys.stderr)
    return delays


def measure_status_load(work, raw, ports):
    """wrk -c 64 -t 2 -d 10s --latency on relay's /api/status while relay
    streams the mix to Icecast and a listener decodes it. The listener's
    decoded audio over the wrk window, against the wall time, and its
    longest wait for data show a gap if there is one."""
    port, status_port = ports
    name = "relay"
    length = 25
    p, kind, wfd = start_tool(name, work, raw, ports, False)
    feeder = threading.Thread(target=write_paced, args=(
        wfd, mix_chunks(raw, length, CHUNK), CHUNK / RATE))
    feeder.start()
    res = {}
    listener = None
    if wait_mount(port, f"/{name}.ogg", p, time.monotonic() + 15):
        listener = Listener(f"http://127.0.0.1:{port}/{name}.ogg")
        listener.ready.wait(10)
        time.sleep(3)  # past the burst: data now arrives as it is sent
        w0 = time.monotonic()
        out = subprocess.run(
            ["wrk", "-c", "64", "-t", "2", "-d", "10s", "--latency",
             f"http://127.0.0.1:{status_port}/api/status"],
            capture_output=True, text=True).stdout
        w1 = time.monotonic()
        with open(os.path.join(work, "wrk.txt"), "a") as f:
            f.write(out)
        res = parse_wrk(out)
        arr = [(t, n) for t, n in listener.arrivals if w0 <= t <= w1]
        if arr:
            times = [w0] + [t for t, _ in arr] + [w1]
            res["gap"] = max(b - a for a, b in zip(times, times[1:]))
            first = [n for t, n in listener.arrivals if t < w0]
            n0 = first[-1] if first else 0
            res["audio_ratio"] = (arr[-1][1] - n0) / RATE / (w1 - w0)
    reap(p, feeder, time.monotonic() + length + 30, 5)
    if listener:
        listener.stop()
    with open(os.path.join(work, "relay.log"), errors="replace") as f:
        res["input_gaps"] = sum("no audio" in line for line in f)
    return res


def parse_wrk(out):
    """req/s, p99 (ms), errors from wrk's --latency report."""
    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    res = {"rps": 0.0, "p99": None, "errors": 0, "non2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if m:
        res["p99"] = ms(m.group(1), m.group(2))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


def first_pages(port, mount, give_up):
    """Connects as a listener as soon as the mount exists; returns the
    times the stream's first byte (headers) and first audio page (an Ogg
    page with a granule position above 0) arrived."""
    while time.monotonic() < give_up:
        try:
            s = socket.create_connection(("127.0.0.1", port), 1)
        except OSError:
            time.sleep(0.02)
            continue
        with s:
            s.settimeout(max(0.1, give_up - time.monotonic()))
            s.sendall(f"GET {mount} HTTP/1.0\r\n\r\n".encode())
            buf, head, t_head = b"", None, None
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    buf += data
                    if head is None:
                        end = buf.find(b"\r\n\r\n")
                        if end < 0:
                            continue
                        head, buf = buf[:end], buf[end + 4:]
                        if b" 200 " not in head.split(b"\r\n")[0] + b" ":
                            break
                    if buf and t_head is None:
                        t_head = time.monotonic()
                    i = buf.find(b"OggS")
                    while 0 <= i and len(buf) >= i + 14:
                        if struct.unpack_from("<q", buf, i + 6)[0] > 0:
                            return t_head, time.monotonic()
                        i = buf.find(b"OggS", i + 4)
            except OSError:
                pass
        time.sleep(0.02)
    return None, None


def status_json(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status",
                                    timeout=1) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def measure_startup(work, raw, ports):
    """relay from exec: to the mount's first bytes and first audio page on
    Icecast, to outputs[0].connected and to on_air in /api/status (the
    on-air rule waits for the Icecast poller, poll_icecast = 5 s)."""
    port, status_port = ports
    t0 = time.monotonic()
    # A mount of its own: the poller must not count the previous relay
    # row's mount, which Icecast may still list for a moment.
    p, kind, wfd = start_tool("relay", work, raw, ports, False,
                              "/startup.ogg")
    feeder = threading.Thread(target=write_paced, args=(
        wfd, mix_chunks(raw, 30, CHUNK), CHUNK / RATE))
    feeder.start()
    res = {}

    def pages():
        head, audio = first_pages(port, "/startup.ogg", t0 + 20)
        res["headers"] = head and head - t0
        res["first_page"] = audio and audio - t0

    pager = threading.Thread(target=pages)
    pager.start()
    while time.monotonic() < t0 + 25 and "on_air" not in res:
        st = status_json(status_port)
        now = time.monotonic() - t0
        if st:
            res.setdefault("status_up", now)
            outs = st.get("outputs") or [{}]
            if outs[0].get("connected"):
                res.setdefault("connected", now)
            if st.get("on_air"):
                res["on_air"] = now
        time.sleep(0.02)
    pager.join()
    reap(p, feeder, time.monotonic(), 0)
    return res


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


# ---------------------------------------------------------------- report

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def print_tables(tools, cpu, lat, status, startup, runs, seconds):
    rows = [t for t in tools if t not in FANOUT + FANOUT_BEFORE
            and (t in CPU_TOOLS or t in LATENCY_TOOLS)]
    m = {t: {k: med(r[k] for r in cpu[t]) for k in cpu[t][0]}
         for t in cpu if cpu[t]}
    base = m.get("oggenc")
    # The floor in real time: the same encoder fed the same paced stdin.
    rt = m.get("oggenc-rt")
    print()
    print("| tool | CPU s/audio min | user | system | x oggenc | x oggenc-rt "
          "| peak RSS MB | x oggenc | PSS MB | private MB | wake-ups/s "
          "| latency median s | latency max s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in rows:
        c = m.get(t, {})
        cpu_s = c.get("cpu")
        d = lat.get(t)
        print(f"| {t} | {fmt(cpu_s, '.3f')} | {fmt(c.get('user'), '.3f')} "
              f"| {fmt(c.get('sys'), '.3f')} "
              f"| {fmt(base and cpu_s and cpu_s / base['cpu'], '.2f')} "
              f"| {fmt(rt and cpu_s and cpu_s / rt['cpu'], '.2f')} "
              f"| {fmt(c.get('rss'), '.1f')} "
              f"| {fmt(base and c.get('rss') and c['rss'] / base['rss'], '.2f')} "
              f"| {fmt(c.get('pss'), '.1f')} | {fmt(c.get('private'), '.1f')} "
              f"| {'-' if t == 'oggenc' else fmt(c.get('wake'), '.0f')} "
              f"| {fmt(med(d) if d else None, '.2f')} "
              f"| {fmt(max(d) if d else None, '.2f')} |")
    print()
    note = (f"CPU, RSS, wake-ups: median of {runs} interleaved round(s), "
            f"{seconds} s of audio each; oggenc unpaced to a file (the mix "
            f"looped to {looped_seconds(seconds)} s), "
            "oggenc-rt the same fed in real time (20 ms writes to its "
            "stdin), the others in real time to icecast2.")
    if lat:
        note += (" Latency: median and max over all clicks of all rounds ("
                 + ", ".join(f"{t} {len(d)}" for t, d in lat.items())
                 + " clicks).")
    print(note)
    one = m.get("relay")
    fan = [t for t in FANOUT if t in m]
    if one and fan:
        print()
        print("| relay fan-out | CPU s/audio min | x 1 mount | peak RSS MB "
              "| wake-ups/s |")
        print("|---|---|---|---|---|")
        for t in ["relay"] + fan:
            c = m[t]
            print(f"| {t} | {c['cpu']:.3f} | {c['cpu'] / one['cpu']:.2f} "
                  f"| {c['rss']:.1f} | {c['wake']:.0f} |")
        before = m.get("relay-before")
        for t in [t for t in FANOUT_BEFORE if t in m and before]:
            c = m[t]
            print(f"| {t} | {c['cpu']:.3f} | {c['cpu'] / before['cpu']:.2f} "
                  f"(x relay-before) | {c['rss']:.1f} | {c['wake']:.0f} |")
        if all(t in m for t in ("relay-q2", "relay-q0", "relay-3enc")):
            alone = one["cpu"] + m["relay-q2"]["cpu"] + m["relay-q0"]["cpu"]
            print(f"| q4 + q2 + q0 alone (sum of three relays) | {alone:.3f} "
                  f"| {alone / one['cpu']:.2f} | - | - |")
            print(f"\nrelay-3enc / (q4 + q2 + q0 alone) = "
                  f"{m['relay-3enc']['cpu'] / alone:.2f}")
    if status:
        print()
        print("| relay /api/status under wrk -c 64 -t 2 -d 10s | req/s | p99 ms "
              "| socket errors | non-2xx | listener audio / wall | longest "
              "wait for data s | relay input gaps |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| median of {len(status)} | {med(s.get('rps') for s in status):.0f} "
              f"| {fmt(med(s.get('p99') for s in status), '.2f')} "
              f"| {max(s.get('errors', 0) for s in status)} "
              f"| {max(s.get('non2xx', 0) for s in status)} "
              f"| {fmt(med(s.get('audio_ratio') for s in status), '.3f')} "
              f"| {fmt(max((s.get('gap') or 0) for s in status), '.2f')} "
              f"| {max(s.get('input_gaps', 0) for s in status)} |")
        print("(errors, non-2xx, longest wait, gaps: the worst round; input "
              "gaps: relay log lines \"no audio\")")
    if startup:
        print()
        print("| relay start-up, s from exec | status server up | stream "
              "headers on Icecast | first audio page | output connected "
              "| on_air |")
        print("|---|---|---|---|---|---|")
        keys = ("status_up", "headers", "first_page", "connected", "on_air")
        print(f"| median of {len(startup)} | " + " | ".join(
            fmt(med(s.get(k) for s in startup), '.2f') for k in keys) + " |")


def expand(tools):
    out = []
    for t in tools:
        out += FANOUT if t == "fanout" else [t]
    if any(t in FANOUT for t in out) and "relay" not in out:
        out.insert(0, "relay")  # the 1-mount row the fan-out compares to
    if os.environ.get("RELAY_BEFORE") and "relay-before" not in out:
        out.insert(out.index("relay") + 1 if "relay" in out else 0,
                   "relay-before")
    if os.environ.get("RELAY_BEFORE"):
        # Each before row beside its own relay row, interleaved.
        for t in FANOUT_BEFORE:
            twin = t.replace("relay-before", "relay")
            if twin in out and t not in out:
                out.insert(out.index(twin) + 1, t)
    return out


def main():
    work, relay_bin = sys.argv[1], sys.argv[2]
    os.environ["BENCH_RELAY"] = relay_bin
    seconds = int(os.environ.get("BENCH_SECONDS", "120"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    tools = expand(os.environ.get("BENCH_TOOLS", DEFAULT_TOOLS).split())
    clicks = math.ceil(int(os.environ.get("BENCH_CLICKS", "12")) / runs)
    print(f"bench: {seconds} s mix, {runs} interleaved round(s): "
          f"{' '.join(tools)}", flush=True)
    raw = make_mix(work, seconds)
    ports = (free_port(), free_port())
    ice = start_icecast(work, ports[0])
    cpu = {t: [] for t in tools if t in CPU_TOOLS}
    lat = {t: [] for t in tools if t in LATENCY_TOOLS}
    own = {t: [] for t in lat}  # each click's delay less its page's rest
    status, startup = [], []
    try:
        for r in range(runs):
            for t in tools:
                if t in cpu:
                    res = measure_cpu(t, work, raw, seconds, ports)
                    cpu[t].append(res)
                    print(f"  round {r + 1} {t:14s} cpu {res['cpu']:.3f} s/min "
                          f"(user {res['user']:.3f} sys {res['sys']:.3f}) "
                          f"rss {res['rss']:.1f} MB (pss {res['pss']:.1f}, "
                          f"private {res['private']:.1f}) wake-ups "
                          f"{res['wake']:.0f}/s", flush=True)
                if t in lat:
                    rests = []
                    d = measure_latency(t, work, ports, clicks, r + 1, rests)
                    lat[t] += d
                    o = [x - y for x, y in zip(d, rests)]
                    own[t] += o
                    print(f"  round {r + 1} {t:14s} latency " + " ".join(
                        f"{x:.2f}" for x in d), flush=True)
                    print(f"  round {r + 1} {t:14s} beyond the page "
                          + " ".join(f"{x * 1000:.0f}" for x in o) + " ms",
                          flush=True)
                if t == "status":
                    res = measure_status_load(work, raw, ports)
                    status.append(res)
                    print(f"  round {r + 1} status         {res}", flush=True)
                if t == "startup":
                    res = measure_startup(work, raw, ports)
                    startup.append(res)
                    print(f"  round {r + 1} startup        " + " ".join(
                        f"{k} {v:.2f}" for k, v in res.items() if v),
                        flush=True)
    finally:
        ice.terminate()
        ice.wait()
    print_tables(tools, cpu, lat, status, startup, runs, seconds)
    for t, o in own.items():
        if o:
            print(f"latency beyond the page, {t}: median "
                  f"{med(o) * 1000:.0f} ms, mean "
                  f"{sum(o) / len(o) * 1000:.0f} ms ({len(o)} clicks)")
    vers = {"relay": version([relay_bin, "--version"]),
            "oggenc": version(["oggenc", "--version"]),
            "ices2": version(["dpkg-query", "-W", "ices2"]),
            "ffmpeg": version(["ffmpeg", "-version"]),
            "darkice": version(["dpkg-query", "-W", "darkice"]),
            "liquidsoap": version(["liquidsoap", "--version"]),
            "wrk": version(["dpkg-query", "-W", "wrk"]),
            "icecast2": version(["dpkg-query", "-W", "icecast2"]),
            "libvorbis": version(["dpkg-query", "-W", "libvorbis0a"])}
    print("versions: " + "; ".join(f"{k}: {' '.join(v.split())}"
                                   for k, v in vers.items()))
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"cpu": cpu, "latency": lat, "latency_own": own,
                   "status": status,
                   "startup": startup, "versions": vers}, f, indent=1)


if __name__ == "__main__":
    main()
