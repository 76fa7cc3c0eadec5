/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vy-pty OUTFILE MODE - a victim holding terminals in a known state;
 * writes READY (and "PTS N" lines) to OUTFILE, waits for SIGTERM, checks
 * them and writes PASS (or FAIL: why).
 *   pty    pty A: master (O_NONBLOCK, packet mode) and slave, canonical
 *          with echo on, ONLCR, changed VERASE and VINTR, 9600 baud,
 *          window 33x111 (5x7 pixels); "line one\n" and the
 *          half line "half" typed into it and not read by the slave side;
 *          "out data\n" written by the slave side and not read from the
 *          master (the master reads it as "out data\r\n");
 *          pty B: a master alone, locked, its slave never opened, raw
 *          termios, window 10x20.
 *   caller fds 0-2 on the caller's terminal (a shell job), and /dev/tty
 *          opened at fd 3 or above: after the restore they must be a
 *          terminal (the same one), the controlling one, and a
 *          line typed at it must come in on fd 0 ("PING" -> "GOT PING").
 * (docs/ttys.md)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../../lib/test.h"

static int out;
static volatile sig_atomic_t term;
static int ma = -1, sa_ = -1, mb = -1, ttyfd = -1;
static struct termios tios_a;

static void on_term(int s)
{
	(void)s;
	term = 1;
}

/* a line to the output file (test/lib) */
#define say(...) t_say(out, __VA_ARGS__)

#define CHECK(c, ...)                         \
	do {                                  \
		if (!(c)) {                   \
			say("FAIL: " __VA_ARGS__); \
			return 1;             \
		}                             \
	} while (0)

static void die(const char *what)
{
	say("FAIL: setup: %s: %s", what, strerror(errno));
	_exit(1);
}

/* reads what is there within ms (the pty's flip buffer is pushed by a
 * kernel worker) */
static ssize_t read_wait(int fd, char *b, size_t n, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -2;
	return read(fd, b, n);
}

static void pty_prep(void)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 5, .ws_ypixel = 7 };
	struct winsize wb = { .ws_row = 10, .ws_col = 20 };
	struct termios t;
	char buf[512];
	int one = 1;

	ma = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (ma < 0 || grantpt(ma) < 0 || unlockpt(ma) < 0)
		die("posix_openpt A");
	sa_ = open(ptsname(ma), O_RDWR | O_NOCTTY);
	if (sa_ < 0)
		die("open the slave of A");
	say("PTS %s", ptsname(ma));
	if (tcgetattr(sa_, &t) < 0)
		die("tcgetattr");
	t.c_lflag |= ICANON | ECHO | ISIG;
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VERASE] = 0x08;
	t.c_cc[VINTR] = 0x05;
	cfsetispeed(&t, B9600);
	cfsetospeed(&t, B9600);
	if (tcsetattr(sa_, TCSANOW, &t) < 0 || tcgetattr(sa_, &tios_a) < 0)
		die("tcsetattr A");
	if (ioctl(ma, TIOCSWINSZ, &ws) < 0)
		die("TIOCSWINSZ A");
	/* typed at the terminal, not read yet: a line and a half */
	if (write(ma, "line one\nhalf", 13) != 13)
		die("write into the master");
	/* the echo, "line one\r\nhalf": all of it, so that the master's
	 * queue then holds only what the slave side writes below */
	for (size_t got = 0; got < 14;) {
		ssize_t k = read_wait(ma, buf, sizeof(buf), 5000);

		if (k <= 0)
			die("read the echo");
		got += (size_t)k;
	}
	if (write(sa_, "out data\n", 9) != 9)
		die("write into the slave");
	if (ioctl(ma, TIOCPKT, &one) < 0)
		die("TIOCPKT");
	usleep(100000);

	mb = posix_openpt(O_RDWR | O_NOCTTY);
	if (mb < 0)
		die("posix_openpt B");
	say("PTS %s", ptsname(mb));
	cfmakeraw(&t);
	if (tcsetattr(mb, TCSANOW, &t) < 0 || ioctl(mb, TIOCSWINSZ, &wb) < 0)
		die("set up B");
}

