/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore-mkimg.h - TEST-ONLY image producer for the restore tests.
 *
 * This is NOT the product's dump (that is cr-freeze/cr-parasite/cr-dumpmm,
 * cr-dump).  It exists so that the restore side can be tested on its own,
 * with streams whose every record it controls: it reads what ptrace and
 * /proc show of a ptrace-stopped victim and writes the agreed records
 * (PROC, THREAD, SIGACTIONS, FILES, MM, PAGES).  Signal handlers are read
 * by running rt_sigaction inside the victim from the syscall instruction
 * it is stopped after, so the victim must be waiting in a system call
 * (pause, sigsuspend, read...) in its main thread.  Pending signals,
 * timers and rlimits are left out.
 */
#ifndef RESTORE_MKIMG_H
#define RESTORE_MKIMG_H

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>

#define MK_MAX_THREADS 64

struct mk_thread {
	pid_t tid;
	struct user_regs_struct regs;     /* as stopped (for putting back) */
	struct user_regs_struct img;      /* rewound for the image */
	uint8_t xsave[16384];
	size_t xsave_len;
	uint64_t sigmask;
	struct { uint64_t rseq_abi_pointer; uint32_t rseq_abi_size, signature, flags, pad; } rseq;
	bool has_rseq;
	char comm[32];
};

struct mk_ctx {
	pid_t pid;
	int nthreads;
	struct mk_thread t[MK_MAX_THREADS];
	int memfd;                        /* /proc/PID/mem */
	char err[512];
};

static inline int mk_fail(struct mk_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int mk_fail(struct mk_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (e) {
		size_t n = strlen(c->err);

		snprintf(c->err + n, sizeof(c->err) - n, ": %s", strerror(e));
	}
	return -1;
}

static inline char *mk_readfile(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *b;

	if (fd < 0)
		return NULL;
	b = malloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (n == cap)
			b = realloc(b, (cap *= 2) + 1);
		r = read(fd, b + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

static inline void mk_rewind(struct user_regs_struct *r)
{
	if ((int64_t)r->orig_rax < 0)
		return;
	switch ((int64_t)r->rax) {
	case -512: case -513: case -514: /* ERESTARTSYS, NOINTR, NOHAND */
		r->rax = r->orig_rax;
		r->rip -= 2;
		break;
	case -516: /* ERESTART_RESTARTBLOCK */
		r->rax = SYS_restart_syscall;
		r->rip -= 2;
		break;
	}
}

/* Runs one syscall in thread 0 from the syscall instruction it stopped after. */
static inline long mk_inject(struct mk_ctx *c, long nr, long a, long b, long d, long e)
{
	struct mk_thread *t = &c->t[0];
	struct user_regs_struct r = t->regs;
	int st;

	r.rip = t->regs.rip - 2;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = (uint64_t)a;
	r.rsi = (uint64_t)b;
	r.rdx = (uint64_t)d;
	r.r10 = (uint64_t)e;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
			return -errno;
		if (waitpid(t->tid, &st, __WALL) < 0 || !WIFSTOPPED(st))
			return -ECHILD;
	}
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0)
		return -errno;
	return (long)r.rax;
}

static inline int mk_seize(struct mk_ctx *c, pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;

	memset(c, 0, sizeof(*c));
	c->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return mk_fail(c, "open %s", path);
	c->t[c->nthreads++].tid = pid;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != pid && c->nthreads < MK_MAX_THREADS)
			c->t[c->nthreads++].tid = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < c->nthreads; i++) {
		int st;

		if (ptrace(PTRACE_SEIZE, c->t[i].tid, 0, PTRACE_O_TRACESYSGOOD) < 0 ||
		    ptrace(PTRACE_INTERRUPT, c->t[i].tid, 0, 0) < 0)
			return mk_fail(c, "seize %d", (int)c->t[i].tid);
		if (waitpid(c->t[i].tid, &st, __WALL) < 0)
			return mk_fail(c, "wait %d", (int)c->t[i].tid);
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	c->memfd = open(path, O_RDWR | O_CLOEXEC);
	if (c->memfd < 0)
		return mk_fail(c, "open %s", path);
	for (int i = 0; i < c->nthreads; i++) {
		struct mk_thread *t = &c->t[i];
		struct iovec iov = { t->xsave, sizeof(t->xsave) };
		char *comm;

		errno = 0;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) < 0)
			return mk_fail(c, "getregs %d", (int)t->tid);
		t->img = t->regs;
		mk_rewind(&t->img);
		if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) < 0)
			return mk_fail(c, "xstate %d", (int)t->tid);
		t->xsave_len = iov.iov_len;
		if (ptrace(PTRACE_GETSIGMASK, t->tid, sizeof(t->sigmask), &t->sigmask) < 0)
			return mk_fail(c, "sigmask %d", (int)t->tid);
		t->has_rseq = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->tid, sizeof(t->rseq),
				     &t->rseq) > 0 && t->rseq.rseq_abi_pointer;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)t->tid);
		comm = mk_readfile(path, NULL);
		if (comm) {
			comm[strcspn(comm, "\n")] = 0;
			snprintf(t->comm, sizeof(t->comm), "%s", comm);
			free(comm);
		}
	}
	return 0;
}

