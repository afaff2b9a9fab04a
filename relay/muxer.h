/* SPDX-License-Identifier: MIT */
/*
 * Ogg paging for one output (libogg). Takes encoded packets in order and
 * writes Ogg pages through a callback:
 * - the first packet after muxer_reset() (a new connection), after a queue
 *   gap, or with a new header set starts a fresh logical stream: random
 *   serial, page 0 = BOS with the identification header, then comment and
 *   setup, then audio with granule positions rebased to the new stream;
 * - a page is flushed as soon as it holds max_page_ms of audio (default
 *   500 ms), so silence never makes multi-second pages;
 * - at a chain change or muxer_end() the stream being replaced ends with an
 *   EOS page. At a chain change the new stream begins with the last packet
 *   of the old one, whose decode only primes the overlap, so the audio
 *   carries on without a dropped block. After a gap or a reset the old
 *   stream is abandoned without EOS.
 * - MP3 packets (stream_headers.raw) are not paged: their bytes go to the
 *   callback as they are, and no stream is opened.
 *
 * Threads: one muxer per output thread. Runs on: that output's thread.
 */
#ifndef RELAY_MUXER_H
#define RELAY_MUXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "util.h"

struct muxer;

/* Writes one page (header and body back to back). 0 or negative errno;
 * an error is returned from the muxer call unchanged. */
typedef int muxer_write_cb(const unsigned char *data, size_t bytes, void *arg);

/* Owned: free with muxer_free(). */
struct muxer *muxer_new(int64_t max_page_ms);
void muxer_free(struct muxer *m);

/* Adds a packet (borrowed). gap = packets were lost before this one.
 * 0 or the first error from cb; after an error the stream is abandoned
 * (as muxer_reset) and the next packet starts a new one. */
RELAY_MUST_CHECK int muxer_packet(
    struct muxer *m, struct packet *p, bool gap, muxer_write_cb *cb, void *arg);

/* Ends the current stream: the held packet goes out with EOS set. */
RELAY_MUST_CHECK int muxer_end(struct muxer *m, muxer_write_cb *cb, void *arg);

/* Ends the current stream as muxer_end() does but keeps its last packet
 * to begin the next stream (the next muxer_packet() call) with, so that
 * the two streams, decoded separately, join without a lost or doubled
 * sample. An archive calls it between two files. A gap, a reset or a new
 * encoder before the next packet drops the kept packet. */
RELAY_MUST_CHECK int muxer_split(
    struct muxer *m, muxer_write_cb *cb, void *arg);

/* follow = true (default): a packet whose header set differs only in its
 * comment header starts a new chain (metadata = chain). false: the stream
 * goes on unbroken and the new comments are ignored (metadata = none or
 * admin). A changed codec setup (encoder restart) always re-chains. */
void muxer_set_follow_tags(struct muxer *m, bool follow);

/* Forgets the current stream without writing (connection lost). */
void muxer_reset(struct muxer *m);

/* Encoder granule at which the open page starts (the end of the last page
 * written), -1 when no stream is open: the page is complete once a packet
 * reaches max_page_ms of audio past it. */
int64_t muxer_page_start(const struct muxer *m);

/* Pages follow Icecast 2.4.4's re-paging of Vorbis for its listeners
 * (muxer.c DESIGN): each page ends right after the packet that makes
 * Icecast flush one of its own (~rate/2 samples), instead of at
 * max_page_ms. Takes effect at the next stream start; Opus and MP3 are
 * not affected. For outputs to Icecast. */
void muxer_set_icecast_pages(struct muxer *m, bool on);

/* Encoder granule position of the packet whose arrival lets the open page
 * be written (the output's wake-up point), or -1 when no stream is open. */
int64_t muxer_page_due(const struct muxer *m);

/* Whether the open page goes out only at the arrival of the packet after
 * the one at muxer_page_due() (that packet completes the page's audio but
 * is held back until the next one comes, muxer.c DESIGN), so the output
 * can sleep until then: packet_queue_set_batch_from(..., true). false: the
 * packet at muxer_page_due() writes the page itself, or no stream is open. */
bool muxer_page_due_waits_next(const struct muxer *m);

/* Chain id of the current stream's headers, 0 when none. */
uint32_t muxer_chain_id(const struct muxer *m);

/* Whether a stream is open whose packets so far, the held one included,
 * all sit at granule 0: ended now, it would hold no sample (a Vorbis
 * stream's first audio packet only primes the decoder), a file of zero
 * length that ogginfo calls the work of a buggy encoder. An archive's
 * split waits one packet then (output.c). */
bool muxer_stream_silent(const struct muxer *m);

/* Counters for stats and tests. */
uint64_t muxer_pages(const struct muxer *m);
uint64_t muxer_streams(const struct muxer *m);

#endif
