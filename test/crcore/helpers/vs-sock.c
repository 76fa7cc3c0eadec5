/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-sock - unix sockets and listeners shared by the processes of a tree,
 * for share-sock:
 *
 *   vs-sock peers DIR     a parent and a forked child joined by a stream,
 *                         a seqpacket and a datagram socket pair, and by a
 *                         connection the parent accepted from the child on
 *                         a named listener (DIR/sock); a second connection
 *                         of the child waits in the listener's queue; a
 *                         datagram socket of the child is connected to one
 *                         the parent bound (DIR/dg).  Each side queues data
 *                         for the other and writes DIR/ready
 *                         (parent) once everything is queued.  On SIGTERM
 *                         each reads what was queued for it, checks every
 *                         byte and message bound, then both exchange more
 *                         over every connection (the parent accepts the
 *                         waiting one), and print "PASS parent"/"PASS child".
 *
 *   vs-sock prefork DIR N a pre-forking server: the parent listens on TCP
 *                         127.0.0.1 (port in DIR/port) and on DIR/srv (unix),
 *                         forks N children blocked in accept() on the TCP
 *                         socket and one on the unix one, and waits for
 *                         them.  A child answers each line it reads with
 *                         "pid=P n=N line" (N: how many it served) and closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static const char *who = "?";

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d)\n", errno);
	fflush(stdout);
	exit(1);
}

static void put(int s, const void *b, size_t n)
{
	const char *p = b;

	while (n) {
		ssize_t w = write(s, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* exactly strlen(want) bytes of a stream, equal to want */
static void expect(int s, const char *what, const char *want)
{
	char buf[256];
	size_t n = strlen(want), got = 0;

	while (got < n) {
		ssize_t r = read(s, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s: read %zd after %zu bytes", what, r, got);
		got += (size_t)r;
	}
	if (memcmp(buf, want, n))
		die("%s: got '%.*s', not '%s'", what, (int)n, buf, want);
}

/* one message of a message socket, equal to want (its bounds kept) */
static void expect_msg(int s, const char *what, const char *want)
{
	char buf[256];
	ssize_t r;

	do
		r = recv(s, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)r))
		die("%s: got %zd bytes '%.*s', not '%s'", what, r, r > 0 ? (int)r : 0, buf, want);
}

static void wait_term(void)
{
	while (!got_term)
		pause();
}

static int peers(const char *dir)
{
	int st[2], sq[2], dg[2], l, c1, c2, a1, a2, bd, cd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, da = { .sun_family = AF_UNIX };
	char path[200];
	pid_t child;

	signal(SIGTERM, on_term);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) < 0)
		die("socketpair");
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 8) < 0)
		die("listen on %s", sa.sun_path);
	snprintf(da.sun_path, sizeof(da.sun_path), "%s/dg", dir);
	bd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bd < 0 || bind(bd, (struct sockaddr *)&da, sizeof(da)) < 0)
		die("bind %s", da.sun_path);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		who = "child";
		close(st[0]);
		close(sq[0]);
		close(dg[0]);
		close(l);
		close(bd);
		cd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (cd < 0 || connect(cd, (struct sockaddr *)&da, sizeof(da)) < 0)
			die("connect the datagram socket");
		send(cd, "to the bound one", 16, 0);
		c1 = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c1 < 0 || connect(c1, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect");
		put(c1, "to the server", 13);
		put(st[1], "child to parent", 15);
		send(dg[1], "d1", 2, 0);
		send(dg[1], "dgram two", 9, 0);
		/* the second connection waits in the listener's queue */
		c2 = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c2 < 0 || connect(c2, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect 2");
		snprintf(path, sizeof(path), "%s/child-ready", dir);
		close(open(path, O_CREAT | O_WRONLY, 0600));
		wait_term();
		/* what was queued for us */
		expect(st[1], "stream pair", "parent to child");
		expect_msg(sq[1], "seqpacket 1", "m1");
		expect_msg(sq[1], "seqpacket 2", "message 22");
		expect_msg(sq[1], "seqpacket 3", "");
		expect(c1, "accepted connection", "to the client");
		/* and live: one more round each way */
		put(st[1], "ping", 4);
		expect(st[1], "stream pair reply", "pong");
		send(sq[1], "sq ping", 7, 0);
		expect_msg(sq[1], "seqpacket reply", "sq pong");
		put(c1, "more", 4);
		expect(c1, "connection reply", "erom");
		send(cd, "after", 5, 0);
		put(c2, "late client", 11);
		expect(c2, "late connection reply", "welcome");
		printf("PASS child\n");
		fflush(stdout);
		return 0;
	}
	who = "parent";
	close(st[1]);
	close(sq[1]);
	close(dg[1]);
	a1 = accept(l, NULL, NULL);
	if (a1 < 0)
		die("accept");
	put(a1, "to the client", 13);
	put(st[0], "parent to child", 15);
	send(sq[0], "m1", 2, 0);
	send(sq[0], "message 22", 10, 0);
	send(sq[0], "", 0, 0);
	snprintf(path, sizeof(path), "%s/child-ready", dir);
	while (access(path, F_OK) < 0)
		usleep(1000);
	usleep(20000); /* the child's datagrams and connection are queued */
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	wait_term();
	expect(st[0], "stream pair", "child to parent");
	expect_msg(dg[0], "datagram 1", "d1");
	expect_msg(dg[0], "datagram 2", "dgram two");
	expect(a1, "accepted connection", "to the server");
	expect_msg(bd, "bound datagram socket", "to the bound one");
	expect(st[0], "stream pair ping", "ping");
	put(st[0], "pong", 4);
	expect_msg(sq[0], "seqpacket ping", "sq ping");
	send(sq[0], "sq pong", 7, 0);
	expect(a1, "connection more", "more");
	put(a1, "erom", 4);
	expect_msg(bd, "bound datagram socket, after", "after");
	a2 = accept(l, NULL, NULL);
	if (a2 < 0)
		die("accept the waiting connection");
	expect(a2, "late connection", "late client");
	put(a2, "welcome", 7);
	{
		int status;

		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
			die("the child ended with status %d", status);
	}
	printf("PASS parent\n");
	fflush(stdout);
	return 0;
}

