/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree-plan: the shape planner and creator (libcrcore/tree-restore.c) on
 * shapes that vt-tree does not have.
 * - planning only: a child left in its parent's old session is created
 *   before the parent's setsid; a dead group leader gets one helper for
 *   all its members; shapes that cannot be recreated are refused with a
 *   message naming the process (a session whose leader is alive, a
 *   reparented process whose parent is not a subreaper, a missing parent).
 * - creating, at free pids: R (session leader, subreaper) - P (setsid after
 *   creating Q) - Q (still in R's session, in a group whose leader is
 *   gone); Z a zombie killed by SIGKILL that leads a group, M in Z's group.
 *   Each checks itself; Z's exit code is 9; no helper is left.
 * - a shell job (TREE_SHELL_JOB): the root led its session and group,
 *   yet it and the processes in them join the caller's; a group and a
 *   session other processes made are made again.
 * - shared memory: which objects several processes map (tree_shm_plan)
 *   and their memfds (tree_shm_create).
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "../lib/test.h"
#include "../../libcrcore/tree.h"

static const struct tree_task *task(const struct tree_plan *p, pid_t pid)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->t[i].pid == pid)
			return &p->t[i];
	t_fail("no task %d in the plan", (int)pid);
}

static void refused(const struct tree_proc *pr, unsigned n, const char *want)
{
	struct tree_plan *p = NULL;
	char err[256] = "";
	int r = tree_plan_build(pr, n, 0, &p, err, sizeof(err));

	if (r >= 0)
		t_fail("planned a shape that should be refused (%s)", want);
	if (!strstr(err, want))
		t_fail("refused with '%s', expected '%s'", err, want);
	t_log("refused: %s", err);
}

static void plans(void)
{
	struct tree_plan *p;
	char err[256] = "";
	/* R leads its session; P made its own after creating Q, which stays
	 * in R's session in group 15 whose leader is gone, with Q2 */
	struct tree_proc a[] = {
		{ .pid = 10, .ppid = 1, .pgid = 10, .sid = 10 },
		{ .pid = 11, .ppid = 10, .pgid = 11, .sid = 11 },
		{ .pid = 12, .ppid = 11, .pgid = 15, .sid = 10 },
		{ .pid = 13, .ppid = 11, .pgid = 15, .sid = 10 },
	};

	if (tree_plan_build(a, 4, 0, &p, err, sizeof(err)) < 0)
		t_fail("plan a: %s", err);
	t_assert(p->n == 5);
	t_assert(task(p, 11)->setsid && !task(p, 11)->pre_setsid);
	t_assert(task(p, 12)->pre_setsid && p->t[task(p, 12)->creator].pid == 11);
	t_assert(task(p, 15)->kind == TREE_HELPER && task(p, 15)->pre_setsid);
	t_assert(p->t[task(p, 15)->creator].pid == 11);
	/* the helper comes before its members */
	t_assert(task(p, 15) < task(p, 12) && task(p, 15) < task(p, 13));
	tree_plan_free(p);

	/* the same tree as a shell job: R joins the caller's session and
	 * group (0), so does Q, left in R's old session; P's session and the
	 * group of the dead leader 15 are made as before */
	if (tree_plan_build(a, 4, TREE_SHELL_JOB, &p, err, sizeof(err)) < 0)
		t_fail("plan a as a shell job: %s", err);
	t_assert(p->n == 5);
	t_assert(!task(p, 10)->setsid && task(p, 10)->sid == 0 && task(p, 10)->pgid == 0);
	t_assert(task(p, 11)->setsid && task(p, 11)->pgid == 11);
	t_assert(task(p, 12)->pre_setsid && task(p, 12)->sid == 0 && task(p, 12)->pgid == 15);
	t_assert(task(p, 15)->kind == TREE_HELPER && task(p, 15)->sid == 0);
	tree_plan_free(p);
	{
		struct tree_plan *q = NULL;

		t_assert(tree_plan_build(a, 4, 0x80, &q, err, sizeof(err)) == -EINVAL && !q);
	}

	/* a session whose leader is alive elsewhere */
	{
		struct tree_proc b[] = {
			{ .pid = 20, .ppid = 1, .pgid = 20, .sid = 20 },
			{ .pid = 21, .ppid = 20, .pgid = 21, .sid = 21 },
			{ .pid = 22, .ppid = 20, .pgid = 21, .sid = 21 },
		};

		refused(b, 3, "process 22: session 21 differs from its parent's");
	}
	/* reparented out of a dead session, but the parent is no subreaper */
	{
		struct tree_proc c[] = {
			{ .pid = 30, .ppid = 1, .pgid = 30, .sid = 30 },
			{ .pid = 32, .ppid = 30, .pgid = 32, .sid = 31 },
		};

		refused(c, 2, "parent 30 is not a child subreaper");
		c[0].subreaper = true;
		if (tree_plan_build(c, 2, 0, &p, err, sizeof(err)) < 0)
			t_fail("plan c: %s", err);
		t_assert(task(p, 31)->kind == TREE_HELPER && task(p, 31)->setsid);
		t_assert(p->t[task(p, 32)->creator].pid == 31);
		tree_plan_free(p);
	}
	/* a parent that is not in the image */
	{
		struct tree_proc d[] = {
			{ .pid = 40, .ppid = 1, .pgid = 40, .sid = 40 },
			{ .pid = 41, .ppid = 49, .pgid = 40, .sid = 40 },
		};

		refused(d, 2, "process 41: its parent 49 is not in the image");
	}
}

