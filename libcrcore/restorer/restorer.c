/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restorer.c - the code that runs inside the new process once nothing of
 * cr-assemble may stay mapped: it lives in the restorer area (see
 * ../restore.h), calls the kernel directly and owns no memory but the
 * area.
 *
 * Stage 1 (memory), on the main thread:
 *   unmap everything but the area and the kernel's vDSO; move the vDSO to
 *   where the image had it; map every VMA of the image; read the PAGES
 *   records straight from the stream fd into place, checking every
 *   header and payload checksum, then the trailer (record count, chain);
 *   apply the final protections and madvise attributes.  Report READY
 *   (or the error, with its record and byte) and wait for GO.
 * Stage 2 (process state), after GO:
 *   the mm fields (one PR_SET_MM_MAP call), signal handlers, itimers,
 *   POSIX timers, rlimits, personality, umask, prctl state; the threads
 *   (clone3 with set_tid); pending signals; then each thread sets its own
 *   rseq, name, altstack, clear_child_tid and credentials, and parks.
 * The registers, the xsave state and the signal masks are set by
 * cr-assemble through ptrace while the threads are parked, after it has
 * unmapped this area: see docs/restore.md for why.
 */
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/futex.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <elf.h>

#include "rst.h"
#include "../../libcrimg/frame-core.h"

#define PAGE 4096ul
#define TASK_END 0x7ffffffff000ul
#define TMP_PROT (PROT_READ | PROT_WRITE)
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

static struct rst_plan *P;
static struct rst_ctl *C;

/* The vDSO: moved (the kernel's goes where the image had its own), or
 * proxied (the image's own code, with its entry points patched to jump
 * into the kernel's, which stays at the staging address). */
static int vdso_proxy;
static uint64_t new_vdso;       /* the kernel's [vdso] in proxy mode */
static uint64_t old_vdso_got;   /* bytes of the image's [vdso] read from the stream */

/* ---- reporting -------------------------------------------------------- */

static void set_state(uint32_t st)
{
	__atomic_store_n(&C->state, st, __ATOMIC_SEQ_CST);
	sys_futex(&C->state, FUTEX_WAKE, 0x7fffffff, 0);
}

static __attribute__((noreturn)) void vdie(int err, int image, uint64_t index, uint64_t off,
					   const char *fmt, va_list ap)
{
	rst_vfmt(C->errmsg, sizeof(C->errmsg), fmt, ap);
	C->err = err;
	C->image_error = image;
	C->err_index = index;
	C->err_offset = off;
	set_state(RST_ST_ERROR);
	sys_exit_group(1);
	__builtin_unreachable();
}

/* A failure of the system (a syscall that failed). */
static __attribute__((noreturn, format(printf, 2, 3))) void die(long err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie((int)err, 0, 0, 0, fmt, ap);
}

/* A bad image: says where. */
static __attribute__((noreturn, format(printf, 4, 5)))
void bad_image(int err, uint64_t index, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(err, 1, index, off, fmt, ap);
}

static const char *str(uint32_t off)
{
	return off ? RST_PTR(P, off) : "";
}

/* ---- stage 1: memory --------------------------------------------------- */

struct range {
	uint64_t start, end;
};

static void sort_ranges(struct range *r, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && r[j].start < r[j - 1].start; j--) {
			struct range t = r[j];

			r[j] = r[j - 1];
			r[j - 1] = t;
		}
}

static int vdso_parts(const struct rst_vdso *v, struct range *r)
{
	int n = 0;

	if (v->vvar_end > v->vvar_start)
		r[n++] = (struct range){ v->vvar_start, v->vvar_end };
	if (v->vclock_end > v->vclock_start)
		r[n++] = (struct range){ v->vclock_start, v->vclock_end };
	if (v->vdso_end > v->vdso_start)
		r[n++] = (struct range){ v->vdso_start, v->vdso_end };
	return n;
}

/* Unmaps everything but the area, the kernel's vDSO parts and the
 * private pages this process shares with its tree (plan keep[]). */
static void unmap_others(void)
{
	const struct rst_range *pk = RST_PTR(P, P->keep);
	struct range keep[4];
	int n = vdso_parts(&P->cur_vdso, keep), i = 0;
	uint32_t j = 0;
	uint64_t at = 0;

	keep[n++] = (struct range){ P->area_start, P->area_start + P->area_len };
	sort_ranges(keep, n);
	/* both lists are sorted and disjoint: walk them together */
	for (;;) {
		uint64_t s = TASK_END, e = TASK_END;

		if (i < n && (j >= P->nkeep || keep[i].start < pk[j].start)) {
			s = keep[i].start;
			e = keep[i++].end;
		} else if (j < P->nkeep) {
			s = pk[j].start;
			e = pk[j++].end;
		}
		if (s > at) {
			long r = sys_munmap(at, s - at);

			if (r < 0)
				die(r, "munmap 0x%lx-0x%lx", at, s);
		}
		if (s == TASK_END)
			break;
		if (e > at)
			at = e;
	}
}

static void move_range(uint64_t from, uint64_t len, uint64_t to, const char *what);

/* The shared private pages cr-assemble could not stage in place go
 * where they belong (mremap moves the page frames: still shared). */
static void place_inherited(void)
{
	const struct rst_inherit *in = RST_PTR(P, P->inherit);

	for (uint32_t i = 0; i < P->ninherit; i++)
		move_range(in[i].src, in[i].end - in[i].start, in[i].start, "shared private pages");
}

