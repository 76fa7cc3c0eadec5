/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Infection: map the parasite (shared memfd), start it in one thread,
 * serve calls over a SOCK_SEQPACKET channel, cure.  See docs/compel.md for
 * why each step is done the way it is.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "rpc.h"

extern const unsigned char compel_rt_blob[];
extern const unsigned long compel_rt_blob_size;

#define PAGE 4096ull
#define ALIGN(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define THREAD_STACK (64 * 1024)
#define SCRATCH_OFF 2048 /* in the boot page */

struct compel_infect {
	struct compel_proc *p;
	struct compel_thread *t;
	struct compel_blob *rt;
	uint64_t addr, size;      /* the mapping in the task */
	uint8_t *local;           /* our view of it */
	uint64_t boot_off, frame_off, tframe_off, args_off, args_size, stack_top, tstack_top;
	uint64_t batch_off;
	uint64_t blob_base[16];
	const struct compel_blob *blobs[16];
	unsigned nr_blobs;
	size_t frame_size;
	int sock;                 /* our end of the channel */
	int rsock;                /* the task's end (its fd number) */
	unsigned timeout_ms;
	bool running;             /* the parasite thread runs (PTRACE_CONT) */
	bool dead;
};

static struct rpc_boot *boot(struct compel_infect *inf)
{
	return (struct rpc_boot *)(inf->local + inf->boot_off);
}

static int rsys(struct compel_thread *t, int64_t *ret, long nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	int err = compel_remote_syscall(t, ret, nr, a);

	if (!err && *ret < 0 && *ret > -4096)
		return (int)*ret;
	return err;
}

static uint64_t rt_sym(struct compel_infect *inf, const char *name)
{
	int64_t off = compel_blob__sym(inf->rt, name);

	return off < 0 ? 0 : inf->addr + (uint64_t)off;
}

/* Waits until the channel is readable: 0, -ETIMEDOUT, or -ESRCH if the
 * task's end is gone (the task died). */
static int chan_wait(struct compel_infect *inf)
{
	struct pollfd pfd = { inf->sock, POLLIN, 0 };
	int r;

	for (;;) {
		r = poll(&pfd, 1, (int)inf->timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			pr_err("parasite in %d did not answer within %u ms", inf->t->tid,
			       inf->timeout_ms);
			return -ETIMEDOUT;
		}
		return 0;
	}
}

static int chan_recv(struct compel_infect *inf, struct rpc_msg *m, int *fds, uint32_t max,
		     uint32_t *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * COMPEL_MAX_FDS)];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;
	int err = chan_wait(inf);

	if (err)
		return err;
	do
		n = recvmsg(inf->sock, &h, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (nfds)
		*nfds = 0;
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *cf = (int *)CMSG_DATA(c);

		for (unsigned i = 0; i < k; i++) {
			if (fds && nfds && *nfds < max)
				fds[(*nfds)++] = cf[i];
			else
				close(cf[i]);
		}
	}
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
		pr_err("the parasite in %d is gone (the task died?)", inf->t->tid);
		inf->dead = true;
		return -ESRCH;
	}
	if (n < 0)
		return -errno;
	if (n != sizeof(*m))
		return -EPROTO;
	return 0;
}

static int chan_send(struct compel_infect *inf, const struct rpc_msg *m, const int *fds,
		     uint32_t nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * COMPEL_MAX_FDS)];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > COMPEL_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		h.msg_control = cbuf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(inf->sock, &h, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ECONNREFUSED) {
			inf->dead = true;
			return -ESRCH;
		}
		return -errno;
	}
	return 0;
}

static int rpc(struct compel_infect *inf, struct rpc_msg *m, const int *fds_in, uint32_t nin,
	       int *fds_out, uint32_t max_out, uint32_t *nout)
{
	uint32_t cmd = m->cmd;
	int err;

	if (!inf || inf->dead || !inf->running)
		return -ESRCH;
	err = chan_send(inf, m, fds_in, nin);
	if (!err)
		err = chan_recv(inf, m, fds_out, max_out, nout);
	if (!err && m->cmd != cmd)
		err = -EPROTO;
	return err;
}

static void free_infect(struct compel_infect *inf)
{
	if (inf->local)
		munmap(inf->local, inf->size);
	if (inf->sock >= 0)
		close(inf->sock);
	compel_blob_free(inf->rt);
	free(inf);
}

