/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parasite runtime: freestanding, runs inside the seized task.  It
 * says hello, serves commands from the channel and, when the channel
 * closes (the controller cured us or died), returns the task to its
 * original state by itself with rt_sigreturn on the frame the controller
 * prepared: registers, signal mask, FPU state and sigaltstack.
 */
#include <stddef.h>
#include <sys/syscall.h>

#include "rpc.h"

/* minimal kernel ABI bits (no libc headers in a freestanding blob) */
struct k_iovec {
	void *base;
	uint64_t len;
};
struct k_msghdr {
	void *name;
	uint32_t namelen;
	struct k_iovec *iov;
	uint64_t iovlen;
	void *control;
	uint64_t controllen;
	uint32_t flags;
};
struct k_cmsghdr {
	uint64_t len;
	int32_t level;
	int32_t type;
};
#define K_SOL_SOCKET 1
#define K_SCM_RIGHTS 1
#define K_MSG_CMSG_CLOEXEC 0x40000000
#define K_O_CLOEXEC 02000000
#define CMSG_SPACE_FDS (sizeof(struct k_cmsghdr) + COMPEL_MAX_FDS * 4)

void compel_arch_sigreturn(uint64_t sp) __attribute__((noreturn));
void compel_arch_exit_chain(uint64_t ip, uint64_t sp, uint64_t addr, uint64_t len)
	__attribute__((noreturn));
void compel_runtime_main(struct rpc_boot *b) __attribute__((noreturn));
void compel_runtime_thread(struct rpc_boot *b) __attribute__((noreturn));

static void zero(void *p, uint64_t n)
{
	volatile uint8_t *c = p;

	while (n--)
		*c++ = 0;
}

static long send_msg(int sock, struct rpc_msg *m, const int32_t *fds, uint32_t nfds)
{
	uint64_t cbuf[(CMSG_SPACE_FDS + 7) / 8];
	struct k_iovec iov = { m, sizeof(*m) };
	struct k_msghdr h;
	struct k_cmsghdr *c = (struct k_cmsghdr *)cbuf;
	uint32_t i;

	zero(&h, sizeof(h));
	h.iov = &iov;
	h.iovlen = 1;
	if (nfds) {
		c->len = sizeof(*c) + nfds * 4;
		c->level = K_SOL_SOCKET;
		c->type = K_SCM_RIGHTS;
		for (i = 0; i < nfds; i++)
			((int32_t *)(c + 1))[i] = fds[i];
		h.control = cbuf;
		h.controllen = (sizeof(*c) + nfds * 4 + 7) & ~7ull;
	}
	return compel_sys3(__NR_sendmsg, sock, &h, 0x4000 /* MSG_NOSIGNAL */);
}

static long recv_msg(int sock, struct rpc_msg *m, int32_t *fds, uint32_t *nfds)
{
	uint64_t cbuf[(CMSG_SPACE_FDS + 7) / 8];
	struct k_iovec iov = { m, sizeof(*m) };
	struct k_msghdr h;
	struct k_cmsghdr *c = (struct k_cmsghdr *)cbuf;
	long n;
	uint32_t i;

	zero(&h, sizeof(h));
	zero(cbuf, sizeof(cbuf));
	h.iov = &iov;
	h.iovlen = 1;
	h.control = cbuf;
	h.controllen = sizeof(cbuf);
	n = compel_sys3(__NR_recvmsg, sock, &h, K_MSG_CMSG_CLOEXEC);
	*nfds = 0;
	if (n > 0 && h.controllen >= sizeof(*c) && c->level == K_SOL_SOCKET &&
	    c->type == K_SCM_RIGHTS) {
		uint32_t k = (uint32_t)((c->len - sizeof(*c)) / 4);

		for (i = 0; i < k && i < COMPEL_MAX_FDS; i++)
			fds[i] = ((int32_t *)(c + 1))[i];
		*nfds = i;
	}
	return n;
}

static long run(struct rpc_boot *b, struct rpc_msg *m)
{
	struct compel_pctx *ctx = &b->ctx;
	int32_t *a = (int32_t *)(uintptr_t)b->args;
	uint32_t i;
	long r;

	switch (m->cmd) {
	case RPC_PING:
		return 0;
	case RPC_CALL:
		ctx->args_len = m->len;
		return ((compel_parasite_fn)(uintptr_t)m->fn)(ctx);
	case RPC_CALL_FUNC:
		return ((long (*)(long, long, long, long, long, long))(uintptr_t)m->fn)(
			(long)m->a[0], (long)m->a[1], (long)m->a[2], (long)m->a[3],
			(long)m->a[4], (long)m->a[5]);
	case RPC_GET_FDS:
		for (i = 0; i < m->len && i < COMPEL_MAX_FDS; i++)
			ctx->out_fds[i] = a[i];
		ctx->nr_out_fds = i;
		return i;
	case RPC_SYSCALLS: {
		struct rpc_syscall *c = (struct rpc_syscall *)(uintptr_t)b->batch;

		for (i = 0; i < m->len; i++)
			c[i].ret = compel_sys6(c[i].nr, (long)c[i].a[0], (long)c[i].a[1], (long)c[i].a[2],
					       (long)c[i].a[3], (long)c[i].a[4], (long)c[i].a[5]);
		return i;
	}
	case RPC_PUT_FDS:
		for (i = 0; i < ctx->nr_in_fds && i < m->len; i++) {
			if (ctx->in_fds[i] != a[i]) {
				r = compel_sys3(__NR_dup3, ctx->in_fds[i], a[i], 0);
				if (r < 0)
					return r;
			} else {
				/* already there: keep it, drop close-on-exec */
				compel_sys3(__NR_fcntl, a[i], 2 /* F_SETFD */, 0);
				ctx->in_fds[i] = -1;
			}
		}
		return i;
	}
	return -38; /* ENOSYS */
}

