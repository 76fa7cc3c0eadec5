/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fz-refuse - a victim holding something the dump refuses.
 *   fz-refuse COUNTER-FILE pipe|socket|eventfd|pidfd|child|seccomp|pty|memfd-big|memfd-huge|sysv|none
 * (memfd-big: a memfd of 17 MiB, over the cap, that it holds and maps;
 * memfd-huge: a hugetlb memfd, exit 3 if the kernel has no huge pages)
 * (pipe: a pipe whose read end the caller passes on fd 3 to another process)
 * Sets it up, then counts in the u64 at offset 0 of COUNTER-FILE (offset
 * 8 is set to 1 when ready) until killed.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	volatile uint64_t *c;
	const char *m;
	int fd;

	if (argc < 3)
		return 2;
	m = argv[2];
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (c == MAP_FAILED)
		return 2;
	if (!strcmp(m, "pipe")) {
		if (fcntl(3, F_GETFD) < 0)
			return 2;
	} else if (!strcmp(m, "pidfd")) {
		if (syscall(SYS_pidfd_open, getpid(), 0) < 0)
			return 2;
	} else if (!strcmp(m, "socket")) {
		if (socket(AF_INET, SOCK_STREAM, 0) < 0)
			return 2;
	} else if (!strcmp(m, "eventfd")) {
		if (eventfd(0, 0) < 0)
			return 2;
	} else if (!strcmp(m, "child")) {
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	} else if (!strcmp(m, "seccomp")) {
		struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
		struct sock_fprog prog = { 1, f };

		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			return 2;
	} else if (!strcmp(m, "pty")) {
		if (open("/dev/ptmx", O_RDWR | O_NOCTTY) < 0)
			return 2;
	} else if (!strcmp(m, "memfd-big")) {
		/* a memfd it holds and maps, larger than the cap (16 MiB) */
		int mfd = memfd_create("fz-big", 0);
		char *p;

		if (mfd < 0 || ftruncate(mfd, 17 << 20) < 0 ||
		    (p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) == MAP_FAILED)
			return 2;
		p[0] = 1;
	} else if (!strcmp(m, "memfd-huge")) {
		int mfd = memfd_create("fz-huge", MFD_HUGETLB);

		if (mfd < 0)
			return 3;
	} else if (!strcmp(m, "sysv")) {
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);

		if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
			return 2;
		shmctl(id, IPC_RMID, NULL);
	} else if (strcmp(m, "none")) {
		return 2;
	}
	c[1] = 1;
	for (;;) {
		c[0]++;
		if ((c[0] & 0xfffff) == 0) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
}