struct result {
	_Atomic int done;
	char line[8][160];
};

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static char state_of(pid_t pid, int *code)
{
	char path[64], buf[1024], *s;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	s = strrchr(buf, ')');
	if (code) {
		char *l = strrchr(buf, ' ');

		*code = l ? atoi(l + 1) : -1;
	}
	return s ? s[2] : 0;
}

/* b, b+1...: a run of pids nobody uses, above the last one handed out */
static pid_t free_pids(unsigned n)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
	long last = 0, max = 32768;

	if (f) {
		if (fscanf(f, "%ld", &last) != 1)
			last = 0;
		fclose(f);
	}
	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 32768;
		fclose(f);
	}
	/* pids are handed out upwards from the last one and wrap: the ones
	 * just below it are the last to be handed out again */
	for (long i = 0, b = last - 2000; i < 300; i++, b -= 97) {
		unsigned k;

		if (b < 1000)
			b += max - 1000 - (long)n;
		for (k = 0; k < n; k++)
			if (kill((pid_t)(b + k), 0) == 0 || errno != ESRCH)
				break;
		if (k == n)
			return (pid_t)b;
	}
	t_skip("no run of %u free pids", n);
}

/* Creates pr with tree_create and checks every process: its pid, parent,
 * group and session as in pr, where a want_* of 0 (shell jobs) means the
 * caller's. */
