/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vt-cow DIR NCHILD MIB - private memory inherited across fork, for
 * tree-cow.
 *
 * The parent fills MIB MiB of private anonymous memory with a pattern
 * and forks NCHILD children.  Child k rewrites the first MiB of its copy
 * with its own pattern (so those pages are its own, the rest it still
 * shares copy-on-write with the parent and its siblings), then says
 * "ready" (DIR/ready.K by rename).  The parent writes DIR/ready once all
 * are.  Everyone then waits for SIGUSR1 (sent to the parent, which
 * passes it on).
 *
 * On SIGUSR1 each process checks, in the restored tree:
 *  - its contents (the child's first MiB its own, the rest the parent's);
 *  - that the memory is still shared: Shared_Dirty of the region in
 *    /proc/self/smaps covers the pages nobody wrote since the fork
 *    (a restore that gave every process its own copy shows 0 there);
 * then each child checks its parent-death signal (SIGUSR2, set after
 * the fork), writes into every page of the shared part (copy on
 * write must still work), checks its copy, prints "PASS child K" and
 * exits 0; the parent waits for every child (exit 0) and checks that its
 * own contents did not change, then prints "PASS parent".
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1ul << 20)

static char who[32] = "parent";
static const char *dir;
static uint64_t *mem;
static size_t len;

__attribute__((noreturn)) static void die(const char *what)
{
	printf("FAIL %s: %s (errno %d)\n", who, what, errno);
	fflush(stdout);
	exit(1);
}

static uint64_t word(size_t i, unsigned k)
{
	return (i * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)k << 56) ^ 0x5a5a;
}

/* child k (1..) owns the first MiB; 0: the parent's pattern everywhere */
static void check(unsigned k, unsigned written)
{
	size_t own = k ? MIB / 8 : 0;

	for (size_t i = 0; i < len / 8; i++) {
		uint64_t want = i < own ? word(i, k) : word(i, 0);

		if (written && i >= own && i % 512 == 0)
			want = word(i, written);
		if (mem[i] != want) {
			printf("FAIL %s: word %zu is %#llx, not %#llx\n", who, i,
			       (unsigned long long)mem[i], (unsigned long long)want);
			fflush(stdout);
			exit(1);
		}
	}
}

/* Shared_Dirty of our region, in kB, over every mapping inside it (a
 * restore may split it where the shared part begins) */
static long shared_kb(void)
{
	char line[256];
	long kb = 0, v;
	int in = 0;
	unsigned long s, e, lo = (unsigned long)mem, hi = lo + len;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		die("open smaps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s >= lo && e <= hi;
		else if (in && sscanf(line, "Shared_Dirty: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

static void put(const char *name, const char *text)
{
	char p[512], t[520];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(t, sizeof(t), "%s.tmp", p);
	f = fopen(t, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(t, p) < 0)
		die("write a file");
}

static void wait_usr1(void)
{
	sigset_t s;
	int sig;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	while (sigwait(&s, &sig) != 0 || sig != SIGUSR1)
		;
}

int main(int argc, char **argv)
{
	unsigned n, mib;
	pid_t kids[64];
	sigset_t s;
	long need, kb;

	if (argc != 4)
		return 2;
	dir = argv[1];
	n = (unsigned)atoi(argv[2]);
	mib = (unsigned)atoi(argv[3]);
	if (n < 1 || n > 64 || mib < 4)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	len = mib * MIB;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	madvise(mem, len, MADV_NOHUGEPAGE); /* whole 4 KiB pages shared and copied */
	for (size_t i = 0; i < len / 8; i++)
		mem[i] = word(i, 0);
	/* the pages nobody writes after the fork: all but the first MiB */
	need = (long)(mib - 1) * 1024;
	for (unsigned k = 1; k <= n; k++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			char name[32];

			snprintf(who, sizeof(who), "child %u", k);
			/* kept by the restore for a process under its own parent */
			if (prctl(PR_SET_PDEATHSIG, SIGUSR2) < 0)
				die("PR_SET_PDEATHSIG");
			for (size_t i = 0; i < MIB / 8; i++)
				mem[i] = word(i, k);
			snprintf(name, sizeof(name), "ready.%u", k);
			put(name, "1\n");
			wait_usr1();
			{
				int sig = 0;

				if (prctl(PR_GET_PDEATHSIG, &sig) < 0 || sig != SIGUSR2) {
					printf("FAIL %s: parent-death signal %d, not SIGUSR2\n", who, sig);
					exit(1);
				}
			}
			check(k, 0);
			kb = shared_kb();
			if (kb < need) {
				printf("FAIL %s: only %ld kB of the region shared, %ld expected\n", who,
				       kb, need);
				exit(1);
			}
			for (size_t i = MIB / 8; i < len / 8; i += 512)
				mem[i] = word(i, k + 100);
			check(k, k + 100);
			printf("PASS %s: %ld kB shared\n", who, kb);
			exit(0);
		}
		kids[k - 1] = c;
	}
	for (unsigned k = 1; k <= n; k++) {
		char p[512];

		snprintf(p, sizeof(p), "%s/ready.%u", dir, k);
		while (access(p, F_OK) < 0)
			usleep(1000);
	}
	put("ready", "1\n");
	wait_usr1();
	check(0, 0);
	kb = shared_kb();
	if (kb < need) {
		printf("FAIL parent: only %ld kB of the region shared, %ld expected\n", kb, need);
		exit(1);
	}
	for (unsigned k = 0; k < n; k++) {
		int st;

		kill(kids[k], SIGUSR1);
		if (waitpid(kids[k], &st, 0) != kids[k])
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("FAIL parent: child %u ended with status %#x\n", k + 1, st);
			exit(1);
		}
	}
	check(0, 0);
	printf("PASS parent: %ld kB shared\n", kb);
	return 0;
}
