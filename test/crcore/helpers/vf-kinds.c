/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vf-kinds OUTFILE MODE - a victim holding fds of one group of kinds in
 * a known state; writes READY to OUTFILE, waits for SIGTERM, then checks
 * that every fd is as it was and writes PASS (or FAIL: why).
 *   event   eventfd (counter, EFD_SEMAPHORE, a dup), timerfd (periodic
 *           with expirations not read, one-shot armed), signalfd (mask),
 *           fd flags (O_NONBLOCK, FD_CLOEXEC)
 *   pipe    a pipe with 200000 bytes buffered and 256 KiB size (read end
 *           O_ASYNC, owned by the process, F_SETSIG SIGUSR2), a packet-mode
 *           pipe (O_DIRECT) with three packets, a pipe
 *           whose writer is gone (data, then EOF), a FIFO with data
 *   epoll   an epoll fd watching an eventfd (EPOLLET), a pipe, a timerfd
 *           (EPOLLONESHOT), with their data
 *   unix    stream, dgram and seqpacket socket pairs with data queued both
 *           ways, a stream pair whose peer is closed, named and abstract
 *           listening sockets, an accepted connection with data both
 *           ways, one whose listener was closed, a bound datagram socket
 *           with queued messages and a client connected to it, a listener
 *           with two connections not accepted yet
 *   inet    a bound UDP socket, a listening TCP socket (loopback), with
 *           options; a v6-only UDP socket bound to ::1 and the lo device
 *   memfd   a sealed memfd with a hole at an offset, a second one with a dup
 *           and a second open file description
 *   lock    a flock write lock (and a dup), a POSIX read lock on a range,
 *           an OFD write lock to the end of the file
 *   inotify an inotify fd with watches 2 and 3 (1 removed: a gap to keep)
 * and what the dump refuses (the test expects the refusal and then PASS
 * from the same process, untouched):
 *   r-scm      a socket pair with an fd in flight (SCM_RIGHTS)
 *   r-epoll    an epoll watch whose fd number was closed (the file lives on)
 *   r-lease    a file lease
 *   r-lockmap  a POSIX lock on a file the process maps
 *   r-tcp      an established TCP connection (to itself)
 *   r-fifo     a FIFO whose name was removed
 * The directory of OUTFILE holds the FIFO and the named socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/test.h"

static volatile sig_atomic_t got_term;
static int out, fails;
static char dir[4096];

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* a line to the output file (test/lib) */
#define say(...) t_say(out, __VA_ARGS__)

#define CHECK(c, ...) do { if (!(c)) { say("FAIL: " __VA_ARGS__); fails++; } } while (0)
#define DIE(...) do { say("FAIL: setup: " __VA_ARGS__); exit(1); } while (0)

