/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compel-parasite.h - for parasite code: freestanding C that libcompel
 * runs inside a seized process.  No libc: system calls go through the
 * inline compel_sys*() below.  Build the object with the flags that
 * `compel-blob --cflags` prints and turn it into a blob with compel-blob(1);
 * load it with compel_infect() (compel_infect_opts.blobs) and call its
 * entries with compel_infect__call().
 *
 * An entry point is a global function of this type:
 *
 *   COMPEL_PARASITE_ENTRY long my_cmd(struct compel_pctx *ctx)
 *   {
 *           struct my_args *a = ctx->args;   // shared with the controller
 *           ...
 *           ctx->out_fds[ctx->nr_out_fds++] = fd;  // sent back to the caller
 *           return 0;                         // compel_call.ret
 *   }
 *
 * It runs in the infected thread, on the parasite's stack, with every
 * signal blocked.  ctx->in_fds are the descriptors the caller passed
 * (installed in the task); the runtime closes those still >= 0 after the
 * call, so set an entry to -1 to keep it.  Up to COMPEL_MAX_FDS each way.
 * Keep entries simple: no libc, no TLS, no floating point unless your
 * object is compiled for it.  Define memcpy/memset yourself if the
 * compiler emits calls to them.
 */
#ifndef COMPEL_PARASITE_H
#define COMPEL_PARASITE_H

#include <stdint.h>

#define COMPEL_MAX_FDS 16
#define COMPEL_PARASITE_ENTRY __attribute__((used, visibility("default")))

struct compel_pctx {
	uint32_t size;        /* sizeof(struct compel_pctx) */
	uint32_t version;     /* 1 */
	void *args;           /* the shared argument area */
	uint64_t args_size;   /* its size */
	uint64_t args_len;    /* bytes the caller put there */
	int32_t in_fds[COMPEL_MAX_FDS];
	uint32_t nr_in_fds;
	int32_t out_fds[COMPEL_MAX_FDS];
	uint32_t nr_out_fds;
	int32_t sock;         /* the command channel (do not close) */
	int32_t pad;
};

typedef long (*compel_parasite_fn)(struct compel_pctx *ctx);

#if defined(__x86_64__)
static inline long compel_sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
#error "compel-parasite.h: architecture not supported yet"
#endif

#define compel_sys0(nr) compel_sys6(nr, 0, 0, 0, 0, 0, 0)
#define compel_sys1(nr, a) compel_sys6(nr, (long)(a), 0, 0, 0, 0, 0)
#define compel_sys2(nr, a, b) compel_sys6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define compel_sys3(nr, a, b, c) compel_sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define compel_sys4(nr, a, b, c, d) \
	compel_sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define compel_sys5(nr, a, b, c, d, e) \
	compel_sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#endif
