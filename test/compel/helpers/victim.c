/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * victim - a process for the compel tests to seize, infect and cure.
 *
 *   victim MODE [OPTION...]
 *
 * MODE is what the main thread blocks in: read, nanosleep:MS, futex,
 * epoll, poll, poll:MS, accept, spin.  A "waker" thread reads "go" on
 * stdin and ends the main thread's wait (write to its pipe, futex wake,
 * connect, ...).  Options: threads:N (N more spinning threads), fpu
 * (vector registers hold known values across the wait), sig (custom
 * mask, pending private and shared signals, sigaltstack), rseq (glibc's
 * rseq registration still in force afterwards), exit (exit as soon as
 * "go" arrives, no verdict).  Prints READY when prepared, then
 * PASS or "FAIL why" once the wait is over and the state checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/rseq.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];                  /* main waits on pfd[0] */
static atomic_int fword;            /* futex word */
static atomic_int stop_spin;
static atomic_long spins;
static int lsock;                   /* listening socket for accept */
static struct sockaddr_un laddr;
static socklen_t laddr_len;
static const char *mode;
static int opt_exit;

static void fail(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("FAIL %s\n", buf);
	fflush(stdout);
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *waker(void *arg)
{
	char buf[8];
	ssize_t n;

	(void)arg;
	do
		n = read(0, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		exit(2);
	if (opt_exit)
		_exit(0);
	if (write(pfd[1], "x", 1) != 1)
		fail("waker write");
	atomic_store(&fword, 1);
	syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	atomic_store(&stop_spin, 1);
	if (!strcmp(mode, "accept")) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		if (connect(s, (struct sockaddr *)&laddr, laddr_len))
			fail("connect: %s", strerror(errno));
	}
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		atomic_fetch_add(&spins, 1);
	return NULL;
}

/* ---- vector registers across the blocking syscall ---------------------- */
static int fpu_level; /* 0 none, 1 sse, 2 avx, 3 avx512 */
static uint8_t vin[32][64] __attribute__((aligned(64)));
static uint8_t vout[32][64] __attribute__((aligned(64)));
static uint64_t kin[8], kout[8];

static long fpu_read(int fd, void *buf, size_t len)
{
	long ret;

	if (fpu_level == 3) {
		__asm__ volatile(
#define L(i) "vmovdqu64 " #i "*64(%[vi]), %%zmm" #i "\n"
#define S(i) "vmovdqu64 %%zmm" #i ", " #i "*64(%[vo])\n"
			L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13)
			L(14) L(15) L(16) L(17) L(18) L(19) L(20) L(21) L(22) L(23) L(24) L(25)
			L(26) L(27) L(28) L(29) L(30) L(31)
			"kmovq 0(%[ki]), %%k1\n kmovq 8(%[ki]), %%k2\n kmovq 16(%[ki]), %%k7\n"
			"syscall\n"
			S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13)
			S(14) S(15) S(16) S(17) S(18) S(19) S(20) S(21) S(22) S(23) S(24) S(25)
			S(26) S(27) S(28) S(29) S(30) S(31)
			"kmovq %%k1, 0(%[ko])\n kmovq %%k2, 8(%[ko])\n kmovq %%k7, 16(%[ko])\n"
			: "=a"(ret)
			: "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(len), [vi] "r"(vin),
			  [vo] "r"(vout), [ki] "r"(kin), [ko] "r"(kout)
			: "rcx", "r11", "memory"); /* k regs: not used by this (non-AVX-512) code */
#undef L
#undef S
	} else if (fpu_level == 2) {
		__asm__ volatile(
#define L(i) "vmovdqu " #i "*64(%[vi]), %%ymm" #i "\n"
#define S(i) "vmovdqu %%ymm" #i ", " #i "*64(%[vo])\n"
			L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13)
			L(14) L(15)
			"syscall\n"
			S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13)
			S(14) S(15)
			: "=a"(ret)
			: "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(len), [vi] "r"(vin),
			  [vo] "r"(vout)
			: "rcx", "r11", "memory");