/* Puts the victim back as it was and lets it run. */
static inline void mk_release(struct mk_ctx *c)
{
	for (int i = 0; i < c->nthreads; i++) {
		struct user_regs_struct r = c->t[i].img;

		r.orig_rax = (uint64_t)-1;
		ptrace(PTRACE_SETREGS, c->t[i].tid, 0, &r);
		ptrace(PTRACE_DETACH, c->t[i].tid, 0, 0);
	}
	if (c->memfd > 0)
		close(c->memfd);
}

static inline void mk_ids(const char *status, const char *key, uint32_t v[4])
{
	const char *p = strstr(status, key);

	v[0] = v[1] = v[2] = v[3] = 0;
	if (p)
		sscanf(p + strlen(key), "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]);
}

static inline uint64_t mk_hex(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static inline int mk_add(struct mk_ctx *c, struct crimg_writer *w, uint32_t type, const void *msg)
{
	int r = crimg_writer__add_msg(w, type, CRIMG_REC_REQUIRED, msg);

	if (r < 0) {
		errno = -r;
		return mk_fail(c, "write record 0x%x", type);
	}
	return 0;
}

static inline int mk_proc(struct mk_ctx *c, struct crimg_writer *w)
{
	Crimg__Proc p = CRIMG__PROC__INIT;
	Crimg__Creds cr = CRIMG__CREDS__INIT;
	char path[64], exe[4096] = "", cwd[4096] = "", root[4096] = "";
	char *status, *stat, *comm;
	uint32_t tids[MK_MAX_THREADS], ids[4], groups[64];
	int ng = 0, r;
	char *gp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	status = mk_readfile(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
	stat = mk_readfile(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)c->pid);
	comm = mk_readfile(path, NULL);
	if (!status || !stat || !comm)
		return mk_fail(c, "read /proc/%d", (int)c->pid);
	comm[strcspn(comm, "\n")] = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)c->pid);
	if (readlink(path, exe, sizeof(exe) - 1) < 0)
		exe[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)c->pid);
	if (readlink(path, cwd, sizeof(cwd) - 1) < 0)
		strcpy(cwd, "/");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)c->pid);
	if (readlink(path, root, sizeof(root) - 1) < 0)
		strcpy(root, "/");
	for (int i = 0; i < c->nthreads; i++)
		tids[i] = (uint32_t)c->t[i].tid;
	{
		const char *rp = strrchr(stat, ')');
		unsigned ppid = 0, pgid = 0, sid = 0;
		char st;

		sscanf(rp + 2, "%c %u %u %u", &st, &ppid, &pgid, &sid);
		p.ppid = ppid;
		p.pgid = pgid;
		p.sid = sid;
	}
	p.pid = (uint32_t)c->pid;
	p.n_tids = (size_t)c->nthreads;
	p.tids = tids;
	p.comm = comm;
	p.exe = exe;
	p.cwd = cwd;
	p.root = root;
	mk_ids(status, "Uid:", ids);
	cr.uid = ids[0], cr.euid = ids[1], cr.suid = ids[2], cr.fsuid = ids[3];
	mk_ids(status, "Gid:", ids);
	cr.gid = ids[0], cr.egid = ids[1], cr.sgid = ids[2], cr.fsgid = ids[3];
	gp = strstr(status, "Groups:");
	if (gp) {
		gp += 7;
		while (ng < 64) {
			char *end;
			unsigned long g = strtoul(gp, &end, 10);

			if (end == gp)
				break;
			groups[ng++] = (uint32_t)g;
			gp = end;
		}
	}
	cr.n_groups = (size_t)ng;
	cr.groups = groups;
	cr.has_cap_inh = cr.has_cap_prm = cr.has_cap_eff = cr.has_cap_bnd = cr.has_cap_amb = 1;
	cr.cap_inh = mk_hex(status, "CapInh:");
	cr.cap_prm = mk_hex(status, "CapPrm:");
	cr.cap_eff = mk_hex(status, "CapEff:");
	cr.cap_bnd = mk_hex(status, "CapBnd:");
	cr.cap_amb = mk_hex(status, "CapAmb:");
	p.creds = &cr;
	r = mk_add(c, w, CRIMG_T_PROC, &p);
	free(status);
	free(stat);
	free(comm);
	return r;
}

