/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* x86_64 register conventions, syscall restart and the rt_sigreturn frame. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "../../arch.h"

const uint8_t arch_syscall_insn[] = { 0x0f, 0x05 };
const size_t arch_syscall_insn_len = sizeof(arch_syscall_insn);
const long arch_nr_rt_sigreturn = __NR_rt_sigreturn;
const uint8_t arch_gadget_syscall_ret[] = { 0x0f, 0x05, 0xc3 };
const size_t arch_gadget_syscall_ret_len = 3;
const uint8_t arch_gadget_pop_ret[] = { 0x58, 0xc3 }; /* pop %rax; ret */
const size_t arch_gadget_pop_ret_len = 2;
const uint8_t arch_gadget_pop_a0[] = { 0x5f, 0xc3 }; /* pop %rdi; ret */
const uint8_t arch_gadget_pop_a1[] = { 0x5e, 0xc3 }; /* pop %rsi; ret */
const size_t arch_gadget_pop_a_len = 2;

/* Kernel-internal restart codes, seen by a tracer in a stopped thread. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

void arch_regs_setup_syscall(struct arch_regs *r, uint64_t ip, long nr, const uint64_t a[6])
{
	r->r.rip = ip;
	r->r.rax = (uint64_t)nr;
	r->r.orig_rax = (uint64_t)-1; /* no restart fixup on our registers */
	r->r.rdi = a[0];
	r->r.rsi = a[1];
	r->r.rdx = a[2];
	r->r.r10 = a[3];
	r->r.r8 = a[4];
	r->r.r9 = a[5];
}

int64_t arch_regs_retval(const struct arch_regs *r)
{
	return (int64_t)r->r.rax;
}

long arch_regs_syscall_nr(const struct arch_regs *r)
{
	return (long)r->r.orig_rax;
}

uint64_t arch_regs_ip(const struct arch_regs *r)
{
	return r->r.rip;
}

uint64_t arch_regs_sp(const struct arch_regs *r)
{
	return r->r.rsp;
}

void arch_regs_set_sp(struct arch_regs *r, uint64_t sp)
{
	r->r.rsp = sp;
}

int arch_regs_restart(const struct arch_regs *in, struct arch_regs *out)
{
	long nr = (long)in->r.orig_rax;
	int64_t ax = (int64_t)in->r.rax;

	*out = *in;
	if (nr < 0)
		return 0;
	switch (-ax) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		out->r.rax = in->r.orig_rax;
		break;
	case ERESTART_RESTARTBLOCK:
		out->r.rax = __NR_restart_syscall;
		break;
	case EINTR:
		/* epoll_wait fails with EINTR on any wakeup of the task,
		 * PTRACE_INTERRUPT included: a tracer-made EINTR, restart it
		 * (the timeout starts again). */
		if (nr != __NR_epoll_wait && nr != __NR_epoll_pwait
#ifdef __NR_epoll_pwait2
		    && nr != __NR_epoll_pwait2
#endif
		    )
			return 0;
		out->r.rax = in->r.orig_rax;
		break;
	default:
		return 0;
	}
	out->r.rip -= 2;
	out->r.orig_rax = (uint64_t)-1;
	return 1;
}

int arch_regs_park(const struct arch_regs *in, struct arch_regs *out)
{
	*out = *in;
	if ((long)in->r.orig_rax < 0 || (int64_t)in->r.rax != -EINTR)
		return 0;
	if (in->r.orig_rax != __NR_epoll_wait && in->r.orig_rax != __NR_epoll_pwait
#ifdef __NR_epoll_pwait2
	    && in->r.orig_rax != __NR_epoll_pwait2
#endif
	    )
		return 0;
	/* the EINTR was made by our interrupt: let the kernel restart it
	 * (a signal with a handler still interrupts it, as it should) */
	out->r.rax = (uint64_t)-ERESTARTNOHAND;
	return 1;
}

int arch_regs_restart_block(const struct arch_regs *orig)
{
	return (long)orig->r.orig_rax >= 0 && (int64_t)orig->r.rax == -ERESTART_RESTARTBLOCK;
}

