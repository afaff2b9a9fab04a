/* SPDX-License-Identifier: MIT */
/*
 * OpusHead and OpusTags (RFC 7845 sections 5.1 and 5.2). Every integer in
 * them is little-endian. OpusHead with mapping family 0 is 19 bytes:
 *   "OpusHead", version 1, channels, pre-skip (16), input rate (32),
 *   output gain (16, Q7.8 dB; always 0 here), mapping family 0.
 * OpusTags is "OpusTags", a length-prefixed vendor string, a comment
 * count and length-prefixed "KEY=value" comments, as in Vorbis.
 *
 * Threads: pure functions.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "opus_header.h"

static void
put_le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	p[2] = (unsigned char)((v >> 16) & 0xff);
	p[3] = (unsigned char)((v >> 24) & 0xff);
}

int
opus_header_head(unsigned char *buf, size_t len, int channels, int preskip,
    int input_rate_hz)
{
	if (buf == NULL || channels < 1 || channels > 2 || preskip < 0 ||
	    preskip > 65535 || input_rate_hz < 0)
		return -EINVAL;
	if (len < OPUS_HEADER_HEAD_BYTES)
		return -ENOSPC;
	memcpy(buf, "OpusHead", 8);
	buf[8] = 1; /* version */
	buf[9] = (unsigned char)channels;
	put_le16(buf + 10, (unsigned)preskip);
	put_le32(buf + 12, (uint32_t)input_rate_hz);
	put_le16(buf + 16, 0); /* output gain */
	buf[18] = 0;	       /* mapping family 0: mono or L, R */
	return OPUS_HEADER_HEAD_BYTES;
}

static int
is_head(const unsigned char *head, size_t bytes)
{
	return head != NULL && bytes >= OPUS_HEADER_HEAD_BYTES &&
	       memcmp(head, "OpusHead", 8) == 0;
}

int
opus_header_preskip(const unsigned char *head, size_t bytes)
{
	if (!is_head(head, bytes))
		return -EINVAL;
	return head[10] | head[11] << 8;
}

int
opus_header_read(
    const unsigned char *head, size_t bytes, struct opus_header_info *info)
{
	/* Little-endian fields: version 8, channels 9, pre-skip 10-11,
	 * input rate 12-15, gain 16-17, mapping family 18. */
	if (!is_head(head, bytes) || (head[8] & 0xf0) != 0)
		return -EINVAL;
	info->channels = head[9];
	info->preskip = head[10] | head[11] << 8;
	info->gain_q8 = (int16_t)(head[16] | head[17] << 8);
	info->mapping = head[18];
	return 0;
}

int
opus_header_set_preskip(unsigned char *head, size_t bytes, int preskip)
{
	if (!is_head(head, bytes) || preskip < 0 || preskip > 65535)
		return -EINVAL;
	put_le16(head + 10, (unsigned)preskip);
	return 0;
}

/* Appends a length-prefixed "key=value" (key NULL: value alone). */
static int
put_string(unsigned char *buf, size_t len, size_t *at, const char *key,
    const char *value)
{
	size_t klen = key != NULL ? strlen(key) + 1 : 0;
	size_t vlen = strlen(value);

	if (len - *at < 4 || len - *at - 4 < klen + vlen ||
	    klen + vlen > UINT32_MAX)
		return -ENOSPC;
	put_le32(buf + *at, (uint32_t)(klen + vlen));
	*at += 4;
	if (key != NULL) {
		memcpy(buf + *at, key, klen - 1);
		buf[*at + klen - 1] = '=';
		*at += klen;
	}
	memcpy(buf + *at, value, vlen);
	*at += vlen;
	return 0;
}

int
opus_header_tags(unsigned char *buf, size_t len, const char *vendor,
    const char *title, const char *artist)
{
	size_t at = 8;
	uint32_t n = 1;

	if (buf == NULL || len < 8)
		return -ENOSPC;
	memcpy(buf, "OpusTags", 8);
	if (put_string(buf, len, &at, NULL, vendor != NULL ? vendor : "") < 0)
		return -ENOSPC;
	if (title != NULL && title[0] != '\0')
		n++;
	if (artist != NULL && artist[0] != '\0')
		n++;
	if (len - at < 4)
		return -ENOSPC;
	put_le32(buf + at, n);
	at += 4;
	if (put_string(buf, len, &at, "ENCODER", "relay") < 0)
		return -ENOSPC;
	if (title != NULL && title[0] != '\0' &&
	    put_string(buf, len, &at, "TITLE", title) < 0)
		return -ENOSPC;
	if (artist != NULL && artist[0] != '\0' &&
	    put_string(buf, len, &at, "ARTIST", artist) < 0)
		return -ENOSPC;
	if (at > (size_t)INT32_MAX)
		return -ENOSPC;
	return (int)at;
}
