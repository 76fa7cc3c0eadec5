/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zc.c - the dump's parasite blob (freestanding, built with compel-blob):
 * runs inside the frozen process and vmsplices its own pages into the
 * pipe the dumper passed, range after range, while the dumper splices
 * them on into the stream.  The pipe then references the process's pages
 * instead of copies: the dumper only does this when the process is killed
 * at the end of the dump and so never writes them again.
 */
#include <stdint.h>
#include <sys/syscall.h>

#include <compel-parasite.h>

#include "zc.h"

#define EPIPE_ 32
#define EINTR_ 4
#define EAGAIN_ 11
#define SIGPIPE_ 13

struct ksigset {
	uint64_t sig;
};

struct kts {
	long sec, nsec;
};

COMPEL_PARASITE_ENTRY long crd_vmsplice(struct compel_pctx *ctx)
{
	struct crd_zc_args *a = ctx->args;
	long total = 0;

	if (ctx->nr_in_fds != 1 || a->nr > CRD_ZC_MAX)
		return -22;
	for (uint64_t i = 0; i < a->nr; i++) {
		uint64_t addr = a->r[i].addr, left = a->r[i].len;

		while (left) {
			struct { uint64_t base, len; } iov = { addr, left };
			long n = compel_sys4(__NR_vmsplice, ctx->in_fds[0], (long)&iov, 1, 0);

			if (n == -EINTR_ || n == -EAGAIN_)
				continue;
			if (n <= 0) {
				if (n == -EPIPE_) {
					/* the dumper is gone: take back the SIGPIPE
					 * we just earned, the process must not get it */
					struct ksigset set = { 1ull << (SIGPIPE_ - 1) };
					struct kts zero = { 0, 0 };

					compel_sys4(__NR_rt_sigtimedwait, (long)&set, 0, (long)&zero, 8);
				}
				return n < 0 ? n : -5;
			}
			addr += (uint64_t)n;
			left -= (uint64_t)n;
			total += n;
		}
	}
	return total;
}
