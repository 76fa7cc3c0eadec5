/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crcore-tree: a tree of 100 processes sharing 256 MiB that the root
 * wrote before it forked 99 children; twice: MAP_SHARED anonymous
 * memory, then private memory the children inherit copy-on-write.
 *
 *   dump     cr-dump into a file in /dev/shm, --leave-running then the
 *            default (kill): wall time and image size; the shared memory
 *            must be stored once (image size close to 256 MiB, not 100x)
 *   restore  cr-assemble of the kill-mode image from /dev/shm: wall time,
 *            and the memory of the restored tree (the sum of its
 *            processes' Pss: close to 256 MiB when it is shared again,
 *            100x that if every process had its own copy)
 * Figures only; never fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NPROCS 100
#define SHARED (256ull << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The tree's root: writes the shared memory, forks the others, says
 * ready on fd w. */
#define ERRFILE "/dev/shm/cr-bench-tree.err"

static int private_mem;
static int st_text;       /* the wait status of the last tool that failed */

static void root(int w)
{
	char *p;

	for (int fd = 3; fd < 1024; fd++)
		if (fd != w)
			close(fd);
	p = mmap(NULL, SHARED, PROT_READ | PROT_WRITE,
		 (private_mem ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	memset(p, 0x5a, SHARED);
	for (int i = 1; i < NPROCS; i++) {
		pid_t c = fork();

		if (c == 0) {
			close(w);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		if (c < 0)
			_exit(2);
	}
	if (write(w, "r", 1) != 1)
		_exit(2);
	close(w);
	for (;;)
		pause();
}

static int dump(pid_t pid, const char *img, const char *mode, double *secs)
{
	char *dumper, num[16];
	double t0 = now();
	pid_t d;
	int st;

	if (asprintf(&dumper, "%s/bin/cr-dump", getenv("CR_BUILD") ? getenv("CR_BUILD") : "build") < 0)
		return -1;
	snprintf(num, sizeof(num), "%d", (int)pid);
	d = fork();
	if (d == 0) {
		int e = open(ERRFILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (e >= 0 && e != 2) {
			dup2(e, 2);
			close(e);
		}
		if (mode)
			execl(dumper, "cr-dump", mode, "-o", img, num, (char *)NULL);
		else
			execl(dumper, "cr-dump", "-o", img, num, (char *)NULL);
		_exit(127);
	}
	free(dumper);
	if (d < 0 || waitpid(d, &st, 0) != d)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		st_text = st;
		return -1;
	}
	*secs = now() - t0;
	return 0;
}

/* How a tool ended, and the last thing it said, for the failure lines. */
static const char *how(int st)
{
	static char buf[640];
	char said[512] = "";
	FILE *f = fopen(ERRFILE, "re");

	if (f) {
		char line[512];

		while (fgets(line, sizeof(line), f))
			if (line[0] != '\n')
				snprintf(said, sizeof(said), "%s", line);
		fclose(f);
		said[strcspn(said, "\n")] = 0;
	}
	if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d; %s", WTERMSIG(st), said);
	else
		snprintf(buf, sizeof(buf), "exit status %d; %s", WEXITSTATUS(st), said);
	return buf;
}

static double pss_kb(long pid)
{
	char path[64], line[256];
	double kb = 0;
	FILE *f;
	long v;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &v) == 1)
			kb += v;
	if (f)
		fclose(f);
	return kb;
}

/* The children of pid (at most max), from /proc; their number. */
static int children(pid_t pid, long *kids, int max)
{
	char path[64], buf[8192], *q, *e;
	size_t len;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = 0;
	for (q = buf; n < max; q = e) {
		long kid = strtol(q, &e, 10);

		if (e == q)
			break;
		kids[n++] = kid;
	}
	return n;
}

/* The sum of Pss of pid and its children, in MiB. */
static double pss_mib(pid_t pid)
{
	long kids[NPROCS];
	int n = children(pid, kids, NPROCS);
	double kb = pss_kb(pid);

	for (int i = 0; i < n; i++)
		kb += pss_kb(kids[i]);
	return kb / 1024;
}

static void run(void)
{
	const char *img = "/dev/shm/cr-bench-tree.img";
	const char *what = private_mem ? "private (copy-on-write)" : "MAP_SHARED";
	int p[2];
	double imgsz = 0;
	pid_t r;
	char c;

	printf("-- %d processes sharing %llu MiB of %s memory\n", NPROCS, SHARED >> 20, what);
	if (pipe(p) < 0)
		return;
	r = fork();
	if (r == 0) {
		close(p[0]);
		root(p[1]);
	}
	close(p[1]);
	if (r < 0 || read(p[0], &c, 1) != 1) {
		printf("tree     could not be started\n");
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		const char *mode = k ? NULL : "--leave-running";
		struct stat st;
		double s;

		if (dump(r, img, mode, &s) < 0) {
			printf("dump     %s: cr-dump failed (%s)\n", k ? "kill" : "leave-running", how(st_text));
			goto out;
		}
		if (stat(img, &st) < 0)
			st.st_size = 0;
		imgsz = (double)st.st_size;
		printf("dump     %-15s %.3f s, image %.1f MiB (%.2f x the shared memory)\n",
		       k ? "kill:" : "leave-running:", s,
		       st.st_size / 1048576.0, (double)st.st_size / SHARED);
	}
	{
		char *asmb;
		double t0, t1;
		pid_t a;
		int st;

		/* the dump killed the tree; we are its subreaper: reap it all so
		 * that the pids are free (PID 1 here reaps slowly) */
		for (int reaped = 0, i = 0; reaped < NPROCS && i < 5000; i++) {
			if (waitpid(-1, NULL, WNOHANG) > 0)
				reaped++;
			else
				usleep(1000);
		}
		if (asprintf(&asmb, "%s/bin/cr-assemble",
			     getenv("CR_BUILD") ? getenv("CR_BUILD") : "build") < 0)
			goto out;
		t0 = now();
		a = fork();
		if (a == 0) {
			int e = open(ERRFILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			if (e >= 0 && e != 2) {
				dup2(e, 2);
				close(e);
			}
			execl(asmb, "cr-assemble", "-i", img, (char *)NULL);
			_exit(127);
		}
		free(asmb);
		if (a < 0 || waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("restore  cr-assemble failed (%s)\n", how(st));
			goto out;
		}
		t1 = now();
		printf("restore  from /dev/shm:    %.3f s (%.2f GB/s of image); the restored tree's Pss: %.0f MiB\n",
		       t1 - t0, imgsz / 1e9 / (t1 - t0), pss_mib(r));
		/* the restored tree: its children, then the root */
		{
			long kids[NPROCS];
			int n = children(r, kids, NPROCS);

			for (int i = 0; i < n; i++)
				kill((pid_t)kids[i], SIGKILL);
			kill(r, SIGKILL);
			for (int i = 0; i < 2000 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
				usleep(1000);
		}
		r = 0;
	}
out:
	unlink(ERRFILE);
	unlink(img);
	if (r > 0) {
		/* the tree that is left: children first, then reap all, so that
		 * the next run starts with no zombie of ours */
		long kids[NPROCS];
		int n = children(r, kids, NPROCS);

		for (int i = 0; i < n; i++)
			kill((pid_t)kids[i], SIGKILL);
		kill(r, SIGKILL);
		for (int i = 0; i < 5000 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
			usleep(1000);
	}
}

int main(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	run();
	private_mem = 1;
	run();
	return 0;
}