/* mmap [at, at + len) exactly there. */
static void map_fixed(uint64_t at, uint64_t len, uint32_t prot, uint32_t flags, long fd,
		      uint64_t off, const struct rst_vma *v)
{
	long r = sys_mmap(at, len, prot, flags, fd, off);

	if (r < 0)
		die(r, "map 0x%lx-0x%lx %s", at, at + len, str(v->path));
	if ((uint64_t)r != at) {
		sys_munmap(r, len);
		die(-17, "map 0x%lx-0x%lx: the kernel placed it at 0x%lx", at, at + len, (uint64_t)r);
	}
}

/* A VMA, around the inherited ranges inside it (they are in place). */
static void map_around(const struct rst_vma *v, uint32_t prot, uint32_t flags, long fd)
{
	const struct rst_inherit *in = RST_PTR(P, P->inherit);
	uint64_t at = v->start;

	for (uint32_t i = 0; i <= P->ninherit && at < v->end; i++) {
		uint64_t end = v->end, next = v->end;

		if (i < P->ninherit) {
			if (in[i].end <= v->start || in[i].start >= v->end)
				continue;
			end = in[i].start;
			next = in[i].end;
		}
		if (end > at)
			map_fixed(at, end - at, prot, flags, fd, fd >= 0 ? v->pgoff + (at - v->start) : 0, v);
		at = next;
	}
}

static void move_range(uint64_t from, uint64_t len, uint64_t to, const char *what)
{
	long r;

	if (from == to)
		return;
	r = sys_mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (r < 0)
		die(r, "move %s from 0x%lx to 0x%lx", what, from, to);
}

/*
 * The kernel's vDSO goes where the image had it, so that return
 * addresses and function pointers into it stay valid.  Its parts keep
 * their relative positions (the code reaches its data by offset), so the
 * whole area moves by one delta; through the staging address first when
 * the old and new places overlap (mremap refuses overlapping moves).
 */
static void place_vdso(void)
{
	const struct rst_vdso *c = &P->cur_vdso, *i = &P->img_vdso;
	struct range cr[3], ir[3];
	int cn = vdso_parts(c, cr), in = vdso_parts(i, ir);
	uint64_t cbase, ibase, span;
	const char *names[3] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	int overlap;

	if (cn && (c->vdso_end <= c->vdso_start))
		die(-95, "the kernel's vDSO has no code part");

	if (!in) {
		for (int k = 0; k < cn; k++)
			sys_munmap(cr[k].start, cr[k].end - cr[k].start);
		return;
	}
	cbase = cr[0].start;
	ibase = ir[0].start;
	span = cr[cn - 1].end - cbase;
	vdso_proxy = P->vdso_proxy || cn != in;
	for (int k = 0; k < cn && !vdso_proxy; k++)
		if (cr[k].end - cr[k].start != ir[k].end - ir[k].start ||
		    cr[k].start - cbase != ir[k].start - ibase)
			vdso_proxy = 1;
	if (vdso_proxy) {
		/* the kernel's vDSO goes to the staging address for good; the
		 * image's is rebuilt from its pages at its old place */
		uint64_t stage = P->gap_end - span;

		for (int k = 0; k < cn; k++)
			move_range(cr[k].start, cr[k].end - cr[k].start,
				   stage + (cr[k].start - cbase), names[k]);
		new_vdso = stage + (c->vdso_start - cbase);
		return;
	}
	if (cbase == ibase)
		return;
	overlap = ibase < cbase + span && cbase < ibase + span;
	if (overlap) {
		uint64_t stage = P->gap_end - span;

		for (int k = 0; k < cn; k++)
			move_range(cr[k].start, cr[k].end - cr[k].start,
				   stage + (cr[k].start - cbase), names[k]);
		cbase = stage;
	}
	for (int k = 0; k < cn; k++) {
		uint64_t off = cr[k].start - cr[0].start;

		move_range(cbase + off, cr[k].end - cr[k].start, ibase + off, names[k]);
	}
}

static struct rst_vma *vmas(void)
{
	return RST_PTR(P, P->vmas);
}

static int takes_pages(const struct rst_vma *v)
{
	switch (v->kind) {
	case RST_VMA_VDSO:
		return 1; /* kept in proxy mode, dropped otherwise */
	case RST_VMA_ANON_PRIVATE:
	case RST_VMA_FILE_PRIVATE:
	case RST_VMA_ANON_SHARED:
	case RST_VMA_GUARD:
		return 1;
	}
	return 0;
}

static int str_starts(const char *s, const char *pfx)
{
	while (*pfx)
		if (*s++ != *pfx++)
			return 0;
	return 1;
}

/* The shared memory object of a MAP_SHARED anonymous or memfd VMA: one
 * memfd per shmid, sized to cover every VMA that maps it. */
static int shared_fd(struct rst_vma *v, int idx)
{
	struct rst_vma *vs = vmas();
	uint64_t size = 0;
	const char *name = "shmem";
	long fd, r;

	if (v->tree_fd >= 0) {
		/* the tree's object, which other processes map too */
		v->fd = v->tree_fd;
		return v->fd;
	}
	for (int k = 0; k < idx; k++)
		if (vs[k].kind == RST_VMA_ANON_SHARED && vs[k].shmid == v->shmid && vs[k].fd >= 0)
			return vs[k].fd;
	for (uint32_t k = 0; k < P->nvmas; k++)
		if (vs[k].kind == RST_VMA_ANON_SHARED && vs[k].shmid == v->shmid &&
		    vs[k].pgoff + (vs[k].end - vs[k].start) > size)
			size = vs[k].pgoff + (vs[k].end - vs[k].start);
	if (v->path && str_starts(str(v->path), "/memfd:"))
		name = str(v->path) + 7; /* the path is "/memfd:NAME" */
	fd = sys_memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		die(fd, "memfd_create for the shared mapping at 0x%lx", v->start);
	r = sys_ftruncate(fd, size);
	if (r < 0)
		die(r, "size the shared mapping at 0x%lx", v->start);
	v->fd = (int32_t)fd;
	return (int)fd;
}