static int restore_fpu_mask(struct compel_thread *t)
{
	uint64_t m = t->sigmask;

	if (t->xs_valid) {
		struct iovec iov = { t->xs, t->xs_len };
		if (ptrace(PTRACE_SETREGSET, t->tid, (void *)ARCH_NT_XSTATE, &iov) < 0)
			return neg_errno();
	}
	if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(m), &m) < 0)
		return neg_errno();
	return 0;
}

/* Restores a stopped thread's state by ptrace, when the parasite could
 * not do it itself. */
static int restore_by_hand(struct compel_thread *t)
{
	int err = restore_fpu_mask(t); /* first: the registers decide */

	if (!err)
		err = compel_regs_set_live(t, &t->park);
	return err;
}

/*
 * Runs a stopped thread (PTRACE_SYSCALL) until it reaches rt_sigreturn
 * or restart_syscall (the parasite's way home, see arch_exit_chain_build)
 * and, at that syscall-entry stop, puts the
 * thread back by hand instead: FPU state and mask first, then every
 * register in one write that also cancels the syscall.  Whenever we die
 * in between, the thread still gets home (the syscall runs); and
 * rt_sigreturn is never run for real, which would reset the restart
 * block of an interrupted nanosleep or poll (EINTR instead of resuming).
 */
static int run_to_sigreturn(struct compel_thread *t, unsigned max_steps)
{
	struct arch_regs r;
	unsigned i;
	int err;

	for (i = 0; i < max_steps; i++) {
		err = compel_syscall_step(t, PTRACE_SYSCALL);
		if (err)
			return err;
		err = compel_regs_get_live(t, &r);
		if (err)
			return err;
		if ((arch_regs_syscall_nr(&r) == ARCH_NR_RT_SIGRETURN ||
		     arch_regs_syscall_nr(&r) == __NR_restart_syscall) &&
		    arch_regs_retval(&r) == -ENOSYS) {
			r = t->resume;
			arch_regs_skip_syscall(&r);
			err = restore_fpu_mask(t);
			if (!err)
				err = compel_regs_set_live(t, &r);
			if (!err)
				err = compel_syscall_step(t, PTRACE_SYSCALL); /* to its exit */
			/* parked as seized: the kernel does the restart (the
			 * resume registers above are just as safe meanwhile) */
			if (!err)
				err = compel_regs_set_live(t, &t->park);
			return err;
		}
	}
	pr_err("thread %d did not return through rt_sigreturn", t->tid);
	return -EPROTO;
}

/*
 * What a controller killed inside compel_infect() leaves behind is undone
 * by the thread's way home (compel_thread_set_undo): before each remote
 * call that creates something, the calls that remove it are written into
 * the chain on the thread's stack.  They must be known before the call
 * runs, so the placeholder's address is chosen by us and the fds are
 * predicted: every thread is stopped, so the task gets the lowest free
 * numbers (unless another process shares its fd table).  An undo call
 * that runs before what it undoes is harmless (munmap of a free range,
 * close of a free fd).
 */
static void set_undo(struct compel_infect *inf, int fd_a, int fd_b, bool map)
{
	struct arch_undo u[ARCH_MAX_UNDO];
	unsigned n = 0;

	if (fd_a >= 0)
		u[n++] = (struct arch_undo){ __NR_close, 1, (uint64_t)fd_a, 0 };
	if (fd_b >= 0)
		u[n++] = (struct arch_undo){ __NR_close, 1, (uint64_t)fd_b, 0 };
	if (map && inf->addr)
		u[n++] = (struct arch_undo){ __NR_munmap, 2, inf->addr, inf->size };
	compel_thread_set_undo(inf->t, u, n); /* -ENOTSUP: no way home, nothing to do */
}

/* The n lowest free fd numbers of the task, -1 if unknown. */
static void predict_fds(pid_t pid, unsigned n, int *out)
{
	static const unsigned max = 4096;
	uint8_t used[4096];
	struct dirent *de;
	char path[64];
	unsigned fd, k = 0;
	DIR *d;

	for (k = 0; k < n; k++)
		out[k] = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return;
	memset(used, 0, sizeof(used));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (unsigned)atoi(de->d_name) < max)
			used[atoi(de->d_name)] = 1;
	closedir(d);
	for (fd = 0, k = 0; fd < max && k < n; fd++)
		if (!used[fd])
			out[k++] = (int)fd;
}