#undef L
#undef S
	} else {
		__asm__ volatile(
#define L(i) "movdqu " #i "*64(%[vi]), %%xmm" #i "\n"
#define S(i) "movdqu %%xmm" #i ", " #i "*64(%[vo])\n"
			L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13)
			L(14) L(15)
			"syscall\n"
			S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13)
			S(14) S(15)
			: "=a"(ret)
			: "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(len), [vi] "r"(vin),
			  [vo] "r"(vout)
			: "rcx", "r11", "memory");
#undef L
#undef S
	}
	return ret;
}

static void fpu_check(void)
{
	int nregs = fpu_level == 3 ? 32 : 16;
	int width = fpu_level == 3 ? 64 : fpu_level == 2 ? 32 : 16;

	for (int i = 0; i < nregs; i++)
		if (memcmp(vin[i], vout[i], width))
			fail("vector register %d changed (level %d)", i, fpu_level);
	if (fpu_level == 3 && (kin[0] != kout[0] || kin[1] != kout[1] || kin[2] != kout[2]))
		fail("mask registers changed");
}

/* ---- signal state ------------------------------------------------------ */
static volatile sig_atomic_t got_usr1, got_usr2;
static char altstack[65536];

static void on_usr(int sig)
{
	if (sig == SIGUSR1)
		got_usr1++;
	else
		got_usr2++;
}

static void sig_prepare(void)
{
	sigset_t m;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };

	signal(SIGUSR1, on_usr);
	signal(SIGUSR2, on_usr);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGRTMIN + 3);
	pthread_sigmask(SIG_SETMASK, &m, NULL);
	if (sigaltstack(&ss, NULL))
		fail("sigaltstack");
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1); /* private */
	kill(getpid(), SIGUSR2); /* shared: other threads block it too */
}

static void sig_check(void)
{
	sigset_t m, p;
	stack_t ss;

	pthread_sigmask(SIG_SETMASK, NULL, &m);
	if (!sigismember(&m, SIGUSR1) || !sigismember(&m, SIGUSR2) ||
	    !sigismember(&m, SIGRTMIN + 3) || sigismember(&m, SIGTERM))
		fail("signal mask changed");
	sigpending(&p);
	if (!sigismember(&p, SIGUSR1) || !sigismember(&p, SIGUSR2))
		fail("pending signals lost");
	if (got_usr1 || got_usr2)
		fail("blocked signals were delivered");
	if (sigaltstack(NULL, &ss) || ss.ss_sp != altstack || ss.ss_size != sizeof(altstack))
		fail("sigaltstack changed");
	sigemptyset(&m);
	pthread_sigmask(SIG_SETMASK, &m, NULL);
	if (got_usr1 != 1 || got_usr2 != 1)
		fail("pending signals not delivered once each (%d, %d)", got_usr1, got_usr2);
}

/* glibc registered rseq for this thread: it must still be registered
 * (registering the same area again gives EBUSY) and the kernel must
 * still update it. */
static void rseq_check(void)
{
	struct rseq *rs;
	long r;

	if (!__rseq_size)
		return; /* glibc did not register (tunable off): nothing to check */
	rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	/* glibc registers 32 bytes; __rseq_size may say less */
	r = syscall(SYS_rseq, rs, 32, 0, RSEQ_SIG);
	if (r && errno == EINVAL)
		r = syscall(SYS_rseq, rs, __rseq_size, 0, RSEQ_SIG);
	if (r == 0)
		fail("rseq was no longer registered");
	if (errno != EBUSY)
		fail("rseq re-registration: %s", strerror(errno));
	if ((int)rs->cpu_id < 0 || rs->cpu_id != (unsigned)sched_getcpu())
		fail("rseq cpu_id %d is not updated (on cpu %d)", (int)rs->cpu_id, sched_getcpu());
}

