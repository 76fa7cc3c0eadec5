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
/*
 * The dump side: the stages of a checkpoint, each a short program.
 *
 *     struct crcore_dump *d;
 *     char why[512];
 *     LIBCRCORE_OPTS(crcore_dump_opts, o, .err = why, .errlen = sizeof(why));
 *
 *     // first stage (cr-freeze): check, seize every thread, check again
 *     r = crcore_dump__freeze(pid, &o, &d);  // -EOPNOTSUPP: why says what
 *     r = crcore_dump__write_core(d, w);     // PROC, then THREAD per thread
 *     r = crcore_dump__exec_next(d, w, argv);// hands the freeze over: only
 *                                            // returns on failure
 *     // a later stage: take the freeze over from the environment
 *     r = crcore_dump__adopt(&o, &d);
 *     r = crcore_dump__write_inside(d, w);   // SIGACTIONS, PROC_MISC, FILES
 *     r = crcore_dump__write_mm(d, w, &mo, &stats); // MM, PAGES
 *     // the last stage: trailer, then end the freeze as asked
 *     r = crimg_writer__finish(w);
 *     r = crcore_dump__end(d, crcore_dump__end_mode(d));
 *
 * A freeze is handed from stage to stage across execve (ptrace
 * attachments survive the tracer's execve): the environment carries
 * CRCORE_DUMP_PID_ENV (the pid), CRCORE_DUMP_END_ENV (what the last stage
 * does) and the writer state (CRIMG_STATE_ENV).  If a stage dies, the
 * kernel detaches and the process runs on: it never noticed.
 *
 * Functions return 0 or -errno; messages (refusals, failures) go to
 * opts.err when given.
 */
#ifndef LIBCRCORE_OPTS
#define LIBCRCORE_OPTS(TYPE, NAME, ...) \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }
#endif

#define CRCORE_DUMP_PID_ENV "CR_DUMP_PID"
#define CRCORE_DUMP_END_ENV "CR_DUMP_END"
/* "1": terminals the process does not own (the terminal of the shell
 * that started it) are dumped as "the caller's terminal" instead of
 * refused (cr-dump --shell-job sets it; every stage reads it). */
#define CRCORE_TTY_SHELL_JOB_ENV "CR_DUMP_SHELL_JOB"

/* How the last stage ends the freeze. */
#define CRCORE_END_KILL 0u     /* SIGKILL the process (the default, as CRIU) */
#define CRCORE_END_RUNNING 1u  /* detach: it runs on as if nothing happened */
#define CRCORE_END_STOPPED 2u  /* hand over to the cgroup v2 freezer */

struct crcore_dump;

struct crcore_dump_opts {
	size_t sz;
	uint32_t flags;        /* CRCORE_DUMP_*; unknown bits: -EINVAL */
	uint32_t end;          /* CRCORE_END_*, passed on to the last stage */
	char *err;             /* optional: receives a one-line message */
	size_t errlen;
	crcore_log_fn log;     /* optional log callback */
	void *log_arg;
};
/* Check only what could be refused; do not seize. */
#define CRCORE_DUMP_CHECK_ONLY 0x1u

/* Checks that pid can be dumped (-ESRCH no such process or a zombie,
 * -EPERM a kernel thread, -EDEADLK ourselves, -EOPNOTSUPP something we do
 * not handle yet: a child process, an fd type, seccomp, a mapping kind),
 * seizes every thread with PTRACE_SEIZE + PTRACE_INTERRUPT, and checks
 * again while frozen.  On a refusal nothing has changed. */
CRCORE_API int crcore_dump__freeze(pid_t pid, const struct crcore_dump_opts *opts,
				   struct crcore_dump **ret);
/* Takes over the freeze that the previous stage handed over through the
 * environment (-ENOENT if there is none, -EPERM if we do not trace it). */
CRCORE_API int crcore_dump__adopt(const struct crcore_dump_opts *opts,
				  struct crcore_dump **ret);
CRCORE_API pid_t crcore_dump__pid(const struct crcore_dump *d);
CRCORE_API uint32_t crcore_dump__end_mode(const struct crcore_dump *d);
/* Last error message (empty if none). */
CRCORE_API const char *crcore_dump__errmsg(const struct crcore_dump *d);

/* PROC, then one THREAD per thread (registers as they will resume, the
 * whole xsave area, mask, pending signals, rseq). */
