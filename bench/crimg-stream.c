/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crimg-stream: 1 GiB of page records through a pipe between two
 * processes, against a raw copy of the same bytes through the same kind
 * of pipe measured in the same run.
 *
 *   splice:  writer add_iov(DONATE) of 1 MiB records (vmsplice), reader
 *            splices payloads to /dev/null;  raw: vmsplice 1 MiB chunks,
 *            splice to /dev/null
 *   verify:  writer add_iov (write), reader reads payloads into memory and
 *            verifies checksums;  raw: write 1 MiB chunks, read them
 *   donate+verify: writer add_iov(DONATE), reader reads and verifies;
 *            raw: vmsplice, read
 *   csum:    the payload checksum alone, in memory
 * Figures only: never fails.
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
	fprintf(stderr, "crimg-stream: %s: %d\n", what, err);
	exit(1);
}

enum mode { RAW_SPLICE, RAW_SPLICE_Q, CRIMG_SPLICE, CRIMG_SPLICE_NOCSUM, RAW_COPY, CRIMG_VERIFY,
	    RAW_GIFT_READ, CRIMG_GIFT_VERIFY };

static bool is_raw(enum mode m)
{
	return m == RAW_SPLICE || m == RAW_SPLICE_Q || m == RAW_COPY || m == RAW_GIFT_READ;
}

/* does the reader read payloads into memory? */
static bool reads(enum mode m)
{
	return m == RAW_COPY || m == CRIMG_VERIFY || m == RAW_GIFT_READ || m == CRIMG_GIFT_VERIFY;
}

static void writer(int fd, enum mode m)
{
	struct crimg_writer *w = NULL;
	int r = 0;

	if (!is_raw(m)) {
		r = crimg_writer__new(fd, NULL, &w);
		if (r < 0)
			die("writer", r);
	}
	for (uint64_t off = 0; off < TOTAL; off += CHUNK) {
		struct iovec v = { data + off, CHUNK };

		switch (m) {
		case RAW_SPLICE:
		case RAW_SPLICE_Q:
		case RAW_GIFT_READ:
			while (v.iov_len) {
				struct iovec q = v;
				ssize_t n;

				/* whole chunks, or quarter chunks (faster: see
				 * crimg__vmsplice_full) */
				if (m != RAW_SPLICE && q.iov_len > CHUNK / 4)
					q.iov_len = CHUNK / 4;
				n = vmsplice(fd, &q, 1, SPLICE_F_GIFT);

				if (n <= 0)
					die("vmsplice", -1);
				v.iov_base = (char *)v.iov_base + n;
				v.iov_len -= n;
			}
			break;
		case RAW_COPY:
			for (size_t d = 0; d < CHUNK;) {
				ssize_t n = write(fd, data + off + d, CHUNK - d);

				if (n <= 0)
					die("write", -1);
				d += n;
			}
			break;
		case CRIMG_SPLICE:
		case CRIMG_GIFT_VERIFY:
			r = crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1, CRIMG_ADD_DONATE);
			break;
		case CRIMG_SPLICE_NOCSUM:
			r = crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1,
						  CRIMG_ADD_DONATE | CRIMG_ADD_NO_CSUM);
			break;
		case CRIMG_VERIFY:
			r = crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1, 0);
			break;
		}
		if (w && r < 0)
			die(crimg_writer__errmsg(w), r);
	}
	if (w) {
		r = crimg_writer__finish(w);
		if (r < 0)
			die("finish", r);
		crimg_writer__free(w);
	}
}

static void reader(int fd, enum mode m, uint8_t *buf)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint64_t got = 0;
	int ret;

	if (is_raw(m)) {
		for (;;) {
			ssize_t n = !reads(m) ? splice(fd, NULL, null, NULL, CHUNK, SPLICE_F_MOVE)
						    : read(fd, buf, CHUNK);

			if (n < 0)
				die("raw read", -1);
			if (n == 0)
				break;
			got += n;
		}
	} else {
		ret = crimg_reader__new(fd, NULL, &r);
		if (ret < 0)
			die("reader", ret);
		while ((ret = crimg_reader__next(r, &rec)) > 0) {
			if (reads(m)) {
				ret = crimg_reader__read_payload(r, buf, rec->len);
				if (ret == 0 && !crimg_reader__payload_verified(r))
					die("not verified", 0);
			} else {
				ret = crimg_reader__splice_payload(r, null, rec->len);
			}
			if (ret < 0)
				break;
			got += rec->len;
		}
		if (ret < 0)
			die(crimg_reader__errmsg(r), ret);
		crimg_reader__free(r);
	}
	close(null);
	if (got != TOTAL)
		die("short", (int)(got >> 20));
}