/* fdinfo field of one of our fds */
static int fdinfo_has(int fd, const char *needle)
{
	char p[64], buf[4096];
	int f, n;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	f = open(p, O_RDONLY);
	if (f < 0)
		return 0;
	n = (int)read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

/* ---- event ---------------------------------------------------------------- */
static int ev1, ev1dup, ev2, tper, tone, sfd;

static void event_prep(void)
{
	struct itimerspec per = { { 0, 10 * 1000000 }, { 0, 10 * 1000000 } };
	struct itimerspec one = { { 0, 0 }, { 30, 0 } };
	sigset_t m;

	ev1 = eventfd(42, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	ev1dup = dup(ev1);
	ev2 = eventfd(0, 0);
	if (ev1 < 0 || ev2 < 0 || ev1dup < 0)
		DIE("eventfd");
	if (write(ev2, &(uint64_t){ 12345 }, 8) != 8)
		DIE("eventfd write");
	tper = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	tone = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	if (tper < 0 || tone < 0 || timerfd_settime(tper, 0, &per, NULL) < 0 ||
	    timerfd_settime(tone, 0, &one, NULL) < 0)
		DIE("timerfd");
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGRTMIN + 3);
	sigprocmask(SIG_BLOCK, &m, NULL);
	sfd = signalfd(-1, &m, SFD_NONBLOCK);
	if (sfd < 0)
		DIE("signalfd");
	usleep(100 * 1000); /* about 10 expirations of tper, unread */
}

static void event_check(void)
{
	uint64_t v = 0;
	struct itimerspec its;
	struct signalfd_siginfo si;
	char want[64];

	CHECK(fcntl(ev1, F_GETFL) & O_NONBLOCK, "eventfd lost O_NONBLOCK");
	CHECK(fcntl(ev1, F_GETFD) & FD_CLOEXEC, "eventfd lost FD_CLOEXEC");
	CHECK(!(fcntl(ev1dup, F_GETFD) & FD_CLOEXEC), "the dup got FD_CLOEXEC");
	CHECK(!(fcntl(ev2, F_GETFL) & O_NONBLOCK), "eventfd 2 got O_NONBLOCK");
	CHECK(fdinfo_has(ev1, "eventfd-semaphore: 1"), "EFD_SEMAPHORE lost");
	CHECK(read(ev1, &v, 8) == 8 && v == 1, "semaphore read gave %llu", (unsigned long long)v);
	CHECK(fdinfo_has(ev1dup, "eventfd-count:               29"), "the dup is not the same eventfd (count 41 = 0x29)");
	CHECK(read(ev2, &v, 8) == 8 && v == 12345, "eventfd 2 counter %llu, want 12345", (unsigned long long)v);
	v = 0;
	CHECK(read(tper, &v, 8) == 8 && v >= 5, "periodic timerfd: %llu expirations, want >= 5",
	      (unsigned long long)v);
	{
		/* it expired unread before the dump (0 left in fdinfo): it
		 * must still tick afterwards */
		struct pollfd p = { tper, POLLIN, 0 };

		v = 0;
		CHECK(poll(&p, 1, 2000) == 1 && read(tper, &v, 8) == 8 && v >= 1,
		      "periodic timerfd stopped ticking after the restore");
	}
	CHECK(fcntl(tper, F_GETFL) & O_NONBLOCK, "timerfd lost O_NONBLOCK");
	CHECK(timerfd_gettime(tper, &its) == 0 && its.it_interval.tv_nsec == 10 * 1000000 &&
	      its.it_interval.tv_sec == 0, "periodic timerfd interval changed");
	CHECK(timerfd_gettime(tone, &its) == 0 && its.it_value.tv_sec >= 20 && its.it_value.tv_sec < 30 &&
	      its.it_interval.tv_sec == 0, "one-shot timerfd: %ld s left, want 20..30", (long)its.it_value.tv_sec);
	CHECK(fdinfo_has(tone, "clockid: 0"), "one-shot timerfd is not CLOCK_REALTIME");
	snprintf(want, sizeof(want), "sigmask:\t%016llx", (1ull << (SIGUSR1 - 1)) | (1ull << (SIGRTMIN + 2)));
	CHECK(fdinfo_has(sfd, want), "signalfd mask differs (want %s)", want);
	kill(getpid(), SIGUSR1);
	CHECK(read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1, "signalfd did not give SIGUSR1");
}

/* ---- pipe ------------------------------------------------------------------- */
#define PIPE_BYTES 200000
static int pa[2], pb, ff_rw, ff_rd, pk[2];
static char fifo[4200];

static void pipe_prep(void)
{
	int q[2];
	uint8_t *buf = malloc(PIPE_BYTES);

	if (pipe2(pa, O_NONBLOCK) < 0 || fcntl(pa[0], F_SETPIPE_SZ, 256 << 10) < 0)
		DIE("pipe");
	for (size_t i = 0; i < PIPE_BYTES; i++)
		buf[i] = pat(i);
	/* in pieces, so that the pipe holds several buffers */
	for (size_t i = 0; i < PIPE_BYTES; i += 10000)
		if (write(pa[1], buf + i, 10000) != 10000)
			DIE("pipe write");
	free(buf);
	fcntl(pa[1], F_SETFL, 0);
	/* the read end signals us (SIGUSR2, ignored) when data comes */
	signal(SIGUSR2, SIG_IGN);
	if (fcntl(pa[0], F_SETOWN, getpid()) < 0 || fcntl(pa[0], F_SETSIG, SIGUSR2) < 0 ||
	    fcntl(pa[0], F_SETFL, O_NONBLOCK | O_ASYNC) < 0)
		DIE("pipe O_ASYNC");
	if (pipe(q) < 0 || write(q[1], "tail", 4) != 4)
		DIE("pipe 2");
	close(q[1]);
	pb = q[0];
	/* packet mode: three packets keep their bounds */
	if (pipe2(pk, O_DIRECT | O_NONBLOCK) < 0 || write(pk[1], "first", 5) != 5 ||
	    write(pk[1], "2nd", 3) != 3 || write(pk[1], "the third", 9) != 9)
		DIE("packet pipe");
	snprintf(fifo, sizeof(fifo), "%s/vf-fifo", dir);
	unlink(fifo);
	if (mkfifo(fifo, 0600) < 0)
		DIE("mkfifo");
	ff_rw = open(fifo, O_RDWR);
	ff_rd = open(fifo, O_RDONLY | O_NONBLOCK);
	if (ff_rw < 0 || ff_rd < 0 || write(ff_rw, "fifo-data", 9) != 9)
		DIE("fifo");
}

static void pipe_check(void)
{
	uint8_t *buf = malloc(PIPE_BYTES + 1);
	size_t got = 0;
	ssize_t n;
	char b[32];

	CHECK(fcntl(pa[0], F_GETPIPE_SZ) == 256 << 10, "pipe size %d, want 256 KiB", fcntl(pa[0], F_GETPIPE_SZ));
	CHECK(fcntl(pa[0], F_GETFL) & O_NONBLOCK, "pipe read end lost O_NONBLOCK");
	CHECK(fcntl(pa[0], F_GETFL) & O_ASYNC, "pipe read end lost O_ASYNC");
	CHECK(fcntl(pa[0], F_GETOWN) == getpid(), "pipe read end: owner %d, want %d", fcntl(pa[0], F_GETOWN), (int)getpid());
	CHECK(fcntl(pa[0], F_GETSIG) == SIGUSR2, "pipe read end: F_GETSIG %d", fcntl(pa[0], F_GETSIG));
	CHECK(!(fcntl(pa[1], F_GETFL) & O_NONBLOCK), "pipe write end got O_NONBLOCK");
	while ((n = read(pa[0], buf + got, PIPE_BYTES + 1 - got)) > 0)
		got += (size_t)n;
	CHECK(got == PIPE_BYTES, "pipe gave %zu bytes, want %d", got, PIPE_BYTES);
	for (size_t i = 0; i < got; i++)
		if (buf[i] != pat(i)) {
			CHECK(0, "pipe byte %zu differs", i);
			break;
		}
	CHECK(write(pa[1], "x", 1) == 1 && read(pa[0], b, 1) == 1 && b[0] == 'x', "the pipe does not carry new data");
	n = read(pk[0], b, sizeof(b));
	CHECK(n == 5 && !memcmp(b, "first", 5), "packet 1: %zd bytes", n);
	n = read(pk[0], b, sizeof(b));
	CHECK(n == 3 && !memcmp(b, "2nd", 3), "packet 2: %zd bytes", n);
	n = read(pk[0], b, sizeof(b));
	CHECK(n == 9 && !memcmp(b, "the third", 9), "packet 3: %zd bytes", n);
	CHECK(fcntl(pk[1], F_GETFL) & O_DIRECT, "packet pipe lost O_DIRECT");
	n = read(pb, b, sizeof(b));
	CHECK(n == 4 && !memcmp(b, "tail", 4), "pipe without writer gave %zd bytes", n);
	CHECK(read(pb, b, sizeof(b)) == 0, "pipe without writer: no EOF");
	n = read(ff_rd, b, sizeof(b));
	CHECK(n == 9 && !memcmp(b, "fifo-data", 9), "FIFO gave %zd bytes", n);
	CHECK(write(ff_rw, "again", 5) == 5 && read(ff_rd, b, 5) == 5 && !memcmp(b, "again", 5), "FIFO does not carry new data");
	free(buf);
}

/* ---- epoll ------------------------------------------------------------------ */
static int ep, ep_ev, ep_p[2], ep_t;

static void epoll_prep(void)
{
	struct epoll_event e;
	struct itimerspec t = { { 0, 0 }, { 3600, 0 } };

	ep = epoll_create1(EPOLL_CLOEXEC);
	ep_ev = eventfd(0, EFD_NONBLOCK);
	ep_t = timerfd_create(CLOCK_MONOTONIC, 0);
	if (ep < 0 || ep_ev < 0 || ep_t < 0 || pipe(ep_p) < 0 || timerfd_settime(ep_t, 0, &t, NULL) < 0)
		DIE("epoll fds");
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0x1234567890ull };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ep_ev, &e) < 0)
		DIE("epoll_ctl");
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 7 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ep_p[0], &e) < 0)
		DIE("epoll_ctl 2");
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 99 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ep_t, &e) < 0)
		DIE("epoll_ctl 3");
}

