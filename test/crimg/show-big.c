/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * show-big: cr-show decodes a 2 GiB stream from a pipe in constant memory
 * (its peak RSS stays far below the stream size) and checks every payload
 * on the way.  Then a stream with one 192 MiB record goes through
 * `cr-show --payload | cr-show --encode` and comes out identical, both
 * cr-show processes staying small.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "crimg-test.h"

#define REC (1u << 20)
#define NREC 2048 /* 2 GiB */

#define BIG (192u << 20)

static pid_t spawn(const char *prog, const char *arg, int in, int out)
{
	pid_t pid = fork();

	t_assert(pid >= 0);
	if (!pid) {
		dup2(in, 0);
		dup2(out, 1);
		execl(prog, "cr-show", arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid, const char *what, long max_kib)
{
	struct rusage ru;
	int st;

	t_assert(wait4(pid, &st, 0, &ru) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("%s exited with status 0x%x", what, st);
	t_log("%s: max RSS %ld KiB", what, ru.ru_maxrss);
	if (max_kib && ru.ru_maxrss > max_kib)
		t_fail("%s used %ld KiB", what, ru.ru_maxrss);
}

static void big_record(const char *show)
{
	int a[2], b[2], c[2];
	pid_t wpid, d, e;
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint8_t *buf = malloc(1 << 20);
	int n = 0, ret;

	t_assert(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0 && pipe2(c, O_CLOEXEC) == 0);
	wpid = fork();
	t_assert(wpid >= 0);
	if (!wpid) {
		/* the pages exist in the writer only: a process forked
		 * later must not count them in its RSS */
		uint8_t *big = t_pages(BIG);
		struct crimg_writer *w;
		struct iovec v = { big, BIG };

		fill_pat(big, BIG, 12, 0);
		t_ok(crimg_writer__new(a[1], NULL, &w));
		t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, "small", 5));
		t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, CRIMG_REC_REQUIRED, &v, 1, CRIMG_ADD_DONATE));
		t_ok(crimg_writer__finish(w));
		_exit(0);
	}
	d = spawn(show, "--payload", a[0], b[1]);
	e = spawn(show, "--encode", b[0], c[1]);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[1]);
	t_ok(crimg_reader__new(c[0], NULL, &r));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		if (n == 1) {
			t_assert(rec->len == BIG && rec->flags == (CRIMG_REC_RAW | CRIMG_REC_REQUIRED | CRIMG_REC_CSUM));
			for (uint64_t off = 0; off < BIG; off += 1 << 20) {
				t_ok(crimg_reader__read_payload(r, buf, 1 << 20));
				if (!check_pat(buf, 1 << 20, 12, off))
					t_fail("payload differs at %lu", (unsigned long)off);
			}
			t_assert(crimg_reader__payload_verified(r));
		}
		n++;
	}
	if (ret < 0)
		t_fail("reader: %s", crimg_reader__errmsg(r));
	t_assert(n == 2);
	crimg_reader__free(r);
	close(c[0]);
	reap(d, "cr-show --payload, 192 MiB record", 96 * 1024);
	reap(e, "cr-show --encode, 192 MiB record", 96 * 1024);
	reap(wpid, "writer", 0);
	free(buf);
}

int main(void)
{
	char *show = t_build_path("bin/cr-show"), outpath[256], tail[256];
	uint8_t *pages = t_pages(REC);
	struct rusage ru;
	pid_t wpid, spid;
	int p[2], st, ofd;
	FILE *f;
	size_t n;

	if (access(show, X_OK))
		t_skip("%s not built", show);
	fill_pat(pages, REC, 11, 0);
	t_assert(pipe2(p, O_CLOEXEC) == 0);
	wpid = fork();
	t_assert(wpid >= 0);
	if (!wpid) {
		struct crimg_writer *w;
		Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;
		struct iovec v = { pages, REC };

		close(p[0]);
		t_ok(crimg_writer__new(p[1], NULL, &w));
		for (int i = 0; i < NREC; i++) {
			m.seq = i;
			t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
			/* the same unchanged pages every time: donating them
			 * again is fine, they are never written */
			t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1, CRIMG_ADD_DONATE));
		}
		t_ok(crimg_writer__finish(w));
		_exit(0);
	}
	snprintf(outpath, sizeof(outpath), "%s/out.json", t_tmpdir());
	ofd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	t_assert(ofd >= 0);
	spid = fork();
	t_assert(spid >= 0);
	if (!spid) {
		dup2(p[0], 0);
		dup2(ofd, 1);
		execl(show, "cr-show", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	close(ofd);
	t_assert(wait4(spid, &st, 0, &ru) == spid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("cr-show exited with status 0x%x", st);
	t_assert(waitpid(wpid, &st, 0) == wpid && WIFEXITED(st) && !WEXITSTATUS(st));
	t_log("cr-show on a %u MiB stream: max RSS %ld KiB", NREC, ru.ru_maxrss);
	/* ASan adds its own tens of MiB; the stream is 2048 MiB */
	if (ru.ru_maxrss > 96 * 1024)
		t_fail("cr-show used %ld KiB for a 2 GiB stream", ru.ru_maxrss);
	f = fopen(outpath, "r");
	t_assert(f);
	{
		char line[512];
		int verified = 0;

		while (fgets(line, sizeof(line), f))
			if (strstr(line, "\"verified\":true"))
				verified++;
		if (verified != 2 * NREC + 1)
			t_fail("%d records verified, expected %d", verified, 2 * NREC + 1);
	}
	fseek(f, -120, SEEK_END);
	n = fread(tail, 1, sizeof(tail) - 1, f);
	tail[n] = 0;
	fclose(f);
	if (!strstr(tail, "\"trailer\":{\"records\":4096,"))
		t_fail("output ends with: %s", tail);
	if (!strstr(tail, "\"verified\":true}"))
		t_fail("output ends with: %s", tail);
	big_record(show);
	free(show);
	return T_PASS;
}