/* One transfer: returns seconds from the start of writing to the
 * reader's end.  This process writes (it owns the data, as a dumper owns
 * the pages it emits); a child reads and reports when it is done.  The
 * data is MADV_DONTFORK so that the child shares none of it. */
static double run(enum mode m, uint8_t *buf)
{
	int p[2], done[2];
	double t0, t;
	pid_t pid;
	char c = 1;

	if (pipe2(p, O_CLOEXEC) || pipe2(done, O_CLOEXEC))
		die("pipe", -1);
	fcntl(p[1], F_SETPIPE_SZ, CHUNK);
	pid = fork();
	if (pid < 0)
		die("fork", -1);
	if (!pid) {
		close(p[1]);
		close(done[0]);
		reader(p[0], m, buf);
		if (write(done[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	close(done[1]);
	t0 = now();
	writer(p[1], m);
	close(p[1]);
	if (read(done[0], &c, 1) != 1)
		die("reader failed", -1);
	t = now() - t0;
	close(done[0]);
	waitpid(pid, NULL, 0);
	return t;
}

#define NMODES (CRIMG_GIFT_VERIFY + 1)

/* Best time of each mode over ROUNDS rounds; the modes take turns within
 * a round, so that a burst of load elsewhere hits raw and crimg alike. */
static void measure(double *best, uint8_t *buf)
{
	for (int m = 0; m < NMODES; m++)
		best[m] = 1e9;
	for (int i = 0; i < ROUNDS; i++)
		for (int m = 0; m < NMODES; m++) {
			double t = run((enum mode)m, buf);

			if (t < best[m])
				best[m] = t;
		}
}

int main(void)
{
	double best[NMODES], raw_s, raw_q, cr_s, cr_nc, raw_c, cr_v, raw_g, cr_g, t0, cs;
	uint8_t *buf;
	struct crimg_csum c;

	data = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(CHUNK);
	if (data == MAP_FAILED || !buf)
		die("out of memory", -1);
	madvise(data, TOTAL, MADV_DONTFORK);
	for (uint64_t i = 0; i < TOTAL / 8; i++)
		((uint64_t *)data)[i] = i * 0x9e3779b97f4a7c15ull + 1;
	memset(buf, 1, CHUNK);

	measure(best, buf);
	raw_s = best[RAW_SPLICE];
	raw_q = best[RAW_SPLICE_Q];
	if (raw_q < raw_s)
		raw_s = raw_q; /* the baseline is the better raw copy */
	cr_s = best[CRIMG_SPLICE];
	cr_nc = best[CRIMG_SPLICE_NOCSUM];
	raw_c = best[RAW_COPY];
	cr_v = best[CRIMG_VERIFY];
	raw_g = best[RAW_GIFT_READ];
	cr_g = best[CRIMG_GIFT_VERIFY];
	cs = 1e9;
	for (int i = 0; i < ROUNDS; i++) {
		t0 = now();
		crimg_csum_init(&c);
		crimg_csum_update(&c, data, TOTAL);
		(void)crimg_csum_final(&c);
		if (now() - t0 < cs)
			cs = now() - t0;
	}
#define GBS(t) (TOTAL / (t) / 1e9)
	printf("1 GiB of 1 MiB page records through a pipe, best of %d\n", ROUNDS);
	printf("splice path, no checksum: crimg %6.2f GB/s  raw vmsplice+splice %6.2f GB/s  ratio %.2f\n",
	       GBS(cr_nc), GBS(raw_s), raw_s / cr_nc);
	printf("splice path, checksummed: crimg %6.2f GB/s  raw vmsplice+splice %6.2f GB/s  ratio %.2f"
	       "  (the writer reads every page once to checksum it)\n", GBS(cr_s), GBS(raw_s),
	       raw_s / cr_s);
	printf("verifying reader:         crimg %6.2f GB/s  raw write+read      %6.2f GB/s  ratio %.2f"
	       "  (reader reads and checks every payload)\n", GBS(cr_v), GBS(raw_c), raw_c / cr_v);
	printf("donating writer, verifying reader: crimg %5.2f GB/s  raw vmsplice+read %5.2f GB/s  ratio %.2f"
	       "  (a dumper feeding a restorer)\n", GBS(cr_g), GBS(raw_g), raw_g / cr_g);
	printf("checksum alone: %.2f GB/s (1 GiB in memory)\n", GBS(cs));
	return 0;
}
