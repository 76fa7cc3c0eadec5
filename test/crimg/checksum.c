/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum: crimg_crc32c against a bit-by-bit CRC32C written from the
 * definition, at every length and alignment that exercises the fast
 * paths; the payload checksum against its definition in cr-image(5),
 * fed in every kind of chunking.
 */
#include "crimg-test.h"

static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/* CRC32C over LE32(CRC32C(block_i)) for 4096-byte blocks. */
static uint32_t ref_payload(const uint8_t *p, size_t n)
{
	uint32_t outer = 0;

	for (size_t off = 0; off < n; off += 4096) {
		size_t k = n - off < 4096 ? n - off : 4096;
		uint32_t b = ref_crc(0, p + off, k);
		uint8_t le[4] = { b, b >> 8, b >> 16, b >> 24 };

		outer = ref_crc(outer, le, 4);
	}
	return outer;
}

void crimg__crc32c_use_table(int on); /* libcrimg internal */

static void run(void);

int main(void)
{
	run();                      /* the fastest code for this CPU */
	crimg__crc32c_use_table(1); /* the portable table code */
	run();
	crimg__crc32c_use_table(0);
	return T_PASS;
}

static void run(void)
{
	size_t max = 4096 * 14 + 100;
	uint8_t *buf = malloc(max + 16);
	struct crimg_csum c;

	fill_pat(buf, max + 16, 5, 0);
	t_assert(crimg_crc32c(0, "123456789", 9) == 0xe3069283u);
	t_assert(ref_crc(0, (const uint8_t *)"123456789", 9) == 0xe3069283u);
	t_assert(crimg_crc32c(0, "", 0) == 0);
	for (size_t al = 0; al < 9; al++)
		for (size_t n = 0; n < 300; n++)
			if (crimg_crc32c(0, buf + al, n) != ref_crc(0, buf + al, n))
				t_fail("crc32c at alignment %zu length %zu", al, n);
	/* chaining */
	t_assert(crimg_crc32c(crimg_crc32c(0, buf, 1000), buf + 1000, 3000) == ref_crc(0, buf, 4000));

	/* payload checksum: empty, partial block, exact blocks, 1..14 blocks
	 * (3- and 6-way paths and their tails), odd tails */
	crimg_csum_init(&c);
	t_assert(crimg_csum_final(&c) == 0);
	for (size_t nb = 0; nb <= 14; nb++) {
		static const size_t tails[] = { 0, 1, 7, 4095 };

		for (size_t t = 0; t < 4; t++) {
			size_t n = nb * 4096 + tails[t];
			uint32_t want;

			if (n > max)
				continue;
			want = ref_payload(buf + 1, n);
			crimg_csum_init(&c);
			crimg_csum_update(&c, buf + 1, n);
			if (crimg_csum_final(&c) != want)
				t_fail("payload csum of %zu bytes in one piece", n);
			/* uneven pieces */
			for (size_t step = 1; step < 9000; step = step * 3 + 1) {
				crimg_csum_init(&c);
				for (size_t off = 0; off < n; off += step)
					crimg_csum_update(&c, buf + 1 + off, n - off < step ? n - off : step);
				if (crimg_csum_final(&c) != want)
					t_fail("payload csum of %zu bytes in pieces of %zu", n, step);
			}
		}
	}
	/* final does not change the state */
	crimg_csum_init(&c);
	crimg_csum_update(&c, buf, 5000);
	t_assert(crimg_csum_final(&c) == crimg_csum_final(&c));
	crimg_csum_update(&c, buf + 5000, 5000);
	t_assert(crimg_csum_final(&c) == ref_payload(buf, 10000));
	free(buf);
}
