/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream holds what it must and only that: a victim with one mapping
 * of each kind (fz-mem) is dumped with cr-dump --leave-running (pages
 * copied) and then with cr-dump (kill mode: pages spliced from the
 * victim).  Both images verify (cr-show style reading with checksums)
 * and hold: 2 threads with xsave, handler, rlimit, itimer, umask, the fds
 * with offset and a deleted file's contents, every mapping with its kind,
 * touched private pages only (not the zero page, not untouched ones),
 * only the copied-on-write page of a private file mapping, nothing of a
 * shared file mapping, the written page of a PROT_NONE region, the pages
 * of memfd and shared anonymous memory, with the right contents.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include "freeze-util.h"

static uint64_t info_get(const char *dir, const char *key)
{
	char path[4096], *s, pat[64];

	snprintf(path, sizeof(path), "%s/info", dir);
	s = fz_readfile(path);
	snprintf(pat, sizeof(pat), "%s ", key);
	s = strstr(s, pat);
	if (!s)
		t_fail("no %s in info", key);
	return strtoull(s + strlen(pat), NULL, 16);
}

static const Crimg__Vma *vma_at(const struct fz_image *im, uint64_t a)
{
	for (size_t i = 0; i < im->mm->n_vmas; i++)
		if (im->mm->vmas[i]->start <= a && a < im->mm->vmas[i]->end)
			return im->mm->vmas[i];
	t_fail("no mapping at %#llx in the image", (unsigned long long)a);
}

static void page_is(const struct fz_image *im, uint64_t a, int fill, const char *what)
{
	unsigned char buf[4096];

	if (fill < 0) {
		if (fz_image_has_page(im, a))
			t_fail("%s: page %#llx is in the image, it must not be", what,
			       (unsigned long long)a);
		return;
	}
	if (!fz_image_read_mem(im->path, a, buf, sizeof(buf)))
		t_fail("%s: page %#llx is not in the image", what, (unsigned long long)a);
	for (int i = 0; i < 4096; i++)
		if (buf[i] != fill)
			t_fail("%s: page %#llx byte %d is %#x, not %#x", what, (unsigned long long)a, i,
			       buf[i], fill);
}

