/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * freeze.c - freezing a process for a dump, handing the freeze from stage
 * to stage across execve, and ending it (kill, detach, or hand it to the
 * cgroup v2 freezer).  Reasons: docs/checkpoint.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "fd.h"

#define PF_KTHREAD 0x00200000ull
#define PF_EXITING 0x00000004ull

int fmt_err(char *buf, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (buf && len) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

int dump_err(struct crcore_dump *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	if (d->log)
		d->log(LOG_ERR, d->err, d->log_arg);
	return err;
}

void dump_log(struct crcore_dump *d, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!d->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->log(level, buf, d->log_arg);
}

int dump_add(struct crcore_dump *d, struct crimg_writer *w, uint32_t type,
	     const ProtobufCMessage *m)
{
	int r = crimg_writer__add_msg(w, type, CRIMG_REC_REQUIRED, m);

	if (r < 0)
		return dump_err(d, r, "cannot write the %s record: %s", crimg_type_info(type)->name,
				strerror(-r));
	return 0;
}

/* ---- what we refuse ---------------------------------------------------- */

static const char *fd_type_name(mode_t m, const char *link)
{
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISFIFO(m))
		return "pipe";
	if (S_ISBLK(m))
		return "block device";
	if (S_ISCHR(m))
		return "character device";
	if (!strncmp(link, "anon_inode:", 11))
		return link + 11;
	return "special file";
}

static int check_fds(pid_t pid, char *why, size_t len)
{
	char path[64], link[512];
	struct dirent *de;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return fmt_err(why, len, errno == ENOENT ? -ESRCH : -errno,
			       "cannot list the fds of %d: %s", (int)pid, strerror(errno));
	while (!err && (de = readdir(dir))) {
		struct stat st;
		char p[128];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
		{
			char rel[32];

			snprintf(rel, sizeof(rel), "fd/%d", fd);
			if (proc_readlink(pid, rel, link, sizeof(link)) < 0)
				continue; /* closed meanwhile */
		}
		if (stat(p, &st) < 0)
			continue;
		/* pipes, sockets, eventfd... (fd-dump.c): 1 supported, <0 refused */
		err = fd_dump_check(pid, fd, &st, link, why, len);
		if (err) {
			err = err < 0 ? err : 0;
			continue;
		}
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
			if (!strncmp(link, "/memfd:", 7))
				err = fmt_err(why, len, -EOPNOTSUPP,
					      "process %d: fd %d is a memfd (%s): not supported yet",
					      (int)pid, fd, link);
			else if (link[0] != '/')
				err = fmt_err(why, len, -EOPNOTSUPP,
					      "process %d: fd %d is %s: not supported yet", (int)pid,
					      fd, link);
			continue;
		}
		if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1)
			continue; /* /dev/null, zero, full, random, urandom */
		if (S_ISCHR(st.st_mode) && (major(st.st_rdev) == 4 || major(st.st_rdev) == 5 ||
					   (major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143)))
			err = fmt_err(why, len, -EOPNOTSUPP,
				      "process %d: fd %d is a terminal (%s): not supported yet",
				      (int)pid, fd, link);
		else
			err = fmt_err(why, len, -EOPNOTSUPP,
				      "process %d: fd %d is a %s (%s): not supported yet", (int)pid, fd,
				      fd_type_name(st.st_mode, link), link);
	}
	closedir(dir);
	return err;
}

static int check_vmas(pid_t pid, char *why, size_t len)
{
	struct proc_vma *v;
	size_t n;
	/* maps, not smaps: smaps walks every page table.  What only VmFlags
	 * tell (hugetlb, device memory, userfaultfd) cr-dumpmm refuses, still
	 * before the process could notice anything. */
	int r = proc_vmas_read(pid, false, &v, &n);

	if (r < 0)
		return fmt_err(why, len, r, "cannot read the mappings of %d: %s", (int)pid, strerror(-r));
	for (size_t i = 0; i < n && r >= 0; i++) {
		char w[400];

		r = dump_vma_kind(&v[i], w, sizeof(w));
		if (r < 0)
			fmt_err(why, len, r, "process %d: %s", (int)pid, w);
	}
	proc_vmas_free(v, n);
	return r < 0 ? r : 0;
}

