/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fz-counter - a victim for the freeze tests.
 *   fz-counter COUNTER-FILE [MIB [THREADS]]
 * Maps COUNTER-FILE shared and increments the u64 at offset 0 in a busy
 * loop (so a watcher sees whether it runs).  THREADS threads (default 2)
 * sleep in short nanosleeps and wait on a futex-backed condition, and
 * record any EINTR.  MIB MiB of anonymous memory are written with a
 * pattern.  On SIGTERM: checks the pattern, that no call failed with
 * EINTR, and prints PASS or FAIL with the reason (exit 0 or 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t *counter;
static volatile sig_atomic_t term;
static volatile int eintr;
static uint64_t *mem;
static size_t memlen;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void on_term(int s)
{
	term = 1;
}

static void *sleeper(void *arg)
{
	long id = (long)arg;

	while (!term) {
		if (id & 1) {
			struct timespec ts = { 0, 2000000 };

			if (nanosleep(&ts, NULL) < 0 && errno == EINTR && !term)
				eintr = 2 + (int)id;
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 3000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&mu);
			pthread_cond_timedwait(&cv, &mu, &ts);
			pthread_mutex_unlock(&mu);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	int fd, threads = argc > 3 ? atoi(argv[3]) : 2;
	pthread_t th[64];
	uint64_t seen = 0;

	if (argc < 2)
		return 2;
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 2;
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (counter == MAP_FAILED)
		return 2;
	memlen = (argc > 2 ? strtoul(argv[2], NULL, 0) : 0) << 20;
	if (memlen) {
		mem = mmap(NULL, memlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return 2;
		for (size_t i = 0; i < memlen / 8; i += 512)
			mem[i] = i * 0x9e3779b97f4a7c15ull;
	}
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < threads && i < 64; i++)
		pthread_create(&th[i], NULL, sleeper, (void *)(long)i);
	counter[1] = 1; /* ready */
	while (!term) {
		counter[0]++;
		if ((counter[0] & 0xffff) == 0) {
			struct timespec ts = { 0, 100000 };

			if (nanosleep(&ts, NULL) < 0 && errno == EINTR && !term)
				eintr = 1;
		}
		seen++;
	}
	for (int i = 0; i < threads && i < 64; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < memlen / 8; i += 512)
		if (mem[i] != i * 0x9e3779b97f4a7c15ull) {
			printf("FAIL memory at %zu changed\n", i);
			return 1;
		}
	if (eintr) {
		printf("FAIL a system call failed with EINTR (%s %d)\n", eintr == 1 ? "main thread" : "sleeper thread",
		       eintr - 2);
		return 1;
	}
	printf("PASS %llu\n", (unsigned long long)seen);
	return 0;
}
