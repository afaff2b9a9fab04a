#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""http_gate.py: a TCP proxy in front of a real Icecast, for failure tests.

    http_gate.py LISTEN_PORT UPSTREAM_PORT [--status-403] [--hold-admin]

Listens on 127.0.0.1:LISTEN_PORT and forwards every connection, byte for
byte, to 127.0.0.1:UPSTREAM_PORT, except:
  --status-403  a request for /status-json.xsl is answered 403 by the gate
                itself (a reverse proxy or access rule in front of Icecast);
  --hold-admin  a request for /admin/metadata is accepted and then neither
                forwarded nor answered (to the client, a server that froze
                between two requests).
Each decision is printed on stdout as one line ("held GET /admin/metadata",
"403 GET /status-json.xsl"), flushed at once, so a test can wait for it.

Threads: one asyncio event loop.
"""

import asyncio
import sys

HEAD_LIMIT = 4096


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def first_line(reader):
    """Reads up to the end of the request line; returns (line, bytes)."""
    buf = b""
    while b"\n" not in buf and len(buf) < HEAD_LIMIT:
        data = await reader.read(HEAD_LIMIT - len(buf))
        if not data:
            break
        buf += data
    return buf.split(b"\r\n", 1)[0].split(b"\n", 1)[0], buf


def say(text):
    print(text, flush=True)


async def handle(reader, writer, upstream_port, status_403, hold_admin):
    line, head = await first_line(reader)
    parts = line.split(b" ")
    method = parts[0].decode("latin-1") if parts else ""
    path = parts[1].decode("latin-1") if len(parts) > 1 else ""
    path_only = path.split("?", 1)[0]
    if status_403 and path_only == "/status-json.xsl":
        say(f"403 {method} {path_only}")
        body = b"forbidden by the gate\n"
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                     % len(body) + body)
        await writer.drain()
        writer.close()
        return
    if hold_admin and path_only == "/admin/metadata":
        say(f"held {method} {path_only}")
        # Keep the connection open, read and drop whatever comes, until
        # the client gives up.
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", upstream_port)
    except OSError:
        writer.close()
        return
    up_writer.write(head)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    listen_port, upstream_port = int(args[0]), int(args[1])
    status_403 = "--status-403" in args[2:]
    hold_admin = "--hold-admin" in args[2:]
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream_port, status_403, hold_admin),
        "127.0.0.1", listen_port)
    say(f"listening on 127.0.0.1:{listen_port} -> {upstream_port}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
