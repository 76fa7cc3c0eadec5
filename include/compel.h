/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compel.h - run code inside a live process without it noticing.
 *
 * libcompel seizes a process with PTRACE_SEIZE + PTRACE_INTERRUPT (never
 * SIGSTOP), reads and writes its threads' registers and signal state, runs
 * system calls in it, injects freestanding "parasite" code that talks to us
 * over a unix socket, and cures it: the process goes on as if nothing had
 * happened.
 *
 * Canonical call sequence
 * -----------------------
 *
 *   struct compel_proc *p;
 *   struct compel_thread *t;
 *   int err;
 *
 *   // 1. Seize every thread; all are now in a ptrace-stop.
 *   err = compel_proc_seize(pid, NULL, &p);
 *   if (err < 0)
 *           return err;                      // -ESRCH, -EPERM, ...
 *
 *   // 2. Inspect: registers, rseq, signal mask, pending signals.
 *   compel_proc__for_each_thread(p, t) {
 *           uint8_t regs[512];
 *           int n = compel_thread__get_regset(t, NT_PRSTATUS, regs, sizeof(regs));
 *           ...
 *   }
 *
 *   // 3. Run a system call in the leader (registers are restored).
 *   int64_t ret;
 *   err = compel_remote_syscall(compel_proc__leader(p), &ret, __NR_getpid,
 *                               (uint64_t[6]){0});
 *
 *   // 4. Infect: map a parasite, talk to it, cure.
 *   struct compel_infect *inf;
 *   err = compel_infect(p, NULL, &inf);     // see "Infection" below
 *   ...
 *   err = compel_cure(inf);                 // every trace removed
 *
 *   // 5. Release: detach; the threads continue exactly as they were.
 *   compel_proc_release(p, 0);
 *
 * Chain-loading (the checkpoint stages exec each other): ptrace
 * attachments survive the tracer's execve.  Before the exec call
 * compel_proc_release(p, COMPEL_RELEASE_KEEP), which frees the handle but
 * leaves every thread traced and stopped; after the exec the next program
 * calls compel_proc_seize(pid, &opts with COMPEL_SEIZE_ADOPT, &p).
 *
 * Conventions
 * -----------
 * Functions return 0 (or a count) on success and a negative errno on
 * failure.  Constructors fill their ret_ pointer only on success.  Getters
 * lend: the returned pointer lives as long as its parent.  Options structs
 * start with `size_t sz` (set it to sizeof the struct; NULL means
 * defaults).  Unknown flag bits give -EINVAL.  The library never prints:
 * install a log callback with compel_set_log().
 *
 * Errors shared by most calls:
 *   -ESRCH    the process or thread is gone (or exited meanwhile)
 *   -EPERM    ptrace is not allowed (needs CAP_SYS_PTRACE over the target,
 *             or the target is a kernel thread, or Yama forbids it)
 *   -EINVAL   bad argument, unknown flag bit
 *   -ENOMEM   out of memory
 *   -ETIMEDOUT a thread did not stop in time
 *
 * Thread safety: a compel_proc belongs to the thread that seized it
 * (ptrace requests must come from the tracing thread).
 */
#ifndef COMPEL_H
#define COMPEL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COMPEL_API __attribute__((visibility("default")))

/* ---- logging -------------------------------------------------------- */

/* level is a syslog level (LOG_ERR=3 ... LOG_DEBUG=7); messages above
 * max_level are not formatted at all.  fn NULL turns logging off. */
typedef void (*compel_log_fn)(int level, const char *msg, void *arg);
COMPEL_API void compel_set_log(compel_log_fn fn, void *arg, int max_level);

/* ---- seizing ---------------------------------------------------------- */

struct compel_proc;   /* a seized process (a set of seized threads) */
struct compel_thread; /* one seized thread */

/* Only the thread `pid` names (a tid), not the whole thread group. */
#define COMPEL_SEIZE_THREAD 0x1u
/* Take over threads this process already traces and that are already in
 * a ptrace-stop (left so by compel_proc_release(COMPEL_RELEASE_KEEP)
 * before an execve of the tracer).  No new PTRACE_SEIZE is done.  Gives
 * -EPERM if some thread is not traced by us. */
#define COMPEL_SEIZE_ADOPT 0x2u

