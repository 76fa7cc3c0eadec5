/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seize and release without doing anything: a thread in epoll_wait (which
 * our interrupt makes return EINTR, a call the kernel never restarts by
 * itself) must go on waiting, and so must one in read.  The victim checks
 * that its wait ended with the event, not with EINTR.
 */
#include "infect.h"

static void one(const char *mode)
{
	struct victim v;
	struct compel_proc *p;

	victim_start(&v, (const char *[]){ mode, "threads:1", NULL });
	usleep(20000);
	for (int i = 0; i < 3; i++) {
		t_ok(compel_proc_seize(v.pid, NULL, &p));
		t_ok(compel_proc_release(p, 0));
		usleep(2000);
	}
	victim_go(&v);
	victim_expect_pass(&v, 5000);
}

int main(void)
{
	one("epoll");
	one("read");
	return T_PASS;
}
