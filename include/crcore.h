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
/*
 * Restoring one process from a stream (design: docs/restore.md):
 *
 *     struct crcore_restore *rs;
 *     struct crcore_restore_opts o = { .sz = sizeof(o), .flags = 0 };
 *     r = crcore_restore__new(STDIN_FILENO, &o, &rs);
 *             // reads every record of the process up to its memory,
 *             // checks what can be checked, builds the restore plan;
 *             // nothing is created yet
 *     r = crcore_restore__run(rs);
 *             // creates the process (same PID and TIDs), fills its memory
 *             // from the rest of the stream, verifies the whole stream,
 *             // then sets the process state and lets it run; on any
 *             // failure the new process is killed before it runs
 *     pid = crcore_restore__pid(rs);
 *     r = crcore_restore__wait(rs, &status);   // only with CRCORE_RESTORE_KEEP_CHILD
 *     crcore_restore__free(rs);
 * On failure crcore_restore__errmsg(rs) says what failed, and for a bad
 * image where ("record 12 at byte 4096: payload checksum mismatch").
 * Errors: -EPROTO/-EBADMSG/-EOVERFLOW bad image, -EOPNOTSUPP something the
 * restore does not handle yet (named in the message), -EEXIST a PID or TID
 * is taken, -EPERM a privilege is missing, other -errno from the system.
 */
struct crcore_restore;

struct crcore_restore_opts {
	size_t sz;
	uint32_t flags;            /* CRCORE_RESTORE_*; unknown bits give -EINVAL */
	uint32_t pid_wait_ms;      /* how long to wait for a zombie holding our PID
				    * to be reaped; 0 means the default, 5000 */
	crcore_log_fn log;
	void *log_arg;
};
/* The process stays a child of the caller, to be waited for with
 * crcore_restore__wait; otherwise it is left to be reparented when the
 * caller exits. */
#define CRCORE_RESTORE_KEEP_CHILD 0x1u

/* Reads the stream from fd (not owned, read strictly sequentially, never
 * seeked: a pipe works) up to the first memory record. */
CRCORE_API int crcore_restore__new(int fd, const struct crcore_restore_opts *opts,
				   struct crcore_restore **ret);
/* Creates and resumes the process.  Returns 0 once it runs. */
CRCORE_API int crcore_restore__run(struct crcore_restore *rs);
/* The PID of the restored process (the image's), 0 before __new. */
CRCORE_API pid_t crcore_restore__pid(const struct crcore_restore *rs);
/* Waits for the restored process (CRCORE_RESTORE_KEEP_CHILD) to end;
 * *status as from waitpid(2). */
CRCORE_API int crcore_restore__wait(struct crcore_restore *rs, int *status);
/* Bytes of memory restored so far (pages * page size). */
CRCORE_API uint64_t crcore_restore__bytes(const struct crcore_restore *rs);
/* Warnings (state that could not be restored exactly), one per line; ""
 * if none.  Lent. */
CRCORE_API const char *crcore_restore__warnings(const struct crcore_restore *rs);
/* The last error, with its position in the stream for a bad image. */
CRCORE_API const char *crcore_restore__errmsg(const struct crcore_restore *rs);
/* Frees; kills a process that was created but not resumed.  NULL ok. */
CRCORE_API void crcore_restore__free(struct crcore_restore *rs);
/* ==== end of restore side ============================================= */

#ifdef __cplusplus
}
#endif
#endif
