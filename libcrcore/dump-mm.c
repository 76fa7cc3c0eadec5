/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-mm.c - the MM record (mm fields, every mapping) and the PAGES
 * records (cr-dumpmm).  Which pages: docs/checkpoint.md.
 *
 * Pages are found with the PAGEMAP_SCAN ioctl on /proc/PID/pagemap (one
 * call returns whole runs of pages, and tells zero-page mappings apart),
 * or, for shared memory, with SEEK_DATA on the shared object.  They reach
 * the stream by one of two paths:
 *   copy: process_vm_readv into fresh buffers that are donated to the
 *         writer (never reused, so a pipe never holds a page we write
 *         again); works whatever happens to the process afterwards;
 *   zero-copy: when the process is killed at the end of the dump, our
 *         parasite (libcrcore/dump-parasite/zc.c, injected with libcompel)
 *         vmsplices the process's own pages into a pipe of ours while a
 *         second thread of ours splices them on into the stream.  The pipe
 *         holds references to the process's pages: safe only because the
 *         process never runs again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "dump.h"
#include "dump-parasite/zc.h"

extern const unsigned char crcore_dump_blob[];
extern const unsigned long crcore_dump_blob_size;

#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#endif

#define PAGE_SZ 4096ull
#define CHUNK (4ull << 20)    /* largest PAGES record */
#define NREG 1024

int dump_vma_kind(const struct proc_vma *v, char *why, size_t len)
{
	const char *p = v->path;
	size_t l = strlen(p);
	bool deleted = l > 10 && !strcmp(p + l - 10, " (deleted)");

	if (!strcmp(p, "[vdso]"))
		return CRIMG__VMA_KIND__VMA_VDSO;
	if (!strcmp(p, "[vvar]"))
		return CRIMG__VMA_KIND__VMA_VVAR;
	if (!strcmp(p, "[vvar_vclock]"))
		return CRIMG__VMA_KIND__VMA_VVAR_VCLOCK;
	if (!strcmp(p, "[vsyscall]"))
		return CRIMG__VMA_KIND__VMA_VSYSCALL;
	if (v->vmflags & (PROC_VMF_IO | PROC_VMF_PF))
		return fmt_err(why, len, -EOPNOTSUPP, "mapping %#llx-%#llx %s is device memory: not supported",
			       (unsigned long long)v->start, (unsigned long long)v->end, p);
	if (v->vmflags & PROC_VMF_HT)
		return fmt_err(why, len, -EOPNOTSUPP, "mapping %#llx-%#llx is hugetlbfs memory: not supported yet",
			       (unsigned long long)v->start, (unsigned long long)v->end);
	if (v->vmflags & PROC_VMF_UF)
		return fmt_err(why, len, -EOPNOTSUPP, "mapping %#llx-%#llx is registered with userfaultfd: not supported yet",
			       (unsigned long long)v->start, (unsigned long long)v->end);
	if (!strncmp(p, "[anon_shmem:", 12))
		return CRIMG__VMA_KIND__VMA_ANON_SHARED;
	if (!*p || !strcmp(p, "[heap]") || !strcmp(p, "[stack]") || !strncmp(p, "[anon:", 6)) {
		if (v->shared)
			return CRIMG__VMA_KIND__VMA_ANON_SHARED;
		return v->prot ? CRIMG__VMA_KIND__VMA_ANON_PRIVATE : CRIMG__VMA_KIND__VMA_GUARD;
	}
	if (p[0] == '[')
		return fmt_err(why, len, -EOPNOTSUPP, "special mapping %s at %#llx: not supported", p,
			       (unsigned long long)v->start);
	if (!strncmp(p, "/SYSV", 5)) {
		if (!v->shared)
			return fmt_err(why, len, -EOPNOTSUPP, "SysV shared memory mapped private at %#llx: not supported",
				       (unsigned long long)v->start);
		return CRIMG__VMA_KIND__VMA_ANON_SHARED; /* Vma.shmid: the segment id */
	}
	if (!strncmp(p, "/memfd:", 7) || (!strcmp(p, "/dev/zero (deleted)") && v->ino && v->shared)) {
		if (!v->shared)
			return fmt_err(why, len, -EOPNOTSUPP,
				       "private mapping of a memfd (%s) at %#llx: not supported yet", p,
				       (unsigned long long)v->start);
		return CRIMG__VMA_KIND__VMA_ANON_SHARED;
	}
	if (deleted)
		return fmt_err(why, len, -EOPNOTSUPP,
			       "mapping of a deleted file (%s) at %#llx: not supported yet", p,
			       (unsigned long long)v->start);
	if (p[0] != '/')
		return fmt_err(why, len, -EOPNOTSUPP, "mapping %s at %#llx: not supported", p,
			       (unsigned long long)v->start);
	return v->shared ? CRIMG__VMA_KIND__VMA_FILE_SHARED : CRIMG__VMA_KIND__VMA_FILE_PRIVATE;
}

/* The lowest fd of pid on the memfd (dev, ino), or -1.  A memfd that the
 * process holds and maps is mapped again from that fd by the restore, its
 * contents travelling with the fd (FILES): docs/fds.md. */
static int memfd_fd_of(pid_t pid, uint64_t dev, uint64_t ino)
{
	char path[64];
	struct dirent *e;
	int best = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		char rel[32], link[256], p[96];
		struct stat sb;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "fd/%d", fd);
		if (proc_readlink(pid, rel, link, sizeof(link)) < 0 || strncmp(link, "/memfd:", 7))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
		if (stat(p, &sb) == 0 && sb.st_ino == ino && (uint64_t)sb.st_dev == dev &&
		    (best < 0 || fd < best))
			best = fd;
	}
	closedir(dir);
	return best;
}