static void map_vmas(void)
{
	struct rst_vma *vs = vmas();
	const char *open_path = 0;
	long open_fd = -1;

	for (uint32_t k = 0; k < P->nvmas; k++) {
		struct rst_vma *v = &vs[k];
		uint64_t len = v->end - v->start;
		long fd = -1, r;
		uint32_t prot = TMP_PROT, flags = MAP_FIXED_NOREPLACE;

		v->fd = -1;
		switch (v->kind) {
		case RST_VMA_VDSO:
			if (!vdso_proxy)
				continue;
			flags |= MAP_PRIVATE | MAP_ANONYMOUS;
			break;
		case RST_VMA_VVAR:
		case RST_VMA_VVAR_VCLOCK:
		case RST_VMA_VSYSCALL:
			continue;
		case RST_VMA_ANON_SHARED:
			if (v->path && str_starts(str(v->path), "/SYSV")) {
				/* a SysV segment cr-assemble made with its id: attach it
				 * here (the whole segment, as the image had it) */
				r = sys_shmat(v->shmid, v->start, 0);
				if (r < 0)
					die(r, "attach SysV segment %lu at 0x%lx", v->shmid, v->start);
				if ((uint64_t)r != v->start)
					die(-22, "SysV segment %lu attached at 0x%lx, not 0x%lx", v->shmid,
					    (uint64_t)r, v->start);
				continue;
			}
			if (!v->path && !v->shmid) {
				flags |= MAP_SHARED | MAP_ANONYMOUS;
				break;
			}
			fd = shared_fd(v, (int)k);
			flags |= MAP_SHARED;
			break;
		case RST_VMA_FILE_PRIVATE:
		case RST_VMA_FILE_SHARED:
		case RST_VMA_GUARD:
			if (v->kind == RST_VMA_GUARD && !v->path) {
				flags |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
				break;
			}
			if (!open_path || rst_strcmp(open_path, str(v->path)) ||
			    v->kind == RST_VMA_FILE_SHARED) {
				int mode = O_RDONLY;

				if (open_fd >= 0)
					sys_close(open_fd);
				open_path = 0;
				if (v->kind == RST_VMA_FILE_SHARED && (v->prot & PROT_WRITE))
					mode = O_RDWR;
				open_fd = sys_open(str(v->path), mode | O_CLOEXEC, 0);
				if (open_fd < 0)
					die(open_fd, "open %s for the mapping at 0x%lx", str(v->path),
					    v->start);
				open_path = str(v->path);
			}
			fd = open_fd;
			if (v->kind == RST_VMA_FILE_SHARED) {
				flags |= MAP_SHARED;
				prot = v->prot; /* contents stay in the file: no pages come */
			} else {
				flags |= MAP_PRIVATE;
			}
			break;
		default: /* RST_VMA_ANON_PRIVATE and unknown: anonymous */
			flags |= MAP_PRIVATE | MAP_ANONYMOUS;
			break;
		}
		flags |= v->flags & (MAP_GROWSDOWN | MAP_NORESERVE);
		if (P->ninherit && v->kind == RST_VMA_ANON_PRIVATE)
			map_around(v, prot, flags, fd);
		else
			map_fixed(v->start, len, prot, flags, fd, fd >= 0 ? v->pgoff : 0, v);
	}
	if (open_fd >= 0)
		sys_close(open_fd);
}

/* The dynamic symbols of a vDSO image at base (its symbols are offsets
 * from its start); 0 if it does not look like one. */
static int vdso_syms(uint64_t base, uint64_t size, const Elf64_Sym **syms, uint64_t *n,
		     const char **str, uint64_t *strsz)
{
	const Elf64_Ehdr *e = (const Elf64_Ehdr *)base;
	const Elf64_Shdr *sh;

	if (size < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG) || e->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->e_shoff + (uint64_t)e->e_shnum * sizeof(*sh) > size)
		return 0;
	sh = (const Elf64_Shdr *)(base + e->e_shoff);
	for (int i = 0; i < e->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= e->e_shnum)
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > size ||
		    sh[sh[i].sh_link].sh_offset + sh[sh[i].sh_link].sh_size > size)
			return 0;
		*syms = (const Elf64_Sym *)(base + sh[i].sh_offset);
		*n = sh[i].sh_size / sizeof(Elf64_Sym);
		*str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		*strsz = sh[sh[i].sh_link].sh_size;
		return 1;
	}
	return 0;
}

/*
 * The vDSO proxy: the image's own vDSO code is back at its address (so
 * every pointer into it that the program keeps, like glibc's cached
 * clock_gettime, still lands on an entry point), and each exported
 * function of it starts with "movabs $new, %rax; jmp *%rax" to the same
 * function of the kernel's vDSO, which works with this kernel's data.
 */