int arch_syscall_resets_restart(long nr)
{
	return nr == __NR_nanosleep || nr == __NR_clock_nanosleep || nr == __NR_rt_sigreturn ||
	       nr == __NR_restart_syscall;
}

int arch_regs_in_restart_syscall(const struct arch_regs *orig)
{
	return arch_regs_restart_block(orig) && orig->r.orig_rax == __NR_restart_syscall;
}

void arch_regs_no_restart_block(const struct arch_regs *orig, const struct arch_regs *resume,
				struct arch_regs *out)
{
	*out = *resume;
	if (!arch_regs_restart_block(orig))
		return;
	if (orig->r.orig_rax != __NR_restart_syscall) {
		/* re-execute the original call (its timeout starts again) */
		out->r.rax = orig->r.orig_rax;
		return;
	}
	/* interrupted inside restart_syscall: the original call is unknown;
	 * the way home runs restart_syscall before rt_sigreturn (see
	 * arch_exit_chain_build) and the call returns 0, never EINTR */
	out->r.rip = orig->r.rip;
	out->r.rax = 0;
}

void arch_regs_skip_syscall(struct arch_regs *r)
{
	r->r.orig_rax = (uint64_t)-1;
}

void arch_regs_setup_call(struct arch_regs *r, uint64_t ip, uint64_t sp,
			  uint64_t a0, uint64_t a1, uint64_t a2)
{
	r->r.rip = ip;
	r->r.rsp = sp & ~15ull;
	r->r.rdi = a0;
	r->r.rsi = a1;
	r->r.rdx = a2;
	r->r.rax = 0;
	r->r.orig_rax = (uint64_t)-1;
	r->r.eflags &= ~(1ull << 10); /* DF clear, as the ABI wants */
}

/* The kernel's struct ucontext / sigcontext for x86_64 (uapi layout). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext layout");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define SW_BYTES_OFF 464 /* struct _fpx_sw_bytes inside the legacy area */

/*
 * Layout at addr (64-byte aligned): room for the 3-word exit chain, the
 * rt_sigframe (the chain's last word is its pretcode), then the FPU area
 * and its magic2.  The chain is the lowest: a signal delivered while the
 * thread walks it writes its own frame below, never over what
 * rt_sigreturn will read.
 */
#define CHAIN_ROOM ARCH_CHAIN_ROOM
#define FRAME_ROOM ((sizeof(struct k_rt_sigframe) + 63) & ~(size_t)63)

uint64_t arch_exit_chain_build(void *buf, uint64_t addr, uint64_t sp_out,
			       const struct arch_gadgets *g, const struct arch_undo *u, unsigned n,
			       int restart, uint64_t *sp_full, uint64_t *sp_tail)
{
	/* Each syscall of the chain runs at the syscall gadget, whose ret
	 * pops the next gadget: "pop %rdi/%rsi; ret" load arguments, "pop
	 * %rax; ret" the number.  Last comes rt_sigreturn, with the stack
	 * pointer at the ucontext (sp_out); before it, restart_syscall if
	 * asked (the interrupted sleep ends at its deadline, before
	 * rt_sigreturn resets the restart block); before that the undo
	 * calls. */
	uint64_t chain[ARCH_CHAIN_ROOM / 8];
	unsigned k = 0, i, used = 0, max = ARCH_MAX_UNDO * 7 + 6;
	uint64_t sp;

	/* the chain always starts at the same place: a thread parked on it
	 * keeps its stack pointer while we rewrite it; unused room is a
	 * sled of "ret" */
	for (i = 0; i < n && i < ARCH_MAX_UNDO; i++)
		used += u[i].nargs > 1 ? 7 : 5;
	used += restart ? 6 : 3;
	while (k < max - used)
		chain[k++] = g->ret;
	for (i = 0; i < n && i < ARCH_MAX_UNDO; i++) {
		chain[k++] = g->pop_a0;
		chain[k++] = u[i].a0;
		if (u[i].nargs > 1) {
			chain[k++] = g->pop_a1;
			chain[k++] = u[i].a1;
		}
		chain[k++] = g->pop_ret;
		chain[k++] = (uint64_t)u[i].nr;
		chain[k++] = g->syscall_ret;
	}
	if (restart) {
		chain[k++] = g->pop_ret;
		chain[k++] = __NR_restart_syscall;
		chain[k++] = g->syscall_ret;
	}
	chain[k++] = g->pop_ret;
	chain[k++] = __NR_rt_sigreturn;
	chain[k++] = g->syscall_ret;
	sp = sp_out - k * 8;
	memcpy((uint8_t *)buf + (sp - addr), chain, k * 8);
	*sp_tail = sp_out - 3 * 8;
	*sp_full = sp_out - (restart ? 6 : 3) * 8;
	return sp;
}

