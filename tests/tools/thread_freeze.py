#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""thread_freeze.py PID COMM SECONDS [QUIET_S WAIT_S]: stops one thread of
process PID (the first whose name is COMM) for SECONDS, the others running
on: a disk that hangs a feeder's read, with nothing else slowed. ptrace
attaches to a single thread (PTRACE_SEIZE on its TID), PTRACE_INTERRUPT
stops it, PTRACE_DETACH lets it go.

With QUIET_S, it first waits (up to WAIT_S) until the thread has not woken
for QUIET_S (its voluntary context switches did not move): a thread that
naps between refills is then late in a nap, its buffer at its lowest. It
stops the thread either way.

Prints "frozen QUIET" (QUIET: yes when the thread was found quiet) and
"thawed"; exits 1 when the thread cannot be found or stopped, 2 when
ptrace is not allowed here (EPERM: Yama's ptrace_scope, no
CAP_SYS_PTRACE)."""
import ctypes
import errno
import os
import sys
import time

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p,
                        ctypes.c_void_p]


def find_tid(pid, comm):
    for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() == comm:
                    return int(tid)
        except OSError:
            pass
    return None


def switches(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return -1


def ptrace(req, tid):
    if libc.ptrace(req, tid, None, None) != 0:
        err = ctypes.get_errno()
        print("ptrace %#x on %d: %s" % (req, tid, os.strerror(err)),
              file=sys.stderr)
        sys.exit(2 if err == errno.EPERM else 1)


def main():
    pid, comm, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    quiet_s = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    wait_s = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    tid = find_tid(pid, comm)
    if tid is None:
        sys.exit("no thread named %s in %d" % (comm, pid))
    quiet = False
    if quiet_s > 0:
        end = time.monotonic() + wait_s
        last, since = switches(pid, tid), time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.002)
            now = switches(pid, tid)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                quiet = True
                break
    ptrace(PTRACE_SEIZE, tid)
    ptrace(PTRACE_INTERRUPT, tid)
    os.waitpid(tid, WALL)
    print("frozen", "yes" if quiet else "no", flush=True)
    time.sleep(seconds)
    ptrace(PTRACE_DETACH, tid)
    print("thawed", flush=True)


if __name__ == "__main__":
    main()
