/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * types.c - the registry of record types, generated from the *.types
 * files of every area (libcrimg/schema/, see libcrimg/build.mk).
 */
#include <string.h>

#include <crimg-proto.h>
#include "internal.h"

static const struct crimg_type_info types[] = {
	{ CRIMG_T_TRAILER, CRIMG_REC_REQUIRED | CRIMG_REC_RAW, "TRAILER",
	  "end of stream: record count, offset and chain checksum", NULL },
#define CRIMG_TYPE(num, NAME, desc, fl, doc) { num, fl, #NAME, doc, desc },
#include <crimg-types.def>
#undef CRIMG_TYPE
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

CRIMG_API const struct crimg_type_info *crimg_type_info(uint32_t type)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

CRIMG_API const struct crimg_type_info *crimg_type_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NTYPES; i++)
		if (!strcmp(types[i].name, name))
			return &types[i];
	return NULL;
}

CRIMG_API const struct crimg_type_info *crimg_type__next(const struct crimg_type_info *prev)
{
	size_t i = prev ? (size_t)(prev - types) + 1 : 0;

	return i < NTYPES ? &types[i] : NULL;
}