static int pty_check(void)
{
	struct termios t;
	struct winsize ws;
	char buf[512], want[64];
	ssize_t n;
	int v;

	/* the slave is the one of the master (the pty number may have changed) */
	snprintf(want, sizeof(want), "/proc/self/fd/%d", sa_);
	n = readlink(want, buf, sizeof(buf) - 1);
	CHECK(n > 0, "readlink slave: %s", strerror(errno));
	buf[n] = 0;
	CHECK(!strcmp(buf, ptsname(ma)), "the slave %s is not the master's pty %s", buf, ptsname(ma));
	say("NOW %s", buf);
	CHECK(tcgetattr(sa_, &t) == 0, "tcgetattr: %s", strerror(errno));
	CHECK(t.c_iflag == tios_a.c_iflag && t.c_oflag == tios_a.c_oflag &&
	      t.c_cflag == tios_a.c_cflag && t.c_lflag == tios_a.c_lflag,
	      "termios flags %x %x %x %x, want %x %x %x %x", t.c_iflag, t.c_oflag, t.c_cflag,
	      t.c_lflag, tios_a.c_iflag, tios_a.c_oflag, tios_a.c_cflag, tios_a.c_lflag);
	CHECK(!memcmp(t.c_cc, tios_a.c_cc, NCCS), "termios c_cc differs");
	CHECK(cfgetispeed(&t) == B9600 && cfgetospeed(&t) == B9600, "speed");
	CHECK(ioctl(ma, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 111 &&
	      ws.ws_xpixel == 5 && ws.ws_ypixel == 7, "window size %ux%u", ws.ws_row, ws.ws_col);
	CHECK(ioctl(ma, TIOCGPKT, &v) == 0 && v == 1, "packet mode %d", v);
	CHECK(ioctl(ma, TIOCGPTLCK, &v) == 0 && v == 0, "A locked %d", v);
	CHECK(fcntl(ma, F_GETFL) & O_NONBLOCK, "master A lost O_NONBLOCK");
	CHECK(!(fcntl(sa_, F_GETFL) & O_NONBLOCK), "slave A got O_NONBLOCK");
	/* what the slave side wrote, and nothing else (no echo of the input) */
	n = read_wait(ma, buf, sizeof(buf), 1000);
	CHECK(n == 11 && buf[0] == TIOCPKT_DATA && !memcmp(buf + 1, "out data\r\n", 10),
	      "master read %zd bytes: '%.*s'", n, n > 1 ? (int)n - 1 : 0, buf + 1);
	n = read_wait(ma, buf, sizeof(buf), 100);
	CHECK(n == -2 || (n == -1 && errno == EAGAIN), "the master has more: %zd", n);
	/* what was typed: one line, then the half line is not one yet */
	n = read_wait(sa_, buf, sizeof(buf), 1000);
	CHECK(n == 9 && !memcmp(buf, "line one\n", 9), "slave read %zd: '%.*s'", n,
	      n > 0 ? (int)n : 0, buf);
	n = read_wait(sa_, buf, sizeof(buf), 200);
	CHECK(n == -2, "the half line came out early (%zd)", n);
	CHECK(write(ma, "tail\n", 5) == 5, "write tail");
	n = read_wait(sa_, buf, sizeof(buf), 1000);
	CHECK(n == 9 && !memcmp(buf, "halftail\n", 9), "slave read %zd: '%.*s'", n,
	      n > 0 ? (int)n : 0, buf);
	/* B: locked, raw, its window */
	CHECK(ioctl(mb, TIOCGPTLCK, &v) == 0 && v == 1, "B unlocked");
	CHECK(tcgetattr(mb, &t) == 0 && !(t.c_lflag & (ICANON | ECHO)), "B not raw");
	CHECK(ioctl(mb, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 10 && ws.ws_col == 20, "B window");
	return 0;
}

static int caller_check(void)
{
	char buf[256];
	ssize_t n;

	struct stat a, b;

	for (int fd = 0; fd <= 2; fd++)
		CHECK(isatty(fd), "fd %d is not a terminal", fd);
	/* /dev/tty opened by the program: a copy of the new terminal */
	CHECK(isatty(ttyfd) && fstat(ttyfd, &a) == 0 && fstat(0, &b) == 0 && a.st_rdev == b.st_rdev,
	      "fd %d (/dev/tty) is not the terminal of fd 0", ttyfd);
	CHECK(tcgetpgrp(0) == getpgrp(), "not in the terminal's foreground group (%d, ours %d)",
	      (int)tcgetpgrp(0), (int)getpgrp());
	CHECK(getsid(0) == tcgetsid(0), "the terminal is not of our session");
	printf("ASK\n");
	fflush(stdout);
	n = read(0, buf, sizeof(buf) - 1);
	CHECK(n > 0, "read from the terminal: %zd %s", n, strerror(errno));
	buf[n] = 0;
	CHECK(!strncmp(buf, "PING", 4), "read '%s'", buf);
	printf("GOT PING\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	const char *m;
	sigset_t none;
	int r;

	if (argc < 3)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0)
		return 2;
	m = argv[2];
	sigaction(SIGTERM, &sa, NULL);
	if (!strcmp(m, "pty"))
		pty_prep();
	else if (!strcmp(m, "caller")) {
		if (!isatty(0))
			die("fd 0 is not a terminal");
		ttyfd = open("/dev/tty", O_RDWR);
		if (ttyfd < 0)
			die("open /dev/tty");
	} else
		return 2;
	say("READY");
	sigemptyset(&none);
	while (!term)
		sigsuspend(&none);
	r = !strcmp(m, "pty") ? pty_check() : caller_check();
	if (!r)
		say("PASS");
	return r;
}
