/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crcore-dump: how fast cr-dump gets a process's memory into a pipe.
 *
 *   raw      vmsplice of 1 GiB of written memory into a pipe, spliced to
 *            /dev/null by a consumer: the baseline, measured in this run
 *   dump     cr-dump of a process holding 1 GiB of written anonymous
 *            memory into the same kind of pipe and consumer, in the default
 *            (kill) mode and with --leave-running (pages copied)
 *   frozen   how long the process did not run (it stamps the time every
 *            100 us into shared memory; kill mode: from its last stamp to
 *            the end of cr-dump)
 *   tiny     wall time of cr-dump of a small process (sleep), averaged
 *   rss      peak RSS of the dump tools for the 1 GiB and the tiny process
 * Figures only; never fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIB (1ull << 30)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void close_fds(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

/* A consumer that discards the pipe: splice to /dev/null. */
static pid_t consumer(int rfd, int wfd)
{
	pid_t p = fork();

	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		close(wfd);
		while (splice(rfd, NULL, null, NULL, 1 << 20, SPLICE_F_MOVE) > 0)
			;
		_exit(0);
	}
	return p;
}

static double raw_copy(void)
{
	char *m = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int p[2];
	pid_t c;
	double t;

	memset(m, 0x5a, GIB);
	if (pipe(p) < 0)
		return 0;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	c = consumer(p[0], p[1]);
	close(p[0]);
	t = now();
	for (uint64_t off = 0; off < GIB;) {
		struct iovec v = { m + off, GIB - off };
		ssize_t n = vmsplice(p[1], &v, 1, 0);

		if (n <= 0)
			break;
		off += n;
	}
	close(p[1]);
	waitpid(c, NULL, 0);
	t = now() - t;
	munmap(m, GIB);
	return GIB / t / 1e9;
}

struct stamp {
	volatile double last;
	volatile double maxgap;
	volatile int ready;
};

/* The victim: 1 GiB written, then stamps the time every 100 us. */
static pid_t victim(uint64_t bytes, struct stamp *s)
{
	pid_t p = fork();

	if (p == 0) {
		int n = open("/dev/null", O_RDWR);
		char *m;

		dup2(n, 0), dup2(n, 1), dup2(n, 2);
		close_fds();
		m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (uint64_t i = 0; i < bytes; i += 4096)
			memset(m + i, (int)(i >> 12), 4096);
		s->last = now();
		s->ready = 1;
		for (;;) {
			struct timespec ts = { 0, 100000 };
			double t;

			nanosleep(&ts, NULL);
			t = now();
			if (t - s->last > s->maxgap)
				s->maxgap = t - s->last;
			s->last = t;
		}
	}
	while (!s->ready)
		usleep(1000);
	usleep(20000);
	s->maxgap = 0;
	return p;
}

/* Runs cr-dump [opt] pid into a pipe with a discarding consumer; returns
 * the wall time, *rss the tools' peak RSS in KiB. */
static double t_end;

static double dump(pid_t v, const char *opt, long *rss)
{
	char pid[16];
	int p[2];
	pid_t c, d;
	double t;
	int st;
	struct rusage ru;

	snprintf(pid, sizeof(pid), "%d", (int)v);
	if (pipe(p) < 0)
		return 0;
	c = consumer(p[0], p[1]);
	t = now();
	d = fork();
	if (d == 0) {
		dup2(p[1], 1);
		close_fds();
		if (opt)
			execlp("cr-dump", "cr-dump", opt, pid, (char *)NULL);
		else
			execlp("cr-dump", "cr-dump", pid, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	wait4(d, &st, 0, &ru);
	t_end = now();
	t = t_end - t;
	waitpid(c, NULL, 0);
	*rss = ru.ru_maxrss;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "crcore-dump: cr-dump %s failed (status %#x)\n", opt ? opt : "", st);
	return t;
}

int main(void)
{
	struct stamp *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double raw, t, tiny = 0, tiny_lr = 0;
	long rss_big, rss_lr, rss_tiny = 0, r;
	pid_t v;
	const int N = 10;

	/* The machine is shared: best of 3 for every figure. */
	raw = 0;
	for (int i = 0; i < 3; i++) {
		double x = raw_copy();

		raw = x > raw ? x : raw;
	}
	printf("raw vmsplice+splice of 1 GiB:        %6.2f GB/s (best of 3)\n", raw);

	/* kill mode: zero-copy */
	{
		double best = 1e9, fr = 0;

		for (int i = 0; i < 3; i++) {
			memset(s, 0, sizeof(*s));
			v = victim(GIB, s);
			t = dump(v, NULL, &rss_big);
			if (t < best) {
				best = t;
				fr = t_end - s->last;
			}
			kill(v, SIGKILL); /* dead already, unless the dump failed */
			waitpid(v, NULL, 0);
		}
		printf("cr-dump 1 GiB (kill, zero-copy):     %6.2f GB/s  %.0f ms  ratio %.2f of raw  frozen %.0f ms\n",
		       GIB / best / 1e9, best * 1e3, GIB / best / 1e9 / raw, fr * 1e3);
	}
	/* leave-running: copied */
	{
		double best = 1e9, fr = 0;

		for (int i = 0; i < 3; i++) {
			memset(s, 0, sizeof(*s));
			v = victim(GIB, s);
			t = dump(v, "--leave-running", &rss_lr);
			usleep(20000);
			if (t < best) {
				best = t;
				fr = s->maxgap;
			}
			kill(v, SIGKILL);
			waitpid(v, NULL, 0);
		}
		printf("cr-dump 1 GiB (--leave-running):     %6.2f GB/s  %.0f ms  ratio %.2f of raw  frozen %.0f ms\n",
		       GIB / best / 1e9, best * 1e3, GIB / best / 1e9 / raw, fr * 1e3);
	}

	for (int i = 0; i < N; i++) {
		pid_t p = fork();

		if (p == 0) {
			int n = open("/dev/null", O_RDWR);

			dup2(n, 0), dup2(n, 1), dup2(n, 2);
			close_fds();
			execlp("sleep", "sleep", "100", (char *)NULL);
			_exit(127);
		}
		usleep(20000);
		tiny_lr += dump(p, "--leave-running", &r);
		tiny += dump(p, NULL, &r);
		if (r > rss_tiny)
			rss_tiny = r;
		kill(p, SIGKILL); /* dead already, unless the dump failed */
		waitpid(p, NULL, 0);
	}
	printf("cr-dump of a tiny process (sleep):   %6.2f ms (kill), %.2f ms (--leave-running), mean of %d\n",
	       tiny / N * 1e3, tiny_lr / N * 1e3, N);
	printf("peak RSS of the dump tools:          %ld KiB (1 GiB, kill), %ld KiB (1 GiB, --leave-running), %ld KiB (tiny)\n",
	       rss_big, rss_lr, rss_tiny);
	return 0;
}