static void patch_vdso(const struct rst_vma *v)
{
	const Elf64_Sym *os, *ns;
	const char *ostr, *nstr;
	uint64_t on, nn, osz, nsz, size = v->end - v->start, nsize;

	if (old_vdso_got < size)
		die(-95, "the vDSO changed since the dump and the image has no copy of the old one "
		    "(%lu of %lu bytes): cannot restore on this kernel", old_vdso_got, size);
	nsize = P->cur_vdso.vdso_end - P->cur_vdso.vdso_start;
	if (!vdso_syms(v->start, size, &os, &on, &ostr, &osz))
		die(-95, "the image's vDSO is not an ELF image");
	if (!vdso_syms(new_vdso, nsize, &ns, &nn, &nstr, &nsz))
		die(-95, "the kernel's vDSO is not an ELF image");
	for (uint64_t i = 0; i < on; i++) {
		const char *name;
		uint64_t to = 0;
		uint8_t *at;

		if (ELF64_ST_TYPE(os[i].st_info) != STT_FUNC || !os[i].st_value ||
		    os[i].st_name >= osz || os[i].st_value + 12 > size)
			continue;
		name = ostr + os[i].st_name;
		for (uint64_t k = 0; k < nn && !to; k++)
			if (ELF64_ST_TYPE(ns[k].st_info) == STT_FUNC && ns[k].st_value &&
			    ns[k].st_name < nsz && !rst_strcmp(name, nstr + ns[k].st_name))
				to = new_vdso + ns[k].st_value;
		at = (uint8_t *)(v->start + os[i].st_value);
		if (!to) {
			/* gone from this kernel: make it fail loudly, not run stale code */
			at[0] = 0x0f;
			at[1] = 0x0b; /* ud2 */
			continue;
		}
		at[0] = 0x48;
		at[1] = 0xb8; /* movabs $to, %rax */
		for (int b = 0; b < 8; b++)
			at[2 + b] = (uint8_t)(to >> (8 * b));
		at[10] = 0xff;
		at[11] = 0xe0; /* jmp *%rax */
	}
}

/* Final protections and attributes, once the pages are in. */
static void finish_vmas(void)
{
	static const uint8_t advices[] = { 1, 2, 10, 12, 14, 15, 16, 18 };
	struct rst_vma *vs = vmas();

	for (uint32_t k = 0; k < P->nvmas; k++) {
		struct rst_vma *v = &vs[k];
		uint64_t len = v->end - v->start;
		long r;

		if (v->kind == RST_VMA_VDSO && vdso_proxy) {
			patch_vdso(v);
			r = sys_mprotect(v->start, len, v->prot);
			if (r < 0)
				die(r, "mprotect the image's vDSO");
			continue;
		}
		if (v->kind >= RST_VMA_VDSO && v->kind <= RST_VMA_VSYSCALL)
			continue;
		if (v->kind != RST_VMA_FILE_SHARED && v->prot != TMP_PROT) {
			r = sys_mprotect(v->start, len, v->prot);
			if (r < 0)
				die(r, "mprotect 0x%lx-0x%lx", v->start, v->end);
		}
		for (unsigned i = 0; i < sizeof(advices); i++) {
			if (!(v->madv & (1ull << advices[i])))
				continue;
			r = sys_madvise(v->start, len, advices[i]);
			if (r < 0 && r != -22 /* EINVAL: not on this kernel */)
				die(r, "madvise(%u) 0x%lx-0x%lx", advices[i], v->start, v->end);
		}
		if (v->fd >= 0) {
			int fd = v->fd;

			/* close each shared object once */
			for (uint32_t j = k; j < P->nvmas; j++)
				if (vs[j].fd == fd)
					vs[j].fd = -1;
			sys_close(fd);
		}
	}
}

/* ---- stage 1: the rest of the stream ------------------------------------ */

struct stream {
	int fd;
	uint64_t off;       /* stream offset of the next byte to read */
	uint64_t index;     /* number of the current record */
	uint64_t rec_off;   /* its header offset */
	uint32_t type, flags;
	uint64_t len;
	uint32_t hdr_csum;
	uint32_t chain;     /* over the records before the current one */
};

/* Reads exactly len bytes unless the stream ends; returns the count. */
static uint64_t read_full(struct stream *s, void *buf, uint64_t len, const char *what)
{
	uint64_t done = 0;

	while (done < len) {
		long n = sys_read(s->fd, (char *)buf + done, len - done);

		if (n == -4 /* EINTR */)
			continue;
		if (n == -11 /* EAGAIN */) {
			struct { int fd; short ev, rev; } pfd = { s->fd, 1, 0 };

			sys_poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0)
			die(n, "read %s of record %lu at byte %lu", what, s->index, s->off + done);
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	s->off += done;
	C->bytes = s->off;
	return done;
}

static void truncated(struct stream *s, const char *what)
{
	bad_image(-71 /* EPROTO */, s->index, s->off,
		  "truncated: the stream ends at byte %lu inside %s of record %lu", s->off, what,
		  s->index);
}

static uint32_t chain_step(uint32_t chain, uint32_t hdr, uint32_t payload)
{
	return frame_chain_step(rst_crc32c, chain, hdr, payload);
}

/* Reads the payload checksum (if any) and extends the chain. */
static void end_payload(struct stream *s, const struct rst_csum *cs)
{
	uint32_t stored = 0;

	if (s->flags & RST_REC_CSUM) {
		uint8_t b[4];
		uint32_t calc = rst_csum_final(cs);

		if (read_full(s, b, 4, "the payload checksum") < 4)
			truncated(s, "the payload checksum");
		stored = get_le32(b);
		if (stored != calc)
			bad_image(-74 /* EBADMSG */, s->index, s->rec_off,
				  "record %lu at byte %lu: payload checksum mismatch (stored 0x%x, "
				  "computed 0x%x)", s->index, s->rec_off, stored, calc);
	}
	s->chain = chain_step(s->chain, s->hdr_csum, stored);
	s->index++;
}

static const struct rst_vma *find_vma(uint64_t addr)
{
	const struct rst_vma *vs = vmas();
	uint32_t lo = 0, hi = P->nvmas;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (addr < vs[mid].start)
			hi = mid;
		else if (addr >= vs[mid].end)
			lo = mid + 1;
		else
			return &vs[mid];
	}
	return 0;
}