static inline int mk_threads(struct mk_ctx *c, struct crimg_writer *w)
{
	for (int i = 0; i < c->nthreads; i++) {
		struct mk_thread *t = &c->t[i];
		Crimg__Thread m = CRIMG__THREAD__INIT;
		Crimg__Rseq rs = CRIMG__RSEQ__INIT;

		m.pid = (uint32_t)c->pid;
		m.tid = (uint32_t)t->tid;
		m.arch = 0xc000003e;
		m.gpregs.data = (uint8_t *)&t->img;
		m.gpregs.len = sizeof(t->img);
		m.has_xsave = 1;
		m.xsave.data = t->xsave;
		m.xsave.len = t->xsave_len;
		m.sigmask = t->sigmask;
		m.comm = t->comm;
		if (t->img.rip != t->regs.rip) {
			m.has_syscall_nr = 1;
			m.syscall_nr = (int64_t)t->regs.orig_rax;
		}
		/* test-only shortcut: glibc 2.36 keeps the tid (clear_child_tid)
		 * at 0x2d0 from the thread pointer; the real dump asks the kernel */
		m.has_clear_child_tid = 1;
		m.clear_child_tid = t->img.fs_base + 0x2d0;
		if (t->has_rseq) {
			rs.addr = t->rseq.rseq_abi_pointer;
			rs.len = t->rseq.rseq_abi_size;
			rs.sig = t->rseq.signature;
			m.rseq = &rs;
		}
		if (mk_add(c, w, CRIMG_T_THREAD, &m) < 0)
			return -1;
	}
	return 0;
}

static inline int mk_sigactions(struct mk_ctx *c, struct crimg_writer *w)
{
	Crimg__SigActions m = CRIMG__SIG_ACTIONS__INIT;
	Crimg__SigAction acts[64], *ptrs[64];
	uint64_t scratch = (c->t[0].regs.rsp - 1024) & ~63ull;
	uint8_t b[2];
	int n = 0;

	if (pread(c->memfd, b, 2, (off_t)(c->t[0].regs.rip - 2)) != 2 || b[0] != 0x0f || b[1] != 0x05)
		return mk_fail(c, "the victim's main thread is not stopped in a system call");
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t k[4];
		long r;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		r = mk_inject(c, SYS_rt_sigaction, sig, 0, (long)scratch, 8);
		if (r < 0)
			continue;
		if (pread(c->memfd, k, sizeof(k), (off_t)scratch) != sizeof(k))
			return mk_fail(c, "read the sigaction of %d", sig);
		if (k[0] == 0) /* SIG_DFL */
			continue;
		acts[n] = (Crimg__SigAction)CRIMG__SIG_ACTION__INIT;
		acts[n].sig = (uint32_t)sig;
		acts[n].handler = k[0];
		acts[n].flags = k[1];
		acts[n].has_restorer = 1;
		acts[n].restorer = k[2];
		acts[n].mask = k[3];
		ptrs[n] = &acts[n];
		n++;
	}
	m.pid = (uint32_t)c->pid;
	m.n_actions = (size_t)n;
	m.actions = ptrs;
	return mk_add(c, w, CRIMG_T_SIGACTIONS, &m);
}