static uint64_t madv_bits(uint32_t f)
{
	uint64_t m = 0;

	if (f & PROC_VMF_DC)
		m |= 1ull << MADV_DONTFORK;
	if (f & PROC_VMF_WF)
		m |= 1ull << MADV_WIPEONFORK;
	if (f & PROC_VMF_DD)
		m |= 1ull << MADV_DONTDUMP;
	if (f & PROC_VMF_HG)
		m |= 1ull << MADV_HUGEPAGE;
	if (f & PROC_VMF_NH)
		m |= 1ull << MADV_NOHUGEPAGE;
	if (f & PROC_VMF_MG)
		m |= 1ull << MADV_MERGEABLE;
	if (f & PROC_VMF_SR)
		m |= 1ull << MADV_SEQUENTIAL;
	if (f & PROC_VMF_RR)
		m |= 1ull << MADV_RANDOM;
	return m;
}

/* A run of pages to dump. */
struct run {
	uint64_t start, end;
	uint32_t vma;
};

struct mm_ctx {
	struct crcore_dump *d;
	struct crimg_writer *w;
	struct proc_vma *v;
	size_t nv;
	int *kind;
	struct run *runs;
	size_t nruns, capruns;
	uint64_t total, done;
	const struct crcore_mm_opts *o;
	struct crcore_mm_stats *st;
	bool zc;              /* pages go by the parasite, see zc_run */
	int pmfd;             /* /proc/PID/pagemap */
	uint64_t **pmc;       /* root: its pagemap per VMA (share pass) */
	/* the MM record, kept from mm_prepare to mm_write (the share pass
	 * comes in between) */
	pid_t pid;
	Crimg__Mm m;
	Crimg__Vma *vm, **vp;
	char *auxv, *exe;
	struct prange *inh;   /* MM.inherited (sorted, disjoint) */
	size_t ninh;
};

/* A page-aligned range: a chunk for the parasite, an inherited range. */
struct prange {
	uint64_t start, end;
};

static int add_run(struct mm_ctx *c, uint64_t s, uint64_t e, uint32_t vma)
{
	if (c->nruns && c->runs[c->nruns - 1].end == s && c->runs[c->nruns - 1].vma == vma) {
		c->runs[c->nruns - 1].end = e;
	} else {
		if (c->nruns == c->capruns) {
			struct run *n = realloc(c->runs, (c->capruns = c->capruns ? c->capruns * 2 : 256) *
							  sizeof(*n));

			if (!n)
				return -ENOMEM;
			c->runs = n;
		}
		c->runs[c->nruns++] = (struct run){ s, e, vma };
	}
	c->total += e - s;
	return 0;
}

