/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-basic OUTFILE - a victim for the restore tests: prepares memory of
 * every common kind, a file at an offset, a signal mask, handlers and a
 * TLS value; writes READY to OUTFILE and waits for SIGTERM; then checks
 * that all of it is as it was and writes PASS (or FAIL: why) to OUTFILE.
 * OUTFILE stays open (O_APPEND) across the checkpoint: it is one of the
 * files the restore must reopen.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEAP_SZ (4u << 20)
#define ANON_SZ (16u << 20)
#define PG 4096u

static volatile sig_atomic_t got_term;
static int out;
static __thread uint64_t tls_value = 0x1122334455667788ull;
static uint64_t data_value = 0xdeadbeefcafef00dull;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
}

static int fails;

static void bad(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "FAIL: %s\n", what);

	(void)!write(out, buf, (size_t)n);
	fails++;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term }, su = { .sa_handler = on_usr2, .sa_flags = SA_RESTART }, cur;
	uint8_t *heap, *anon, *guard, *ro, *fmap;
	sigset_t set;
	pid_t pid;
	int ffd;
	char fbyte;

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0)
		return 2;
	pid = (pid_t)syscall(SYS_getpid);
	heap = malloc(HEAP_SZ);
	for (uint32_t i = 0; i < HEAP_SZ / 4; i++)
		((uint32_t *)heap)[i] = i * 31 + 7;
	anon = mmap(NULL, ANON_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (uint32_t p = 0; p < ANON_SZ / PG; p += 3)
		memset(anon + p * PG, (int)(p & 0xff) | 1, PG);
	guard = mmap(NULL, 1u << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(ro, 0x5a, 16 * PG);
	mprotect(ro, 16 * PG, PROT_READ);
	ffd = open("/etc/passwd", O_RDONLY);
	if (ffd < 0 || lseek(ffd, 7, SEEK_SET) != 7)
		return 2;
	fmap = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ffd, 0);
	fbyte = (char)fmap[1];
	fmap[0] = 'X';
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR2, &su, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	tls_value ^= 0xff;
	data_value++;

	struct timespec t0, t1, rt;
	struct timeval tv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	(void)!write(out, "READY\n", 6);
	while (!got_term)
		pause();

	/* the vDSO (glibc calls it through pointers it took at startup) */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (t1.tv_sec < t0.tv_sec || (t1.tv_sec == t0.tv_sec && t1.tv_nsec < t0.tv_nsec))
		bad("CLOCK_MONOTONIC went back (vDSO)");
	clock_gettime(CLOCK_REALTIME, &rt);
	gettimeofday(&tv, NULL);
	if (rt.tv_sec - (time_t)syscall(SYS_time, NULL) > 2 || tv.tv_sec - rt.tv_sec > 2 ||
	    rt.tv_sec - tv.tv_sec > 2)
		bad("vDSO time functions disagree with the kernel");

	if ((pid_t)syscall(SYS_getpid) != pid)
		bad("pid changed");
	for (uint32_t i = 0; i < HEAP_SZ / 4; i++)
		if (((uint32_t *)heap)[i] != i * 31 + 7) {
			bad("heap pattern");
			break;
		}
	for (uint32_t p = 0; p < ANON_SZ / PG; p++) {
		uint8_t want = p % 3 ? 0 : (uint8_t)((p & 0xff) | 1);

		if (anon[p * PG] != want || anon[p * PG + PG - 1] != want) {
			bad("anonymous mapping pattern");
			break;
		}
	}
	if (ro[0] != 0x5a || ro[16 * PG - 1] != 0x5a)
		bad("read-only mapping contents");
	if (fmap[0] != 'X' || fmap[1] != fbyte)
		bad("private file mapping contents");
	if (lseek(ffd, 0, SEEK_CUR) != 7)
		bad("file offset");
	if (tls_value != (0x1122334455667788ull ^ 0xff))
		bad("TLS value (fs base)");
	if (data_value != 0xdeadbeefcafef00eull)
		bad("data value");
	sigprocmask(SIG_BLOCK, NULL, &set);
	if (!sigismember(&set, SIGUSR1) || sigismember(&set, SIGUSR2))
		bad("signal mask");
	sigaction(SIGUSR2, NULL, &cur);
	if (cur.sa_handler != on_usr2 || !(cur.sa_flags & SA_RESTART))
		bad("SIGUSR2 handler");
	{
		/* the restorer area must be gone, the protections back */
		FILE *m = fopen("/proc/self/maps", "r");
		char line[512];
		int rx_shared = 0, ro_ok = 0, guard_ok = 0;

		while (m && fgets(line, sizeof(line), m)) {
			unsigned long s, e;
			char perms[8];

			if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
				continue;
			if (perms[2] == 'x' && perms[3] == 's')
				rx_shared++;
			if (s <= (unsigned long)ro && e >= (unsigned long)ro + 16 * PG && !strncmp(perms, "r--p", 4))
				ro_ok = 1;
			if (s <= (unsigned long)guard && e >= (unsigned long)guard + (1u << 20) &&
			    !strncmp(perms, "---p", 4))
				guard_ok = 1;
		}
		if (m)
			fclose(m);
		if (rx_shared)
			bad("an executable shared mapping is left (the restorer area?)");
		if (!ro_ok)
			bad("read-only protection lost");
		if (!guard_ok)
			bad("PROT_NONE region lost");
	}
	if (!fails)
		(void)!write(out, "PASS\n", 5);
	return fails ? 1 : 0;
}
