/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * freeze-util.h - shared by the freeze-* and dump-* tests: victims, running
 * the tools, reading the stream back.
 */
#ifndef FREEZE_UTIL_H
#define FREEZE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "../lib/test.h"

static inline void fz_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Closes every fd above 2 (the runner may leave some open). */
static inline void fz_close_fds(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

/* Starts argv with stdin /dev/null, stdout and stderr to out (or
 * inherited if NULL), no other fds. */
static inline pid_t fz_spawn(char *const argv[], const char *out, int stdout_fd)
{
	pid_t p = fork();

	if (p < 0)
		t_fail("fork: %s", strerror(errno));
	if (p == 0) {
		int n = open("/dev/null", O_RDONLY);

		dup2(n, 0);
		if (stdout_fd >= 0)
			dup2(stdout_fd, 1);
		if (out) {
			int o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);

			if (stdout_fd < 0)
				dup2(o, 1);
			dup2(o, 2);
		}
		fz_close_fds();
		execvp(argv[0], argv);
		_exit(127);
	}
	return p;
}

static inline int fz_wait(pid_t p)
{
	int st;

	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			t_fail("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv to completion; stdout to the file out_path (NULL: /dev/null),
 * stderr to err_path.  Returns its exit code. */
static inline int fz_run(char *const argv[], const char *out_path, const char *err_path)
{
	int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t p;
	int rc;

	if (fd < 0)
		t_fail("open %s: %s", out_path, strerror(errno));
	p = fz_spawn(argv, err_path, fd);
	close(fd);
	rc = fz_wait(p);
	return rc;
}

static inline char *fz_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", t_tmpdir(), name) < 0)
		t_fail("oom");
	return p;
}

static inline char *fz_helper(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/test/crcore/helpers/%s", t_build_dir(), name) < 0)
		t_fail("oom");
	return p;
}

static inline char *fz_self(void)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n < 0)
		t_fail("readlink /proc/self/exe");
	buf[n] = 0;
	return buf;
}

static inline char *fz_readfile(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return strcpy(buf, "");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* The victims' counter file: u64 counter, u64 ready flag, then extras. */
static inline char *fz_counter_file(void)
{
	char *p = fz_path("counter");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		t_fail("create %s", p);
	close(fd);
	return p;
}

static inline uint64_t fz_read_u64(const char *path, int idx)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &v, 8, idx * 8) != 8)
			v = 0;
		close(fd);
	}
	return v;
}

static inline void fz_wait_ready(const char *cnt, pid_t victim)
{
	for (int i = 0; i < 500; i++) {
		if (fz_read_u64(cnt, 1) && fz_read_u64(cnt, 0))
			return;
		if (waitpid(victim, NULL, WNOHANG) == victim)
			t_fail("the victim died before it was ready");
		fz_sleep_ms(10);
	}
	t_fail("the victim did not get ready");
}

/* The victim is running: its counter moves. */
static inline void fz_check_runs(const char *cnt, const char *when)
{
	uint64_t a = fz_read_u64(cnt, 0);

	for (int i = 0; i < 100; i++) {
		fz_sleep_ms(5);
		if (fz_read_u64(cnt, 0) != a)
			return;
	}
	t_fail("the victim does not run %s", when);
}

/* SIGTERM, then the victim checks itself and prints PASS. */
static inline void fz_finish_victim(pid_t v, const char *out)
{
	int rc;

	kill(v, SIGTERM);
	rc = fz_wait(v);
	if (rc != 0 || !strstr(fz_readfile(out), "PASS"))
		t_fail("the victim failed its own checks (exit %d): %s", rc, fz_readfile(out));
}

/* ---- reading an image back ---------------------------------------------- */

struct fz_image {
	int procs, threads, mms, pages_recs, sigactions, misc, files;
	uint64_t pages_bytes, mm_pages;
	size_t xsave_len;
	int has_vdso, has_vvar, has_vvar_vclock;
	Crimg__Mm *mm;          /* kept */
	Crimg__Files *fl;       /* kept */
	Crimg__SigActions *sa;  /* kept */
	Crimg__ProcMisc *pm;    /* kept */
	/* page ranges, for "is this page in the image" */
	uint64_t *pstart, *pend;
	size_t npr;
	char path[4096];
};

