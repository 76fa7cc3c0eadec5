/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree-shape: the shape of a dumped tree comes back (libcrcore/tree-*.c,
 * before the restore engine fills each process in).  helpers/vt-tree is
 * dumped with the real cr-dump (kill mode), its PROC and PROC_MISC
 * records make the plan, and tree_create recreates every process with
 * its pid, parent, session and group: a session and a group whose leader
 * is gone (helpers), the root a child subreaper, a zombie with its exit
 * status.  Every live process checks itself; the test checks the zombie
 * and that no helper is left, then kills the whole tree.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "../lib/test.h"
#include "../../libcrcore/tree.h"

#define MAXP 32

static struct tree_proc procs[MAXP];
static unsigned nprocs;
static pid_t killme[MAXP * 2];
static unsigned nkill;

struct result {
	_Atomic int done;
	char line[MAXP][160];
};

static void cleanup(void)
{
	for (unsigned i = 0; i < nkill; i++)
		if (killme[i] > 0)
			kill(killme[i], SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void read_image(const char *img)
{
	struct crimg_reader *r;
	const struct crimg_record *rec;
	char err[256];
	int fd = open(img, O_RDONLY | O_CLOEXEC), n;
	LIBCRIMG_OPTS(crimg_reader_opts, ro, .errbuf = err, .errbuf_len = sizeof(err));

	if (fd < 0 || crimg_reader__new(fd, &ro, &r) < 0)
		t_fail("cannot read %s: %s", img, err);
	while ((n = crimg_reader__next(r, &rec)) > 0) {
		ProtobufCMessage *m;

		if (rec->type == CRIMG_T_PROC) {
			Crimg__Proc *p;

			t_ok(crimg_reader__read_msg(r, &crimg__proc__descriptor, &m));
			p = (Crimg__Proc *)m;
			if (nprocs == MAXP)
				t_fail("too many processes");
			procs[nprocs] = (struct tree_proc){
				.pid = (pid_t)p->pid, .ppid = (pid_t)p->ppid, .pgid = (pid_t)p->pgid,
				.sid = (pid_t)p->sid, .zombie = p->state == 'Z',
				.exit_status = (int)p->exit_status, .stopped = p->state == 'T',
			};
			nprocs++;
			protobuf_c_message_free_unpacked(m, NULL);
		} else if (rec->type == CRIMG_T_PROC_MISC) {
			Crimg__ProcMisc *pm;

			t_ok(crimg_reader__read_msg(r, &crimg__proc_misc__descriptor, &m));
			pm = (Crimg__ProcMisc *)m;
			for (unsigned i = 0; i < nprocs; i++)
				if (procs[i].pid == (pid_t)pm->pid)
					procs[i].subreaper = pm->child_subreaper;
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	if (n < 0)
		t_fail("%s: %s", img, crimg_reader__errmsg(r));
	crimg_reader__free(r);
	close(fd);
}

static char state_of(pid_t pid, int *exit_code)
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
	if (!s)
		return 0;
	if (exit_code) {
		/* field 52, the last one */
		char *last = strrchr(buf, ' ');

		*exit_code = last ? atoi(last + 1) : -1;
	}
	return s[2];
}

int main(void)
{
	char *vt = t_build_path("test/crcore/helpers/vt-tree"), *dump = t_build_path("bin/cr-dump");
	char pids[4096], data[4096], img[4096], cmd[16384];
	struct tree_plan *plan;
	struct result *res;
	char err[512] = "";
	pid_t v, root = 0;
	int idx, r, st;

	/* orphans of the killed original come to us, not to a slow PID 1 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(cleanup);
	snprintf(pids, sizeof(pids), "%s/pids", t_tmpdir());
	snprintf(data, sizeof(data), "%s/data", t_tmpdir());
	snprintf(img, sizeof(img), "%s/img", t_tmpdir());
	{
		FILE *f = fopen(data, "w");

		if (!f)
			t_fail("create %s", data);
		fputs("abcdefghij", f);
		fclose(f);
	}
	v = fork();
	if (v == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		execl(vt, vt, pids, data, (char *)NULL);
		_exit(127);
	}
	killme[nkill++] = v;
	for (int i = 0; i < 500 && access(pids, F_OK) < 0; i++)
		msleep(10);
	if (access(pids, F_OK) < 0)
		t_fail("vt-tree did not start");
	{
		FILE *f = fopen(pids, "r");
		char name[16];
		int p, x;

		while (f && fscanf(f, "%15s %d %d %d %d", name, &p, &x, &x, &x) == 5)
			killme[nkill++] = p;
		if (f)
			fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "%s -o %s %d", dump, img, (int)v);
	if (system(cmd) != 0)
		t_fail("%s failed", cmd);
	read_image(img);
	if (nprocs != 7)
		t_fail("%u processes in the image, not 7", nprocs);
	/* the originals are gone (killed, reaped by us as their subreaper) */
	for (int i = 0; i < 500; i++) {
		unsigned alive = 0;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (unsigned k = 0; k < nprocs; k++)
			alive += kill(procs[k].pid, 0) == 0;
		if (!alive)
			break;
		if (i == 499)
			t_fail("the original tree is still there");
		msleep(10);
	}
	nkill = 0;

	r = tree_plan_build(procs, nprocs, 0, &plan, err, sizeof(err));
	if (r < 0)
		t_fail("plan: %s", err);
	for (unsigned i = 0; i < plan->n; i++) {
		const struct tree_task *t = &plan->t[i];

		t_log("task %d %s creator %d setsid %d pgid %d sid %d", (int)t->pid,
		      t->kind == TREE_HELPER ? "helper" : t->kind == TREE_ZOMBIE ? "zombie" : "proc",
		      t->creator >= 0 ? (int)plan->t[t->creator].pid : 0, t->setsid, (int)t->pgid,
		      (int)t->sid);
		killme[nkill++] = t->pid;
	}
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	t_assert(res != MAP_FAILED);
	{
		struct tree_create_opts o = { .err = err, .errlen = sizeof(err) };

		r = tree_create(plan, &o, &idx);
	}
	if (r == 0 && idx >= 0) {
		/* a restored process: check itself, report, wait to be killed */
		const struct tree_proc *me = &procs[idx];
		char *l = res->line[idx];

		if (getpid() != me->pid || getppid() != me->ppid || getpgid(0) != me->pgid ||
		    getsid(0) != me->sid)
			snprintf(l, 160, "FAIL %d: pid %d ppid %d (want %d) pgid %d (want %d) sid %d (want %d)",
				 (int)me->pid, (int)getpid(), (int)getppid(), (int)me->ppid,
				 (int)getpgid(0), (int)me->pgid, (int)getsid(0), (int)me->sid);
		else
			snprintf(l, 160, "PASS %d", (int)me->pid);
		atomic_fetch_add(&res->done, 1);
		for (;;)
			pause();
	}
	if (r < 0)
		t_fail("tree_create: %s", err);
	root = procs[0].pid;
	{
		unsigned live = 0;

		for (unsigned k = 0; k < nprocs; k++)
			live += !procs[k].zombie;
		for (int i = 0; i < 500 && (unsigned)atomic_load(&res->done) < live; i++)
			msleep(10);
		for (unsigned k = 0; k < nprocs; k++) {
			int code = -1;
			char s = state_of(procs[k].pid, &code);

			if (procs[k].zombie) {
				if (s != 'Z' || code != procs[k].exit_status)
					t_fail("zombie %d: state %c exit code %d, not Z %d", (int)procs[k].pid,
					       s ? s : '-', code, procs[k].exit_status);
				t_log("PASS zombie %d (status %#x)", (int)procs[k].pid, code);
				continue;
			}
			if (strncmp(res->line[k], "PASS", 4))
				t_fail("%s", res->line[k][0] ? res->line[k] : "a process did not report");
			t_log("%s", res->line[k]);
		}
		for (unsigned i = 0; i < plan->n; i++)
			if (plan->t[i].kind == TREE_HELPER && state_of(plan->t[i].pid, NULL))
				t_fail("helper %d is still there", (int)plan->t[i].pid);
	}
	tree_plan_free(plan);
	free(vt);
	free(dump);
	(void)root;
	(void)st;
	printf("PASS\n");
	return 0;
}
