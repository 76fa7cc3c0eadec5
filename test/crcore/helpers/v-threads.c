/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-threads OUTFILE - a victim with two worker threads that spin in
 * assembly with every AVX-512 register (zmm0-31, k1-7) and r12-r15
 * loaded with a pattern of their own, counting; the checkpoint stops
 * them anywhere in that loop.  After SIGTERM each worker stores its
 * registers and checks them, its TID, its name, its signal mask and its
 * rseq registration; the main thread checks that the counters went on.
 * Writes READY, then PASS or FAIL lines, to OUTFILE.  Without AVX-512 it
 * writes SKIP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NW 2

struct worker {
	pthread_t th;
	int idx;
	pid_t tid;
	volatile uint64_t counter;
	uint64_t zmm[32][8];
	uint64_t k[8];
	uint64_t gp[4];
	char name[16];
};

static struct worker w[NW];
static volatile int stop;
static volatile int started;
static volatile sig_atomic_t got_term;
static int out;
static int fails;

static void say(const char *fmt, int a, int b)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), fmt, a, b);

	(void)!write(out, buf, (size_t)n);
}

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static uint64_t pat(int idx, int reg, int lane)
{
	return 0x0101010101010101ull * (uint64_t)(idx * 40 + reg + 1) ^ ((uint64_t)lane << 56) ^
	       0x8000000000000000ull;
}