int main(int argc, char **argv)
{
	int i, nthreads = 0, opt_fpu = 0, opt_sig = 0, opt_rseq = 0;
	long ms = 0;
	pthread_t th;
	char buf[8];
	long r = 0;
	long long t0, dt;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	mode = argv[1];
	if (strchr(argv[1], ':')) {
		static char m[32];

		snprintf(m, sizeof(m), "%.*s", (int)(strchr(argv[1], ':') - argv[1]), argv[1]);
		ms = atol(strchr(argv[1], ':') + 1);
		mode = m;
	}
	for (i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "threads:", 8))
			nthreads = atoi(argv[i] + 8);
		else if (!strcmp(argv[i], "fpu"))
			opt_fpu = 1;
		else if (!strcmp(argv[i], "sig"))
			opt_sig = 1;
		else if (!strcmp(argv[i], "exit"))
			opt_exit = 1;
		else if (!strcmp(argv[i], "rseq"))
			opt_rseq = 1;
	}
	if (pipe(pfd))
		fail("pipe");
	if (!strcmp(mode, "accept")) {
		lsock = socket(AF_UNIX, SOCK_STREAM, 0);
		laddr.sun_family = AF_UNIX;
		snprintf(laddr.sun_path + 1, sizeof(laddr.sun_path) - 1, "compel-victim-%d", getpid());
		laddr_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(laddr.sun_path + 1);
		if (bind(lsock, (struct sockaddr *)&laddr, laddr_len) || listen(lsock, 1))
			fail("listen: %s", strerror(errno));
	}
	if (opt_fpu) {
		__builtin_cpu_init();
		fpu_level = __builtin_cpu_supports("avx512f") ? 3 : __builtin_cpu_supports("avx") ? 2 : 1;
		for (i = 0; i < 32 * 64; i++)
			((uint8_t *)vin)[i] = (uint8_t)(i * 7 + 3);
		kin[0] = 0x123456789abcdef0ull;
		kin[1] = 0x0fedcba987654321ull;
		kin[2] = 0xa5a5a5a5a5a5a5a5ull;
	}
	{
		/* the waker and spinners must not take the test signals */
		sigset_t m, old;

		sigfillset(&m);
		pthread_sigmask(SIG_SETMASK, &m, &old);
		if (pthread_create(&th, NULL, waker, NULL))
			fail("pthread_create");
		for (i = 0; i < nthreads; i++)
			if (pthread_create(&th, NULL, spinner, NULL))
				fail("pthread_create");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (opt_sig)
		sig_prepare();
	printf("READY\n");
	t0 = now_ms();
	errno = 0;
	if (!strcmp(mode, "read")) {
		r = opt_fpu ? fpu_read(pfd[0], buf, 1) : read(pfd[0], buf, 1);
		if (r < 0 && opt_fpu) {
			errno = (int)-r;
			r = -1;
		}
		if (r != 1)
			fail("read returned %ld (%s)", r, strerror(errno));
		if (opt_fpu)
			fpu_check();
	} else if (!strcmp(mode, "nanosleep")) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

		r = nanosleep(&ts, NULL);
		dt = now_ms() - t0;
		if (r)
			fail("nanosleep: %s", strerror(errno));
		if (dt < ms || dt > ms + 700)
			fail("slept %lld ms instead of %ld", dt, ms);
	} else if (!strcmp(mode, "futex")) {
		while (!atomic_load(&fword)) {
			r = syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
			if (r && errno != EAGAIN)
				fail("futex: %s", strerror(errno));
		}
	} else if (!strcmp(mode, "epoll")) {
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN };

		epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
		r = epoll_wait(ep, &ev, 1, -1);
		if (r != 1)
			fail("epoll_wait returned %ld (%s)", r, strerror(errno));
	} else if (!strcmp(mode, "poll")) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int fd2[2];

		if (ms) { /* a pipe nobody writes: must time out on time */
			if (pipe(fd2))
				fail("pipe");
			p.fd = fd2[0];
		}
		r = poll(&p, 1, ms ? (int)ms : -1);
		dt = now_ms() - t0;
		if (r < 0)
			fail("poll: %s", strerror(errno));
		if (ms && (r != 0 || dt < ms || dt > ms + 700))
			fail("poll returned %ld after %lld ms (timeout %ld)", r, dt, ms);
		if (!ms && r != 1)
			fail("poll returned %ld", r);
	} else if (!strcmp(mode, "accept")) {
		r = accept(lsock, NULL, NULL);
		if (r < 0)
			fail("accept: %s", strerror(errno));
	} else if (!strcmp(mode, "spin")) {
		long n = 0;

		while (!atomic_load(&stop_spin))
			n++;
		if (!n)
			fail("did not spin");
	} else {
		fail("unknown mode %s", mode);
	}
	if (opt_sig)
		sig_check();
	if (opt_rseq)
		rseq_check();
	printf("PASS\n");
	return 0;
}
