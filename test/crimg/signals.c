/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signals: a stream goes through a small pipe while both ends are hit by
 * a signal every 50 microseconds whose handler does not restart system
 * calls (EINTR and short transfers everywhere), and then through pipes
 * set O_NONBLOCK (EAGAIN); splice and plain paths.  The stream must come
 * through whole.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "crimg-test.h"

#define NREC 64
#define RLEN (256u * 1024 + 3)

static volatile sig_atomic_t hits;

static void on_alarm(int sig)
{
	hits++;
}

static void storm(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval it = { { 0, 50 }, { 0, 50 } };

	sigemptyset(&sa.sa_mask);
	t_assert(sigaction(SIGALRM, &sa, NULL) == 0);
	t_assert(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void calm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void writer(int fd, uint32_t wflags)
{
	LIBCRIMG_OPTS(crimg_writer_opts, o, .flags = wflags | CRIMG_W_NO_PIPE_RESIZE);
	struct crimg_writer *w;
	uint8_t *pages = t_pages(NREC * (size_t)(RLEN + 4096));

	t_ok(crimg_writer__new(fd, &o, &w));
	for (int i = 0; i < NREC; i++) {
		uint8_t *p = pages + (size_t)i * (RLEN + 4096);
		struct iovec v = { p, RLEN };

		fill_pat(p, RLEN, i, 0);
		if (i % 3 == 0) {
			t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1, CRIMG_ADD_DONATE));
		} else if (i % 3 == 1) {
			t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, p, RLEN));
		} else {
			t_ok(crimg_writer__begin_raw(w, CRIMG_T_TEST_RAW, 0, RLEN));
			v.iov_len = 1000;
			t_ok(crimg_writer__write_raw(w, &v, 1, 0));
			v.iov_base = p + 1000;
			v.iov_len = RLEN - 1000;
			t_ok(crimg_writer__write_raw(w, &v, 1, CRIMG_ADD_DONATE));
			t_ok(crimg_writer__end_raw(w, NULL));
		}
	}
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
}

static void reader(int fd, uint32_t rflags)
{
	LIBCRIMG_OPTS(crimg_reader_opts, o, .flags = rflags);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint8_t *buf = malloc(RLEN);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int n = 0, ret;

	t_ok(crimg_reader__new(fd, &o, &r));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		t_assert(rec->len == RLEN);
		if (n % 4 == 3) {
			t_ok(crimg_reader__splice_payload(r, null, RLEN));
		} else if (n % 4 == 2) {
			t_ok(crimg_reader__skip(r));
		} else {
			struct iovec v[2] = { { buf, 4097 }, { buf + 4097, RLEN - 4097 } };

			t_ok(crimg_reader__read_payload_iov(r, v, 2));
			if (!check_pat(buf, RLEN, n, 0))
				t_fail("record %d differs", n);
			t_assert(crimg_reader__payload_verified(r));
		}
		n++;
	}
	if (ret < 0)
		t_fail("reader: %s", crimg_reader__errmsg(r));
	t_assert(n == NREC);
	crimg_reader__free(r);
	close(null);
	free(buf);
}

static void run(uint32_t wflags, uint32_t rflags, bool nonblock, const char *what)
{
	int p[2], st;
	pid_t pid;

	t_assert(pipe2(p, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) == 0);
	pid = fork();
	t_assert(pid >= 0);
	if (!pid) {
		close(p[0]);
		hits = 0;
		if (!nonblock)
			storm();
		writer(p[1], wflags);
		calm();
		t_log("%s: writer interrupted %d times", what, (int)hits);
		_exit(0);
	}
	close(p[1]);
	hits = 0;
	if (!nonblock)
		storm();
	reader(p[0], rflags);
	calm();
	close(p[0]);
	t_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	t_log("%s: ok, reader interrupted %d times", what, (int)hits);
}

int main(void)
{
	run(0, 0, false, "signals, splice");
	run(CRIMG_W_NO_SPLICE, CRIMG_R_NO_SPLICE, false, "signals, plain");
	run(0, 0, true, "non-blocking pipe, splice");
	run(CRIMG_W_NO_SPLICE, CRIMG_R_NO_SPLICE, true, "non-blocking pipe, plain");
	return T_PASS;
}