static inline int mk_files(struct mk_ctx *c, struct crimg_writer *w)
{
	Crimg__Files m = CRIMG__FILES__INIT;
	Crimg__Fd fds[256], *ptrs[256];
	char paths[256][256];
	char dpath[64];
	DIR *d;
	struct dirent *e;
	int n = 0, r;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", (int)c->pid);
	d = opendir(dpath);
	if (!d)
		return mk_fail(c, "open %s", dpath);
	while ((e = readdir(d)) && n < 256) {
		char p[600], *info;
		struct stat st;
		ssize_t l;
		unsigned long long pos = 0, flags = 0;

		if (e->d_name[0] == '.')
			continue;
		fds[n] = (Crimg__Fd)CRIMG__FD__INIT;
		fds[n].fd = atoi(e->d_name);
		snprintf(p, sizeof(p), "%s/%s", dpath, e->d_name);
		l = readlink(p, paths[n], sizeof(paths[n]) - 1);
		paths[n][l > 0 ? l : 0] = 0;
		if (stat(p, &st) < 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fdinfo/%s", (int)c->pid, e->d_name);
		info = mk_readfile(p, NULL);
		if (info) {
			char *q = strstr(info, "pos:");

			if (q)
				pos = strtoull(q + 4, NULL, 10);
			q = strstr(info, "flags:");
			if (q)
				flags = strtoull(q + 6, NULL, 8);
			free(info);
		}
		fds[n].flags = (uint32_t)flags & ~(uint32_t)O_CLOEXEC;
		fds[n].cloexec = (flags & O_CLOEXEC) != 0;
		fds[n].has_pos = 1;
		fds[n].pos = (int64_t)pos;
		fds[n].has_mode = 1;
		fds[n].mode = st.st_mode;
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			fds[n].kind = CRIMG__FD_KIND__FD_REG;
		else if (S_ISCHR(st.st_mode))
			fds[n].kind = CRIMG__FD_KIND__FD_CHR;
		else if (S_ISFIFO(st.st_mode))
			fds[n].kind = CRIMG__FD_KIND__FD_PIPE;
		else if (S_ISSOCK(st.st_mode))
			fds[n].kind = CRIMG__FD_KIND__FD_UNIX;
		else
			fds[n].kind = CRIMG__FD_KIND__FD_OTHER;
		if (paths[n][0] == '/')
			fds[n].path = paths[n];
		ptrs[n] = &fds[n];
		n++;
	}
	closedir(d);
	m.pid = (uint32_t)c->pid;
	m.n_fds = (size_t)n;
	m.fds = ptrs;
	r = mk_add(c, w, CRIMG_T_FILES, &m);
	return r;
}

struct mk_vma {
	uint64_t start, end, pgoff;
	uint32_t prot, flags, kind;
	char path[512];
	bool pages;
};

static inline int mk_mm(struct mk_ctx *c, struct crimg_writer *w, struct mk_vma *v, int *nv)
{
	Crimg__Mm m = CRIMG__MM__INIT;
	Crimg__Vma vm[512], *ptrs[512];
	char path[64], *maps, *smaps, *stat, *line, *save = NULL;
	uint64_t auxv[128];
	size_t alen = 0;
	char *aux;
	int n = 0, r;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)c->pid);
	maps = mk_readfile(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)c->pid);
	smaps = mk_readfile(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
	stat = mk_readfile(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)c->pid);
	aux = mk_readfile(path, &alen);
	if (!maps || !smaps || !stat || !aux)
		return mk_fail(c, "read /proc/%d maps", (int)c->pid);
	for (line = strtok_r(maps, "\n", &save); line && n < 512; line = strtok_r(NULL, "\n", &save)) {
		struct mk_vma *x = &v[n];
		char perms[8], name[512] = "";
		unsigned long long s, e, off;
		char *sm, key[64];

		memset(x, 0, sizeof(*x));
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511[^\n]", &s, &e, perms, &off, name) < 4)
			continue;
		x->start = s, x->end = e, x->pgoff = off;
		x->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		x->flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
		snprintf(key, sizeof(key), "%llx-%llx ", s, e);
		sm = strstr(smaps, key);
		if (sm) {
			char *vf = strstr(sm, "VmFlags:");

			if (vf && strstr(vf, " gd") && strstr(vf, " gd") < strchr(vf, '\n'))
				x->flags |= MAP_GROWSDOWN;
		}
		if (!strcmp(name, "[vdso]"))
			x->kind = CRIMG__VMA_KIND__VMA_VDSO;
		else if (!strcmp(name, "[vvar]"))
			x->kind = CRIMG__VMA_KIND__VMA_VVAR;
		else if (!strcmp(name, "[vvar_vclock]"))
			x->kind = CRIMG__VMA_KIND__VMA_VVAR_VCLOCK;
		else if (!strcmp(name, "[vsyscall]"))
			x->kind = CRIMG__VMA_KIND__VMA_VSYSCALL;
		else if (name[0] == '/' && strstr(name, " (deleted)") == NULL && x->flags & MAP_SHARED &&
			 strncmp(name, "/dev/zero", 9) && strncmp(name, "/memfd:", 7))
			x->kind = CRIMG__VMA_KIND__VMA_FILE_SHARED;
		else if (x->flags & MAP_SHARED)
			x->kind = CRIMG__VMA_KIND__VMA_ANON_SHARED;
		else if (name[0] == '/')
			x->kind = CRIMG__VMA_KIND__VMA_FILE_PRIVATE;
		else if (!x->prot)
			x->kind = CRIMG__VMA_KIND__VMA_GUARD;
		else
			x->kind = CRIMG__VMA_KIND__VMA_ANON_PRIVATE;
		if (name[0] == '/')
			snprintf(x->path, sizeof(x->path), "%s", name);
		x->pages = x->kind == CRIMG__VMA_KIND__VMA_VDSO ||
			   x->kind == CRIMG__VMA_KIND__VMA_ANON_PRIVATE ||
			   x->kind == CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
			   x->kind == CRIMG__VMA_KIND__VMA_ANON_SHARED ||
			   x->kind == CRIMG__VMA_KIND__VMA_GUARD;
		vm[n] = (Crimg__Vma)CRIMG__VMA__INIT;
		vm[n].start = x->start;
		vm[n].end = x->end;
		vm[n].pgoff = x->kind == CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
			      x->kind == CRIMG__VMA_KIND__VMA_FILE_SHARED ? x->pgoff : 0;
		vm[n].prot = x->prot;
		vm[n].flags = x->flags;
		vm[n].kind = x->kind;
		if (x->path[0] && (x->kind == CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
				   x->kind == CRIMG__VMA_KIND__VMA_FILE_SHARED))
			vm[n].path = x->path;
		if (x->kind == CRIMG__VMA_KIND__VMA_ANON_SHARED) {
			vm[n].has_shmid = 1;
			vm[n].shmid = x->start;
		}
		ptrs[n] = &vm[n];
		n++;
	}
	*nv = n;
	{
		const char *rp = strrchr(stat, ')') + 2;
		unsigned long long f[64] = { 0 };
		int k = 3;

		/* fields from 3 (state is a char) */
		while (*rp && *rp != ' ')
			rp++;
		while (*rp && k < 53) {
			f[++k - 1] = strtoull(rp, (char **)&rp, 10);
		}
		m.has_start_code = 1, m.start_code = f[25];
		m.has_end_code = 1, m.end_code = f[26];
		m.has_start_stack = 1, m.start_stack = f[27];
		m.has_start_data = 1, m.start_data = f[44];
		m.has_end_data = 1, m.end_data = f[45];
		m.has_start_brk = 1, m.start_brk = f[46];
		m.has_arg_start = 1, m.arg_start = f[47];
		m.has_arg_end = 1, m.arg_end = f[48];
		m.has_env_start = 1, m.env_start = f[49];
		m.has_env_end = 1, m.env_end = f[50];
		m.has_brk = 1, m.brk = f[46];
		for (int i = 0; i < n; i++)
			if (v[i].start <= m.start_brk && v[i].end > m.start_brk && m.start_brk)
				m.brk = v[i].end;
	}
	memcpy(auxv, aux, alen < sizeof(auxv) ? alen : sizeof(auxv));
	m.n_auxv = (alen < sizeof(auxv) ? alen : sizeof(auxv)) / 8;
	m.auxv = auxv;
	m.pid = (uint32_t)c->pid;
	m.n_vmas = (size_t)n;
	m.vmas = ptrs;
	r = mk_add(c, w, CRIMG_T_MM, &m);
	free(maps);
	free(smaps);
	free(stat);
	free(aux);
	return r;
}