/* A free range for the placeholder, chosen by us so that the way home
 * knows it before the mmap runs: 16 pages into the highest gap between
 * two mappings below the stack that has 16 pages to spare on each side
 * (never the gap right below the stack, which it may grow into).
 * 0 if none. */
static uint64_t pick_addr(pid_t pid, uint64_t len)
{
	char path[64], line[512];
	uint64_t prev_end = 0, best = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (strstr(line, "[stack]"))
			break;
		if (prev_end && start > prev_end && start - prev_end >= len + 32 * PAGE)
			best = start - 16 * PAGE - ALIGN(len, PAGE);
		prev_end = end;
	}
	fclose(f);
	return best;
}

static int block_all(struct compel_thread *t)
{
	return compel_thread_block(t, 1);
}

COMPEL_API int compel_infect(struct compel_proc *p, const struct compel_infect_opts *opts,
			     struct compel_infect **ret_infect)
{
	struct compel_infect_opts o = { sizeof(o) };
	struct compel_infect *inf;
	struct compel_thread *t;
	struct arch_regs regs;
	struct rpc_msg m;
	struct rpc_boot *b;
	uint64_t off, sp;
	int64_t r, rfd = -1;
	int err, lfd, pidfd, sv[2];
	char path[64];
	unsigned i;

	if (!p || !ret_infect)
		return -EINVAL;
	if (opts) {
		if (opts->sz < sizeof(size_t) + sizeof(uint32_t))
			return -EINVAL;
		memcpy(&o, opts, sizeof(o) < opts->sz ? sizeof(o) : opts->sz);
	}
	if (o.flags || o.nr_blobs > 16 || (o.nr_blobs && !o.blobs))
		return -EINVAL;
	t = o.tid ? compel_proc__find_thread(p, o.tid) : compel_proc__leader(p);
	if (!t)
		return o.tid ? -ESRCH : -EINVAL;
	err = compel_thread_prepare(t);
	if (!err)
		err = compel_thread_load_xstate(t);
	if (err)
		return err;

	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return -ENOMEM;
	inf->p = p;
	inf->t = t;
	inf->sock = -1;
	inf->rsock = -1;
	inf->timeout_ms = o.timeout_ms ? o.timeout_ms : 10000;
	err = compel_blob_open(compel_rt_blob, compel_rt_blob_size, &inf->rt);
	if (err)
		goto fail;

	/* layout */
	off = ALIGN(inf->rt->h->mem_size, PAGE);
	for (i = 0; i < o.nr_blobs; i++) {
		inf->blobs[i] = o.blobs[i];
		inf->blob_base[i] = off;
		off = ALIGN(off + o.blobs[i]->h->mem_size, PAGE);
	}
	inf->nr_blobs = o.nr_blobs;
	inf->boot_off = off;
	off += PAGE;
	inf->frame_size = arch_sigframe_size(t->xs_len);
	inf->frame_off = off;
	off = ALIGN(off + inf->frame_size, 64);
	inf->tframe_off = off;
	off = ALIGN(off + inf->frame_size, PAGE);
	inf->batch_off = off;
	off += ALIGN(COMPEL_MAX_BATCH * sizeof(struct rpc_syscall), PAGE);
	inf->args_off = off;
	inf->args_size = ALIGN(o.args_size ? o.args_size : 64 * 1024, PAGE);
	off += inf->args_size;
	off += THREAD_STACK;
	inf->tstack_top = off - 64;
	off += ALIGN(o.stack_size ? o.stack_size : 256 * 1024, PAGE);
	inf->stack_top = off - 64;
	inf->size = off;

