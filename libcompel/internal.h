/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h - libcompel private definitions (never included by users). */
#ifndef COMPEL_INTERNAL_H
#define COMPEL_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "compel.h"
#include "arch.h"

void compel_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...) compel_log(3, __VA_ARGS__)
#define pr_warn(...) compel_log(4, __VA_ARGS__)
#define pr_info(...) compel_log(6, __VA_ARGS__)
#define pr_debug(...) compel_log(7, __VA_ARGS__)

struct compel_thread {
	struct compel_proc *proc;
	pid_t tid;
	uint32_t state;
	bool traced;        /* we hold a ptrace attachment */
	bool regs_valid;    /* regs/resume below hold the seized state */
	bool regs_dirty;    /* we wrote registers: write back `resume` at release */
	bool mask_valid, mask_dirty;
	bool xs_valid, xs_dirty;
	bool in_sysexit;    /* the current stop is a syscall-exit stop */
	int stop_sig;       /* group-stop signal, 0 for our interrupt stop */
	struct arch_regs regs;   /* as seized */
	struct arch_regs resume; /* as it must resume (restart applied) */
	struct arch_regs resume_sigreturn; /* the same, fit for rt_sigreturn */
	struct arch_regs park;   /* live whenever we run nothing (arch_regs_park) */
	uint64_t sigmask;        /* as seized */
	uint64_t home_sp;        /* the way home on its stack (compel_thread_home), 0 none */
	uint64_t home_addr;      /* where its frame starts */
	uint64_t home_full;      /* the chain after its undo calls (a cured parasite's way) */
	uint64_t home_tail;      /* the chain's rt_sigreturn part (an orphaned parasite's way) */
	uint64_t home_sp_out;    /* the frame's stack pointer for rt_sigreturn */
	uint8_t *home_buf;       /* our copy of the way home (home_size bytes at home_addr) */
	bool homing;             /* parked on its way home (undo calls pending), signals blocked */
	size_t home_size;
	bool home_tried;
	void *xs;                /* xsave area as seized */
	size_t xs_len;
};

struct compel_proc {
	pid_t pid;
	uint32_t flags;
	int mem_fd;          /* /proc/PID/mem, lazily opened */
	unsigned nr, cap;
	struct compel_thread **th;
	uint64_t syscall_ip; /* address of a syscall instruction in the task, 0 unknown */
	uint64_t g_syscall_ret, g_pop_ax_ret; /* gadgets of the parasite's way home */
	uint64_t g_pop_a0, g_pop_a1;          /* and of its undo calls */
	unsigned timeout_ms;
};

/* ptrace wait with timeout: returns status via *st, 0, or -errno. */
int compel_wait_stop(struct compel_thread *t, int *st);
/* Makes the thread's saved state valid (regs, mask) and signals blocked. */
int compel_thread_prepare(struct compel_thread *t);
/* A sigaltstack mode the kernel refuses: rt_sigreturn then leaves the
 * thread's sigaltstack as it is (it ignores the error). */
#define SS_FLAGS_KEEP 0x40000000u
/* Writes, once, the way home on t's stack: an rt_sigreturn frame of its
 * seized state and a chain of the task's own gadgets that gets there
 * from a "syscall; ret"; sets t->home_sp (0 if not possible). */
void compel_thread_home(struct compel_thread *t);
/* Sets the calls the way home makes before going home should we die
 * (see arch_exit_chain_build): written in the task before the remote
 * calls that create what they undo.  While there are some, the stopped
 * thread is parked on its way home itself (between remote calls too),
 * signals blocked; n = 0 clears them and parks it as seized again (if
 * t->homing; clear t->homing first when the thread runs something else
 * now).  Returns 0, or -ENOTSUP (no way home, or no gadgets for the
 * arguments). */
int compel_thread_set_undo(struct compel_thread *t, const struct arch_undo *u, unsigned n);
/* The same without parking the thread on the chain: only its memory. */
int compel_thread_chain(struct compel_thread *t, const struct arch_undo *u, unsigned n);
/* The address of a plain "ret" of the task (0 if none). */
uint64_t compel_proc_ret_gadget(const struct compel_proc *p);
int compel_thread_block(struct compel_thread *t, int block);
int compel_thread_load_xstate(struct compel_thread *t);
int compel_find_syscall_ip(struct compel_proc *p);
/* Resumes t with `req` (PTRACE_CONT/SYSCALL) and waits for a syscall stop.
 * Returns 0 or -errno. */
int compel_syscall_step(struct compel_thread *t, int req);
int compel_regs_set_live(struct compel_thread *t, const struct arch_regs *r);
int compel_regs_get_live(struct compel_thread *t, struct arch_regs *r);

static inline int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

#endif
