/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-robust OUTFILE - a victim for the robust futex list.  A second
 * thread locks a robust mutex and waits, holding it.  After SIGTERM:
 * each thread checks that the kernel still has the robust list head its
 * libc registered (get_robust_list); then the second thread exits
 * holding the mutex, and the main thread's lock must come back with
 * EOWNERDEAD: the kernel walked the dead thread's robust list, which it
 * does only if the list was registered again after the restore (without
 * it the lock would wait for ever; here it times out after 5 s).
 * READY, then PASS or FAIL lines, to OUTFILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m;
static int out, fails, go[2];
static void *heads[2];
static size_t lens[2];
static volatile int locked;

static void bad(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "FAIL: %s\n", what);

	(void)!write(out, buf, (size_t)n);
	fails++;
}

static void robust_of_self(void **head, size_t *len)
{
	if (syscall(SYS_get_robust_list, 0, head, len) != 0)
		*head = NULL;
}

/* the robust list is what it was before the checkpoint */
static void check_self(int i, const char *who)
{
	void *h;
	size_t l;
	char buf[128];

	robust_of_self(&h, &l);
	if (h != heads[i] || l != lens[i]) {
		snprintf(buf, sizeof(buf), "%s: robust list %p/%zu, was %p/%zu", who, h, l, heads[i],
			 lens[i]);
		bad(buf);
	}
}

static void *holder(void *arg)
{
	char c;

	(void)arg;
	robust_of_self(&heads[1], &lens[1]);
	if (pthread_mutex_lock(&m) != 0)
		bad("the holder cannot lock");
	locked = 1;
	while (read(go[0], &c, 1) < 0 && errno == EINTR)
		;
	check_self(1, "holder thread");
	return NULL; /* exits holding m */
}

int main(int argc, char **argv)
{
	pthread_mutexattr_t a;
	struct timespec dl;
	pthread_t th;
	sigset_t s;
	int sig, r;

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out < 0 || pipe(go) < 0)
		return 2;
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigprocmask(SIG_BLOCK, &s, NULL);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m, &a);
	robust_of_self(&heads[0], &lens[0]);
	if (!heads[0]) {
		(void)!write(out, "SKIP\n", 5);
		return 0;
	}
	pthread_create(&th, NULL, holder, NULL);
	while (!locked)
		usleep(1000);
	(void)!write(out, "READY\n", 6);
	while (sigwait(&s, &sig) != 0)
		;
	check_self(0, "main thread");
	(void)!write(go[1], "x", 1);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	r = pthread_mutex_timedlock(&m, &dl);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(&m);
		pthread_mutex_unlock(&m);
	} else {
		char buf[128];

		snprintf(buf, sizeof(buf), "lock after the holder died: %s, not EOWNERDEAD",
			 r ? strerror(r) : "got it");
		bad(buf);
	}
	if (!fails)
		(void)!write(out, "PASS\n", 5);
	return 0;
}
