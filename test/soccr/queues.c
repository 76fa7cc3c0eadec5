/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Data queued in both directions survives a hand-off: the server socket
 * holds received-but-unread bytes, bytes sent but not acknowledged (the
 * client drops everything for a while, as a lossy path would) and bytes
 * not sent yet (the client's window is full).  After the hand-off both
 * sides read and check every byte; the client must see no reset.
 * IPv4 and IPv6.
 */
#include "soccr-test.h"

#define TO_SRV (96 * 1024)      /* client -> server, left unread in the server */
#define TO_CLI (1024 * 1024)    /* server -> client */

static void one(int family)
{
	static uint8_t buf[TO_CLI];
	struct soccr_tcp *t;
	int c, s, ns;
	size_t w1, w2;
	int64_t bad;

	tcp_pair(family, &c, &s, 64 * 1024);

	/* Receive queue of the server. */
	pat_fill(buf, 0, TO_SRV, 1);
	t_assert(write_some(c, buf, TO_SRV, 2000) == TO_SRV);
	usleep(50000);

	/* Unacked: the client drops what arrives.  Unsent: its window is
	 * small, so once the window is used up the rest waits. */
	drop_all(c, 1);
	pat_fill(buf, 0, TO_CLI, 2);
	w1 = write_some(s, buf, 256 * 1024, 200);
	usleep(20000);
	drop_all(c, 0);
	w2 = write_some(s, buf + w1, TO_CLI - w1, 200);
	t_log("server wrote %zu + %zu bytes before the hand-off", w1, w2);

	ns = handoff(s, &t);
	t_log("saved: unacked %u unsent %u received %u", soccr_tcp__unacked(t), soccr_tcp__unsent(t),
	      soccr_tcp__received(t));
	t_assert(soccr_tcp__received(t) == TO_SRV);
	t_assert(soccr_tcp__unacked(t) + soccr_tcp__unsent(t) > 0);
	t_assert(soccr_tcp__state(t) == SOCCR_ESTABLISHED);
	soccr_tcp__free(t);
	t_assert(tcp_state(ns) == TCP_ESTABLISHED);

	/* The new socket goes on: it finishes the server -> client stream
	 * while the client reads, then reads the client's bytes. */
	{
		size_t done = w1 + w2, got = 0;

		while (got < TO_CLI) {
			size_t n = TO_CLI - got > 65536 ? 65536 : TO_CLI - got;
			static uint8_t rb[65536];

			if (done < TO_CLI)
				done += write_some(ns, buf + done, TO_CLI - done, 10);
			read_exact(c, rb, n, 5000);
			if ((bad = pat_check(rb, got, n, 2)) >= 0)
				t_fail("client: byte %lld of the server stream is wrong", (long long)bad);
			got += n;
		}
	}
	read_exact(ns, buf, TO_SRV, 5000);
	if ((bad = pat_check(buf, 0, TO_SRV, 1)) >= 0)
		t_fail("server: byte %lld of the client stream is wrong", (long long)bad);

	/* And it still talks both ways, then closes cleanly. */
	t_assert(write_some(c, "ping", 4, 1000) == 4);
	read_exact(ns, buf, 4, 2000);
	t_assert(!memcmp(buf, "ping", 4));
	close(ns);
	expect_eof(c, 2000);
	close(c);
}

int main(void)
{
	need_root();
	one(AF_INET);
	one(AF_INET6);
	printf("PASS\n");
	return 0;
}
