/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crc.c - CRC32C and the blockwise payload checksum of cr-image(5) for
 * the restorer, which cannot call libcrimg: the same implementation
 * (libcrimg/csum-core.h), with SSE4.2 detected by cpuid at first use.
 */
#include "rst.h"
#include "../../libcrimg/csum-core.h"

static csum_table_t table;
static int have_hw = -1;

static void init(void)
{
	uint32_t a, b, c, d;

	csum_table_init(table);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(1), "2"(0));
	have_hw = (c >> 20) & 1;
}

uint32_t rst_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (have_hw < 0)
		init();
	return csum_crc32c(table, have_hw, crc, buf, len);
}

void rst_csum_init(struct rst_csum *c)
{
	c->outer = c->inner = c->fill = 0;
	if (have_hw < 0)
		init();
}

void rst_csum_update(struct rst_csum *c, const void *buf, size_t len)
{
	csum_update(table, have_hw, &c->outer, &c->inner, &c->fill, buf, len);
}

uint32_t rst_csum_final(const struct rst_csum *c)
{
	return csum_final(table, have_hw, c->outer, c->inner, c->fill);
}
