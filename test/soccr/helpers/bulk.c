/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bulk: both ends of a two-way bulk transfer whose bytes are checked one by
 * one (stream 1 client->server, stream 2 server->client, see pat()).
 *
 *   bulk client ADDR PORT TOTAL
 *       connects, sends TOTAL bytes and receives TOTAL bytes at the same
 *       time, checks each; exit 0 only if every byte was right and the
 *       connection was never reset.
 *   bulk server ADDR PORT TOTAL STATEFILE
 *       accepts one client and runs the other end.  On SIGUSR1 it stops
 *       between two system calls, writes "FD SENT RECEIVED" to STATEFILE
 *       and waits to be killed: the connection is ready to be taken.
 *   bulk backend UNIXPATH STATEFILE TOTAL
 *       a running backend: listens on UNIXPATH, receives the socket with
 *       SCM_RIGHTS (cr-tcp restore --send-to), reads where the old server
 *       stopped from STATEFILE and finishes the transfer.
 *   bulk resume SENT RECEIVED TOTAL
 *       the same, with the socket on fd 3 (cr-tcp restore -- bulk resume).
 *
 * Progress and errors go to stderr.  Exit 0 ok, 1 wrong byte/reset/timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

static inline uint8_t pat(uint64_t i, unsigned k)
{
	return (uint8_t)(i * 131u + k * 17u + (i >> 11) + (i >> 19) * 7u);
}

static volatile sig_atomic_t stop;
static void on_usr1(int s) { (void)s; stop = 1; }

static const char *who = "bulk";

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", who);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static int parse_addr(const char *a, const char *p, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)atoi(p));
		if (inet_pton(AF_INET6, a, &s->sin6_addr) != 1)
			return -1;
		*len = sizeof(*s);
	} else {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)atoi(p));
		if (inet_pton(AF_INET, a, &s->sin_addr) != 1)
			return -1;
		*len = sizeof(*s);
	}
	return 0;
}

/*
 * The transfer loop: send stream `sk` from *sent, receive stream `rk` at
 * *rcvd, until both reach total.  stop_ok: return early when SIGUSR1 came.
 */
static int pump(int fd, uint64_t *sent, uint64_t *rcvd, uint64_t total, unsigned sk, unsigned rk,
		int stop_ok)
{
	static uint8_t out[65536], in[65536];
	int idle = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (*sent < total || *rcvd < total) {
		struct pollfd p = { .fd = fd, .events = (*rcvd < total ? POLLIN : 0) | (*sent < total ? POLLOUT : 0) };
		int n;

		if (stop_ok && stop)
			return 1;
		n = poll(&p, 1, 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			if (++idle > 300) {
				fprintf(stderr, "%s: no progress for 30 s (sent %llu, received %llu)\n", who,
					(unsigned long long)*sent, (unsigned long long)*rcvd);
				return -1;
			}
			continue;
		}
		idle = 0;
		if (stop_ok && stop)
			return 1;
		if (p.revents & POLLIN) {
			ssize_t r = recv(fd, in, sizeof(in), 0);

			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "%s: recv at %llu: %s\n", who, (unsigned long long)*rcvd, strerror(errno));
				return -1;
			}
			if (r == 0 && *rcvd < total) {
				fprintf(stderr, "%s: EOF at %llu of %llu\n", who, (unsigned long long)*rcvd,
					(unsigned long long)total);
				return -1;
			}
			for (ssize_t i = 0; i < r; i++) {
				if (in[i] != pat(*rcvd + (uint64_t)i, rk)) {
					fprintf(stderr, "%s: byte %llu is wrong (0x%02x, want 0x%02x)\n", who,
						(unsigned long long)(*rcvd + (uint64_t)i), in[i], pat(*rcvd + (uint64_t)i, rk));
					return -1;
				}
			}
			if (r > 0)
				*rcvd += (uint64_t)r;
		} else if (p.revents & (POLLERR | POLLHUP)) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
			fprintf(stderr, "%s: connection error: %s\n", who, strerror(err));
			return -1;
		}
		if ((p.revents & POLLOUT) && *sent < total) {
			size_t n2 = total - *sent < sizeof(out) ? (size_t)(total - *sent) : sizeof(out);
			ssize_t w;

			for (size_t i = 0; i < n2; i++)
				out[i] = pat(*sent + i, sk);
			w = send(fd, out, n2, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "%s: send at %llu: %s\n", who, (unsigned long long)*sent, strerror(errno));
				return -1;
			}
			if (w > 0)
				*sent += (uint64_t)w;
		}
	}
	return 0;
}

