/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crc32c.c - CRC32C (Castagnoli) and the blockwise payload checksum: the
 * public entry points over csum-core.h (shared with the restorer), with
 * the choice of the SSE4.2 or the table implementation made once.
 */
#include <stdint.h>
#include <string.h>

#include "csum-core.h"
#include "internal.h"

_Static_assert(CSUM_BLOCK == CRIMG_CSUM_BLOCK, "checksum block size");

static csum_table_t table;
static int use_hw;

static int cpu_has_hw(void)
{
#ifdef CSUM_HAVE_HW
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
#else
	return 0;
#endif
}

__attribute__((constructor))
static void crc32c_init(void)
{
	csum_table_init(table);
	use_hw = cpu_has_hw();
}

/* For the tests: force the table implementation (on != 0) or go back to
 * the best one for this CPU. */
void crimg__crc32c_use_table(int on)
{
	use_hw = !on && cpu_has_hw();
}

CRIMG_API uint32_t crimg_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return csum_crc32c(table, use_hw, crc, buf, len);
}

CRIMG_API void crimg_csum_init(struct crimg_csum *c)
{
	memset(c, 0, sizeof(*c));
}

CRIMG_API void crimg_csum_update(struct crimg_csum *c, const void *buf, size_t len)
{
	csum_update(table, use_hw, &c->outer, &c->inner, &c->fill, buf, len);
}

CRIMG_API uint32_t crimg_csum_final(const struct crimg_csum *c)
{
	return csum_final(table, use_hw, c->outer, c->inner, c->fill);
}

uint32_t crimg__hdr_csum(uint64_t index, const uint8_t *hdr)
{
	return frame_hdr_csum(crimg_crc32c, index, hdr);
}

uint32_t crimg__chain_step(uint32_t chain, uint32_t hdr_csum, uint32_t payload_csum)
{
	return frame_chain_step(crimg_crc32c, chain, hdr_csum, payload_csum);
}

void crimg__fill_hdr(uint8_t *hdr, uint64_t index, uint32_t type, uint32_t flags, uint64_t len)
{
	frame_hdr_fields(hdr, type, flags, len);
	put_le32(hdr + 20, crimg__hdr_csum(index, hdr));
}
