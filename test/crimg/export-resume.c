/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export-resume: a stage writes part of a stream, exports its writer
 * state and exec()s the next stage (this program again), which resumes
 * the stream on the same fd, appends and finishes.  The reader sees one
 * valid stream.  Bad state strings are refused.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "crimg-test.h"

static void stage2(void)
{
	struct crimg_writer *w;
	uint8_t buf[10000];
	int fd = atoi(getenv("CRIMG_TEST_FD"));

	t_ok(crimg_writer__resume(fd, getenv(CRIMG_STATE_ENV), NULL, &w));
	t_assert(crimg_writer__records(w) == 3);
	fill_pat(buf, sizeof(buf), 2, 0);
	t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, buf, sizeof(buf)));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	exit(0);
}

int main(int argc, char **argv)
{
	const struct crimg_record *rec;
	struct crimg_reader *r;
	struct crimg_writer *w;
	char state[CRIMG_STATE_MAX], fdnum[16], tiny[8];
	uint8_t buf[10000];
	int p[2], st, ret, n = 0;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "stage2"))
		stage2();

	/* bad states */
	{
		static const char *bad[] = { "", "1", "2:0:64:0", "1:0:10:0", "1:x:64:0",
					     "1:5:64:0", "1:0:64:zz", "1:0:64:0 ", "-1:0:64:0",
					     "1: 0:64:0", "1:+0:64:0", "1:0:64:", "1:0:64:100000000",
					     "1:768614336404564651:18446744073709551615:0",
					     "1:0:99999999999999999999:0", "1:0:64:0:0" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (crimg_writer__resume(1, bad[i], NULL, &w) != -EINVAL)
				t_fail("state \"%s\" accepted", bad[i]);
	}

	t_assert(pipe2(p, 0) == 0); /* the write end survives exec */
	pid = fork();
	t_assert(pid >= 0);
	if (!pid) {
		Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;

		close(p[0]);
		t_ok(crimg_writer__new(p[1], NULL, &w));
		for (int i = 0; i < 3; i++) {
			m.seq = i;
			t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
		}
		t_assert(crimg_writer__export(w, tiny, sizeof(tiny)) == -ENOSPC);
		t_ok(crimg_writer__export(w, state, sizeof(state)));
		t_assert(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base) == -EINVAL);
		crimg_writer__free(w);
		snprintf(fdnum, sizeof(fdnum), "%d", p[1]);
		setenv(CRIMG_STATE_ENV, state, 1);
		setenv("CRIMG_TEST_FD", fdnum, 1);
		t_log("exporting \"%s\"", state);
		execl("/proc/self/exe", argv[0], "stage2", (char *)NULL);
		_exit(99);
	}
	close(p[1]);
	t_ok(crimg_reader__new(p[0], NULL, &r));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		if (n < 3) {
			ProtobufCMessage *pm;

			t_ok(crimg_reader__read_msg(r, &crimg__test_msg__descriptor, &pm));
			t_assert(((Crimg__TestMsg *)pm)->seq == (uint64_t)n);
			protobuf_c_message_free_unpacked(pm, NULL);
		} else {
			t_assert(rec->len == sizeof(buf));
			t_ok(crimg_reader__read_payload(r, buf, sizeof(buf)));
			t_assert(check_pat(buf, sizeof(buf), 2, 0));
			t_assert(crimg_reader__payload_verified(r));
		}
		n++;
	}
	if (ret < 0)
		t_fail("reader: %s", crimg_reader__errmsg(r));
	t_assert(n == 4);
	crimg_reader__free(r);
	close(p[0]);
	t_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return T_PASS;
}