/* Loads the pattern, spins until stop, stores what the registers hold. */
__attribute__((target("avx512f,avx512bw"), noinline))
static void spin(struct worker *me)
{
	static uint64_t src[NW][32][8] __attribute__((aligned(64)));
	uint64_t ksrc[8];

	for (int r = 0; r < 32; r++)
		for (int l = 0; l < 8; l++)
			src[me->idx][r][l] = pat(me->idx, r, l);
	for (int k = 1; k < 8; k++)
		ksrc[k] = pat(me->idx, 100 + k, 0);
	__asm__ volatile(
#define LD(n) "vmovdqu64 " #n "*64(%[s]), %%zmm" #n "\n\t"
		LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10) LD(11) LD(12)
		LD(13) LD(14) LD(15) LD(16) LD(17) LD(18) LD(19) LD(20) LD(21) LD(22) LD(23)
		LD(24) LD(25) LD(26) LD(27) LD(28) LD(29) LD(30) LD(31)
		"kmovq 8(%[k]), %%k1\n\t" "kmovq 16(%[k]), %%k2\n\t" "kmovq 24(%[k]), %%k3\n\t"
		"kmovq 32(%[k]), %%k4\n\t" "kmovq 40(%[k]), %%k5\n\t" "kmovq 48(%[k]), %%k6\n\t"
		"kmovq 56(%[k]), %%k7\n\t"
		"movq %[g0], %%r12\n\t" "movq %[g1], %%r13\n\t" "movq %[g2], %%r14\n\t" "movq %[g3], %%r15\n\t"
		"1:\n\t"
		"incq (%[cnt])\n\t"
		"cmpl $0, (%[stop])\n\t"
		"je 1b\n\t"
#define ST(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[d])\n\t"
		ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12)
		ST(13) ST(14) ST(15) ST(16) ST(17) ST(18) ST(19) ST(20) ST(21) ST(22) ST(23)
		ST(24) ST(25) ST(26) ST(27) ST(28) ST(29) ST(30) ST(31)
		"kmovq %%k1, 8(%[ko])\n\t" "kmovq %%k2, 16(%[ko])\n\t" "kmovq %%k3, 24(%[ko])\n\t"
		"kmovq %%k4, 32(%[ko])\n\t" "kmovq %%k5, 40(%[ko])\n\t" "kmovq %%k6, 48(%[ko])\n\t"
		"kmovq %%k7, 56(%[ko])\n\t"
		"movq %%r12, 0(%[gp])\n\t" "movq %%r13, 8(%[gp])\n\t" "movq %%r14, 16(%[gp])\n\t"
		"movq %%r15, 24(%[gp])\n\t"
		:
		: [s] "r"(src[me->idx]), [k] "r"(ksrc), [cnt] "r"(&me->counter), [stop] "r"(&stop),
		  [d] "r"(me->zmm), [ko] "r"(me->k), [gp] "r"(me->gp),
		  [g0] "i"(0x1212121212121212ull), [g1] "i"(0x1313131313131313ull),
		  [g2] "i"(0x1414141414141414ull), [g3] "i"(0x1515151515151515ull)
		: "memory", "cc", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
		  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
		  "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
		  "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	sigset_t set, cur;
	char name[32];

	me->tid = (pid_t)syscall(SYS_gettid);
	snprintf(me->name, sizeof(me->name), "worker-%d", me->idx);
	prctl(PR_SET_NAME, me->name);
	sigemptyset(&set);
	sigaddset(&set, me->idx ? SIGUSR2 : SIGUSR1);
	sigaddset(&set, SIGTERM); /* SIGTERM is for the main thread */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);

	spin(me);

	for (int r = 0; r < 32; r++)
		for (int l = 0; l < 8; l++)
			if (me->zmm[r][l] != pat(me->idx, r, l)) {
				say("FAIL: worker %d: zmm%d differs\n", me->idx, r);
				fails++;
				l = 8, r = 32;
			}
	for (int k = 1; k < 8; k++)
		if (me->k[k] != pat(me->idx, 100 + k, 0)) {
			say("FAIL: worker %d: k%d differs\n", me->idx, k);
			fails++;
			break;
		}
	for (int g = 0; g < 4; g++)
		if (me->gp[g] != 0x1212121212121212ull + 0x0101010101010101ull * (uint64_t)g) {
			say("FAIL: worker %d: r%d differs\n", me->idx, 12 + g);
			fails++;
		}
	if ((pid_t)syscall(SYS_gettid) != me->tid) {
		say("FAIL: worker %d: tid changed (%d)\n", me->idx, me->tid);
		fails++;
	}
	prctl(PR_GET_NAME, name);
	if (strcmp(name, me->name)) {
		say("FAIL: worker %d: name lost%c\n", me->idx, ' ');
		fails++;
	}
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, me->idx ? SIGUSR2 : SIGUSR1) ||
	    sigismember(&cur, me->idx ? SIGUSR1 : SIGUSR2)) {
		say("FAIL: worker %d: signal mask%c\n", me->idx, ' ');
		fails++;
	}
	if (__rseq_size) {
		/* registering again with the same area must say "already" */
		long r = syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset,
				 __rseq_size < 32 ? 32 : __rseq_size, 0, RSEQ_SIG);

		if (r != -1 || errno != EBUSY) {
			say("FAIL: worker %d: rseq not registered (%d)\n", me->idx, (int)r);
			fails++;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	uint64_t before[NW];
	unsigned a, b, c, d;

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0)
		return 2;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(7), "2"(0));
	if (!(b & (1u << 16))) {
		(void)!write(out, "SKIP\n", 5);
		return 0;
	}
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < NW; i++) {
		w[i].idx = i;
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	while (started < NW || w[0].counter < 1000 || w[1].counter < 1000)
		usleep(1000);
	(void)!write(out, "READY\n", 6);
	while (!got_term)
		pause();
	for (int i = 0; i < NW; i++)
		before[i] = w[i].counter;
	/* the workers must go on counting (give a busy machine time) */
	for (int t = 0; t < 2000; t++) {
		int moved = 0;

		for (int i = 0; i < NW; i++)
			moved += w[i].counter != before[i];
		if (moved == NW)
			break;
		usleep(1000);
	}
	for (int i = 0; i < NW; i++)
		if (w[i].counter == before[i]) {
			say("FAIL: worker %d does not run (counter %d)\n", i, (int)before[i]);
			fails++;
		}
	stop = 1;
	for (int i = 0; i < NW; i++)
		pthread_join(w[i].th, NULL);
	if (!fails)
		(void)!write(out, "PASS\n", 5);
	return fails ? 1 : 0;
}
