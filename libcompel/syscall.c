/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote system calls.  No code is written into the task: the thread is
 * pointed at a syscall instruction that already exists in its address
 * space (the vDSO has some, libc many) and driven with PTRACE_SYSCALL from
 * the syscall-entry stop to the syscall-exit stop, where the result is
 * read and the registers put back.  Nothing in the task's memory ever
 * refers to us, so a tracer killed at any moment leaves no broken code.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static int mem_fd(struct compel_proc *p)
{
	char path[64];

	if (p->mem_fd >= 0)
		return p->mem_fd;
	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	p->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->mem_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return p->mem_fd;
}

COMPEL_API ssize_t compel_proc__read_mem(struct compel_proc *p, uint64_t addr, void *buf,
					 size_t len)
{
	int fd = mem_fd(p);
	size_t done = 0;

	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

COMPEL_API ssize_t compel_proc__write_mem(struct compel_proc *p, uint64_t addr,
					  const void *buf, size_t len)
{
	int fd = mem_fd(p);
	size_t done = 0;

	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static uint64_t find_bytes(const uint8_t *buf, size_t n, uint64_t start, const uint8_t *pat,
			   size_t plen)
{
	for (size_t i = 0; i + plen <= n; i++)
		if (buf[i] == pat[0] && !memcmp(buf + i, pat, plen))
			return start + i;
	return 0;
}

/*
 * Finds, in the task's own code, a syscall instruction (first in the
 * vDSO, then anywhere executable) and the two gadgets of the parasite's
 * way home ("syscall; ret" and "pop %rax; ret" on x86_64).
 */
int compel_find_syscall_ip(struct compel_proc *p)
{
	char path[64], line[512];
	FILE *f;
	int pass;

	if (p->syscall_ip)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	for (pass = 0; pass < 2; pass++) {
		f = fopen(path, "re");
		if (!f)
			return errno == ENOENT ? -ESRCH : -errno;
		while (fgets(line, sizeof(line), f)) {
			unsigned long start, end;
			char perms[8];
			size_t len;
			uint8_t *buf;
			ssize_t n;

			if (p->syscall_ip && p->g_syscall_ret && p->g_pop_ax_ret && p->g_pop_a0 &&
			    p->g_pop_a1)
				break;
			if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
				continue;
			if (perms[2] != 'x' || (pass == 0) != !!strstr(line, "[vdso]"))
				continue;
			len = end - start;
			if (len > (8u << 20))
				len = 8u << 20;
			buf = malloc(len);
			if (!buf)
				break;
			n = compel_proc__read_mem(p, start, buf, len);
			if (n > 0) {
				if (!p->syscall_ip)
					p->syscall_ip = find_bytes(buf, (size_t)n, start, arch_syscall_insn,
								   arch_syscall_insn_len);
				if (!p->g_syscall_ret)
					p->g_syscall_ret = find_bytes(buf, (size_t)n, start,
								      arch_gadget_syscall_ret,
								      arch_gadget_syscall_ret_len);
				if (!p->g_pop_ax_ret)
					p->g_pop_ax_ret = find_bytes(buf, (size_t)n, start,
								     arch_gadget_pop_ret,
								     arch_gadget_pop_ret_len);
				if (!p->g_pop_a0)
					p->g_pop_a0 = find_bytes(buf, (size_t)n, start, arch_gadget_pop_a0,
								 arch_gadget_pop_a_len);
				if (!p->g_pop_a1)
					p->g_pop_a1 = find_bytes(buf, (size_t)n, start, arch_gadget_pop_a1,
								 arch_gadget_pop_a_len);
			}
			free(buf);
		}
		fclose(f);
	}
	if (!p->syscall_ip) {
		pr_err("no syscall instruction found in process %d", p->pid);
		return -ENOEXEC;
	}
	pr_debug("process %d: syscall at %#llx, gadgets at %#llx %#llx", p->pid,
		 (unsigned long long)p->syscall_ip, (unsigned long long)p->g_syscall_ret,
		 (unsigned long long)p->g_pop_ax_ret);
	return 0;
}

/* Resumes with req and waits for the next stop that is a syscall stop.
 * Group-stops met on the way are resumed through. */
int compel_syscall_step(struct compel_thread *t, int req)
{
	int st, err;

	for (;;) {
		if (ptrace((enum __ptrace_request)req, t->tid, NULL, NULL) < 0)
			return neg_errno();
		err = compel_wait_stop(t, &st);
		if (err)
			return err;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80))
			return 0;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			continue; /* a group stop or a late interrupt: go on */
		/* signal-delivery-stop: every signal is blocked but forced
		 * ones (a fault in our code): report it */
		pr_err("thread %d: unexpected signal %d during a remote call", t->tid,
		       WSTOPSIG(st));
		return -EFAULT;
	}
}

