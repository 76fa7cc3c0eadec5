/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump.h - private to the dump side of libcrcore (freeze*.c, dump*.c,
 * proc*.c).  Not installed.
 */
#ifndef CRCORE_DUMP_H
#define CRCORE_DUMP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <compel.h>
#include <crcore.h>
#include <crimg.h>
#include <crimg-proto.h>

#define CRCORE_LOCAL __attribute__((visibility("hidden")))

struct tree_dump;

struct crcore_dump {
	pid_t pid;               /* the process being written (the root between stages) */
	struct compel_proc *proc; /* its handle, lent by tree */
	pid_t root;              /* the pid named by the user */
	struct compel_tree *tree; /* every live process of the tree, parents first */
	struct tree_dump *td;    /* tree-dump.c: zombies, shared objects, open files */
	uint32_t end;            /* CRCORE_END_* requested for the last stage */
	uint64_t scratch;        /* scratch memory in the process for remote calls */
#define SCRATCH_SIZE 1024u
	uint8_t scratch_save[SCRATCH_SIZE]; /* what was there */
	crcore_log_fn log;
	void *log_arg;
	char err[512];
};

/* ---- proc.c: reading /proc ------------------------------------------- */

/* Reads a whole /proc file (NUL-terminated, malloc'd); NULL and errno. */
CRCORE_LOCAL char *proc_read(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Value of "Key:" in /proc/PID/status text (pointer into it), or NULL. */
CRCORE_LOCAL const char *proc_status_field(const char *status, const char *key);
/* /proc/PID/stat fields: f[1] is field 1 (pid) ... f[52]; comm in comm. */
struct proc_stat {
	char state;
	char comm[64];
	unsigned long long f[64];
};
CRCORE_LOCAL int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *st);
/* readlink /proc/PID/<what> into buf; -errno. */
CRCORE_LOCAL int proc_readlink(pid_t pid, const char *what, char *buf, size_t len);

/* One line of /proc/PID/maps (+ VmFlags from smaps). */
struct proc_vma {
	uint64_t start, end, pgoff;
	uint32_t prot;
	bool shared;
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	char *path;              /* the name column ("" if none), malloc'd */
	uint32_t vmflags;        /* PROC_VMF_* */
};
/* Bits of struct proc_vma.vmflags (and Vma.vmflags in the image), from
 * the two-letter codes of smaps VmFlags. */
#define PROC_VMF_GD (1u << 0)  /* gd: grows down */
#define PROC_VMF_LO (1u << 1)  /* lo: mlocked */
#define PROC_VMF_DC (1u << 2)  /* dc: MADV_DONTFORK */
#define PROC_VMF_WF (1u << 3)  /* wf: MADV_WIPEONFORK */
#define PROC_VMF_DD (1u << 4)  /* dd: MADV_DONTDUMP */
#define PROC_VMF_HG (1u << 5)  /* hg: MADV_HUGEPAGE */
#define PROC_VMF_NH (1u << 6)  /* nh: MADV_NOHUGEPAGE */
#define PROC_VMF_MG (1u << 7)  /* mg: MADV_MERGEABLE */
#define PROC_VMF_SR (1u << 8)  /* sr: MADV_SEQUENTIAL */
#define PROC_VMF_RR (1u << 9)  /* rr: MADV_RANDOM */
#define PROC_VMF_NR (1u << 10) /* nr: MAP_NORESERVE (no swap reserved) */
#define PROC_VMF_IO (1u << 11) /* io: I/O memory mapping (refused) */
#define PROC_VMF_HT (1u << 12) /* ht: hugetlb (refused for now) */
#define PROC_VMF_SL (1u << 13) /* sl: mseal()ed */
#define PROC_VMF_UF (1u << 14) /* um/uw: userfaultfd registered (refused) */
#define PROC_VMF_PF (1u << 15) /* pf: pure PFN range (refused) */
#define PROC_VMF_DE (1u << 16) /* de: do not expand on remap */
#define PROC_VMF_SD (1u << 17) /* sd: soft-dirty */
#define PROC_VMF_LF (1u << 18) /* lf: lock on fault (mlock2 MLOCK_ONFAULT) */
#define PROC_VMF_MS (1u << 19) /* ms: may share */