/*
 * rt_sigreturn resets the kernel's restart block, so a thread interrupted
 * in nanosleep, a timed futex wait, poll... would either start its sleep
 * again or get EINTR.  Finish it here instead, under the thread's own
 * mask (a signal with a handler interrupts it as it would have), and
 * make the frame return its result after the original syscall
 * instruction.
 */
static void finish_sleep(struct rpc_boot *b)
{
	uint64_t all = ~0ull;
	long r;

	compel_sys4(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&b->orig_mask, 0, 8);
	r = compel_sys0(__NR_restart_syscall);
	compel_sys4(__NR_rt_sigprocmask, 2, (long)&all, 0, 8);
	if (r == -4 /* EINTR */)
		return; /* reset meanwhile (a command called nanosleep...), or a
			 * handler ran: the frame re-executes the call instead */
	*(volatile int64_t *)(uintptr_t)b->fix_rax = r;
	*(volatile uint64_t *)(uintptr_t)b->fix_rip = b->fix_rip_val;
}

/*
 * Another thread may still run in the mapping (the controller died during
 * compel_infect__call_in_thread).  It leaves through a chain of the
 * task's own code whose first call, clock_gettime, writes th_out: once
 * the kernel did that, it is out and we may unmap.  Wait for it a while
 * (its call must end first); else leave the mapping: munmap(addr, 0)
 * fails and the chain goes on.
 */
static uint64_t unmap_len(struct rpc_boot *b)
{
	unsigned i;

	if (!*(volatile uint32_t *)&b->th_busy)
		return b->map_len;
	if (!b->th_exit_sp)
		return 0;
	for (i = 0; i < 10000; i++) {
		if (*(volatile int64_t *)&b->th_out[0] || *(volatile int64_t *)&b->th_out[1])
			return b->map_len;
		if (!*(volatile uint32_t *)&b->th_busy)
			return b->map_len; /* the controller saw it home */
		compel_sys3(__NR_poll, 0, 0, 1);
	}
	return 0;
}

void compel_runtime_main(struct rpc_boot *b)
{
	struct compel_pctx *ctx = &b->ctx;
	struct rpc_msg m;
	uint32_t i;
	long n;

	zero(&m, sizeof(m));
	m.cmd = RPC_HELLO;
	m.ret = compel_sys0(__NR_gettid);
	if (send_msg(b->sock, &m, NULL, 0) < 0)
		goto out;
	for (;;) {
		n = recv_msg(b->sock, &m, ctx->in_fds, &ctx->nr_in_fds);
		if (n == -4 /* EINTR */)
			continue;
		if (n != sizeof(m))
			break; /* EOF: cured, or the controller is gone */
		ctx->nr_out_fds = 0;
		m.ret = run(b, &m);
		n = send_msg(b->sock, &m, ctx->out_fds, ctx->nr_out_fds);
		/* after the reply: an entry may hand a passed fd back */
		for (i = 0; i < ctx->nr_in_fds; i++)
			if (ctx->in_fds[i] >= 0)
				compel_sys1(__NR_close, ctx->in_fds[i]);
		ctx->nr_in_fds = 0;
		if (n < 0)
			break;
	}
out:
	/* The channel is closed: cured, or the controller is gone.  Leave no
	 * fd of ours behind (the channel, fds passed for a call), finish an
	 * interrupted sleep if the controller cannot, and go home with only
	 * the task's own code and stack, unmapping ourselves. */
	for (i = 0; i < ctx->nr_in_fds && i < COMPEL_MAX_FDS; i++)
		if (ctx->in_fds[i] >= 0)
			compel_sys1(__NR_close, ctx->in_fds[i]);
	ctx->nr_in_fds = 0;
	compel_sys1(__NR_close, b->sock);
	if (*(volatile uint32_t *)&b->cured) {
		/* the controller takes over at the first syscall of the way
		 * home; should it die first, the chain finishes the sleep */
		if (b->exit_ip)
			compel_arch_exit_chain(b->exit_ip, b->exit_sp_full, b->map_addr, b->map_len);
	} else if (b->restart) {
		finish_sleep(b);
	}
	if (b->exit_ip)
		compel_arch_exit_chain(b->exit_ip, b->exit_sp, b->map_addr, unmap_len(b));
	compel_arch_sigreturn(b->sigframe_sp);
}

/* A call in another thread: no channel, result in the boot block. */
void compel_runtime_thread(struct rpc_boot *b)
{
	struct compel_pctx ctx;

	zero(&ctx, sizeof(ctx));
	ctx.size = sizeof(ctx);
	ctx.version = 1;
	ctx.args = (void *)(uintptr_t)b->args;
	ctx.args_size = b->args_size;
	ctx.sock = -1;
	b->th_ret = ((compel_parasite_fn)(uintptr_t)b->th_fn)(&ctx);
	if (b->th_exit_sp) /* out of the mapping at once (see unmap_len) */
		compel_arch_exit_chain(b->th_exit_ip, b->th_exit_sp, 0, 0);
	compel_arch_sigreturn(b->th_sigframe_sp);
}
