/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree-dump.c - the dump of a process tree: which process a stage is
 * writing, the zombies, and what processes share (open file descriptions,
 * shared memory objects) so that it is written once.  Design and reasons:
 * docs/trees.md.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "dump.h"

struct tree_fd {
	pid_t pid;
	int fd;
	uint64_t dev, ino, id;
};

struct tree_shm {
	uint64_t dev, ino, lo, hi;
};

struct tree_dump {
	struct tree_fd *fds;
	size_t nfds, capfds;
	struct tree_shm *shm;
	size_t nshm, capshm;
	struct tree_shm *objs;        /* pipes claimed (tree_obj_claim): dev, ino */
	size_t nobjs;
};

static struct tree_dump *td_get(struct crcore_dump *d)
{
	if (!d->td)
		d->td = calloc(1, sizeof(*d->td));
	return d->td;
}

void tree_dump_free(struct crcore_dump *d)
{
	if (!d->td)
		return;
	free(d->td->fds);
	free(d->td->shm);
	free(d->td->objs);
	free(d->td);
	d->td = NULL;
}

bool tree_obj_claim(struct crcore_dump *d, uint64_t dev, uint64_t ino)
{
	struct tree_dump *td = td_get(d);
	struct tree_shm *n;

	if (!td)
		return true; /* out of memory: the state is written again, never lost */
	for (size_t i = 0; i < td->nobjs; i++)
		if (td->objs[i].dev == dev && td->objs[i].ino == ino)
			return false;
	n = realloc(td->objs, (td->nobjs + 1) * sizeof(*n));
	if (!n)
		return true;
	td->objs = n;
	td->objs[td->nobjs++] = (struct tree_shm){ dev, ino, 0, 0 };
	return true;
}

bool tree_cur(struct crcore_dump *d, unsigned i)
{
	struct compel_proc *p = compel_tree__proc(d->tree, i);

	if (!p) {
		d->proc = compel_tree__proc(d->tree, 0);
		d->pid = d->root;
		return false;
	}
	d->proc = p;
	d->pid = compel_proc__pid(p);
	return true;
}

static bool in_tree(struct crcore_dump *d, pid_t pid)
{
	for (unsigned i = 0; i < compel_tree__nr_procs(d->tree); i++)
		if (compel_proc__pid(compel_tree__proc(d->tree, i)) == pid)
			return true;
	return false;
}

/* The children of pid (every thread's), as a malloc'd array. */
static int read_children(pid_t pid, pid_t **ret, size_t *nr)
{
	char path[64];
	struct dirent *de;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((de = readdir(dir))) {
		char *c, *s, *end;

		if (de->d_name[0] == '.')
			continue;
		c = proc_read("/proc/%d/task/%s/children", (int)pid, de->d_name);
		if (!c)
			continue;
		for (s = c;; s = end) {
			long x = strtol(s, &end, 10);

			if (end == s)
				break;
			if (n == cap) {
				pid_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

				if (!nv) {
					free(c);
					free(v);
					closedir(dir);
					return -ENOMEM;
				}
				v = nv;
			}
			v[n++] = (pid_t)x;
		}
		free(c);
	}
	closedir(dir);
	*ret = v;
	*nr = n;
	return 0;
}

int tree_walk(pid_t root, int (*check)(pid_t pid, void *arg), void *arg)
{
	pid_t *todo = NULL, *kids;
	size_t n = 0, cap = 0, nk;
	int r = 0;

	if (read_children(root, &kids, &nk) < 0)
		return 0; /* the root's own check reports it */
	todo = kids, n = nk, cap = nk;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct proc_stat st;

		if (proc_stat_read(todo[i], 0, &st) < 0 || st.state == 'Z' || st.state == 'X')
			continue;
		r = check(todo[i], arg);
		if (r < 0 || read_children(todo[i], &kids, &nk) < 0)
			continue;
		if (n + nk > cap) {
			pid_t *nv = realloc(todo, (cap = (n + nk) * 2) * sizeof(*todo));

			if (!nv) {
				free(kids);
				r = -ENOMEM;
				break;
			}
			todo = nv;
		}
		if (nk)
			memcpy(todo + n, kids, nk * sizeof(*kids));
		n += nk;
		free(kids);
	}
	free(todo);
	return r;
}

