/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rst.h - private to the freestanding restorer (libcrcore/restorer/):
 * what its files share.  No libc: only the kernel's uapi headers and
 * the compiler's freestanding ones.
 */
#ifndef RST_H
#define RST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

#include "../restore.h"
#include "sys.h"

struct rst_csum {
	uint32_t outer, inner, fill;
};

uint32_t rst_crc32c(uint32_t crc, const void *buf, size_t len);
void rst_csum_init(struct rst_csum *c);
void rst_csum_update(struct rst_csum *c, const void *buf, size_t len);
uint32_t rst_csum_final(const struct rst_csum *c);

/* Formats %s %c %d %u %x %ld %lu %lx %llu %llx (and %%) into buf. */
void rst_vfmt(char *buf, size_t size, const char *fmt, va_list ap);

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t rst_strlen(const char *s);
int rst_strcmp(const char *a, const char *b);

struct clone_args;
long rst_clone_thread(struct clone_args *args, size_t size, void (*fn)(void *), void *arg);

#pragma GCC visibility pop

#endif
