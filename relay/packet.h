/* SPDX-License-Identifier: MIT */
/*
 * Encoded Vorbis, Opus or MP3 packets, shared read-only between the engine
 * thread that makes them and the output threads that mux and send them.
 *
 * A struct packet is immutable once published and refcounted: every output
 * queue that accepts it holds one reference. Each packet points at the
 * stream_headers (Vorbis: identification, comment, setup; Opus: OpusHead,
 * OpusTags) of the chain it belongs to; when an output sees a packet with
 * different headers than its current Ogg logical stream, it ends that stream
 * and starts a new chain. This is how metadata changes (new comment header) and
 * encoder restarts reach every output at the exact packet, and how a
 * reconnecting output can always begin a fresh stream with headers.
 *
 * Packets of up to PACKET_POOL_DATA bytes come from a pool of recycled
 * ones (packet.c), so a steady stream allocates nothing after its first
 * seconds and the engine takes no malloc lock an output thread's free()
 * also takes.
 *
 * The one field written after publication is the cache of packet_hash()
 * (listen-back's packet hash): a pure function of the bytes, so the first
 * output thread to ask computes it and the others of the same encoding
 * read it, instead of every Icecast output hashing every byte again.
 *
 * Threads: packet_new, packet_ref/unref, packet_hash and
 * headers_ref/unref are safe from any thread (atomics; the pool is
 * lock-free).
 */
#ifndef RELAY_PACKET_H
#define RELAY_PACKET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream_headers {
	atomic_int refs;
	int rate_hz;
	int channels;
	uint32_t chain_id; /* changes whenever the header set changes */
	/* Which encoder instance made it (0: unknown). A rebuilt encoder
	 * can have byte-identical setup headers but counts its granules
	 * from zero again, so its packets never continue an old stream. */
	uint32_t encoder_id;
	char title[256]; /* as written into the comment header (UTF-8) */
	char artist[256];
	/* Opus (RFC 7845): packet[0] is OpusHead, packet[1] OpusTags and
	 * packet[2] is empty (bytes[2] = 0); rate_hz is 48000, the granule
	 * rate, and preskip the encoder's lookahead written in OpusHead. */
	bool opus;
	int preskip;
	/* MP3: no headers (all three empty); packets are raw MP3 bytes
	 * that outputs send as they are, without Ogg paging. granulepos
	 * counts samples at rate_hz. */
	bool raw;
	unsigned char *packet[3]; /* ident, comment, setup */
	size_t bytes[3];
};

struct packet {
	atomic_int refs;
	bool pooled;			/* from the packet pool (packet.c) */
	struct packet *next_free;	/* in the pool's free lists */
	struct stream_headers *headers; /* one reference held by the packet */
	int64_t granulepos;		/* absolute, encoder's own count */
	int64_t packetno;
	bool eos;	      /* last packet of the encoder (shutdown) */
	int64_t made_mono_ns; /* when the encoder produced it (lag_ms) */
	int32_t samples;      /* Opus: duration at 48 kHz; Vorbis: 0 */
	/* packet_hash()'s result once computed, 0 until then (a hash that
	 * is 0 is computed on every call: still right, just not cached). */
	atomic_uint_least64_t hash;
	size_t bytes;
	unsigned char data[];
};

/* Owned (refs = 1). The three buffers are copied. NULL on OOM. */
struct stream_headers *headers_new(int rate_hz, int channels, const char *title,
    const char *artist, const unsigned char *const pkt[3],
    const size_t bytes[3]);
struct stream_headers *headers_ref(struct stream_headers *h);
void headers_unref(struct stream_headers *h);

/* Owned (refs = 1), takes a new reference on headers. NULL on OOM. */
struct packet *packet_new(struct stream_headers *headers,
    const unsigned char *data, size_t bytes, int64_t granulepos,
    int64_t packetno, bool eos);
struct packet *packet_ref(struct packet *p);
void packet_unref(struct packet *p);

/* A 64-bit hash of bytes and their length (FNV-1a): what identifies a
 * packet to listen-back (listenback.h), on both the sending and the
 * listening side. */
uint64_t packet_data_hash(const unsigned char *data, size_t bytes);

/* packet_data_hash() of p's data, computed by the first caller and cached
 * in p: with N outputs of one encoding the bytes are hashed once, not N
 * times. */
uint64_t packet_hash(struct packet *p);

#endif
