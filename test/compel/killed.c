/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The controller is SIGKILLed while the victim is seized, at any moment of
 * a loop of infections and cures, infected, in the middle of a call, and
 * as it is being cured: each time the
 * victim (blocked in read, vector registers and signal state set) goes on
 * correctly and says PASS.
 */
#include "infect.h"

static void controller(pid_t pid, int report, char phase)
{
	struct compel_proc *p;
	struct compel_infect *inf;
	struct compel_blob *b = load_test_blob();
	const struct compel_blob *blobs[] = { b };
	struct compel_infect_opts io = { .sz = sizeof(io), .blobs = blobs, .nr_blobs = 1 };
	struct compel_call c = { .sz = sizeof(c) };
	long ms = 500, avx512 = 1;

	if (compel_proc_seize(pid, NULL, &p))
		_exit(3);
	if (phase == 'S')
		goto report;
	if (phase == 'N') {
		/* killed somewhere in infect or cure, over and over */
		if (write(report, &phase, 1) != 1)
			_exit(6);
		for (;;) {
			if (compel_infect(p, &io, &inf))
				_exit(4);
			compel_cure(inf);
		}
	}
	if (compel_infect(p, &io, &inf))
		_exit(4);
	if (phase == 'I')
		goto report;
	__builtin_cpu_init();
	avx512 = __builtin_cpu_supports("avx512f");
	c.fn = sym(inf, "tc_clobber");
	c.args = &avx512;
	c.args_len = sizeof(avx512);
	if (compel_infect__call(inf, &c))
		_exit(5);
	if (phase == 'R') {
		c.fn = sym(inf, "tc_sleep");
		c.args = &ms;
		c.args_len = sizeof(ms);
		if (write(report, &phase, 1) != 1)
			_exit(6);
		compel_infect__call(inf, &c);
		_exit(7);
	}
	/* 'C': tell, then cure */
	if (write(report, &phase, 1) != 1)
		_exit(6);
	compel_cure(inf);
	pause();
	_exit(0);
report:
	if (write(report, &phase, 1) != 1)
		_exit(6);
	pause();
	_exit(0);
}

static void one(char phase, unsigned delay_us)
{
	struct victim v;
	int pp[2];
	pid_t ctl;
	char c;

	victim_start(&v, (const char *[]){ "read", "threads:2", "fpu", "sig", "rseq", NULL });
	if (pipe(pp))
		t_fail("pipe");
	ctl = fork();
	if (!ctl) {
		close(pp[0]);
		controller(v.pid, pp[1], phase);
	}
	ct_track(ctl);
	close(pp[1]);
	if (read(pp[0], &c, 1) != 1 || c != phase)
		t_fail("controller failed before phase %c", phase);
	usleep(delay_us);
	kill(ctl, SIGKILL);
	waitpid(ctl, NULL, 0);
	ct_untrack(ctl);
	close(pp[0]);
	/* the parasite unmaps itself on its way home (a kill inside
	 * compel_infect, before the parasite runs, may leave the inert
	 * mapping: documented) */
	for (int i = 0; phase != 'N'; i++) {
		char path[64], line[512];
		int left = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/maps", v.pid);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			left |= !!strstr(line, "compel-parasite");
		if (f)
			fclose(f);
		if (!left)
			break;
		if (i == 300)
			t_fail("phase %c: the parasite mapping stayed", phase);
		usleep(10000);
	}
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	t_log("phase %c: victim passed", phase);
}

int main(void)
{
	one('S', 0);
	for (unsigned d = 0; d < 12; d++)
		one('N', d * 97);
	one('I', 0);
	one('R', 100000);
	one('C', 0);
	one('C', 100);
	one('C', 1000);
	one('C', 20000);
	return 0;
}
