/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seize a multi-threaded victim blocked in read, inspect it, run remote
 * syscalls, release: the read completes normally afterwards. */
#include <elf.h>
#include <sys/syscall.h>
#include <sys/user.h>

#include <compel.h>
#include "ctest.h"

int main(void)
{
	struct victim v;
	struct compel_proc *p;
	struct compel_thread *t, *l;
	struct user_regs_struct regs;
	struct compel_rseq rs;
	uint64_t mask;
	int64_t ret;
	int n, xs;

	victim_start(&v, (const char *[]){ "read", "threads:2", NULL });
	usleep(20000);
	t_ok(compel_proc_seize(v.pid, NULL, &p));
	t_assert(compel_proc__nr_threads(p) == 4);
	l = compel_proc__leader(p);
	t_assert(l && compel_thread__tid(l) == v.pid);
	t_assert(compel_thread__state(l) == COMPEL_TASK_SYSCALL);
	t_assert(compel_thread__syscall_nr(l) == SYS_read);
	n = compel_thread__get_regset(l, NT_PRSTATUS, &regs, sizeof(regs));
	t_assert(n == sizeof(regs));
	xs = compel_thread__regset_size(l, NT_X86_XSTATE);
	t_assert(xs >= 576);
	{
		char *b = malloc(xs);
		t_assert(compel_thread__get_regset(l, NT_X86_XSTATE, b, xs) == xs);
		free(b);
	}
	t_ok(compel_thread__rseq(l, &rs));
	t_assert(rs.rseq_abi_pointer != 0 && rs.rseq_abi_size >= 32);
	t_ok(compel_thread__sigmask(l, &mask));
	compel_proc__for_each_thread(p, t)
		if (t != l)
			t_assert(compel_thread__state(t) != COMPEL_TASK_ZOMBIE);
	t_ok(compel_remote_syscall(l, &ret, SYS_getpid, NULL));
	if (ret != v.pid)
		t_fail("remote getpid = %lld, want %d", (long long)ret, v.pid);
	t_ok(compel_remote_syscall(l, &ret, SYS_gettid, NULL));
	t_assert(ret == v.pid);
	{
		uint64_t addr;
		char s[] = "hello compel", back[32] = "";

		t_ok(compel_remote_mmap(l, 0, 4096, 3, 0x22, -1, 0, &addr));
		t_assert(compel_proc__write_mem(p, addr, s, sizeof(s)) == sizeof(s));
		t_assert(compel_proc__read_mem(p, addr, back, sizeof(s)) == sizeof(s));
		t_assert(!strcmp(back, s));
		t_ok(compel_remote_munmap(l, addr, 4096));
	}
	/* the registers read now are still the seized ones */
	{
		struct user_regs_struct r2;
		compel_thread__get_regset(l, NT_PRSTATUS, &r2, sizeof(r2));
		t_assert(!memcmp(&r2, &regs, sizeof(r2)));
	}
	t_ok(compel_proc_release(p, 0));
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	printf("ok\n");
	return 0;
}
