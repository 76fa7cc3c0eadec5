/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job-control stopped process is seen as stopped, can run remote
 * syscalls, and is still stopped after the release (its parent sees no
 * new stop or continue); SIGCONT then lets it finish normally. */
#include <sys/syscall.h>

#include "ctest.h"

static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		t_fail("cannot read %s", path);
	fclose(f);
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

int main(void)
{
	struct compel_proc *p;
	struct victim v;
	int64_t r;
	int st;

	victim_start(&v, (const char *[]){ "read", "threads:1", NULL });
	kill(v.pid, SIGSTOP);
	if (waitpid(v.pid, &st, WUNTRACED) != v.pid || !WIFSTOPPED(st))
		t_fail("victim did not stop");
	t_ok(compel_proc_seize(v.pid, NULL, &p));
	t_assert(compel_thread__state(compel_proc__leader(p)) == COMPEL_TASK_STOPPED);
	t_ok(compel_remote_syscall(compel_proc__leader(p), &r, SYS_getpid, NULL));
	t_assert(r == v.pid);
	t_ok(compel_proc_release(p, 0));
	usleep(50000);
	if (state_of(v.pid) != 'T')
		t_fail("victim is '%c' after the release, not stopped", state_of(v.pid));
	if (waitpid(v.pid, &st, WUNTRACED | WCONTINUED | WNOHANG) != 0)
		t_fail("the parent saw a state change (status %#x)", st);
	kill(v.pid, SIGCONT);
	victim_go(&v);
	victim_expect_pass(&v, 5000);
	return 0;
}
