/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vt-reaper - runs a command as a child subreaper and reaps everything
 * that is reparented to it, until nothing is left.
 *   vt-reaper COMMAND [ARGS...]
 * The processes of a tree that a test kills are then reaped at once
 * instead of waiting for PID 1 (slow here), so their pids are free for
 * the restore.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t c;

	if (argc < 2 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 2;
	c = fork();
	if (c == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (c < 0)
		return 2;
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