struct compel_seize_opts {
	size_t sz;
	uint32_t flags;      /* COMPEL_SEIZE_* */
	uint32_t timeout_ms; /* wait for each stop; 0 = 5000 */
};

/*
 * Seizes `pid` (a tgid: every thread of it, looping until the thread list
 * is stable).  Each thread is PTRACE_SEIZEd and PTRACE_INTERRUPTed; a
 * signal arriving meanwhile is delivered first, as if it came just before
 * the freeze.  Zombie threads are listed (state COMPEL_TASK_ZOMBIE) but
 * not traced.  Returns 0 and *ret_proc, or:
 *   -ESRCH  no such process, or it is a zombie / exiting
 *   -EPERM  not allowed (see above); -EBUSY already traced by another
 *   -EDEADLK pid is the calling process itself
 */
COMPEL_API int compel_proc_seize(pid_t pid, const struct compel_seize_opts *opts,
				 struct compel_proc **ret_proc);

/* Leave every thread traced and in its ptrace-stop, free the handle only
 * (for an execve of the tracer; the next program adopts them). */
#define COMPEL_RELEASE_KEEP 0x1u
/* Kill the process (SIGKILL) instead of letting it run. */
#define COMPEL_RELEASE_KILL 0x2u

/*
 * Restores every register, signal mask and FPU state that the library
 * changed and detaches: the threads continue exactly as they were (an
 * interrupted system call is restarted, a job-control stopped process stays
 * stopped).  Frees p in every case (NULL is a no-op).  Returns 0 or the
 * first error met (the other threads are still released).
 */
COMPEL_API int compel_proc_release(struct compel_proc *p, uint32_t flags);

COMPEL_API pid_t compel_proc__pid(const struct compel_proc *p);
COMPEL_API unsigned compel_proc__nr_threads(const struct compel_proc *p);
/* The i-th thread (0 <= i < nr_threads), NULL past the end. */
COMPEL_API struct compel_thread *compel_proc__thread(struct compel_proc *p, unsigned i);
/* The thread whose tid is the pid (NULL with COMPEL_SEIZE_THREAD of
 * another tid: then the only thread is returned). */
COMPEL_API struct compel_thread *compel_proc__leader(struct compel_proc *p);
COMPEL_API struct compel_thread *compel_proc__find_thread(struct compel_proc *p, pid_t tid);
/* Iteration: next thread after prev (NULL = first), NULL at the end. */
COMPEL_API struct compel_thread *compel_thread__next(struct compel_proc *p,
						     struct compel_thread *prev);
#define compel_proc__for_each_thread(p, t) \
	for ((t) = compel_thread__next((p), NULL); (t); (t) = compel_thread__next((p), (t)))

/*
 * A whole process tree: the root, then its children (from
 * /proc/PID/task/TID/children, read once each process is seized, so that
 * it cannot fork any more) down to the leaves, parents before children.
 * Zombies and processes that exit meanwhile are left out.  opts as for
 * compel_proc_seize (COMPEL_SEIZE_THREAD is refused).
 */
struct compel_tree;
COMPEL_API int compel_tree_seize(pid_t root, const struct compel_seize_opts *opts,
				 struct compel_tree **ret_tree);
/* Releases every process (flags as compel_proc_release), children first. */
COMPEL_API int compel_tree_release(struct compel_tree *tree, uint32_t flags);
COMPEL_API unsigned compel_tree__nr_procs(const struct compel_tree *tree);
/* The i-th process (0 is the root), NULL past the end; and its parent's
 * index (-1 for the root). */
COMPEL_API struct compel_proc *compel_tree__proc(struct compel_tree *tree, unsigned i);
COMPEL_API int compel_tree__parent(const struct compel_tree *tree, unsigned i);

/* Thread state, as it was when seized. */
#define COMPEL_TASK_RUNNING 1u /* running user code (or runnable) */
#define COMPEL_TASK_SYSCALL 2u /* inside a system call (see __syscall_nr) */
#define COMPEL_TASK_STOPPED 3u /* job-control stopped (SIGSTOP etc.); stays so */
#define COMPEL_TASK_ZOMBIE 4u  /* exited, not reaped: not traced, no state */

