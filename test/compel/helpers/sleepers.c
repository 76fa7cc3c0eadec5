/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sleepers - a victim whose threads sleep again and again, for the tests
 * that kill the controller at any moment (test/compel/killed-sleepers.c).
 *
 * Threads loop in nanosleep, clock_nanosleep (relative and absolute), a
 * futex wait with a timeout, poll with a timeout, and one blocks in read
 * until the end.  Every wait must end as it would have without us: no
 * EINTR, never before its deadline, and not unreasonably late.  The main
 * thread prints READY, reads "go" on stdin, stops the threads and prints
 * PASS or "FAIL why" (with the worst lateness seen).
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTH 6
static atomic_int stop;
static int rpipe[2], ppipe[2];
static char why[NTH][160];
static long loops[NTH], worst_late_ms[NTH];
static const char *name[NTH] = { "nanosleep", "clock_nanosleep", "clock_nanosleep-abs",
				 "futex", "poll", "read" };
static const long period_ms[NTH] = { 30, 40, 35, 30, 25, 0 };

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bad(long id, const char *fmt, long a, long b)
{
	if (!why[id][0])
		snprintf(why[id], sizeof(why[id]), fmt, a, b);
}

static void *sleeper(void *arg)
{
	long id = (long)arg, ms = period_ms[id];
	atomic_int word = 0;

	while (!atomic_load(&stop)) {
		struct timespec ts = { 0, ms * 1000000L };
		long long t0 = now_ns(), late;
		long r = 0, e = 0;

		switch (id) {
		case 0:
			r = nanosleep(&ts, NULL);
			e = r ? errno : 0;
			break;
		case 1:
			e = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
			break;
		case 2: {
			struct timespec abs;

			clock_gettime(CLOCK_MONOTONIC, &abs);
			abs.tv_nsec += ms * 1000000L;
			if (abs.tv_nsec >= 1000000000L) {
				abs.tv_sec++;
				abs.tv_nsec -= 1000000000L;
			}
			e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
			break;
		}
		case 3:
			r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
			e = r ? errno : 0;
			if (e == ETIMEDOUT)
				e = 0; /* the expected end; 0 is a spurious wakeup, allowed */
			break;
		case 4: {
			struct pollfd p = { .fd = ppipe[0], .events = POLLIN };

			r = poll(&p, 1, (int)ms);
			e = r < 0 ? errno : 0;
			if (r > 0)
				bad(id, "poll returned %ld (nobody writes) %ld", r, 0);
			break;
		}
		case 5: {
			char c;

			r = read(rpipe[0], &c, 1);
			e = r < 0 ? errno : 0;
			if (r == 0)
				bad(id, "read returned %ld %ld", r, 0);
			if (!e && !atomic_load(&stop))
				bad(id, "read returned %ld before the end %ld", r, 0);
			break;
		}
		}
		if (e)
			bad(id, "failed with errno %ld (%ld is EINTR)", e, EINTR);
		late = (now_ns() - t0) / 1000000LL - ms;
		if (id == 3 && r == 0)
			late = 0; /* a futex wakeup may be spurious */
		else if (id != 5 && late < 0 && (now_ns() - t0) < ms * 1000000LL - 500000)
			bad(id, "woke %ld us before its deadline %ld", (long)(-(now_ns() - t0 - ms * 1000000LL) / 1000), 0);
		if (id != 5 && late > worst_late_ms[id])
			worst_late_ms[id] = late;
		/* a sleep started again from scratch once is at most 2x late;
		 * far more means it hung */
		if (id != 5 && late > ms + 400)
			bad(id, "ended %ld ms after its deadline (%ld ms sleep)", (long)late, ms);
		loops[id]++;
	}
	return NULL;
}

int main(void)
{
	pthread_t th[NTH];
	char buf[8];
	ssize_t n;
	int fail = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(rpipe) || pipe(ppipe))
		return 2;
	for (long i = 0; i < NTH; i++)
		if (pthread_create(&th[i], NULL, sleeper, (void *)i))
			return 2;
	printf("READY\n");
	do
		n = read(0, buf, sizeof(buf));
	while (n < 0 && errno == EINTR && (fail = 1)); /* EINTR here is a failure too */
	if (n <= 0)
		return 2;
	atomic_store(&stop, 1);
	if (write(rpipe[1], "x", 1) != 1)
		return 2;
	for (int i = 0; i < NTH; i++)
		pthread_join(th[i], NULL);
	if (fail) {
		printf("FAIL the main thread's read got EINTR\n");
		return 1;
	}
	for (int i = 0; i < NTH; i++) {
		if (why[i][0]) {
			printf("FAIL %s: %s\n", name[i], why[i]);
			return 1;
		}
		if (!loops[i]) {
			printf("FAIL %s never ran\n", name[i]);
			return 1;
		}
	}
	printf("PASS");
	for (int i = 0; i < NTH - 1; i++)
		fprintf(stderr, "sleepers: %s: %ld loops, at most %ld ms late\n", name[i], loops[i],
			worst_late_ms[i]);
	printf("\n");
	return 0;
}