	/* the mapping: a placeholder to hold the memfd name, then the memfd;
	 * each step has its undo in the thread's way home (set_undo) */
	err = compel_find_syscall_ip(p);
	if (err)
		goto fail;
	compel_thread_home(t);
	inf->addr = pick_addr(p->pid, inf->size);
	if (inf->addr) {
		uint64_t got = 0;

		set_undo(inf, -1, -1, true);
		err = compel_remote_mmap(t, inf->addr, inf->size, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0, &got);
		if (err == -ESRCH)
			goto fail;
		if (err || got != inf->addr) {
			if (!err) /* a kernel without MAP_FIXED_NOREPLACE took a hint */
				compel_remote_munmap(t, got, inf->size);
			inf->addr = 0;
			set_undo(inf, -1, -1, false);
		}
	}
	if (!inf->addr) {
		err = compel_remote_mmap(t, 0, inf->size, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &inf->addr);
		if (err)
			goto fail;
		set_undo(inf, -1, -1, true);
	}
	if (compel_proc__write_mem(p, inf->addr, "compel-parasite", 16) != 16) {
		err = -EIO;
		goto fail_unmap;
	}
	predict_fds(p->pid, 1, sv);
	set_undo(inf, sv[0], -1, true);
	err = rsys(t, &rfd, __NR_memfd_create, inf->addr, MFD_CLOEXEC | 0x10 /* MFD_EXEC */, 0, 0, 0, 0);
	if (err == -EINVAL)
		err = rsys(t, &rfd, __NR_memfd_create, inf->addr, MFD_CLOEXEC, 0, 0, 0, 0);
	if (err)
		goto fail_unmap;
	if (rfd != sv[0])
		set_undo(inf, (int)rfd, -1, true);
	err = rsys(t, &r, __NR_ftruncate, (uint64_t)rfd, inf->size, 0, 0, 0, 0);
	if (!err)
		err = rsys(t, &r, __NR_mmap, inf->addr, inf->size, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_SHARED | MAP_FIXED, (uint64_t)rfd, 0);
	if (err)
		goto fail_close;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, (int)rfd);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0) {
		err = -errno;
		goto fail_close;
	}
	inf->local = mmap(NULL, inf->size, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
	close(lfd);
	if (inf->local == MAP_FAILED) {
		inf->local = NULL;
		err = -errno;
		goto fail_close;
	}
	rsys(t, &r, __NR_close, (uint64_t)rfd, 0, 0, 0, 0, 0);
	rfd = -1;
	set_undo(inf, -1, -1, true);

	compel_blob_place(inf->rt, inf->local, inf->addr);
	for (i = 0; i < inf->nr_blobs; i++)
		compel_blob_place(inf->blobs[i], inf->local + inf->blob_base[i],
				  inf->addr + inf->blob_base[i]);

	/* the channel: a socketpair made in the task, one end fetched */
	{
		int pf[2];

		predict_fds(p->pid, 2, pf);
		set_undo(inf, pf[0], pf[1], true);
		err = rsys(t, &r, __NR_socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			   inf->addr + inf->boot_off + SCRATCH_OFF, 0, 0);
		if (err)
			goto fail_unmap;
		memcpy(sv, inf->local + inf->boot_off + SCRATCH_OFF, sizeof(sv));
		if (sv[0] != pf[0] || sv[1] != pf[1])
			set_undo(inf, sv[0], sv[1], true);
	}
	pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (pidfd >= 0) {
		inf->sock = (int)syscall(SYS_pidfd_getfd, pidfd, sv[0], 0);
		if (inf->sock < 0)
			err = -errno;
		close(pidfd);
	} else {
		err = -errno;
	}
	rsys(t, &r, __NR_close, (uint64_t)sv[0], 0, 0, 0, 0, 0);
	inf->rsock = sv[1];
	set_undo(inf, sv[1], -1, true);
	if (inf->sock < 0) {
		pr_err("cannot fetch the channel from %d: %s", p->pid, strerror(-err));
		goto fail_sock;
	}

	/* the frame that returns the thread to where it was */
	err = arch_sigframe_build(inf->local + inf->frame_off, inf->addr + inf->frame_off,
				  &t->resume_sigreturn, t->sigmask, t->xs, t->xs_len, 0, SS_FLAGS_KEEP, 0,
				  &sp);
	if (err)
		goto fail_sock;
	b = boot(inf);
	memset(b, 0, sizeof(*b));
	b->magic = BOOT_MAGIC;
	b->sock = sv[1];
	b->sigframe_sp = sp;
	if (t->home_sp) {
		/* the way home written on the thread's stack (see
		 * compel_thread_home): munmap ourselves, then rt_sigreturn */
		b->exit_ip = p->g_syscall_ret;
		b->exit_sp = t->home_tail;
		b->exit_sp_full = t->home_full;
		b->map_addr = inf->addr;
		b->map_len = inf->size;
	}
	if (arch_regs_restart_block(&t->regs)) {
		uint64_t base = t->home_sp ? t->home_addr : inf->addr + inf->frame_off;

		b->restart = 1;
		b->orig_mask = t->sigmask;
		arch_sigframe_slots(base, &b->fix_rax, &b->fix_rip);
		b->fix_rip_val = arch_regs_ip(&t->regs);
	}
	b->args = inf->addr + inf->args_off;
	b->args_size = inf->args_size;
	b->batch = inf->addr + inf->batch_off;
	b->ctx.size = sizeof(b->ctx);
	b->ctx.version = 1;
	b->ctx.args = (void *)(uintptr_t)b->args;
	b->ctx.args_size = b->args_size;
	b->ctx.sock = sv[1];

	/* go: every signal blocked, on the parasite stack */
	regs = t->regs;
	arch_regs_setup_call(&regs, rt_sym(inf, "__compel_entry"), inf->addr + inf->stack_top,
			     inf->addr + inf->boot_off, 0, 0);
	t->homing = false; /* from here, its registers are the parasite's */
	err = compel_regs_set_live(t, &regs);
	if (!err)
		err = block_all(t);
	if (err)
		goto fail_sock;
	if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0) {
		err = neg_errno();
		goto fail_sock;
	}
	inf->running = true;
	/* the parasite cleans up after itself from now on (the undo calls
	 * are not on its way) */
	set_undo(inf, -1, -1, false);
	err = chan_recv(inf, &m, NULL, 0, NULL);
	if (!err && (m.cmd != RPC_HELLO || m.ret != t->tid))
		err = -EPROTO;
	if (err) {
		compel_cure(inf);
		return err;
	}
	pr_debug("parasite running in %d at %#llx (%llu bytes)", t->tid,
		 (unsigned long long)inf->addr, (unsigned long long)inf->size);
	*ret_infect = inf;
	return 0;