static inline int mk_pages(struct mk_ctx *c, struct crimg_writer *w, struct mk_vma *v, int nv)
{
	char path[64];
	int pm;
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)c->pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0 || !buf)
		return mk_fail(c, "open %s", path);
	for (int i = 0; i < nv; i++) {
		uint64_t a = v[i].start;

		if (!v[i].pages)
			continue;
		while (a < v[i].end) {
			uint64_t run = a, e;
			size_t len = 0;

			/* the next run of pages worth dumping, up to cap */
			for (; run < v[i].end; run += 4096) {
				if (pread(pm, &e, 8, (off_t)(run / 4096 * 8)) != 8)
					e = 0;
				if (v[i].kind == CRIMG__VMA_KIND__VMA_VDSO ||
				    ((e >> 63 || (e >> 62 & 1)) &&
				     (!(e >> 61 & 1) || v[i].kind != CRIMG__VMA_KIND__VMA_FILE_PRIVATE)))
					break;
			}
			a = run;
			while (run < v[i].end && len < cap) {
				if (pread(pm, &e, 8, (off_t)(run / 4096 * 8)) != 8)
					e = 0;
				if (v[i].kind != CRIMG__VMA_KIND__VMA_VDSO &&
				    !((e >> 63 || (e >> 62 & 1)) &&
				      (!(e >> 61 & 1) || v[i].kind != CRIMG__VMA_KIND__VMA_FILE_PRIVATE)))
					break;
				run += 4096;
				len += 4096;
			}
			if (len) {
				uint64_t addr = a;
				struct iovec iov[2] = { { &addr, 8 }, { buf, len } };
				int r;

				if (pread(c->memfd, buf, len, (off_t)a) != (ssize_t)len)
					return mk_fail(c, "read memory at 0x%" PRIx64, a);
				r = crimg_writer__add_iov(w, CRIMG_T_PAGES, CRIMG_REC_REQUIRED, iov, 2, 0);
				if (r < 0) {
					errno = -r;
					return mk_fail(c, "write PAGES");
				}
			}
			a = run;
		}
	}
	close(pm);
	free(buf);
	return 0;
}

