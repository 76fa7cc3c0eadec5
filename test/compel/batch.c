/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batches of system calls: compel_remote_syscalls (ptrace, no parasite)
 * and compel_infect__syscalls (in the parasite, one round trip) give the
 * same answers as the victim itself would (pid, tid, its SIGUSR1 handler
 * and mask), memory results land where they should, limits are checked,
 * and the victim (blocked in read, vector registers and signal state
 * set) passes its own checks afterwards.
 */
#include <sys/mman.h>

#include "infect.h"

struct k_sigaction {
	uint64_t handler, flags, restorer, mask;
};

int main(void)
{
	struct victim v;
	struct compel_proc *p;
	struct compel_thread *t;
	struct compel_infect *inf;
	struct compel_syscall c[5], big[COMPEL_MAX_BATCH + 1];
	struct k_sigaction sa1, sa2;
	uint64_t scratch, ra;
	size_t asz;
	char *args;

	victim_start(&v, (const char *[]){ "read", "fpu", "sig", "rseq", NULL });
	t_ok(compel_proc_seize(v.pid, NULL, &p));
	t = compel_proc__leader(p);
	t_ok(compel_remote_mmap(t, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				0, &scratch));

	memset(c, 0, sizeof(c));
	c[0].nr = __NR_getpid;
	c[1].nr = __NR_gettid;
	c[2].nr = __NR_rt_sigaction;
	c[2].args[0] = SIGUSR1;
	c[2].args[2] = scratch;
	c[2].args[3] = 8;
	c[3].nr = __NR_close;
	c[3].args[0] = 12345; /* not open: a failing call is just its result */
	c[4].nr = __NR_getppid;
	t_ok(compel_remote_syscalls(t, c, 5));
	if (c[0].ret != v.pid || c[1].ret != v.pid || c[2].ret != 0 || c[3].ret != -EBADF ||
	    c[4].ret != getpid())
		t_fail("remote batch: %lld %lld %lld %lld %lld", (long long)c[0].ret,
		       (long long)c[1].ret, (long long)c[2].ret, (long long)c[3].ret,
		       (long long)c[4].ret);
	t_assert(compel_proc__read_mem(p, scratch, &sa1, sizeof(sa1)) == sizeof(sa1));
	t_assert(sa1.handler > 1); /* the victim's on_usr */
	t_assert(compel_remote_syscalls(t, big, COMPEL_MAX_BATCH + 1) == -EINVAL);
	t_ok(compel_remote_syscalls(t, c, 0));
	t_ok(compel_remote_munmap(t, scratch, 4096));

	t_ok(compel_infect(p, NULL, &inf));
	args = compel_infect__args(inf, &asz);
	ra = compel_infect__args_remote(inf);
	memset(args, 0, sizeof(sa2));
	c[2].args[2] = ra;
	for (int i = 0; i < 5; i++)
		c[i].ret = -1;
	t_ok(compel_infect__syscalls(inf, c, 5));
	if (c[0].ret != v.pid || c[1].ret != v.pid || c[2].ret != 0 || c[3].ret != -EBADF ||
	    c[4].ret != getpid())
		t_fail("parasite batch: %lld %lld %lld %lld %lld", (long long)c[0].ret,
		       (long long)c[1].ret, (long long)c[2].ret, (long long)c[3].ret,
		       (long long)c[4].ret);
	memcpy(&sa2, args, sizeof(sa2));
	if (memcmp(&sa1, &sa2, sizeof(sa1)))
		t_fail("the parasite saw another SIGUSR1 action (%#llx vs %#llx)",
		       (unsigned long long)sa2.handler, (unsigned long long)sa1.handler);
	memset(big, 0, sizeof(big));
	for (int i = 0; i < COMPEL_MAX_BATCH; i++)
		big[i].nr = __NR_getpid;
	t_ok(compel_infect__syscalls(inf, big, COMPEL_MAX_BATCH));
	t_assert(big[COMPEL_MAX_BATCH - 1].ret == v.pid);
	t_assert(compel_infect__syscalls(inf, big, COMPEL_MAX_BATCH + 1) == -EINVAL);
	t_ok(compel_cure(inf));
	t_ok(compel_proc_release(p, 0));
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	return T_PASS;
}