CRCORE_API int crcore_dump__write_core(struct crcore_dump *d, struct crimg_writer *w);
/* What the inside of the process tells, read by remote system calls:
 * SIGACTIONS, PROC_MISC, FILES (and FILE_DATA for deleted files). */
CRCORE_API int crcore_dump__write_inside(struct crcore_dump *d, struct crimg_writer *w);

struct crcore_mm_opts {
	size_t sz;
	uint32_t flags;        /* CRCORE_MM_* */
	/* progress: bytes of pages written so far and the total */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};
/* Never use the zero-copy path (the process's own pages spliced into the
 * stream, only done when the process is killed at the end). */
#define CRCORE_MM_COPY 0x1u
/* No payload checksum on PAGES records (the copy path). */
#define CRCORE_MM_NO_CSUM 0x2u

struct crcore_mm_stats {
	uint64_t vmas;
	uint64_t pages;        /* pages dumped */
	uint64_t records;      /* PAGES records */
	uint64_t zero_copy_pages; /* of which spliced without a copy */
};
/* MM (mm fields, every mapping), then PAGES records. */
CRCORE_API int crcore_dump__write_mm(struct crcore_dump *d, struct crimg_writer *w,
				     const struct crcore_mm_opts *opts,
				     struct crcore_mm_stats *stats);

/* Exports the writer into the environment and execs argv (looked up in
 * PATH) with the freeze held.  Returns only on failure (the freeze is then
 * released: the process runs on). */
CRCORE_API int crcore_dump__exec_next(struct crcore_dump *d, struct crimg_writer *w,
				      char *const argv[]);
/* Ends the freeze: CRCORE_END_KILL, _RUNNING or _STOPPED.  Frees d. */
CRCORE_API int crcore_dump__end(struct crcore_dump *d, uint32_t mode);
/* Releases without ending (the process runs on).  NULL ok. */
CRCORE_API void crcore_dump__free(struct crcore_dump *d);

/* The cgroup v2 freezer that --leave-stopped hands a freeze to:
 * <root>/cr-freeze/PID.  thaw: move the process back to the cgroup it came
 * from and let it run; kill: SIGKILL it.  Both remove our cgroup.
 * -ENOENT if pid is not held there. */
#define CRCORE_FREEZER_ROOT "/sys/fs/cgroup/unified"
CRCORE_API int crcore_freezer_thaw(pid_t pid, char *err, size_t errlen);
CRCORE_API int crcore_freezer_kill(pid_t pid, char *err, size_t errlen);
/* One later stage of a dump, as a program runs it (cr-parasite's stage
 * mode, cr-dumpmm): takes the freeze over, continues the stream on fd 1,
 * writes its records, then execs next[] (the rest of the pipeline) or,
 * if next is empty, writes the trailer and ends the freeze as cr-freeze
 * was asked.  Returns 0 after ending the freeze, or -errno (a message in
 * opts.err); the process then runs on and the stream has no trailer. */
#define CRCORE_STAGE_INSIDE 1u /* SIGACTIONS, PROC_MISC, FILES (cr-parasite) */
#define CRCORE_STAGE_MM 2u     /* MM, PAGES (cr-dumpmm) */
struct crcore_stage_opts {
	size_t sz;
	uint32_t mm_flags;     /* CRCORE_MM_* for CRCORE_STAGE_MM */
	char *err;
	size_t errlen;
	crcore_log_fn log;
	void *log_arg;
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
	struct crcore_mm_stats *mm_stats; /* optional: filled by CRCORE_STAGE_MM */
};
CRCORE_API int crcore_dump_stage(uint32_t stage, char *const next[],
				 const struct crcore_stage_opts *opts);
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
	/* Called about every 50 ms while the memory is filled, with the bytes
	 * of memory restored so far and the total the image announces (0 if
	 * it does not).  Optional. */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};
/* The process stays a child of the caller, to be waited for with
 * crcore_restore__wait; otherwise it is left to be reparented when the
 * caller exits. */
#define CRCORE_RESTORE_KEEP_CHILD 0x1u
/* Use the vDSO proxy (the image's vDSO code jumping into the kernel's)
 * even when the vDSO did not change; for tests of that path.  The image
 * must hold the pages of its [vdso]. */
#define CRCORE_RESTORE_VDSO_PROXY 0x2u
/* A shell job (cr-assemble --shell-job): fds that were the caller's
 * terminal get the caller's, and the process stays in the caller's
 * session and process group (it does not lead its own). */
#define CRCORE_RESTORE_SHELL_JOB 0x4u

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
