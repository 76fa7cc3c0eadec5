/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A listening socket with connections waiting in its accept queue moves
 * to a new socket: the listener is bound again and accepts new clients,
 * and every pending connection comes back (as an established socket next
 * to the listener) with the bytes its client had already sent.  Each
 * client checks its reply byte for byte and sees no reset.  v4 and v6.
 */
#include "soccr-test.h"

#define NCLI 4
#define N 3000

static void run(int family)
{
	LIBSOCCR_OPTS(soccr_restore_opts, ro, .log = st_log);
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = st_log);
	struct sockaddr_storage ss;
	socklen_t len;
	struct soccr_netlock *lk;
	struct soccr_tcp *t, *t2;
	const struct soccr_tcp *ch;
	int l, nl, cli[NCLI + 1], kids[NCLI], nk = 0, one = 1, i;
	static uint8_t buf[N];
	int64_t bad;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	}
	l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 16) < 0)
		t_fail("listen: %s", strerror(errno));
	getsockname(l, (struct sockaddr *)&ss, &len);

	for (i = 0; i < NCLI; i++) {
		cli[i] = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(cli[i], (struct sockaddr *)&ss, len) < 0)
			t_fail("connect: %s", strerror(errno));
		pat_fill(buf, 0, N, 10 + i);
		t_assert(write_some(cli[i], buf, N, 1000) == N);
	}
	usleep(20000);

	t_ok(soccr_netlock__new(&lo, &lk));
	LIBSOCCR_OPTS(soccr_save_opts, so, .log = st_log, .lock = lk);
	t_ok(soccr_save(l, &so, &t));
	t_assert(soccr_tcp__state(t) == SOCCR_LISTEN);
	if (soccr_tcp__nr_children(t) != NCLI)
		t_fail("saved %u pending connections, want %d", soccr_tcp__nr_children(t), NCLI);
	t2 = image_roundtrip(t);
	soccr_tcp__free(t);
	close(l);
	t_ok(soccr_restore(t2, &ro, &nl));
	soccr_tcp_for_each_child(t2, ch) {
		t_assert(soccr_tcp__received(ch) == N);
		t_ok(soccr_restore(ch, &ro, &kids[nk]));
		nk++;
	}
	t_ok(soccr_netlock__release(lk));
	soccr_netlock__free(lk);
	soccr_tcp__free(t2);

	/* Every pending connection: the client's bytes, then a reply. */
	for (i = 0; i < nk; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int k = -1;

		getpeername(kids[i], (struct sockaddr *)&peer, &pl);
		for (int j = 0; j < NCLI; j++) {
			struct sockaddr_storage me;
			socklen_t ml = sizeof(me);

			getsockname(cli[j], (struct sockaddr *)&me, &ml);
			if (ml == pl && !memcmp(&me, &peer, pl))
				k = j;
		}
		t_assert(k >= 0);
		read_exact(kids[i], buf, N, 3000);
		if ((bad = pat_check(buf, 0, N, 10 + k)) >= 0)
			t_fail("pending connection %d: byte %lld wrong", k, (long long)bad);
		pat_fill(buf, 0, N, 20 + k);
		t_assert(write_some(kids[i], buf, N, 1000) == N);
		read_exact(cli[k], buf, N, 3000);
		if ((bad = pat_check(buf, 0, N, 20 + k)) >= 0)
			t_fail("client %d: reply byte %lld wrong", k, (long long)bad);
		close(kids[i]);
		expect_eof(cli[k], 3000);
	}

	/* The listener takes new clients. */
	cli[NCLI] = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(cli[NCLI], (struct sockaddr *)&ss, len) < 0)
		t_fail("connect to the restored listener: %s", strerror(errno));
	{
		int a = accept4(nl, NULL, NULL, SOCK_CLOEXEC);

		t_assert(a >= 0);
		t_assert(write_some(cli[NCLI], "new", 3, 1000) == 3);
		read_exact(a, buf, 3, 2000);
		t_assert(!memcmp(buf, "new", 3));
		close(a);
	}
	for (i = 0; i <= NCLI; i++)
		close(cli[i]);
	close(nl);
	t_log("%s listener with %d pending: ok", family == AF_INET ? "IPv4" : "IPv6", NCLI);
}

int main(void)
{
	need_root();
	run(AF_INET);
	run(AF_INET6);
	printf("PASS\n");
	return 0;
}
