/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef COMPEL_BLOB_H
#define COMPEL_BLOB_H

#include "internal.h"
#include "blobfmt.h"

#if defined(__x86_64__)
#define BLOB_MACHINE 62
#endif

struct compel_blob {
	void *data;
	struct blob_hdr *h;
	struct blob_reloc *rel;
	struct blob_sym *sym;
	uint8_t *image;
};

void compel_blob_place(const struct compel_blob *b, void *dst, uint64_t base);

#endif
