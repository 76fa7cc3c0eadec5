/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vf-memfd-map OUTFILE MODE - a victim that holds memfds and maps them
 * (docs/fds.md); writes READY to OUTFILE, waits for SIGTERM, then checks
 * that each fd and its mappings are one object again, with their name,
 * size, seals, offset, fd flags and contents (mapped and not), and
 * writes PASS (or FAIL: why).
 *   single  in one process:
 *           A  sealable, 5 pages and 100 bytes, offset 777, FD_CLOEXEC;
 *              pages 1-2 mapped writable, page 3 mapped again read-only;
 *              seals SHRINK|GROW (more can be added)
 *           B  F_SEAL_WRITE|F_SEAL_SHRINK, page 0-1 mapped read-only
 *           C  a writable mapping, then F_SEAL_FUTURE_WRITE
 *           D  made without MFD_ALLOW_SEALING (F_SEAL_SEAL), O_RDONLY
 *              reopen held too, mapped whole
 *           E  mapped, fd closed (the mapping alone, as before)
 *   tree    a parent with memfd T (pages 0-1 mapped, offset 321) forks a
 *           child that inherits the fd and maps pages 1-2; after SIGTERM
 *           each writes through its mapping and sees what the other wrote
 *           through its fd and mapping.  The child writes "CHILD pid"
 *           first; both write PASS (the child "PASS child").
 *   tree-nofd  as tree, but the child closes its fd after mapping: it
 *           checks and writes through its mapping only
 *   tree-sealed  the parent seals T with F_SEAL_WRITE, both map it
 *           read-only, the child closes its fd (the dump refuses it;
 *           only READY is used)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/test.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define PG 4096
#define A_SIZE (5 * PG + 100)

static volatile sig_atomic_t got_term;
static int out, fails;
static const char *who = "";

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* a line to the output file (test/lib) */
#define say(...) t_say(out, __VA_ARGS__)

#define CHECK(c, ...)                                                                               \
	do {                                                                                        \
		if (!(c)) {                                                                         \
			char m_[400];                                                               \
			snprintf(m_, sizeof(m_), __VA_ARGS__);                                      \
			say("FAIL%s: %s (errno %s)", who, m_, strerror(errno));                    \
			fails++;                                                                    \
		}                                                                                   \
	} while (0)
#define DIE(what)                                                                                   \
	do {                                                                                        \
		say("FAIL%s: setup: %s: %s", who, what, strerror(errno));                           \
		exit(1);                                                                            \
	} while (0)

static uint8_t pat(int which, size_t off)
{
	return (uint8_t)(which * 37 + off * 7 + off / 4096);
}

static void fill(int fd, int which, size_t size)
{
	uint8_t *b = malloc(size);

	if (!b)
		DIE("malloc");
	for (size_t i = 0; i < size; i++)
		b[i] = pat(which, i);
	if (pwrite(fd, b, size, 0) != (ssize_t)size)
		DIE("fill a memfd");
	free(b);
}

static void *map(int fd, size_t len, int prot, off_t off)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	if (p == MAP_FAILED)
		DIE("mmap");
	return p;
}

/* /proc/self/maps: the inode of the mapping at p and its name column */
static unsigned long map_ino(const void *p, char *name, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long ino = 0;

	name[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e, off, i;
		char perm[8], dev[16];
		int n = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perm, &off, dev, &i, &n) < 6)
			continue;
		if ((uintptr_t)p >= s && (uintptr_t)p < e) {
			ino = i;
			snprintf(name, len, "%s", line + n);
			name[strcspn(name, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return ino;
}

static unsigned long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static void check_link(int fd, const char *want)
{
	char p[64], l[256];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, l, sizeof(l) - 1);
	l[n > 0 ? n : 0] = 0;
	CHECK(!strcmp(l, want), "fd %d is %s, not %s", fd, l, want);
}

/* The mapping at p is the object of fd, named memfd:name. */
static void check_same(int fd, const void *p, const char *name)
{
	char col[256], want[128];

	CHECK(map_ino(p, col, sizeof(col)) == fd_ino(fd), "mapping %p is not fd %d's object (%s)", p, fd,
	      col);
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	CHECK(!strcmp(col, want), "mapping %p is named '%s', not '%s'", p, col, want);
}

/* tree: where the two processes write after SIGTERM (not checked) */
static int marker(size_t off)
{
	return off == PG + 100 || off == PG + 101 || off == 2 * PG + 200 || off == 2 * PG + 300;
}

/* bytes [lo, hi) of fd are pattern which */
static void check_bytes(int fd, int which, size_t lo, size_t hi, const char *what)
{
	uint8_t *b = malloc(hi - lo);

	if (!b)
		DIE("malloc");
	CHECK(pread(fd, b, hi - lo, (off_t)lo) == (ssize_t)(hi - lo), "%s: read", what);
	for (size_t i = lo; i < hi; i++)
		if (b[i - lo] != pat(which, i) && !(which == 6 && marker(i))) {
			CHECK(0, "%s: byte %zu is %u, not %u", what, i, b[i - lo], pat(which, i));
			break;
		}
	free(b);
}

static void check_mem(const uint8_t *p, int which, size_t off, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(which, off + i)) {
			CHECK(0, "%s: mapped byte %zu is %u, not %u", what, off + i, p[i], pat(which, off + i));
			break;
		}
}

