/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The half-closed states survive a hand-off: FIN_WAIT1, FIN_WAIT2,
 * CLOSE_WAIT, LAST_ACK, CLOSING, each with data still queued where the
 * state allows.  The restored socket must be in the saved state; the
 * client reads every byte, then EOF where the server had closed its side,
 * and never sees a reset.  IPv4 and IPv6.
 */
#include "soccr-test.h"

#define N 20000

static void check_no_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err)
		t_fail("client socket error: %s", strerror(err));
}

static void expect_state(int fd, uint32_t want, const char *what)
{
	int st = tcp_state(fd);

	if ((uint32_t)st != want)
		t_fail("%s: restored socket is %s, want %s", what, soccr_state_name(st), soccr_state_name(want));
}

static void run(int family, uint32_t target)
{
	static uint8_t buf[N];
	const char *name = soccr_state_name(target);
	struct soccr_tcp *t;
	int c, s, ns;
	int64_t bad;

	tcp_pair(family, &c, &s, 0);
	/* Data both ways, left unread, before any FIN. */
	pat_fill(buf, 0, N, 1);
	t_assert(write_some(c, buf, N, 1000) == N);
	pat_fill(buf, 0, N, 2);
	t_assert(write_some(s, buf, N, 1000) == N);
	usleep(20000);

	switch (target) {
	case SOCCR_FIN_WAIT1:
		drop_all(c, 1);         /* our FIN is never acknowledged */
		shutdown(s, SHUT_WR);
		break;
	case SOCCR_FIN_WAIT2:
		shutdown(s, SHUT_WR);
		break;
	case SOCCR_CLOSE_WAIT:
		shutdown(c, SHUT_WR);
		break;
	case SOCCR_LAST_ACK:
		shutdown(c, SHUT_WR);
		usleep(20000);
		drop_all(c, 1);
		shutdown(s, SHUT_WR);
		break;
	case SOCCR_CLOSING:
		drop_all(c, 1);
		shutdown(s, SHUT_WR);   /* FIN lost */
		usleep(20000);
		shutdown(c, SHUT_WR);   /* client's FIN arrives: CLOSING */
		break;
	}
	for (int i = 0; i < 100 && (uint32_t)tcp_state(s) != target; i++)
		usleep(10000);
	if ((uint32_t)tcp_state(s) != target)
		t_fail("%s: could not set up the state (got %s)", name, soccr_state_name(tcp_state(s)));

	ns = handoff(s, &t);
	t_assert(soccr_tcp__state(t) == target);
	t_assert(soccr_tcp__received(t) == N);
	soccr_tcp__free(t);
	expect_state(ns, target, name);
	drop_all(c, 0);

	/* The server side reads what the client sent, then EOF if the
	 * client had closed. */
	read_exact(ns, buf, N, 3000);
	if ((bad = pat_check(buf, 0, N, 1)) >= 0)
		t_fail("%s: server byte %lld wrong", name, (long long)bad);
	if (target == SOCCR_CLOSE_WAIT || target == SOCCR_LAST_ACK || target == SOCCR_CLOSING)
		expect_eof(ns, 3000);

	/* The client reads the server's data, then EOF if it had closed
	 * (a lost FIN comes again: the retransmit timer of the new socket). */
	read_exact(c, buf, N, 5000);
	if ((bad = pat_check(buf, 0, N, 2)) >= 0)
		t_fail("%s: client byte %lld wrong", name, (long long)bad);
	if (target != SOCCR_CLOSE_WAIT)
		expect_eof(c, 5000);

	/* The open direction still works. */
	if (target == SOCCR_FIN_WAIT1 || target == SOCCR_FIN_WAIT2) {
		t_assert(write_some(c, "more", 4, 1000) == 4);
		read_exact(ns, buf, 4, 3000);
		t_assert(!memcmp(buf, "more", 4));
	}
	if (target == SOCCR_CLOSE_WAIT) {
		t_assert(write_some(ns, "more", 4, 1000) == 4);
		read_exact(c, buf, 4, 3000);
		t_assert(!memcmp(buf, "more", 4));
		close(ns);
		expect_eof(c, 3000);
		ns = -1;
	}
	check_no_error(c);
	if (ns >= 0)
		close(ns);
	close(c);
	t_log("%s %s: ok", family == AF_INET ? "IPv4" : "IPv6", name);
}

/*
 * Our FIN still queued behind data the peer's full window holds back:
 * FIN_WAIT1 comes back as FIN_WAIT1, CLOSING (the peer closed too) as
 * LAST_ACK (documented: the same segments on the wire).  The client then
 * reads every byte and the EOF.
 */
static void run_unsent(int family, int peer_closes)
{
	static uint8_t buf[1 << 20], rb[1 << 20];
	struct soccr_tcp *t;
	int c, s, ns, sb = 4 << 20;
	size_t w, got = 0;
	uint32_t want = peer_closes ? SOCCR_CLOSING : SOCCR_FIN_WAIT1;
	int64_t bad;

	tcp_pair(family, &c, &s, 16 * 1024);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	pat_fill(buf, 0, sizeof(buf), 4);
	w = write_some(s, buf, sizeof(buf), 200);
	usleep(50000);
	shutdown(s, SHUT_WR);
	if (peer_closes)
		shutdown(c, SHUT_WR);
	for (int i = 0; i < 100 && (uint32_t)tcp_state(s) != want; i++)
		usleep(10000);
	if ((uint32_t)tcp_state(s) != want)
		t_fail("unsent FIN: could not set up %s (got %s)", soccr_state_name(want),
		       soccr_state_name(tcp_state(s)));
	ns = handoff(s, &t);
	t_assert(soccr_tcp__unsent(t) > 0);
	t_assert(soccr_tcp__state(t) == want);
	soccr_tcp__free(t);
	expect_state(ns, peer_closes ? SOCCR_LAST_ACK : SOCCR_FIN_WAIT1, "unsent FIN");
	while (got < w) {
		size_t n = w - got > 65536 ? 65536 : w - got;

		read_exact(c, rb + got, n, 5000);
		got += n;
	}
	if ((bad = pat_check(rb, 0, w, 4)) >= 0)
		t_fail("unsent FIN: byte %lld wrong", (long long)bad);
	expect_eof(c, 5000);
	if (peer_closes)
		expect_eof(ns, 3000);
	check_no_error(c);
	close(ns);
	close(c);
	t_log("%s %s with our FIN behind unsent data: ok", family == AF_INET ? "IPv4" : "IPv6",
	      soccr_state_name(want));
}

int main(void)
{
	static const uint32_t states[] = { SOCCR_FIN_WAIT1, SOCCR_FIN_WAIT2, SOCCR_CLOSE_WAIT,
					   SOCCR_LAST_ACK, SOCCR_CLOSING };
	need_root();
	for (unsigned i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		run(AF_INET, states[i]);
		run(AF_INET6, states[i]);
	}
	run_unsent(AF_INET, 0);
	run_unsent(AF_INET6, 1);
	printf("PASS\n");
	return 0;
}
