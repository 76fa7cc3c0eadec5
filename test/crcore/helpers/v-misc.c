/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-misc OUTFILE - a victim for process state: an itimer and a POSIX
 * timer that keep firing, rlimits, umask, name, credentials, pending
 * signals (one for the thread, two for the process, one with a value)
 * that stay blocked and pending.  READY, then after SIGTERM PASS or
 * FAIL lines, to OUTFILE.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, alarms, ticks, bad_value;
static int out, fails;

static void on_term(int s)
{
	(void)s;
	got_term = 1;
}

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

static void on_tick(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	if (si->si_value.sival_int != 42)
		bad_value = 1;
	ticks++;
}

static void bad(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "FAIL: %s\n", what);

	(void)!write(out, buf, (size_t)n);
	fails++;
}

int main(int argc, char **argv)
{
	struct sigaction st = { .sa_handler = on_term }, sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART },
			 tk = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };
	struct itimerspec ts = { { 0, 50000000 }, { 0, 50000000 } };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1,
			       .sigev_value.sival_int = 42 };
	struct rlimit nofile = { 200, 400 }, rl;
	union sigval qv = { .sival_int = 77 };
	timer_t tid;
	sigset_t block, pend;
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	int a0, t0;
	uid_t uid = getuid(), euid = geteuid();
	gid_t gid = getgid();
	char name[32];

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (out < 0)
		return 2;
	sigaction(SIGTERM, &st, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGRTMIN + 1, &tk, NULL);
	setrlimit(RLIMIT_NOFILE, &nofile);
	umask(027);
	prctl(PR_SET_NAME, "v-misc-name");
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1);  /* thread pending */
	kill(getpid(), SIGUSR2);                           /* process pending */
	sigqueue(getpid(), SIGRTMIN + 2, qv);              /* process pending, with a value */
	setitimer(ITIMER_REAL, &it, NULL);
	timer_create(CLOCK_MONOTONIC, &ev, &tid);
	timer_settime(tid, 0, &ts, NULL);

	(void)!write(out, "READY\n", 6);
	while (!got_term)
		pause();

	a0 = alarms;
	t0 = ticks;
	for (int i = 0; i < 200 && (alarms < a0 + 2 || ticks < t0 + 2); i++)
		usleep(10000);
	if (alarms < a0 + 2)
		bad("the itimer does not fire");
	if (ticks < t0 + 2)
		bad("the POSIX timer does not fire");
	if (bad_value)
		bad("the POSIX timer's value changed");
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != 200 || rl.rlim_max != 400)
		bad("RLIMIT_NOFILE");
	if (umask(0) != 027)
		bad("umask");
	prctl(PR_GET_NAME, name);
	if (strcmp(name, "v-misc-name"))
		bad("name");
	if (getuid() != uid || geteuid() != euid || getgid() != gid)
		bad("credentials");
	sigpending(&pend);
	if (!sigismember(&pend, SIGUSR1) || !sigismember(&pend, SIGUSR2) ||
	    !sigismember(&pend, SIGRTMIN + 2))
		bad("pending signals");
	sigprocmask(SIG_BLOCK, NULL, &pend);
	if (!sigismember(&pend, SIGUSR1) || !sigismember(&pend, SIGRTMIN + 2))
		bad("blocked signals");
	if (sigtimedwait(&block, &si, &zero) < 0)
		bad("no pending signal to take");
	{
		int seen_value = 0;

		do {
			if (si.si_signo == SIGRTMIN + 2 && si.si_value.sival_int == 77)
				seen_value = 1;
		} while (sigtimedwait(&block, &si, &zero) > 0);
		if (!seen_value)
			bad("the queued signal's value");
	}
	if (!fails)
		(void)!write(out, "PASS\n", 5);
	return fails ? 1 : 0;
}
