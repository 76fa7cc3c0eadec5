/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crimg-test.h - helpers shared by the libcrimg tests (header only). */
#ifndef CRIMG_TEST_H
#define CRIMG_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>
#include "../lib/test.h"

/* Deterministic bytes: pattern(seed, i). */
static inline uint8_t pat(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)seed * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	return (uint8_t)(x ^ (x >> 17));
}

static inline void fill_pat(void *buf, size_t len, uint32_t seed, uint64_t start)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pat(seed, start + i);
}

static inline int check_pat(const void *buf, size_t len, uint32_t seed, uint64_t start)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(seed, start + i))
			return 0;
	return 1;
}

/* Page-aligned anonymous memory (for donated iovecs). */
static inline void *t_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap %zu bytes failed", len);
	return p;
}

/* Reads a whole file into memory. */
static inline uint8_t *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, k;

	if (!f)
		t_fail("open %s", path);
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				t_fail("out of memory");
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k);
	fclose(f);
	*len = n;
	return buf;
}

/* Writes a buffer to a file. */
static inline void t_spill(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		t_fail("write %s", path);
}

#endif