/* Everything we refuse, from outside.  traced_ok: we are its tracer. */
static int check_process(pid_t pid, bool traced_ok, char *why, size_t len)
{
	struct proc_stat st;
	const char *f;
	char *status;
	int r;

	if (pid <= 0)
		return fmt_err(why, len, -ESRCH, "no such process %d", (int)pid);
	if (pid == getpid())
		return fmt_err(why, len, -EDEADLK, "%d is this process itself", (int)pid);
	r = proc_stat_read(pid, 0, &st);
	if (r < 0)
		return fmt_err(why, len, -ESRCH, "no such process %d", (int)pid);
	if (st.state == 'Z' || st.state == 'X')
		return fmt_err(why, len, -ESRCH, "process %d is dead (a zombie)", (int)pid);
	if (st.f[9] & PF_KTHREAD)
		return fmt_err(why, len, -EOPNOTSUPP, "%d is a kernel thread (%s): it cannot be checkpointed",
			       (int)pid, st.comm);
	status = proc_read("/proc/%d/status", (int)pid);
	if (!status)
		return fmt_err(why, len, -ESRCH, "no such process %d", (int)pid);
	f = proc_status_field(status, "Tgid");
	if (f && atoi(f) != pid) {
		int tgid = atoi(f);

		free(status);
		return fmt_err(why, len, -EINVAL, "%d is a thread of process %d: name the process",
			       (int)pid, tgid);
	}
	if (f && atoi(f) == getpid()) {
		free(status);
		return fmt_err(why, len, -EDEADLK, "%d is this process itself", (int)pid);
	}
	f = proc_status_field(status, "Seccomp");
	if (f && atoi(f) != 0) {
		int mode = atoi(f);

		free(status);
		return fmt_err(why, len, -EOPNOTSUPP, "process %d uses seccomp (mode %d): not supported yet",
			       (int)pid, mode);
	}
	f = proc_status_field(status, "TracerPid");
	if (f && atoi(f) != 0 && !(traced_ok && atoi(f) == getpid())) {
		int t = atoi(f);

		free(status);
		return fmt_err(why, len, -EBUSY, "process %d is already traced by %d", (int)pid, t);
	}
	free(status);
	r = check_fds(pid, why, len);
	if (r < 0)
		return r;
	return check_vmas(pid, why, len);
}

struct tree_check {
	bool traced_ok;
	char *why;
	size_t len;
};

/* A process that exited, or is on its way out, while we looked at it. */
static bool gone(pid_t pid)
{
	struct proc_stat st;

	return proc_stat_read(pid, 0, &st) < 0 || st.state == 'Z' || st.state == 'X' ||
	       (st.f[9] & PF_EXITING);
}

static int check_one(pid_t pid, void *arg)
{
	struct tree_check *c = arg;
	int r = check_process(pid, c->traced_ok, c->why, c->len);

	/* a descendant that ends meanwhile (a shell's short-lived command)
	 * is not ours to refuse: the seize skips it, and its zombie, if it
	 * is one by then, is dumped as such */
	if (r < 0 && gone(pid)) {
		if (c->why && c->len)
			c->why[0] = 0;
		return 0;
	}
	return r;
}

/* The root and every live descendant (zombies are dumped as such). */
static int check_tree(pid_t root, bool traced_ok, char *why, size_t len)
{
	struct tree_check c = { traced_ok, why, len };
	int r;

	fd_dump_set_root(root); /* holders of a pipe or socket inside the tree are fine */
	r = check_process(root, traced_ok, why, len);

	return r < 0 ? r : tree_walk(root, check_one, &c);
}

/* ---- seize, adopt, hand over --------------------------------------------- */

static void compel_log_cb(int level, const char *msg, void *arg)
{
	struct crcore_dump *d = arg;

	/* seizing a tree meets its zombies, which are dumped from /proc
	 * (tree-dump.c): not an error */
	if (level <= LOG_ERR && strstr(msg, "is a zombie or exiting"))
		level = LOG_DEBUG;
	if (d->log)
		d->log(level, msg, d->log_arg);
}

static int dump_new(const struct crcore_dump_opts *opts, struct crcore_dump_opts *o,
		    struct crcore_dump **ret)
{
	struct crcore_dump *d;

