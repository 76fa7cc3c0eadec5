/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fz-mem - a victim with one of each kind of memory and state, for the
 * stream-content test.   fz-mem DIR
 * Writes DIR/info ("name value" lines: addresses and values the test
 * checks in the image), then waits for signals forever.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define PG 4096

static void on_usr1(int s, siginfo_t *si, void *uc)
{
}

static void *idle(void *a)
{
	for (;;)
		pause();
	return NULL;
}

static int mkfile(const char *dir, const char *name, int pages, char fill)
{
	char path[4096], buf[PG];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	memset(buf, fill, sizeof(buf));
	for (int i = 0; i < pages; i++)
		if (write(fd, buf, PG) != PG)
			exit(2);
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct rlimit rl;
	struct itimerval it = { { 0, 0 }, { 100, 0 } };
	char path[4096];
	FILE *info;
	pthread_t th;
	char *anon, *fpriv, *fshared, *guard, *mfd, *shanon, *dfork;
	int fd;

	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/info", argv[1]);
	anon = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int p = 0; p < 64; p++)
		if (p == 0 || p == 5 || p == 6 || p == 63)
			memset(anon + p * PG, p + 1, PG);
	(void)*(volatile char *)(anon + 10 * PG); /* read only: the zero page */
	fd = mkfile(argv[1], "fpriv", 4, 'F');
	fpriv = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	(void)*(volatile char *)fpriv;
	(void)*(volatile char *)(fpriv + 2 * PG);
	memset(fpriv + PG, 'C', PG);
	fd = mkfile(argv[1], "fshared", 2, 'S');
	fshared = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	memset(fshared, 's', PG);
	guard = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(guard + 2 * PG, 'G', PG);
	mprotect(guard, 4 * PG, PROT_NONE);
	fd = memfd_create("fz-mem", MFD_CLOEXEC);
	if (ftruncate(fd, 4 * PG) < 0)
		return 2;
	mfd = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	memset(mfd, 'M', PG);
	memset(mfd + 3 * PG, 'N', PG);
	shanon = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(shanon + PG, 'A', PG);
	dfork = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(dfork, 2 * PG, MADV_DONTFORK);
	sigaction(SIGUSR1, &sa, NULL);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 777;
	setrlimit(RLIMIT_NOFILE, &rl);
	setitimer(ITIMER_REAL, &it, NULL);
	umask(027);
	fd = mkfile(argv[1], "data", 1, 'D');
	lseek(fd, 1234, SEEK_SET);
	dup2(fd, 5);
	close(fd);
	fd = mkfile(argv[1], "gone", 0, 0);
	if (write(fd, "deleted-contents", 16) != 16)
		return 2;
	snprintf(path, sizeof(path), "%s/gone", argv[1]);
	unlink(path);
	dup2(fd, 6);
	close(fd);
	pthread_create(&th, NULL, idle, NULL);
	snprintf(path, sizeof(path), "%s/info.tmp", argv[1]);
	info = fopen(path, "w");
	fprintf(info, "anon %p\nfpriv %p\nfshared %p\nguard %p\nmemfd %p\nshanon %p\ndfork %p\n"
		"handler %p\n", anon, fpriv, fshared, guard, mfd, shanon, dfork, (void *)on_usr1);
	fclose(info);
	{
		char final[4096];

		snprintf(final, sizeof(final), "%s/info", argv[1]);
		rename(path, final);
	}
	for (;;)
		pause();
}
