/* SPDX-License-Identifier: MIT */
/*
 * The main thread's wake-up: another thread says "something changed that
 * the main loop must see now" (an engine event, the live input going
 * down or up or ending). The main loop sleeps in poll() until its next
 * deadline (main.c, DESIGN) and has this eventfd among its descriptors,
 * so it reacts at once instead of at its next tick.
 *
 * One per process, like the signal mask it sits beside. wakeup_signal()
 * before wakeup_open() or after wakeup_close() does nothing, so the
 * modules that call it also work in unit tests that run no main loop.
 *
 * Threads: wakeup_open(), wakeup_close(), wakeup_fd() and wakeup_drain()
 * on the main thread; wakeup_signal() and wakeup_count() from any thread.
 * wakeup_signal() is one write(2) and takes no lock: it is meant for
 * state changes, not for every block.
 */
#ifndef RELAY_WAKEUP_H
#define RELAY_WAKEUP_H

#include <stdint.h>

/* 0, or -errno when the eventfd cannot be made. */
int wakeup_open(void);
void wakeup_close(void);
/* The descriptor to poll for POLLIN; -1 when not open. */
int wakeup_fd(void);
/* Reads the counter back to zero after poll() said POLLIN. */
void wakeup_drain(void);
void wakeup_signal(void);
/* Signals so far (tests). */
uint64_t wakeup_count(void);

#endif