size_t arch_sigframe_size(size_t xs_len)
{
	return CHAIN_ROOM + FRAME_ROOM + ((xs_len + 4 + 63) & ~(size_t)63);
}

void arch_sigframe_slots(uint64_t addr, uint64_t *rax_addr, uint64_t *rip_addr)
{
	uint64_t f = addr + CHAIN_ROOM;

	*rax_addr = f + offsetof(struct k_rt_sigframe, uc.mc.rax);
	*rip_addr = f + offsetof(struct k_rt_sigframe, uc.mc.rip);
}

int arch_sigframe_build(void *buf, uint64_t addr, const struct arch_regs *regs,
			uint64_t sigmask, const void *xs, size_t xs_len,
			uint64_t ss_sp, uint32_t ss_flags, uint64_t ss_size, uint64_t *sp_out)
{
	uint8_t *b = buf;
	struct k_rt_sigframe *f;
	struct k_sigcontext *sc;
	size_t fpo = CHAIN_ROOM + FRAME_ROOM;
	uint32_t v;

	if (addr & 63)
		return -EINVAL;
	memset(b, 0, arch_sigframe_size(xs_len));
	if (xs && xs_len >= 576) {
		uint8_t *x = b + fpo;
		uint64_t features;

		memcpy(x, xs, xs_len);
		/* ptrace puts the enabled feature mask where a signal frame has
		 * its struct _fpx_sw_bytes: build the latter from it */
		memcpy(&features, x + SW_BYTES_OFF, 8);
		memset(x + SW_BYTES_OFF, 0, 48);
		v = FP_XSTATE_MAGIC1;
		memcpy(x + SW_BYTES_OFF, &v, 4);
		v = (uint32_t)xs_len + 4; /* extended_size */
		memcpy(x + SW_BYTES_OFF + 4, &v, 4);
		memcpy(x + SW_BYTES_OFF + 8, &features, 8);
		v = (uint32_t)xs_len; /* xstate_size */
		memcpy(x + SW_BYTES_OFF + 16, &v, 4);
		v = FP_XSTATE_MAGIC2;
		memcpy(x + xs_len, &v, 4);
	}
	f = (struct k_rt_sigframe *)(b + CHAIN_ROOM);
	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.ss_sp = ss_sp;
	f->uc.ss_flags = (int32_t)ss_flags;
	f->uc.ss_size = ss_size;
	f->uc.sigmask = sigmask;
	sc = &f->uc.mc;
	sc->r8 = regs->r.r8; sc->r9 = regs->r.r9; sc->r10 = regs->r.r10; sc->r11 = regs->r.r11;
	sc->r12 = regs->r.r12; sc->r13 = regs->r.r13; sc->r14 = regs->r.r14; sc->r15 = regs->r.r15;
	sc->rdi = regs->r.rdi; sc->rsi = regs->r.rsi; sc->rbp = regs->r.rbp; sc->rbx = regs->r.rbx;
	sc->rdx = regs->r.rdx; sc->rax = regs->r.rax; sc->rcx = regs->r.rcx; sc->rsp = regs->r.rsp;
	sc->rip = regs->r.rip; sc->eflags = regs->r.eflags;
	sc->cs = (uint16_t)regs->r.cs;
	sc->ss = (uint16_t)regs->r.ss;
	sc->fpstate = xs ? addr + fpo : 0;
	*sp_out = addr + CHAIN_ROOM + 8; /* the kernel reads the frame at sp - 8 */
	return 0;
}