static void epoll_check(void)
{
	struct epoll_event e[8];
	char want[128];
	int n;

	snprintf(want, sizeof(want), "tfd: %8d events: %8x data: %16llx", ep_ev, EPOLLIN | EPOLLET | EPOLLERR | EPOLLHUP, 0x1234567890ull);
	CHECK(fdinfo_has(ep, want), "epoll watch of the eventfd differs");
	snprintf(want, sizeof(want), "tfd: %8d events: %8x data: %16llx", ep_p[0], EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP, 7ull);
	CHECK(fdinfo_has(ep, want), "epoll watch of the pipe differs");
	snprintf(want, sizeof(want), "tfd: %8d events: %8x data: %16llx", ep_t, EPOLLIN | EPOLLONESHOT | EPOLLERR | EPOLLHUP, 99ull);
	CHECK(fdinfo_has(ep, want), "epoll watch of the timerfd differs");
	CHECK(fcntl(ep, F_GETFD) & FD_CLOEXEC, "epoll fd lost FD_CLOEXEC");
	CHECK(epoll_wait(ep, e, 8, 0) == 0, "epoll: events before any happened");
	if (write(ep_ev, &(uint64_t){ 1 }, 8) != 8)
		CHECK(0, "eventfd write");
	n = epoll_wait(ep, e, 8, 1000);
	CHECK(n == 1 && e[0].data.u64 == 0x1234567890ull, "epoll: %d events, want the eventfd's", n);
	CHECK(epoll_wait(ep, e, 8, 0) == 0, "epoll: EPOLLET lost (level-triggered again)");
	if (write(ep_p[1], "p", 1) != 1)
		CHECK(0, "pipe write");
	n = epoll_wait(ep, e, 8, 1000);
	CHECK(n == 1 && e[0].data.u64 == 7, "epoll: %d events, want the pipe's", n);
}

/* ---- unix ------------------------------------------------------------------- */
static int us[2], ud[2], uq[2], uorph, ul_named, ul_abs;
static int uc_cli, uc_srv, ua_cli, ua_srv, dg_srv, dg_cli, pl, pc[2];
static char upath[4200], uabs[108], dpath[4200];

