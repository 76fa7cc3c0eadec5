/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vt-tree - a process tree that checks its own state after a restore.
 *   vt-tree PIDFILE DATAFILE [nosysv]
 * The root makes itself a session leader and a child subreaper, maps
 * shared anonymous memory, a memfd and a removed SysV segment (all
 * written), opens DATAFILE, and
 * forks:
 *   a    its own process group; reads 3 bytes of DATAFILE (the offset is
 *        shared by the whole tree); dup2s fd 6 (a deleted file the root
 *        opened) to 9; forks a1 (two threads) in its group
 *   b    its own group; forks b1 in it, then exits: b1 is reparented to
 *        the root (subreaper) and group b has no leader any more
 *   c    a new session; forks c1 which makes its own group in it, then
 *        exits: session c has no leader any more
 *   z    exits with status 7 and is never waited: a zombie
 *   t    stops itself with SIGSTOP
 * Then it writes "name pid ppid pgid sid" lines to PIDFILE (".tmp" then
 * renamed) and every process waits for SIGTERM.  On SIGTERM each checks
 * its pid, parent, group and session and the shared memory contents,
 * marks its slot in both shared areas and prints "PASS name"; the root
 * then checks every live process marked both areas (they are still
 * shared), the file offset moved by a after its check (one open file
 * description), and reaps z (status 7): "PASS root", "PASS shared",
 * "PASS file", "PASS zombie".  t does the same once continued.
 * Any mismatch prints "FAIL name: what" and exits 1.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHM_PAGES 4
#define NSLOT 16

struct who {
	const char *name;
	pid_t pid, ppid, pgid, sid;
};

static volatile sig_atomic_t term;
static uint8_t *shm, *mfd, *sysv;
static int datafd, delfd;
static struct who me;
static int slot;
static int syncp[2];

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void fail(const char *what)
{
	printf("FAIL %s: %s (pid %d)\n", me.name, what, (int)getpid());
	fflush(stdout);
	_exit(1);
}

static void pattern_check(void)
{
	for (size_t i = 4096; i < SHM_PAGES * 4096; i++) {
		if (shm[i] != (uint8_t)(i * 7 + 1))
			fail("shared anonymous memory changed");
		if (mfd[i] != (uint8_t)(i * 13 + 5))
			fail("memfd memory changed");
		if (i < 2 * 4096 && sysv[i] != (uint8_t)(i * 17 + 3))
			fail("SysV shared memory changed");
	}
}

static void wait_term(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!term)
		sigsuspend(&none);
}

/* After SIGTERM: the checks every process makes. */
static void verify(void)
{
	char buf[160];

	if (getpid() != me.pid)
		fail("pid changed");
	/* the root's parent is outside the tree: after a restore it is
	 * whoever restored it */
	if (slot != 0 && getppid() != me.ppid) {
		snprintf(buf, sizeof(buf), "parent %d, not %d", (int)getppid(), (int)me.ppid);
		fail(buf);
	}
	if (getpgid(0) != me.pgid) {
		snprintf(buf, sizeof(buf), "process group %d, not %d", (int)getpgid(0), (int)me.pgid);
		fail(buf);
	}
	if (getsid(0) != me.sid) {
		snprintf(buf, sizeof(buf), "session %d, not %d", (int)getsid(0), (int)me.sid);
		fail(buf);
	}
	pattern_check();
	shm[slot] = 1;
	mfd[slot] = 1;
	sysv[slot] = 1;
	printf("PASS %s\n", me.name);
	fflush(stdout);
}

static void self(const char *name, int s)
{
	me.name = name;
	me.pid = getpid();
	me.ppid = getppid();
	me.pgid = getpgid(0);
	me.sid = getsid(0);
	slot = s;
}