static void create_tree(const char *what, const struct tree_proc *pr, unsigned n, unsigned flags,
			const pid_t *want_pgid, const pid_t *want_sid, pid_t helper)
{
	struct tree_create_opts o;
	struct tree_plan *p;
	struct result *res;
	char err[256] = "";
	unsigned nlive = 0;
	pid_t our_pgid = getpgid(0), our_sid = getsid(0); /* copied into every process */
	int idx, r;

	if (tree_plan_build(pr, n, flags, &p, err, sizeof(err)) < 0)
		t_fail("plan %s: %s", what, err);
	for (unsigned k = 0; k < n; k++)
		nlive += !pr[k].zombie;
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	t_assert(res != MAP_FAILED);
	o = (struct tree_create_opts){ .err = err, .errlen = sizeof(err) };
	r = tree_create(p, &o, &idx);
	if (r == 0 && idx >= 0) {
		const struct tree_proc *me = &pr[idx];
		pid_t pg = want_pgid[idx] ? want_pgid[idx] : our_pgid;
		pid_t sd = want_sid[idx] ? want_sid[idx] : our_sid;

		if (getpid() != me->pid || getppid() != me->ppid || getpgid(0) != pg ||
		    getsid(0) != sd)
			snprintf(res->line[idx], 160,
				 "FAIL %d: pid %d ppid %d (want %d) pgid %d (want %d) sid %d (want %d)",
				 (int)me->pid, (int)getpid(), (int)getppid(), (int)me->ppid,
				 (int)getpgid(0), (int)pg, (int)getsid(0), (int)sd);
		else
			snprintf(res->line[idx], 160, "PASS %d", (int)me->pid);
		atomic_fetch_add(&res->done, 1);
		for (;;)
			pause();
	}
	if (r < 0)
		t_fail("tree_create %s: %s", what, err);
	for (int i = 0; i < 500 && (unsigned)atomic_load(&res->done) < nlive; i++)
		msleep(10);
	r = 0;
	for (unsigned k = 0; k < n; k++) {
		int code = -1;
		char s = state_of(pr[k].pid, &code);

		if (pr[k].zombie) {
			if (s != 'Z' || code != SIGKILL) {
				t_log("FAIL zombie %d: state %c code %d", (int)pr[k].pid, s ? s : '-', code);
				r = -1;
			}
			continue;
		}
		t_log("%s: %s", what, res->line[k][0] ? res->line[k] : "FAIL: a process did not report");
		if (strncmp(res->line[k], "PASS", 4))
			r = -1;
	}
	if (helper && state_of(helper, NULL))
		t_log("FAIL: helper %d is still there", (int)helper), r = -1;
	for (unsigned k = 0; k < n; k++)
		kill(pr[k].pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	munmap(res, sizeof(*res));
	tree_plan_free(p);
	if (r < 0)
		t_fail("the tree %s did not come back as planned", what);
}

static void create(void)
{
	pid_t b = free_pids(8);
	struct tree_proc pr[] = {
		{ .pid = b, .ppid = getpid(), .pgid = b, .sid = b, .subreaper = true },
		{ .pid = b + 1, .ppid = b, .pgid = b + 1, .sid = b + 1 },
		{ .pid = b + 2, .ppid = b + 1, .pgid = b + 3, .sid = b },
		{ .pid = b + 4, .ppid = b, .pgid = b + 4, .sid = b, .zombie = true, .exit_status = SIGKILL },
		{ .pid = b + 5, .ppid = b, .pgid = b + 4, .sid = b },
	};
	pid_t pg[5], sd[5];

	for (unsigned k = 0; k < 5; k++)
		pg[k] = pr[k].pgid, sd[k] = pr[k].sid;
	create_tree("vt", pr, 5, 0, pg, sd, b + 3);
}

/* A shell job: R led its session and group on the caller's terminal;
 * A stayed in R's group, B made a group of its own in R's session with
 * C in it, D a session of its own.  R and A join our session and group,
 * B and C our session in B's group, D leads its session. */
static void create_shell_job(void)
{
	pid_t b = free_pids(8);
	struct tree_proc pr[] = {
		{ .pid = b, .ppid = getpid(), .pgid = b, .sid = b },
		{ .pid = b + 1, .ppid = b, .pgid = b, .sid = b },
		{ .pid = b + 2, .ppid = b, .pgid = b + 2, .sid = b },
		{ .pid = b + 3, .ppid = b + 2, .pgid = b + 2, .sid = b },
		{ .pid = b + 4, .ppid = b, .pgid = b + 4, .sid = b + 4 },
	};
	pid_t pg[5] = { 0, 0, b + 2, b + 2, b + 4 }, sd[5] = { 0, 0, 0, 0, b + 4 };

	create_tree("shell job", pr, 5, TREE_SHELL_JOB, pg, sd, 0);
}

/* Which shared memory objects the tree must create once. */
static void shared(void)
{
	Crimg__Vma v[6];
	Crimg__Vma *l0[2] = { &v[0], &v[1] }, *l1[2] = { &v[2], &v[3] }, *l2[2] = { &v[4], &v[5] };
	Crimg__Mm m[3], *mp[3] = { &m[0], &m[1], &m[2] };
	struct tree_shm *o;
	unsigned n;
	char err[256] = "";
	struct stat st;

	for (int i = 0; i < 6; i++) {
		v[i] = (Crimg__Vma)CRIMG__VMA__INIT;
		v[i].kind = CRIMG__VMA_KIND__VMA_ANON_SHARED;
		v[i].has_shmid = v[i].has_dev = 1;
		v[i].dev = 1;
	}
	/* object 100: p0 maps 2 pages, p1 4 pages from offset 1 page */
	v[0].shmid = 100, v[0].start = 0x10000, v[0].end = 0x12000, v[0].path = "/dev/zero";
	v[2].shmid = 100, v[2].start = 0x20000, v[2].end = 0x24000, v[2].pgoff = 0x1000;
	v[2].path = "/dev/zero";
	/* memfd 200 twice in p0 only (not shared with another process) */
	v[1].shmid = 200, v[1].start = 0x30000, v[1].end = 0x31000, v[1].path = "/memfd:x";
	v[1].has_file_size = 1, v[1].file_size = 0x8000;
	/* SysV 300 in p1 and p2; a memfd 400 in p2 with its file size */
	v[3].shmid = 300, v[3].start = 0x40000, v[3].end = 0x41000, v[3].path = "/SYSV00000000";
	v[4].shmid = 300, v[4].start = 0x40000, v[4].end = 0x41000, v[4].path = "/SYSV00000000";
	v[5].shmid = 200, v[5].start = 0x50000, v[5].end = 0x51000, v[5].path = "/memfd:x";
	v[5].has_file_size = 1, v[5].file_size = 0x9000;
	for (int i = 0; i < 3; i++) {
		m[i] = (Crimg__Mm)CRIMG__MM__INIT;
		m[i].pid = (uint32_t)(100 + i);
		m[i].n_vmas = 2;
	}
	m[0].vmas = l0, m[1].vmas = l1, m[2].vmas = l2;
	t_ok(tree_shm_plan(mp, 3, &o, &n));
	t_assert(n == 3);
	t_assert(o[0].shmid == 100 && !o[0].sysv && o[0].size == 0x5000 && o[0].nprocs == 2);
	t_assert(o[1].shmid == 200 && !strcmp(o[1].name, "x") && o[1].size == 0x9000 && o[1].nprocs == 2);
	t_assert(o[2].shmid == 300 && o[2].sysv && o[2].nprocs == 2);
	t_ok(tree_shm_create(o, 3, err, sizeof(err)));
	t_assert(o[0].fd >= 0 && o[1].fd >= 0 && o[2].fd < 0); /* SysV: made by cr-assemble */
	t_assert(fstat(o[1].fd, &st) == 0 && st.st_size == 0x9000);
	t_assert(tree_shm_fd(o, 3, 1, 100, false) == o[0].fd && tree_shm_fd(o, 3, 1, 100, true) == -1);
	tree_shm_free(o, 3);
	t_log("shared objects: 3 found, memfds of the right size");
}

int main(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	plans();
	shared();
	create();
	create_shell_job();
	printf("PASS\n");
	return 0;
}
