/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zc.h - the arguments of the dump's parasite (shared with dump-mm.c). */
#ifndef CRD_ZC_H
#define CRD_ZC_H
#include <stdint.h>

#define CRD_ZC_MAX 2048u /* ranges per call (fits the 64 KiB argument area) */

struct crd_zc_args {
	uint64_t nr;
	struct {
		uint64_t addr, len;
	} r[CRD_ZC_MAX];
};
#endif
