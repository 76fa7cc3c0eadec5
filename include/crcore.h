/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crcore.h - the dump and restore engine for process state.
 *
 * (The dump side and the restore side each document their canonical call
 * sequence in their section below.)
 */
#ifndef CRCORE_H
#define CRCORE_H

#include <stdint.h>
#include <sys/types.h>
#include <crimg.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CRCORE_API
#define CRCORE_API __attribute__((visibility("default")))
#endif

typedef void (*crcore_log_fn)(int level, const char *msg, void *arg);

/* ==== dump side (cr-freeze, cr-parasite stage, cr-dumpmm) ============ */
/* ==== end of dump side ================================================ */

/* ==== restore side (cr-assemble) ====================================== */
/* ==== end of restore side ============================================= */

#ifdef __cplusplus
}
#endif
#endif