static int scan_pagemap(struct mm_ctx *c, int pmfd, uint32_t i)
{
	struct page_region reg[NREG];
	struct pm_scan_arg a;
	uint64_t start = c->v[i].start, end = c->v[i].end;
	bool file = c->kind[i] == CRIMG__VMA_KIND__VMA_FILE_PRIVATE;

	while (start < end) {
		long n;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.start = start;
		a.end = end;
		a.vec = (uint64_t)(uintptr_t)reg;
		a.vec_len = NREG;
		/* present or swapped, not the zero page, and in a private
		 * file mapping only the pages that were copied on write */
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.category_inverted = PAGE_IS_PFNZERO | (file ? PAGE_IS_FILE : 0);
		a.category_mask = PAGE_IS_PFNZERO | (file ? PAGE_IS_FILE : 0);
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		n = ioctl(pmfd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
		for (long k = 0; k < n; k++) {
			int r = add_run(c, reg[k].start, reg[k].end, i);

			if (r < 0)
				return r;
		}
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

/* Shared memory: the pages the shared object holds, mapped or not. */
static int scan_shared(struct mm_ctx *c, uint32_t i)
{
	const struct proc_vma *v = &c->v[i];
	char path[128];
	off_t lo = (off_t)v->pgoff, hi = (off_t)(v->pgoff + (v->end - v->start));
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)c->d->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (lo < hi) {
		off_t s = lseek(fd, lo, SEEK_DATA), e;

		if (s < 0 || s >= hi)
			break;
		e = lseek(fd, s, SEEK_HOLE);
		if (e < 0 || e > hi)
			e = hi;
		r = add_run(c, v->start + (uint64_t)(s - (off_t)v->pgoff),
			    v->start + (uint64_t)(e - (off_t)v->pgoff), i);
		if (r < 0)
			break;
		lo = e;
	}
	close(fd);
	return r;
}

static void progress(struct mm_ctx *c)
{
	if (c->o && c->o->progress)
		c->o->progress(c->done, c->total, c->o->progress_arg);
}

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_EXCLUSIVE (1ull << 56)
#define PM_PFN ((1ull << 55) - 1)
#define PM_BATCH 512

static int pm_read(int fd, uint64_t addr, uint64_t *buf, size_t n);

/* Whether every present page of [s, e) is mapped by this process alone.
 * process_vm_readv pins the pages it reads, and the kernel gives a
 * process its own copy of a copy-on-write page before pinning it: read
 * that way, the memory a process shares with its parent or children
 * since a fork would be unshared (and its size doubled) by the dump.
 * /proc/PID/mem reads without pinning. */
static bool exclusive(const struct mm_ctx *c, uint64_t s, uint64_t e)
{
	uint64_t b[PM_BATCH];

	for (uint64_t a = s; a < e; a += PM_BATCH * PAGE_SZ) {
		size_t n = (e - a) / PAGE_SZ < PM_BATCH ? (e - a) / PAGE_SZ : PM_BATCH;

		if (c->pmfd < 0 || pm_read(c->pmfd, a, b, n) < 0)
			return false;
		for (size_t k = 0; k < n; k++)
			if ((b[k] & PM_PRESENT) && !(b[k] & PM_EXCLUSIVE))
				return false;
	}
	return true;
}

/* The copy path: one PAGES (or PAGES_SHARED) record of [s, e).
 * readable: process_vm_readv can read it (else /proc/PID/mem); private:
 * private memory, which may be shared copy-on-write (see exclusive). */
static int copy_pages(struct mm_ctx *c, uint32_t type, uint64_t s, uint64_t e, bool readable,
		      bool private)
{
	uint64_t len = e - s;
	uint8_t hdr[8];
	void *buf;
	int r;

	for (int i = 0; i < 8; i++)
		hdr[i] = (uint8_t)(s >> (8 * i));
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return dump_err(c->d, -errno, "cannot allocate a page buffer: %s", strerror(errno));
	if (len >= (2u << 20))
		madvise(buf, len, MADV_HUGEPAGE);
	r = -EFAULT;
	if (readable && (!private || exclusive(c, s, e))) {
		struct iovec l = { buf, len }, rv = { (void *)(uintptr_t)s, len };
		ssize_t n = process_vm_readv(c->d->pid, &l, 1, &rv, 1, 0);

		if (n == (ssize_t)len)
			r = 0;
	}
	if (r < 0) {
		/* not readable (PROT_NONE after a write), or shared since a
		 * fork: /proc/PID/mem */
		ssize_t n = compel_proc__read_mem(c->d->proc, s, buf, len);

		if (n != (ssize_t)len) {
			munmap(buf, len);
			return dump_err(c->d, n < 0 ? (int)n : -EIO,
					"cannot read the memory of %d at %#llx: %s", (int)c->d->pid,
					(unsigned long long)s, strerror(n < 0 ? (int)-n : EIO));
		}
	}
	r = crimg_writer__begin_raw(c->w, type,
				    CRIMG_REC_REQUIRED |
				    (c->o && (c->o->flags & CRCORE_MM_NO_CSUM) ? CRIMG_RAW_NO_CSUM : 0),
				    8 + len);
	if (r == 0)
		r = crimg_writer__write_raw(c->w, &(struct iovec){ hdr, 8 }, 1, 0);
	if (r == 0)
		r = crimg_writer__write_raw(c->w, &(struct iovec){ buf, len }, 1, CRIMG_ADD_DONATE);
	if (r == 0)
		r = crimg_writer__end_raw(c->w, NULL);
	munmap(buf, len);
	if (r < 0)
		return dump_err(c->d, r, "cannot write pages: %s", strerror(-r));
	return 0;
}

/* ---- zero-copy through the parasite ------------------------------------ */


struct drain {
	struct mm_ctx *c;
	const struct prange *ch;
	size_t n;
	int rfd;
	int err;
};

/* Our second thread: frames each chunk as a PAGES record and splices its
 * bytes from the pipe into the stream, in the order the parasite sends. */
static void *drain_thread(void *arg)
{
	struct drain *dr = arg;
	struct mm_ctx *c = dr->c;
	int r = 0;

	for (size_t i = 0; i < dr->n && r == 0; i++) {
		uint64_t s = dr->ch[i].start, len = dr->ch[i].end - dr->ch[i].start;
		uint8_t hdr[8];

		for (int k = 0; k < 8; k++)
			hdr[k] = (uint8_t)(s >> (8 * k));
		r = crimg_writer__begin_raw(c->w, CRIMG_T_PAGES, CRIMG_REC_REQUIRED | CRIMG_RAW_NO_CSUM,
					    8 + len);
		if (r == 0)
			r = crimg_writer__write_raw(c->w, &(struct iovec){ hdr, 8 }, 1, 0);
		if (r == 0)
			r = crimg_writer__splice_raw(c->w, dr->rfd, len);
		if (r == 0)
			r = crimg_writer__end_raw(c->w, NULL);
		c->st->records++;
		c->st->pages += len / PAGE_SZ;
		c->st->zero_copy_pages += len / PAGE_SZ;
		c->done += len;
		progress(c);
	}
	if (r < 0) {
		dr->err = r;
		/* the parasite must not wait for us any longer */
		close(dr->rfd);
		dr->rfd = -1;
	}
	return NULL;
}

static int zc_run(struct mm_ctx *c, const struct prange *ch, size_t n)
{
	const struct compel_blob *bl;
	struct compel_blob *blob = NULL;
	struct compel_infect *inf = NULL;
	uint64_t fn;
	int p[2] = { -1, -1 }, r;

	r = compel_blob_open(crcore_dump_blob, crcore_dump_blob_size, &blob);
	if (r < 0)
		return r;
	bl = blob;
	{
		struct compel_infect_opts io = { .sz = sizeof(io), .blobs = &bl, .nr_blobs = 1,
						 .timeout_ms = 3600u * 1000u };
		/* should we die midway, the parasite puts the thread back by
		 * itself: run it where there is no sleep to restart */
		io.tid = compel_thread__tid(dump_worker(c->d));
		r = compel_infect(c->d->proc, &io, &inf);
	}
	if (r < 0) {
		compel_blob_free(blob);
		return r;
	}
	r = compel_infect__sym(inf, 0, "crd_vmsplice", &fn);
	if (r == 0 && pipe2(p, O_CLOEXEC) < 0)
		r = -errno;
	if (r == 0)
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	for (size_t i = 0; r == 0 && i < n; i += CRD_ZC_MAX) {
		size_t k = n - i < CRD_ZC_MAX ? n - i : CRD_ZC_MAX, asz;
		struct crd_zc_args *a = compel_infect__args(inf, &asz);
		struct drain dr = { .c = c, .ch = ch + i, .n = k, .rfd = p[0] };
		struct compel_call call = { .sz = sizeof(call), .fn = fn,
					    .args_len = offsetof(struct crd_zc_args, r) + k * 16,
					    .fds_in = &p[1], .nr_fds_in = 1 };
		pthread_t th;

		if (asz < call.args_len) {
			r = -ENOSPC;
			break;
		}
		a->nr = k;
		for (size_t j = 0; j < k; j++) {
			a->r[j].addr = ch[i + j].start;
			a->r[j].len = ch[i + j].end - ch[i + j].start;
		}
		r = -pthread_create(&th, NULL, drain_thread, &dr);
		if (r < 0)
			break;
		r = compel_infect__call(inf, &call);
		if (r == 0 && call.ret < 0)
			r = (int)call.ret;
		if (r < 0 && dr.rfd >= 0) {
			/* the drain thread waits for bytes that will not come */
			close(p[1]);
			p[1] = -1;
		}
		pthread_join(th, NULL);
		if (dr.rfd < 0)
			p[0] = -1;
		if (r == 0)
			r = dr.err;
		else if (dr.err && r == -EPIPE)
			r = dr.err;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	{
		int e = compel_cure(inf);

		if (e < 0 && r == 0)
			r = e;
	}
	compel_blob_free(blob);
	if (r < 0)
		return dump_err(c->d, r, "zero-copy page transfer from %d failed: %s", (int)c->d->pid,
				strerror(-r));
	return 0;
}

static bool zc_able(const struct mm_ctx *c, uint32_t vma)
{
	return (c->v[vma].prot & PROT_READ) && c->kind[vma] != CRIMG__VMA_KIND__VMA_ANON_SHARED;
}

static int write_pages(struct mm_ctx *c)
{
	struct prange *ch = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	/* Zero-copy first (the parasite's chunks), then whatever must be
	 * copied (PROT_NONE, shared memory that others may write) or all of
	 * it if zero-copy cannot be used.  Record order is free. */
	if (c->zc) {
		for (size_t i = 0; i < c->nruns; i++) {
			if (!zc_able(c, c->runs[i].vma))
				continue;
			for (uint64_t s = c->runs[i].start; s < c->runs[i].end; s += CHUNK) {
				if (n == cap) {
					struct prange *nc = realloc(ch, (cap = cap ? cap * 2 : 256) * sizeof(*nc));

					if (!nc) {
						free(ch);
						return -ENOMEM;
					}
					ch = nc;
				}
				ch[n].start = s;
				ch[n].end = c->runs[i].end - s > CHUNK ? s + CHUNK : c->runs[i].end;
				n++;
			}
		}
		if (n) {
			r = zc_run(c, ch, n);
			if (r < 0 && c->st->records == 0) {
				/* the parasite could not start: nothing was
				 * written, copy everything instead */
				dump_log(c->d, LOG_INFO, "zero-copy unavailable (%s), copying", c->d->err);
				c->zc = false;
				r = 0;
			}
		}
		free(ch);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->nruns && r == 0; i++) {
		const struct proc_vma *v = &c->v[c->runs[i].vma];

		if (c->zc && zc_able(c, c->runs[i].vma))
			continue;
		for (uint64_t s = c->runs[i].start; s < c->runs[i].end && r == 0; s += CHUNK) {
			uint64_t e = c->runs[i].end - s > CHUNK ? s + CHUNK : c->runs[i].end;
			int k = c->kind[c->runs[i].vma];

			r = copy_pages(c, CRIMG_T_PAGES, s, e, v->prot & PROT_READ,
				       k == CRIMG__VMA_KIND__VMA_ANON_PRIVATE ||
				       k == CRIMG__VMA_KIND__VMA_FILE_PRIVATE || k == CRIMG__VMA_KIND__VMA_GUARD);
			c->st->records++;
			c->st->pages += (e - s) / PAGE_SZ;
			c->done += e - s;
			progress(c);
		}
	}
	return r;
}

/* A SYSV_SHM record for segment id, unless an earlier process of the
 * tree wrote it.  From /proc/sysvipc/shm, which shows our IPC namespace:
 * the process must be in it. */
static int write_sysv(struct crcore_dump *d, struct crimg_writer *w, uint64_t id)
{
	Crimg__SysvShm m = CRIMG__SYSV_SHM__INIT;
	struct stat a, b;
	char path[64], *t, *l;
	int r = -ENOENT;

	if (tree_shm_seen(d, ~0ull, id, 0, 1))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)d->pid);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/ipc", &b) < 0 || a.st_ino != b.st_ino)
		return dump_err(d, -EOPNOTSUPP,
				"process %d: SysV shared memory of another IPC namespace: not supported",
				(int)d->pid);
	t = proc_read("/proc/sysvipc/shm");
	if (!t)
		return dump_err(d, -errno, "cannot read /proc/sysvipc/shm: %s", strerror(errno));
	for (l = strchr(t, '\n'); l && *l; l = strchr(l, '\n')) {
		long long key, sid, size;
		unsigned perms, uid, gid, cuid, cgid;

		l++;
		if (sscanf(l, "%lld %lld %o %lld %*d %*d %*d %u %u %u %u", &key, &sid, &perms, &size, &uid,
			   &gid, &cuid, &cgid) != 8 || (uint64_t)sid != id)
			continue;
		m.id = (uint32_t)sid;
		m.key = (int32_t)key;
		m.size = (uint64_t)size;
		m.mode = perms;
		m.uid = uid;
		m.gid = gid;
		m.cuid = cuid;
		m.cgid = cgid;
		r = dump_add(d, w, CRIMG_T_SYSV_SHM, &m.base);
		break;
	}
	free(t);
	if (r == -ENOENT)
		return dump_err(d, r, "process %d: SysV segment %llu is not in /proc/sysvipc/shm",
				(int)d->pid, (unsigned long long)id);
	return r;
}

/* The first pass over a process: its mappings and the pages to write,
 * and its MM record.  *out keeps what write_pages needs (second pass). */
static int mm_prepare(struct crcore_dump *d, struct crimg_writer *w,
		      const struct crcore_mm_opts *o, struct crcore_mm_stats *st,
		      struct mm_ctx *out)
{
	struct mm_ctx c = { .d = d, .w = w, .pmfd = -1 };
	Crimg__Mm m = CRIMG__MM__INIT;
	Crimg__Vma *vm = NULL, **vp = NULL;
	char exe[4096], *auxv = NULL;
	size_t auxlen = 0;
	struct proc_stat pst;
	int pmfd = -1, r;

	c.o = o;
	c.st = st;
	memset(c.st, 0, sizeof(*c.st));
	/* The pages may stay referenced by the pipe only if the process is
	 * killed at the end: then it never writes them again. */
	c.zc = !(o->flags & CRCORE_MM_COPY) && d->end == CRCORE_END_KILL;

	r = proc_vmas_read(d->pid, true, &c.v, &c.nv);
	if (r < 0)
		return dump_err(d, r, "cannot read the mappings of %d: %s", (int)d->pid, strerror(-r));
	c.kind = calloc(c.nv ? c.nv : 1, sizeof(*c.kind));
	vm = calloc(c.nv ? c.nv : 1, sizeof(*vm));
	vp = calloc(c.nv ? c.nv : 1, sizeof(*vp));
	if (!c.kind || !vm || !vp) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/pagemap", (int)d->pid);
	pmfd = open(exe, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		r = dump_err(d, -errno, "cannot open %s: %s", exe, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < c.nv; i++) {
		const struct proc_vma *v = &c.v[i];
		Crimg__Vma *x = &vm[i];
		char why[400];
		int k = dump_vma_kind(v, why, sizeof(why));

		if (k < 0) {
			r = dump_err(d, k, "process %d: %s", (int)d->pid, why);
			goto out;
		}
		c.kind[i] = k;
		*x = (Crimg__Vma)CRIMG__VMA__INIT;
		x->start = v->start;
		x->end = v->end;
		x->pgoff = v->pgoff;
		x->prot = v->prot;
		x->flags = v->shared ? MAP_SHARED : MAP_PRIVATE;
		if (k == CRIMG__VMA_KIND__VMA_ANON_PRIVATE || k == CRIMG__VMA_KIND__VMA_GUARD ||
		    (k == CRIMG__VMA_KIND__VMA_ANON_SHARED && strncmp(v->path, "/memfd:", 7) &&
		     strncmp(v->path, "/SYSV", 5)))
			x->flags |= MAP_ANONYMOUS;
		if (v->vmflags & PROC_VMF_GD)
			x->flags |= MAP_GROWSDOWN;
		if (v->vmflags & PROC_VMF_LO)
			x->flags |= MAP_LOCKED;
		x->kind = (uint32_t)k;
		if (v->path[0] == '/') {
			size_t l = strlen(v->path);

			if (l > 10 && !strcmp(v->path + l - 10, " (deleted)"))
				v->path[l - 10] = 0; /* memfd, shared anonymous */
			x->path = v->path;
		} else if (v->path[0] == '[') {
			x->name = v->path;
		}
		if (v->ino) {
			x->has_dev = 1;
			x->dev = makedev(v->dev_major, v->dev_minor);
			x->has_ino = 1;
			x->ino = v->ino;
		}
		x->has_madv = 1;
		x->madv = madv_bits(v->vmflags);
		x->has_vmflags = 1;
		x->vmflags = v->vmflags;
		if (k == CRIMG__VMA_KIND__VMA_ANON_SHARED) {
			x->has_shmid = 1;
			x->shmid = v->ino;
		}
		if (k == CRIMG__VMA_KIND__VMA_FILE_PRIVATE || k == CRIMG__VMA_KIND__VMA_FILE_SHARED ||
		    k == CRIMG__VMA_KIND__VMA_ANON_SHARED) {
			char mf[128];
			struct stat sb;

			snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)d->pid,
				 (unsigned long long)v->start, (unsigned long long)v->end);
			if (stat(mf, &sb) == 0) {
				x->has_file_size = 1;
				x->file_size = (uint64_t)sb.st_size;
			}
		}
		vp[i] = x;
		switch (k) {
		case CRIMG__VMA_KIND__VMA_ANON_PRIVATE:
		case CRIMG__VMA_KIND__VMA_GUARD:
		case CRIMG__VMA_KIND__VMA_FILE_PRIVATE:
			r = scan_pagemap(&c, pmfd, (uint32_t)i);
			break;
		case CRIMG__VMA_KIND__VMA_ANON_SHARED:
			/* a shared object's pages travel once, with the first
			 * process of the stream that maps them (docs/trees.md);
			 * a SysV segment's id may equal another object's inode */
			if (!strncmp(v->path, "/SYSV", 5)) {
				r = write_sysv(d, w, v->ino);
				if (r < 0)
					goto out;
			}
			if (!strncmp(v->path, "/memfd:", 7)) {
				/* a memfd it holds: mapped from that fd, contents in FILES */
				int fd = memfd_fd_of(d->pid, x->dev, v->ino);
				unsigned j;

				if (fd >= 0) {
					x->has_memfd_fd = 1;
					x->memfd_fd = fd;
					r = 0;
					break;
				}
				/* held by another process of the tree but not by this
				 * one: the restore maps the fd's object here too and
				 * writes these pages through a writable mapping, which
				 * a write-sealed memfd forbids (docs/fds.md) */
				for (j = 0; j < compel_tree__nr_procs(d->tree); j++) {
					pid_t q = compel_proc__pid(compel_tree__proc(d->tree, j));
					char p[64];
					int sfd, seals = 0;

					if (q == d->pid || (fd = memfd_fd_of(q, x->dev, v->ino)) < 0)
						continue;
					snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)q, fd);
					sfd = open(p, O_RDONLY | O_CLOEXEC);
					if (sfd >= 0) {
						seals = fcntl(sfd, F_GET_SEALS);
						close(sfd);
					}
					if (seals > 0 && (seals & F_SEAL_WRITE)) {
						r = dump_err(d, -EOPNOTSUPP, "process %d maps a write-sealed memfd "
							     "(%s) at %#llx that process %d holds as fd %d "
							     "while it holds no fd of it itself: not supported "
							     "yet", (int)d->pid, v->path,
							     (unsigned long long)v->start, (int)q, fd);
						goto out;
					}
					break;
				}
			}
			r = tree_shm_seen(d, strncmp(v->path, "/SYSV", 5) ? x->dev : ~x->dev, v->ino,
					  v->pgoff, v->pgoff + (v->end - v->start)) ?
				    0 : scan_shared(&c, (uint32_t)i);
			break;
		case CRIMG__VMA_KIND__VMA_VDSO:
			/* its code, so that a restore on another kernel build can
			 * keep the entry points the program holds (vDSO proxy) */
			r = add_run(&c, v->start, v->end, (uint32_t)i);
			break;
		default:
			r = 0;
		}
		if (r < 0) {
			r = dump_err(d, r, "cannot find the pages of %d at %#llx: %s", (int)d->pid,
				     (unsigned long long)v->start, strerror(-r));
			goto out;
		}
	}
	m.pid = d->pid;
	m.n_vmas = c.nv;
	m.vmas = vp;
	r = proc_stat_read(d->pid, 0, &pst);
	if (r < 0) {
		r = dump_err(d, r, "cannot read /proc/%d/stat: %s", (int)d->pid, strerror(-r));
		goto out;
	}
	m.has_start_code = 1, m.start_code = pst.f[26];
	m.has_end_code = 1, m.end_code = pst.f[27];
	m.has_start_stack = 1, m.start_stack = pst.f[28];
	m.has_start_data = 1, m.start_data = pst.f[45];
	m.has_end_data = 1, m.end_data = pst.f[46];
	m.has_start_brk = 1, m.start_brk = pst.f[47];
	m.has_arg_start = 1, m.arg_start = pst.f[48];
	m.has_arg_end = 1, m.arg_end = pst.f[49];
	m.has_env_start = 1, m.env_start = pst.f[50];
	m.has_env_end = 1, m.env_end = pst.f[51];
	{
		int64_t brk = dump_rsys(d, dump_worker(d), __NR_brk, 0, 0, 0, 0);

		if (brk > 0) {
			m.has_brk = 1;
			m.brk = (uint64_t)brk;
		}
	}
	auxv = proc_read("/proc/%d/auxv", (int)d->pid);
	if (auxv) {
		/* proc_read NUL-terminates; the length is a whole number of
		 * pairs up to AT_NULL */
		uint64_t *a = (uint64_t *)auxv;

		while (a[auxlen * 2] != 0 && auxlen < 512)
			auxlen++;
		m.n_auxv = (auxlen + 1) * 2;
		m.auxv = a;
	}
	if (proc_readlink(d->pid, "exe", exe, sizeof(exe)) >= 0) {
		m.exe = strdup(exe);
		if (!m.exe) {
			r = -ENOMEM;
			goto out;
		}
	}
	c.st->vmas = c.nv;
	/* the record is written by mm_write, after the share pass */
	c.pid = d->pid;
	c.pmfd = pmfd;
	pmfd = -1;
	c.m = m;
	c.vm = vm;
	c.vp = vp;
	c.auxv = auxv;
	c.exe = m.exe;
	*out = c;
	c.runs = NULL;
	c.kind = NULL;
	c.v = NULL;
	c.nv = 0;
	vm = NULL;
	vp = NULL;
	auxv = NULL;
