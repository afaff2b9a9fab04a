#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile listen-back target: an HTTP server on 127.0.0.1:PORT whose
every answer is a valid Ogg stream that begins one packet and never ends
it (a Vorbis-like BOS page, then 64 kB continuation pages with correct
CRCs and sequence numbers, for ever). libogg keeps a whole packet in
memory, so a listener without a limit grows without end.
A request for /drip.ogg instead gets one byte that is not Ogg every half
second, for ever: bytes arrive, audio never does.

Usage: ogg_endless_packet.py PORT"""
import socket
import struct
import sys
import threading
import time

TABLE = []
for i in range(256):
    c = i << 24
    for _ in range(8):
        c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
    TABLE.append(c & 0xFFFFFFFF)


def ogg_crc(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFFFFFF) ^ TABLE[((c >> 24) & 0xFF) ^ b]
    return c


def page(flags, seq, body):
    # 255 lacing values of 255: the packet goes on past this page.
    head = (b"OggS" + bytes([0, flags]) + struct.pack("<qII", -1, 4242, seq)
            + b"\0\0\0\0" + bytes([255]) + bytes([255] * 255))
    p = bytearray(head + body)
    p[22:26] = struct.pack("<I", ogg_crc(bytes(p)))
    return bytes(p)


SIZE = 255 * 255
# The CRC of a 64 kB page costs Python tens of ms: a few are made
# ahead, the rest as they go (slower than relay reads: fine).
FIRST = page(2, 0, b"\x01vorbis" + bytes(SIZE - 7))
CONT = [page(1, seq, b"\x55" * SIZE) for seq in range(1, 9)]


def serve(conn):
    try:
        request = conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/ogg\r\n\r\n")
        if b" /drip.ogg " in request:
            while True:
                conn.sendall(b"x")
                time.sleep(0.5)
        conn.sendall(FIRST)
        seq = 1
        while True:
            if seq <= len(CONT):
                conn.sendall(CONT[seq - 1])
            else:
                conn.sendall(page(1, seq, b"\x55" * SIZE))
            seq += 1
    except OSError:
        pass
    finally:
        conn.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(8)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