fail_sock:
	if (inf->rsock >= 0)
		rsys(t, &r, __NR_close, (uint64_t)inf->rsock, 0, 0, 0, 0, 0);
fail_close:
	if (rfd >= 0)
		rsys(t, &r, __NR_close, (uint64_t)rfd, 0, 0, 0, 0, 0);
fail_unmap:
	compel_remote_munmap(t, inf->addr, inf->size);
fail:
	if (t->traced)
		set_undo(inf, -1, -1, false);
	free_infect(inf);
	return err;
}

COMPEL_API int compel_cure(struct compel_infect *inf)
{
	struct compel_thread *t;
	bool broken = false;
	int err = 0, st;

	if (!inf)
		return 0;
	t = inf->t;
	if (inf->running) {
		/* Stop it (it waits in recvmsg, or is on its way there). */
		if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0)
			err = neg_errno();
		while (!err) {
			err = compel_wait_stop(t, &st);
			if (err || (st >> 16) == PTRACE_EVENT_STOP)
				break;
			/* a signal forced on the parasite (a fault): suppress
			 * it and go on to the interrupt stop */
			pr_err("parasite in %d got signal %d", t->tid, WSTOPSIG(st));
			if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
				err = neg_errno();
			broken = true;
		}
		inf->running = false;
		if (!err && !broken && boot(inf)->exit_ip) {
			/* EOF on the channel sends it home: it closes its end,
			 * unmaps itself and reaches rt_sigreturn, where we take
			 * over (see run_to_sigreturn).  Safe if we die at any
			 * point of it. */
			boot(inf)->cured = 1; /* no restart_syscall: we finish */
			close(inf->sock);
			inf->sock = -1;
			err = run_to_sigreturn(t, 64);
			if (!err) {
				free_infect(inf);
				return 0;
			}
		}
		if (err != -ESRCH && t->traced) {
			int e = restore_by_hand(t);
			int64_t r;

			if (!err)
				err = e;
			if (!e && inf->sock >= 0)
				rsys(t, &r, __NR_close, (uint64_t)inf->rsock, 0, 0, 0, 0, 0);
		}
	}
	if (t->traced) {
		int e = compel_remote_munmap(t, inf->addr, inf->size);

		if (!err)
			err = e;
	} else if (!err) {
		err = -ESRCH;
	}
	free_infect(inf);
	return err;
}

