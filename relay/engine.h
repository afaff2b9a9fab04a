/* SPDX-License-Identifier: MIT */
/*
 * The engine: the thread between the input ring and the outputs. It reads
 * the programme (live input now; scheduled segments later) in blocks,
 * meters it, feeds every encoder once, and pushes each packet into the
 * queues of the outputs that use that encoding. It never waits on an
 * output: a full queue drops its own packets (packet_queue.h).
 *
 * Threads: engine_* functions are called on the main thread; the engine
 * thread runs the encoders. A short mutex guards the encoder and
 * subscriber tables; the main thread takes it only to attach, detach or
 * swap encoders (reload).
 */
#ifndef RELAY_ENGINE_H
#define RELAY_ENGINE_H

#include <stddef.h>

#include "config.h"
#include "packet_queue.h"
#include "ring.h"
#include "util.h"

struct engine;

/* Creates the encoders of cfg and starts the thread reading ring
 * (borrowed: must outlive the engine). Owned: engine_stop(). NULL on error
 * with err filled (an encoder libvorbisenc refuses, out of memory). */
struct engine *engine_start(const struct config *cfg, struct ring *ring,
    char *err, size_t errlen);

/* Ends every stream (encoders flush, last packets carry EOS and reach the
 * queues), joins the thread and frees. NULL is a no-op. */
void engine_stop(struct engine *e);

/* Subscribes queue q (borrowed until detach) to the named encoding. */
RELAY_MUST_CHECK int engine_attach(struct engine *e, const char *encoding,
    struct packet_queue *q);
void engine_detach(struct engine *e, struct packet_queue *q);

/* Reload: encodings whose settings changed are rebuilt (their outputs see
 * a new chain), new ones created, removed ones dropped after their
 * subscribers detached; the silence threshold and live title follow cfg.
 * 0, or negative errno with err filled and nothing changed. */
RELAY_MUST_CHECK int engine_reconfigure(struct engine *e,
    const struct config *cfg, char *err, size_t errlen);

/* Sets the now-playing title/artist of the live programme. Thread-safe;
 * takes effect at the next block (new comment header on every encoder). */
void engine_set_title(struct engine *e, const char *title,
    const char *artist);

#endif