	memset(o, 0, sizeof(*o));
	if (opts) {
		if (opts->sz < offsetof(struct crcore_dump_opts, err))
			return -EINVAL;
		memcpy(o, opts, opts->sz < sizeof(*o) ? opts->sz : sizeof(*o));
	}
	if (o->flags & ~CRCORE_DUMP_CHECK_ONLY)
		return fmt_err(o->err, o->errlen, -EINVAL, "unknown dump flags %#x", o->flags);
	if (o->end > CRCORE_END_STOPPED)
		return fmt_err(o->err, o->errlen, -EINVAL, "unknown end mode %u", o->end);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->end = o->end;
	d->log = o->log;
	d->log_arg = o->log_arg;
	*ret = d;
	return 0;
}

static int seize_err(int r, pid_t pid, char *why, size_t len)
{
	switch (-r) {
	case EPERM:
		return fmt_err(why, len, r, "cannot seize %d: not allowed (needs CAP_SYS_PTRACE over it)",
			       (int)pid);
	case ESRCH:
		return fmt_err(why, len, r, "no such process %d (or it exited)", (int)pid);
	case EBUSY:
		return fmt_err(why, len, r, "process %d is already traced", (int)pid);
	case EDEADLK:
		return fmt_err(why, len, r, "%d is this process itself", (int)pid);
	default:
		return fmt_err(why, len, r, "cannot seize %d: %s", (int)pid, strerror(-r));
	}
}

CRCORE_API int crcore_dump__freeze(pid_t pid, const struct crcore_dump_opts *opts,
				   struct crcore_dump **ret)
{
	struct crcore_dump_opts o;
	struct crcore_dump *d;
	int r;

	r = dump_new(opts, &o, &d);
	if (r < 0)
		return r;
	d->pid = d->root = pid;
	r = check_tree(pid, false, o.err, o.errlen);
	if (r < 0 || (o.flags & CRCORE_DUMP_CHECK_ONLY)) {
		free(d);
		return r;
	}
	if (d->log)
		compel_set_log(compel_log_cb, d, LOG_DEBUG);
	r = compel_tree_seize(pid, NULL, &d->tree);
	if (r < 0) {
		free(d);
		return seize_err(r, pid, o.err, o.errlen);
	}
	d->proc = compel_tree__proc(d->tree, 0);
	/* Things may have changed between the check and the seize: the
	 * check that counts is the one done while frozen. */
	r = check_tree(pid, true, o.err, o.errlen);
	if (r == 0)
		r = tree_check_shared(d, o.err, o.errlen);
	if (r < 0) {
		crcore_dump__free(d);
		return r;
	}
	*ret = d;
	return 0;
}

CRCORE_API int crcore_dump__adopt(const struct crcore_dump_opts *opts, struct crcore_dump **ret)
{
	struct compel_seize_opts adopt_opts = { .sz = sizeof(adopt_opts), .flags = COMPEL_SEIZE_ADOPT };
	struct crcore_dump_opts o;
	struct crcore_dump *d;
	const char *p = getenv(CRCORE_DUMP_PID_ENV), *e = getenv(CRCORE_DUMP_END_ENV);
	int r;

	r = dump_new(opts, &o, &d);
	if (r < 0)
		return r;
	if (!p || atoi(p) <= 0) {
		free(d);
		return fmt_err(o.err, o.errlen, -ENOENT,
			       "no freeze to take over (%s is not set): run this stage after cr-freeze",
			       CRCORE_DUMP_PID_ENV);
	}
	d->pid = d->root = atoi(p);
	d->end = e ? (uint32_t)atoi(e) : CRCORE_END_KILL;
	if (d->end > CRCORE_END_STOPPED)
		d->end = CRCORE_END_KILL;
	if (d->log)
		compel_set_log(compel_log_cb, d, LOG_DEBUG);
	r = compel_tree_seize(d->pid, &adopt_opts, &d->tree);
	if (r < 0) {
		int pid = d->pid;

		free(d);
		if (r == -EPERM)
			return fmt_err(o.err, o.errlen, r,
				       "process %d is not frozen by this process (did a stage fail?)", pid);
		return seize_err(r, pid, o.err, o.errlen);
	}
	d->proc = compel_tree__proc(d->tree, 0);
	*ret = d;
	return 0;
}

CRCORE_API pid_t crcore_dump__pid(const struct crcore_dump *d)
{
	return d->root;
}

CRCORE_API uint32_t crcore_dump__end_mode(const struct crcore_dump *d)
{
	return d->end;
}

