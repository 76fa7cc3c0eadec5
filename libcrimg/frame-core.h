/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * frame-core.h - the byte-level rules of the record framing of
 * cr-image(5), as static inline functions with no dependency: libcrimg
 * (writer, reader), the restore engine of libcrcore (restore.c, which
 * hands a stream position over) and its freestanding restorer (which
 * reads the records after it itself) all include this one copy.
 *
 * The CRC32C comes from the includer (crimg_crc32c, or the restorer's
 * rst_crc32c: the same function over csum-core.h), as a parameter.
 */
#ifndef CRIMG_FRAME_CORE_H
#define CRIMG_FRAME_CORE_H

#include <stddef.h>
#include <stdint.h>

/* Little-endian stores and loads (the format is LE on every host). */
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

typedef uint32_t (*frame_crc_fn)(uint32_t crc, const void *buf, size_t len);

/* The first 20 bytes of a record header: type, flags, length, reserved. */
static inline void frame_hdr_fields(uint8_t *h, uint32_t type, uint32_t flags, uint64_t len)
{
	put_le32(h, type);
	put_le32(h + 4, flags);
	put_le64(h + 8, len);
	put_le32(h + 16, 0);
}

/* The header checksum: CRC32C(LE64(index) || header bytes 0..19), so that
 * a record moved to another place of the stream does not check. */
static inline uint32_t frame_hdr_csum(frame_crc_fn crc, uint64_t index, const uint8_t *h)
{
	uint8_t le[8];

	put_le64(le, index);
	return crc(crc(0, le, 8), h, 20);
}

/* The chain checksum the trailer carries, one step per record:
 * CRC32C(chain, LE32(header checksum) || LE32(payload checksum or 0)). */
static inline uint32_t frame_chain_step(frame_crc_fn crc, uint32_t chain, uint32_t hdr_csum,
					uint32_t payload_csum)
{
	uint8_t b[8];

	put_le32(b, hdr_csum);
	put_le32(b + 4, payload_csum);
	return crc(chain, b, 8);
}

#endif