COMPEL_API int compel_infect__sym(struct compel_infect *inf, unsigned idx, const char *name,
				  uint64_t *addr)
{
	int64_t off;

	if (!inf || !name || !addr || idx >= inf->nr_blobs)
		return -EINVAL;
	off = compel_blob__sym(inf->blobs[idx], name);
	if (off < 0)
		return (int)off;
	*addr = inf->addr + inf->blob_base[idx] + (uint64_t)off;
	return 0;
}

COMPEL_API void *compel_infect__args(struct compel_infect *inf, size_t *size)
{
	if (size)
		*size = inf->args_size;
	return inf->local + inf->args_off;
}

COMPEL_API uint64_t compel_infect__args_remote(struct compel_infect *inf)
{
	return inf->addr + inf->args_off;
}

COMPEL_API int compel_infect__remote_sock(struct compel_infect *inf)
{
	return inf->rsock;
}

COMPEL_API struct compel_thread *compel_infect__thread(struct compel_infect *inf)
{
	return inf->t;
}

COMPEL_API int compel_infect__call(struct compel_infect *inf, struct compel_call *c)
{
	struct rpc_msg m = { .cmd = RPC_CALL };
	int err;

	if (!inf || !c || c->sz < offsetof(struct compel_call, ret) + sizeof(int64_t))
		return -EINVAL;
	if (c->args_len > inf->args_size || c->res_len > inf->args_size ||
	    c->nr_fds_in > COMPEL_MAX_FDS || (c->nr_fds_in && !c->fds_in) || !c->fn)
		return -EINVAL;
	if (c->args && c->args_len)
		memcpy(inf->local + inf->args_off, c->args, c->args_len);
	m.fn = c->fn;
	m.len = c->args_len;
	c->nr_fds_out = 0;
	err = rpc(inf, &m, c->fds_in, c->nr_fds_in, c->fds_out, c->fds_out ? c->max_fds_out : 0,
		  &c->nr_fds_out);
	if (err)
		return err;
	c->ret = m.ret;
	if (c->res && c->res_len)
		memcpy(c->res, inf->local + inf->args_off, c->res_len);
	return 0;
}

COMPEL_API int compel_infect__call_func(struct compel_infect *inf, uint64_t fn,
					const uint64_t a[6], int64_t *ret)
{
	struct rpc_msg m = { .cmd = RPC_CALL_FUNC, .fn = fn };
	int err;

	if (!inf || !fn || !ret)
		return -EINVAL;
	if (a)
		memcpy(m.a, a, sizeof(m.a));
	err = rpc(inf, &m, NULL, 0, NULL, 0, NULL);
	if (!err)
		*ret = m.ret;
	return err;
}

_Static_assert(sizeof(struct rpc_syscall) == sizeof(struct compel_syscall), "batch layout");

COMPEL_API int compel_infect__syscalls(struct compel_infect *inf, struct compel_syscall *calls,
				       unsigned n)
{
	struct rpc_msg m = { .cmd = RPC_SYSCALLS, .len = n };
	struct rpc_syscall *c;
	unsigned i;
	int err;

	if (!inf || (n && !calls) || n > COMPEL_MAX_BATCH)
		return -EINVAL;
	if (!n)
		return 0;
	c = (struct rpc_syscall *)(inf->local + inf->batch_off);
	for (i = 0; i < n; i++) {
		c[i].nr = calls[i].nr;
		memcpy(c[i].a, calls[i].args, sizeof(c[i].a));
		c[i].ret = -ENOSYS;
	}
	err = rpc(inf, &m, NULL, 0, NULL, 0, NULL);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		calls[i].ret = c[i].ret;
	return 0;
}

COMPEL_API int compel_infect__ping(struct compel_infect *inf)
{
	struct rpc_msg m = { .cmd = RPC_PING };

	return rpc(inf, &m, NULL, 0, NULL, 0, NULL);
}