static void read_pages(struct stream *s)
{
	uint8_t hb[8];
	struct rst_csum cs;
	uint64_t addr, left, at;

	rst_csum_init(&cs);
	if (s->len < 8 || (s->len - 8) % PAGE)
		bad_image(-71, s->index, s->rec_off, "record %lu (PAGES) at byte %lu: length %lu is "
			  "not an address and whole pages", s->index, s->rec_off, s->len);
	if (read_full(s, hb, 8, "the payload") < 8)
		truncated(s, "the payload");
	rst_csum_update(&cs, hb, 8);
	addr = get_le64(hb);
	left = s->len - 8;
	if (addr % PAGE || addr + left < addr || addr + left > TASK_END)
		bad_image(-71, s->index, s->rec_off, "record %lu (PAGES) at byte %lu: bad address "
			  "0x%lx", s->index, s->rec_off, addr);
	/* every page must land in a mapping that takes pages */
	for (at = addr; at < addr + left;) {
		const struct rst_vma *v = find_vma(at);

		if (v && v->kind == RST_VMA_VDSO) {
			if (at != addr || addr + left > v->end)
				bad_image(-71, s->index, s->rec_off, "record %lu (PAGES) at byte %lu: "
					  "pages of the vDSO mixed with others", s->index, s->rec_off);
			if (!vdso_proxy) {
				/* the kernel's own vDSO is in place: drop the copy */
				uint8_t buf[4096];

				for (; left; left -= PAGE) {
					if (read_full(s, buf, PAGE, "the pages") < PAGE)
						truncated(s, "the payload");
					rst_csum_update(&cs, buf, PAGE);
				}
				end_payload(s, &cs);
				return;
			}
			old_vdso_got += left;
		}
		if (!v || !takes_pages(v))
			bad_image(-71, s->index, s->rec_off, "record %lu (PAGES) at byte %lu: page "
				  "0x%lx is not in a mapping of the image that holds pages",
				  s->index, s->rec_off, at);
		at = v->end;
	}
	for (at = addr; left;) {
		uint64_t n = left < RST_READ_CHUNK ? left : RST_READ_CHUNK;
		uint64_t got;

		/* fault the chunk in with one call rather than a fault per
		 * page inside read(); an error (old kernel) changes nothing */
		sys_madvise(at, n, 23 /* MADV_POPULATE_WRITE */);
		got = read_full(s, (void *)at, n, "the pages");

		rst_csum_update(&cs, (void *)at, got);
		if (got < n)
			truncated(s, "the payload");
		at += n;
		left -= n;
		C->pages += n / PAGE;
	}
	end_payload(s, &cs);
}

/* Skips a record that is not required, verifying its checksum. */
static void skip_payload(struct stream *s)
{
	uint8_t buf[4096];
	struct rst_csum cs;
	uint64_t left = s->len;

	rst_csum_init(&cs);
	while (left) {
		uint64_t n = left < sizeof(buf) ? left : sizeof(buf);

		if (read_full(s, buf, n, "the payload") < n)
			truncated(s, "the payload");
		rst_csum_update(&cs, buf, n);
		left -= n;
	}
	end_payload(s, &cs);
}

/* Reads the next record header; returns its type. */
static uint32_t next_header(struct stream *s)
{
	uint8_t h[RST_REC_HDR];
	uint32_t calc;
	uint64_t n;

	s->rec_off = s->off;
	n = read_full(s, h, sizeof(h), "the header");
	if (n == 0)
		bad_image(-71, s->index, s->off, "truncated: no trailer after record %lu, the stream "
			  "ends at byte %lu", s->index - 1, s->off);
	if (n < sizeof(h))
		truncated(s, "the header");
	calc = frame_hdr_csum(rst_crc32c, s->index, h);
	if (get_le32(h + 20) != calc)
		bad_image(-74, s->index, s->rec_off, "record %lu at byte %lu: header checksum "
			  "mismatch (stored 0x%x, computed 0x%x): corrupted, or records dropped "
			  "or reordered", s->index, s->rec_off, get_le32(h + 20), calc);
	s->type = get_le32(h);
	s->flags = get_le32(h + 4);
	s->len = get_le64(h + 8);
	s->hdr_csum = calc;
	if (get_le32(h + 16) || (s->flags & ~7u) || s->type == 0)
		bad_image(-71, s->index, s->rec_off, "record %lu at byte %lu: bad header (type 0x%x, "
			  "flags 0x%x)", s->index, s->rec_off, s->type, s->flags);
	if (s->len > (1ull << 48))
		bad_image(-75, s->index, s->rec_off, "record %lu at byte %lu: absurd length %lu",
			  s->index, s->rec_off, s->len);
	return s->type;
}

static void check_trailer(struct stream *s)
{
	uint8_t p[24];
	struct rst_csum cs;
	uint32_t chain = s->chain;

	if (s->flags != (RST_REC_REQUIRED | RST_REC_CSUM) || s->len != 24)
		bad_image(-71, s->index, s->rec_off, "trailer at byte %lu: bad flags or length",
			  s->rec_off);
	if (read_full(s, p, 24, "the trailer") < 24)
		truncated(s, "the trailer");
	rst_csum_init(&cs);
	rst_csum_update(&cs, p, 24);
	end_payload(s, &cs);
	if (get_le64(p) != s->index - 1)
		bad_image(-71, s->index - 1, s->rec_off, "trailer at byte %lu: it counts %lu records, "
			  "the stream has %lu", s->rec_off, get_le64(p), s->index - 1);
	if (get_le64(p + 8) != s->rec_off || get_le32(p + 20))
		bad_image(-71, s->index - 1, s->rec_off, "trailer at byte %lu: bad position or "
			  "reserved field", s->rec_off);
	if (get_le32(p + 16) != chain)
		bad_image(-74, s->index - 1, s->rec_off, "trailer at byte %lu: chain checksum mismatch "
			  "(stored 0x%x, computed 0x%x): records were changed", s->rec_off,
			  get_le32(p + 16), chain);
}

