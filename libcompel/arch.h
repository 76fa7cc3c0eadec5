/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * arch.h - what the generic code needs from an architecture.  Each
 * architecture implements it in libcompel/arch/<arch>/ (only x86_64 now).
 */
#ifndef COMPEL_ARCH_H
#define COMPEL_ARCH_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <sys/user.h>
struct arch_regs {
	struct user_regs_struct r;
};
#define ARCH_NT_XSTATE 0x202 /* NT_X86_XSTATE */
#else
#error "libcompel: this architecture is not supported yet"
#endif

/* Syscall instruction bytes, searched for in the target's code. */
extern const uint8_t arch_syscall_insn[];
extern const size_t arch_syscall_insn_len;
/* "syscall; ret" and "pop <result register>; ret", searched for in the
 * task's code to build the parasite's way home. */
extern const uint8_t arch_gadget_syscall_ret[], arch_gadget_pop_ret[];
extern const size_t arch_gadget_syscall_ret_len, arch_gadget_pop_ret_len;
/* "pop <first/second argument register>; ret": the undo calls' arguments */
extern const uint8_t arch_gadget_pop_a0[], arch_gadget_pop_a1[];
extern const size_t arch_gadget_pop_a_len;

/* The task's gadgets the way home is made of (0: not found). */
struct arch_gadgets {
	uint64_t syscall_ret, pop_ret, pop_a0, pop_a1;
	uint64_t ret; /* a plain return (the end of syscall_ret) */
};
/* A system call the way home makes before going home: undoes what we
 * created in the task (munmap, close) should we die before we do. */
struct arch_undo {
	long nr;
	unsigned nargs;
	uint64_t a0, a1;
};
#define ARCH_MAX_UNDO 3
#define ARCH_CHAIN_ROOM 256 /* bytes for the chain at the bottom of a frame */
#define ARCH_NR_RT_SIGRETURN arch_nr_rt_sigreturn
extern const long arch_nr_rt_sigreturn;

/* Sets regs to run syscall nr(args) at the syscall instruction at ip. */
void arch_regs_setup_syscall(struct arch_regs *r, uint64_t ip, long nr, const uint64_t args[6]);
int64_t arch_regs_retval(const struct arch_regs *r);
/* The syscall the thread is in (orig_ax) or -1. */
long arch_regs_syscall_nr(const struct arch_regs *r);
/* Computes the registers to resume with so that an interrupted restartable
 * syscall is executed again; returns 1 if changed. */
int arch_regs_restart(const struct arch_regs *in, struct arch_regs *out);
/*
 * The registers a thread is parked with whenever we are not running
 * something in it: the seized ones, which the kernel itself turns into a
 * restart when the thread leaves any ptrace-stop (detach or our death set
 * TIF_SIGPENDING; the restart is done on the way out).  Only a restart
 * the kernel would not do (epoll's EINTR made by our interrupt) is
 * rewritten.  Returns 1 if out differs from in.
 */
int arch_regs_park(const struct arch_regs *in, struct arch_regs *out);
/* 1 if the thread was interrupted with ERESTART_RESTARTBLOCK (a sleep
 * whose deadline is kept in the kernel's restart block). */
int arch_regs_restart_block(const struct arch_regs *orig);
/* rt_sigreturn resets the restart block: for a syscall interrupted with
 * ERESTART_RESTARTBLOCK, out re-executes the original syscall instead
 * (or, inside restart_syscall where that call is unknown, returns 0). */
void arch_regs_no_restart_block(const struct arch_regs *orig, const struct arch_regs *resume,
				struct arch_regs *out);
/* At a syscall-entry stop: make the kernel skip the syscall. */
void arch_regs_skip_syscall(struct arch_regs *r);
/* Sets up a call of ip(arg0, arg1, arg2) on stack sp. */
void arch_regs_setup_call(struct arch_regs *r, uint64_t ip, uint64_t sp,
			  uint64_t a0, uint64_t a1, uint64_t a2);
uint64_t arch_regs_ip(const struct arch_regs *r);
uint64_t arch_regs_sp(const struct arch_regs *r);
void arch_regs_set_sp(struct arch_regs *r, uint64_t sp);

/*
 * Signal frame for rt_sigreturn: lets the parasite restore the original
 * registers, mask, FPU state and sigaltstack by itself.  Writes at most
 * arch_sigframe_size(xs_len) bytes to buf, laid out for address `addr`
 * (64-byte aligned); *sp_out is the stack pointer the rt_sigreturn syscall
 * must run with.
 */
size_t arch_sigframe_size(size_t xs_len);
int arch_sigframe_build(void *buf, uint64_t addr, const struct arch_regs *regs,
			uint64_t sigmask, const void *xs, size_t xs_len,
			uint64_t ss_sp, uint32_t ss_flags, uint64_t ss_size, uint64_t *sp_out);

/* Addresses of the result and instruction pointer slots of a frame
 * built at addr (the parasite patches them after a restart_syscall). */
void arch_sigframe_slots(uint64_t addr, uint64_t *rax_addr, uint64_t *rip_addr);

/*
 * The way home of a thread whose controller died: a chain on the task's
 * own stack that, entered at the task's "syscall; ret" gadget after a
 * remote call, makes the undo calls u[0..n), then (with restart)
 * restart_syscall (a thread interrupted inside restart_syscall: the
 * original call is unknown, the frame makes it return 0 at its deadline),
 * then rt_sigreturn, using only the task's own code.  buf is
 * arch_sigframe_size() bytes for address addr, already filled by
 * arch_sigframe_build (which gave sp_out).  Returns the stack pointer of
 * the whole chain; *sp_full is that of the part after the undo calls,
 * *sp_tail that of the rt_sigreturn part alone (the parasite jumps there
 * with munmap set up once it finished a sleep itself).
 */
uint64_t arch_exit_chain_build(void *buf, uint64_t addr, uint64_t sp_out,
			       const struct arch_gadgets *g, const struct arch_undo *u, unsigned n,
			       int restart, uint64_t *sp_full, uint64_t *sp_tail);
/* 1 if system call nr resets the caller's restart block on entry. */
int arch_syscall_resets_restart(long nr);
/* 1 if the thread was interrupted inside restart_syscall itself. */
int arch_regs_in_restart_syscall(const struct arch_regs *orig);

#endif
