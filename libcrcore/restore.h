/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore.h - private to libcrcore: the restore plan, the flat data that
 * cr-assemble (restore.c, normal C) builds from the image records and
 * that the freestanding restorer (restorer/, no libc) executes inside
 * the new process.  See docs/restore.md for the design and its reasons.
 *
 * The plan lives in one MAP_SHARED area that both the parent and the
 * restored process see at the same address:
 *
 *   area + 0                the restorer blob (entry at offset 0,
 *                           a "syscall; ud2" gadget at RST_GADGET_OFF)
 *   area + plan_off         struct rst_plan, then its variable parts
 *                           (referred to by offsets from the plan)
 *   area + stacks_off       one restorer stack per thread
 *
 * Only fixed-width types: this header is compiled freestanding too.
 */
#ifndef CRCORE_RESTORE_H
#define CRCORE_RESTORE_H

#include <stdint.h>

#define RST_MAGIC 0x4e414c5054535243ull /* "CRSTPLAN" */
#define RST_GADGET_OFF 8                /* "syscall; ud2" in the blob */
#define RST_STACK_SIZE (64u << 10)
#define RST_ERRMSG_LEN 256
#define RST_MAX_SIG 64
#define RST_MAX_RLIMIT 16
#define RST_SIGINFO_SIZE 128
#define RST_READ_CHUNK (1u << 20)       /* pages read and checksummed per step */

/* The stream framing the restorer parses itself (cr-image(5); restore.c
 * checks these against <crimg.h> at build time). */
#define RST_REC_HDR 24u
#define RST_REC_REQUIRED 0x1u
#define RST_REC_CSUM 0x4u
#define RST_T_TRAILER 0x1u
#define RST_T_PAGES 0x202u

/* VMA kinds: the values of VmaKind in mm.proto. */
enum {
	RST_VMA_ANON_PRIVATE = 0,
	RST_VMA_FILE_PRIVATE = 1,
	RST_VMA_FILE_SHARED = 2,
	RST_VMA_ANON_SHARED = 3,
	RST_VMA_VDSO = 4,
	RST_VMA_VVAR = 5,
	RST_VMA_VVAR_VCLOCK = 6,
	RST_VMA_VSYSCALL = 7,
	RST_VMA_GUARD = 8,
};

struct rst_vma {
	uint64_t start, end;
	uint64_t pgoff;          /* bytes */
	uint32_t prot;           /* PROT_* */
	uint32_t flags;          /* MAP_* as recorded */
	uint32_t kind;           /* RST_VMA_* */
	uint32_t path;           /* plan offset of a NUL-terminated path, 0: none */
	uint64_t madv;           /* bit n: madvise(n) applies */
	uint64_t shmid;
	int32_t fd;              /* memfd/shared object fd opened by the restorer, -1 */
	int32_t tree_fd;         /* >= 0: the tree's object for it, inherited (docs/trees.md) */
};

/* A private range that this process shares copy-on-write with the rest
 * of its tree (MM.inherited, docs/trees.md): cr-assemble mapped and
 * filled it at src before creating the tree, so every process inherits
 * the same page frames.  The restorer keeps it (moved from src to start
 * when cr-assemble could not stage it in place) and maps its VMA around
 * it. */
struct rst_inherit {
	uint64_t start, end;     /* where it belongs, inside an ANON_PRIVATE VMA */
	uint64_t src;            /* where it is when the restorer starts */
};

struct rst_range {
	uint64_t start, end;
};

/* The vDSO area: [vvar], [vvar_vclock], [vdso] (a missing part has start == end). */
struct rst_vdso {
	uint64_t vvar_start, vvar_end;
	uint64_t vclock_start, vclock_end;
	uint64_t vdso_start, vdso_end;
};

struct rst_sigaction {
	uint64_t handler, flags, restorer, mask;
	uint32_t set;            /* 1: install it */
	uint32_t pad;
};

struct rst_itimer {
	uint32_t which, set;
	uint64_t interval_ns, value_ns;
};

struct rst_ptimer {
	int32_t id;
	uint32_t clock;
	int32_t notify;
	uint32_t signo;
	uint64_t sival;
	uint32_t notify_tid, pad;
	uint64_t interval_ns, value_ns;
};

struct rst_rlimit {
	uint32_t resource, pad;
	uint64_t cur, max;
};

/* x86-64: struct user_regs_struct is 27 u64; ORIG_RAX is index 15. */
#define RST_NGPREGS 27
#define RST_REG_ORIG_RAX 15

struct rst_thread {
	uint32_t tid;
	uint32_t has_rseq;
	uint64_t rseq_addr;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigmask;
	uint64_t clear_child_tid;
	uint32_t has_altstack, altstack_flags;
	uint64_t altstack_sp, altstack_size;
	uint32_t npending, pending;       /* count, plan offset of 128-byte siginfos */
	uint32_t xsave_len, xsave;        /* length, plan offset */
	uint32_t pdeathsig, has_comm;
	char comm[16];
	uint64_t gpregs[RST_NGPREGS];
	uint64_t stack_top;               /* restorer stack (absolute address) */
	uint32_t started;                 /* set by the thread when it runs */
	uint32_t pad;
	uint64_t robust_head, robust_len; /* set_robust_list, if robust_len */
};