CRCORE_API const char *crcore_dump__errmsg(const struct crcore_dump *d)
{
	return d ? d->err : "";
}

CRCORE_API void crcore_dump__free(struct crcore_dump *d)
{
	if (!d)
		return;
	compel_tree_release(d->tree, 0);
	tree_dump_free(d);
	free(d);
}

CRCORE_API int crcore_dump__exec_next(struct crcore_dump *d, struct crimg_writer *w,
				      char *const argv[])
{
	char state[CRIMG_STATE_MAX], num[16];
	int r, e;

	if (!argv || !argv[0])
		return dump_err(d, -EINVAL, "no next stage");
	r = crimg_writer__export(w, state, sizeof(state));
	if (r < 0)
		return dump_err(d, r, "cannot hand the stream over: %s", strerror(-r));
	snprintf(num, sizeof(num), "%d", (int)d->root);
	if (setenv(CRIMG_STATE_ENV, state, 1) < 0 || setenv(CRCORE_DUMP_PID_ENV, num, 1) < 0)
		return dump_err(d, -errno, "setenv: %s", strerror(errno));
	snprintf(num, sizeof(num), "%u", d->end);
	if (setenv(CRCORE_DUMP_END_ENV, num, 1) < 0)
		return dump_err(d, -errno, "setenv: %s", strerror(errno));
	r = compel_tree_release(d->tree, COMPEL_RELEASE_KEEP);
	d->tree = NULL;
	d->proc = NULL;
	if (r < 0)
		dump_log(d, LOG_WARNING, "release before exec: %s", strerror(-r));
	execvp(argv[0], argv);
	e = errno;
	/* Still the tracer: take the threads back and let them run. */
	{
		struct compel_seize_opts adopt_opts = { .sz = sizeof(adopt_opts),
							.flags = COMPEL_SEIZE_ADOPT };

		if (compel_tree_seize(d->root, &adopt_opts, &d->tree) == 0)
			compel_tree_release(d->tree, 0);
		d->tree = NULL;
		d->proc = NULL;
	}
	return dump_err(d, -e, "cannot run the next stage %s: %s", argv[0], strerror(e));
}

/* ---- the end of a dump --------------------------------------------------- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int cg_dir(pid_t pid, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/cr-freeze/%d", CRCORE_FREEZER_ROOT, (int)pid) < (int)len ? 0 : -ENAMETOOLONG;
}

#define ORIGIN_XATTR "trusted.cr-freeze.origin"
#define ORIGIN_RUNDIR "/run/cr-freeze"

static int save_origin(pid_t pid, const char *dir, const char *origin)
{
	char path[128];
	int fd;

	if (setxattr(dir, ORIGIN_XATTR, origin, strlen(origin), 0) == 0)
		return 0;
	mkdir(ORIGIN_RUNDIR, 0700);
	snprintf(path, sizeof(path), ORIGIN_RUNDIR "/%d", (int)pid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, origin, strlen(origin)) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static int load_origin(pid_t pid, const char *dir, char *buf, size_t len)
{
	ssize_t n = getxattr(dir, ORIGIN_XATTR, buf, len - 1);
	char *s;

	if (n >= 0) {
		buf[n] = 0;
		return 0;
	}
	s = proc_read(ORIGIN_RUNDIR "/%d", (int)pid);
	if (!s)
		return -ENOENT;
	snprintf(buf, len, "%s", s);
	free(s);
	return 0;
}

static void forget_origin(pid_t pid)
{
	char path[128];

	snprintf(path, sizeof(path), ORIGIN_RUNDIR "/%d", (int)pid);
	unlink(path);
}

/* The cgroup v2 path of pid relative to the v2 root ("/..."). */
static int cg_origin(pid_t pid, char *buf, size_t len)
{
	char *s = proc_read("/proc/%d/cgroup", (int)pid), *p;

	if (!s)
		return -errno;
	for (p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "0::", 3)) {
			char *nl = strchr(p, '\n');

			if (nl)
				*nl = 0;
			snprintf(buf, len, "%s", p + 3);
			free(s);
			return 0;
		}
	}
	free(s);
	return -ENOENT;
}