/*
 * PAGES come last in a checkpoint (the dump writes memory last): after
 * them only the trailer, or records a reader may skip.
 */
static void read_stream(void)
{
	struct stream s = {
		.fd = P->stream.fd,
		.off = P->stream.offset + RST_REC_HDR,
		.index = P->stream.index,
		.rec_off = P->stream.offset,
		.type = P->stream.type,
		.flags = P->stream.flags,
		.len = P->stream.len,
		.hdr_csum = P->stream.hdr_csum,
		.chain = P->stream.chain,
	};

	uint64_t pages = 0;

	if (P->stream.tree) {
		/* our turn comes once the process before us read its pages */
		struct { int64_t sec, nsec; } t = { 1, 0 };

		while (!__atomic_load_n(&P->stream.turn, __ATOMIC_SEQ_CST))
			sys_futex(&P->stream.turn, FUTEX_WAIT, 0, &t);
		s.off = P->stream.offset + RST_REC_HDR;
		s.index = P->stream.index;
		s.rec_off = P->stream.offset;
		s.type = P->stream.type;
		s.flags = P->stream.flags;
		s.len = P->stream.len;
		s.hdr_csum = P->stream.hdr_csum;
		s.chain = P->stream.chain;
	}
	if (P->stream.done)
		return;
	for (;;) {
		if (P->stream.tree && !P->stream.last && pages >= P->stream.pages) {
			/* the rest belongs to the next process: hand it on */
			C->next = P->stream;
			C->next.offset = s.rec_off;
			C->next.index = s.index;
			C->next.type = s.type;
			C->next.flags = s.flags;
			C->next.len = s.len;
			C->next.hdr_csum = s.hdr_csum;
			C->next.chain = s.chain;
			return;
		}
		if (s.type == RST_T_PAGES) {
			read_pages(&s);
			pages += (s.len - 8) / PAGE;
		} else if (s.type == RST_T_TRAILER) {
			if (P->stream.tree && !P->stream.last)
				bad_image(-71, s.index, s.rec_off, "the stream ends before the pages of "
					  "process %u are complete", P->pid);
			check_trailer(&s);
			return;
		} else if (s.flags & RST_REC_REQUIRED) {
			bad_image(-71, s.index, s.rec_off, "record %lu at byte %lu: type 0x%x after the "
				  "memory records is not supported", s.index, s.rec_off, s.type);
		} else {
			skip_payload(&s);
		}
		next_header(&s);
	}
}

/* ---- stage 2: process state ---------------------------------------------- */

struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

struct ktimespec {
	int64_t sec, nsec;
};

struct kitimerspec {
	struct ktimespec interval, value;
};

struct ktimeval {
	int64_t sec, usec;
};

struct ksigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	int32_t pad[11];
};

static struct ktimespec ts_of(uint64_t ns)
{
	return (struct ktimespec){ (int64_t)(ns / 1000000000u), (int64_t)(ns % 1000000000u) };
}

static void set_mm(void)
{
	struct prctl_mm_map m = {
		.start_code = P->mm.start_code, .end_code = P->mm.end_code,
		.start_data = P->mm.start_data, .end_data = P->mm.end_data,
		.start_brk = P->mm.start_brk, .brk = P->mm.brk,
		.start_stack = P->mm.start_stack,
		.arg_start = P->mm.arg_start, .arg_end = P->mm.arg_end,
		.env_start = P->mm.env_start, .env_end = P->mm.env_end,
		.auxv = P->mm.nauxv ? RST_PTR(P, P->mm.auxv) : 0,
		.auxv_size = P->mm.nauxv * 8,
		.exe_fd = (uint32_t)P->mm.exe_fd,
	};
	long r;

	if (!P->mm.set)
		return;
	r = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof(m), 0);
	if (r < 0)
		die(r, "set the mm fields (PR_SET_MM_MAP)");
	if (P->mm.exe_fd >= 0)
		sys_close(P->mm.exe_fd);
}

static void set_signals(void)
{
	for (int sig = 1; sig <= RST_MAX_SIG; sig++) {
		struct rst_sigaction *a = &P->sigactions[sig];
		struct ksigaction k;
		long r;

		if (!a->set || sig == 9 || sig == 19)
			continue;
		k = (struct ksigaction){ a->handler, a->flags, a->restorer, a->mask };
		r = sys_rt_sigaction(sig, &k, 0, 8);
		if (r < 0)
			die(r, "set the handler of signal %d", sig);
	}
}