static inline void fz_image_read(const char *path, struct fz_image *im)
{
	struct crimg_reader *r;
	const struct crimg_record *rec;
	int fd = open(path, O_RDONLY), ret;

	memset(im, 0, sizeof(*im));
	snprintf(im->path, sizeof(im->path), "%s", path);
	if (fd < 0)
		t_fail("open %s", path);
	t_ok(crimg_reader__new(fd, NULL, &r));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		ProtobufCMessage *m = NULL;

		switch (rec->type) {
		case CRIMG_T_PROC:
			im->procs++;
			break;
		case CRIMG_T_THREAD:
			t_ok(crimg_reader__read_msg(r, &crimg__thread__descriptor, &m));
			im->threads++;
			if (((Crimg__Thread *)m)->has_xsave)
				im->xsave_len = ((Crimg__Thread *)m)->xsave.len;
			protobuf_c_message_free_unpacked(m, NULL);
			break;
		case CRIMG_T_SIGACTIONS:
			im->sigactions++;
			t_ok(crimg_reader__read_msg(r, &crimg__sig_actions__descriptor, &m));
			im->sa = (Crimg__SigActions *)m;
			break;
		case CRIMG_T_PROC_MISC:
			im->misc++;
			t_ok(crimg_reader__read_msg(r, &crimg__proc_misc__descriptor, &m));
			im->pm = (Crimg__ProcMisc *)m;
			break;
		case CRIMG_T_FILES:
			im->files++;
			t_ok(crimg_reader__read_msg(r, &crimg__files__descriptor, &m));
			im->fl = (Crimg__Files *)m;
			break;
		case CRIMG_T_MM:
			im->mms++;
			t_ok(crimg_reader__read_msg(r, &crimg__mm__descriptor, &m));
			im->mm = (Crimg__Mm *)m;
			im->mm_pages = im->mm->pages_dumped;
			for (size_t i = 0; i < im->mm->n_vmas; i++) {
				uint32_t k = im->mm->vmas[i]->kind;

				im->has_vdso |= k == CRIMG__VMA_KIND__VMA_VDSO;
				im->has_vvar |= k == CRIMG__VMA_KIND__VMA_VVAR;
				im->has_vvar_vclock |= k == CRIMG__VMA_KIND__VMA_VVAR_VCLOCK;
			}
			break;
		case CRIMG_T_PAGES: {
			uint64_t a;

			t_ok(crimg_reader__read_payload(r, &a, 8));
			im->pages_recs++;
			im->pstart = realloc(im->pstart, (im->npr + 1) * 8);
			im->pend = realloc(im->pend, (im->npr + 1) * 8);
			im->pstart[im->npr] = a;
			im->pend[im->npr] = a + rec->len - 8;
			im->npr++;
			im->pages_bytes += rec->len - 8;
			break;
		}
		default:
			break;
		}
	}
	if (ret < 0)
		t_fail("%s: %s", path, crimg_reader__errmsg(r));
	crimg_reader__free(r);
	close(fd);
}

static inline bool fz_image_has_page(const struct fz_image *im, uint64_t addr)
{
	for (size_t i = 0; i < im->npr; i++)
		if (addr >= im->pstart[i] && addr < im->pend[i])
			return true;
	return false;
}

/* Reads len bytes of the page contents at addr from the image. */
static inline bool fz_image_read_mem(const char *path, uint64_t addr, void *buf, size_t len)
{
	struct crimg_reader *r;
	const struct crimg_record *rec;
	int fd = open(path, O_RDONLY), ret;
	bool found = false;

	t_ok(crimg_reader__new(fd, NULL, &r));
	while (!found && (ret = crimg_reader__next(r, &rec)) > 0) {
		uint64_t a;

		if (rec->type != CRIMG_T_PAGES)
			continue;
		t_ok(crimg_reader__read_payload(r, &a, 8));
		if (addr >= a && addr + len <= a + rec->len - 8) {
			uint64_t skip = addr - a;
			char tmp[65536];

			while (skip) {
				size_t n = skip < sizeof(tmp) ? skip : sizeof(tmp);

				t_ok(crimg_reader__read_payload(r, tmp, n));
				skip -= n;
			}
			t_ok(crimg_reader__read_payload(r, buf, len));
			found = true;
		}
	}
	crimg_reader__free(r);
	close(fd);
	return found;
}

static inline bool fz_cpu_has(const char *flag)
{
	char *s = fz_readfile("/proc/cpuinfo");
	char pat[64];

	snprintf(pat, sizeof(pat), " %s ", flag);
	return strstr(s, pat) != NULL;
}

#endif