COMPEL_API int compel_infect__get_fds(struct compel_infect *inf, const int *tfds, unsigned n,
				      int *out)
{
	struct rpc_msg m = { .cmd = RPC_GET_FDS, .len = n };
	uint32_t got = 0;
	int err;

	if (!inf || !tfds || !out || !n || n > COMPEL_MAX_FDS)
		return -EINVAL;
	memcpy(inf->local + inf->args_off, tfds, n * sizeof(int));
	err = rpc(inf, &m, NULL, 0, out, n, &got);
	if (err)
		return err;
	if (got != n) {
		for (unsigned i = 0; i < got; i++)
			close(out[i]);
		return -EBADF; /* some fd is not open in the task */
	}
	return 0;
}

COMPEL_API int compel_infect__put_fds(struct compel_infect *inf, const int *fds,
				      const int *tfds, unsigned n)
{
	struct rpc_msg m = { .cmd = RPC_PUT_FDS, .len = n };
	int err;

	if (!inf || !fds || !tfds || !n || n > COMPEL_MAX_FDS)
		return -EINVAL;
	memcpy(inf->local + inf->args_off, tfds, n * sizeof(int));
	err = rpc(inf, &m, fds, n, NULL, 0, NULL);
	if (err)
		return err;
	return m.ret < 0 ? (int)m.ret : 0;
}

COMPEL_API int compel_infect__call_in_thread(struct compel_infect *inf, pid_t tid,
					     struct compel_call *c)
{
	struct compel_thread *t;
	struct arch_regs regs;
	struct rpc_boot *b;
	uint64_t sp;
	int err;

	if (!inf || !c || c->sz < offsetof(struct compel_call, ret) + sizeof(int64_t) || !c->fn)
		return -EINVAL;
	if (c->args_len > inf->args_size || c->res_len > inf->args_size || c->nr_fds_in)
		return -EINVAL;
	t = compel_proc__find_thread(inf->p, tid);
	if (!t)
		return -ESRCH;
	if (t == inf->t) {
		/* the parasite thread itself: an ordinary call */
		return compel_infect__call(inf, c);
	}
	err = compel_thread_prepare(t);
	if (!err)
		err = compel_thread_load_xstate(t);
	if (err)
		return err;
	if (arch_sigframe_size(t->xs_len) > inf->frame_size)
		return -EOVERFLOW;
	err = arch_sigframe_build(inf->local + inf->tframe_off, inf->addr + inf->tframe_off,
				  &t->resume_sigreturn, t->sigmask, t->xs, t->xs_len, 0, SS_FLAGS_KEEP, 0,
				  &sp);
	if (err)
		return err;
	if (c->args && c->args_len)
		memcpy(inf->local + inf->args_off, c->args, c->args_len);
	b = boot(inf);
	b->th_fn = c->fn;
	b->th_sigframe_sp = sp;
	b->th_ret = -ENOSYS;
	b->th_exit_sp = 0;
	memset(b->th_out, 0, sizeof(b->th_out));
	compel_thread_home(t);
	if (t->home_sp) {
		/* it leaves the mapping through its own way home, whose first
		 * call tells the parasite it is out (see unmap_len) */
		struct arch_undo u = { __NR_clock_gettime, 2, CLOCK_MONOTONIC,
				       inf->addr + inf->boot_off + offsetof(struct rpc_boot, th_out) };

		if (!compel_thread_chain(t, &u, 1)) {
			b->th_exit_ip = compel_proc_ret_gadget(inf->p);
			b->th_exit_sp = t->home_sp;
		}
	}
	regs = t->regs;
	arch_regs_setup_call(&regs, rt_sym(inf, "__compel_thread_entry"),
			     inf->addr + inf->tstack_top, inf->addr + inf->boot_off, 0, 0);
	/* from here, should we die, the parasite must wait for it before
	 * unmapping (a death between these two lines costs the mapping:
	 * the parasite cannot know whether it will come, see unmap_len) */
	b->th_busy = 1;
	err = compel_regs_set_live(t, &regs);
	if (!err)
		err = block_all(t);
	if (!err)
		err = run_to_sigreturn(t, 1u << 20);
	if (err == -ESRCH)
		return err;
	if (err)
		restore_by_hand(t);
	b->th_busy = 0; /* stopped outside the mapping again */
	if (b->th_exit_sp)
		compel_thread_chain(t, NULL, 0);
	if (err)
		return err;
	c->ret = b->th_ret;
	c->nr_fds_out = 0;
	if (c->res && c->res_len)
		memcpy(c->res, inf->local + inf->args_off, c->res_len);
	return 0;
}