static void set_timers(void)
{
	struct rst_ptimer *pt = RST_PTR(P, P->ptimers);
	int restore_ids = 0;

	for (int i = 0; i < 3; i++) {
		struct rst_itimer *t = &P->itimers[i];
		struct ktimeval v[2];
		long r;

		if (!t->set || !t->value_ns)
			continue;
		v[0] = (struct ktimeval){ (int64_t)(t->interval_ns / 1000000000u),
					  (int64_t)(t->interval_ns % 1000000000u / 1000) };
		v[1] = (struct ktimeval){ (int64_t)(t->value_ns / 1000000000u),
					  (int64_t)(t->value_ns % 1000000000u / 1000) };
		if (!v[1].sec && !v[1].usec)
			v[1].usec = 1;
		r = sys_setitimer(t->which, v, 0);
		if (r < 0)
			die(r, "set itimer %u", t->which);
	}
	if (P->nptimers)
		restore_ids = sys_prctl(PR_TIMER_CREATE_RESTORE_IDS,
					PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) == 0;
	for (uint32_t i = 0; i < P->nptimers; i++) {
		struct ksigevent ev = { .value = pt[i].sival, .signo = (int32_t)pt[i].signo,
					.notify = pt[i].notify, .tid = (int32_t)pt[i].notify_tid };
		int32_t id = pt[i].id;
		struct kitimerspec its = { ts_of(pt[i].interval_ns), ts_of(pt[i].value_ns) };
		long r;

		if (!restore_ids) {
			/* ids are handed out in order: create and drop fillers until ours */
			for (;;) {
				r = sys_timer_create(pt[i].clock, &ev, &id);
				if (r < 0)
					die(r, "create POSIX timer %d", pt[i].id);
				if (id >= pt[i].id)
					break;
				sys_timer_delete(id);
				/* keep the filler? no: ids are not reused at once, try again */
			}
			if (id != pt[i].id)
				C->warnings |= RST_W_TIMER_ID;
		} else {
			r = sys_timer_create(pt[i].clock, &ev, &id);
			if (r < 0)
				die(r, "create POSIX timer %d", pt[i].id);
		}
		if (pt[i].value_ns) {
			r = sys_timer_settime(id, 0, &its, 0);
			if (r < 0)
				die(r, "arm POSIX timer %d", pt[i].id);
		}
	}
	if (restore_ids)
		sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
}

static void set_limits(void)
{
	for (uint32_t i = 0; i < P->nrlimits; i++) {
		struct rst_rlimit *l = &P->rlimits[i];
		uint64_t want[2] = { l->cur, l->max }, have[2];
		long r = sys_prlimit64(0, l->resource, want, 0);

		if (r == -1 /* EPERM */) {
			/* raising a hard limit needs CAP_SYS_RESOURCE: keep ours */
			if (sys_prlimit64(0, l->resource, 0, have) < 0)
				continue;
			want[1] = have[1];
			if (want[0] > want[1])
				want[0] = want[1];
			r = sys_prlimit64(0, l->resource, want, 0);
			C->warnings |= RST_W_RLIMIT;
		}
		if (r < 0)
			die(r, "set rlimit %u", l->resource);
	}
}

static void set_misc(void)
{
	long r;

	if (P->has_personality) {
		r = sys_personality(P->personality);
		if (r < 0)
			die(r, "set the personality");
	}
	if (P->has_umask)
		sys_umask(P->umask);
	if (P->has_thp_disable)
		sys_prctl(PR_SET_THP_DISABLE, P->thp_disable, 0, 0, 0);
	if (P->has_timerslack && P->timerslack_ns)
		sys_prctl(PR_SET_TIMERSLACK, P->timerslack_ns, 0, 0, 0);
	if (P->child_subreaper) {
		r = sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		if (r < 0)
			die(r, "set child_subreaper");
	}
}

static void queue_pending(void)
{
	struct rst_thread *ts = RST_PTR(P, P->threads);
	const uint8_t *si = RST_PTR(P, P->shared_pending);
	long r;

	for (uint32_t i = 0; i < P->nshared_pending; i++, si += RST_SIGINFO_SIZE) {
		int sig = (int)get_le32(si);

		if (sig == 9 || sig == 19)
			continue;
		r = sys_rt_sigqueueinfo(P->pid, sig, si);
		if (r < 0)
			die(r, "queue pending signal %d", sig);
	}
	/* thread signals are queued by the main thread: the kernel lets a
	 * thread send "kernel" siginfo only when its tid is the pid */
	for (uint32_t t = 0; t < P->nthreads; t++) {
		si = RST_PTR(P, ts[t].pending);
		for (uint32_t i = 0; i < ts[t].npending; i++, si += RST_SIGINFO_SIZE) {
			int sig = (int)get_le32(si);

			if (sig == 9 || sig == 19)
				continue;
			r = sys_rt_tgsigqueueinfo(P->pid, ts[t].tid, sig, si);
			if (r < 0)
				die(r, "queue pending signal %d of thread %u", sig, ts[t].tid);
		}
	}
}

static void set_creds(void)
{
	const struct rst_creds *c = &P->creds;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	long r, cur;

	if (!P->has_creds)
		return;
	/* uid changes must not drop the capabilities we still need */
	cur = sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	r = sys_prctl(PR_SET_SECUREBITS, (cur < 0 ? 0 : cur) | SECBIT_NO_SETUID_FIXUP, 0, 0, 0);
	if (r < 0)
		die(r, "set securebits");
	r = sys_setgroups(c->ngroups, c->ngroups ? RST_PTR(P, c->groups) : 0);
	if (r < 0)
		die(r, "setgroups");
	r = sys_setresgid(c->gid, c->egid, c->sgid);
	if (r < 0)
		die(r, "setresgid %u %u %u", c->gid, c->egid, c->sgid);
	r = sys_setresuid(c->uid, c->euid, c->suid);
	if (r < 0)
		die(r, "setresuid %u %u %u", c->uid, c->euid, c->suid);
	sys_setfsgid(c->fsgid);
	sys_setfsuid(c->fsuid);
	if (c->has_caps) {
		for (int cap = 0; cap < 64; cap++) {
			if (c->cap_bnd & (1ull << cap))
				continue;
			r = sys_prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
			if (r <= 0)
				continue;
			r = sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
			if (r < 0)
				die(r, "drop capability %d from the bounding set", cap);
		}
	}
	r = sys_prctl(PR_SET_SECUREBITS, c->securebits, 0, 0, 0);
	if (r < 0)
		die(r, "set securebits 0x%x", c->securebits);
	if (c->has_caps) {
		d[0].effective = (uint32_t)c->cap_eff;
		d[1].effective = (uint32_t)(c->cap_eff >> 32);
		d[0].permitted = (uint32_t)c->cap_prm;
		d[1].permitted = (uint32_t)(c->cap_prm >> 32);
		d[0].inheritable = (uint32_t)c->cap_inh;
		d[1].inheritable = (uint32_t)(c->cap_inh >> 32);
		r = sys_capset(&h, d);
		if (r < 0)
			die(r, "set capabilities");
		sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		for (int cap = 0; cap < 64; cap++) {
			if (!(c->cap_amb & (1ull << cap)))
				continue;
			r = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
			if (r < 0)
				die(r, "raise ambient capability %d", cap);
		}
	}
}

