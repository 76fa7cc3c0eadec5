/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vy-jobtree OUTFILE - a shell job that is a tree (docs/ttys.md, "Shell
 * jobs"), started on the caller's terminal as the leader of its session
 * and group (as a terminal emulator starts a shell).  The root r forks:
 *   a  stays in r's group; opens /dev/tty at fd 3 or above and writes to
 *      r through a pipe (a pipeline);
 *   b  a group of its own in r's session (a background job), forks c in
 *      b's group;
 *   d  a session of its own (its fds 0-2 still the terminal).
 * r writes "PIDS r a b c d" and READY to OUTFILE; everything waits for
 * SIGTERM.  After a restore with `cr-assemble --shell-job --wait` run as
 * a terminal's foreground job, SIGTERM to r:
 *   r  checks that fds 0-2 are a terminal, its session's, whose
 *      foreground group is r's, and that r is in its parent's (the
 *      restoring shell's job's) group and session; writes "ASK R" on
 *      it, reads "PING R", answers "GOT PING R"; then SIGTERM to a:
 *   a  the same checks against r's group (fd 3 the same terminal), writes
 *      "ASK A" on its /dev/tty, reads "PING A" on fd 0 and hands
 *      "GOT PING A" to r through the pipe, which r writes on the terminal;
 *   b  leads its group in r's session, a background group of the
 *      terminal; c in b's group; d leads its session;
 * each writes "PASS name" or "FAIL name: why" to OUTFILE; r waits for
 * every child and, if all passed, writes PASS and exits 42 (the status
 * cr-assemble --wait must give back), else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../lib/test.h"

static int out;
static volatile sig_atomic_t term;
static const char *name = "r";

static void on_term(int s)
{
	(void)s;
	term = 1;
}

/* a line to the output file (test/lib) */
#define say(...) t_say(out, __VA_ARGS__)

#define CHECK(c, ...)                                      \
	do {                                               \
		if (!(c)) {                                \
			char m_[400];                      \
			snprintf(m_, sizeof(m_), __VA_ARGS__); \
			say("FAIL %s: %s", name, m_);      \
			return 1;                          \
		}                                          \
	} while (0)

static void die(const char *what)
{
	say("FAIL %s: setup: %s: %s", name, what, strerror(errno));
	_exit(1);
}

static void wait_term(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!term)
		sigsuspend(&none);
}