/* A leaf: wait, verify, exit 0. */
static void leaf(const char *name, int s)
{
	close(syncp[0]);
	close(syncp[1]);
	self(name, s);
	wait_term();
	verify();
	_exit(0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *sleeper(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;)
		sleep_ms(1000);
	return arg;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	pid_t a, a1, b, b1, c, c1, z, t;
	int mf;
	char tmp[4096];
	FILE *f;

	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "nosysv")))
		return 2;
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setsid() < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 2;
	shm = mmap(NULL, SHM_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mf = memfd_create("vt-tree", MFD_CLOEXEC);
	if (shm == MAP_FAILED || mf < 0 || ftruncate(mf, SHM_PAGES * 4096) < 0)
		return 2;
	mfd = mmap(NULL, SHM_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mf, 0);
	close(mf);
	if (mfd == MAP_FAILED)
		return 2;
	{
		/* a removed SysV segment of 3 pages, 1 written (the first
		 * page holds the slots and stays untouched until the end) */
		int id = argc == 4 ? -1 : shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);

		/* nosysv: an anonymous stand-in (for restores, which do not
		 * recreate SysV segments yet) */
		sysv = argc == 4 ? mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
					-1, 0) :
		       id < 0 ? MAP_FAILED : shmat(id, NULL, 0);
		if (sysv == MAP_FAILED || (id >= 0 && shmctl(id, IPC_RMID, NULL) < 0))
			return 2;
		for (size_t i = 4096; i < 2 * 4096; i++)
			sysv[i] = (uint8_t)(i * 17 + 3);
	}
	for (size_t i = 4096; i < SHM_PAGES * 4096; i++) {
		shm[i] = (uint8_t)(i * 7 + 1);
		mfd[i] = (uint8_t)(i * 13 + 5);
	}
	datafd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (datafd < 0 || pipe2(syncp, O_CLOEXEC) < 0)
		return 2;
	{
		/* fd 6: a deleted file, inherited by everyone (its contents
		 * travel once); a also dup2s it to fd 9 */
		snprintf(tmp, sizeof(tmp), "%s.del", argv[2]);
		delfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (delfd != 6 || write(delfd, "deleted file contents\n", 22) != 22 || unlink(tmp) < 0)
			return 2;
	}

	a = fork();
	if (a == 0) {
		setpgid(0, 0);
		if (read(datafd, tmp, 3) != 3 || dup2(delfd, 9) != 9)
			_exit(2);
		a1 = fork();
		if (a1 == 0) {
			pthread_t th;

			/* a1 has a second thread, sleeping */
			if (pthread_create(&th, NULL, sleeper, NULL))
				_exit(2);
			leaf("a1", 2);
		}
		if (write(syncp[1], &a1, sizeof(a1)) != sizeof(a1))
			_exit(2);
		close(syncp[0]);
		close(syncp[1]);
		self("a", 1);
		wait_term();
		verify();
		if (lseek(datafd, 0, SEEK_CUR) != 3)
			fail("file offset is not 3");
		if (read(datafd, tmp, 1) != 1)
			fail("cannot read the shared file");
		shm[NSLOT] = 1; /* the offset moved */
		waitpid(a1, NULL, 0);
		_exit(0);
	}
	setpgid(a, a);
	if (read(syncp[0], &a1, sizeof(a1)) != sizeof(a1))
		return 2;
	b = fork();
	if (b == 0) {
		pid_t self_b = getpid();

		setpgid(0, 0);
		b1 = fork();
		if (b1 == 0) {
			while (getppid() == self_b)
				sleep_ms(1);
			leaf("b1", 3);
		}
		if (write(syncp[1], &b1, sizeof(b1)) != sizeof(b1))
			_exit(2);
		_exit(0);
	}
	if (read(syncp[0], &b1, sizeof(b1)) != sizeof(b1) || waitpid(b, NULL, 0) != b)
		return 2;
	c = fork();
	if (c == 0) {
		pid_t self_c = getpid();

		setsid();
		c1 = fork();
		if (c1 == 0) {
			setpgid(0, 0);
			while (getppid() == self_c)
				sleep_ms(1);
			leaf("c1", 4);
		}
		if (write(syncp[1], &c1, sizeof(c1)) != sizeof(c1))
			_exit(2);
		_exit(0);
	}
	if (read(syncp[0], &c1, sizeof(c1)) != sizeof(c1) || waitpid(c, NULL, 0) != c)
		return 2;
	z = fork();
	if (z == 0)
		_exit(7);
	t = fork();
	if (t == 0) {
		close(syncp[0]);
		close(syncp[1]);
		self("t", 5);
		raise(SIGSTOP);
		wait_term();
		verify();
		_exit(0);
	}
	close(syncp[0]);
	close(syncp[1]);
	self("root", 0);
	/* everyone in place: a read its bytes, b1 and c1 were reparented,
	 * z is a zombie, t is stopped */
	for (int i = 0; i < 5000; i++) {
		char p[64], st = 0;
		int ok = lseek(datafd, 0, SEEK_CUR) == 3;
		FILE *s;

		for (int k = 0; k < 2 && ok; k++) {
			snprintf(p, sizeof(p), "/proc/%d/stat", (int)(k ? t : z));
			s = fopen(p, "re");
			if (!s || fscanf(s, "%*d %*s %c", &st) != 1)
				ok = 0;
			if (s)
				fclose(s);
			if (st != (k ? 'T' : 'Z'))
				ok = 0;
		}
		if (ok && getpgid(a1) == a && getppid() > 0) {
			snprintf(p, sizeof(p), "/proc/%d/stat", (int)b1);
			s = fopen(p, "re");
			if (s) {
				int pp = 0;

				if (fscanf(s, "%*d %*s %*c %d", &pp) != 1)
					pp = 0;
				fclose(s);
				if (pp == getpid()) {
					snprintf(p, sizeof(p), "/proc/%d/stat", (int)c1);
					s = fopen(p, "re");
					if (s && fscanf(s, "%*d %*s %*c %d", &pp) == 1 && pp == getpid() &&
					    getpgid(c1) == c1) {
						fclose(s);
						break;
					}
					if (s)
						fclose(s);
				}
			}
		}
		if (i == 4999)
			return 2;
		sleep_ms(1);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "w");
	if (!f)
		return 2;
	{
		struct {
			const char *n;
			pid_t p;
		} l[] = { { "root", getpid() }, { "a", a }, { "a1", a1 }, { "b1", b1 },
			  { "c1", c1 }, { "z", z }, { "t", t } };

		for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
			fprintf(f, "%s %d %d %d %d\n", l[i].n, (int)l[i].p,
				i ? (int)(l[i].p == a1 ? a : getpid()) : (int)getppid(),
				(int)getpgid(l[i].p), (int)getsid(l[i].p));
	}
	fclose(f);
	if (rename(tmp, argv[1]) < 0)
		return 2;
	wait_term();
	verify();
	/* every live process marked both areas: still one object each */
	for (int i = 0; i < 3000; i++) {
		int all = 1;

		for (int s = 1; s <= 5; s++)
			all &= shm[s] && mfd[s] && sysv[s];
		if (all && shm[NSLOT])
			break;
		if (i == 2999)
			fail("not every process marked the shared memory (no longer shared?)");
		sleep_ms(1);
	}
	printf("PASS shared\n");
	if (lseek(datafd, 0, SEEK_CUR) != 4)
		fail("the file offset did not move with a's read (not one open file)");
	printf("PASS file\n");
	{
		int st;

		if (waitpid(z, &st, WNOHANG) != z || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			fail("z is not a zombie with status 7");
		printf("PASS zombie\n");
	}
	return 0;
}