static void gadgets(const struct compel_proc *p, struct arch_gadgets *g)
{
	g->syscall_ret = p->g_syscall_ret;
	g->pop_ret = p->g_pop_ax_ret;
	g->pop_a0 = p->g_pop_a0;
	g->pop_a1 = p->g_pop_a1;
	g->ret = p->g_syscall_ret + arch_gadget_syscall_ret_len - 1;
}

/* The registers of a thread parked on its way home: at a plain "ret"
 * with the stack pointer on the chain. */
static void home_regs(struct compel_thread *t, struct arch_regs *r)
{
	struct arch_gadgets g;

	gadgets(t->proc, &g);
	*r = t->regs;
	arch_regs_setup_call(r, g.ret, t->home_sp, 0, 0, 0);
	arch_regs_set_sp(r, t->home_sp); /* exact: no call alignment */
}

void compel_thread_home(struct compel_thread *t)
{
	struct compel_proc *p = t->proc;
	struct arch_gadgets g;
	size_t size;
	uint64_t addr, sp;
	uint8_t *buf;

	if (t->home_tried)
		return;
	t->home_tried = true;
	if (!p->g_syscall_ret || !p->g_pop_ax_ret || compel_thread_load_xstate(t))
		return;
	size = arch_sigframe_size(t->xs_len);
	addr = (arch_regs_sp(&t->regs) - 128 - size) & ~63ull; /* below the red zone */
	buf = calloc(1, size);
	if (!buf)
		return;
	gadgets(p, &g);
	if (!arch_sigframe_build(buf, addr, &t->resume_sigreturn, t->sigmask, t->xs, t->xs_len, 0,
				 SS_FLAGS_KEEP, 0, &sp)) {
		uint64_t full, tail;
		uint64_t csp = arch_exit_chain_build(buf, addr, sp, &g, NULL, 0,
						     arch_regs_in_restart_syscall(&t->regs), &full,
						     &tail);

		if (compel_proc__write_mem(p, addr, buf, size) == (ssize_t)size) {
			t->home_sp = csp;
			t->home_addr = addr;
			t->home_full = full;
			t->home_tail = tail;
			t->home_sp_out = sp;
			t->home_buf = buf;
			t->home_size = size;
			return;
		}
		pr_debug("thread %d: no room below its stack for the way home", t->tid);
	}
	free(buf);
}

uint64_t compel_proc_ret_gadget(const struct compel_proc *p)
{
	return p->g_syscall_ret ? p->g_syscall_ret + arch_gadget_syscall_ret_len - 1 : 0;
}

int compel_thread_chain(struct compel_thread *t, const struct arch_undo *u, unsigned n)
{
	struct compel_proc *p = t->proc;
	struct arch_gadgets g;
	uint64_t full, tail, csp;
	size_t len = ARCH_CHAIN_ROOM + 8; /* the chain ends on the frame's first word */

	if (!t->home_sp || n > ARCH_MAX_UNDO || (n && (!p->g_pop_a0 || !p->g_pop_a1)))
		return -ENOTSUP;
	gadgets(p, &g);
	csp = arch_exit_chain_build(t->home_buf, t->home_addr, t->home_sp_out, &g, u, n,
				    arch_regs_in_restart_syscall(&t->regs), &full, &tail);
	if (compel_proc__write_mem(p, t->home_addr, t->home_buf, len) != (ssize_t)len)
		return -EIO;
	t->home_sp = csp;
	return 0;
}

int compel_thread_set_undo(struct compel_thread *t, const struct arch_undo *u, unsigned n)
{
	int err = compel_thread_chain(t, u, n);

	if (err)
		return err;
	if (n && !t->homing) {
		/* registers first, then the mask: the chain's rt_sigreturn
		 * restores both */
		struct arch_regs r;

		home_regs(t, &r);
		err = compel_regs_set_live(t, &r);
		if (!err)
			err = compel_thread_block(t, 1);
		if (err)
			return err;
		t->homing = true;
	} else if (!n && t->homing) {
		err = compel_thread_block(t, 0);
		if (!err)
			err = compel_regs_set_live(t, &t->park);
		if (err)
			return err;
		t->homing = false;
	}
	return 0;
}