out:
	dump_scratch_drop(d);
	if (pmfd >= 0)
		close(pmfd);
	free(auxv);
	free(vm);
	free(vp);
	free(c.kind);
	free(c.runs);
	proc_vmas_free(c.v, c.nv);
	return r;
}

static void mm_ctx_free(struct mm_ctx *c)
{
	free(c->kind);
	free(c->runs);
	proc_vmas_free(c->v, c->nv);
	free(c->vm);
	free(c->vp);
	free(c->auxv);
	free(c->exe);
	free(c->inh);
	if (c->pmfd >= 0)
		close(c->pmfd);
	c->pmfd = -1;
	for (size_t k = 0; c->pmc && k < c->nv; k++)
		free(c->pmc[k]);
	free(c->pmc);
	c->pmc = NULL;
}

/* ---- private pages shared copy-on-write across fork (docs/trees.md) ------- */

/* A VMA whose pages a child can share with the root's: private
 * anonymous, not a stack that grows (its pages near the stack pointer
 * are written by every call), not dropped or wiped at fork. */
static bool shareable(const struct mm_ctx *c, size_t i)
{
	return c->kind[i] == CRIMG__VMA_KIND__VMA_ANON_PRIVATE &&
	       !(c->v[i].vmflags & (PROC_VMF_GD | PROC_VMF_DC | PROC_VMF_WF));
}

