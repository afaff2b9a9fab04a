/* SPDX-License-Identifier: MIT */
/*
 * Outputs: one thread and one bounded packet queue per [output] section.
 * output.c owns the generic part: connect with capped exponential backoff
 * and jitter (forever, the first attempt included) cut short as soon as a
 * server that was down accepts connections again, a fresh Ogg chain on
 * every connection (muxer.c), the stall watchdog, queue overflow handling,
 * EOS on shutdown, and every counter in stats. A backend (struct
 * output_ops: output_icecast.c, output_file.c) only moves bytes.
 *
 * Threads: output_start/stop/queue on the main thread; ops run on the
 * output's own thread; the engine thread pushes into output_queue().
 */
#ifndef RELAY_OUTPUT_H
#define RELAY_OUTPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "packet_queue.h"
#include "tls.h"
#include "util.h"

struct output_backend; /* private to each backend */

struct output_ops {
	const char *name;
	/* Allocates the backend for o (no I/O), copying every setting it
	 * keeps (cfg is borrowed for the call). 0 or negative errno. */
	int (*create)(const struct config *cfg, const struct output_config *o,
	    struct output_backend **out, char *err, size_t errlen);
	/* Starts connecting. 0 connected, -EINPROGRESS call open_poll(),
	 * or negative errno with a reason an operator can act on in err:
	 * "401 Unauthorized: wrong password (check [output main])". */
	int (*open)(struct output_backend *b, char *err, size_t errlen);
	/* Drives a connect in progress: same returns as open(). */
	int (*open_poll)(struct output_backend *b, char *err, size_t errlen);
	/* Queues bytes for sending; never blocks for long. 0 or negative
	 * errno (the connection is then unusable: close it). */
	int (*write)(struct output_backend *b, const unsigned char *data,
	    size_t bytes, char *err, size_t errlen);
	/* Pushes queued bytes out; stores bytes still waiting in *pending.
	 * 0 or negative errno. */
	int (*flush)(struct output_backend *b, size_t *pending, char *err,
	    size_t errlen);
	/* Optional (NULL): asks the server to show title/artist (metadata =
	 * admin). Blocks at most OUTPUT_TITLE_TIMEOUT_NS, less once cancel
	 * turns true; called on the output thread. */
	int (*set_title)(struct output_backend *b, const char *title,
	    const char *artist, const atomic_bool *cancel, char *err,
	    size_t errlen);
	/* Optional (NULL): while disconnected, a cheap check that the server
	 * accepts connections again, without logging in (a non-blocking TCP
	 * connect). 0 it does, -EINPROGRESS not known yet (call again), or a
	 * negative errno (it does not). Never blocks, except for resolving a
	 * host name once per connect attempt. close() ends a probe. */
	int (*probe)(struct output_backend *b);
	/* Optional (NULL): on a connected TLS output, the certificate the
	 * server showed (verified). true and *peer filled, or false. */
	bool (*tls_peer)(struct output_backend *b, struct tls_peer *peer);
	/* Optional (NULL): gives the backend its stats slot, once, before
	 * the output thread starts (the archive reports its file). */
	void (*set_stats)(struct output_backend *b, int stats_id);
	/* Optional (NULL): whether a packet made at wall_ns belongs in a
	 * later file than the open one (the archive's rotation). */
	bool (*rotate_due)(struct output_backend *b, int64_t wall_ns);
	/* Optional, with rotate_due: the muxer has ended the stream in the
	 * open file (EOS); close it and open the file for wall_ns. 0, or a
	 * negative errno with err set (then closed, as after a failure). */
	int (*rotate)(struct output_backend *b, int64_t wall_ns, char *err,
	    size_t errlen);
	/* Optional (NULL): a reload changed the output's encoding and kept
	 * the output (config_output_change()): the settings the backend
	 * announces at connect (Icecast's audio info) follow e from the next
	 * connection on. Called on the output thread, never while connected;
	 * e is borrowed for the call. */
	void (*set_encoding)(
	    struct output_backend *b, const struct encoding_config *e);
	/* Closes the connection (safe when not connected). */
	void (*close)(struct output_backend *b);
	/* Frees the backend (after close). */
	void (*destroy)(struct output_backend *b);
};

extern const struct output_ops output_icecast_ops;
extern const struct output_ops output_file_ops;

/* The longest a title update (metadata = admin) may hold up an output. */
#define OUTPUT_TITLE_TIMEOUT_NS (2 * NS_PER_SEC)

struct output;

/* Starts the output thread for cfg->outputs[index]. cfg is borrowed for the
 * call only: the output and its backend copy what they keep, so a reload
 * may free the old config while unchanged outputs run on. Owned:
 * output_stop(). NULL on error. */
struct output *output_start(
    const struct config *cfg, size_t index, char *err, size_t errlen);

/* output_start() in two steps: output_new() makes the output and its
 * queue, which may be attached and fill at once, without a thread or a
 * status slot (nothing connects, nothing is opened); output_run() starts
 * it (0, or negative errno with err filled: then output_stop() it). A
 * reload makes an output's replacement while the old one still sends, and
 * runs it once the old one has stopped. */
struct output *output_new(
    const struct config *cfg, size_t index, char *err, size_t errlen);
RELAY_MUST_CHECK int output_run(struct output *o, const struct config *cfg,
    size_t index, char *err, size_t errlen);

/* Ends the stream with EOS (after draining what is queued, at most
 * drain_ns), disconnects, joins and frees. NULL is a no-op. */
void output_stop(struct output *o, int64_t drain_ns);

/* Tells a running output how often the Icecast poller now runs ([status]
 * poll_icecast after a reload; 0 = off), so that the stall watchdog only
 * uses the server's view while someone refreshes it. Main thread. */
void output_set_poll_interval(struct output *o, int64_t poll_interval_ns);

/* A reload kept the output while its encoding changed (a new Ogg chain on
 * the same connection, config_output_change()): what the backend announces
 * at connect follows cfg's encoding from the next connection on (the open
 * one keeps what it announced). Main thread; cfg borrowed for the call. */
void output_set_encoding(
    struct output *o, const struct config *cfg, size_t index);

/* The queue the engine pushes packets into (borrowed). */
struct packet_queue *output_queue(struct output *o);
int output_stats_id(const struct output *o);
const char *output_name(const struct output *o);

#endif