COMPEL_API pid_t compel_thread__tid(const struct compel_thread *t);
COMPEL_API uint32_t compel_thread__state(const struct compel_thread *t);
/* The system call the thread was in when seized, or -1. */
COMPEL_API long compel_thread__syscall_nr(const struct compel_thread *t);
COMPEL_API struct compel_proc *compel_thread__proc(struct compel_thread *t);

/* ---- registers and signal state --------------------------------------- */

/*
 * Reads regset `type` (NT_PRSTATUS, NT_PRFPREG, NT_X86_XSTATE, ... from
 * <elf.h>) with PTRACE_GETREGSET into buf.  Returns the number of bytes
 * filled (the whole xsave area for NT_X86_XSTATE: size the buffer with
 * compel_thread__regset_size) or -errno (-ENODEV: no such regset here,
 * -ENOSPC: buf too small).  The values are those of the thread as it was
 * seized, even after remote syscalls or an infection.
 */
COMPEL_API int compel_thread__get_regset(struct compel_thread *t, uint32_t type,
					 void *buf, size_t len);
/* The size of regset `type` on this machine, or -errno. */
COMPEL_API int compel_thread__regset_size(struct compel_thread *t, uint32_t type);
/* Writes a regset; it becomes the state the thread resumes with. */
COMPEL_API int compel_thread__set_regset(struct compel_thread *t, uint32_t type,
					 const void *buf, size_t len);
/*
 * NT_PRSTATUS as the thread will really resume: if it was interrupted in a
 * restartable system call, the registers that re-execute it (instruction
 * pointer back on the syscall instruction, the number in the result
 * register).  This is what a checkpoint should save.
 */
COMPEL_API int compel_thread__get_resume_regs(struct compel_thread *t, void *buf, size_t len);

/* PTRACE_GET_RSEQ_CONFIGURATION; rseq_abi_pointer 0 if none registered. */
struct compel_rseq {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};
COMPEL_API int compel_thread__rseq(struct compel_thread *t, struct compel_rseq *out);

/* The blocked signal mask (bit n-1 is signal n). */
COMPEL_API int compel_thread__sigmask(struct compel_thread *t, uint64_t *mask);
COMPEL_API int compel_thread__set_sigmask(struct compel_thread *t, uint64_t mask);

/*
 * Pending signals, without dequeuing them (PTRACE_PEEKSIGINFO): the
 * thread's private queue, or with shared=1 the process-wide queue.  Fills
 * up to max entries and returns how many, or -errno.
 */
COMPEL_API int compel_thread__pending(struct compel_thread *t, int shared,
				      siginfo_t *out, unsigned max);

/* ---- remote system calls and memory ----------------------------------- */

/*
 * Runs system call nr with args[0..5] in thread t, which must be stopped
 * (every seized thread is).  *ret gets the raw result (a negative errno for
 * a failing call).  Every register is as before afterwards.  Signals stay
 * blocked in t while it is seized (restored at release).  Returns 0, or
 * -ESRCH if the thread died (e.g. the call was exit), -ENOEXEC if no
 * syscall instruction was found in the target (no vDSO and no libc).
 */
COMPEL_API int compel_remote_syscall(struct compel_thread *t, int64_t *ret, long nr,
				     const uint64_t args[6]);

/* mmap in the task; *ret_addr gets the address.  The remote call's error
 * (e.g. -ENOMEM) is returned as is. */
COMPEL_API int compel_remote_mmap(struct compel_thread *t, uint64_t addr, uint64_t len,
				  int prot, int flags, int fd, uint64_t off, uint64_t *ret_addr);
COMPEL_API int compel_remote_munmap(struct compel_thread *t, uint64_t addr, uint64_t len);

/* One system call of a batch: nr(args[0..5]); ret gets its raw result (a
 * negative errno for a failing call). */
struct compel_syscall {
	int64_t nr;
	uint64_t args[6];
	int64_t ret;
};
#define COMPEL_MAX_BATCH 256

/*
 * Runs calls[0..n) one after the other in thread t, as compel_remote_syscall
 * does each, but sets up the thread once for the whole batch: cheaper per
 * call (the two syscall stops of each remain; bench/compel-roundtrip) and
 * just as safe against our death.  Stops at a transport error (calls[i].ret
 * of the calls not run are left as they were).  Returns 0, -EINVAL (n > 
 * COMPEL_MAX_BATCH), or the errors of compel_remote_syscall.
 */
