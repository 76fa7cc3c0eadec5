/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.h - private to libcrcore: recreating the shape of a process tree
 * (docs/trees.md).  Not installed.
 *
 * The restore of a tree in two calls:
 *
 *     struct tree_plan *p;
 *     r = tree_plan_build(procs, n, flags, &p, err, sizeof(err));
 *             // who creates whom, in which order, and the helpers that
 *             // stand in for dead session and group leaders; refuses a
 *             // shape that cannot be recreated, nothing is created yet
 *     r = tree_create(p, &opts, &idx);
 *             // like fork(): returns in the caller (idx = -1) once every
 *             // process exists with its pid, parent, session and group,
 *             // zombies are zombies and helpers are gone; and in every
 *             // live process of the image (idx = its index in procs),
 *             // which then goes on to become that process (its restorer)
 *     tree_plan_free(p);
 *
 * Every process is created with clone3 and set_tid by the process that
 * the plan names as its creator: its parent, or a helper that takes the
 * pid of a dead session leader and exits once its children are placed
 * (they are reparented to their recorded parent, which must then be a
 * child subreaper).  Dead group leaders get a helper that only holds the
 * group while the members join it.
 */
#ifndef CRCORE_TREE_H
#define CRCORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CRCORE_LOCAL __attribute__((visibility("hidden")))

/* One process of the image (from its PROC and PROC_MISC records). */
struct tree_proc {
	pid_t pid, ppid, pgid, sid;
	bool zombie;           /* state 'Z': exits with exit_status, never waited */
	int exit_status;       /* wait status (zombies) */
	bool stopped;          /* state 'T' (the restore stops it at the end) */
	bool subreaper;        /* PR_SET_CHILD_SUBREAPER */
	const char *comm;      /* a zombie's name (NULL: leave it) */
};

#define TREE_PROC 1u    /* a live process of the image */
#define TREE_ZOMBIE 2u  /* a zombie of the image */
#define TREE_HELPER 3u  /* stands in for a dead session or group leader */

struct tree_task {
	pid_t pid;
	uint32_t kind;          /* TREE_* */
	int creator;            /* index of the task that creates it, -1: the caller */
	int proc;               /* index in procs (-1 for a helper) */
	bool setsid;            /* calls setsid() first (a session leader or its helper) */
	bool pre_setsid;        /* created by its creator before the creator's setsid */
	pid_t pgid;             /* joins this group once every task exists */
	pid_t sid;              /* expected session */
	pid_t ppid;             /* expected parent in the end (0: the caller) */
	bool subreaper;
	int exit_status;
	const char *comm;       /* zombies: the name it had */
};

struct tree_plan {
	struct tree_task *t;    /* in creation order: a creator before what it creates */
	unsigned n;
	unsigned nprocs;
};

/* tree_plan_build flags.  TREE_SHELL_JOB: the tree is a shell job
 * (CRCORE_RESTORE_SHELL_JOB, docs/ttys.md): the root's session and
 * process group are the caller's even when the root led them, so the
 * root joins the caller's session and group, and so does every process
 * that was in them; groups and sessions that other processes of the
 * tree made are made again as usual.  Without it, they are the caller's
 * only when the root did not lead them. */
#define TREE_SHELL_JOB 0x1u

/* Builds the plan; procs[0] is the root (created by the caller).
 * -EOPNOTSUPP with a message for a shape we cannot recreate, -EINVAL for
 * an inconsistent one or unknown flags, -ENOMEM. */
CRCORE_LOCAL int tree_plan_build(const struct tree_proc *procs, unsigned n, unsigned flags,
				 struct tree_plan **ret, char *err, size_t errlen);
CRCORE_LOCAL void tree_plan_free(struct tree_plan *p);

struct tree_create_opts {
	uint32_t timeout_ms;    /* for each phase; 0 = 5000 */
	char *err;
	size_t errlen;
};

/* Creates the tree (see the top of this file).  In the caller: 0 and
 * *idx = -1, or -errno (every process created so far is killed: a clone3
 * EEXIST names the pid that is taken).  In each live process of the
 * image: 0 and *idx its index in procs; the root is a child of the
 * caller.  Zombies and helpers never return. */
CRCORE_LOCAL int tree_create(const struct tree_plan *p, const struct tree_create_opts *o,
			     int *idx);

/* ---- shared memory objects of a tree ----------------------------------- */
/* An object (MAP_SHARED anonymous memory, a memfd, a SysV segment) that
 * several processes of the image map: cr-assemble creates it once before
 * tree_create, every process inherits the fd, and each restorer maps it
 * instead of making its own (docs/trees.md, "Filling each process in"). */
struct tree_shm {
	uint64_t dev, shmid;    /* Vma.dev, Vma.shmid */
	bool sysv;              /* a SysV segment (path /SYSV...) */
	uint64_t size;          /* the largest Vma.file_size, or the end of the furthest mapping */
	char name[64];          /* memfd:NAME without the prefix, "" otherwise */
	unsigned nprocs;        /* processes that map it (2 or more) */
	int fd;                 /* after tree_shm_create, else -1 */
	bool fds_memfd;         /* fd is the memfd made for a process's fds (restore.c) */
};

struct Crimg__Mm;
/* The objects mapped by two processes or more, from every MM record of
 * the image (in any order).  *ret malloc'd (free with tree_shm_free). */
CRCORE_LOCAL int tree_shm_plan(struct Crimg__Mm *const *mms, unsigned n, struct tree_shm **ret,
			       unsigned *nret);
/* Creates each object as a memfd of its size (not the SysV segments,
 * which keep fd -1: they are made with their id and attached with shmat).
 * On failure the ones created are closed. */
CRCORE_LOCAL int tree_shm_create(struct tree_shm *o, unsigned n, char *err, size_t errlen);
/* The fd of the object a VMA maps, or -1 (not shared by the tree). */
CRCORE_LOCAL int tree_shm_fd(const struct tree_shm *o, unsigned n, uint64_t dev, uint64_t shmid,
			     bool sysv);
CRCORE_LOCAL void tree_shm_free(struct tree_shm *o, unsigned n);

#endif
