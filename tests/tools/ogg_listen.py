#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ogg_listen.py URL SECONDS OUT: a listener that notes when each Ogg page
arrives.

Reads the HTTP stream at URL for SECONDS (the end of the time is the normal
end), writes the bytes to OUT and one line per Ogg page to OUT.pages:
"ARRIVAL_S SERIAL GRANULE BOS EOS" (ARRIVAL_S: seconds since the first byte
of the body). When done prints one JSON object on stdout:
  wall_s       seconds from the first byte to the end
  pages        pages read
  chains       [{"serial": N, "first_s": T, "audio_s": S}] in order of
               their BOS page (a chain that starts again is listed again)
  audio_s      audio the granule positions account for (the first audio
               page of a chain counts 0: its start is unknown)
  max_gap_s    longest time between two pages that carry audio, counted
               from the first audio page
  max_gap_at_s when that gap ended
  t0_epoch     wall clock (Unix seconds) of the first byte
Tests use it to tell a listener that plays on through a source switch
from one that hears a gap (tests/integration/66_fallback.sh).

ogg_listen.py --tones RAW RATE CHANNELS: reads s16le PCM (ffmpeg's decode of
a capture) and prints the frequency of channel 1 in each half second, from
its zero crossings (enough for the pure tones of input = tone), or 0 where
the window is silent (peak under -40 dBFS), one number a line.

Threads: none.
"""
import array
import json
import socket
import struct
import sys
import time
import urllib.parse


def tones(path, rate, channels):
    pcm = array.array("h")
    with open(path, "rb") as f:
        pcm.frombytes(f.read())
    if sys.byteorder != "little":
        pcm.byteswap()
    left = pcm[0::channels]
    win = rate // 2
    for i in range(0, len(left) - win + 1, win):
        w = left[i:i + win]
        if max(abs(min(w)), abs(max(w))) < 328:
            print(0)
            continue
        z = sum(1 for j in range(1, win) if (w[j - 1] < 0) != (w[j] < 0))
        print(round(z / 2 / (win / rate)))


def main():
    if sys.argv[1] == "--tones":
        tones(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    url, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=5)
    path = u.path or "/"
    sock.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ogg_listen\r\n"
                  "\r\n" % (path, u.netloc)).encode())
    end = time.monotonic() + seconds
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("ogg_listen: connection closed in the headers")
        head += chunk
    head, body = head.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 200" not in status:
        sys.exit("ogg_listen: %s" % status.decode(errors="replace"))
    t0 = time.monotonic()
    t0_epoch = time.time()
    buf = bytearray(body)
    pages = []
    last_granule = {}
    chains = []
    audio_s = 0.0
    rate = {}
    last_audio_t = None
    max_gap = 0.0
    max_gap_at = 0.0
    with open(out, "wb") as f, open(out + ".pages", "w") as pf:
        f.write(body)
        while True:
            now = time.monotonic()
            # Parse every whole page in buf: they arrived by now.
            while len(buf) >= 27:
                if buf[:4] != b"OggS":
                    k = buf.find(b"OggS", 1)
                    del buf[:k if k > 0 else len(buf)]
                    continue
                nseg = buf[26]
                if len(buf) < 27 + nseg:
                    break
                size = 27 + nseg + sum(buf[27:27 + nseg])
                if len(buf) < size:
                    break
                flags = buf[5]
                granule, serial = struct.unpack_from("<qI", buf, 6)
                t = now - t0
                bos, eos = bool(flags & 2), bool(flags & 4)
                if bos:
                    chains.append({"serial": serial, "first_s": round(t, 3),
                                   "audio_s": 0.0})
                    last_granule.pop(serial, None)
                    # Vorbis identification header: rate at byte 12.
                    body_off = 27 + nseg
                    if buf[body_off:body_off + 7] == b"\x01vorbis":
                        rate[serial] = struct.unpack_from(
                            "<I", buf, body_off + 12)[0]
                pf.write("%.3f %d %d %d %d\n" % (t, serial, granule, bos, eos))
                pf.flush()
                if granule > 0 and serial in rate:
                    prev = last_granule.get(serial)
                    if prev is not None and granule > prev:
                        d = (granule - prev) / rate[serial]
                        audio_s += d
                        if chains and chains[-1]["serial"] == serial:
                            chains[-1]["audio_s"] += d
                    last_granule[serial] = granule
                    if last_audio_t is not None and t - last_audio_t > max_gap:
                        max_gap = t - last_audio_t
                        max_gap_at = t
                    last_audio_t = t
                pages.append(t)
                del buf[:size]
            left = end - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(min(left, 1.0))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            f.write(chunk)
            buf += chunk
    for c in chains:
        c["audio_s"] = round(c["audio_s"], 3)
    print(json.dumps({
        "wall_s": round(time.monotonic() - t0, 3),
        "pages": len(pages),
        "chains": chains,
        "audio_s": round(audio_s, 3),
        "max_gap_s": round(max_gap, 3),
        "max_gap_at_s": round(max_gap_at, 3),
        "t0_epoch": round(t0_epoch, 3),
    }))


if __name__ == "__main__":
    main()