COMPEL_API int compel_remote_syscalls(struct compel_thread *t, struct compel_syscall *calls,
				      unsigned n);

/* Reads/writes the task's memory (through /proc/PID/mem: works on
 * read-only pages too).  Returns bytes done (short at an unmapped page)
 * or -errno (-EIO: nothing at addr). */
COMPEL_API ssize_t compel_proc__read_mem(struct compel_proc *p, uint64_t addr, void *buf,
					 size_t len);
COMPEL_API ssize_t compel_proc__write_mem(struct compel_proc *p, uint64_t addr,
					  const void *buf, size_t len);

/* ---- parasite blobs ------------------------------------------------------ */

/*
 * A blob is freestanding position-independent code made by compel-blob(1)
 * from parasite objects (see <compel-parasite.h>): a flat image, its
 * relocations and its global symbols.  compel_blob_open() parses and
 * copies one (a file read into memory, or the C array compel-blob -n
 * generates).  Returns 0, -EINVAL (not a blob: bad magic or sizes),
 * -ENOEXEC (built for another machine).
 */
struct compel_blob;
COMPEL_API int compel_blob_open(const void *data, size_t len, struct compel_blob **ret_blob);
COMPEL_API int compel_blob_open_file(const char *path, struct compel_blob **ret_blob);
COMPEL_API void compel_blob_free(struct compel_blob *b);
/* Offset of a global symbol in the image, or -ENOENT. */
COMPEL_API int64_t compel_blob__sym(const struct compel_blob *b, const char *name);
/* Number of symbols and the i-th name (NULL past the end). */
COMPEL_API unsigned compel_blob__nr_syms(const struct compel_blob *b);
COMPEL_API const char *compel_blob__sym_name(const struct compel_blob *b, unsigned i);

/* ---- infection ----------------------------------------------------------- */

/*
 * compel_infect() maps the parasite into the task (a memfd mapped shared:
 * the caller sees the same pages), starts it in one thread on its own
 * stack with every signal blocked, and connects a SOCK_SEQPACKET channel.
 * The thread runs freely (PTRACE_CONT) while the parasite serves calls;
 * the other threads stay stopped.  Extra blobs (yours, built with
 * compel-blob) are mapped next to the runtime; call their entry points
 * with compel_infect__call().
 *
 *   struct compel_infect_opts io = { .sz = sizeof(io), .blobs = &b, .nr_blobs = 1 };
 *   err = compel_infect(p, &io, &inf);
 *   uint64_t fn;
 *   compel_infect__sym(inf, 0, "my_cmd", &fn);
 *   struct compel_call c = { .sz = sizeof(c), .fn = fn, .args = &a, .args_len = sizeof(a) };
 *   err = compel_infect__call(inf, &c);       // c.ret is my_cmd's return
 *   err = compel_cure(inf);
 *
 * Safety: the controller may die at any moment.  The parasite sees its
 * channel close, closes its fds, finishes a sleep it interrupted, and
 * returns the thread to its original registers, signal mask, FPU state
 * and sigaltstack by itself (rt_sigreturn through a frame prepared before
 * it started), unmapping itself on the way.  Killed inside compel_infect
 * itself, the thread's way home undoes what the infection made so far.
 *
 * Errors: -ESRCH the task died (or exited during the infection),
 * -ETIMEDOUT it did not answer, -ENOEXEC no syscall instruction usable,
 * -EPROTO the parasite said something unexpected.
 */
struct compel_infect;

struct compel_infect_opts {
	size_t sz;
	uint32_t flags;        /* none yet: 0 */
	pid_t tid;             /* thread to run the parasite in; 0 = leader */
	uint64_t args_size;    /* shared argument area; 0 = 64 KiB */
	uint64_t stack_size;   /* parasite stack; 0 = 256 KiB */
	const struct compel_blob *const *blobs; /* extra blobs to map */
	uint32_t nr_blobs;
	uint32_t timeout_ms;   /* each answer; 0 = 10000 */
};

COMPEL_API int compel_infect(struct compel_proc *p, const struct compel_infect_opts *opts,
			     struct compel_infect **ret_infect);

/*
 * Cures: stops the parasite thread, closes the channel so that the parasite
 * restores the thread's state (rt_sigreturn), checks it, restores the FPU
 * state and unmaps the parasite.  The process stays seized (release it with
 * compel_proc_release).  Frees inf in every case.  Returns 0 or -errno.
 */
