/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blobfmt.h - the parasite blob file format, written by compel-blob(1) and
 * read by compel_blob_open().  Little-endian, all offsets from the start
 * of the file:
 *
 *   header      struct blob_hdr
 *   relocs      nr_relocs x struct blob_reloc: at image+off, store the
 *               64-bit load address + addend (R_X86_64_RELATIVE)
 *   symbols     nr_syms x struct blob_sym: global functions and objects
 *   image       image_size bytes, loaded at a page-aligned address;
 *               mem_size - image_size more bytes of zeroes (bss) follow
 */
#ifndef COMPEL_BLOBFMT_H
#define COMPEL_BLOBFMT_H

#include <stdint.h>

#define BLOB_MAGIC "CMPLBLB1"

struct blob_hdr {
	char magic[8];
	uint32_t machine; /* ELF e_machine: 62 = x86_64 */
	uint32_t nr_relocs;
	uint32_t nr_syms;
	uint32_t flags;   /* 0 */
	uint64_t image_size;
	uint64_t mem_size;
};

struct blob_reloc {
	uint64_t off;
	int64_t addend;
};

#define BLOB_SYM_NAME 56
struct blob_sym {
	uint64_t off;
	char name[BLOB_SYM_NAME]; /* NUL-terminated */
};

#endif
