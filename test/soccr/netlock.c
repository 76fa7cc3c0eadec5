/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nftables lock:
 *  - it holds exactly the locked connection (another connection between
 *    the same hosts goes on) and lets it go on release;
 *  - it covers the gap of a same-namespace hand-off: the client writes
 *    while no socket exists and sees no reset; the control run without a
 *    lock does get a reset (so this test can fail);
 *  - a listener's port: new connections wait while it is locked;
 *  - it is released when its process is killed (an "owner" table).
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "soccr-test.h"

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

static int inq(int fd)
{
	int n = -1;

	ioctl(fd, SIOCINQ, &n);
	return n;
}

static int table_exists(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "nft list tables 2>/dev/null | grep -q ' %s'", name);
	return system(cmd) == 0;
}

/* A hand-off with a 150 ms gap in which the client writes. */
static int gap_handoff(int use_lock)
{
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = st_log);
	struct soccr_netlock *lk = NULL;
	struct soccr_tcp *t;
	int c, s, ns, err;
	char b[5];

	tcp_pair(AF_INET, &c, &s, 0);
	if (use_lock)
		t_ok(soccr_netlock__new(&lo, &lk));
	LIBSOCCR_OPTS(soccr_save_opts, so, .log = st_log, .lock = lk);
	t_ok(soccr_save(s, &so, &t));
	close(s);
	t_assert(write_some(c, "hello", 5, 1000) == 5);
	usleep(150000);
	err = sock_error(c);
	if (err) {
		soccr_tcp__free(t);
		soccr_netlock__free(lk);
		close(c);
		return err;
	}
	LIBSOCCR_OPTS(soccr_restore_opts, ro, .log = st_log);
	t_ok(soccr_restore(t, &ro, &ns));
	soccr_netlock__free(lk);
	soccr_tcp__free(t);
	read_exact(ns, b, 5, 3000);
	t_assert(!memcmp(b, "hello", 5));
	t_assert(write_some(ns, "world", 5, 1000) == 5);
	read_exact(c, b, 5, 3000);
	t_assert(!memcmp(b, "world", 5));
	err = sock_error(c);
	close(ns);
	close(c);
	return err;
}

static pid_t holder;

static void kill_holder(void)
{
	if (holder > 0)
		kill(holder, SIGKILL);
}

int main(void)
{
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = st_log);
	struct soccr_netlock *lk;
	int c1, s1, c2, s2, r, err;
	char b[8], name[64];
	pid_t pid;
	int pfd[2];

	need_root();
	r = soccr_netlock__new(&lo, &lk);
	if (r == -ENOSYS)
		t_skip("libnftables is not installed");
	t_ok(r);

	/* Exactly the locked connection. */
	tcp_pair(AF_INET, &c1, &s1, 0);
	tcp_pair(AF_INET, &c2, &s2, 0);
	t_ok(soccr_netlock__add_fd(lk, s1));
	t_assert(soccr_netlock__count(lk) == 1);
	t_assert(write_some(c1, "locked", 6, 1000) == 6);
	t_assert(write_some(c2, "free", 4, 1000) == 4);
	read_exact(s2, b, 4, 1000);
	usleep(100000);
	if (inq(s1) != 0)
		t_fail("the locked connection received %d bytes", inq(s1));
	t_ok(soccr_netlock__release(lk));
	soccr_netlock__free(lk);
	read_exact(s1, b, 6, 5000);   /* the client's retransmission */
	t_assert(!memcmp(b, "locked", 6));
	t_assert(!sock_error(c1));
	close(c1); close(s1); close(c2); close(s2);
	t_log("lock holds exactly its connection: ok");

	/* The gap of a same-namespace hand-off. */
	err = gap_handoff(0);
	t_log("without the lock, a write in the gap gives: %s", err ? strerror(err) : "nothing (lucky)");
	if (err != ECONNRESET)
		t_fail("control run: expected a reset without the lock, got %s", err ? strerror(err) : "none");
	err = gap_handoff(1);
	if (err)
		t_fail("with the lock the client saw %s", strerror(err));
	t_log("with the lock: no reset, every byte: ok");

	/* A listener's port: SYNs wait. */
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cc, ac;
		struct pollfd p;

		bind(l, (struct sockaddr *)&a, len);
		listen(l, 4);
		getsockname(l, (struct sockaddr *)&a, &len);
		t_ok(soccr_netlock__new(&lo, &lk));
		t_ok(soccr_netlock__add_fd(lk, l));
		cc = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		connect(cc, (struct sockaddr *)&a, len);
		p = (struct pollfd){ .fd = cc, .events = POLLOUT };
		if (poll(&p, 1, 300) != 0)
			t_fail("a connection to a locked listener completed");
		soccr_netlock__free(lk);
		p = (struct pollfd){ .fd = cc, .events = POLLOUT };
		if (poll(&p, 1, 5000) != 1 || sock_error(cc))
			t_fail("the connection did not complete after the release");
		ac = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		t_assert(ac >= 0);
		close(ac); close(cc); close(l);
		t_log("listener lock: ok");
	}

	/* Killed holder: the table goes with it. */
	if (pipe(pfd) < 0)
		t_fail("pipe");
	pid = fork();
	if (pid == 0) {
		struct soccr_netlock *k;

		if (soccr_netlock__new(&lo, &k) < 0)
			_exit(1);
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	holder = pid;
	atexit(kill_holder);
	if (read(pfd[0], b, 1) != 1)
		t_fail("child could not lock");
	snprintf(name, sizeof(name), "soccr_lock_%d_", (int)pid);
	if (!table_exists(name))
		t_fail("table %s not found while its holder lives", name);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	holder = 0;
	for (int i = 0; i < 50 && table_exists(name); i++)
		usleep(20000);
	if (table_exists(name))
		t_fail("table %s outlived its killed holder", name);
	t_log("killed holder: table gone: ok");
	printf("PASS\n");
	return 0;
}
