/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree-restore.c - recreating the shape of a process tree: every pid with
 * clone3 and set_tid, parents, sessions and process groups (with helpers
 * for leaders that are gone), zombies with their exit status.  What each
 * live process then becomes is the restore engine's business.  Design
 * and reasons: docs/trees.md; interface: tree.h.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/sched.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "tree.h"

static int perr(char *err, size_t len, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int perr(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- the plan ------------------------------------------------------------ */

struct builder {
	const struct tree_proc *procs;
	unsigned n;
	struct tree_plan *p;
	int *task_of;           /* procs index -> task index, -1 not placed yet */
	bool shell_job;         /* TREE_SHELL_JOB */
	char *err;
	size_t errlen;
};

static int find_proc(const struct builder *b, pid_t pid)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->procs[i].pid == pid)
			return (int)i;
	return -1;
}

static int find_task(const struct tree_plan *p, pid_t pid)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->t[i].pid == pid)
			return (int)i;
	return -1;
}

static int add_task(struct builder *b, const struct tree_task *t)
{
	struct tree_plan *p = b->p;
	struct tree_task *n = realloc(p->t, (p->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->t = n;
	p->t[p->n] = *t;
	return (int)p->n++;
}

/* The session a task is born in (its creator's at the fork), and the one
 * it has in the end.  0: the caller's. */
static pid_t born_sid(const struct tree_plan *p, int i);
static pid_t final_sid(const struct tree_plan *p, int i)
{
	return p->t[i].setsid ? p->t[i].pid : born_sid(p, i);
}

static pid_t born_sid(const struct tree_plan *p, int i)
{
	int c = p->t[i].creator;

	if (c < 0)
		return 0;
	return p->t[i].pre_setsid ? born_sid(p, c) : final_sid(p, c);
}

/* The image's session id as the plan sees it: the root's session is the
 * caller's when the root does not lead it, or always for a shell job. */
static pid_t sess(const struct builder *b, pid_t sid)
{
	const struct tree_proc *r = &b->procs[0];

	return sid == r->sid && (r->sid != r->pid || b->shell_job) ? 0 : sid;
}

/* The same for a process group. */
static pid_t grp(const struct builder *b, pid_t pgid)
{
	const struct tree_proc *r = &b->procs[0];

	return pgid == r->pgid && (r->pgid != r->pid || b->shell_job) ? 0 : pgid;
}

/* The nearest ancestor of task i (itself included) that is a subreaper,
 * as the pid reparenting gives: 0 the caller's side. */
static pid_t reaper_of(const struct tree_plan *p, int i)
{
	for (; i >= 0; i = p->t[i].creator)
		if (p->t[i].subreaper && p->t[i].kind != TREE_HELPER)
			return p->t[i].pid;
	return 0;
}

/* Places proc k (its parent is placed already). */
static int place(struct builder *b, unsigned k)
{
	const struct tree_proc *pr = &b->procs[k];
	struct tree_plan *p = b->p;
	struct tree_task t = {
		.pid = pr->pid, .kind = pr->zombie ? TREE_ZOMBIE : TREE_PROC, .proc = (int)k,
		.setsid = pr->sid == pr->pid, .sid = sess(b, pr->sid), .ppid = pr->ppid,
		.subreaper = pr->subreaper, .exit_status = pr->exit_status, .comm = pr->comm,
	};
	int pp = find_proc(b, pr->ppid), par, r;

	t.pgid = grp(b, pr->pgid);
	if (pp < 0 || b->task_of[pp] < 0)
		return perr(b->err, b->errlen, -EINVAL, "process %d: its parent %d is not in the image",
			    (int)pr->pid, (int)pr->ppid);
	par = b->task_of[pp];
	if (p->t[par].kind == TREE_ZOMBIE)
		return perr(b->err, b->errlen, -EINVAL, "process %d: its parent %d is a zombie",
			    (int)pr->pid, (int)pr->ppid);
	if (t.setsid || final_sid(p, par) == t.sid) {
		t.creator = par;
	} else if (p->t[par].setsid && born_sid(p, par) == t.sid) {
		/* the parent made its own session after this fork */
		t.creator = par;
		t.pre_setsid = true;
	} else {
		/* Born in a session whose leader is gone, then reparented to
		 * its parent: a helper takes the leader's pid, makes the
		 * session, creates it and exits. */
		int h;

		if (t.sid == 0 || find_proc(b, t.sid) >= 0)
			return perr(b->err, b->errlen, -EOPNOTSUPP,
				    "process %d: session %d differs from its parent's (%d) while its leader is alive: not supported",
				    (int)pr->pid, (int)pr->sid, (int)pr->ppid);
		if (!p->t[par].subreaper)
			return perr(b->err, b->errlen, -EOPNOTSUPP,
				    "process %d: session %d lost its leader and the parent %d is not a child subreaper: not supported",
				    (int)pr->pid, (int)pr->sid, (int)pr->ppid);
		h = find_task(p, t.sid);
		if (h < 0) {
			struct tree_task ht = { .pid = t.sid, .kind = TREE_HELPER, .creator = par,
						.proc = -1, .setsid = true, .pgid = t.sid,
						.sid = t.sid, .ppid = p->t[par].pid };

			h = add_task(b, &ht);
			if (h < 0)
				return h;
		} else if (p->t[h].kind != TREE_HELPER || p->t[h].creator != par) {
			return perr(b->err, b->errlen, -EOPNOTSUPP,
				    "process %d: session %d is shared by processes of different parents: not supported",
				    (int)pr->pid, (int)pr->sid);
		}
		t.creator = h;
	}
	r = add_task(b, &t);
	if (r < 0)
		return r;
	b->task_of[k] = r;
	/* the parent in the end: the creator, or the subreaper above it */
	{
		int c = p->t[r].creator;
		pid_t end = p->t[c].kind == TREE_HELPER ? reaper_of(p, p->t[c].creator) : p->t[c].pid;

		if (end != pr->ppid)
			return perr(b->err, b->errlen, -EOPNOTSUPP,
				    "process %d: it would end up a child of %d, not %d: not supported",
				    (int)pr->pid, (int)end, (int)pr->ppid);
	}
	return 0;
}

/* A dead group leader: a helper in the members' session holds the group
 * while they join it. */
static int group_helpers(struct builder *b)
{
	struct tree_plan *p = b->p;
	unsigned n = p->n;

	for (unsigned i = 0; i < n; i++) {
		struct tree_task *t = &p->t[i];
		struct tree_task ht;
		int g, r;

		if (!t->pgid || t->pgid == t->pid)
			continue;
		g = find_task(p, t->pgid);
		if (g >= 0) {
			if (final_sid(p, g) != final_sid(p, (int)i))
				return perr(b->err, b->errlen, -EINVAL,
					    "process %d: group %d is in another session", (int)t->pid,
					    (int)t->pgid);
			continue;
		}
		if (t->setsid)
			return perr(b->err, b->errlen, -EINVAL,
				    "process %d leads a session but is in group %d", (int)t->pid,
				    (int)t->pgid);
		ht = (struct tree_task){ .pid = t->pgid, .kind = TREE_HELPER, .creator = t->creator,
					 .proc = -1, .pre_setsid = t->pre_setsid, .pgid = t->pgid,
					 .sid = final_sid(p, (int)i), .ppid = p->t[t->creator].pid };
		/* before its first member, so that the order stays "creator
		 * first": insert at i (indices of later tasks move by one) */
		r = add_task(b, &ht);
		if (r < 0)
			return r;
		memmove(&p->t[i + 1], &p->t[i], (p->n - 1 - i) * sizeof(*p->t));
		p->t[i] = ht;
		for (unsigned k = 0; k < p->n; k++)
			if (k != i && p->t[k].creator >= (int)i)
				p->t[k].creator++;
		n++;
		i++;
	}
	return 0;
}

int tree_plan_build(const struct tree_proc *procs, unsigned n, unsigned flags,
		    struct tree_plan **ret, char *err, size_t errlen)
{
	struct builder b = { .procs = procs, .n = n, .err = err, .errlen = errlen,
			     .shell_job = flags & TREE_SHELL_JOB };
	unsigned placed = 0;
	int r;

	if (flags & ~TREE_SHELL_JOB)
		return perr(err, errlen, -EINVAL, "unknown flags %#x", flags);
	if (!n)
		return perr(err, errlen, -EINVAL, "no process");
	if (procs[0].zombie)
		return perr(err, errlen, -EINVAL, "the root %d is a zombie", (int)procs[0].pid);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (procs[i].pid == procs[j].pid)
				return perr(err, errlen, -EINVAL, "pid %d twice", (int)procs[i].pid);
	b.p = calloc(1, sizeof(*b.p));
	b.task_of = malloc(n * sizeof(int));
	if (!b.p || !b.task_of) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < n; i++)
		b.task_of[i] = -1;
	b.p->nprocs = n;
	{
		const struct tree_proc *rt = &procs[0];
		/* a shell job's root leads nothing: it joins the caller's
		 * session and group (sess and grp give 0) */
		struct tree_task t = { .pid = rt->pid, .kind = TREE_PROC, .creator = -1, .proc = 0,
				       .setsid = rt->sid == rt->pid && !b.shell_job,
				       .sid = sess(&b, rt->sid), .pgid = grp(&b, rt->pgid),
				       .subreaper = rt->subreaper };

		r = add_task(&b, &t);
		if (r < 0)
			goto fail;
		b.task_of[0] = r;
		placed = 1;
	}
	/* parents first: place whatever has its parent placed, until done */
	while (placed < n) {
		unsigned before = placed;

		for (unsigned k = 1; k < n; k++) {
			int pp;

			if (b.task_of[k] >= 0)
				continue;
			pp = find_proc(&b, procs[k].ppid);
			if (pp < 0 || b.task_of[pp] < 0)
				continue;
			r = place(&b, k);
			if (r < 0)
				goto fail;
			placed++;
		}
		if (placed == before) {
			for (unsigned k = 1; k < n; k++)
				if (b.task_of[k] < 0) {
					r = perr(err, errlen, -EINVAL,
						 "process %d: its parent %d is not in the image",
						 (int)procs[k].pid, (int)procs[k].ppid);
					goto fail;
				}
		}
	}
	r = group_helpers(&b);
	if (r < 0)
		goto fail;
	free(b.task_of);
	*ret = b.p;
	return 0;
fail:
	free(b.task_of);
	tree_plan_free(b.p);
	return r;
}

void tree_plan_free(struct tree_plan *p)
{
	if (!p)
		return;
	free(p->t);
	free(p);
}

/* ---- creating it ----------------------------------------------------------- */

/* Shared by every task and the caller (MAP_SHARED: inherited by clone). */
struct tree_ctl {
	_Atomic int created, joined, done, phase, failed;
	pid_t root_pgid, root_sid;   /* the caller's, for pgid/sid 0 */
	char msg[256];
	_Atomic pid_t pids[];        /* by task, once created */
};

static void ms_sleep(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* The words of tree_ctl are futexes across the processes (MAP_SHARED):
 * a hundred processes polling them would take the CPUs from the ones
 * still being created (each fork copies its parent's page tables). */
static void futex_wait_ms(_Atomic int *w, int val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	syscall(SYS_futex, (int *)w, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake_all(_Atomic int *w)
{
	syscall(SYS_futex, (int *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* One more task has reached a point the caller waits for. */
static void count(_Atomic int *v)
{
	atomic_fetch_add(v, 1);
	futex_wake_all(v);
}

static void set_phase(struct tree_ctl *c, int phase)
{
	atomic_store(&c->phase, phase);
	futex_wake_all(&c->phase);
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000 + (uint64_t)((t.tv_nsec - t0->tv_nsec) / 1000000);
}

static __attribute__((noreturn)) void task_fail(struct tree_ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void task_fail(struct tree_ctl *c, const char *fmt, ...)
{
	int z = 0;
	va_list ap;

	if (atomic_compare_exchange_strong(&c->failed, &z, 1)) {
		va_start(ap, fmt);
		vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
		va_end(ap);
	}
	futex_wake_all(&c->phase);
	futex_wake_all(&c->created);
	futex_wake_all(&c->joined);
	futex_wake_all(&c->done);
	_exit(1);
}

/* Waits for the phase (or a failure, then exits). */
static void task_wait(struct tree_ctl *c, int phase)
{
	int cur;

	while ((cur = atomic_load(&c->phase)) < phase) {
		if (atomic_load(&c->failed))
			_exit(1);
		futex_wait_ms(&c->phase, cur, 50);
	}
}

static pid_t clone_pid(pid_t pid)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t tid = pid, r;

	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	/* The kernel may hold a pid for a moment after its task was reaped
	 * (a killed multi-threaded original): retry while nothing has it. */
	for (int i = 0;; i++) {
		r = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (r >= 0 || errno != EEXIST || i >= 400)
			return r;
		if (kill(pid, 0) == 0 || errno != ESRCH) {
			errno = EEXIST; /* really taken */
			return r;
		}
		ms_sleep(2500);
	}
}

static void task_main(const struct tree_plan *p, struct tree_ctl *c, int i, int *idx);

/* Creates the tasks task i creates (pre: those before its setsid).
 * Returns in a created task (with *idx set) only when it is a live
 * process of the image at the end; -1 in task i. */
static int create_children(const struct tree_plan *p, struct tree_ctl *c, int i, bool pre, int *idx)
{
	for (unsigned k = 0; k < p->n; k++) {
		pid_t pid;

		if (p->t[k].creator != i || p->t[k].pre_setsid != pre)
			continue;
		pid = clone_pid(p->t[k].pid);
		if (pid < 0)
			task_fail(c, errno == EEXIST ? "pid %d is taken" : "clone3 with pid %d: %s",
				  (int)p->t[k].pid, strerror(errno));
		if (pid == 0) {
			task_main(p, c, (int)k, idx);
			return (int)k;
		}
		atomic_store(&c->pids[k], pid);
	}
	return -1;
}

static void exit_as(int status)
{
	if (WIFSIGNALED(status)) {
		struct rlimit nocore = { 0, 0 };
		sigset_t s;

		setrlimit(RLIMIT_CORE, &nocore);
		signal(WTERMSIG(status), SIG_DFL);
		sigemptyset(&s);
		sigaddset(&s, WTERMSIG(status));
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/* Runs in task i, right after its clone3.  Returns (with *idx) in a live
 * process of the image once the whole tree stands. */
static void task_main(const struct tree_plan *p, struct tree_ctl *c, int i, int *idx)
{
	const struct tree_task *t = &p->t[i];
	pid_t pgid;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* until phase 1: a dead creator takes us along */
	if (create_children(p, c, i, true, idx) >= 0)
		return;
	if (t->setsid && setsid() < 0)
		task_fail(c, "setsid in %d: %s", (int)t->pid, strerror(errno));
	if (!t->setsid && t->pgid == t->pid && setpgid(0, 0) < 0)
		task_fail(c, "setpgid in %d: %s", (int)t->pid, strerror(errno));
	if (t->subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		task_fail(c, "PR_SET_CHILD_SUBREAPER in %d: %s", (int)t->pid, strerror(errno));
	if (create_children(p, c, i, false, idx) >= 0)
		return;
	count(&c->created);

	/* phase 1: every task exists; join the groups */
	task_wait(c, 1);
	pgid = t->pgid ? t->pgid : c->root_pgid;
	if (getpgid(0) != pgid && setpgid(0, pgid) < 0)
		task_fail(c, "process %d cannot join group %d: %s", (int)t->pid, (int)pgid,
			  strerror(errno));
	/* helpers exit next: their children must survive that (from here
	 * on a failure is cleaned up by the caller, pid by pid) */
	prctl(PR_SET_PDEATHSIG, 0);
	count(&c->joined);

	/* phase 2: helpers go (each reaped by its creator, its children
	 * reparented to their subreaper), zombies die */
	task_wait(c, 2);
	for (unsigned k = 0; k < p->n; k++)
		if (p->t[k].creator == i && p->t[k].kind == TREE_HELPER &&
		    waitpid(atomic_load(&c->pids[k]), NULL, __WALL) < 0)
			task_fail(c, "process %d cannot reap helper %d: %s", (int)t->pid,
				  (int)p->t[k].pid, strerror(errno));
	if (t->kind == TREE_PROC && t->ppid) {
		for (int n = 0; getppid() != t->ppid; n++) {
			if (n > 50000)
				task_fail(c, "process %d: parent %d, not %d", (int)t->pid, (int)getppid(),
					  (int)t->ppid);
			ms_sleep(100);
		}
	}
	count(&c->done);
	if (t->kind == TREE_HELPER)
		_exit(0);
	if (t->kind == TREE_ZOMBIE) {
		if (t->comm)
			prctl(PR_SET_NAME, t->comm);
		exit_as(t->exit_status);
	}
	/* phase 3: the caller checked the zombies */
	task_wait(c, 3);
	*idx = t->proc;
}

static int wait_count(struct tree_ctl *c, _Atomic int *v, unsigned want, pid_t root,
		      uint32_t ms, const char *what, char *err, size_t errlen)
{
	struct timespec t0;
	int cur;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((unsigned)(cur = atomic_load(v)) < want) {
		if (atomic_load(&c->failed))
			return perr(err, errlen, -EPROTO, "%s", c->msg);
		if (waitpid(root, NULL, WNOHANG) == root)
			return perr(err, errlen, -ECHILD, "the root %d died while %s", (int)root, what);
		if (ms_since(&t0) > ms)
			return perr(err, errlen, -ETIMEDOUT, "timed out while %s", what);
		futex_wait_ms(v, cur, 10);
	}
	return 0;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[256], *s;
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
	return s && s[1] && s[2] ? s[2] : 0;
}

int tree_create(const struct tree_plan *p, const struct tree_create_opts *o, int *idx)
{
	struct tree_create_opts dflt = { 0 };
	size_t sz = sizeof(struct tree_ctl) + p->n * sizeof(pid_t);
	struct tree_ctl *c;
	uint32_t ms;
	pid_t root;
	int r;

	if (!o)
		o = &dflt;
	ms = o->timeout_ms ? o->timeout_ms : 5000;
	c = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return perr(o->err, o->errlen, -errno, "mmap: %s", strerror(errno));
	c->root_pgid = getpgid(0);
	c->root_sid = getsid(0);
	root = clone_pid(p->t[0].pid);
	if (root < 0) {
		r = -errno;
		munmap(c, sz);
		return perr(o->err, o->errlen, r, r == -EEXIST ? "pid %d is taken" : "clone3 with pid %d: %s",
			    (int)p->t[0].pid, strerror(-r));
	}
	if (root == 0) {
		*idx = -1;
		task_main(p, c, 0, idx);
		munmap(c, sz); /* this process's copy only */
		return 0;
	}
	atomic_store(&c->pids[0], root);
	r = wait_count(c, &c->created, p->n, root, ms, "creating the processes", o->err, o->errlen);
	if (r == 0) {
		set_phase(c, 1);
		r = wait_count(c, &c->joined, p->n, root, ms, "joining the process groups", o->err,
			       o->errlen);
	}
	if (r == 0) {
		set_phase(c, 2);
		r = wait_count(c, &c->done, p->n, root, ms, "ending the helpers", o->err, o->errlen);
	}
	/* the zombies are zombies, the helpers gone */
	for (unsigned k = 0; r == 0 && k < p->n; k++) {
		pid_t pid = p->t[k].pid;
		char want = p->t[k].kind == TREE_ZOMBIE ? 'Z' : p->t[k].kind == TREE_HELPER ? 0 : 1;

		for (unsigned us = 0; want != 1; us += 100) {
			char s = proc_state(pid);

			if (s == want || (want == 0 && s == 0))
				break;
			if (us > ms * 1000u) {
				r = perr(o->err, o->errlen, -ETIMEDOUT, "%s %d did not %s", want ? "zombie" : "helper",
					 (int)pid, want ? "become a zombie" : "go away");
				break;
			}
			ms_sleep(100);
		}
	}
	if (r < 0) {
		atomic_store(&c->failed, 1);
		futex_wake_all(&c->phase);
		for (unsigned k = 0; k < p->n; k++) {
			pid_t pid = atomic_load(&c->pids[k]);

			if (pid > 0)
				kill(pid, SIGKILL);
		}
		waitpid(root, NULL, 0);
		munmap(c, sz);
		return r;
	}
	set_phase(c, 3);
	munmap(c, sz);
	*idx = -1;
	return 0;
}

/* ---- shared memory objects of a tree --------------------------------------- */

static int shm_find(const struct tree_shm *o, unsigned n, uint64_t dev, uint64_t shmid, bool sysv)
{
	for (unsigned i = 0; i < n; i++)
		if (o[i].dev == dev && o[i].shmid == shmid && o[i].sysv == sysv)
			return (int)i;
	return -1;
}

int tree_shm_plan(Crimg__Mm *const *mms, unsigned n, struct tree_shm **ret, unsigned *nret)
{
	struct tree_shm *o = NULL;
	unsigned no = 0, k = 0;

	for (unsigned p = 0; p < n; p++) {
		for (size_t i = 0; i < mms[p]->n_vmas; i++) {
			const Crimg__Vma *v = mms[p]->vmas[i];
			bool sysv = v->path && !strncmp(v->path, "/SYSV", 5);
			uint64_t end = v->pgoff + (v->end - v->start), size;
			int x;

			/* a memfd mapped from the process's own fd (Vma.memfd_fd) is
			 * that fd's object, made once with the fds (docs/fds.md) */
			if (v->kind != CRIMG__VMA_KIND__VMA_ANON_SHARED || !v->has_shmid ||
			    v->has_memfd_fd)
				continue;
			size = v->has_file_size && v->file_size > end ? v->file_size : end;
			x = shm_find(o, no, v->dev, v->shmid, sysv);
			if (x < 0) {
				struct tree_shm *nw = realloc(o, (no + 1) * sizeof(*o));

				if (!nw) {
					free(o);
					return -ENOMEM;
				}
				o = nw;
				x = (int)no++;
				o[x] = (struct tree_shm){ .dev = v->dev, .shmid = v->shmid, .sysv = sysv,
							  .size = size, .fd = -1, .nprocs = 0 };
				if (v->path && !strncmp(v->path, "/memfd:", 7))
					snprintf(o[x].name, sizeof(o[x].name), "%s", v->path + 7);
				/* nprocs counts processes: remember the last one */
				o[x].nprocs = 1;
				o[x].fd = -(int)p - 2;
				continue;
			}
			if (size > o[x].size)
				o[x].size = size;
			if (o[x].fd != -(int)p - 2) {
				o[x].nprocs++;
				o[x].fd = -(int)p - 2;
			}
		}
	}
	/* keep the shared ones */
	for (unsigned i = 0; i < no; i++) {
		if (o[i].nprocs < 2)
			continue;
		o[k] = o[i];
		o[k].fd = -1;
		k++;
	}
	if (!k) {
		free(o);
		o = NULL;
	}
	*ret = o;
	*nret = k;
	return 0;
}

int tree_shm_create(struct tree_shm *o, unsigned n, char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		int r;

		if (o[i].sysv)
			continue; /* made with its id by cr-assemble, attached with shmat */
		o[i].fd = memfd_create(o[i].name[0] ? o[i].name : "shmem", MFD_CLOEXEC);
		if (o[i].fd < 0 || ftruncate(o[i].fd, (off_t)o[i].size) < 0) {
			r = perr(err, errlen, -errno, "cannot create the shared memory object %llu (%llu bytes): %s",
				 (unsigned long long)o[i].shmid, (unsigned long long)o[i].size,
				 strerror(errno));
			goto fail;
		}
		continue;
fail:
		for (unsigned k = 0; k <= i; k++) {
			if (o[k].fd >= 0)
				close(o[k].fd);
			o[k].fd = -1;
		}
		return r;
	}
	return 0;
}

int tree_shm_fd(const struct tree_shm *o, unsigned n, uint64_t dev, uint64_t shmid, bool sysv)
{
	int x = shm_find(o, n, dev, shmid, sysv);

	return x < 0 ? -1 : o[x].fd;
}

void tree_shm_free(struct tree_shm *o, unsigned n)
{
	for (unsigned i = 0; o && i < n; i++)
		if (o[i].fd >= 0)
			close(o[i].fd);
	free(o);
}
