/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-inside.c - the cr-parasite stage: what only the inside of the
 * process can tell (signal handlers, timers, rlimits, prctl state), read
 * with remote system calls through libcompel, and the open files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "dump.h"
#include "fd.h"

struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

static int write_sigactions(struct crcore_dump *d, struct crimg_writer *w)
{
	Crimg__SigActions m = CRIMG__SIG_ACTIONS__INIT;
	Crimg__SigAction acts[64], *ptrs[64];
	struct compel_thread *t = dump_worker(d);
	char *status = proc_read("/proc/%d/status", (int)d->pid);
	uint64_t set = 0, scratch;
	const char *f;
	size_t n = 0;
	int r;

	if (!status)
		return dump_err(d, -errno, "cannot read /proc/%d/status: %s", (int)d->pid,
				strerror(errno));
	/* Only the signals whose disposition is not the default. */
	f = proc_status_field(status, "SigCgt");
	if (f)
		set |= strtoull(f, NULL, 16);
	f = proc_status_field(status, "SigIgn");
	if (f)
		set |= strtoull(f, NULL, 16);
	free(status);
	r = dump_scratch(d, &scratch);
	if (r < 0)
		return r;
	for (int sig = 1; sig <= 64; sig++) {
		struct ksigaction ka;
		int64_t ret;

		if (!(set & (1ull << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		ret = dump_rsys(d, t, __NR_rt_sigaction, sig, 0, scratch, 8);
		if (ret < 0)
			return dump_err(d, (int)ret, "rt_sigaction(%d) in %d: %s", sig, (int)d->pid,
					strerror((int)-ret));
		r = dump_rread(d, scratch, &ka, sizeof(ka));
		if (r < 0)
			return dump_err(d, r, "cannot read the handler of signal %d: %s", sig,
					strerror(-r));
		if (ka.handler == (uint64_t)(uintptr_t)SIG_DFL)
			continue;
		acts[n] = (Crimg__SigAction)CRIMG__SIG_ACTION__INIT;
		acts[n].sig = sig;
		acts[n].handler = ka.handler;
		acts[n].flags = ka.flags;
		acts[n].has_restorer = 1;
		acts[n].restorer = ka.restorer;
		acts[n].mask = ka.mask;
		ptrs[n] = &acts[n];
		n++;
	}
	m.pid = d->pid;
	m.n_actions = n;
	m.actions = ptrs;
	return dump_add(d, w, CRIMG_T_SIGACTIONS, &m.base);
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

#define MAX_PTIMERS 256

static int write_misc(struct crcore_dump *d, struct crimg_writer *w)
{
	Crimg__ProcMisc m = CRIMG__PROC_MISC__INIT;
	Crimg__Itimer it[3], *itp[3];
	Crimg__Rlimit rl[RLIM_NLIMITS], *rlp[RLIM_NLIMITS];
	Crimg__PosixTimer *pt = NULL, **ptp = NULL;
	struct compel_thread *t = dump_worker(d);
	char *status, *timers, *s;
	const char *f;
	uint64_t scratch;
	size_t npt = 0;
	int64_t v;
	int r;

	r = dump_scratch(d, &scratch);
	if (r < 0)
		return r;
	m.pid = d->pid;
	for (int i = 0; i < 3; i++) {
		struct itimerval iv;

		v = dump_rsys(d, t, __NR_getitimer, i, scratch, 0, 0);
		if (v < 0 || dump_rread(d, scratch, &iv, sizeof(iv)) < 0)
			return dump_err(d, v < 0 ? (int)v : -EIO, "getitimer(%d) in %d failed", i,
					(int)d->pid);
		it[i] = (Crimg__Itimer)CRIMG__ITIMER__INIT;
		it[i].which = i;
		it[i].interval_ns = tv_ns(&iv.it_interval);
		it[i].value_ns = tv_ns(&iv.it_value);
		itp[i] = &it[i];
	}
	m.n_itimers = 3;
	m.itimers = itp;
	for (int i = 0; i < RLIM_NLIMITS; i++) {
		struct rlimit lim;

		v = dump_rsys(d, t, __NR_prlimit64, 0, i, 0, scratch);
		if (v < 0 || dump_rread(d, scratch, &lim, sizeof(lim)) < 0)
			return dump_err(d, v < 0 ? (int)v : -EIO, "prlimit64(%d) in %d failed", i,
					(int)d->pid);
		rl[i] = (Crimg__Rlimit)CRIMG__RLIMIT__INIT;
		rl[i].resource = i;
		rl[i].cur = lim.rlim_cur;
		rl[i].max = lim.rlim_max;
		rlp[i] = &rl[i];
	}
	m.n_rlimits = RLIM_NLIMITS;
	m.rlimits = rlp;
	/* POSIX timers: /proc lists them, the inside gives their times. */
	timers = proc_read("/proc/%d/timers", (int)d->pid);
	if (timers) {
		for (s = timers; (s = strstr(s, "ID: ")); s++) {
			Crimg__PosixTimer *x;
			struct itimerspec its;
			char how[16] = "", who[8] = "";
			unsigned long long sival = 0;
			int id = atoi(s + 4), signo = 0, ntid = 0, clk = 0;
			char *p;

			if (s != timers && s[-1] != '\n')
				continue; /* "ClockID: " is not a timer */
			if (npt % 16 == 0) {
				void *a = realloc(pt, (npt + 16) * sizeof(*pt));
				void *b = a ? realloc(ptp, (npt + 16) * sizeof(*ptp)) : NULL;

				if (a)
					pt = a;
				if (b)
					ptp = b;
				if (!a || !b) {
					r = -ENOMEM;
					goto out;
				}
			}
			x = &pt[npt];
			*x = (Crimg__PosixTimer)CRIMG__POSIX_TIMER__INIT;
			p = strstr(s, "signal: ");
			if (p)
				sscanf(p, "signal: %d/%llx", &signo, &sival);
			p = strstr(s, "notify: ");
			if (p)
				sscanf(p, "notify: %15[a-z]/%7[a-z].%d", how, who, &ntid);
			p = strstr(s, "ClockID: ");
			if (p)
				clk = atoi(p + 9);
			x->id = id;
			x->clock = clk;
			x->notify = !strcmp(how, "none") ? SIGEV_NONE :
				    !strcmp(how, "thread") ? SIGEV_THREAD : SIGEV_SIGNAL;
			if (!strcmp(who, "tid")) {
				x->notify |= SIGEV_THREAD_ID;
				x->has_notify_tid = 1;
				x->notify_tid = ntid;
			}
			x->has_signo = 1;
			x->signo = signo;
			x->has_sival = 1;
			x->sival = sival;
			v = dump_rsys(d, t, __NR_timer_gettime, id, scratch, 0, 0);
			if (v < 0 || dump_rread(d, scratch, &its, sizeof(its)) < 0) {
				r = dump_err(d, v < 0 ? (int)v : -EIO, "timer_gettime(%d) in %d failed", id,
					     (int)d->pid);
				goto out;
			}
			x->interval_ns = ts_ns(&its.it_interval);
			x->value_ns = ts_ns(&its.it_value);
			v = dump_rsys(d, t, __NR_timer_getoverrun, id, 0, 0, 0);
			if (v >= 0) {
				x->has_overrun = 1;
				x->overrun = (uint32_t)v;
			}
			ptp[npt] = x;
			npt++;
		}
	}
	m.n_posix_timers = npt;
	m.posix_timers = ptp;
	s = proc_read("/proc/%d/personality", (int)d->pid);
	if (s) {
		m.has_personality = 1;
		m.personality = strtoul(s, NULL, 16);
		free(s);
	}
	status = proc_read("/proc/%d/status", (int)d->pid);
	if (status) {
		f = proc_status_field(status, "Umask");
		if (f) {
			m.has_umask = 1;
			m.umask = strtoul(f, NULL, 8);
		}
		f = proc_status_field(status, "NoNewPrivs");
		if (f) {
			m.has_no_new_privs = 1;
			m.no_new_privs = atoi(f) != 0;
		}
		free(status);
	}
	v = dump_rsys(d, t, __NR_prctl, PR_GET_DUMPABLE, 0, 0, 0);
	if (v >= 0) {
		m.has_dumpable = 1;
		m.dumpable = (uint32_t)v;
	}
	if (dump_rsys(d, t, __NR_prctl, PR_GET_CHILD_SUBREAPER, scratch, 0, 0) == 0) {
		int cs;

		if (dump_rread(d, scratch, &cs, sizeof(cs)) == 0) {
			m.has_child_subreaper = 1;
			m.child_subreaper = cs != 0;
		}
	}
	v = dump_rsys(d, t, __NR_prctl, PR_GET_THP_DISABLE, 0, 0, 0);
	if (v >= 0) {
		m.has_thp_disable = 1;
		m.thp_disable = (uint32_t)v;
	}
	v = dump_rsys(d, t, __NR_prctl, PR_GET_TIMERSLACK, 0, 0, 0);
	if (v >= 0) {
		m.has_timerslack_ns = 1;
		m.timerslack_ns = (uint32_t)v;
	}
	r = dump_add(d, w, CRIMG_T_PROC_MISC, &m.base);
out:
	free(timers);
	free(pt);
	free(ptp);
	return r;
}

/* ---- files ------------------------------------------------------------- */

struct fdent {
	Crimg__Fd fd;
	char *link;     /* /proc/PID/fd/N as read (fd-dump.c parses it) */
	char *path;     /* Fd.path: the link, without " (deleted)" */
	char *info;     /* /proc/PID/fdinfo/N as read (fd-dump.c too), or NULL */
};

static int fd_cmp(const void *a, const void *b)
{
	return (*(Crimg__Fd *const *)a)->fd - (*(Crimg__Fd *const *)b)->fd;
}

static int write_file_data(struct crcore_dump *d, struct crimg_writer *w, int fd, uint64_t size)
{
	char path[64];
	uint8_t hdr[8], *buf;
	uint64_t left = size;
	int src, r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)d->pid, fd);
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return dump_err(d, -errno, "cannot open the deleted file of fd %d: %s", fd,
				strerror(errno));
	buf = malloc(1 << 20);
	if (!buf) {
		close(src);
		return -ENOMEM;
	}
	for (int i = 0; i < 4; i++)
		hdr[i] = (uint8_t)((uint32_t)d->pid >> (8 * i)), hdr[4 + i] = (uint8_t)((uint32_t)fd >> (8 * i));
	r = crimg_writer__begin_raw(w, CRIMG_T_FILE_DATA, CRIMG_REC_REQUIRED, 8 + size);
	if (r == 0)
		r = crimg_writer__write_raw(w, &(struct iovec){ hdr, 8 }, 1, 0);
	while (r == 0 && left) {
		size_t want = left < (1u << 20) ? (size_t)left : (1u << 20);
		ssize_t n = pread(src, buf, want, (off_t)(size - left));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the file shrank: pad with zeroes, the size was recorded */
			memset(buf, 0, want);
			n = (ssize_t)want;
		}
		r = crimg_writer__write_raw(w, &(struct iovec){ buf, (size_t)n }, 1, 0);
		left -= (uint64_t)n;
	}
	if (r == 0)
		r = crimg_writer__end_raw(w, NULL);
	free(buf);
	close(src);
	if (r < 0)
		return dump_err(d, r, "cannot write the contents of fd %d: %s", fd, strerror(-r));
	return 0;
}

static int write_files(struct crcore_dump *d, struct crimg_writer *w)
{
	Crimg__Files m = CRIMG__FILES__INIT;
	struct fdent *e = NULL;
	struct fd_dump *fdd = NULL;
	Crimg__Fd **ptrs = NULL;
	struct fd_seen *seen = NULL;
	bool *first = NULL;
	char dpath[64], link[4096];
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *dir;
	int r = 0;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", (int)d->pid);
	dir = opendir(dpath);
	if (!dir)
		return dump_err(d, -errno, "cannot list %s: %s", dpath, strerror(errno));
	while ((de = readdir(dir))) {
		struct fdent *x;
		char p[128], *q, rel[32];
		unsigned long long flags = 0, pos = 0;
		struct stat st;
		size_t l;

		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			struct fdent *ne = realloc(e, (cap = cap ? cap * 2 : 64) * sizeof(*ne));

			if (!ne) {
				r = -ENOMEM;
				goto out;
			}
			e = ne;
		}
		x = &e[n];
		x->fd = (Crimg__Fd)CRIMG__FD__INIT;
		x->fd.fd = atoi(de->d_name);
		x->link = x->path = x->info = NULL;
		snprintf(rel, sizeof(rel), "fd/%d", x->fd.fd);
		if (proc_readlink(d->pid, rel, link, sizeof(link)) < 0)
			continue;
		x->link = strdup(link);
		x->path = strdup(link);
		if (!x->link || !x->path) {
			free(x->link);
			free(x->path);
			r = -ENOMEM;
			goto out;
		}
		snprintf(p, sizeof(p), "%s/%d", dpath, x->fd.fd);
		if (stat(p, &st) < 0) {
			/* closed meanwhile (an fd of ours, or a thread's) */
			free(x->link);
			free(x->path);
			continue;
		}
		x->info = proc_read("/proc/%d/fdinfo/%d", (int)d->pid, x->fd.fd);
		if (x->info) {
			q = strstr(x->info, "pos:");
			if (q)
				pos = strtoull(q + 4, NULL, 10);
			q = strstr(x->info, "flags:");
			if (q)
				flags = strtoull(q + 6, NULL, 8);
		}
		x->fd.flags = (uint32_t)flags & ~(uint32_t)O_CLOEXEC;
		x->fd.cloexec = (flags & O_CLOEXEC) != 0;
		x->fd.has_pos = 1;
		x->fd.pos = (int64_t)pos;
		x->fd.has_mode = 1;
		x->fd.mode = st.st_mode;
		x->fd.has_dev = 1;
		x->fd.dev = st.st_dev;
		x->fd.has_ino = 1;
		x->fd.ino = st.st_ino;
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			x->fd.has_rdev = 1;
			x->fd.rdev = st.st_rdev;
		}
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			x->fd.kind = CRIMG__FD_KIND__FD_REG;
		else if (S_ISCHR(st.st_mode))
			x->fd.kind = CRIMG__FD_KIND__FD_CHR;
		else if (S_ISFIFO(st.st_mode))
			x->fd.kind = CRIMG__FD_KIND__FD_PIPE;
		else if (S_ISSOCK(st.st_mode))
			x->fd.kind = CRIMG__FD_KIND__FD_UNIX;
		else
			x->fd.kind = CRIMG__FD_KIND__FD_OTHER;
		l = strlen(x->path);
		if (S_ISREG(st.st_mode) && st.st_nlink == 0 && l > 10 &&
		    !strcmp(x->path + l - 10, " (deleted)")) {
			x->path[l - 10] = 0;
			x->fd.has_deleted = 1;
			x->fd.deleted = 1;
		}
		if (S_ISREG(st.st_mode)) {
			x->fd.has_size = 1;
			x->fd.size = (uint64_t)st.st_size;
		}
		n++;
	}
	/* e moves no more: point into it */
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (!ptrs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].path[0] == '/')
			e[i].fd.path = e[i].path;
		ptrs[i] = &e[i].fd;
	}
	qsort(ptrs, n, sizeof(*ptrs), fd_cmp);
	/* The identity of the open file description, tree-wide: the lowest
	 * fd that shares it (dup, dup2, F_DUPFD) in the first process of the
	 * stream that has it; in the root that is the fd, in another process
	 * pid << 32 | fd (docs/trees.md).  first: this fd carries its state. */
	first = calloc(n ? n : 1, sizeof(*first));
	if (!first) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j;

		ptrs[i]->has_id = 1;
		ptrs[i]->id = (uint64_t)ptrs[i]->fd;
		for (j = 0; j < i; j++) {
			/* one description is one inode: kcmp only those (a
			 * process with thousands of fds) */
			if (ptrs[j]->dev != ptrs[i]->dev || ptrs[j]->ino != ptrs[i]->ino)
				continue;
			if (syscall(SYS_kcmp, d->pid, d->pid, KCMP_FILE, ptrs[j]->fd, ptrs[i]->fd) == 0) {
				ptrs[i]->id = ptrs[j]->id;
				break;
			}
		}
		if (j == i) {
			r = tree_fd_id(d, ptrs[i]->fd, ptrs[i]->dev, ptrs[i]->ino, &ptrs[i]->id);
			if (r < 0)
				goto out;
			first[i] = r > 0;
			r = 0;
		}
	}
	/* the state of pipes, sockets, eventfds... (fd-dump.c), from what
	 * we read of /proc already */
	seen = calloc(n ? n : 1, sizeof(*seen));
	if (!seen) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fdent *x = (const struct fdent *)((char *)ptrs[i] - offsetof(struct fdent, fd));

		seen[i] = (struct fd_seen){ x->link, x->info };
	}
	r = fd_dump_fill(d, ptrs, seen, n, &fdd);
	if (r < 0)
		goto out;
	m.pid = d->pid;
	m.n_fds = n;
	m.fds = ptrs;
	r = dump_add(d, w, CRIMG_T_FILES, &m.base);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (ptrs[i]->deleted && first[i])
			r = write_file_data(d, w, ptrs[i]->fd, ptrs[i]->size);
out:
	free(first);
	closedir(dir);
	fd_dump_free(fdd);
	for (size_t i = 0; i < n; i++) {
		free(e[i].link);
		free(e[i].path);
		free(e[i].info);
	}
	free(seen);
	free(e);
	free(ptrs);
	return r;
}

static int write_inside_one(struct crcore_dump *d, struct crimg_writer *w)
{
	int r;

	r = write_sigactions(d, w);
	if (r == 0)
		r = write_misc(d, w);
	if (r == 0)
		r = write_files(d, w);
	dump_scratch_drop(d);
	return r;
}

/* Every process of the tree in turn. */
CRCORE_API int crcore_dump__write_inside(struct crcore_dump *d, struct crimg_writer *w)
{
	unsigned i;
	int r = 0;

	tree_for_each(d, i) {
		r = write_inside_one(d, w);
		if (r < 0) {
			tree_cur(d, ~0u);
			break;
		}
	}
	return r;
}
