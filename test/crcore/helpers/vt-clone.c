/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vt-clone - a parent and a child that share what two processes of a
 * restored tree could not share again.
 *   vt-clone READYFILE vm|files|sighand|none
 * The child is made with clone(CLONE_VM / CLONE_FILES /
 * CLONE_SIGHAND|CLONE_VM, not CLONE_THREAD): another process, not a
 * thread.  Both wait; READYFILE is created once the child runs.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int child(void *arg)
{
	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	static char stack[64 << 10] __attribute__((aligned(16)));
	int flags = SIGCHLD, fd;

	if (argc != 3)
		return 2;
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	if (!strcmp(argv[2], "vm"))
		flags |= CLONE_VM;
	else if (!strcmp(argv[2], "files"))
		flags |= CLONE_FILES;
	else if (!strcmp(argv[2], "sighand"))
		flags |= CLONE_SIGHAND | CLONE_VM;
	else if (strcmp(argv[2], "none"))
		return 2;
	if (clone(child, stack + sizeof(stack), flags, NULL) < 0)
		return 2;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 2;
	close(fd);
	for (;;)
		pause();
}