static int put(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* A line from fd 0 (canonical terminal: one read), without its newline. */
static int get_line(char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(0, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

/* fds 0-2 (and tty) are one terminal, our session's, in the foreground */
static int fg_checks(int tty)
{
	struct stat a, b;

	for (int fd = 0; fd <= 2; fd++)
		CHECK(isatty(fd), "fd %d is not a terminal", fd);
	CHECK(fstat(0, &a) == 0 && fstat(tty, &b) == 0 && a.st_rdev == b.st_rdev,
	      "fd %d is not the terminal of fd 0", tty);
	CHECK(tcgetsid(tty) == getsid(0), "the terminal is not of our session (%d, ours %d)",
	      (int)tcgetsid(tty), (int)getsid(0));
	CHECK(tcgetpgrp(tty) == getpgrp(), "not in the terminal's foreground group (%d, ours %d)",
	      (int)tcgetpgrp(tty), (int)getpgrp());
	return 0;
}

static int a_main(int tty, int wfd)
{
	char buf[256];

	CHECK(getpgrp() == getpgid(getppid()) && getsid(0) == getsid(getppid()),
	      "group %d session %d, r's %d %d", (int)getpgrp(), (int)getsid(0),
	      (int)getpgid(getppid()), (int)getsid(getppid()));
	if (fg_checks(tty))
		return 1;
	CHECK(put(tty, "ASK A\n") == 0, "write on /dev/tty: %s", strerror(errno));
	CHECK(get_line(buf, sizeof(buf)) == 0, "read the terminal: %s", strerror(errno));
	CHECK(!strcmp(buf, "PING A"), "read '%s'", buf);
	CHECK(put(wfd, "GOT PING A\n") == 0, "write into the pipe: %s", strerror(errno));
	say("PASS a");
	return 0;
}

static int b_main(void)
{
	CHECK(getpgrp() == getpid(), "does not lead its group (%d)", (int)getpgrp());
	CHECK(getsid(0) == getsid(getppid()),
	      "session %d, r's %d", (int)getsid(0), (int)getsid(getppid()));
	CHECK(tcgetsid(1) == getsid(0), "the terminal is not of our session");
	CHECK(tcgetpgrp(1) != getpgrp(), "a background group is the foreground one");
	say("PASS b");
	return 0;
}

static int c_main(void)
{
	CHECK(getpgrp() == getppid(), "group %d, not b's %d", (int)getpgrp(), (int)getppid());
	CHECK(getsid(0) == getsid(getppid()), "session %d, not b's", (int)getsid(0));
	say("PASS c");
	return 0;
}

static int d_main(void)
{
	CHECK(getsid(0) == getpid() && getpgrp() == getpid(), "session %d group %d",
	      (int)getsid(0), (int)getpgrp());
	CHECK(isatty(0) && isatty(1), "fds 0-1 are not a terminal");
	say("PASS d");
	return 0;
}

static int r_main(pid_t a, pid_t b, pid_t d, int rfd)
{
	char buf[256];
	FILE *p;
	int st;

	CHECK(getpgrp() == getpgid(getppid()) && getsid(0) == getsid(getppid()),
	      "group %d session %d, its parent's %d %d", (int)getpgrp(), (int)getsid(0),
	      (int)getpgid(getppid()), (int)getsid(getppid()));
	if (fg_checks(0))
		return 1;
	CHECK(put(1, "ASK R\n") == 0, "write on the terminal: %s", strerror(errno));
	CHECK(get_line(buf, sizeof(buf)) == 0, "read the terminal: %s", strerror(errno));
	CHECK(!strcmp(buf, "PING R"), "read '%s'", buf);
	CHECK(put(1, "GOT PING R\n") == 0, "write on the terminal: %s", strerror(errno));
	/* a's turn at the terminal; its answer comes through the pipe */
	kill(a, SIGTERM);
	p = fdopen(rfd, "r");
	CHECK(p && fgets(buf, sizeof(buf), p), "read the pipe from a");
	CHECK(put(1, buf) == 0, "write on the terminal: %s", strerror(errno));
	kill(b, SIGTERM);
	kill(d, SIGTERM);
	for (int k = 0; k < 3; k++) {
		pid_t w = wait(&st);

		CHECK(w > 0, "wait: %s", strerror(errno));
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d ended with status %#x",
		      (int)w, st);
	}
	say("PASS");
	return 42;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	int pfd[2], go[2];
	pid_t a, b, c = 0, d;
	char x;

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0)
		return 2;
	sigaction(SIGTERM, &sa, NULL);
	if (!isatty(0) || getsid(0) != getpid())
		die("not a session leader on a terminal");
	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		die("pipe");
	a = fork();
	if (a == 0) {
		int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);

		name = "a";
		if (tty < 0)
			die("open /dev/tty");
		if (tty < 3)
			die("/dev/tty below 3");
		close(pfd[0]);
		wait_term();
		_exit(a_main(tty, pfd[1]));
	}
	close(pfd[1]);
	b = fork();
	if (b == 0) {
		name = "b";
		if (setpgid(0, 0) < 0)
			die("setpgid");
		c = fork();
		if (c == 0) {
			name = "c";
			wait_term();
			_exit(c_main());
		}
		if (c < 0 || write(go[1], &c, sizeof(c)) != sizeof(c))
			die("fork c");
		wait_term();
		{
			int st, r = b_main();

			kill(c, SIGTERM);
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				r = 1;
			_exit(r);
		}
	}
	if (b < 0 || read(go[0], &c, sizeof(c)) != sizeof(c))
		die("fork b");
	d = fork();
	if (d == 0) {
		name = "d";
		if (setsid() < 0 || write(go[1], "d", 1) != 1)
			die("setsid");
		wait_term();
		_exit(d_main());
	}
	/* d once in its session */
	if (a < 0 || d < 0 || read(go[0], &x, 1) != 1)
		die("fork");
	close(go[0]);
	close(go[1]);
	say("PIDS %d %d %d %d %d", (int)getpid(), (int)a, (int)b, (int)c, (int)d);
	say("READY");
	wait_term();
	return r_main(a, b, d, pfd[0]);
}
