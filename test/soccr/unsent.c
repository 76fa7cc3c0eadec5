/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Data that was not sent yet goes out promptly after the restore, not on a
 * retransmission timer: the client's window is full, the server holds
 * megabytes it could not send; after the hand-off the client reads them
 * all at once (about 5 ms here); restored as "sent" in repair mode they
 * wait for a retransmission timer (about 670 ms here, checked).
 */
#include <time.h>

#include "soccr-test.h"

#define N (4 * 1024 * 1024)

static double ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	static uint8_t buf[N], rb[N];
	struct soccr_tcp *t;
	int c, s, ns, sb = 8 * 1024 * 1024;
	size_t w;
	double t0, t1;
	int64_t bad;

	need_root();
	tcp_pair(AF_INET, &c, &s, 32 * 1024);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	pat_fill(buf, 0, N, 5);
	w = write_some(s, buf, N, 300);
	usleep(100000);   /* the window fills, everything in flight is acked */
	ns = handoff(s, &t);
	t_log("wrote %zu; saved unacked %u unsent %u", w, soccr_tcp__unacked(t), soccr_tcp__unsent(t));
	if (soccr_tcp__unsent(t) < 1024 * 1024)
		t_fail("setup: only %u bytes unsent", soccr_tcp__unsent(t));
	soccr_tcp__free(t);

	t0 = ms();
	{
		size_t got = 0, done = w;

		while (got < N) {
			size_t n = N - got > 65536 ? 65536 : N - got;

			if (done < N)
				done += write_some(ns, buf + done, N - done, 0);
			read_exact(c, rb + got, n, 5000);
			got += n;
		}
	}
	t1 = ms();
	if ((bad = pat_check(rb, 0, N, 5)) >= 0)
		t_fail("byte %lld wrong", (long long)bad);
	t_log("client read %d bytes in %.0f ms after the restore", N, t1 - t0);
	if (t1 - t0 > 250)
		t_fail("the unsent data took %.0f ms: it waited for a timer", t1 - t0);
	close(ns);
	expect_eof(c, 2000);
	close(c);
	printf("PASS\n");
	return 0;
}
