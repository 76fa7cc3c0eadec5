/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Chain-loading: seize, infect and cure, release with COMPEL_RELEASE_KEEP,
 * exec ourselves; the new image adopts the still-stopped threads, runs a
 * remote syscall, checks the registers are the seized ones, and releases.
 * The victim (blocked in read, AVX-512 values, signal state) says PASS.
 */
#include <elf.h>
#include <sys/user.h>

#include "infect.h"

static int second_stage(pid_t pid, const char *regs_hex)
{
	struct compel_seize_opts so = { .sz = sizeof(so), .flags = COMPEL_SEIZE_ADOPT };
	struct compel_proc *p;
	struct user_regs_struct r;
	unsigned long long rip;
	int64_t ret;

	t_ok(compel_proc_seize(pid, &so, &p));
	t_assert(compel_proc__nr_threads(p) == 4);
	t_ok(compel_remote_syscall(compel_proc__leader(p), &ret, SYS_getpid, NULL));
	t_assert(ret == pid);
	t_assert(compel_thread__get_resume_regs(compel_proc__leader(p), &r, sizeof(r)) > 0);
	rip = strtoull(regs_hex, NULL, 16);
	if (r.rip != rip)
		t_fail("adopted rip %llx, first stage saw %llx", (unsigned long long)r.rip, rip);
	t_ok(compel_proc_release(p, 0));
	return 0;
}

int main(int argc, char **argv)
{
	struct victim v;
	struct compel_proc *p;
	struct compel_infect *inf;
	struct user_regs_struct r;
	char pidbuf[16], ripbuf[32];
	int st;
	pid_t kid;

	if (argc == 4 && !strcmp(argv[1], "stage2"))
		return second_stage(atoi(argv[2]), argv[3]);
	victim_start(&v, (const char *[]){ "read", "threads:2", "fpu", "sig", "rseq", NULL });
	usleep(50000);
	/* the chain runs in a child, so that we can wait for it */
	kid = fork();
	if (!kid) {
		if (compel_proc_seize(v.pid, NULL, &p))
			_exit(3);
		if (compel_infect(p, NULL, &inf) || compel_infect__ping(inf) || compel_cure(inf))
			_exit(4);
		compel_thread__get_resume_regs(compel_proc__leader(p), &r, sizeof(r));
		if (compel_proc_release(p, COMPEL_RELEASE_KEEP))
			_exit(5);
		snprintf(pidbuf, sizeof(pidbuf), "%d", v.pid);
		snprintf(ripbuf, sizeof(ripbuf), "%llx", (unsigned long long)r.rip);
		execl("/proc/self/exe", argv[0], "stage2", pidbuf, ripbuf, (char *)NULL);
		_exit(6);
	}
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("the chain failed: status %#x", st);
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	return 0;
}
