/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crimg-passthrough: the cost of a filter stage.  1 GiB of 1 MiB page
 * records goes writer -> filter -> reader through two pipes; the filter
 * copies every record with crimg_writer__copy_record (splice, the payload
 * never enters its memory).  Baseline, in the same run: vmsplice ->
 * splice pipe to pipe -> splice to /dev/null of the same bytes.  Records
 * carry no checksum here so that the writer's checksum (see crimg-stream)
 * does not hide the filter's cost.  Figures only: never fails.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <crimg.h>

#define TOTAL (1ull << 30)
#define CHUNK (1u << 20)
#define ROUNDS 5

static uint8_t *data;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "crimg-passthrough: %s: %d\n", what, err);
	exit(1);
}

static void writer(int fd, bool raw)
{
	struct crimg_writer *w = NULL;
	int r;

	if (!raw && (r = crimg_writer__new(fd, NULL, &w)) < 0)
		die("writer", r);
	for (uint64_t off = 0; off < TOTAL; off += CHUNK) {
		struct iovec v = { data + off, CHUNK };

		if (raw) {
			while (v.iov_len) {
				struct iovec q = { v.iov_base, v.iov_len > CHUNK / 4 ? CHUNK / 4 : v.iov_len };
				ssize_t n = vmsplice(fd, &q, 1, SPLICE_F_GIFT);

				if (n <= 0)
					die("vmsplice", -1);
				v.iov_base = (char *)v.iov_base + n;
				v.iov_len -= n;
			}
		} else if ((r = crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1,
						      CRIMG_ADD_DONATE | CRIMG_ADD_NO_CSUM)) < 0) {
			die(crimg_writer__errmsg(w), r);
		}
	}
	if (w) {
		if ((r = crimg_writer__finish(w)) < 0)
			die("finish", r);
		crimg_writer__free(w);
	}
}

static void filter(int in, int out, bool raw)
{
	const struct crimg_record *rec;
	struct crimg_reader *r;
	struct crimg_writer *w;
	int ret;

	if (raw) {
		ssize_t n;

		while ((n = splice(in, NULL, out, NULL, CHUNK, SPLICE_F_MOVE)) > 0)
			;
		if (n < 0)
			die("splice", -1);
		return;
	}
	if ((ret = crimg_reader__new(in, NULL, &r)) < 0 || (ret = crimg_writer__new(out, NULL, &w)) < 0)
		die("filter", ret);
	while ((ret = crimg_reader__next(r, &rec)) > 0)
		if ((ret = crimg_writer__copy_record(w, r)) < 0)
			die(crimg_writer__errmsg(w), ret);
	if (ret < 0 || (ret = crimg_writer__finish(w)) < 0)
		die(crimg_reader__errmsg(r), ret);
	crimg_writer__free(w);
	crimg_reader__free(r);
}

static void reader(int fd, bool raw)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint64_t got = 0;
	int ret;

	if (raw) {
		ssize_t n;

		while ((n = splice(fd, NULL, null, NULL, CHUNK, SPLICE_F_MOVE)) > 0)
			got += n;
	} else {
		if ((ret = crimg_reader__new(fd, NULL, &r)) < 0)
			die("reader", ret);
		while ((ret = crimg_reader__next(r, &rec)) > 0) {
			if (rec->type == CRIMG_T_TEST_RAW)
				got += rec->len;
			if ((ret = crimg_reader__splice_payload(r, null, rec->len)) < 0)
				break;
		}
		if (ret < 0)
			die(crimg_reader__errmsg(r), ret);
		crimg_reader__free(r);
	}
	close(null);
	if (got != TOTAL)
		die("short", (int)(got >> 20));
}

static double run(bool raw)
{
	int a[2], b[2];
	pid_t pf, pr;
	double t0, t;

	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
		die("pipe", -1);
	fcntl(a[1], F_SETPIPE_SZ, CHUNK);
	fcntl(b[1], F_SETPIPE_SZ, CHUNK);
	t0 = now();
	pf = fork();
	if (!pf) {
		close(a[1]);
		close(b[0]);
		filter(a[0], b[1], raw);
		_exit(0);
	}
	pr = fork();
	if (!pr) {
		close(a[0]);
		close(a[1]);
		close(b[1]);
		reader(b[0], raw);
		_exit(0);
	}
	close(a[0]);
	close(b[0]);
	close(b[1]);
	writer(a[1], raw);
	close(a[1]);
	waitpid(pf, NULL, 0);
	waitpid(pr, NULL, 0);
	t = now() - t0;
	return t;
}

int main(void)
{
	double raw = 1e9, cr = 1e9;

	data = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (data == MAP_FAILED)
		die("out of memory", -1);
	madvise(data, TOTAL, MADV_DONTFORK);
	for (uint64_t i = 0; i < TOTAL / 8; i++)
		((uint64_t *)data)[i] = i * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < ROUNDS; i++) {
		double t = run(true);

		if (t < raw)
			raw = t;
		t = run(false);
		if (t < cr)
			cr = t;
	}
	printf("1 GiB of 1 MiB page records, writer -> filter (copy_record) -> reader, best of %d\n",
	       ROUNDS);
	printf("pass-through: crimg %6.2f GB/s  raw vmsplice+splice+splice %6.2f GB/s  ratio %.2f\n",
	       TOTAL / cr / 1e9, TOTAL / raw / 1e9, raw / cr);
	return 0;
}