static int cg_wait_event(const char *dir, const char *key, int want, int ms)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	for (int i = 0; i <= ms; i++) {
		char *s = proc_read("%s", path);
		const char *f;
		int v = -1;

		if (!s)
			return -errno;
		f = proc_status_field(s, key);
		if (!f) {
			/* cgroup.events uses "key value" */
			char *k = strstr(s, key);

			if (k)
				v = atoi(k + strlen(key) + 1);
		} else {
			v = atoi(f);
		}
		free(s);
		if (v == want)
			return 0;
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* The cgroup each process came from, for --thaw: the root's path, then a
 * line "PID PATH" for each process of the tree whose cgroup differs. */
static int tree_origins(struct crcore_dump *d, char *buf, size_t len)
{
	char o[512];
	size_t n, first;
	int r;

	r = cg_origin(d->root, buf, len);
	if (r < 0)
		return dump_err(d, r, "cannot find the cgroup v2 of %d: %s", (int)d->root,
				strerror(-r));
	n = first = strlen(buf);
	for (unsigned i = 1; i < compel_tree__nr_procs(d->tree); i++) {
		pid_t pid = compel_proc__pid(compel_tree__proc(d->tree, i));

		if (cg_origin(pid, o, sizeof(o)) < 0 || (strlen(o) == first && !strncmp(buf, o, first)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "\n%d %s", (int)pid, o);
		if (n >= len)
			return dump_err(d, -ENAMETOOLONG, "too many cgroups in the tree of %d",
					(int)d->root);
	}
	return 0;
}

/* The origin of pid in an origins text (see tree_origins). */
static void origin_of(const char *origins, pid_t pid, char *buf, size_t len)
{
	const char *nl = strchr(origins, '\n'), *p;
	char key[24];

	snprintf(buf, len, "%.*s", nl ? (int)(nl - origins) : (int)strlen(origins), origins);
	snprintf(key, sizeof(key), "\n%d ", (int)pid);
	p = strstr(origins, key);
	if (p) {
		p += strlen(key);
		nl = strchr(p, '\n');
		snprintf(buf, len, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
}

static int end_stopped(struct crcore_dump *d)
{
	char dir[256], origins[8192], path[700], num[16];
	unsigned moved = 0, nr = compel_tree__nr_procs(d->tree);
	int r;

	r = tree_origins(d, origins, sizeof(origins));
	if (r < 0)
		return r;
	cg_dir(d->root, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cr-freeze", CRCORE_FREEZER_ROOT);
	/* (twice: a --thaw elsewhere may remove the empty parent meanwhile) */
	for (int i = 0; i < 2; i++) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return dump_err(d, -errno, "cannot create %s: %s", path, strerror(errno));
		if (mkdir(dir, 0755) == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT || i)
			return dump_err(d, -errno, "cannot create %s: %s", dir, strerror(errno));
	}
	r = save_origin(d->root, dir, origins);
	if (r < 0)
		goto undo_dir;
	/* Freeze the empty cgroup first: a task that enters a frozen cgroup
	 * is frozen on its way out of the ptrace-stop, before any user code. */
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	r = write_file(path, "1");
	if (r < 0)
		goto undo_dir;
	/* every process of the tree, all still in their ptrace-stop */
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (moved = 0; moved < nr; moved++) {
		snprintf(num, sizeof(num), "%d",
			 (int)compel_proc__pid(compel_tree__proc(d->tree, moved)));
		r = write_file(path, num);
		if (r < 0)
			goto undo_dir;
	}
	r = compel_tree_release(d->tree, 0);
	d->tree = NULL;
	d->proc = NULL;
	if (r < 0)
		dump_log(d, LOG_WARNING, "detach: %s", strerror(-r));
	if (cg_wait_event(dir, "frozen", 1, 2000) < 0)
		dump_log(d, LOG_WARNING, "%s did not report frozen", dir);
	return 0;
undo_dir:
	dump_err(d, r, "cannot hand the tree of %d over to the cgroup freezer %s: %s",
		 (int)d->root, dir, strerror(-r));
	/* the processes moved so far go back (still traced: they never ran) */
	while (moved--) {
		char o[512], back[700];
		pid_t pid = compel_proc__pid(compel_tree__proc(d->tree, moved));

		origin_of(origins, pid, o, sizeof(o));
		snprintf(back, sizeof(back), "%s%s/cgroup.procs", CRCORE_FREEZER_ROOT, o);
		snprintf(num, sizeof(num), "%d", (int)pid);
		write_file(back, num);
	}
	rmdir(dir);
	forget_origin(d->root);
	return r;
}

int dump_end(struct crcore_dump *d, uint32_t mode)
{
	int r = 0;
	pid_t pid = d->root;

	tree_cur(d, ~0u);
	switch (mode) {
	case CRCORE_END_KILL:
		/* SIGKILL to a ptrace-stopped process acts at once: it never
		 * runs user code again.  Its memory is freed afterwards, which
		 * for a large process takes a while: we do not wait for that. */
		r = compel_tree_release(d->tree, COMPEL_RELEASE_KILL);
		d->tree = NULL;
		d->proc = NULL;
		if (r == -ESRCH)
			r = 0;
		break;
	case CRCORE_END_RUNNING:
		r = compel_tree_release(d->tree, 0);
		d->tree = NULL;
		d->proc = NULL;
		if (r < 0)
			dump_err(d, r, "cannot let the tree of %d run on: %s", (int)pid, strerror(-r));
		break;
	case CRCORE_END_STOPPED:
		r = end_stopped(d);
		break;
	default:
		r = dump_err(d, -EINVAL, "unknown end mode %u", mode);
	}
	return r;
}

CRCORE_API int crcore_dump__end(struct crcore_dump *d, uint32_t mode)
{
	int r;

	if (!d)
		return -EINVAL;
	r = dump_end(d, mode);
	crcore_dump__free(d);
	return r;
}

static int freezer_end(pid_t pid, bool kill_it, char *err, size_t errlen)
{
	char dir[256], origins[8192], path[800], num[24];
	int r;

	cg_dir(pid, dir, sizeof(dir));
	if (access(dir, F_OK) < 0)
		return fmt_err(err, errlen, -ENOENT, "process %d is not held by cr-freeze (no %s)",
			       (int)pid, dir);
	if (kill_it) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
		r = write_file(path, "1");
		if (r < 0)
			return fmt_err(err, errlen, r, "cannot kill the tasks of %s: %s", dir, strerror(-r));
		cg_wait_event(dir, "populated", 0, 2000);
	} else {
		char *procs, *p, *end;

		r = load_origin(pid, dir, origins, sizeof(origins));
		if (r < 0)
			snprintf(origins, sizeof(origins), "/");
		/* every process of the tree, each back where it came from
		 * (moving it out thaws it) */
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		procs = proc_read("%s", path);
		if (!procs)
			return fmt_err(err, errlen, -errno, "cannot read %s: %s", path, strerror(errno));
		for (p = procs, r = 0;; p = end) {
			long x = strtol(p, &end, 10);
			char origin[512];
			int e;

			if (end == p)
				break;
			origin_of(origins, (pid_t)x, origin, sizeof(origin));
			snprintf(path, sizeof(path), "%s%s/cgroup.procs", CRCORE_FREEZER_ROOT, origin);
			snprintf(num, sizeof(num), "%ld", x);
			e = write_file(path, num);
			if (e < 0) {
				/* the original cgroup is gone: the root */
				snprintf(path, sizeof(path), "%s/cgroup.procs", CRCORE_FREEZER_ROOT);
				e = write_file(path, num);
			}
			if (e < 0 && e != -ESRCH && !r)
				r = e;
		}
		free(procs);
		if (r < 0) {
			snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
			write_file(path, "0");
			return fmt_err(err, errlen, r, "cannot move the tree of %d out of %s: %s",
				       (int)pid, dir, strerror(-r));
		}
	}
	for (int i = 0; i < 400; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			break;
		sleep_ms(5);
	}
	forget_origin(pid);
	if (access(dir, F_OK) == 0)
		return fmt_err(err, errlen, -EBUSY, "cannot remove %s", dir);
	/* and the parent, once no other freeze is held there */
	snprintf(path, sizeof(path), "%s/cr-freeze", CRCORE_FREEZER_ROOT);
	rmdir(path);
	return 0;
}

CRCORE_API int crcore_freezer_thaw(pid_t pid, char *err, size_t errlen)
{
	return freezer_end(pid, false, err, errlen);
}

CRCORE_API int crcore_freezer_kill(pid_t pid, char *err, size_t errlen)
{
	return freezer_end(pid, true, err, errlen);
}
