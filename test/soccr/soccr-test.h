/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soccr-test.h - what the soccr tests share: a verifiable byte stream,
 * loopback pairs, full I/O with timeouts, and an in-process hand-off that
 * goes through an image stream (memfd) so that every test also checks the
 * records.  Header-only: each test is one program.
 */
#ifndef SOCCR_TEST_H
#define SOCCR_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <crimg.h>
#include <soccr.h>

#include "../lib/test.h"

/* Stream k's byte at offset i: position-dependent, so a lost, duplicated
 * or reordered byte shows at once. */
static inline uint8_t pat(uint64_t i, unsigned k)
{
	return (uint8_t)(i * 131u + k * 17u + (i >> 11) + (i >> 19) * 7u);
}

static inline void pat_fill(uint8_t *b, uint64_t off, size_t len, unsigned k)
{
	for (size_t j = 0; j < len; j++)
		b[j] = pat(off + j, k);
}

/* Returns -1 if the bytes match, else the offset of the first bad byte. */
static inline int64_t pat_check(const uint8_t *b, uint64_t off, size_t len, unsigned k)
{
	for (size_t j = 0; j < len; j++)
		if (b[j] != pat(off + j, k))
			return (int64_t)(off + j);
	return -1;
}

static void st_log(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level <= LOG_INFO || getenv("SOCCR_TEST_DEBUG"))
		fprintf(stderr, "  soccr[%d]: %s\n", level, msg);
}

static inline void need_root(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 1;

	if (fd < 0)
		t_fail("socket: %s", strerror(errno));
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &v, sizeof(v)) < 0) {
		close(fd);
		t_skip("TCP_REPAIR not allowed here (%s): CAP_NET_ADMIN is needed", strerror(errno));
	}
	close(fd);
}

/* A connected pair over loopback (127.0.0.1 or ::1).  cli_rcvbuf: 0 for
 * the default. */
static inline void tcp_pair(int family, int *cli, int *srv, int cli_rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, c, s, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		t_fail("socket: %s", strerror(errno));
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 8) < 0)
		t_fail("bind/listen: %s", strerror(errno));
	if (getsockname(l, (struct sockaddr *)&ss, &len) < 0)
		t_fail("getsockname: %s", strerror(errno));
	c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cli_rcvbuf)
		setsockopt(c, SOL_SOCKET, SO_RCVBUF, &cli_rcvbuf, sizeof(cli_rcvbuf));
	if (connect(c, (struct sockaddr *)&ss, len) < 0)
		t_fail("connect: %s", strerror(errno));
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		t_fail("accept: %s", strerror(errno));
	close(l);
	*cli = c;
	*srv = s;
}

/* Writes everything, waiting up to ms for room.  Returns bytes written. */
static inline size_t write_some(int fd, const void *buf, size_t len, int ms)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				t_fail("send: %s", strerror(errno));
			if (poll(&p, 1, ms) <= 0)
				break;
			continue;
		}
		off += (size_t)n;
	}
	return off;
}

/* Reads exactly len bytes within ms; fails on EOF, error or timeout. */
static inline void read_exact(int fd, void *buf, size_t len, int ms)
{
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			t_fail("read: timed out after %zu of %zu bytes", off, len);
		n = recv(fd, (char *)buf + off, len - off, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			t_fail("recv: %s after %zu of %zu bytes", strerror(errno), off, len);
		if (n == 0)
			t_fail("recv: EOF after %zu of %zu bytes", off, len);
		off += (size_t)n;
	}
}

/* Expects EOF within ms. */
static inline void expect_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		t_fail("no EOF within %d ms", ms);
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	if (n != 0)
		t_fail("expected EOF, got %zd (%s)", n, n < 0 ? strerror(errno) : "data");
}

/* Drops every packet to fd (simulates loss towards it). */
static inline void drop_all(int fd, int on)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };
	int v = 0;

	if (on ? setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))
	       : setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &v, sizeof(v)) && errno != ENOENT)
		t_fail("socket filter: %s", strerror(errno));
}

static inline int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		t_fail("TCP_INFO: %s", strerror(errno));
	return ti.tcpi_state;
}

/* Writes t as an image into a memfd and reads it back. */
static inline struct soccr_tcp *image_roundtrip(const struct soccr_tcp *t)
{
	struct crimg_writer *w;
	struct crimg_reader *r;
	const struct crimg_record *rec;
	struct soccr_tcp *back = NULL;
	int fd = memfd_create("soccr-img", MFD_CLOEXEC), e;

	if (fd < 0)
		t_fail("memfd: %s", strerror(errno));
	t_ok(crimg_writer__new(fd, NULL, &w));
	t_ok(soccr_tcp__write(t, w));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	lseek(fd, 0, SEEK_SET);
	t_ok(crimg_reader__new(fd, NULL, &r));
	while ((e = crimg_reader__next(r, &rec)) > 0) {
		if (rec->type == CRIMG_T_TCP_CONN || rec->type == CRIMG_T_TCP_LISTEN) {
			LIBSOCCR_OPTS(soccr_read_opts, o, .log = st_log);
			t_assert(!back);
			t_ok(soccr_tcp__read(r, rec, &o, &back));
		}
	}
	if (e < 0)
		t_fail("reading the image back: %s", crimg_reader__errmsg(r));
	crimg_reader__free(r);
	close(fd);
	if (!back)
		t_fail("no TCP record in the image");
	return back;
}

/* The whole in-process hand-off: lock, save, image round trip, close the
 * old socket, restore, unlock.  Returns the new fd; *saved (if not NULL)
 * gets the saved state (caller frees). */
static inline int handoff(int fd, struct soccr_tcp **saved)
{
	LIBSOCCR_OPTS(soccr_restore_opts, ro, .log = st_log);
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = st_log);
	struct soccr_netlock *lk;
	struct soccr_tcp *t, *t2;
	int nfd;

	t_ok(soccr_netlock__new(&lo, &lk));
	LIBSOCCR_OPTS(soccr_save_opts, so, .log = st_log, .lock = lk);
	t_ok(soccr_save(fd, &so, &t));
	t2 = image_roundtrip(t);
	soccr_tcp__free(t);
	close(fd);
	t_ok(soccr_restore(t2, &ro, &nfd));
	t_ok(soccr_netlock__release(lk));
	soccr_netlock__free(lk);
	if (saved)
		*saved = t2;
	else
		soccr_tcp__free(t2);
	return nfd;
}

#endif
