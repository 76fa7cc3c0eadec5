/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A parasite blob for the tests, built by compel-blob like any user's. */
#include <sys/syscall.h>

#include <compel-parasite.h>

struct add_args {
	long a, b;
	char msg[32];
};

/* a table of pointers: R_X86_64_RELATIVE relocations */
static const char *const msgs[] = { "sum done", "odd sum" };

COMPEL_PARASITE_ENTRY long tc_add(struct compel_pctx *ctx)
{
	struct add_args *a = ctx->args;
	int i;

	const char *m = msgs[(a->a + a->b) & 1];

	for (i = 0; m[i]; i++)
		a->msg[i] = m[i];
	a->msg[i] = 0;
	return a->a + a->b;
}

COMPEL_PARASITE_ENTRY long tc_getpid(struct compel_pctx *ctx)
{
	(void)ctx;
	return compel_sys0(__NR_getpid);
}

COMPEL_PARASITE_ENTRY long tc_gettid(struct compel_pctx *ctx)
{
	(void)ctx;
	return compel_sys0(__NR_gettid);
}

/* Writes "hello\n" to the fd we were given and hands it back. */
COMPEL_PARASITE_ENTRY long tc_echo_fd(struct compel_pctx *ctx)
{
	long r;

	if (ctx->nr_in_fds != 1)
		return -22;
	r = compel_sys3(__NR_write, ctx->in_fds[0], "hello\n", 6);
	ctx->out_fds[ctx->nr_out_fds++] = ctx->in_fds[0];
	return r;
}

COMPEL_PARASITE_ENTRY long tc_exit(struct compel_pctx *ctx)
{
	(void)ctx;
	return compel_sys1(__NR_exit_group, 7);
}

/* Sleeps *(long *)args milliseconds. */
COMPEL_PARASITE_ENTRY long tc_sleep(struct compel_pctx *ctx)
{
	long ms = *(long *)ctx->args;
	long ts[2] = { ms / 1000, (ms % 1000) * 1000000 };

	return compel_sys2(__NR_nanosleep, ts, 0);
}

/* Wipes the vector and mask registers: the cure must bring them back. */
COMPEL_PARASITE_ENTRY long tc_clobber(struct compel_pctx *ctx)
{
	long avx512 = *(long *)ctx->args;

	if (avx512)
		__asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n vpxord %%zmm7, %%zmm7, %%zmm7\n"
				 "vpxord %%zmm16, %%zmm16, %%zmm16\n vpxord %%zmm31, %%zmm31, %%zmm31\n"
				 "kxorq %%k1, %%k1, %%k1\n kxorq %%k7, %%k7, %%k7\n" ::: "memory");
	else
		__asm__ volatile("pxor %%xmm0, %%xmm0\n pxor %%xmm7, %%xmm7\n pxor %%xmm15, %%xmm15\n"
				 ::: "memory");
	return 0;
}

/* Sleeps *(long *)args milliseconds with poll, which (unlike nanosleep)
 * leaves the thread's restart block alone. */
COMPEL_PARASITE_ENTRY long tc_poll_sleep(struct compel_pctx *ctx)
{
	return compel_sys3(__NR_poll, 0, 0, *(long *)ctx->args);
}

/* The bytes of arguments it was given (cr-parasite run BLOB ENTRY ARG...
 * puts them in the shared area: "abc" gives 4). */
COMPEL_PARASITE_ENTRY long tc_arglen(struct compel_pctx *ctx)
{
	return (long)ctx->args_len;
}

/* Spins *(long *)args loops without a system call (stays in the parasite
 * mapping a while, touching no restart block even if interrupted). */
COMPEL_PARASITE_ENTRY long tc_spin(struct compel_pctx *ctx)
{
	volatile long n = *(long *)ctx->args;

	while (n > 0)
		n--;
	return 0;
}