/* Tests of unknown records: one record of this type and flags is added
 * before the MM record (where 1) or after the pages (where 2). */
static uint32_t mk_extra_type, mk_extra_flags;
static int mk_extra_where;

static inline int mk_extra(struct mk_ctx *c, struct crimg_writer *w, int where)
{
	int r;

	if (mk_extra_where != where)
		return 0;
	r = crimg_writer__add_bytes(w, mk_extra_type, mk_extra_flags, "extra", 5);
	if (r < 0) {
		errno = -r;
		return mk_fail(c, "write the extra record");
	}
	return 0;
}

/* Writes a whole stream of the seized victim to fd.  0 or -1 (c->err). */
static inline int mk_write(struct mk_ctx *c, int fd)
{
	struct crimg_writer *w;
	struct crimg_writer_opts o = { .sz = sizeof(o), .producer = "restore-mkimg (test only)" };
	static struct mk_vma v[512];
	int nv = 0, r;

	r = crimg_writer__new(fd, &o, &w);
	if (r < 0) {
		errno = -r;
		return mk_fail(c, "writer");
	}
	if (mk_proc(c, w) < 0 || mk_threads(c, w) < 0 || mk_sigactions(c, w) < 0 ||
	    mk_files(c, w) < 0 || mk_extra(c, w, 1) < 0 || mk_mm(c, w, v, &nv) < 0 ||
	    mk_pages(c, w, v, nv) < 0 || mk_extra(c, w, 2) < 0) {
		crimg_writer__free(w);
		return -1;
	}
	r = crimg_writer__finish(w);
	crimg_writer__free(w);
	if (r < 0) {
		errno = -r;
		return mk_fail(c, "finish");
	}
	return 0;
}

#endif
