/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crc.c - CRC32C and the blockwise payload checksum of cr-image(5), for
 * the restorer (which cannot call libcrimg): the checksum is CRC32C over
 * the little-endian CRC32Cs of the payload's 4096-byte blocks, the last
 * block possibly short.  With SSE4.2, three blocks are checksummed at
 * once so that the crc32 instruction (latency 3, throughput 1) is busy
 * every cycle; without it, a bytewise table built at first use.
 */
#include "rst.h"

#define POLY 0x82f63b78u
#define BLOCK 4096u

static uint32_t table[256];
static int have_hw = -1;

static void init(void)
{
	uint32_t a, b, c, d;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t x = i;

		for (int k = 0; k < 8; k++)
			x = x & 1 ? (x >> 1) ^ POLY : x >> 1;
		table[i] = x;
	}
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(1), "2"(0));
	have_hw = (c >> 20) & 1;
}

/* raw update: no inversion */
static uint32_t sw_raw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len--)
		c = (c >> 8) ^ table[(c ^ *p++) & 0xff];
	return c;
}

__attribute__((target("sse4.2")))
static uint32_t hw_raw(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t c64;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi(c, *p++);
		len--;
	}
	c64 = c;
	while (len >= 8) {
		c64 = __builtin_ia32_crc32di(c64, *(const uint64_t *)p);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

static uint32_t crc_raw(uint32_t c, const uint8_t *p, size_t len)
{
	if (have_hw < 0)
		init();
	return have_hw ? hw_raw(c, p, len) : sw_raw(c, p, len);
}

uint32_t rst_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_raw(~crc, buf, len);
}

static uint32_t outer_step(uint32_t outer, uint32_t block)
{
	uint8_t le[4] = { (uint8_t)block, (uint8_t)(block >> 8), (uint8_t)(block >> 16),
			  (uint8_t)(block >> 24) };

	return rst_crc32c(outer, le, 4);
}

/* nblocks whole blocks; outer is the running (non-inverted) outer crc.
 * Unaligned 8-byte loads are fine on x86. */
__attribute__((target("sse4.2")))
static uint32_t hw_blocks(uint32_t outer, const uint8_t *p, size_t nblocks)
{
	outer = ~outer;
	while (nblocks >= 3) {
		uint64_t a = ~0u, b = ~0u, c = ~0u;
		const uint8_t *pa = p, *pb = p + BLOCK, *pc = p + 2 * BLOCK;

		for (size_t i = 0; i < BLOCK; i += 8) {
			a = __builtin_ia32_crc32di(a, *(const uint64_t *)(pa + i));
			b = __builtin_ia32_crc32di(b, *(const uint64_t *)(pb + i));
			c = __builtin_ia32_crc32di(c, *(const uint64_t *)(pc + i));
		}
		outer = __builtin_ia32_crc32si(outer, ~(uint32_t)a);
		outer = __builtin_ia32_crc32si(outer, ~(uint32_t)b);
		outer = __builtin_ia32_crc32si(outer, ~(uint32_t)c);
		p += 3 * BLOCK;
		nblocks -= 3;
	}
	while (nblocks--) {
		uint32_t b = ~hw_raw(~0u, p, BLOCK);

		outer = __builtin_ia32_crc32si(outer, b);
		p += BLOCK;
	}
	return ~outer;
}

void rst_csum_init(struct rst_csum *c)
{
	c->outer = c->inner = c->fill = 0;
	if (have_hw < 0)
		init();
}

void rst_csum_update(struct rst_csum *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (c->fill) {
		size_t n = BLOCK - c->fill;

		if (n > len)
			n = len;
		c->inner = rst_crc32c(c->inner, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill < BLOCK)
			return;
		c->outer = outer_step(c->outer, c->inner);
		c->inner = 0;
		c->fill = 0;
	}
	if (len >= BLOCK) {
		size_t nb = len / BLOCK;

		if (have_hw) {
			c->outer = hw_blocks(c->outer, p, nb);
		} else {
			for (size_t i = 0; i < nb; i++)
				c->outer = outer_step(c->outer, rst_crc32c(0, p + i * BLOCK, BLOCK));
		}
		p += nb * BLOCK;
		len -= nb * BLOCK;
	}
	if (len) {
		c->inner = rst_crc32c(0, p, len);
		c->fill = len;
	}
}

uint32_t rst_csum_final(const struct rst_csum *c)
{
	return c->fill ? outer_step(c->outer, c->inner) : c->outer;
}
