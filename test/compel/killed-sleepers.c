/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The controller is SIGKILLed at spread moments, many times over one
 * victim whose threads sleep in nanosleep, clock_nanosleep (relative and
 * absolute), a timed futex wait and poll, and block in read
 * (helpers/sleepers.c): while it runs remote system calls in every
 * thread in turn, while a parasite serves calls (with an fd passed, some
 * sleeping in the parasite; in its thread or in another), and while it
 * infects and cures again and
 * again.  After each kill the victim must be left with no fd and no
 * mapping of ours once the orphaned parasite is home (a kill inside
 * compel_infect included); at the end every sleep must have ended as it would
 * have without us: no EINTR, never before its deadline.
 */
#include <dirent.h>

#include "infect.h"

static int count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Mappings, and how many are the parasite's. */
static int count_maps(pid_t pid, int *parasite)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	*parasite = 0;
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		*parasite += !!strstr(line, "compel-parasite");
	}
	if (f)
		fclose(f);
	return n;
}

static int traced(pid_t pid)
{
	char path[64], buf[2048], *s;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	s = strstr(buf, "TracerPid:");
	return s && atoi(s + 10) != 0;
}

static void controller(pid_t pid, int report, char phase, unsigned round)
{
	struct compel_proc *p;
	struct compel_infect *inf;
	struct compel_blob *b = load_test_blob();
	const struct compel_blob *blobs[] = { b };
	struct compel_infect_opts io = { .sz = sizeof(io), .blobs = blobs, .nr_blobs = 1 };
	struct compel_call c = { .sz = sizeof(c) };
	unsigned nt, i = round;
	int64_t r;
	long ms = 20;
	int pp[2];

	compel_set_log(NULL, NULL, 0);
	if (compel_proc_seize(pid, NULL, &p))
		_exit(3);
	nt = compel_proc__nr_threads(p);
	/* a different thread each round: sleepers of every kind */
	io.tid = compel_thread__tid(compel_proc__thread(p, round % nt));
	if (phase != 'P' && phase != 'T' && write(report, &phase, 1) != 1)
		_exit(6);
	switch (phase) {
	case 'S': /* remote syscalls, every thread in turn */
		for (;; i++)
			if (compel_remote_syscall(compel_proc__thread(p, i % nt), &r, __NR_getppid, NULL))
				_exit(4);
	case 'C': /* infect and cure, over and over */
		for (;;) {
			if (compel_infect(p, &io, &inf))
				_exit(4);
			compel_cure(inf);
		}
	case 'T': /* calls in another thread, some staying there a while
		   * (spinning: a sleeping call there, interrupted by our death
		   * at its entry stop, would reset that thread's restart block,
		   * docs/compel.md) */
		if (compel_infect(p, &io, &inf))
			_exit(4);
		c.fn = sym(inf, "tc_spin");
		c.args = &ms;
		c.args_len = sizeof(ms);
		if (write(report, &phase, 1) != 1)
			_exit(6);
		for (;; i++) {
			pid_t other = compel_thread__tid(compel_proc__thread(p, (round + 1 + i % (nt - 1)) % nt));

			ms = i % 3 ? 0 : 3000000;
			if (compel_infect__call_in_thread(inf, other, &c))
				_exit(5);
		}
	case 'P': /* calls with an fd passed; some sleep in the parasite */
		if (compel_infect(p, &io, &inf) || pipe(pp))
			_exit(4);
		c.fn = sym(inf, "tc_poll_sleep");
		c.args = &ms;
		c.args_len = sizeof(ms);
		c.fds_in = &pp[1];
		c.nr_fds_in = 1;
		if (write(report, &phase, 1) != 1)
			_exit(6);
		for (;; i++) {
			ms = i % 3 ? 0 : 3;
			if (compel_infect__call(inf, &c))
				_exit(5);
		}
	}
	_exit(0);
}

/* Kills the controller 30 times in the phases listed, in turn, over one
 * victim. */
static void run(const char *phases)
{
	struct victim v;
	int fds0, maps0, para, para0;
	unsigned k;

	victim_start_helper(&v, "sleepers", (const char *[]){ NULL });
	usleep(50000);
	fds0 = count_fds(v.pid);
	maps0 = count_maps(v.pid, &para0);
	for (k = 0; k < 30; k++) {
		char phase = phases[k % strlen(phases)], c;
		unsigned delay_us = (k * 997) % 4000;
		int pp[2], i;
		pid_t ctl;

		if (pipe(pp))
			t_fail("pipe");
		ctl = fork();
		if (!ctl) {
			close(pp[0]);
			controller(v.pid, pp[1], phase, k);
		}
		ct_track(ctl);
		close(pp[1]);
		if (read(pp[0], &c, 1) != 1 || c != phase)
			t_fail("round %u: the controller failed before phase %c", k, phase);
		close(pp[0]);
		usleep(delay_us);
		kill(ctl, SIGKILL);
		waitpid(ctl, NULL, 0);
		ct_untrack(ctl);
		/* the kernel detached at once; an orphaned parasite goes home
		 * after finishing the sleep it interrupted (<= 40 ms) */
		for (i = 0; traced(v.pid) || count_maps(v.pid, &para) != maps0 || para != para0 ||
			    count_fds(v.pid) != fds0; i++) {
			if (i == 100) {
				char cmd[128];

				snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2; grep -v '\\.so' /proc/%d/maps >&2",
					 (int)v.pid, (int)v.pid);
				if (system(cmd))
					t_log("cannot list what is left");
				t_fail("round %u (phase %c, killed after %u us): the victim kept %d fds (had %d), "
				       "%d mappings (had %d)%s%s",
				       k, phase, delay_us, count_fds(v.pid), fds0, count_maps(v.pid, &para),
				       maps0, para != para0 ? ", the parasite's among them" : "",
				       traced(v.pid) ? ", still traced" : "");
			}
			usleep(5000);
		}
	}
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	t_log("phases %s: victim passed", phases);
}

int main(void)
{
	/* KS_PHASES=... runs just those phases, in turn */
	if (getenv("KS_PHASES")) {
		run(getenv("KS_PHASES"));
		return T_PASS;
	}
	run("S");
	run("P");
	run("C");
	run("T");
	run("SCPT"); /* each kill leaves the next controller a different state */
	return T_PASS;
}