static void unix_prep(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int t[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, us) < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, ud) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, uq) < 0)
		DIE("socketpair");
	if (write(us[0], "hello ", 6) != 6 || write(us[0], "world", 5) != 5 || write(us[1], "back", 4) != 4)
		DIE("stream write");
	for (int i = 0; i < 3; i++) {
		char m[32];
		int n = snprintf(m, sizeof(m), "dgram %d%.*s", i, i * 3, "xxxxxxxxx");

		if (send(ud[1], m, (size_t)n, 0) != n)
			DIE("dgram send");
	}
	if (send(ud[1], "", 0, 0) != 0 || send(ud[0], "other way", 9, 0) != 9)
		DIE("dgram send 2");
	if (send(uq[0], "seq one", 7, 0) != 7 || send(uq[0], "seq two!", 8, 0) != 8)
		DIE("seqpacket send");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, t) < 0 || write(t[1], "orphan", 6) != 6)
		DIE("orphan pair");
	close(t[1]);
	uorph = t[0];
	snprintf(upath, sizeof(upath), "%s/vf-sock", dir);
	unlink(upath);
	ul_named = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(a.sun_path, upath, strnlen(upath, sizeof(a.sun_path) - 1));
	if (ul_named < 0 || bind(ul_named, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ul_named, 5) < 0)
		DIE("named listener");
	ul_abs = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(uabs, sizeof(uabs), "vf-kinds-%d", (int)getpid());
	memcpy(a.sun_path + 1, uabs, strlen(uabs));
	if (ul_abs < 0 || bind(ul_abs, (struct sockaddr *)&a,
			       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(uabs))) < 0 ||
	    listen(ul_abs, 3) < 0)
		DIE("abstract listener");
	/* an accepted connection on the named listener, data both ways */
	uc_cli = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, upath, strnlen(upath, sizeof(a.sun_path) - 1));
	if (uc_cli < 0 || connect(uc_cli, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (uc_srv = accept(ul_named, NULL, NULL)) < 0 || write(uc_cli, "to-server", 9) != 9 ||
	    write(uc_srv, "to-client", 9) != 9)
		DIE("named connection");
	/* one on an abstract listener the process closed since */
	{
		int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		struct sockaddr_un b = { .sun_family = AF_UNIX };
		socklen_t bl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(uabs) + 4);

		memcpy(b.sun_path + 1, uabs, strlen(uabs));
		memcpy(b.sun_path + 1 + strlen(uabs), "-old", 4);
		ua_cli = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (l < 0 || bind(l, (struct sockaddr *)&b, bl) < 0 || listen(l, 1) < 0 ||
		    connect(ua_cli, (struct sockaddr *)&b, bl) < 0 || (ua_srv = accept(l, NULL, NULL)) < 0 ||
		    send(ua_cli, "pkt", 3, 0) != 3)
			DIE("abstract connection");
		close(l);
	}
	/* a listener with two connections not accepted yet */
	{
		struct sockaddr_un b = { .sun_family = AF_UNIX };

		snprintf(b.sun_path, sizeof(b.sun_path), "@vf-pend-%d", (int)getpid());
		b.sun_path[0] = 0;
		pl = socket(AF_UNIX, SOCK_STREAM, 0);
		pc[0] = socket(AF_UNIX, SOCK_STREAM, 0);
		pc[1] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (pl < 0 || bind(pl, (struct sockaddr *)&b, sizeof(b)) < 0 || listen(pl, 4) < 0 ||
		    connect(pc[0], (struct sockaddr *)&b, sizeof(b)) < 0 ||
		    connect(pc[1], (struct sockaddr *)&b, sizeof(b)) < 0)
			DIE("pending connections");
	}
	/* a bound datagram socket with messages queued, one sender connected to it */
	snprintf(dpath, sizeof(dpath), "%s/vf-dgram", dir);
	unlink(dpath);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, dpath, strnlen(dpath, sizeof(a.sun_path) - 1));
	dg_srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	dg_cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (dg_srv < 0 || dg_cli < 0 || bind(dg_srv, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    sendto(dg_cli, "anon", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4 ||
	    connect(dg_cli, (struct sockaddr *)&a, sizeof(a)) < 0 || send(dg_cli, "connected", 9, 0) != 9)
		DIE("datagram server");
}

static void unix_check(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t al = sizeof(a);
	char b[256];
	ssize_t n;
	int c, s;

	n = recv(us[1], b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 11 && !memcmp(b, "hello world", 11), "stream pair gave %zd bytes", n);
	n = recv(us[0], b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 4 && !memcmp(b, "back", 4), "stream pair (back) gave %zd bytes", n);
	CHECK(write(us[0], "more", 4) == 4 && recv(us[1], b, 4, 0) == 4, "stream pair does not carry new data");
	for (int i = 0; i < 3; i++) {
		char m[32];
		int l = snprintf(m, sizeof(m), "dgram %d%.*s", i, i * 3, "xxxxxxxxx");

		n = recv(ud[0], b, sizeof(b), MSG_DONTWAIT);
		CHECK(n == l && !memcmp(b, m, (size_t)l), "dgram %d: got %zd bytes", i, n);
	}
	n = recv(ud[0], b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 0, "empty dgram: got %zd", n);
	CHECK(recv(ud[0], b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN, "dgram: more messages than sent");
	n = recv(ud[1], b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 9 && !memcmp(b, "other way", 9), "dgram other way: got %zd", n);
	CHECK(fcntl(uq[0], F_GETFL) & O_NONBLOCK, "seqpacket lost O_NONBLOCK");
	n = recv(uq[1], b, sizeof(b), 0);
	CHECK(n == 7 && !memcmp(b, "seq one", 7), "seqpacket 1: got %zd", n);
	n = recv(uq[1], b, sizeof(b), 0);
	CHECK(n == 8 && !memcmp(b, "seq two!", 8), "seqpacket 2: got %zd", n);
	n = recv(uorph, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 6 && !memcmp(b, "orphan", 6), "pair with its peer closed: got %zd", n);
	CHECK(recv(uorph, b, sizeof(b), MSG_DONTWAIT) == 0, "pair with its peer closed: no EOF");
	CHECK(getsockname(ul_named, (struct sockaddr *)&a, &al) == 0 && !strcmp(a.sun_path, upath),
	      "named listener: address differs");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(a.sun_path, upath, strnlen(upath, sizeof(a.sun_path) - 1));
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to the named listener: %s", strerror(errno));
	s = accept(ul_named, NULL, NULL);
	CHECK(s >= 0 && write(c, "hi", 2) == 2 && read(s, b, 2) == 2, "named listener: accept/talk failed");
	close(c);
	close(s);
	c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path + 1, uabs, strlen(uabs));
	CHECK(connect(c, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(uabs))) == 0,
	      "connect to the abstract listener: %s", strerror(errno));
	s = accept(ul_abs, NULL, NULL);
	CHECK(s >= 0, "abstract listener: accept failed");
	close(c);
	close(s);
	n = recv(uc_srv, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 9 && !memcmp(b, "to-server", 9), "accepted connection gave %zd bytes", n);
	n = recv(uc_cli, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 9 && !memcmp(b, "to-client", 9), "connected client gave %zd bytes", n);
	al = sizeof(a);
	CHECK(getpeername(uc_cli, (struct sockaddr *)&a, &al) == 0 && !strcmp(a.sun_path, upath),
	      "client's peer address differs");
	al = sizeof(a);
	CHECK(getsockname(uc_srv, (struct sockaddr *)&a, &al) == 0 && !strcmp(a.sun_path, upath),
	      "accepted socket's address differs");
	CHECK(write(uc_srv, "new", 3) == 3 && recv(uc_cli, b, 3, 0) == 3, "named connection does not carry new data");
	n = recv(ua_srv, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 3 && !memcmp(b, "pkt", 3), "connection of a closed abstract listener gave %zd", n);
	n = recv(dg_srv, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 4 && !memcmp(b, "anon", 4), "datagram server message 1: %zd", n);
	n = recv(dg_srv, b, sizeof(b), MSG_DONTWAIT);
	CHECK(n == 9 && !memcmp(b, "connected", 9), "datagram server message 2: %zd", n);
	al = sizeof(a);
	CHECK(getpeername(dg_cli, (struct sockaddr *)&a, &al) == 0 && !strcmp(a.sun_path, dpath),
	      "datagram client's peer differs");
	CHECK(send(dg_cli, "again", 5, 0) == 5 && recv(dg_srv, b, sizeof(b), MSG_DONTWAIT) == 5,
	      "datagram client does not reach its server");
	for (int i = 0; i < 2; i++) {
		char w = (char)('1' + i);

		s = accept4(pl, NULL, NULL, SOCK_NONBLOCK);
		CHECK(s >= 0, "pending connection %d: accept: %s", i + 1, strerror(errno));
		CHECK(write(pc[i], &w, 1) == 1 && read(s, b, 1) == 1 && b[0] == w,
		      "pending connection %d is not its client's (accept order)", i + 1);
		close(s);
	}
	fcntl(pl, F_SETFL, O_NONBLOCK);
	CHECK(accept(pl, NULL, NULL) < 0 && errno == EAGAIN, "more pending connections than before");
}