/* ---- single -------------------------------------------------------------- */

static int fa, fb, fc, fd_, fdro;
static uint8_t *a12, *a3, *b01, *c0, *d0, *e0;

static void single_prep(void)
{
	int fe;

	fa = memfd_create("vf-map-a", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	fb = memfd_create("vf-map-b", MFD_ALLOW_SEALING);
	fc = memfd_create("vf-map-c", MFD_ALLOW_SEALING);
	fd_ = memfd_create("vf-map-d", 0);
	fe = memfd_create("vf-map-e", 0);
	if (fa < 0 || fb < 0 || fc < 0 || fd_ < 0 || fe < 0)
		DIE("memfd_create");
	/* A: contents, then the mappings change some of them */
	fill(fa, 1, A_SIZE);
	a12 = map(fa, 2 * PG, PROT_READ | PROT_WRITE, PG);
	a3 = map(fa, PG, PROT_READ, 3 * PG);
	memset(a12 + 10, 'M', 20);               /* page 1 through the mapping */
	if (pwrite(fa, "W", 1, 3 * PG + 5) != 1)  /* page 3 through the fd */
		DIE("pwrite A");
	if (fcntl(fa, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		DIE("seal A");
	if (lseek(fa, 777, SEEK_SET) != 777)
		DIE("seek A");
	/* B: write-sealed, mapped read-only */
	fill(fb, 2, 3 * PG);
	if (fcntl(fb, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) < 0)
		DIE("seal B");
	b01 = map(fb, 2 * PG, PROT_READ, 0);
	/* C: a writable mapping made before F_SEAL_FUTURE_WRITE */
	fill(fc, 3, 2 * PG);
	c0 = map(fc, 2 * PG, PROT_READ | PROT_WRITE, 0);
	if (fcntl(fc, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
		DIE("seal C");
	c0[PG + 1] = 'F';
	/* D: no sealing, an O_RDONLY reopen held too */
	fill(fd_, 4, 2 * PG);
	{
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd_);
		fdro = open(p, O_RDONLY);
		if (fdro < 0)
			DIE("reopen D");
	}
	d0 = map(fdro, 2 * PG, PROT_READ, 0);
	/* E: the fd is closed, the mapping stays */
	fill(fe, 5, PG);
	e0 = map(fe, PG, PROT_READ | PROT_WRITE, 0);
	close(fe);
	e0[9] = 'E';
}

static void single_check(void)
{
	struct stat st;
	uint8_t b[4];

	/* A */
	check_link(fa, "/memfd:vf-map-a (deleted)");
	check_same(fa, a12, "vf-map-a");
	check_same(fa, a3, "vf-map-a");
	CHECK(fstat(fa, &st) == 0 && st.st_size == A_SIZE, "A size %lld", (long long)st.st_size);
	CHECK(fcntl(fa, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "A seals 0x%x",
	      fcntl(fa, F_GET_SEALS));
	CHECK(lseek(fa, 0, SEEK_CUR) == 777, "A offset %lld", (long long)lseek(fa, 0, SEEK_CUR));
	CHECK(fcntl(fa, F_GETFD) == FD_CLOEXEC, "A FD_CLOEXEC");
	CHECK((fcntl(fa, F_GETFL) & O_ACCMODE) == O_RDWR, "A access mode");
	check_bytes(fa, 1, 0, PG, "A page 0 (not mapped)");
	check_bytes(fa, 1, 4 * PG, A_SIZE, "A pages 4-5 (not mapped)");
	check_bytes(fa, 1, PG, PG + 10, "A page 1");
	check_mem(a12, 1, PG, 10, "A page 1");
	CHECK(pread(fa, b, 1, PG + 10) == 1 && b[0] == 'M' && a12[29] == 'M', "A page 1 written by the mapping");
	check_mem(a12 + 30, 1, PG + 30, 2 * PG - 30, "A pages 1-2");
	CHECK(a3[5] == 'W', "A page 3: what was written through the fd");
	check_mem(a3 + 6, 1, 3 * PG + 6, PG - 6, "A page 3");
	/* one object: fd to mapping, mapping to fd, mapping to mapping */
	CHECK(pwrite(fa, "xyz", 3, 2 * PG) == 3 && !memcmp(a12 + PG, "xyz", 3), "A: fd write not in the mapping");
	a12[7] = 'q';
	CHECK(pread(fa, b, 1, PG + 7) == 1 && b[0] == 'q', "A: mapping write not in the fd");
	CHECK(pwrite(fa, "k", 1, 3 * PG + 100) == 1 && a3[100] == 'k', "A: fd write not in the second mapping");
	/* more seals may be added; a writable mapping forbids F_SEAL_WRITE */
	CHECK(fcntl(fa, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EBUSY, "A: F_SEAL_WRITE with a writable mapping");
	CHECK(fcntl(fa, F_ADD_SEALS, F_SEAL_SEAL) == 0, "A: sealing no longer allowed");
	CHECK(ftruncate(fa, PG) < 0 && errno == EPERM, "A: shrink allowed");

	/* B */
	check_link(fb, "/memfd:vf-map-b (deleted)");
	check_same(fb, b01, "vf-map-b");
	CHECK(fcntl(fb, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SHRINK), "B seals 0x%x", fcntl(fb, F_GET_SEALS));
	CHECK(fstat(fb, &st) == 0 && st.st_size == 3 * PG, "B size");
	check_bytes(fb, 2, 0, 3 * PG, "B");
	check_mem(b01, 2, 0, 2 * PG, "B");
	CHECK(pwrite(fb, "x", 1, 0) < 0 && errno == EPERM, "B: write allowed");
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0) == MAP_FAILED, "B: writable mapping allowed");
	CHECK(mprotect(b01, PG, PROT_READ | PROT_WRITE) < 0, "B: mapping may be made writable");
	CHECK(fcntl(fb, F_ADD_SEALS, F_SEAL_GROW) == 0, "B: sealing no longer allowed");

	/* C */
	check_same(fc, c0, "vf-map-c");
	CHECK(fcntl(fc, F_GET_SEALS) == F_SEAL_FUTURE_WRITE, "C seals 0x%x", fcntl(fc, F_GET_SEALS));
	CHECK(c0[PG + 1] == 'F', "C: what the mapping wrote after the seal");
	check_mem(c0, 3, 0, PG + 1, "C");
	CHECK(pwrite(fc, "x", 1, 0) < 0 && errno == EPERM, "C: write allowed");
	c0[3] = 'z';
	CHECK(pread(fc, b, 1, 3) == 1 && b[0] == 'z', "C: the writable mapping is not the fd's object");

	/* D */
	check_link(fd_, "/memfd:vf-map-d (deleted)");
	check_same(fd_, d0, "vf-map-d");
	CHECK(fd_ino(fdro) == fd_ino(fd_), "D reopen is another object");
	CHECK((fcntl(fdro, F_GETFL) & O_ACCMODE) == O_RDONLY, "D reopen access mode");
	CHECK(fcntl(fd_, F_GET_SEALS) == F_SEAL_SEAL, "D seals 0x%x", fcntl(fd_, F_GET_SEALS));
	CHECK(fcntl(fd_, F_ADD_SEALS, F_SEAL_GROW) < 0 && errno == EPERM, "D: sealing allowed");
	check_mem(d0, 4, 0, 2 * PG, "D");
	CHECK(pwrite(fd_, "d", 1, 50) == 1 && d0[50] == 'd', "D: fd write not in the mapping");

	/* E */
	{
		char col[256];

		map_ino(e0, col, sizeof(col));
		CHECK(!strcmp(col, "/memfd:vf-map-e (deleted)"), "E mapping is '%s'", col);
	}
	CHECK(e0[9] == 'E', "E written byte");
	check_mem(e0, 5, 0, 9, "E");
	check_mem(e0 + 10, 5, 10, PG - 10, "E");
}

/* ---- tree ---------------------------------------------------------------- */

static int ft;
static uint8_t *tmap;   /* parent: pages 0-1; child: pages 1-2 */
static pid_t child;
static int is_child;

/* waits up to 5 s for byte off of the memfd to be v, through the fd
 * (if held) and the mapping at mp (if any) */
static int wait_byte(size_t off, uint8_t v, const uint8_t *mp)
{
	for (int i = 0; i < 500; i++) {
		uint8_t b = v;

		if ((ft < 0 || (pread(ft, &b, 1, (off_t)off) == 1 && b == v)) && (!mp || *mp == v))
			return 1;
		usleep(10000);
	}
	return 0;
}

static void tree_prep(const char *m)
{
	int sealed = !strcmp(m, "tree-sealed"), nofd = strcmp(m, "tree");

	ft = memfd_create("vt-map", MFD_ALLOW_SEALING);
	if (ft < 0)
		DIE("memfd_create");
	fill(ft, 6, 4 * PG + 10);
	if (sealed && fcntl(ft, F_ADD_SEALS, F_SEAL_WRITE) < 0)
		DIE("seal");
	tmap = map(ft, 2 * PG, sealed ? PROT_READ : PROT_READ | PROT_WRITE, 0);
	if (!sealed)
		tmap[PG + 3] = 'P';
	if (lseek(ft, 321, SEEK_SET) != 321 || fcntl(ft, F_ADD_SEALS, F_SEAL_GROW) < 0)
		DIE("seek, seal");
	child = fork();
	if (child < 0)
		DIE("fork");
	if (child == 0) {
		is_child = 1;
		who = " child";
		munmap(tmap, 2 * PG);
		tmap = map(ft, 2 * PG, sealed ? PROT_READ : PROT_READ | PROT_WRITE, PG);
		if (!sealed)
			tmap[PG + 4] = 'C'; /* page 2 */
		if (nofd) {
			close(ft);
			ft = -1;
		}
		say("CHILD %d", (int)getpid());
	} else {
		/* the child is there when READY is written */
		for (int i = 0; i < 500 && !sealed; i++) {
			uint8_t b = 0;

			if (pread(ft, &b, 1, 2 * PG + 4) == 1 && b == 'C')
				break;
			usleep(10000);
		}
		if (sealed)
			usleep(100000);
	}
}

static void tree_check(void)
{
	struct stat st;
	char col[256];

	if (ft >= 0) {
		check_link(ft, "/memfd:vt-map (deleted)");
		check_same(ft, tmap, "vt-map");
		CHECK(fstat(ft, &st) == 0 && st.st_size == 4 * PG + 10, "size %lld", (long long)st.st_size);
		CHECK(fcntl(ft, F_GET_SEALS) == F_SEAL_GROW, "seals 0x%x", fcntl(ft, F_GET_SEALS));
		CHECK(lseek(ft, 0, SEEK_CUR) == 321, "offset %lld", (long long)lseek(ft, 0, SEEK_CUR));
		check_bytes(ft, 6, 0, PG + 3, "pages 0-1");
		check_bytes(ft, 6, PG + 4, 2 * PG + 4, "pages 1-2");
		check_bytes(ft, 6, 2 * PG + 5, 4 * PG + 10, "pages 2-4 (not mapped)");
	} else {
		map_ino(tmap, col, sizeof(col));
		CHECK(!strcmp(col, "/memfd:vt-map (deleted)"), "child mapping is '%s'", col);
		for (size_t i = 0; i < 2 * PG; i++)
			if (tmap[i] != pat(6, PG + i) && i != 3 && i != PG + 4 && !marker(PG + i)) {
				CHECK(0, "child: mapped byte %zu is %u, not %u", PG + i, tmap[i], pat(6, PG + i));
				break;
			}
	}
	if (is_child) {
		CHECK(tmap[3] == 'P' && tmap[PG + 4] == 'C', "child: its mapping");
		/* page 1 is mapped by both: through the mapping for the parent,
		 * then what the parent writes through its fd and mapping */
		tmap[100] = 'c';
		if (ft >= 0 && pwrite(ft, "d", 1, 2 * PG + 200) != 1)
			CHECK(0, "child pwrite");
		if (ft < 0)
			tmap[PG + 200] = 'd';
		CHECK(wait_byte(PG + 101, 'p', tmap + 101), "child: the parent's write through its mapping");
		CHECK(wait_byte(2 * PG + 300, 'q', tmap + PG + 300), "child: the parent's write through its fd");
	} else {
		CHECK(tmap[PG + 3] == 'P', "parent: its mapping");
		tmap[PG + 101] = 'p';
		if (pwrite(ft, "q", 1, 2 * PG + 300) != 1)
			CHECK(0, "parent pwrite");
		CHECK(wait_byte(PG + 100, 'c', tmap + PG + 100), "parent: the child's write through its mapping");
		CHECK(wait_byte(2 * PG + 200, 'd', NULL), "parent: the child's write");
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	const char *m;
	sigset_t none;

	if (argc < 3)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0)
		return 2;
	m = argv[2];
	sigaction(SIGTERM, &sa, NULL);
	if (!strcmp(m, "single"))
		single_prep();
	else if (!strncmp(m, "tree", 4))
		tree_prep(m);
	else
		return 2;
	if (!is_child)
		say("READY");
	sigemptyset(&none);
	while (!got_term)
		sigsuspend(&none);
	if (!strcmp(m, "single"))
		single_check();
	else
		tree_check();
	/* the parent outlives the child's checks (a parent-death signal
	 * would cut them short in the original after --leave-running) */
	if (child > 0)
		waitpid(child, NULL, __WALL);
	if (!fails)
		say(is_child ? "PASS child" : "PASS");
	return fails ? 1 : 0;
}
