/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rpc.h - the wire protocol between libcompel and its parasite runtime
 * (private; both sides are built from this tree). */
#ifndef COMPEL_RPC_H
#define COMPEL_RPC_H

#include <stdint.h>

#include "compel-parasite.h"

#define RPC_HELLO 1     /* parasite -> controller, once, ret = tid */
#define RPC_CALL 2      /* run fn(ctx) */
#define RPC_CALL_FUNC 3 /* run fn(a[0..5]) (a function of the task) */
#define RPC_PING 4      /* nothing, reply at once */
#define RPC_GET_FDS 5   /* args: int32 fds[n]; reply carries them */
#define RPC_PUT_FDS 6   /* args: int32 targets[n]; dup3 the passed fds there */
#define RPC_SYSCALLS 7  /* batch: struct compel_syscall[len] at boot->batch */

struct rpc_msg {
	uint32_t cmd;
	uint32_t flags;
	uint64_t fn;
	uint64_t len;
	int64_t ret;
	uint64_t a[6];
};

/* The layout of struct compel_syscall (compel.h), which the freestanding
 * parasite does not include. */
struct rpc_syscall {
	int64_t nr;
	uint64_t a[6];
	int64_t ret;
};

#define BOOT_MAGIC 0x43504d43u

/* The boot block, in the shared mapping. */
struct rpc_boot {
	uint32_t magic;
	int32_t sock;
	uint64_t sigframe_sp; /* where rt_sigreturn finds the original state */
	uint64_t exit_ip;     /* the way home when available: the syscall gadget, */
	uint64_t exit_sp;     /* the chain on the task's stack (its rt_sigreturn part), */
	uint64_t exit_sp_full; /* the whole chain (restart_syscall first, if any) */
	uint64_t map_addr;    /* and our mapping, unmapped on the way */
	uint64_t map_len;
	uint64_t args;
	uint64_t args_size;
	uint64_t batch;       /* RPC_SYSCALLS' calls (struct rpc_syscall[]) */
	struct compel_pctx ctx;
	/* The thread was interrupted in a sleep the kernel restarts from its
	 * restart block (ERESTART_RESTARTBLOCK), which rt_sigreturn resets.
	 * Orphaned (not cured), the parasite finishes that sleep itself with
	 * restart_syscall under the thread's own mask before going home, and
	 * patches the frame: the result at fix_rax, fix_rip_val at fix_rip. */
	uint32_t restart;
	uint32_t cured;       /* set by the controller before it closes the channel */
	uint64_t orig_mask;
	uint64_t fix_rax, fix_rip, fix_rip_val;
	/* per-thread calls (compel_infect__call_in_thread) */
	uint64_t th_fn;
	uint64_t th_sigframe_sp;
	int64_t th_ret;
	uint32_t th_busy;     /* another thread runs in the mapping: do not unmap it */
	uint32_t th_pad;
	uint64_t th_exit_ip;  /* its way out: a "ret" of the task with the chain at */
	uint64_t th_exit_sp;  /* th_exit_sp, whose first call, clock_gettime(th_out), */
	int64_t th_out[2];    /* tells (from the task's code) that it left the mapping */
};

#endif