static int add_prange(struct prange **r, size_t *n, size_t *cap, uint64_t s, uint64_t e)
{
	if (*n && (*r)[*n - 1].end == s) {
		(*r)[*n - 1].end = e;
		return 0;
	}
	if (*n == *cap) {
		struct prange *x = realloc(*r, (*cap = *cap ? *cap * 2 : 64) * sizeof(*x));

		if (!x)
			return -ENOMEM;
		*r = x;
	}
	(*r)[(*n)++] = (struct prange){ s, e };
	return 0;
}

static int pm_read(int fd, uint64_t addr, uint64_t *buf, size_t n)
{
	size_t want = n * sizeof(*buf), got = 0;

	while (got < want) {
		ssize_t k = pread(fd, (char *)buf + got, want - got,
				  (off_t)((addr / PAGE_SZ) * sizeof(*buf) + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		got += (size_t)k;
	}
	return 0;
}


/* The pages of child c that are the same page frame as the root's at the
 * same address (present in both, in a shareable VMA of both): a page
 * neither has written since the fork.  Needs the PFNs of /proc/PID/pagemap
 * (root: CAP_SYS_ADMIN); without them nothing is shared. */
/* The root's pagemap entries of its VMA k, read once for all children;
 * NULL with *err 0 for a VMA too large to keep them (read as needed). */
static const uint64_t *root_pm(struct mm_ctx *root, size_t k, int *err)
{
	size_t n = (root->v[k].end - root->v[k].start) / PAGE_SZ;

	*err = 0;
	if (n > (1u << 20))
		return NULL;
	if (!root->pmc) {
		root->pmc = calloc(root->nv, sizeof(*root->pmc));
		if (!root->pmc) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	if (!root->pmc[k]) {
		uint64_t *b = malloc(n * sizeof(*b));

		if (!b) {
			*err = -ENOMEM;
			return NULL;
		}
		*err = pm_read(root->pmfd, root->v[k].start, b, n);
		if (*err < 0) {
			free(b);
			return NULL;
		}
		root->pmc[k] = b;
	}
	return root->pmc[k];
}

static int find_inherited(struct mm_ctx *root, struct mm_ctx *c, int cfd)
{
	uint64_t cb[PM_BATCH], rbuf[PM_BATCH];
	size_t cap = 0, j = 0;
	int r;

	for (size_t i = 0; i < c->nruns; i++) {
		const struct run *u = &c->runs[i];

		if (!shareable(c, u->vma))
			continue;
		while (j < root->nv && root->v[j].end <= u->start)
			j++;
		for (size_t k = j; k < root->nv && root->v[k].start < u->end; k++) {
			uint64_t s = u->start > root->v[k].start ? u->start : root->v[k].start;
			uint64_t e = u->end < root->v[k].end ? u->end : root->v[k].end;

			const uint64_t *rb;

			if (!shareable(root, k))
				continue;
			rb = root_pm(root, k, &r);
			if (r < 0)
				return r;
			for (uint64_t a = s; a < e; a += PM_BATCH * PAGE_SZ) {
				size_t n = (e - a) / PAGE_SZ < PM_BATCH ? (e - a) / PAGE_SZ : PM_BATCH;
				const uint64_t *rp = rb ? rb + (a - root->v[k].start) / PAGE_SZ : rbuf;

				r = pm_read(cfd, a, cb, n);
				if (r == 0 && !rb)
					r = pm_read(root->pmfd, a, rbuf, n);
				if (r < 0)
					return r;
				for (size_t p = 0; p < n; p++) {
					uint64_t x = rp[p], y = cb[p];

					/* the frame only: the flag bits (soft-dirty,
					 * exclusive...) are per mapping */
					if (!(x & PM_PRESENT) || !(y & PM_PRESENT) ||
					    (x & PM_SWAPPED) || !(x & PM_PFN) ||
					    (x & PM_PFN) != (y & PM_PFN))
						continue;
					r = add_prange(&c->inh, &c->ninh, &cap, a + p * PAGE_SZ,
						       a + (p + 1) * PAGE_SZ);
					if (r < 0)
						return r;
				}
			}
		}
	}
	return 0;
}

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Drops the pages of sorted, disjoint ranges r from c's runs. */
static int runs_subtract(struct mm_ctx *c, const struct prange *r, size_t n)
{
	struct run *old = c->runs;
	size_t nold = c->nruns, k = 0;
	int err = 0;

	c->runs = NULL;
	c->nruns = c->capruns = 0;
	c->total = 0;
	for (size_t i = 0; i < nold && err == 0; i++) {
		uint64_t s = old[i].start, e = old[i].end;

		while (k < n && r[k].end <= s)
			k++;
		for (size_t j = k; s < e && err == 0;) {
			if (j < n && r[j].start < e) {
				if (r[j].start > s)
					err = add_run(c, s, r[j].start, old[i].vma);
				if (r[j].end > s)
					s = r[j].end;
				j++;
			} else {
				err = add_run(c, s, e, old[i].vma);
				break;
			}
		}
	}
	free(old);
	return err;
}

/* Between the MM pass and the writing: which private pages each process
 * shares with the root (cs[0]).  The root's list is the union of the
 * others'; every list leaves its process's PAGES. */
static int share_pass(struct crcore_dump *d, struct mm_ctx *cs, unsigned n)
{
	struct prange *all = NULL;
	size_t nall = 0, cap = 0;
	int r = 0;

	for (unsigned i = 1; i < n && r == 0; i++) {
		r = find_inherited(&cs[0], &cs[i], cs[i].pmfd);
		if (r < 0) {
			r = dump_err(d, r, "cannot compare the pages of %d and %d: %s", (int)cs[i].pid,
				     (int)cs[0].pid, strerror(-r));
			break;
		}
		r = runs_subtract(&cs[i], cs[i].inh, cs[i].ninh);
		for (size_t k = 0; r == 0 && k < cs[i].ninh; k++) {
			if (nall == cap) {
				struct prange *x = realloc(all, (cap = cap ? cap * 2 : 64) * sizeof(*x));

				if (!x) {
					r = -ENOMEM;
					break;
				}
				all = x;
			}
			all[nall++] = cs[i].inh[k];
		}
	}
	if (r == 0 && nall) {
		size_t cap0 = 0;

		qsort(all, nall, sizeof(*all), prange_cmp);
		for (size_t k = 0; r == 0 && k < nall; k++) {
			uint64_t s = all[k].start;

			/* overlapping ranges of two children: keep what is new */
			if (cs[0].ninh && cs[0].inh[cs[0].ninh - 1].end > s)
				s = cs[0].inh[cs[0].ninh - 1].end;
			if (s < all[k].end)
				r = add_prange(&cs[0].inh, &cs[0].ninh, &cap0, s, all[k].end);
		}
		if (r == 0)
			r = runs_subtract(&cs[0], cs[0].inh, cs[0].ninh);
	}
	free(all);
	return r;
}

/* The MM record of a process, with its inherited ranges. */
static int mm_write(struct crcore_dump *d, struct mm_ctx *c)
{
	Crimg__PageRange *pr = NULL, **pp = NULL;
	int r;

	if (c->ninh) {
		pr = calloc(c->ninh, sizeof(*pr));
		pp = calloc(c->ninh, sizeof(*pp));
		if (!pr || !pp) {
			free(pr);
			free(pp);
			return -ENOMEM;
		}
		for (size_t k = 0; k < c->ninh; k++) {
			pr[k] = (Crimg__PageRange)CRIMG__PAGE_RANGE__INIT;
			pr[k].start = c->inh[k].start;
			pr[k].end = c->inh[k].end;
			pp[k] = &pr[k];
		}
	}
	c->m.n_inherited = c->ninh;
	c->m.inherited = pp;
	c->m.has_pages_dumped = 1;
	c->m.pages_dumped = c->total / PAGE_SZ;
	r = dump_add(d, c->w, CRIMG_T_MM, &c->m.base);
	c->m.n_inherited = 0;
	c->m.inherited = NULL;
	free(pr);
	free(pp);
	return r;
}

/* The root's shared pages, once, as PAGES_SHARED records.  Copied (never
 * spliced: the children hold the same frames and the records must be
 * complete before any process's PAGES). */
static int write_shared(struct mm_ctx *root)
{
	int r = 0;

	for (size_t k = 0; k < root->ninh && r == 0; k++)
		for (uint64_t s = root->inh[k].start; s < root->inh[k].end && r == 0; s += CHUNK) {
			uint64_t e = root->inh[k].end - s > CHUNK ? s + CHUNK : root->inh[k].end;

			r = copy_pages(root, CRIMG_T_PAGES_SHARED, s, e, true, true);
			root->st->records++;
			root->st->pages += (e - s) / PAGE_SZ;
		}
	return r;
}

/* Every process of the tree in turn: first every MM record, then the
 * PAGES of each process, in the same order (docs/trees.md: a restore
 * then knows every process's memory map before the first page, and
 * each restorer reads its own pages in turn). */
CRCORE_API int crcore_dump__write_mm(struct crcore_dump *d, struct crimg_writer *w,
				     const struct crcore_mm_opts *opts,
				     struct crcore_mm_stats *stats)
{
	struct crcore_mm_opts o = { sizeof(o) };
	struct crcore_mm_stats sum = { 0 }, *st;
	unsigned i, n = compel_tree__nr_procs(d->tree), ready = 0;
	struct mm_ctx *cs;
	int r = 0;

	if (opts) {
		if (opts->sz < offsetof(struct crcore_mm_opts, progress))
			return -EINVAL;
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		o.sz = sizeof(o);
	}
	if (o.flags & ~(CRCORE_MM_COPY | CRCORE_MM_NO_CSUM))
		return dump_err(d, -EINVAL, "unknown mm flags %#x", o.flags);
	cs = calloc(n ? n : 1, sizeof(*cs));
	st = calloc(n ? n : 1, sizeof(*st));
	if (!cs || !st) {
		free(cs);
		free(st);
		return -ENOMEM;
	}
	tree_for_each(d, i) {
		r = mm_prepare(d, w, &o, &st[i], &cs[i]);
		if (r < 0)
			break;
		ready++;
	}
	if (r == 0)
		r = share_pass(d, cs, ready);
	if (r == 0) {
		tree_for_each(d, i) {
			r = mm_write(d, &cs[i]);
			if (r < 0)
				break;
		}
	}
	if (r == 0 && cs[0].ninh) {
		uint64_t shared = 0;

		tree_cur(d, 0);
		for (size_t k = 0; k < cs[0].ninh; k++)
			shared += cs[0].inh[k].end - cs[0].inh[k].start;
		dump_log(d, LOG_INFO, "%llu private pages shared copy-on-write with the root, stored once",
			 (unsigned long long)(shared / PAGE_SZ));
		cs[0].d = d;
		r = write_shared(&cs[0]);
	}
	if (r == 0) {
		tree_for_each(d, i) {
			cs[i].d = d;
			r = write_pages(&cs[i]);
			if (r < 0)
				break;
		}
	}
	tree_cur(d, ~0u);
	for (i = 0; i < ready; i++) {
		sum.vmas += st[i].vmas;
		sum.pages += st[i].pages;
		sum.records += st[i].records;
		sum.zero_copy_pages += st[i].zero_copy_pages;
		mm_ctx_free(&cs[i]);
	}
	free(cs);
	free(st);
	if (stats)
		*stats = sum;
	return r;
}