/* Parses /proc/PID/smaps (with_flags) or maps.  *ret is a malloc'd array
 * to free with proc_vmas_free. */
CRCORE_LOCAL int proc_vmas_read(pid_t pid, bool with_flags, struct proc_vma **ret, size_t *nr);
CRCORE_LOCAL void proc_vmas_free(struct proc_vma *v, size_t nr);

/* ---- freeze.c ----------------------------------------------------------- */
CRCORE_LOCAL int dump_err(struct crcore_dump *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
CRCORE_LOCAL void dump_log(struct crcore_dump *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Formats into a caller buffer (may be NULL) and returns err. */
CRCORE_LOCAL int fmt_err(char *buf, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Ends the freeze (CRCORE_END_*) without freeing d; message in d->err. */
CRCORE_LOCAL int dump_end(struct crcore_dump *d, uint32_t mode);

/* ---- dump-mm.c ------------------------------------------------------------ */
/* Kind of a mapping (VmaKind), or -EOPNOTSUPP with a reason in why. */
CRCORE_LOCAL int dump_vma_kind(const struct proc_vma *v, char *why, size_t len);

/* ---- dump-core.c: remote calls ------------------------------------------ */
CRCORE_LOCAL int dump_scratch(struct crcore_dump *d, uint64_t *addr);
/* The thread to run process-wide remote calls in (see dump-core.c). */
CRCORE_LOCAL struct compel_thread *dump_worker(struct crcore_dump *d);
CRCORE_LOCAL void dump_scratch_drop(struct crcore_dump *d);
CRCORE_LOCAL int64_t dump_rsys(struct crcore_dump *d, struct compel_thread *t, long nr,
			       uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
CRCORE_LOCAL int dump_rread(struct crcore_dump *d, uint64_t addr, void *buf, size_t len);

/* write a message record, REQUIRED */
CRCORE_LOCAL int dump_add(struct crcore_dump *d, struct crimg_writer *w, uint32_t type,
			  const ProtobufCMessage *m);

/* ---- tree-dump.c: the processes of the tree (docs/trees.md) ---------- */
/* Makes process i of the tree (0 the root) the one d->pid/d->proc name;
 * false past the end (the root is current again then). */
CRCORE_LOCAL bool tree_cur(struct crcore_dump *d, unsigned i);
#define tree_for_each(d, i) for ((i) = 0; tree_cur((d), (i)); (i)++)
/* PROC records of the zombie children of the tree (after the live ones). */
CRCORE_LOCAL int tree_write_zombies(struct crcore_dump *d, struct crimg_writer *w);
/* The tree-wide identity of the open file description of fd of d->pid:
 * an earlier process's id when it shares it (kcmp), else *id unchanged
 * (for the root) or (pid << 32 | fd); remembered for later processes. */
CRCORE_LOCAL int tree_fd_id(struct crcore_dump *d, int fd, uint64_t dev, uint64_t ino,
			    uint64_t *id);
/* Whether the pages of shared object (dev, ino) in [lo, hi) were already
 * written by an earlier process of this stage; if not, remembers them. */
CRCORE_LOCAL bool tree_shm_seen(struct crcore_dump *d, uint64_t dev, uint64_t ino,
				uint64_t lo, uint64_t hi);
/* True the first time a process of the tree claims object (dev, ino)
 * (a pipe: its size and data go with the first process that holds it). */
CRCORE_LOCAL bool tree_obj_claim(struct crcore_dump *d, uint64_t dev, uint64_t ino);
CRCORE_LOCAL void tree_dump_free(struct crcore_dump *d);
/* Calls check(pid, arg) for every live process below root (children
 * from /proc, zombies skipped); the first error stops. */
CRCORE_LOCAL int tree_walk(pid_t root, int (*check)(pid_t pid, void *arg), void *arg);
/* -EOPNOTSUPP (message in why) if two processes of the frozen tree share
 * an mm, an fd table, signal handlers or fs state (kcmp). */
CRCORE_LOCAL int tree_check_shared(struct crcore_dump *d, char *why, size_t len);

#endif