/* The end of a server: everything went both ways, close and see EOF. */
static int finish_server(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	shutdown(fd, SHUT_WR);
	if (poll(&p, 1, 10000) <= 0 || recv(fd, &c, 1, 0) != 0) {
		fprintf(stderr, "%s: no clean EOF from the client\n", who);
		return 1;
	}
	close(fd);
	return 0;
}

static int read_state(const char *path, uint64_t *sent, uint64_t *rcvd)
{
	unsigned long long a, b;
	int fd;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%d %llu %llu", &fd, &a, &b) != 3)
		die("cannot read %s", path);
	fclose(f);
	*sent = a;
	*rcvd = b;
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t sent = 0, rcvd = 0, total;

	if (argc < 2)
		die("usage: see the source%s", "");
	if (!strcmp(argv[1], "client") && argc == 5) {
		int fd;

		who = "bulk client";
		total = strtoull(argv[4], NULL, 0);
		if (parse_addr(argv[2], argv[3], &ss, &len) < 0)
			die("bad address %s", argv[2]);
		/* The server may still be starting: retry for a while. */
		for (int i = 0;; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, len) == 0)
				break;
			if (errno != ECONNREFUSED || i == 100)
				die("connect: %s", strerror(errno));
			close(fd);
			usleep(50000);
		}
		if (pump(fd, &sent, &rcvd, total, 1, 2, 0) < 0)
			return 1;
		/* Then the server's FIN, no reset. */
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };
			char c;

			fcntl(fd, F_SETFL, 0);
			if (poll(&p, 1, 10000) <= 0 || recv(fd, &c, 1, 0) != 0)
				die("no clean EOF from the server: %s", strerror(errno));
		}
		close(fd);
		fprintf(stderr, "%s: %llu bytes each way, all correct\n", who, (unsigned long long)total);
		return 0;
	}
	if (!strcmp(argv[1], "server") && argc == 6) {
		int l, fd, one = 1, r;
		FILE *f;

		who = "bulk server";
		total = strtoull(argv[4], NULL, 0);
		signal(SIGUSR1, on_usr1);
		if (parse_addr(argv[2], argv[3], &ss, &len) < 0)
			die("bad address %s", argv[2]);
		l = socket(ss.ss_family, SOCK_STREAM, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 4) < 0)
			die("listen: %s", strerror(errno));
		fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		close(l);
		r = pump(fd, &sent, &rcvd, total, 2, 1, 1);
		if (r < 0)
			return 1;
		if (r == 0)
			return finish_server(fd);
		{
			char tmp[4096];

			snprintf(tmp, sizeof(tmp), "%s.tmp", argv[5]);
			f = fopen(tmp, "w");
			if (!f)
				die("cannot write %s", tmp);
			fprintf(f, "%d %llu %llu\n", fd, (unsigned long long)sent, (unsigned long long)rcvd);
			fclose(f);
			rename(tmp, argv[5]);
		}
		fprintf(stderr, "%s: stopped at sent %llu received %llu\n", who, (unsigned long long)sent,
			(unsigned long long)rcvd);
		for (;;)
			pause();
	}
	if (!strcmp(argv[1], "backend") && argc == 5) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		char cbuf[CMSG_SPACE(sizeof(int) * 4)], line[64];
		struct iovec iov = { line, sizeof(line) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		int l, a, fd = -1;

		who = "bulk backend";
		total = strtoull(argv[4], NULL, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
		l = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l, 1) < 0)
			die("unix listen: %s", strerror(errno));
		a = accept(l, NULL, NULL);
		if (a < 0 || recvmsg(a, &mh, 0) <= 0)
			die("recvmsg: %s", strerror(errno));
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		if (fd < 0)
			die("no socket received%s", "");
		close(a);
		close(l);
		unlink(argv[2]);
		read_state(argv[3], &sent, &rcvd);
		fprintf(stderr, "%s: took over at sent %llu received %llu\n", who, (unsigned long long)sent,
			(unsigned long long)rcvd);
		if (pump(fd, &sent, &rcvd, total, 2, 1, 0) < 0)
			return 1;
		return finish_server(fd);
	}
	if (!strcmp(argv[1], "resume") && argc == 5) {
		who = "bulk resume";
		sent = strtoull(argv[2], NULL, 0);
		rcvd = strtoull(argv[3], NULL, 0);
		total = strtoull(argv[4], NULL, 0);
		if (pump(3, &sent, &rcvd, total, 2, 1, 0) < 0)
			return 1;
		return finish_server(3);
	}
	die("bad arguments (see the source)%s", "");
}
