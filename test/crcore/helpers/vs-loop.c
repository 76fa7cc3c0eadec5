/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-loop DIR - an event loop across two processes, for share-loop.
 *
 * The parent and its forked child each run an epoll loop.  The parent's
 * watches a periodic timerfd (every 5 ms: "tick N" to the child over a
 * socket pair), the socket ("tock N" back, checked), an eventfd the child
 * also holds (inherited across fork: the child adds 1 for every tock, the
 * parent reads the sum) and a signalfd for SIGUSR1 (made before the fork:
 * the child holds it too).  The child's watches the socket.  The parent
 * writes N to DIR/count (by rename) after each tock.  On SIGUSR1 (blocked,
 * read through the signalfd) the parent stops ticking, waits for the last
 * tock, says "end" to the child, which checks it answered every tick in
 * order and prints "PASS child N"; then the parent checks that every tock
 * came back and the eventfd summed to N, and prints "PASS parent N".
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *who = "parent";

__attribute__((noreturn)) static void die(const char *what)
{
	printf("FAIL %s: %s (errno %d)\n", who, what, errno);
	fflush(stdout);
	exit(1);
}

/* one line from a stream socket (lines are short and never split here:
 * each is one write of its own and read whole) */
static void get_line(int s, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(s, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read a line");
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
}

static int epoll_of(const int *fds, int n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		die("epoll_create1");
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1000u + (unsigned)i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			die("epoll_ctl");
	}
	return ep;
}

__attribute__((noreturn)) static void child(int s, int efd)
{
	int fds[1] = { s }, ep = epoll_of(fds, 1);
	unsigned long answered = 0;

	who = "child";
	for (;;) {
		struct epoll_event ev[4];
		int n = epoll_wait(ep, ev, 4, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			char line[64];
			uint64_t one = 1;

			if (ev[i].data.u64 == 1000) {
				get_line(s, line, sizeof(line));
				if (!strcmp(line, "end\n")) {
					printf("PASS child %lu\n", answered);
					fflush(stdout);
					exit(0);
				}
				if (strtoul(line + 5, NULL, 10) != answered + 1)
					die("a tick out of order");
				answered++;
				if (write(efd, &one, 8) != 8)
					die("eventfd write");
				dprintf(s, "tock %lu\n", answered);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
	int sv[2], efd, tfd, sfd, ep;
	unsigned long ticks = 0, tocks = 0, summed = 0;
	char count[4200], tmp[4200];
	sigset_t m;

	if (argc != 2) {
		fprintf(stderr, "usage: vs-loop DIR\n");
		return 100;
	}
	snprintf(count, sizeof(count), "%s/count", argv[1]);
	snprintf(tmp, sizeof(tmp), "%s/count.tmp", argv[1]);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sfd = signalfd(-1, &m, SFD_CLOEXEC);
	if (efd < 0 || sfd < 0)
		die("eventfd/signalfd");
	switch (fork()) {
	case -1:
		die("fork");
	case 0:
		close(sv[0]);
		child(sv[1], efd);
	}
	close(sv[1]);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
		die("timerfd");
	{
		int fds[4] = { sv[0], tfd, efd, sfd };

		ep = epoll_of(fds, 4);
	}
	for (;;) {
		struct epoll_event ev[8];
		int n = epoll_wait(ep, ev, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			char line[64];
			uint64_t v;
			FILE *f;

			switch (ev[i].data.u64) {
			case 1000: /* a tock */
				get_line(sv[0], line, sizeof(line));
				if (strtoul(line + 5, NULL, 10) != tocks + 1)
					die("a tock out of order");
				tocks++;
				f = fopen(tmp, "w");
				if (f) {
					fprintf(f, "%lu\n", tocks);
					fclose(f);
					rename(tmp, count);
				}
				break;
			case 1001: /* the timer: one tick per period, missed ones too */
				if (read(tfd, &v, 8) != 8)
					break;
				if (ticks == tocks)
					dprintf(sv[0], "tick %lu\n", ++ticks);
				break;
			case 1002:
				if (read(efd, &v, 8) == 8)
					summed += v;
				break;
			case 1003: {
				struct signalfd_siginfo si;
				int st;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					die("signalfd read");
				/* the last tock may be in flight */
				if (ticks != tocks) {
					get_line(sv[0], line, sizeof(line));
					if (strtoul(line + 5, NULL, 10) != tocks + 1)
						die("the last tock out of order");
					tocks++;
				}
				dprintf(sv[0], "end\n");
				if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
					die("the child failed");
				if (read(efd, &v, 8) == 8)
					summed += v;
				if (tocks != ticks || summed != tocks) {
					printf("FAIL parent: ticks %lu tocks %lu eventfd %lu\n", ticks, tocks, summed);
					return 1;
				}
				printf("PASS parent %lu\n", tocks);
				return 0;
			}
			}
		}
	}
}
