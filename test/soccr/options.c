/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SACK, window scaling and timestamps, each on and off (all eight
 * combinations, negotiated in a network namespace of the test's own with
 * its sysctls), survive a hand-off: the restored socket reports the same
 * TCP options and window scales, and a transfer with loss after the
 * hand-off (which needs SACK and timestamps to agree on both ends) checks
 * every byte.  The socket options are carried over too.
 */
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "soccr-test.h"

#define N (512 * 1024)

static void sysctl_set(const char *name, int v)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "/proc/sys/net/ipv4/%s", name);
	f = fopen(p, "w");
	if (!f || fprintf(f, "%d\n", v) < 0 || fclose(f) != 0)
		t_fail("cannot set %s: %s", p, strerror(errno));
}

static void lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		t_fail("SIOCGIFFLAGS: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		t_fail("SIOCSIFFLAGS: %s", strerror(errno));
	close(fd);
}

static int geti(int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) < 0)
		t_fail("getsockopt %d/%d: %s", level, name, strerror(errno));
	return v;
}

static void seti(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)) < 0)
		t_fail("setsockopt %d/%d: %s", level, name, strerror(errno));
}

static void combo(int sack, int ws, int ts)
{
	static uint8_t buf[N], rb[N];
	struct tcp_info a, b;
	socklen_t len;
	int c, s, ns, want = (ts ? 1 : 0) | (sack ? 2 : 0) | (ws ? 4 : 0);
	char cong[16] = "";
	int64_t bad;

	sysctl_set("tcp_sack", sack);
	sysctl_set("tcp_window_scaling", ws);
	sysctl_set("tcp_timestamps", ts);
	tcp_pair(AF_INET, &c, &s, 0);

	len = sizeof(a);
	getsockopt(s, IPPROTO_TCP, TCP_INFO, &a, &len);
	if ((a.tcpi_options & 7) != want)
		t_fail("sack=%d ws=%d ts=%d: negotiated options 0x%x", sack, ws, ts, a.tcpi_options);

	seti(s, IPPROTO_TCP, TCP_NODELAY, 1);
	seti(s, SOL_SOCKET, SO_KEEPALIVE, 1);
	seti(s, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	seti(s, IPPROTO_TCP, TCP_KEEPINTVL, 11);
	seti(s, IPPROTO_TCP, TCP_KEEPCNT, 5);
	seti(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
	seti(s, SOL_SOCKET, SO_MARK, 42);
	seti(s, IPPROTO_IP, IP_TOS, 0x10);
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 131072);
	if (setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) == 0)
		strcpy(cong, "reno");

	/* Traffic with loss both before and after the hand-off. */
	pat_fill(buf, 0, N, 3);
	drop_all(c, 1);
	t_assert(write_some(s, buf, 64 * 1024, 100) > 0);
	ns = handoff(s, NULL);
	drop_all(c, 0);

	len = sizeof(b);
	getsockopt(ns, IPPROTO_TCP, TCP_INFO, &b, &len);
	if ((b.tcpi_options & 7) != want || b.tcpi_snd_wscale != a.tcpi_snd_wscale ||
	    b.tcpi_rcv_wscale != a.tcpi_rcv_wscale)
		t_fail("sack=%d ws=%d ts=%d: restored options 0x%x wscale %u/%u, saved 0x%x %u/%u", sack, ws, ts,
		       b.tcpi_options, b.tcpi_snd_wscale, b.tcpi_rcv_wscale, a.tcpi_options, a.tcpi_snd_wscale,
		       a.tcpi_rcv_wscale);
	t_assert(geti(ns, IPPROTO_TCP, TCP_NODELAY) == 1);
	t_assert(geti(ns, SOL_SOCKET, SO_KEEPALIVE) == 1);
	t_assert(geti(ns, IPPROTO_TCP, TCP_KEEPIDLE) == 77);
	t_assert(geti(ns, IPPROTO_TCP, TCP_KEEPINTVL) == 11);
	t_assert(geti(ns, IPPROTO_TCP, TCP_KEEPCNT) == 5);
	t_assert(geti(ns, IPPROTO_TCP, TCP_USER_TIMEOUT) == 12345);
	t_assert(geti(ns, SOL_SOCKET, SO_MARK) == 42);
	t_assert(geti(ns, IPPROTO_IP, IP_TOS) == 0x10);
	t_assert(geti(ns, IPPROTO_TCP, TCP_NOTSENT_LOWAT) == 131072);
	if (cong[0]) {
		char got[16] = "";

		len = sizeof(got) - 1;
		getsockopt(ns, IPPROTO_TCP, TCP_CONGESTION, got, &len);
		t_assert(!strcmp(got, cong));
	}

	/* The rest of the stream, reading as it comes. */
	{
		size_t done = 0, got = 0;

		while (done < 64 * 1024 && got < 64 * 1024) {
			size_t n = 4096;

			read_exact(c, rb + got, n, 5000);
			got += n;
			done = got;
		}
		done = 64 * 1024;
		while (got < N) {
			if (done < N)
				done += write_some(ns, buf + done, N - done, 5);
			size_t n = N - got > 8192 ? 8192 : N - got;

			read_exact(c, rb + got, n, 5000);
			got += n;
		}
	}
	if ((bad = pat_check(rb, 0, N, 3)) >= 0)
		t_fail("sack=%d ws=%d ts=%d: byte %lld wrong", sack, ws, ts, (long long)bad);
	close(ns);
	expect_eof(c, 2000);
	close(c);
	t_log("sack=%d wscale=%d timestamps=%d: ok", sack, ws, ts);
}

int main(void)
{
	pid_t pid;
	int st;

	need_root();
	pid = fork();
	if (pid == 0) {
		/* A network namespace of our own: its sysctls and its lo, all
		 * gone when this process exits. */
		if (unshare(CLONE_NEWNET) < 0)
			t_skip("cannot create a network namespace: %s", strerror(errno));
		lo_up();
		for (int m = 0; m < 8; m++)
			combo(m & 1, !!(m & 2), !!(m & 4));
		exit(0);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		t_fail("child died");
	if (WEXITSTATUS(st) == 0)
		printf("PASS\n");
	return WEXITSTATUS(st);
}