static void check(const char *dir, const char *img)
{
	struct fz_image im;
	uint64_t anon = info_get(dir, "anon"), fpriv = info_get(dir, "fpriv");
	uint64_t fsh = info_get(dir, "fshared"), guard = info_get(dir, "guard");
	uint64_t mfd = info_get(dir, "memfd"), shanon = info_get(dir, "shanon");
	uint64_t dfork = info_get(dir, "dfork"), handler = info_get(dir, "handler");
	bool sig = false, nofile = false, data = false, gone = false;

	fz_image_read(img, &im);
	if (im.procs != 1 || im.threads != 2 || im.mms != 1 || im.sigactions != 1 || im.misc != 1 ||
	    im.files != 1)
		t_fail("%s: records PROC %d THREAD %d MM %d SIGACTIONS %d PROC_MISC %d FILES %d", img,
		       im.procs, im.threads, im.mms, im.sigactions, im.misc, im.files);
	if (im.xsave_len < 576)
		t_fail("xsave of %zu bytes", im.xsave_len);
	for (size_t i = 0; i < im.sa->n_actions; i++)
		if (im.sa->actions[i]->sig == SIGUSR1 && im.sa->actions[i]->handler == handler &&
		    (im.sa->actions[i]->flags & SA_RESTART) && (im.sa->actions[i]->flags & SA_SIGINFO))
			sig = true;
	if (!sig)
		t_fail("the SIGUSR1 handler %#llx is not in SIGACTIONS", (unsigned long long)handler);
	for (size_t i = 0; i < im.pm->n_rlimits; i++)
		if (im.pm->rlimits[i]->resource == RLIMIT_NOFILE && im.pm->rlimits[i]->cur == 777)
			nofile = true;
	if (!nofile)
		t_fail("RLIMIT_NOFILE 777 is not in PROC_MISC");
	if (im.pm->n_itimers < 1 || im.pm->itimers[0]->value_ns < 90ull * 1000000000 ||
	    im.pm->itimers[0]->value_ns > 100ull * 1000000000)
		t_fail("ITIMER_REAL is not about 100 s");
	if (!im.pm->has_umask || im.pm->umask != 027)
		t_fail("umask is %o, not 027", im.pm->umask);
	for (size_t i = 0; i < im.fl->n_fds; i++) {
		const Crimg__Fd *f = im.fl->fds[i];

		if (f->fd == 5 && f->pos == 1234 && f->path && strstr(f->path, "/data") &&
		    f->kind == CRIMG__FD_KIND__FD_REG)
			data = true;
		if (f->fd == 6 && f->deleted && f->size == 16)
			gone = true;
	}
	if (!data || !gone)
		t_fail("FILES: fd 5 at 1234 %d, deleted fd 6 %d", data, gone);
	/* memory */
	if (vma_at(&im, anon)->kind != CRIMG__VMA_KIND__VMA_ANON_PRIVATE ||
	    vma_at(&im, fpriv)->kind != CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
	    vma_at(&im, fsh)->kind != CRIMG__VMA_KIND__VMA_FILE_SHARED ||
	    vma_at(&im, guard)->kind != CRIMG__VMA_KIND__VMA_GUARD ||
	    vma_at(&im, mfd)->kind != CRIMG__VMA_KIND__VMA_ANON_SHARED ||
	    vma_at(&im, shanon)->kind != CRIMG__VMA_KIND__VMA_ANON_SHARED)
		t_fail("a mapping has the wrong kind");
	if (!(vma_at(&im, dfork)->madv & (1ull << MADV_DONTFORK)))
		t_fail("MADV_DONTFORK is not recorded");
	if (!vma_at(&im, mfd)->path || !strstr(vma_at(&im, mfd)->path, "memfd:fz-mem"))
		t_fail("the memfd mapping has no memfd path");
	if (!im.has_vdso || !im.has_vvar || !im.has_vvar_vclock)
		t_fail("the vDSO area is incomplete");
	for (int p = 0; p < 64; p++)
		page_is(&im, anon + p * 4096ull,
			p == 0 || p == 5 || p == 6 || p == 63 ? p + 1 : -1, "anonymous");
	page_is(&im, fpriv, -1, "private file, read");
	page_is(&im, fpriv + 4096, 'C', "private file, written");
	page_is(&im, fpriv + 2 * 4096, -1, "private file, read");
	page_is(&im, fsh, -1, "shared file");
	page_is(&im, guard + 2 * 4096, 'G', "PROT_NONE, written before");
	page_is(&im, guard, -1, "PROT_NONE, untouched");
	page_is(&im, mfd, 'M', "memfd");
	page_is(&im, mfd + 4096, -1, "memfd hole");
	page_is(&im, mfd + 3 * 4096, 'N', "memfd");
	page_is(&im, shanon + 4096, 'A', "shared anonymous");
	page_is(&im, shanon, -1, "shared anonymous hole");
	page_is(&im, dfork, -1, "untouched");
	if (im.pages_bytes / 4096 != im.mm_pages)
		t_fail("MM says %llu pages, PAGES hold %llu", (unsigned long long)im.mm_pages,
		       (unsigned long long)(im.pages_bytes / 4096));
}

int main(void)
{
	const char *dir = t_tmpdir();
	char *img1 = fz_path("img-running"), *img2 = fz_path("img-kill"), *err = fz_path("err");
	char info[4096], pid[16];
	pid_t v;
	int rc;

	snprintf(info, sizeof(info), "%s/info", dir);
	v = fz_spawn((char *[]){ fz_helper("fz-mem"), (char *)dir, NULL }, NULL, -1);
	for (int i = 0; i < 300 && access(info, F_OK) < 0; i++)
		fz_sleep_ms(10);
	if (access(info, F_OK) < 0)
		t_fail("the victim did not start");
	snprintf(pid, sizeof(pid), "%d", (int)v);
	rc = fz_run((char *[]){ "cr-dump", "--leave-running", "-o", img1, pid, NULL }, NULL, err);
	if (rc)
		t_fail("cr-dump --leave-running failed (%d): %s", rc, fz_readfile(err));
	if (waitpid(v, NULL, WNOHANG) != 0)
		t_fail("the victim died with --leave-running");
	check(dir, img1);
	rc = fz_run((char *[]){ "cr-dump", pid, NULL }, img2, err);
	if (rc)
		t_fail("cr-dump failed (%d): %s", rc, fz_readfile(err));
	if (fz_wait(v) != 128 + SIGKILL)
		t_fail("the victim was not killed at the end of the dump");
	check(dir, img2);
	return T_PASS;
}