struct rst_creds {
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t ngroups, groups;         /* count, plan offset of u32s */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;
	uint32_t has_caps;
};

/* The mm fields, for one PR_SET_MM_MAP call. */
struct rst_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint32_t nauxv, auxv;             /* count of u64, plan offset */
	int32_t exe_fd;                   /* opened by the child, -1: leave it */
	uint32_t set;                     /* 1: the image had the fields */
};

/* Where the stream is when the restorer takes over: just after the
 * header of the first PAGES record (or at the end, trailer read). */
struct rst_stream {
	int32_t fd;
	uint32_t done;                    /* 1: the parent already read the trailer */
	uint64_t offset;                  /* stream offset of the current record's header */
	uint64_t index;                   /* its record number */
	uint64_t len;                     /* its payload length */
	uint32_t type, flags;
	uint32_t hdr_csum;                /* its header checksum */
	uint32_t chain;                   /* chain over the records before it */
	/* A process of a tree (docs/trees.md): the processes take turns
	 * with the stream.  turn (a futex word) is set by the parent once the
	 * fields above are where the previous process stopped; the restorer
	 * reads `pages` pages, then reads the next header and reports the
	 * stream there in ctl.next, unless it is the last (which checks the
	 * trailer as a single process does). */
	uint32_t tree, last;
	uint32_t turn, pad;
	uint64_t pages;
};

/* States of the restore, in ctl.state (a futex word shared with the
 * parent).  The restorer moves forward; the parent moves GO. */
enum {
	RST_ST_BOOT = 0,      /* the child runs, restorer not yet reached */
	RST_ST_MEMORY,        /* the restorer maps memory and reads pages */
	RST_ST_READY,         /* image complete and verified: waits for GO */
	RST_ST_GO,            /* set by the parent */
	RST_ST_PARKED,        /* every thread is set up and parked */
	RST_ST_ERROR,         /* see err, errmsg */
};

struct rst_ctl {
	uint32_t state;
	uint32_t parked;                  /* threads parked (futex word too) */
	int32_t err;                      /* -errno of the failure */
	uint32_t image_error;             /* 1: the image is bad (not the system) */
	uint64_t err_index, err_offset;   /* where in the stream, if image_error */
	uint64_t pages;                   /* pages restored (progress) */
	uint64_t bytes;                   /* stream bytes consumed by the restorer */
	uint32_t warnings;                /* RST_W_* bits */
	uint32_t pad;
	char errmsg[RST_ERRMSG_LEN];
	struct rst_stream next;           /* tree: where this process stopped reading */
};

#define RST_W_RLIMIT   0x1u  /* a hard limit could not be raised (no CAP_SYS_RESOURCE) */
#define RST_W_TIMER_ID 0x2u  /* a POSIX timer got another id */

struct rst_plan {
	uint64_t magic;
	uint64_t size;                    /* bytes of the plan with its variable parts */
	uint64_t area_start, area_len;    /* the whole restorer area */
	uint64_t gap_start, gap_end;      /* free in both layouts, holds the area and vDSO staging */
	uint32_t pid;
	uint32_t nthreads, threads;       /* count, plan offset of struct rst_thread[] */
	uint32_t nvmas, vmas;             /* count, plan offset of struct rst_vma[] */
	uint32_t ninherit, inherit;       /* struct rst_inherit[], sorted by start */
	uint32_t nkeep, keep;             /* struct rst_range[]: their srcs, sorted, disjoint */
	uint32_t nptimers, ptimers;
	uint32_t nrlimits;
	uint32_t nshared_pending, shared_pending;
	uint32_t personality, has_personality;
	uint32_t umask, has_umask;
	uint32_t dumpable, has_dumpable;
	uint32_t child_subreaper, no_new_privs;
	uint32_t thp_disable, has_thp_disable;
	uint32_t timerslack_ns, has_timerslack;
	uint32_t has_creds;
	uint32_t vdso_proxy;              /* 1: use the vDSO proxy even if the vDSO matches (tests) */
	uint32_t keep_pdeathsig;          /* 1: a process of a tree under its own parent */
	uint32_t pad2;
	struct rst_vdso cur_vdso;         /* the kernel's, in the new process now */
	struct rst_vdso img_vdso;         /* the image's */
	struct rst_stream stream;
	struct rst_mm mm;
	struct rst_creds creds;
	struct rst_sigaction sigactions[RST_MAX_SIG + 1];
	struct rst_itimer itimers[3];
	struct rst_rlimit rlimits[RST_MAX_RLIMIT];
	struct rst_ctl ctl;
};

#define RST_PTR(plan, off) ((void *)((char *)(plan) + (off)))

#endif
