#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# tests/tools/ogg_streams.py FILE: reads an Ogg file page by page (our own
# parser, independent of libogg and of relay) and prints one line per
# logical stream:
#   serial=HEX codec=opus|vorbis|? preskip=N last_granule=N bos=0|1 eos=0|1
#   pages=N title=TEXT
# and exits 1 with "ERROR: ..." on what a player would choke on: a bad
# capture pattern or CRC, a page sequence gap, a granule position that
# goes backwards within a stream, an Opus stream whose first audio page's
# granule is below the samples of the packets it completes (RFC 7845
# section 4: only an EOS page may do that), or a stream without BOS.
# A capture may start mid-page (an Icecast listener never does, but the
# scanner tolerates leading junk up to the first "OggS"). A listener's
# capture jumps from the header pages to a recent page (Icecast's burst):
# one sequence jump before a stream's first audio page is not an error.
#
# Threads: none.
import struct
import sys
import zlib


def crc_table():
    t = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        t.append(r & 0xFFFFFFFF)
    return t


CRC = crc_table()


def ogg_crc(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFFFFFF) ^ CRC[((c >> 24) & 0xFF) ^ b]
    return c


def opus_packet_samples(pkt):
    """Duration at 48 kHz of an Opus packet (RFC 6716 section 3.1)."""
    if not pkt:
        return 0
    toc = pkt[0]
    config = toc >> 3
    if config < 12:
        fs = [480, 960, 1920, 2880][config & 3]
    elif config < 16:
        fs = [480, 960][config & 1]
    else:
        fs = [120, 240, 480, 960][config & 3]
    code = toc & 3
    if code == 0:
        n = 1
    elif code in (1, 2):
        n = 2
    else:
        n = pkt[1] & 0x3F if len(pkt) > 1 else 0
    return fs * n


def parse_tags(pkt, offset):
    """Vorbis-comment list at offset: returns {KEY: value}."""
    tags = {}
    try:
        vlen = struct.unpack_from("<I", pkt, offset)[0]
        offset += 4 + vlen
        n = struct.unpack_from("<I", pkt, offset)[0]
        offset += 4
        for _ in range(n):
            ln = struct.unpack_from("<I", pkt, offset)[0]
            offset += 4
            kv = pkt[offset:offset + ln].decode("utf-8", "replace")
            offset += ln
            if "=" in kv:
                k, v = kv.split("=", 1)
                tags[k.upper()] = v
    except struct.error:
        pass
    return tags


def main():
    data = open(sys.argv[1], "rb").read()
    pos = data.find(b"OggS")
    streams = {}
    order = []
    errors = []
    while pos >= 0 and pos + 27 <= len(data):
        if data[pos:pos + 4] != b"OggS":
            errors.append("lost sync at byte %d" % pos)
            break
        (_, _, flags, granule, serial, seq, crc,
         nseg) = struct.unpack_from("<4sBBqIIIB", data, pos)
        lacing = data[pos + 27:pos + 27 + nseg]
        body_len = sum(lacing)
        end = pos + 27 + nseg + body_len
        if end > len(data):
            break  # a cut capture: the last page is incomplete
        page = bytearray(data[pos:end])
        page[22:26] = b"\0\0\0\0"
        if ogg_crc(page) != crc:
            errors.append("serial %08x page %d: bad CRC" % (serial, seq))
        s = streams.get(serial)
        if s is None:
            s = {"codec": "?", "preskip": -1, "last": -1, "bos": 0,
                 "eos": 0, "pages": 0, "seq": seq - 1, "title": "",
                 "partial": b"", "audio_pages": 0, "packets": 0}
            streams[serial] = s
            order.append(serial)
            if not flags & 2:
                errors.append("serial %08x: no BOS page" % serial)
        if flags & 2:
            s["bos"] = 1
        if flags & 4:
            s["eos"] = 1
        # Icecast sends a new listener the header pages, then the stream
        # from a recent page: one jump before the first audio is normal.
        if seq != s["seq"] + 1 and s["audio_pages"] > 0:
            errors.append("serial %08x: page %d after %d" %
                          (serial, seq, s["seq"]))
        s["seq"] = seq
        s["pages"] += 1
        # Packets completed on this page.
        body = data[pos + 27 + nseg:end]
        at = 0
        cur = s["partial"] if flags & 1 else b""
        done = []
        for lv in lacing:
            cur += body[at:at + lv]
            at += lv
            if lv < 255:
                done.append(cur)
                cur = b""
        s["partial"] = cur
        page_samples = 0
        for pkt in done:
            if pkt.startswith(b"OpusHead"):
                s["codec"] = "opus"
                s["preskip"] = struct.unpack_from("<H", pkt, 10)[0]
            elif pkt.startswith(b"OpusTags"):
                s["title"] = parse_tags(pkt, 8).get("TITLE", "")
            elif pkt[:7] == b"\x01vorbis":
                s["codec"] = "vorbis"
            elif pkt[:7] == b"\x03vorbis":
                s["title"] = parse_tags(pkt, 7).get("TITLE", "")
            elif s["codec"] == "opus":
                page_samples += opus_packet_samples(pkt)
                s["packets"] += 1
            elif s["codec"] == "vorbis" and pkt and not pkt[0] & 1:
                s["packets"] += 1
                s["audio_pages_v"] = 1
        if s.get("audio_pages_v") and granule != -1:
            s["audio_pages"] += 1
        elif granule != -1 and page_samples > 0:
            s["audio_pages"] += 1
            if (s["audio_pages"] == 1 and granule < page_samples and
                    not flags & 4):
                errors.append("serial %08x: first audio page granule %d "
                              "< its %d samples" %
                              (serial, granule, page_samples))
        if granule != -1:
            if granule < s["last"]:
                errors.append("serial %08x: granule %d after %d" %
                              (serial, granule, s["last"]))
            s["last"] = granule
        pos = end
    for serial in order:
        s = streams[serial]
        print("serial=%08x codec=%s preskip=%d last_granule=%d bos=%d "
              "eos=%d pages=%d packets=%d title=%s" %
              (serial, s["codec"], s["preskip"], s["last"], s["bos"],
               s["eos"], s["pages"], s["packets"], s["title"]))
    for e in errors:
        print("ERROR: " + e)
    if not order:
        print("ERROR: no Ogg page found")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