static __attribute__((noreturn)) void park(void)
{
	/* cr-assemble takes the thread from here with ptrace; if it goes
	 * away instead, give up after a minute rather than hang. */
	struct ktimespec t = { 1, 0 };
	uint32_t never = 0;

	for (int i = 0; i < 60; i++)
		sys_futex(&never, FUTEX_WAIT_PRIVATE, 0, &t);
	sys_exit_group(1);
	__builtin_unreachable();
}

static void thread_setup(struct rst_thread *t, int main)
{
	long r;

	__atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
	if (t->has_rseq) {
		r = sys_rseq(t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
		if (r < 0)
			die(r, "register rseq of thread %u at 0x%lx", t->tid, t->rseq_addr);
	}
	if (t->has_comm)
		sys_prctl(PR_SET_NAME, t->comm, 0, 0, 0);
	if (t->has_altstack) {
		struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; } ss = {
			t->altstack_sp, (int32_t)(t->altstack_flags & ~1u /* SS_ONSTACK */), 0,
			t->altstack_size };

		r = sys_sigaltstack(&ss, 0);
		if (r < 0)
			die(r, "set the signal stack of thread %u", t->tid);
	}
	sys_set_tid_address(t->clear_child_tid);
	if (t->robust_len) {
		/* the kernel releases the thread's robust mutexes at its exit */
		r = sys_set_robust_list(t->robust_head, t->robust_len);
		if (r < 0)
			die(r, "set the robust futex list of thread %u", t->tid);
	}
	set_creds();
	/* after the credentials, whose change clears it; not in the main
	 * thread, whose SIGKILL keeps a half-restored process from outliving
	 * its parent until cr-assemble traces it (unmap_area sets the
	 * image's there) */
	if (!main && P->keep_pdeathsig && t->pdeathsig) {
		r = sys_prctl(PR_SET_PDEATHSIG, t->pdeathsig, 0, 0, 0);
		if (r < 0)
			die(r, "set the parent-death signal of thread %u", t->tid);
	}
	if (P->no_new_privs) {
		r = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (r < 0)
			die(r, "set no_new_privs");
	}
	if (main) {
		/* dumpable is reset by credential changes: set it once every
		 * thread has changed its own */
		struct ktimespec ts = { 0, 10000000 };

		while (__atomic_load_n(&C->parked, __ATOMIC_SEQ_CST) < P->nthreads - 1)
			sys_futex(&C->parked, FUTEX_WAIT,
				  __atomic_load_n(&C->parked, __ATOMIC_SEQ_CST), &ts);
		if (P->has_dumpable)
			sys_prctl(PR_SET_DUMPABLE, P->dumpable, 0, 0, 0);
		__atomic_add_fetch(&C->parked, 1, __ATOMIC_SEQ_CST);
		set_state(RST_ST_PARKED);
	} else {
		__atomic_add_fetch(&C->parked, 1, __ATOMIC_SEQ_CST);
		sys_futex(&C->parked, FUTEX_WAKE, 0x7fffffff, 0);
	}
	park();
}

static void thread_main(void *arg)
{
	thread_setup(arg, 0);
}

static void make_threads(void)
{
	struct rst_thread *ts = RST_PTR(P, P->threads);

	for (uint32_t i = 1; i < P->nthreads; i++) {
		uint64_t tid = ts[i].tid;
		struct clone_args a = {
			.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				 CLONE_SYSVSEM,
			.stack = ts[i].stack_top - RST_STACK_SIZE,
			.stack_size = RST_STACK_SIZE,
			.set_tid = (uint64_t)(uintptr_t)&tid,
			.set_tid_size = 1,
		};
		long r = rst_clone_thread(&a, sizeof(a), thread_main, &ts[i]);

		if (r < 0)
			die(r, "create thread %u (clone3 with set_tid)", ts[i].tid);
	}
}

void rst_main(struct rst_plan *plan);

void rst_main(struct rst_plan *plan)
{
	struct ktimespec t = { 1, 0 };
	uint32_t st;

	P = plan;
	C = &plan->ctl;
	if (plan->magic != RST_MAGIC)
		sys_exit_group(126);
	set_state(RST_ST_MEMORY);
	unmap_others();
	place_vdso();
	place_inherited();
	map_vmas();
	read_stream();
	finish_vmas();
	sys_close(P->stream.fd);
	set_state(RST_ST_READY);
	while ((st = __atomic_load_n(&C->state, __ATOMIC_SEQ_CST)) == RST_ST_READY)
		sys_futex(&C->state, FUTEX_WAIT, RST_ST_READY, &t);
	if (st != RST_ST_GO)
		sys_exit_group(1);
	set_mm();
	set_signals();
	set_timers();
	set_limits();
	set_misc();
	make_threads();
	queue_pending();
	thread_setup(RST_PTR(P, P->threads), 1);
}
