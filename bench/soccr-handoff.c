/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soccr hand-off figures, on loopback:
 *  1. save + restore of one connection (µs), with the image round trip and
 *     with the nftables lock, against connect+accept of a new connection;
 *  2. connections handed off per second, over 1000 connections;
 *  3. the throughput dip of a bulk transfer while its sender's socket is
 *     handed off (10 ms buckets seen by the receiver).
 * Figures only: never fails.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <crimg.h>
#include <soccr.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)a, len) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)a, &len) < 0) {
		perror("listen");
		exit(0);
	}
	return l;
}

static void pair(int l, const struct sockaddr_in *a, int *c, int *s)
{
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(*c, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		perror("connect");
		exit(0);
	}
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
}

static struct soccr_tcp *roundtrip(const struct soccr_tcp *t, int mfd)
{
	struct crimg_writer *w;
	struct crimg_reader *r;
	const struct crimg_record *rec;
	struct soccr_tcp *back = NULL;

	ftruncate(mfd, 0);
	lseek(mfd, 0, SEEK_SET);
	crimg_writer__new(mfd, NULL, &w);
	soccr_tcp__write(t, w);
	crimg_writer__finish(w);
	crimg_writer__free(w);
	lseek(mfd, 0, SEEK_SET);
	crimg_reader__new(mfd, NULL, &r);
	while (crimg_reader__next(r, &rec) > 0)
		if (rec->type == CRIMG_T_TCP_CONN)
			soccr_tcp__read(r, rec, NULL, &back);
	crimg_reader__free(r);
	return back;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* 1. One connection at a time. */
static void one_connection(void)
{
	enum { N = 500 };
	static double tsave[N], trest[N], timg[N], tlock[N], tconn[N], treuse[N];
	struct soccr_netlock *shared = NULL;
	struct sockaddr_in a;
	int l = listener(&a), mfd = memfd_create("img", MFD_CLOEXEC), i;
	char buf[1000];

	memset(buf, 'x', sizeof(buf));
	soccr_netlock__new(NULL, &shared);
	for (i = 0; i < N; i++) {
		struct soccr_netlock *lk = NULL;
		struct soccr_tcp *t, *t2;
		int c, s, ns;
		double t0, t1, t2a, t3, t4, t5;

		t0 = now_us();
		pair(l, &a, &c, &s);
		t1 = now_us();
		tconn[i] = t1 - t0;
		/* a little data both ways, as a live connection has */
		write(c, buf, sizeof(buf));
		write(s, buf, sizeof(buf));
		usleep(100);

		t0 = now_us();
		if (soccr_save(s, NULL, &t) < 0) {
			printf("save failed (no CAP_NET_ADMIN?)\n");
			exit(0);
		}
		t1 = now_us();
		t2 = roundtrip(t, mfd);
		t2a = now_us();
		close(s);
		t3 = now_us();
		if (soccr_restore(t2, NULL, &ns) < 0) {
			printf("restore failed\n");
			exit(0);
		}
		t4 = now_us();
		tsave[i] = t1 - t0;
		timg[i] = t2a - t1;
		trest[i] = t4 - t3;
		soccr_tcp__free(t);
		soccr_tcp__free(t2);
		close(ns);
		close(c);

		/* the same with a lock of its own around it (slow: 50 only) */
		tlock[i] = 1e30;
		if (i % 10 == 0) {
		pair(l, &a, &c, &s);
		t0 = now_us();
		if (soccr_netlock__new(NULL, &lk) == 0) {
			LIBSOCCR_OPTS(soccr_save_opts, so, .lock = lk);
			soccr_save(s, &so, &t);
			close(s);
			soccr_restore(t, NULL, &ns);
			soccr_netlock__free(lk);
			t5 = now_us();
			tlock[i] = t5 - t0;
			soccr_tcp__free(t);
			close(ns);
		} else {
			tlock[i] = 0;
			close(s);
		}
		close(c);
		}

		/* and with a long-lived lock: add, hand off, remove */
		treuse[i] = 0;
		if (shared) {
			pair(l, &a, &c, &s);
			t0 = now_us();
			LIBSOCCR_OPTS(soccr_save_opts, so, .lock = shared);
			soccr_save(s, &so, &t);
			close(s);
			soccr_restore(t, NULL, &ns);
			soccr_netlock__remove_tcp(shared, t);
			treuse[i] = now_us() - t0;
			soccr_tcp__free(t);
			close(ns);
			close(c);
		}
	}
	soccr_netlock__free(shared);
	qsort(treuse, N, sizeof(double), cmpd);
	qsort(tsave, N, sizeof(double), cmpd);
	qsort(trest, N, sizeof(double), cmpd);
	qsort(timg, N, sizeof(double), cmpd);
	qsort(tlock, N, sizeof(double), cmpd);
	qsort(tconn, N, sizeof(double), cmpd);
	printf("one connection (median of %d, 1000 bytes queued each way):\n", N);
	printf("  save                       %8.1f us\n", tsave[N / 2]);
	printf("  image write+read (memfd)   %8.1f us\n", timg[N / 2]);
	printf("  restore                    %8.1f us\n", trest[N / 2]);
	printf("  save+restore               %8.1f us  (%.1fx a fresh connect+accept, %.1f us)\n",
	       tsave[N / 2] + trest[N / 2], (tsave[N / 2] + trest[N / 2]) / tconn[N / 2], tconn[N / 2]);
	if (tlock[N / 20] > 0)
		printf("  lock+save+restore+unlock   %8.1f us  (a new nftables table per hand-off, median of %d)\n",
		       tlock[N / 20], N / 10);
	if (treuse[N / 2] > 0)
		printf("  the same, long-lived lock  %8.1f us  (add and remove one set element)\n", treuse[N / 2]);
	close(l);
	close(mfd);
}

/* 2. A thousand connections, one lock. */
static void thousand(void)
{
	enum { N = 1000 };
	static int cli[N], srv[N];
	static struct soccr_tcp *ts[N];
	struct soccr_netlock *lk = NULL;
	struct sockaddr_in a;
	struct rlimit rl;
	int l, i, nolock;
	double t0, t1, t2, t3, t4;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * N + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 2 * N + 64) {
		printf("1000 connections: skipped (RLIMIT_NOFILE %llu)\n", (unsigned long long)rl.rlim_cur);
		return;
	}
	l = listener(&a);
	for (nolock = 1; nolock >= 0; nolock--) {
		/* libnftables cannot work with fds above 1023: lock first */
		t0 = now_us();
		if (!nolock && soccr_netlock__new(NULL, &lk) < 0)
			break;
		t1 = now_us();
		for (i = 0; i < N; i++) {
			pair(l, &a, &cli[i], &srv[i]);
			write(cli[i], "hello", 5);
		}
		usleep(20000);
		t2 = now_us();
		t0 = t2 - (t1 - t0);
		t1 = t2;
		for (i = 0; i < N; i++) {
			LIBSOCCR_OPTS(soccr_save_opts, so, .lock = lk);
			if (soccr_save(srv[i], nolock ? NULL : &so, &ts[i]) < 0) {
				printf("save failed\n");
				return;
			}
			close(srv[i]);
		}
		t2 = now_us();
		for (i = 0; i < N; i++) {
			if (soccr_restore(ts[i], NULL, &srv[i]) < 0) {
				printf("restore failed\n");
				return;
			}
		}
		t3 = now_us();
		soccr_netlock__free(lk);
		lk = NULL;
		t4 = now_us();
		printf("%d connections%s: %.0f hand-offs/s (%.1f ms total: lock %.1f, save %.1f, restore %.1f, unlock %.1f)\n",
		       N, nolock ? ", no lock" : ", one nftables lock", N / ((t4 - t0) / 1e6), (t4 - t0) / 1e3,
		       (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (t4 - t3) / 1e3);
		for (i = 0; i < N; i++) {
			char b[8];

			/* every restored connection still has its 5 bytes */
			if (recv(srv[i], b, sizeof(b), MSG_DONTWAIT) != 5)
				printf("  connection %d lost its data!\n", i);
			soccr_tcp__free(ts[i]);
			close(srv[i]);
			close(cli[i]);
		}
	}
	close(l);
}

/* 3. Throughput dip. */
static void dip(void)
{
	enum { BUCKET_US = 10000, NB = 300, HANDOFF_AT = 100 };
	uint64_t *bytes = mmap(NULL, NB * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sockaddr_in a;
	int l = listener(&a), c, s, ns, i;
	static char buf[65536];
	double start, t0, t1 = 0, handoff_us = 0;
	pid_t pid;

	struct soccr_netlock *lk = NULL;

	/* a long-lived lock, as a load balancer would keep */
	soccr_netlock__new(NULL, &lk);
	pair(l, &a, &c, &s);
	memset(buf, 'x', sizeof(buf));
	pid = fork();
	if (pid == 0) {
		static char rb[1 << 18];
		double st = now_us();

		close(s);
		for (;;) {
			ssize_t n = recv(c, rb, sizeof(rb), 0);
			int b = (int)((now_us() - st) / BUCKET_US);

			if (n <= 0)
				_exit(0);
			if (b < NB)
				bytes[b] += (uint64_t)n;
		}
	}
	close(c);
	start = now_us();
	while ((t0 = now_us()) - start < NB * (double)BUCKET_US) {
		if (!t1 && t0 - start >= HANDOFF_AT * (double)BUCKET_US) {
			struct soccr_tcp *t;

			LIBSOCCR_OPTS(soccr_save_opts, so, .lock = lk);
			if (soccr_save(s, &so, &t) < 0)
				break;
			close(s);
			soccr_restore(t, NULL, &ns);
			soccr_netlock__remove_tcp(lk, t);
			soccr_tcp__free(t);
			s = ns;
			t1 = now_us();
			handoff_us = t1 - t0;
		}
		{
			struct pollfd p = { .fd = s, .events = POLLOUT };

			poll(&p, 1, 5);
			send(s, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	close(s);
	waitpid(pid, NULL, 0);
	close(l);
	soccr_netlock__free(lk);
	{
		double base = 0, after = 0, minb = 1e30;
		int stall = 0, first = -1, last = -1;

		for (i = 10; i < HANDOFF_AT - 5; i++)
			base += (double)bytes[i];
		base /= (HANDOFF_AT - 15);
		for (i = HANDOFF_AT + 50; i < NB - 5; i++)
			after += (double)bytes[i];
		after /= (NB - 5 - HANDOFF_AT - 50);
		for (i = HANDOFF_AT - 2; i < HANDOFF_AT + 50; i++) {
			if ((double)bytes[i] < minb)
				minb = (double)bytes[i];
			if ((double)bytes[i] < base * 0.5) {
				stall++;
				if (first < 0)
					first = i;
				last = i;
			}
		}
		printf("bulk transfer over loopback, hand-off of the sender at %d ms (took %.0f us, long-lived lock):\n",
		       HANDOFF_AT * BUCKET_US / 1000, handoff_us);
		printf("  before  %8.0f MB/s\n", base / BUCKET_US);
		printf("  after   %8.0f MB/s  (%.2fx before)\n", after / BUCKET_US, after / base);
		printf("  worst 10 ms bucket around it: %.0f MB/s (%.2fx before); %d bucket(s) under half speed",
		       minb / BUCKET_US, minb / base, stall);
		if (stall)
			printf(" (%d..%d ms)", first * BUCKET_US / 1000, (last + 1) * BUCKET_US / 1000);
		printf("\n");
		printf("  per 10 ms around it (MB/s):");
		for (i = HANDOFF_AT - 3; i < HANDOFF_AT + 12; i++)
			printf(" %.0f", (double)bytes[i] / BUCKET_US);
		printf("\n");
	}
	munmap(bytes, NB * sizeof(uint64_t));
}

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &v, sizeof(v)) < 0) {
		printf("skipped: TCP_REPAIR needs CAP_NET_ADMIN\n");
		return 0;
	}
	close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	one_connection();
	thousand();
	dip();
	return 0;
}
