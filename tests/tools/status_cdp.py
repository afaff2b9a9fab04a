#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Drives Debian's headless Chromium through the DevTools protocol.

Usage: status_cdp.py [--size W,H] [--dark] [--autoplay] [--no-script]
                     [--init JS]... STEP...
--init JS runs JS in every new document before the page's own scripts
(Page.addScriptToEvaluateOnNewDocument), e.g. to make canPlayType say "".
--no-script: the page's scripts do not run (a browser with JavaScript off;
Emulation.setScriptExecutionDisabled); use dom, not wait or eval, then.
Steps run in order; the first failing step ends the run with exit 1:
  open URL            navigate and wait for the load event
  wait EXPR [S]       poll the JavaScript expression until truthy (10 s)
  eval EXPR           print the expression's value as JSON
  click SELECTOR      a real mouse click (user activation) on the element
  shot FILE.png       screenshot of the viewport
  dom FILE            the document's HTML (DOM.getOuterHTML) into FILE
  sleep S             wait S seconds
Each step prints "ok STEP..." (or "FAIL ...") on stdout, flushed, so a
test running this in the background can follow its progress.

Why not --dump-dom: the Listen Live page keeps an event stream open, so a
virtual-time budget never elapses, and without one the DOM is dumped at
the load event, racing the page's first update. Waiting on a condition
through the protocol is deterministic. The WebSocket client below is the
minimum the protocol needs (Python's standard library has none).
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')


class Fail(Exception):
    pass


class WebSocket:
    def __init__(self, url, timeout=30):
        m = re.match(r'ws://([^/:]+):(\d+)(/.*)', url)
        if not m:
            raise Fail(f'bad websocket url {url}')
        self.sock = socket.create_connection((m.group(1), int(m.group(2))),
                                             timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f'GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:'
               f'{m.group(2)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n')
        self.sock.sendall(req.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise Fail('websocket handshake: connection closed')
            head += chunk
        if not head.startswith(b'HTTP/1.1 101'):
            raise Fail(f'websocket handshake: {head[:40]!r}')

    def _read(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Fail('websocket closed')
            buf += chunk
        return buf

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack('!BB', 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        message = b''
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0f, b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._read(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode == 0x8:
                raise Fail('websocket closed by chromium')
            if opcode in (0x0, 0x1, 0x2):
                message += data
                if b0 & 0x80:
                    return message.decode()


class Browser:
    def __init__(self, size, dark, autoplay):
        self.profile = tempfile.mkdtemp(prefix='relay-cdp.')
        args = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
                '--disable-quic', '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--disable-default-apps', '--disable-extensions',
                '--mute-audio', '--hide-scrollbars',
                f'--window-size={size}', '--remote-debugging-port=0',
                f'--user-data-dir={self.profile}']
        if dark:
            args += ['--force-dark-mode',
                     '--blink-settings=preferredColorScheme=0']
        if autoplay:
            args.append('--autoplay-policy=no-user-gesture-required')
        args.append('about:blank')
        self.log = open(os.path.join(self.profile, 'stderr'), 'w+')
        # Its own process group, so close() ends the renderers too.
        # Chromium leaves shared-memory and pulse folders in TMPDIR: keep
        # them inside the profile, which close() removes.
        env = dict(os.environ, TMPDIR=os.path.join(self.profile, 'tmp'))
        os.mkdir(env['TMPDIR'])
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=self.log, start_new_session=True,
                                     env=env)
        self.size = size

    def connect(self, init=(), no_script=False):
        """Finds the DevTools endpoint and attaches to the page."""
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            time.sleep(0.1)
            self.log.seek(0)
            m = re.search(r'DevTools listening on ws://[^:]+:(\d+)/',
                          self.log.read())
            if m:
                port = int(m.group(1))
            if self.proc.poll() is not None:
                break
        if port is None:
            raise Fail('chromium did not start its DevTools endpoint')
        page = None
        while page is None and time.time() < deadline:
            with urllib.request.urlopen(
                    f'http://127.0.0.1:{port}/json/list', timeout=5) as r:
                targets = json.load(r)
            page = next((t for t in targets if t.get('type') == 'page'),
                        None)
            if page is None:
                time.sleep(0.1)
        if page is None:
            raise Fail('chromium has no page target')
        self.ws = WebSocket(page['webSocketDebuggerUrl'])
        self.next_id = 0
        self.events = []
        self.call('Page.enable')
        self.call('Runtime.enable')
        for js in init:
            self.call('Page.addScriptToEvaluateOnNewDocument', source=js)
        if no_script:
            self.call('Emulation.setScriptExecutionDisabled', value=True)
        # Headless windows have a minimum width; emulate the phone exactly.
        w, h = (int(x) for x in self.size.split(','))
        self.call('Emulation.setDeviceMetricsOverride', width=w, height=h,
                  deviceScaleFactor=1, mobile=w < 600)

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({'id': my, 'method': method,
                                 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == my:
                if 'error' in msg:
                    raise Fail(f'{method}: {msg["error"]}')
                return msg.get('result', {})
            if 'method' in msg:
                self.events.append(msg)

    def wait_event(self, name, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, ev in enumerate(self.events):
                if ev['method'] == name:
                    del self.events[i]
                    return ev
            self.ws.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                msg = json.loads(self.ws.recv())
            except socket.timeout:
                break
            finally:
                self.ws.sock.settimeout(30)
            if 'method' in msg:
                self.events.append(msg)
        raise Fail(f'no {name} within {timeout} s')

    def evaluate(self, expr):
        r = self.call('Runtime.evaluate', expression=expr,
                      returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise Fail(f'{expr}: {r["exceptionDetails"].get("text")} '
                       f'{r["exceptionDetails"].get("exception", {}).get("description", "")}')
        return r.get('result', {}).get('value')

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stray children
        except ProcessLookupError:
            pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def run(b, steps):
    i = 0
    while i < len(steps):
        op = steps[i]
        if op == 'open':
            url = steps[i + 1]
            b.events.clear()
            b.call('Page.navigate', url=url)
            b.wait_event('Page.loadEventFired', 20)
            i += 2
            done = f'open {url}'
        elif op == 'wait':
            expr = steps[i + 1]
            timeout = 10.0
            i += 2
            if i < len(steps) and re.fullmatch(r'[0-9.]+', steps[i]):
                timeout = float(steps[i])
                i += 1
            deadline = time.time() + timeout
            while not b.evaluate(f'!!({expr})'):
                if time.time() > deadline:
                    raise Fail(f'wait {expr}: still false after {timeout} s')
                time.sleep(0.1)
            done = f'wait {expr}'
        elif op == 'eval':
            done = f'eval {json.dumps(b.evaluate(steps[i + 1]))}'
            i += 2
        elif op == 'click':
            sel = steps[i + 1]
            box = b.evaluate(
                f'(function(){{var e=document.querySelector({json.dumps(sel)});'
                f'if(!e)return null;var r=e.getBoundingClientRect();'
                f'return [r.left+r.width/2,r.top+r.height/2];}})()')
            if not box:
                raise Fail(f'click {sel}: no such element')
            for kind in ('mousePressed', 'mouseReleased'):
                b.call('Input.dispatchMouseEvent', type=kind, x=box[0],
                       y=box[1], button='left', clickCount=1)
            done = f'click {sel}'
            i += 2
        elif op == 'shot':
            r = b.call('Page.captureScreenshot', format='png')
            with open(steps[i + 1], 'wb') as f:
                f.write(base64.b64decode(r['data']))
            done = f'shot {steps[i + 1]}'
            i += 2
        elif op == 'dom':
            # Through the DOM domain: works with scripts off too.
            root = b.call('DOM.getDocument', depth=1)['root']
            html = next(n for n in root.get('children', [])
                        if n.get('nodeName') == 'HTML')
            r = b.call('DOM.getOuterHTML', nodeId=html['nodeId'])
            with open(steps[i + 1], 'w', encoding='utf-8') as f:
                f.write(r['outerHTML'])
            done = f'dom {steps[i + 1]}'
            i += 2
        elif op == 'sleep':
            time.sleep(float(steps[i + 1]))
            done = f'sleep {steps[i + 1]}'
            i += 2
        else:
            raise Fail(f'unknown step {op!r}')
        print(f'ok {done}', flush=True)


def main(argv):
    size, dark, autoplay, init = '412,900', False, False, []
    no_script = False
    args = argv[1:]
    while args and args[0].startswith('--'):
        if args[0] == '--size':
            size = args[1]
            args = args[2:]
        elif args[0] == '--dark':
            dark = True
            args = args[1:]
        elif args[0] == '--autoplay':
            autoplay = True
            args = args[1:]
        elif args[0] == '--no-script':
            no_script = True
            args = args[1:]
        elif args[0] == '--init':
            init.append(args[1])
            args = args[2:]
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not os.access(CHROMIUM, os.X_OK):
        print(f'status_cdp: {CHROMIUM} not found', file=sys.stderr)
        return 77
    # A test's cleanup stops this script with SIGTERM: close the browser.
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(143))
    b = None
    try:
        b = Browser(size, dark, autoplay)
        b.connect(init, no_script)
        run(b, args)
    except (Fail, OSError, ValueError) as e:
        print(f'FAIL {e}', flush=True)
        return 1
    finally:
        if b is not None:
            b.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