static void serve(int l)
{
	unsigned n = 0;

	signal(SIGTERM, SIG_DFL);
	for (;;) {
		char line[128], out[256];
		ssize_t r;
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		r = read(c, line, sizeof(line) - 1);
		if (r > 0) {
			int k;

			line[r] = 0;
			line[strcspn(line, "\n")] = 0;
			k = snprintf(out, sizeof(out), "pid=%d n=%u %s\n", (int)getpid(), ++n, line);
			put(c, out, (size_t)k);
		}
		close(c);
	}
}

static int prefork(const char *dir, int n)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t sl = sizeof(in);
	char path[200];
	FILE *f;
	int t, u, one = 1;

	who = "server";
	t = socket(AF_INET, SOCK_STREAM, 0);
	if (t < 0 || setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(t, (struct sockaddr *)&in, sizeof(in)) < 0 || listen(t, 16) < 0 ||
	    getsockname(t, (struct sockaddr *)&in, &sl) < 0)
		die("TCP listener");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/srv", dir);
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(u, 16) < 0)
		die("unix listener");
	for (int i = 0; i <= n; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0) {
			who = "worker";
			serve(i < n ? t : u);
		}
	}
	snprintf(path, sizeof(path), "%s/port.tmp", dir);
	f = fopen(path, "w");
	if (!f)
		die("%s", path);
	fprintf(f, "%d\n", ntohs(in.sin_port));
	fclose(f);
	{
		char final[200];

		snprintf(final, sizeof(final), "%s/port", dir);
		rename(path, final);
	}
	for (;;)
		if (wait(NULL) < 0 && errno == ECHILD)
			break;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "peers"))
		return peers(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "prefork"))
		return prefork(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: vs-sock peers DIR | vs-sock prefork DIR N\n");
	return 100;
}
