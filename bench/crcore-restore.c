/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crcore-restore: how fast cr-assemble brings a process back.
 *
 *   raw      read(2) of the image file (tmpfs) into freshly mapped
 *            anonymous memory, 1 MiB at a time: the baseline, this run
 *   restore  cr-assemble -i FILE of a process holding 1 GiB of written
 *            anonymous memory (dumped by cr-dump into the same tmpfs),
 *            wall time until the process runs; GB/s of image and the
 *            ratio to raw
 *   tiny     wall time of cr-assemble for a tiny process (median of 7)
 *   rss      peak RSS of cr-assemble for the 1 GiB and the tiny process
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test/lib/test.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int wait_line(const char *file, const char *line, int ms)
{
	char buf[256];

	for (int i = 0; i < ms; i++) {
		FILE *f = fopen(file, "r");

		while (f && fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, line, strlen(line))) {
				fclose(f);
				return 1;
			}
		if (f)
			fclose(f);
		usleep(1000);
	}
	return 0;
}

/* Runs argv, returns exit status; *rss_kb peak RSS, *secs wall time. */
static int run(char *const argv[], long *rss_kb, double *secs)
{
	struct rusage ru;
	double t0 = now();
	pid_t p = fork();
	int st;

	if (p == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (wait4(p, &st, 0, &ru) < 0 && errno == EINTR)
		;
	*secs = now() - t0;
	*rss_kb = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Starts v-big with mib MiB, dumps it into img with cr-dump (which kills
 * it), reaps it; returns its pid or 0. */
static pid_t make_image(const char *dir, int mib, const char *img, char *out)
{
	char *helper = t_build_path("test/crcore/helpers/v-big");
	char smib[16];
	double s;
	long rss;
	pid_t v;

	snprintf(out, 4096, "%s/big-%d.out", dir, mib);
	snprintf(smib, sizeof(smib), "%d", mib);
	unlink(out);
	v = fork();
	if (v == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execl(helper, helper, out, smib, (char *)NULL);
		_exit(127);
	}
	free(helper);
	if (!wait_line(out, "READY", 60000)) {
		kill(v, SIGKILL);
		waitpid(v, NULL, 0);
		return 0;
	}
	{
		char *argv[] = { "cr-dump", "-o", (char *)img, NULL, NULL };
		char spid[16];

		snprintf(spid, sizeof(spid), "%d", (int)v);
		argv[3] = spid;
		if (run(argv, &rss, &s) != 0) {
			kill(v, SIGKILL);
			waitpid(v, NULL, 0);
			return 0;
		}
	}
	waitpid(v, NULL, 0);
	return v;
}

static double raw_read(const char *img, size_t size)
{
	int fd = open(img, O_RDONLY);
	uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0 = now(), t;
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, m + done, size - done < (1u << 20) ? size - done : (1u << 20));

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	t = now() - t0;
	munmap(m, size);
	close(fd);
	return t;
}

static int restore(const char *img, const char *out, pid_t v, long *rss, double *secs)
{
	char *argv[] = { "cr-assemble", "-i", (char *)img, NULL };
	int r = run(argv, rss, secs);

	if (r == 0) {
		kill(v, SIGTERM);
		if (!wait_line(out, "PASS", 10000))
			printf("  (the restored process %d did not pass its check)\n", (int)v);
		kill(v, SIGKILL);
	}
	return r;
}

int main(void)
{
	const char *dir = "/dev/shm";
	char img[4096], out[4096], tout[4096], timg[4096];
	double raw, rs, tiny[7], best_raw = 1e9, best_rs = 1e9;
	long rss_big = 0, rss_tiny = 0, rss;
	struct stat st;
	pid_t v;

	snprintf(img, sizeof(img), "%s/crcore-restore-bench.%d.img", dir, (int)getpid());
	snprintf(timg, sizeof(timg), "%s/crcore-restore-tiny.%d.img", dir, (int)getpid());
	for (int round = 0; round < 2; round++) {
		v = make_image(dir, 1024, img, out);
		if (!v || stat(img, &st) < 0) {
			printf("restore: could not make the 1 GiB image (cr-dump failed)\n");
			unlink(img);
			return 0;
		}
		raw = raw_read(img, (size_t)st.st_size);
		if (restore(img, out, v, &rss, &rs) != 0) {
			printf("restore: cr-assemble failed\n");
			unlink(img);
			unlink(out);
			return 0;
		}
		if (raw < best_raw)
			best_raw = raw;
		if (rs < best_rs)
			best_rs = rs;
		rss_big = rss > rss_big ? rss : rss_big;
		unlink(img);
		unlink(out); /* the victim's output */
	}
	printf("raw      read %.0f MiB from tmpfs into fresh memory: %.2f GB/s\n",
	       st.st_size / 1048576.0, st.st_size / best_raw / 1e9);
	printf("restore  1 GiB process from tmpfs: %.3f s, %.2f GB/s, ratio to raw %.2f\n", best_rs,
	       st.st_size / best_rs / 1e9, best_raw / best_rs);
	for (int i = 0; i < 7; i++) {
		v = make_image(dir, 0, timg, tout);
		if (!v || restore(timg, tout, v, &rss, &tiny[i]) != 0) {
			printf("tiny: failed\n");
			unlink(timg);
			unlink(tout);
			return 0;
		}
		rss_tiny = rss > rss_tiny ? rss : rss_tiny;
		unlink(timg);
		unlink(tout);
	}
	for (int i = 1; i < 7; i++)
		for (int j = i; j > 0 && tiny[j] < tiny[j - 1]; j--) {
			double x = tiny[j];

			tiny[j] = tiny[j - 1];
			tiny[j - 1] = x;
		}
	printf("tiny     restore of a tiny process: %.1f ms (median of 7, min %.1f ms)\n",
	       tiny[3] * 1e3, tiny[0] * 1e3);
	printf("rss      cr-assemble peak RSS: %ld KiB for 1 GiB, %ld KiB for the tiny process\n",
	       rss_big, rss_tiny);
	return 0;
}
