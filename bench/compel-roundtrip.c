/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compel-roundtrip: remote syscall round trip (µs), infect + cure (ms),
 * RPC round trip (µs), each against a bare ptrace stop/continue round
 * trip (PTRACE_INTERRUPT, waitpid, PTRACE_CONT) measured in the same run.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <elf.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <compel.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static pid_t spawn(void)
{
	pid_t pid = fork();

	if (!pid) {
		for (;;)
			pause();
	}
	usleep(20000);
	return pid;
}

static double bare_roundtrip(int n)
{
	pid_t pid = spawn();
	double t0, best = 1e30;
	int st;

	ptrace(PTRACE_SEIZE, pid, 0, 0);
	for (int round = 0; round < 3; round++) {
		t0 = now_us();
		for (int i = 0; i < n; i++) {
			ptrace(PTRACE_INTERRUPT, pid, 0, 0);
			waitpid(pid, &st, __WALL);
			ptrace(PTRACE_CONT, pid, 0, 0);
		}
		double us = (now_us() - t0) / n;
		if (us < best)
			best = us;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, __WALL);
	return best;
}

/* The floor of any remote syscall without code in the task: two syscall
 * stops (PTRACE_SYSCALL) around getppid at the task's own syscall
 * instruction, registers set and restored. */
static double bare_syscall(int n)
{
	pid_t pid = spawn();
	struct user_regs_struct o, r;
	struct iovec iov = { &o, sizeof(o) };
	double t0, best = 1e30;
	int st;

	ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD);
	ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	waitpid(pid, &st, __WALL);
	ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov);
	for (int round = 0; round < 3; round++) {
		t0 = now_us();
		for (int i = 0; i < n; i++) {
			r = o;
			r.rip = o.rip - 2; /* pause() sits right after its syscall */
			r.rax = SYS_getppid;
			r.orig_rax = (unsigned long long)-1;
			iov.iov_base = &r;
			ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov);
			ptrace(PTRACE_SYSCALL, pid, 0, 0);
			waitpid(pid, &st, __WALL);
			ptrace(PTRACE_SYSCALL, pid, 0, 0);
			waitpid(pid, &st, __WALL);
			ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov);
			iov.iov_base = &o;
			ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov);
		}
		double us = (now_us() - t0) / n;
		if (us < best)
			best = us;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, __WALL);
	return best;
}

int main(void)
{
	struct compel_proc *p;
	struct compel_infect *inf;
	double base, sbase, t0, sys_us = 1e30, rpc_us = 1e30, inf_ms = 1e30;
	double bsys_us = 1e30, pbat_us = 1e30; /* per call, in batches of 64 */
	struct compel_syscall batch[64];
	pid_t pid;
	int64_t r;
	int n = 2000, i, round, st;

	base = bare_roundtrip(n);
	sbase = bare_syscall(n);
	pid = spawn();
	if (compel_proc_seize(pid, NULL, &p)) {
		printf("cannot seize (ptrace not allowed here?)\n");
		kill(pid, SIGKILL);
		return 0;
	}
	for (round = 0; round < 3; round++) {
		t0 = now_us();
		for (i = 0; i < n; i++)
			compel_remote_syscall(compel_proc__leader(p), &r, SYS_getppid, NULL);
		if ((now_us() - t0) / n < sys_us)
			sys_us = (now_us() - t0) / n;
	}
	memset(batch, 0, sizeof(batch));
	for (i = 0; i < 64; i++)
		batch[i].nr = SYS_getppid;
	for (round = 0; round < 3; round++) {
		t0 = now_us();
		for (i = 0; i < n / 64; i++)
			compel_remote_syscalls(compel_proc__leader(p), batch, 64);
		if ((now_us() - t0) / (n / 64 * 64) < bsys_us)
			bsys_us = (now_us() - t0) / (n / 64 * 64);
	}
	for (round = 0; round < 3; round++) {
		t0 = now_us();
		for (i = 0; i < 50; i++) {
			if (compel_infect(p, NULL, &inf) || compel_cure(inf)) {
				printf("infect/cure failed\n");
				break;
			}
		}
		if ((now_us() - t0) / 50 / 1000 < inf_ms)
			inf_ms = (now_us() - t0) / 50 / 1000;
	}
	if (!compel_infect(p, NULL, &inf)) {
		for (round = 0; round < 3; round++) {
			t0 = now_us();
			for (i = 0; i < 20000; i++)
				compel_infect__ping(inf);
			if ((now_us() - t0) / 20000 < rpc_us)
				rpc_us = (now_us() - t0) / 20000;
		}
		for (round = 0; round < 3; round++) {
			t0 = now_us();
			for (i = 0; i < 2000; i++)
				compel_infect__syscalls(inf, batch, 64);
			if ((now_us() - t0) / (2000 * 64) < pbat_us)
				pbat_us = (now_us() - t0) / (2000 * 64);
		}
		compel_cure(inf);
	}
	compel_proc_release(p, COMPEL_RELEASE_KILL);
	waitpid(pid, &st, 0);

	printf("bare ptrace stop/continue round trip: %8.2f us (baseline)\n", base);
	printf("bare syscall-stop pair (raw ptrace):  %8.2f us  (%.2fx baseline)\n", sbase, sbase / base);
	printf("remote syscall round trip:            %8.2f us  (%.2fx baseline, %.2fx the raw pair)\n",
	       sys_us, sys_us / base, sys_us / sbase);
	printf("infect + cure:                        %8.3f ms  (%.1fx baseline)\n", inf_ms,
	       inf_ms * 1000 / base);
	printf("RPC round trip (parasite ping):       %8.2f us  (%.2fx baseline)\n", rpc_us, rpc_us / base);
	printf("remote syscall in batches of 64:      %8.2f us per call (%.2fx one by one)\n", bsys_us,
	       bsys_us / sys_us);
	printf("parasite syscalls in batches of 64:   %8.3f us per call (one RPC per batch: %.1f us)\n",
	       pbat_us, pbat_us * 64);
	printf("40 calls: one by one %.2f ms, batched %.2f ms, infect + 1 batch + cure %.2f ms\n",
	       40 * sys_us / 1000, 40 * bsys_us / 1000, inf_ms + 40 * pbat_us / 1000);
	return 0;
}