COMPEL_API int compel_cure(struct compel_infect *inf);

/* Remote address of blob idx's symbol (idx 0 = the first extra blob). */
COMPEL_API int compel_infect__sym(struct compel_infect *inf, unsigned idx, const char *name,
				  uint64_t *addr);
/* The shared argument area: the caller's view, its size and the task's
 * address of it. */
COMPEL_API void *compel_infect__args(struct compel_infect *inf, size_t *size);
COMPEL_API uint64_t compel_infect__args_remote(struct compel_infect *inf);
/* The fd number of the channel inside the task (a dump should skip it),
 * and the thread that runs the parasite. */
COMPEL_API int compel_infect__remote_sock(struct compel_infect *inf);
COMPEL_API struct compel_thread *compel_infect__thread(struct compel_infect *inf);

struct compel_call {
	size_t sz;
	uint64_t fn;            /* remote address of an entry point */
	const void *args;       /* copied into the shared area first, or NULL */
	size_t args_len;        /* the entry's ctx->args_len (with args NULL: bytes
				 * already put in compel_infect__args()) */
	void *res;              /* copied out of the shared area after (or NULL) */
	size_t res_len;
	const int *fds_in;      /* our fds, installed in the task for the call */
	uint32_t nr_fds_in;     /* at most 16 */
	uint32_t max_fds_out;
	int *fds_out;           /* fds the entry returned, now ours (O_CLOEXEC) */
	uint32_t nr_fds_out;    /* out */
	uint32_t pad;
	int64_t ret;            /* out: the entry's return value */
};

/* Runs an entry point (long fn(struct compel_pctx *)) in the parasite
 * thread.  Returns 0 (the entry's result in c->ret) or -errno. */
COMPEL_API int compel_infect__call(struct compel_infect *inf, struct compel_call *c);
/* Calls a function of the task itself, e.g. dlopen found with
 * compel_proc__find_symbol: *ret = fn(a[0..5]) on the parasite stack. */
COMPEL_API int compel_infect__call_func(struct compel_infect *inf, uint64_t fn,
					const uint64_t a[6], int64_t *ret);
/*
 * Runs calls[0..n) (n <= COMPEL_MAX_BATCH) one after the other in the
 * parasite thread, in one round trip: about one RPC for the whole batch
 * instead of two ptrace stops per call.  Memory arguments should point
 * into the shared area (compel_infect__args_remote() + offset); what the
 * calls write there is at the same offset of compel_infect__args().
 * Returns 0 (each result in calls[i].ret) or -errno.
 */
COMPEL_API int compel_infect__syscalls(struct compel_infect *inf, struct compel_syscall *calls,
				       unsigned n);
/* A no-op round trip (for measurements and liveness checks). */
COMPEL_API int compel_infect__ping(struct compel_infect *inf);
/* Fetches the task's fds tfds[0..n) (n <= 16) as our fds out[] (O_CLOEXEC). */
COMPEL_API int compel_infect__get_fds(struct compel_infect *inf, const int *tfds, unsigned n,
				      int *out);
/* Installs our fds[i] in the task as number tfds[i] (dup3, replacing). */
COMPEL_API int compel_infect__put_fds(struct compel_infect *inf, const int *fds,
				      const int *tfds, unsigned n);
/*
 * Runs an entry point in another (stopped) thread tid of the process and
 * waits for it: the thread starts on a stack of its own, returns to its
 * exact state through rt_sigreturn, and stays stopped.  The entry gets the
 * shared argument area; no fds.  Returns 0 (result in c->ret) or -errno.
 */
COMPEL_API int compel_infect__call_in_thread(struct compel_infect *inf, pid_t tid,
					     struct compel_call *c);

/*
 * Finds a symbol of a library mapped in the task by reading that
 * library's ELF dynamic symbol table: lib is a substring of the mapped
 * file's name ("libc.so"), sym its name ("dlopen").  Returns 0 and the
 * address, -ENOENT (no such library or symbol).
 */
COMPEL_API int compel_proc__find_symbol(struct compel_proc *p, const char *lib,
					const char *sym, uint64_t *addr);

#ifdef __cplusplus
}
#endif
#endif