int tree_write_zombies(struct crcore_dump *d, struct crimg_writer *w)
{
	unsigned i;
	int r = 0;

	tree_for_each(d, i) {
		pid_t *kids = NULL;
		size_t nk = 0;
		pid_t parent = d->pid;

		if (read_children(parent, &kids, &nk) < 0)
			continue;
		for (size_t k = 0; k < nk && r == 0; k++) {
			Crimg__Proc m = CRIMG__PROC__INIT;
			struct proc_stat st;
			uint32_t tid;

			if (in_tree(d, kids[k]) || proc_stat_read(kids[k], 0, &st) < 0 ||
			    st.state != 'Z')
				continue;
			tid = (uint32_t)kids[k];
			m.pid = (uint32_t)kids[k];
			m.ppid = (uint32_t)parent;
			m.pgid = (uint32_t)st.f[5];
			m.sid = (uint32_t)st.f[6];
			m.n_tids = 1;
			m.tids = &tid;
			m.comm = st.comm;
			m.has_state = 1;
			m.state = 'Z';
			m.has_start_time = 1;
			m.start_time = st.f[22];
			m.has_exit_signal = 1;
			m.exit_signal = (uint32_t)st.f[38];
			/* stat field 52: the wait status the parent will get */
			m.has_exit_status = 1;
			m.exit_status = (uint32_t)st.f[52];
			dump_log(d, LOG_DEBUG, "zombie %d of %d, status %#x", (int)m.pid, (int)parent,
				 m.exit_status);
			r = dump_add(d, w, CRIMG_T_PROC, &m.base);
		}
		free(kids);
		if (r < 0) {
			tree_cur(d, ~0u);
			break;
		}
	}
	return r;
}

int tree_fd_id(struct crcore_dump *d, int fd, uint64_t dev, uint64_t ino, uint64_t *id)
{
	struct tree_dump *td = td_get(d);
	struct tree_fd *x;

	if (!td)
		return -ENOMEM;
	for (size_t i = 0; i < td->nfds; i++) {
		x = &td->fds[i];
		if (x->pid == d->pid || x->dev != dev || x->ino != ino)
			continue;
		if (syscall(SYS_kcmp, x->pid, d->pid, KCMP_FILE, x->fd, fd) == 0) {
			*id = x->id;
			return 0;
		}
	}
	if (d->pid != d->root)
		*id = ((uint64_t)(uint32_t)d->pid << 32) | (uint32_t)fd;
	if (td->nfds == td->capfds) {
		size_t cap = td->capfds ? td->capfds * 2 : 64;
		struct tree_fd *n = realloc(td->fds, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		td->fds = n;
		td->capfds = cap;
	}
	td->fds[td->nfds++] = (struct tree_fd){ d->pid, fd, dev, ino, *id };
	return 1;
}

bool tree_shm_seen(struct crcore_dump *d, uint64_t dev, uint64_t ino, uint64_t lo, uint64_t hi)
{
	struct tree_dump *td = td_get(d);

	if (!td)
		return false;
	for (size_t i = 0; i < td->nshm; i++) {
		struct tree_shm *s = &td->shm[i];

		if (s->dev == dev && s->ino == ino && s->lo <= lo && s->hi >= hi)
			return true;
	}
	if (td->nshm == td->capshm) {
		size_t cap = td->capshm ? td->capshm * 2 : 16;
		struct tree_shm *n = realloc(td->shm, cap * sizeof(*n));

		if (!n)
			return false;
		td->shm = n;
		td->capshm = cap;
	}
	td->shm[td->nshm++] = (struct tree_shm){ dev, ino, lo, hi };
	return false;
}

/* What two processes of the tree share that the restore would make two
 * of: refused, naming both (checked while frozen). */
int tree_check_shared(struct crcore_dump *d, char *why, size_t len)
{
	static const struct {
		int type;
		const char *what;
	} k[] = {
		{ KCMP_VM, "its memory (vfork or CLONE_VM)" },
		{ KCMP_FILES, "its fd table (CLONE_FILES)" },
		{ KCMP_SIGHAND, "its signal handlers (CLONE_SIGHAND)" },
		{ KCMP_FS, "its cwd and root (CLONE_FS)" },
	};
	unsigned n = compel_tree__nr_procs(d->tree);

	for (unsigned i = 0; i < n; i++) {
		pid_t a = compel_proc__pid(compel_tree__proc(d->tree, i));

		for (unsigned j = i + 1; j < n; j++) {
			pid_t b = compel_proc__pid(compel_tree__proc(d->tree, j));

			for (size_t t = 0; t < sizeof(k) / sizeof(k[0]); t++)
				if (syscall(SYS_kcmp, a, b, k[t].type, 0, 0) == 0)
					return fmt_err(why, len, -EOPNOTSUPP,
						       "process %d shares %s with process %d: not supported yet",
						       (int)b, k[t].what, (int)a);
		}
	}
	return 0;
}
