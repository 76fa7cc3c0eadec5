/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seizing a process tree: each process, then the children it has once it
 * is seized (and can no longer fork). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct compel_tree {
	unsigned nr, cap;
	struct compel_proc **procs;
	int *parent;
};

static int tree_has(struct compel_tree *t, pid_t pid)
{
	for (unsigned i = 0; i < t->nr; i++)
		if (compel_proc__pid(t->procs[i]) == pid)
			return 1;
	return 0;
}

static int tree_add(struct compel_tree *t, struct compel_proc *p, int parent)
{
	if (t->nr == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 8;
		struct compel_proc **np = realloc(t->procs, cap * sizeof(*np));
		int *pp;

		if (!np)
			return -ENOMEM;
		t->procs = np;
		pp = realloc(t->parent, cap * sizeof(*pp));
		if (!pp)
			return -ENOMEM;
		t->parent = pp;
		t->cap = cap;
	}
	t->procs[t->nr] = p;
	t->parent[t->nr] = parent;
	t->nr++;
	return 0;
}

/* Seizes the children of process i that are not in the tree yet. */
static int seize_children(struct compel_tree *t, unsigned i, const struct compel_seize_opts *o)
{
	struct compel_proc *p = t->procs[i];
	unsigned k;
	int err;

	for (k = 0; k < compel_proc__nr_threads(p); k++) {
		char path[96], buf[4096], *s, *end;
		struct compel_thread *th = compel_proc__thread(p, k);
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", compel_proc__pid(p),
			 compel_thread__tid(th));
		f = fopen(path, "re");
		if (!f)
			continue; /* a zombie thread */
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		for (s = buf;; s = end) {
			long pid = strtol(s, &end, 10);
			struct compel_proc *c;

			if (end == s)
				break;
			if (pid <= 0 || tree_has(t, (pid_t)pid))
				continue;
			err = compel_proc_seize((pid_t)pid, o, &c);
			if (err == -ESRCH)
				continue; /* a zombie, or it exited */
			if (err)
				return err;
			err = tree_add(t, c, (int)i);
			if (err) {
				compel_proc_release(c, 0);
				return err;
			}
		}
	}
	return 0;
}

COMPEL_API int compel_tree_seize(pid_t root, const struct compel_seize_opts *opts,
				 struct compel_tree **ret_tree)
{
	struct compel_tree *t;
	struct compel_proc *p;
	unsigned i;
	int err;

	if (!ret_tree || (opts && opts->sz >= offsetof(struct compel_seize_opts, flags) + 4 &&
			  (opts->flags & COMPEL_SEIZE_THREAD)))
		return -EINVAL;
	err = compel_proc_seize(root, opts, &p);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t || tree_add(t, p, -1)) {
		compel_proc_release(p, 0);
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr; i++) {
		err = seize_children(t, i, opts);
		if (err) {
			pr_err("cannot seize the tree of %d: %s", root, strerror(-err));
			compel_tree_release(t, opts && (opts->flags & COMPEL_SEIZE_ADOPT) ?
						       COMPEL_RELEASE_KEEP : 0);
			return err;
		}
	}
	pr_debug("seized the tree of %d: %u processes", root, t->nr);
	*ret_tree = t;
	return 0;
}

COMPEL_API int compel_tree_release(struct compel_tree *t, uint32_t flags)
{
	int err = 0, e;

	if (!t)
		return 0;
	while (t->nr) {
		e = compel_proc_release(t->procs[--t->nr], flags);
		if (e && !err)
			err = e;
	}
	free(t->procs);
	free(t->parent);
	free(t);
	return err;
}

COMPEL_API unsigned compel_tree__nr_procs(const struct compel_tree *t)
{
	return t ? t->nr : 0;
}

COMPEL_API struct compel_proc *compel_tree__proc(struct compel_tree *t, unsigned i)
{
	return t && i < t->nr ? t->procs[i] : NULL;
}

COMPEL_API int compel_tree__parent(const struct compel_tree *t, unsigned i)
{
	return t && i < t->nr ? t->parent[i] : -1;
}
