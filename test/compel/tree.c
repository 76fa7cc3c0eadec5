/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seize a tree of 1 + 2 + 2 processes, each ticking a counter in shared
 * memory; run getpid in each; release: all tick on, none saw a stop. */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ctest.h"

static volatile long *ticks;

static void ticker(int slot)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		ticks[slot]++;
		usleep(1000);
	}
}

int main(void)
{
	struct compel_tree *tr;
	long before[5];
	pid_t root;
	unsigned i;
	int st;

	ticks = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	root = fork();
	if (!root) {
		setpgid(0, 0);
		for (int c = 0; c < 2; c++)
			if (!fork()) {
				if (!fork())
					ticker(3 + c);
				ticker(1 + c);
			}
		ticker(0);
	}
	ct_track(root);
	usleep(100000);
	t_ok(compel_tree_seize(root, NULL, &tr));
	if (compel_tree__nr_procs(tr) != 5)
		t_fail("tree has %u processes, want 5", compel_tree__nr_procs(tr));
	t_assert(compel_proc__pid(compel_tree__proc(tr, 0)) == root && compel_tree__parent(tr, 0) == -1);
	for (i = 0; i < 5; i++) {
		struct compel_proc *p = compel_tree__proc(tr, i);
		int64_t r;

		t_ok(compel_remote_syscall(compel_proc__leader(p), &r, SYS_getpid, NULL));
		t_assert(r == compel_proc__pid(p));
		if (i)
			t_assert(compel_tree__parent(tr, i) >= 0 && compel_tree__parent(tr, i) < (int)i);
	}
	memcpy(before, (void *)ticks, sizeof(before));
	usleep(50000);
	for (i = 0; i < 5; i++)
		if (ticks[i] != before[i])
			t_fail("process %u ticked while seized", i);
	t_ok(compel_tree_release(tr, 0));
	usleep(100000);
	for (i = 0; i < 5; i++)
		if (ticks[i] <= before[i] + 5)
			t_fail("process %u does not tick after the release", i);
	/* the whole tree goes with its process group */
	kill(-root, SIGKILL);
	kill(root, SIGKILL);
	waitpid(root, &st, 0);
	ct_untrack(root);
	return 0;
}