/* ---- inet -------------------------------------------------------------------- */
static int iu, it, iu6;
static struct sockaddr_in iua, ita;
static struct sockaddr_in6 iua6;

static void inet_prep(void)
{
	socklen_t l = sizeof(iua);
	int one = 1;

	iu = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	it = socket(AF_INET, SOCK_STREAM, 0);
	iua = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ita = iua;
	setsockopt(it, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	{
		int ttl = 33;
		struct timeval tv = { 1, 500000 };

		if (setsockopt(iu, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0 ||
		    setsockopt(iu, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
		    setsockopt(iu, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		    setsockopt(it, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
		    setsockopt(it, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			DIE("socket options");
	}
	if (iu < 0 || it < 0 || bind(iu, (struct sockaddr *)&iua, sizeof(iua)) < 0 ||
	    bind(it, (struct sockaddr *)&ita, sizeof(ita)) < 0 || listen(it, 7) < 0)
		DIE("inet sockets");
	getsockname(iu, (struct sockaddr *)&iua, &l);
	/* UDP over IPv6, v6-only, bound to ::1 and the loopback device */
	iu6 = socket(AF_INET6, SOCK_DGRAM, 0);
	iua6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	l = sizeof(iua6);
	if (iu6 < 0 || setsockopt(iu6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    setsockopt(iu6, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0 ||
	    bind(iu6, (struct sockaddr *)&iua6, sizeof(iua6)) < 0 ||
	    getsockname(iu6, (struct sockaddr *)&iua6, &l) < 0)
		DIE("UDP over IPv6: %s", strerror(errno));
	l = sizeof(iua);
	l = sizeof(ita);
	getsockname(it, (struct sockaddr *)&ita, &l);
	/* the test checks the backlog (ss's Send-Q of a listener) */
	say("TCPPORT %d", ntohs(ita.sin_port));
}

static void inet_check(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	char b[16];
	int c, s, v = 0;

	CHECK(getsockname(iu, (struct sockaddr *)&a, &l) == 0 && a.sin_port == iua.sin_port &&
	      a.sin_addr.s_addr == iua.sin_addr.s_addr, "UDP: bound address differs");
	CHECK(fcntl(iu, F_GETFL) & O_NONBLOCK, "UDP lost O_NONBLOCK");
	c = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(sendto(c, "udp", 3, 0, (struct sockaddr *)&iua, sizeof(iua)) == 3, "UDP send");
	usleep(10000);
	CHECK(recv(iu, b, sizeof(b), 0) == 3, "UDP: nothing received");
	close(c);
	l = sizeof(a);
	CHECK(getsockname(it, (struct sockaddr *)&a, &l) == 0 && a.sin_port == ita.sin_port, "TCP: bound port differs");
	l = sizeof(v);
	CHECK(getsockopt(it, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v, "TCP: not listening");
	l = sizeof(v);
	CHECK(getsockopt(it, SOL_SOCKET, SO_REUSEADDR, &v, &l) == 0 && v, "TCP: SO_REUSEADDR lost");
	l = sizeof(v);
	CHECK(getsockopt(it, SOL_SOCKET, SO_KEEPALIVE, &v, &l) == 0 && v, "TCP: SO_KEEPALIVE lost");
	l = sizeof(v);
	CHECK(getsockopt(it, IPPROTO_TCP, TCP_NODELAY, &v, &l) == 0 && v, "TCP: TCP_NODELAY lost");
	l = sizeof(v);
	CHECK(getsockopt(iu, IPPROTO_IP, IP_TTL, &v, &l) == 0 && v == 33, "UDP: IP_TTL %d, want 33", v);
	{
		struct sockaddr_in6 a6;
		char dev[16] = "";

		l = sizeof(a6);
		CHECK(getsockname(iu6, (struct sockaddr *)&a6, &l) == 0 && a6.sin6_port == iua6.sin6_port,
		      "UDP6: bound port differs");
		l = sizeof(v);
		CHECK(getsockopt(iu6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l) == 0 && v, "UDP6: IPV6_V6ONLY lost");
		l = sizeof(dev);
		CHECK(getsockopt(iu6, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) == 0 && !strcmp(dev, "lo"),
		      "UDP6: SO_BINDTODEVICE '%s', want lo", dev);
		c = socket(AF_INET6, SOCK_DGRAM, 0);
		CHECK(sendto(c, "v6", 2, 0, (struct sockaddr *)&iua6, sizeof(iua6)) == 2, "UDP6 send");
		close(c);
		usleep(10000);
		CHECK(recv(iu6, b, sizeof(b), MSG_DONTWAIT) == 2, "UDP6: nothing received");
	}
	l = sizeof(v);
	CHECK(getsockopt(iu, SOL_SOCKET, SO_BROADCAST, &v, &l) == 0 && v, "UDP: SO_BROADCAST lost");
	{
		struct timeval tv;

		l = sizeof(tv);
		CHECK(getsockopt(iu, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0 && tv.tv_sec == 1 &&
		      tv.tv_usec == 500000, "UDP: SO_RCVTIMEO lost");
	}
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&ita, sizeof(ita)) == 0, "TCP connect: %s", strerror(errno));
	s = accept(it, NULL, NULL);
	CHECK(s >= 0 && write(c, "tcp", 3) == 3 && read(s, b, 3) == 3, "TCP: accept/talk failed");
	close(c);
	close(s);
}

/* ---- memfd ------------------------------------------------------------------- */
#define MEM_BYTES 100000
static int mf1, mf2, mf2dup, mf2re;

static void memfd_prep(void)
{
	uint8_t *buf = malloc(MEM_BYTES);
	char p[64];

	for (size_t i = 0; i < MEM_BYTES; i++)
		buf[i] = pat(i);
	mf1 = memfd_create("vf-mem", MFD_ALLOW_SEALING);
	mf2 = memfd_create("vf-other", MFD_CLOEXEC);
	if (mf1 < 0 || mf2 < 0 || write(mf1, buf, MEM_BYTES) != MEM_BYTES || ftruncate(mf1, 2 * MEM_BYTES) < 0 ||
	    fcntl(mf1, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 || lseek(mf1, 1234, SEEK_SET) != 1234)
		DIE("memfd 1");
	if (write(mf2, "small contents", 14) != 14)
		DIE("memfd 2");
	mf2dup = dup(mf2);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", mf2);
	mf2re = open(p, O_RDONLY);
	if (mf2dup < 0 || mf2re < 0 || lseek(mf2re, 5, SEEK_SET) != 5)
		DIE("memfd 2 reopen");
	free(buf);
}

static void memfd_check(void)
{
	uint8_t *buf = malloc(2 * MEM_BYTES);
	char p[64], l[128];
	struct stat a, b;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", mf1);
	n = readlink(p, l, sizeof(l) - 1);
	l[n > 0 ? n : 0] = 0;
	CHECK(!strcmp(l, "/memfd:vf-mem (deleted)"), "memfd name: %s", l);
	CHECK(fcntl(mf1, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "memfd seals 0x%x", fcntl(mf1, F_GET_SEALS));
	CHECK(fcntl(mf2, F_GET_SEALS) == F_SEAL_SEAL, "memfd 2 allows sealing now");
	CHECK(fstat(mf1, &a) == 0 && a.st_size == 2 * MEM_BYTES, "memfd size %lld", (long long)a.st_size);
	CHECK(lseek(mf1, 0, SEEK_CUR) == 1234, "memfd offset %lld", (long long)lseek(mf1, 0, SEEK_CUR));
	CHECK(pread(mf1, buf, 2 * MEM_BYTES, 0) == 2 * MEM_BYTES, "memfd read");
	for (size_t i = 0; i < 2 * MEM_BYTES; i++)
		if (buf[i] != (i < MEM_BYTES ? pat(i) : 0)) {
			CHECK(0, "memfd byte %zu differs", i);
			break;
		}
	CHECK(lseek(mf2, 0, SEEK_CUR) == 14 && lseek(mf2re, 0, SEEK_CUR) == 5, "memfd 2 offsets differ");
	CHECK(!(fcntl(mf2dup, F_GETFD) & FD_CLOEXEC) && (fcntl(mf2, F_GETFD) & FD_CLOEXEC), "memfd 2 cloexec flags");
	CHECK(lseek(mf2dup, 0, SEEK_SET) == 0 && lseek(mf2, 0, SEEK_CUR) == 0, "memfd 2 dup does not share the offset");
	CHECK(lseek(mf2re, 0, SEEK_CUR) == 5, "memfd 2 reopen shares the offset");
	CHECK(fstat(mf2, &a) == 0 && fstat(mf2re, &b) == 0 && a.st_ino == b.st_ino, "memfd 2 reopen is another memfd");
	CHECK(pwrite(mf2, "S", 1, 0) == 1 && pread(mf2re, p, 14, 0) == 14 && !memcmp(p, "Small contents", 14),
	      "memfd 2: contents not shared");
	CHECK((fcntl(mf2re, F_GETFL) & O_ACCMODE) == O_RDONLY, "memfd 2 reopen is not read-only");
	free(buf);
}

/* ---- lock ---------------------------------------------------------------------- */
static int lk_a, lk_adup, lk_b, lk_c;
static char lk_path[3][4300];

static void lock_prep(void)
{
	struct flock r = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	struct flock w = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 0 };
	int *fds[3] = { &lk_a, &lk_b, &lk_c };

	for (int i = 0; i < 3; i++) {
		snprintf(lk_path[i], sizeof(lk_path[i]), "%s/vf-lock%d", dir, i);
		*fds[i] = open(lk_path[i], O_RDWR | O_CREAT, 0600);
		if (*fds[i] < 0)
			DIE("open %s", lk_path[i]);
	}
	lk_adup = dup(lk_a);
	if (fcntl(lk_b, F_SETFL, O_APPEND) < 0)
		DIE("O_APPEND");
	if (flock(lk_a, LOCK_EX) < 0 || fcntl(lk_b, F_SETLK, &r) < 0 || fcntl(lk_c, F_OFD_SETLK, &w) < 0)
		DIE("locks");
}

static void lock_check(void)
{
	char want[128];
	struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int o;

	CHECK(fdinfo_has(lk_a, "FLOCK  ADVISORY  WRITE"), "flock lock lost");
	CHECK(fdinfo_has(lk_adup, "FLOCK  ADVISORY  WRITE"), "flock lock not on the dup");
	snprintf(want, sizeof(want), "POSIX  ADVISORY  READ %d ", (int)getpid());
	CHECK(fdinfo_has(lk_b, want) && fdinfo_has(lk_b, " 10 29"), "POSIX lock lost or changed");
	CHECK(fdinfo_has(lk_c, "OFDLCK ADVISORY  WRITE -1 ") && fdinfo_has(lk_c, " 5 EOF"), "OFD lock lost or changed");
	CHECK(fcntl(lk_b, F_GETFL) & O_APPEND, "file lost O_APPEND");
	o = open(lk_path[0], O_RDWR);
	CHECK(flock(o, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK, "flock: another description got the lock");
	close(o);
	o = open(lk_path[2], O_RDWR);
	CHECK(fcntl(o, F_OFD_GETLK, &q) == 0 && q.l_type == F_WRLCK && q.l_start == 5, "OFD lock does not conflict");
	close(o);
}

/* ---- inotify ----------------------------------------------------------------- */
static int ino_fd;
static char ino_dir[4200], ino_file[4300];

static void inotify_prep(void)
{
	char buf[4096];
	int f;

	snprintf(ino_dir, sizeof(ino_dir), "%s/vf-watched", dir);
	snprintf(ino_file, sizeof(ino_file), "%s/file", ino_dir);
	mkdir(ino_dir, 0700);
	f = open(ino_file, O_CREAT | O_WRONLY, 0600);
	close(f);
	ino_fd = inotify_init1(IN_NONBLOCK);
	if (ino_fd < 0 || inotify_add_watch(ino_fd, "/", IN_ACCESS) != 1 ||
	    inotify_add_watch(ino_fd, ino_file, IN_MODIFY | IN_ONESHOT) != 2 ||
	    inotify_rm_watch(ino_fd, 1) < 0 ||
	    inotify_add_watch(ino_fd, ino_dir, IN_CREATE | IN_DELETE) != 3)
		DIE("inotify");
	while (read(ino_fd, buf, sizeof(buf)) > 0)
		; /* the IN_IGNORED of wd 1 */
}

static void inotify_check(void)
{
	char buf[4096], p[4400], want[64];
	struct inotify_event *e = (struct inotify_event *)buf;
	struct timespec ts;
	ssize_t n;
	int f;

	snprintf(want, sizeof(want), "inotify wd:2 ");
	CHECK(fdinfo_has(ino_fd, want), "inotify: no wd 2");
	snprintf(want, sizeof(want), "inotify wd:3 ");
	CHECK(fdinfo_has(ino_fd, want), "inotify: no wd 3");
	CHECK(!fdinfo_has(ino_fd, "inotify wd:1 "), "inotify: wd 1 is back");
	snprintf(want, sizeof(want), "mask:%x ", IN_MODIFY | IN_ONESHOT);
	CHECK(fdinfo_has(ino_fd, want), "inotify: the mask of wd 2 differs");
	CHECK(fcntl(ino_fd, F_GETFL) & O_NONBLOCK, "inotify lost O_NONBLOCK");
	CHECK(read(ino_fd, buf, sizeof(buf)) < 0 && errno == EAGAIN, "inotify: events queued after the restore");
	/* a new name each time: the original and the restored copy both check */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(p, sizeof(p), "%s/new-%ld", ino_dir, (long)ts.tv_nsec);
	f = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
	close(f);
	n = read(ino_fd, buf, sizeof(buf));
	CHECK(n > 0 && e->wd == 3 && (e->mask & IN_CREATE) && !strcmp(e->name, strrchr(p, '/') + 1),
	      "inotify: no IN_CREATE for wd 3 (%zd bytes)", n);
	f = open(ino_file, O_WRONLY);
	CHECK(write(f, "x", 1) == 1, "write the watched file");
	close(f);
	n = read(ino_fd, buf, sizeof(buf));
	CHECK(n > 0 && e->wd == 2 && (e->mask & IN_MODIFY), "inotify: no IN_MODIFY for wd 2");
}

/* ---- refused ------------------------------------------------------------------ */
static void refuse_prep(const char *m)
{
	char p[4300];
	int f, sv[2];

	if (!strcmp(m, "r-scm")) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} c;
		struct iovec iov = { "x", 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
				     .msg_controllen = sizeof(c) };

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			DIE("socketpair");
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&c.h), &out, sizeof(int));
		if (sendmsg(sv[0], &mh, 0) != 1)
			DIE("sendmsg");
	} else if (!strcmp(m, "r-epoll")) {
		int epf = epoll_create1(0), e = eventfd(0, 0), d = dup(e);
		struct epoll_event ev = { .events = EPOLLIN };

		if (epf < 0 || e < 0 || d < 0 || epoll_ctl(epf, EPOLL_CTL_ADD, e, &ev) < 0)
			DIE("epoll");
		close(e);
	} else if (!strcmp(m, "r-lease")) {
		snprintf(p, sizeof(p), "%s/vf-lease", dir);
		f = open(p, O_RDONLY | O_CREAT, 0600);
		if (f < 0 || fcntl(f, F_SETLEASE, F_RDLCK) < 0)
			DIE("lease: %s", strerror(errno));
	} else if (!strcmp(m, "r-lockmap")) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		snprintf(p, sizeof(p), "%s/vf-lockmap", dir);
		f = open(p, O_RDWR | O_CREAT, 0600);
		if (f < 0 || ftruncate(f, 4096) < 0 || fcntl(f, F_SETLK, &l) < 0 ||
		    mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0) == MAP_FAILED)
			DIE("lockmap");
	} else if (!strcmp(m, "r-tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t l = sizeof(a);
		int ls = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);

		if (ls < 0 || c < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
		    getsockname(ls, (struct sockaddr *)&a, &l) < 0 ||
		    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 || accept(ls, NULL, NULL) < 0)
			DIE("tcp");
	} else if (!strcmp(m, "r-fifo")) {
		snprintf(p, sizeof(p), "%s/vf-gone", dir);
		unlink(p);
		if (mkfifo(p, 0600) < 0 || open(p, O_RDWR) < 0 || unlink(p) < 0)
			DIE("fifo");
	} else {
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	const char *m;
	char *slash;
	sigset_t none;

	if (argc < 3)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	m = argv[2];
	sigaction(SIGTERM, &sa, NULL);
	if (!strcmp(m, "event"))
		event_prep();
	else if (!strcmp(m, "pipe"))
		pipe_prep();
	else if (!strcmp(m, "epoll"))
		epoll_prep();
	else if (!strcmp(m, "unix"))
		unix_prep();
	else if (!strcmp(m, "inet"))
		inet_prep();
	else if (!strcmp(m, "inotify"))
		inotify_prep();
	else if (!strcmp(m, "memfd"))
		memfd_prep();
	else if (!strcmp(m, "lock"))
		lock_prep();
	else if (!strncmp(m, "r-", 2))
		refuse_prep(m);
	else
		return 2;
	say("READY");
	sigemptyset(&none);
	while (!got_term)
		sigsuspend(&none);
	if (!strcmp(m, "event"))
		event_check();
	else if (!strcmp(m, "pipe"))
		pipe_check();
	else if (!strcmp(m, "epoll"))
		epoll_check();
	else if (!strcmp(m, "unix"))
		unix_check();
	else if (!strcmp(m, "inotify"))
		inotify_check();
	else if (!strcmp(m, "memfd"))
		memfd_check();
	else if (!strcmp(m, "lock"))
		lock_check();
	else if (!strncmp(m, "r-", 2))
		; /* refused: it only has to be alive and well */
	else
		inet_check();
	if (fails)
		say("FAIL: %d checks failed", fails);
	else
		say("PASS");
	return fails != 0;
}
