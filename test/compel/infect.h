/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * infect.h - one infection case: a victim blocked in MODE is seized,
 * infected with the test blob, served calls of every kind (arguments and
 * results, fds both ways, a call in another thread, vector registers
 * wiped), cured and released; then it checks itself.
 */
#ifndef COMPEL_INFECT_CASE_H
#define COMPEL_INFECT_CASE_H

#include <sys/syscall.h>

#include <compel.h>
#include "ctest.h"

struct add_args {
	long a, b;
	char msg[32];
};

static __attribute__((unused)) struct compel_blob *load_test_blob(void)
{
	struct compel_blob *b;
	char *path = t_build_path("test/compel/blobs/testcmd.blob");

	t_ok(compel_blob_open_file(path, &b));
	free(path);
	return b;
}

static __attribute__((unused)) uint64_t sym(struct compel_infect *inf, const char *name)
{
	uint64_t a;

	t_ok(compel_infect__sym(inf, 0, name, &a));
	return a;
}

static __attribute__((unused)) void infect_case_in(const char *const *args, unsigned settle_ms,
						  int other_thread)
{
	struct victim v;
	struct compel_proc *p;
	struct compel_infect *inf;
	struct compel_blob *b = load_test_blob();
	const struct compel_blob *blobs[] = { b };
	struct compel_infect_opts io = { .sz = sizeof(io), .blobs = blobs, .nr_blobs = 1 };
	struct add_args aa = { 40, 2, "" };
	struct compel_call c = { .sz = sizeof(c) };
	struct compel_thread *other = NULL, *t;
	int fds[2], out[1];
	long avx512;
	char buf[16];

	__builtin_cpu_init();
	avx512 = __builtin_cpu_supports("avx512f");
	victim_start(&v, args);
	usleep(settle_ms * 1000);
	t_ok(compel_proc_seize(v.pid, NULL, &p));
	if (other_thread) {
		/* the parasite in a thread that is not the leader */
		compel_proc__for_each_thread(p, t)
			if (compel_thread__tid(t) != v.pid)
				io.tid = compel_thread__tid(t);
		t_assert(io.tid);
	}
	t_ok(compel_infect(p, &io, &inf));
	t_assert(compel_thread__tid(compel_infect__thread(inf)) == (io.tid ? io.tid : v.pid));

	c.fn = sym(inf, "tc_add");
	c.args = &aa;
	c.args_len = sizeof(aa);
	c.res = &aa;
	c.res_len = sizeof(aa);
	t_ok(compel_infect__call(inf, &c));
	if (c.ret != 42 || strcmp(aa.msg, "sum done"))
		t_fail("tc_add: %lld '%s'", (long long)c.ret, aa.msg);

	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	c.fn = sym(inf, "tc_getpid");
	t_ok(compel_infect__call(inf, &c));
	t_assert(c.ret == v.pid);
	c.fn = sym(inf, "tc_gettid");
	t_ok(compel_infect__call(inf, &c));
	t_assert(c.ret == compel_thread__tid(compel_infect__thread(inf)));
	t_ok(compel_infect__ping(inf));

	/* an fd there and back */
	if (pipe2(fds, O_CLOEXEC))
		t_fail("pipe");
	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	c.fn = sym(inf, "tc_echo_fd");
	c.fds_in = &fds[1];
	c.nr_fds_in = 1;
	c.fds_out = out;
	c.max_fds_out = 1;
	t_ok(compel_infect__call(inf, &c));
	t_assert(c.ret == 6 && c.nr_fds_out == 1);
	t_assert(read(fds[0], buf, sizeof(buf)) == 6 && !memcmp(buf, "hello\n", 6));
	t_assert(write(out[0], "x", 1) == 1 && read(fds[0], buf, 1) == 1);
	close(out[0]);
	close(fds[0]);
	close(fds[1]);
	/* the victim's stdout, fetched */
	{
		int tfd = 1, got;

		t_ok(compel_infect__get_fds(inf, &tfd, 1, &got));
		close(got);
	}

	/* a call in another thread */
	compel_proc__for_each_thread(p, t)
		if (t != compel_infect__thread(inf) && compel_thread__state(t) != COMPEL_TASK_ZOMBIE)
			other = t;
	if (other) {
		memset(&c, 0, sizeof(c));
		c.sz = sizeof(c);
		c.fn = sym(inf, "tc_gettid");
		t_ok(compel_infect__call_in_thread(inf, compel_thread__tid(other), &c));
		if (c.ret != compel_thread__tid(other))
			t_fail("call in thread %d ran in %lld", compel_thread__tid(other),
			       (long long)c.ret);
		memset(&c, 0, sizeof(c));
		c.sz = sizeof(c);
		c.fn = sym(inf, "tc_clobber");
		c.args = &avx512;
		c.args_len = sizeof(avx512);
		t_ok(compel_infect__call_in_thread(inf, compel_thread__tid(other), &c));
	}

	/* wipe the parasite thread's vector registers: the cure restores */
	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	c.fn = sym(inf, "tc_clobber");
	c.args = &avx512;
	c.args_len = sizeof(avx512);
	t_ok(compel_infect__call(inf, &c));

	t_ok(compel_cure(inf));
	t_ok(compel_proc_release(p, 0));
	compel_blob_free(b);
	/* no trace: no parasite mapping, no extra fd */
	{
		char path[64], line[512];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/maps", v.pid);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "compel-parasite"))
				t_fail("parasite mapping left: %s", line);
		if (f)
			fclose(f);
	}
	victim_go(&v);
	victim_expect_pass(&v, 5000);
}

static __attribute__((unused)) void infect_case(const char *const *args, unsigned settle_ms)
{
	infect_case_in(args, settle_ms, 0);
}

#endif
