/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The victim exits (or is killed) during the infection: every call gives
 * a clean error at once, nothing hangs. */
#include "infect.h"

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void one(int how)
{
	struct victim v;
	struct compel_proc *p;
	struct compel_infect *inf;
	struct compel_blob *b = load_test_blob();
	const struct compel_blob *blobs[] = { b };
	struct compel_infect_opts io = { .sz = sizeof(io), .blobs = blobs, .nr_blobs = 1 };
	struct compel_call c = { .sz = sizeof(c) };
	long long t0;
	int err;

	victim_start(&v, (const char *[]){ "read", "threads:2", NULL });
	t_ok(compel_proc_seize(v.pid, NULL, &p));
	t_ok(compel_infect(p, &io, &inf));
	t0 = ms_now();
	if (how == 0) {
		c.fn = sym(inf, "tc_exit"); /* the parasite calls exit_group */
		err = compel_infect__call(inf, &c);
	} else {
		kill(v.pid, SIGKILL);
		err = compel_infect__ping(inf);
	}
	if (err != -ESRCH)
		t_fail("call in a dying task gave %d, want -ESRCH", err);
	err = compel_cure(inf);
	if (err != -ESRCH)
		t_fail("cure of a dead task gave %d, want -ESRCH", err);
	compel_proc_release(p, 0);
	if (ms_now() - t0 > 3000)
		t_fail("errors took %lld ms", ms_now() - t0);
	compel_blob_free(b);
	ct_untrack(v.pid);
}

int main(void)
{
	one(0);
	one(1);
	return 0;
}