COMPEL_API int compel_remote_syscalls(struct compel_thread *t, struct compel_syscall *calls,
				      unsigned n)
{
	struct arch_regs r, r2;
	bool resets = false;
	unsigned i;
	int err = 0, err2;

	if (!t || (n && !calls) || n > COMPEL_MAX_BATCH)
		return -EINVAL;
	if (!n)
		return 0;
	err = compel_thread_prepare(t);
	if (err)
		return err;
	err = compel_find_syscall_ip(t->proc);
	if (err)
		return err;
	compel_thread_home(t);
	for (i = 0; i < n && !err; i++) {
		r = t->regs;
		if (t->home_sp) {
			/* at the task's "syscall; ret" with the way home on the
			 * stack: should we die before putting the registers
			 * back, the thread returns to its own state by itself;
			 * between the calls of a batch it waits at the exit
			 * stop of the last, on its way home too */
			arch_regs_setup_syscall(&r, t->proc->g_syscall_ret, (long)calls[i].nr,
						calls[i].args);
			arch_regs_set_sp(&r, t->home_sp);
		} else {
			arch_regs_setup_syscall(&r, t->proc->syscall_ip, (long)calls[i].nr,
						calls[i].args);
		}
		/* registers first, then the mask, and the other way round
		 * after: if we die in between, the way home restores both */
		err = compel_regs_set_live(t, &r);
		if (!err && i == 0)
			err = compel_thread_block(t, 1);
		if (!err)
			err = compel_syscall_step(t, PTRACE_SYSCALL); /* entry */
		if (!err)
			err = compel_syscall_step(t, PTRACE_SYSCALL); /* exit */
		if (!err)
			err = compel_regs_get_live(t, &r);
		if (!err)
			calls[i].ret = arch_regs_retval(&r);
		resets |= arch_syscall_resets_restart((long)calls[i].nr);
	}
	if (err == -ESRCH)
		return err;
	if (resets && arch_regs_restart_block(&t->regs)) {
		/* the kernel can no longer restart the thread's sleep:
		 * re-execute the call (or, inside restart_syscall, return 0) */
		t->park = t->resume_sigreturn;
		t->resume = t->resume_sigreturn;
	}
	/* parked with the seized registers: from this syscall-exit stop the
	 * kernel restarts the interrupted call itself if we die or detach;
	 * or, while undo calls are pending, parked on its way home */
	if (t->homing) {
		home_regs(t, &r2);
		err2 = compel_regs_set_live(t, &r2);
	} else {
		err2 = compel_thread_block(t, 0);
		if (!err2)
			err2 = compel_regs_set_live(t, &t->park);
	}
	return err ? err : err2;
}

COMPEL_API int compel_remote_syscall(struct compel_thread *t, int64_t *ret, long nr,
				     const uint64_t args[6])
{
	struct compel_syscall c = { .nr = nr };
	int err;

	if (!t || !ret)
		return -EINVAL;
	if (args)
		memcpy(c.args, args, sizeof(c.args));
	err = compel_remote_syscalls(t, &c, 1);
	if (!err)
		*ret = c.ret;
	return err;
}

COMPEL_API int compel_remote_mmap(struct compel_thread *t, uint64_t addr, uint64_t len,
				  int prot, int flags, int fd, uint64_t off, uint64_t *ret_addr)
{
	uint64_t a[6] = { addr, len, (uint64_t)prot, (uint64_t)flags, (uint64_t)(int64_t)fd, off };
	int64_t r;
	int err = compel_remote_syscall(t, &r, __NR_mmap, a);

	if (err)
		return err;
	if (r < 0 && r > -4096)
		return (int)r;
	if (ret_addr)
		*ret_addr = (uint64_t)r;
	return 0;
}

COMPEL_API int compel_remote_munmap(struct compel_thread *t, uint64_t addr, uint64_t len)
{
	uint64_t a[6] = { addr, len };
	int64_t r;
	int err = compel_remote_syscall(t, &r, __NR_munmap, a);

	return err ? err : (int)r;
}
