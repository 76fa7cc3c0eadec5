/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore.c - the restore engine, normal C side (cr-assemble).
 *
 *  1. __new reads the records of the process up to its first PAGES
 *     record, checks them and builds the restore plan (restore.h).
 *  2. __run maps the restorer area (blob, plan, stacks: MAP_SHARED, so
 *     that the child and we see the same plan and control block), and
 *     creates the process with clone3 and set_tid.  The child sets up its
 *     fds, cwd and root in plain C, then jumps into the restorer, which
 *     builds the memory and reads the rest of the stream (restorer/).
 *  3. Once the restorer says the image is complete and verified, we
 *     tell it to go on with the process state; when every thread has
 *     parked, we take the threads with ptrace: unmap the restorer area
 *     from inside, set the registers, the xsave state and the signal
 *     mask of each thread, and detach.  The process runs.
 * Any failure before the detach kills the new process: it never runs
 * from a bad image.  Reasons for all of this: docs/restore.md.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <crcore.h>
#include <crimg-proto.h>

#include "../libcrimg/frame-core.h"
#include "restore.h"
#include "fd.h"
#include "tree.h"

_Static_assert(RST_REC_HDR == CRIMG_REC_HDR_SIZE, "record header size");
_Static_assert(RST_REC_REQUIRED == CRIMG_REC_REQUIRED, "required flag");
_Static_assert(RST_REC_CSUM == CRIMG_REC_CSUM, "csum flag");
_Static_assert(RST_T_PAGES == CRIMG_T_PAGES, "PAGES type");
_Static_assert(RST_T_TRAILER == CRIMG_T_TRAILER, "trailer type");
_Static_assert(sizeof(struct user_regs_struct) == RST_NGPREGS * 8, "gpregs");
_Static_assert(offsetof(struct user_regs_struct, orig_rax) == RST_REG_ORIG_RAX * 8, "orig_rax");

extern const char crcore__restorer_blob[] __attribute__((visibility("hidden")));
extern const char crcore__restorer_blob_end[] __attribute__((visibility("hidden")));

#define PAGE 4096ul
#define TASK_END 0x7ffffffff000ul
#define ERRLEN 1024
#define AUDIT_ARCH_X86_64_ 0xc000003eu
#define DEFAULT_PID_WAIT_MS 5000u
#define READY_TIMEOUT_S 600

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* One fd of the process, as the child will install it. */
struct fd_plan {
	int target;       /* the fd number in the process */
	int src;          /* our fd to dup3 from (>= base), or == target to inherit */
	bool cloexec;
};

struct crcore_restore {
	int fd;                       /* the stream */
	int spool_fd;                 /* the rest of the stream, spooled, or -1 */
	bool taken_live;              /* an id is held by a live process */
	struct crimg_reader *rd;
	uint32_t flags, pid_wait_ms;
	crcore_log_fn log;
	void *log_arg;
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
	char errmsg[ERRLEN];
	char *warnings;
	size_t warnings_len;

	/* the records */
	Crimg__Proc *proc;
	Crimg__Thread **threads;
	size_t nthreads;
	Crimg__SigActions *sigacts;
	Crimg__ProcMisc *misc;
	Crimg__Files *files;
	Crimg__Mm *mm;
	int *file_data_fd;            /* per files->fds[i]: recreated deleted file, or -1 */

	/* the stream position handed to the restorer */
	struct rst_stream stream;
	uint32_t chain;

	/* the plan, built in a heap buffer and copied into the area */
	uint8_t *pb;
	size_t pb_len, pb_cap;
	struct fd_plan *fdp;
	size_t nfdp;
	int fd_base;                  /* every fd we hand over is >= this */
	int stream_fd;                /* our dup of the stream at >= fd_base */
	int exe_fd;
	struct fd_rst *fdr;           /* pipes, sockets, eventfds... (fd-restore.c) */

	/* the run */
	uint8_t *area;
	size_t area_len;
	struct rst_plan *plan;        /* inside the area */
	pid_t pid;
	bool created, resumed, reaped;
	int status;

	/* a process tree (docs/trees.md): the root's object holds the others,
	 * which share its reader and report their errors to it */
	struct crcore_restore *top;   /* set in the others: the root's object */
	struct crcore_restore **sub;  /* the other live processes, in PROC order */
	size_t nsub;
	struct crcore_restore **order; /* every live process, in MM (= pages) order */
	size_t norder;
	Crimg__Proc **zombies;
	size_t nzombies;
	bool in_tree;                 /* child_main: session and group are made */
	Crimg__SysvShm **sysv;        /* SysV segments (docs/trees.md), in the root's */
	size_t nsysv;
	int *sysv_made;               /* the ids we created, to remove on failure */
	size_t nsysv_made;
	struct staged *staged;        /* PAGES_SHARED records, in the root's */
	size_t nstaged;
	bool mm_done;                 /* a PAGES_SHARED came: no MM after it */
};

/* A PAGES_SHARED record, mapped and filled in our own memory before the
 * tree is created (docs/trees.md): at addr when that range was free
 * here, else at another place free here and in every image layout. */
struct staged {
	uint64_t addr, len;
	uint64_t at;
};

/* ---- messages ------------------------------------------------------------ */

static int vfail(struct crcore_restore *rs, int err, const char *fmt, va_list ap)
{
	vsnprintf(rs->errmsg, sizeof(rs->errmsg), fmt, ap);
	if (rs->top)
		snprintf(rs->top->errmsg, sizeof(rs->top->errmsg), "%s", rs->errmsg);
	if (rs->log)
		rs->log(LOG_ERR, rs->errmsg, rs->log_arg);
	return err;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct crcore_restore *rs, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(rs, err, fmt, ap);
	va_end(ap);
	return err;
}

/* "what: strerror" for a system error. */
__attribute__((format(printf, 3, 4)))
static int sysfail(struct crcore_restore *rs, int err, const char *fmt, ...)
{
	char what[ERRLEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail(rs, err, "%s: %s", what, strerror(-err));
}

__attribute__((format(printf, 2, 3)))
static void logf_(struct crcore_restore *rs, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!rs->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rs->log(LOG_DEBUG, buf, rs->log_arg);
}

__attribute__((format(printf, 2, 3)))
static void warn(struct crcore_restore *rs, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;
	char *w;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	w = realloc(rs->warnings, rs->warnings_len + n + 2);
	if (!w)
		return;
	memcpy(w + rs->warnings_len, buf, n);
	w[rs->warnings_len + n] = '\n';
	w[rs->warnings_len + n + 1] = 0;
	rs->warnings = w;
	rs->warnings_len += n + 1;
	if (rs->log)
		rs->log(LOG_WARNING, buf, rs->log_arg);
}

/* ---- reading the records --------------------------------------------------- */

/* The header checksum of cr-image(5), of a record the reader gave us. */
static uint32_t hdr_csum(const struct crimg_record *rec)
{
	uint8_t h[20];

	frame_hdr_fields(h, rec->type, rec->flags, rec->len);
	return frame_hdr_csum(crimg_crc32c, rec->index, h);
}

/* Extends our copy of the chain checksum over a consumed record: the
 * restorer continues it over the records it reads itself. */
static void chain_record(struct crcore_restore *rs, const struct crimg_record *rec)
{
	uint32_t pcs = 0;

	if (crimg_reader__payload_csum(rs->rd, &pcs) < 0)
		pcs = 0;
	rs->chain = frame_chain_step(crimg_crc32c, rs->chain, hdr_csum(rec), pcs);
}

static int reader_fail(struct crcore_restore *rs, int err)
{
	const char *m = crimg_reader__errmsg(rs->rd);

	return fail(rs, err, "%s", m && *m ? m : strerror(-err));
}

static int read_msg(struct crcore_restore *rs, const struct crimg_record *rec,
		    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m)
{
	int r = crimg_reader__read_msg(rs->rd, desc, m);

	if (r < 0)
		return reader_fail(rs, r);
	return 0;
}

static struct crcore_restore *proc_of(struct crcore_restore *rs, uint32_t pid);

static int check_pid(struct crcore_restore *rs, const struct crimg_record *rec, uint32_t pid,
		     const char *what)
{
	if (!rs->proc)
		return fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": %s before the "
			    "PROC record", rec->index, rec->offset, what);
	if (!proc_of(rs, pid))
		return fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": %s of process "
			    "%u, which has no PROC record", rec->index, rec->offset, what, pid);
	return 0;
}

/* The object of process pid (the root's or another's of the tree), or NULL. */
static struct crcore_restore *proc_of(struct crcore_restore *rs, uint32_t pid)
{
	if (rs->proc && rs->proc->pid == pid)
		return rs;
	for (size_t i = 0; i < rs->nsub; i++)
		if (rs->sub[i]->proc->pid == pid)
			return rs->sub[i];
	return NULL;
}

/* A record of process pid: its object, or a failure. */
static struct crcore_restore *route(struct crcore_restore *rs, const struct crimg_record *rec,
				    uint32_t pid, const char *what)
{
	struct crcore_restore *t = proc_of(rs, pid);

	if (!t)
		fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": %s of process %u before "
		     "its PROC record", rec->index, rec->offset, what, pid);
	return t;
}

/* Another live process of the tree: an object sharing our reader. */
static struct crcore_restore *sub_new(struct crcore_restore *rs, Crimg__Proc *p)
{
	struct crcore_restore *t = calloc(1, sizeof(*t)), **n;

	if (!t)
		return NULL;
	n = realloc(rs->sub, (rs->nsub + 1) * sizeof(*n));
	if (!n) {
		free(t);
		return NULL;
	}
	rs->sub = n;
	rs->sub[rs->nsub++] = t;
	t->top = rs;
	t->fd = rs->fd;
	t->rd = rs->rd;
	t->stream_fd = t->exe_fd = t->spool_fd = -1;
	t->flags = rs->flags;
	t->pid_wait_ms = rs->pid_wait_ms;
	t->log = rs->log;
	t->log_arg = rs->log_arg;
	t->proc = p;
	t->pid = (pid_t)p->pid;
	return t;
}

static Crimg__Fd *find_fd(struct crcore_restore *rs, int fd, size_t *idx)
{
	if (!rs->files)
		return NULL;
	for (size_t i = 0; i < rs->files->n_fds; i++)
		if (rs->files->fds[i]->fd == fd) {
			*idx = i;
			return rs->files->fds[i];
		}
	return NULL;
}

/*
 * FILE_DATA: the contents of a file that was deleted while open.  We
 * recreate it under its own name when that name is free (so that the
 * process sees "name (deleted)" as before), else next to it, and unlink
 * it at once; the open fd is what the process gets.
 */
static int read_file_data(struct crcore_restore *rs, const struct crimg_record *rec)
{
	uint8_t hb[8];
	_cleanup_(freep) char *buf = NULL, *name = NULL;
	Crimg__Fd *f;
	size_t idx;
	uint64_t left;
	uint32_t pid;
	int fd, r, wfd = -1;

	if (rec->len < 8)
		return fail(rs, -EPROTO, "record %" PRIu64 " (FILE_DATA) at byte %" PRIu64
			    ": too short", rec->index, rec->offset);
	r = crimg_reader__read_payload(rs->rd, hb, 8);
	if (r < 0)
		return reader_fail(rs, r);
	pid = (uint32_t)hb[0] | (uint32_t)hb[1] << 8 | (uint32_t)hb[2] << 16 | (uint32_t)hb[3] << 24;
	fd = (int)((uint32_t)hb[4] | (uint32_t)hb[5] << 8 | (uint32_t)hb[6] << 16 | (uint32_t)hb[7] << 24);
	r = check_pid(rs, rec, pid, "FILE_DATA");
	if (r < 0)
		return r;
	rs = proc_of(rs, pid); /* a process of the tree */
	f = find_fd(rs, fd, &idx);
	if (!f || !f->path)
		return fail(rs, -EPROTO, "record %" PRIu64 " (FILE_DATA) at byte %" PRIu64
			    ": fd %d is not a file of the FILES record", rec->index, rec->offset, fd);
	if (rs->file_data_fd[idx] >= 0)
		return fail(rs, -EPROTO, "record %" PRIu64 " (FILE_DATA) at byte %" PRIu64
			    ": fd %d twice", rec->index, rec->offset, fd);
	for (int k = 0; k < 100 && wfd < 0; k++) {
		free(name);
		name = NULL;
		if (k == 0)
			name = strdup(f->path);
		else if (asprintf(&name, "%s.cr-restore.%d.%d", f->path, (int)getpid(), k) < 0)
			name = NULL;
		if (!name)
			return fail(rs, -ENOMEM, "out of memory");
		wfd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, f->has_mode ? f->mode & 07777 : 0600);
		if (wfd < 0 && errno != EEXIST)
			return sysfail(rs, -errno, "recreate deleted file %s (fd %d)", f->path, fd);
	}
	if (wfd < 0)
		return fail(rs, -EEXIST, "recreate deleted file %s (fd %d): no free name", f->path, fd);
	unlink(name);
	buf = malloc(1u << 20);
	if (!buf) {
		close(wfd);
		return fail(rs, -ENOMEM, "out of memory");
	}
	for (left = rec->len - 8; left;) {
		size_t n = left < (1u << 20) ? left : (1u << 20);

		r = crimg_reader__read_payload(rs->rd, buf, n);
		if (r < 0) {
			close(wfd);
			return reader_fail(rs, r);
		}
		for (size_t done = 0; done < n;) {
			ssize_t w = write(wfd, buf + done, n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = -errno;
				close(wfd);
				return sysfail(rs, r, "write the contents of deleted file %s", f->path);
			}
			done += (size_t)w;
		}
		left -= n;
	}
	rs->file_data_fd[idx] = wfd;
	return 0;
}

static int stage_gap(struct crcore_restore *rs, uint64_t len, uint64_t *ret);

/* A PAGES_SHARED record (docs/trees.md): its pages go into our own
 * memory now, so that every process of the tree inherits the same page
 * frames; at their own address when it is free here, so that the
 * restorers keep them in place. */
static int read_shared(struct crcore_restore *rs, const struct crimg_record *rec)
{
	uint8_t hb[8];
	uint64_t addr = 0, len, at;
	struct staged *n;
	void *a;
	int r;

	if (!rs->nsub)
		return fail(rs, -EPROTO, "record %" PRIu64 " (PAGES_SHARED) at byte %" PRIu64
			    ": in the image of a single process", rec->index, rec->offset);
	if (rec->len < 8 + PAGE || (rec->len - 8) % PAGE)
		return fail(rs, -EPROTO, "record %" PRIu64 " (PAGES_SHARED) at byte %" PRIu64
			    ": length %" PRIu64 " is not an address and whole pages", rec->index,
			    rec->offset, rec->len);
	r = crimg_reader__read_payload(rs->rd, hb, 8);
	if (r < 0)
		return reader_fail(rs, r);
	for (int i = 7; i >= 0; i--)
		addr = addr << 8 | hb[i];
	len = rec->len - 8;
	if (addr % PAGE || addr + len > TASK_END || addr + len < addr ||
	    (rs->nstaged && addr < rs->staged[rs->nstaged - 1].addr + rs->staged[rs->nstaged - 1].len))
		return fail(rs, -EPROTO, "record %" PRIu64 " (PAGES_SHARED) at byte %" PRIu64
			    ": bad or unordered address 0x%" PRIx64, rec->index, rec->offset, addr);
	n = realloc(rs->staged, (rs->nstaged + 1) * sizeof(*n));
	if (!n)
		return fail(rs, -ENOMEM, "out of memory");
	rs->staged = n;
	rs->mm_done = true;
	/* CRCORE_STAGE_AWAY=1 (tests): as if our own memory were there */
	a = getenv("CRCORE_STAGE_AWAY") ? MAP_FAILED :
		mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_FIXED_NOREPLACE, -1, 0);
	if (a != MAP_FAILED && (uint64_t)a != addr) {
		munmap(a, len);
		a = MAP_FAILED;
	}
	if (a == MAP_FAILED) {
		/* taken by something of ours: elsewhere, then moved */
		r = stage_gap(rs, len, &at);
		if (r < 0)
			return r;
		a = mmap((void *)at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
		if (a == MAP_FAILED)
			return sysfail(rs, -errno, "map %" PRIu64 " bytes of shared private pages",
				       len);
		logf_(rs, "shared private pages 0x%" PRIx64 "-0x%" PRIx64 " staged at %p (ours "
		      "are there), moved into place by the restorers", addr, addr + len, a);
	}
	rs->staged[rs->nstaged++] = (struct staged){ addr, len, (uint64_t)a };
	r = crimg_reader__read_payload(rs->rd, a, len);
	if (r < 0)
		return reader_fail(rs, r);
	return 0;
}

static void unstage(struct crcore_restore *rs)
{
	for (size_t i = 0; i < rs->nstaged; i++)
		munmap((void *)rs->staged[i].at, rs->staged[i].len);
	free(rs->staged);
	rs->staged = NULL;
	rs->nstaged = 0;
}

static int read_records(struct crcore_restore *rs)
{
	const struct crimg_record *rec;
	int r;

	while ((r = crimg_reader__next(rs->rd, &rec)) > 0) {
		ProtobufCMessage *m = NULL;

		switch (rec->type) {
		case CRIMG_T_PROC: {
			Crimg__Proc *p;

			r = read_msg(rs, rec, &crimg__proc__descriptor, &m);
			if (r < 0)
				return r;
			p = (Crimg__Proc *)m;
			if (!rs->proc) {
				rs->proc = p;
			} else if (proc_of(rs, p->pid)) {
				protobuf_c_message_free_unpacked(m, NULL);
				return fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": a second "
					    "PROC record of %u", rec->index, rec->offset, p->pid);
			} else if (p->has_state && p->state == 'Z') {
				/* a zombie of the tree: only its PROC (docs/trees.md) */
				Crimg__Proc **z = realloc(rs->zombies, (rs->nzombies + 1) * sizeof(*z));

				if (!z) {
					protobuf_c_message_free_unpacked(m, NULL);
					return fail(rs, -ENOMEM, "out of memory");
				}
				rs->zombies = z;
				rs->zombies[rs->nzombies++] = p;
			} else if (!sub_new(rs, p)) {
				protobuf_c_message_free_unpacked(m, NULL);
				return fail(rs, -ENOMEM, "out of memory");
			}
			break;
		}
		case CRIMG_T_THREAD: {
			struct crcore_restore *o;
			Crimg__Thread **t;

			r = read_msg(rs, rec, &crimg__thread__descriptor, &m);
			if (r < 0)
				return r;
			r = check_pid(rs, rec, ((Crimg__Thread *)m)->pid, "THREAD");
			o = r < 0 ? NULL : route(rs, rec, ((Crimg__Thread *)m)->pid, "THREAD");
			if (!o) {
				protobuf_c_message_free_unpacked(m, NULL);
				return r < 0 ? r : -EPROTO;
			}
			t = realloc(o->threads, (o->nthreads + 1) * sizeof(*t));
			if (!t) {
				protobuf_c_message_free_unpacked(m, NULL);
				return fail(rs, -ENOMEM, "out of memory");
			}
			o->threads = t;
			o->threads[o->nthreads++] = (Crimg__Thread *)m;
			break;
		}
		case CRIMG_T_SIGACTIONS:
		case CRIMG_T_PROC_MISC:
		case CRIMG_T_FILES:
		case CRIMG_T_MM: {
			const ProtobufCMessageDescriptor *d;
			struct crcore_restore *o = rs;
			void **slot;
			uint32_t pid;
			const char *what;

			switch (rec->type) {
			case CRIMG_T_SIGACTIONS:
				d = &crimg__sig_actions__descriptor;
				slot = (void **)&rs->sigacts;
				what = "SIGACTIONS";
				break;
			case CRIMG_T_PROC_MISC:
				d = &crimg__proc_misc__descriptor;
				slot = (void **)&rs->misc;
				what = "PROC_MISC";
				break;
			case CRIMG_T_FILES:
				d = &crimg__files__descriptor;
				slot = (void **)&rs->files;
				what = "FILES";
				break;
			default:
				d = &crimg__mm__descriptor;
				slot = (void **)&rs->mm;
				what = "MM";
				break;
			}
			r = read_msg(rs, rec, d, &m);
			if (r < 0)
				return r;
			/* every one of these messages has the pid as field 1 */
			pid = rec->type == CRIMG_T_SIGACTIONS ? ((Crimg__SigActions *)m)->pid :
			      rec->type == CRIMG_T_PROC_MISC ? ((Crimg__ProcMisc *)m)->pid :
			      rec->type == CRIMG_T_FILES ? ((Crimg__Files *)m)->pid : ((Crimg__Mm *)m)->pid;
			r = check_pid(rs, rec, pid, what);
			if (r == 0 && !(o = route(rs, rec, pid, what)))
				r = -EPROTO;
			if (r == 0 && *(void **)((char *)o + ((char *)slot - (char *)rs)))
				r = fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": a second "
					 "%s record of %u", rec->index, rec->offset, what, pid);
			if (r < 0) {
				protobuf_c_message_free_unpacked(m, NULL);
				return r;
			}
			/* the same field in the object of that process */
			slot = (void **)((char *)o + ((char *)slot - (char *)rs));
			*slot = m;
			if (rec->type == CRIMG_T_MM && rs->mm_done)
				return fail(rs, -EPROTO, "record %" PRIu64 " at byte %" PRIu64 ": an MM "
					    "record after the PAGES_SHARED records", rec->index, rec->offset);
			if (rec->type == CRIMG_T_MM) {
				struct crcore_restore **n = realloc(rs->order, (rs->norder + 1) * sizeof(*n));

				if (!n)
					return fail(rs, -ENOMEM, "out of memory");
				rs->order = n;
				rs->order[rs->norder++] = o;
			}
			if (rec->type == CRIMG_T_FILES) {
				o->file_data_fd = malloc((o->files->n_fds + 1) * sizeof(int));
				if (!o->file_data_fd)
					return fail(rs, -ENOMEM, "out of memory");
				for (size_t i = 0; i < o->files->n_fds; i++)
					o->file_data_fd[i] = -1;
			}
			break;
		}
		case CRIMG_T_FILE_DATA:
			r = read_file_data(rs, rec);
			if (r < 0)
				return r;
			break;
		case CRIMG_T_SYSV_SHM: {
			Crimg__SysvShm **v;

			r = read_msg(rs, rec, &crimg__sysv_shm__descriptor, &m);
			if (r < 0)
				return r;
			v = realloc(rs->sysv, (rs->nsysv + 1) * sizeof(*v));
			if (!v) {
				protobuf_c_message_free_unpacked(m, NULL);
				return fail(rs, -ENOMEM, "out of memory");
			}
			rs->sysv = v;
			rs->sysv[rs->nsysv++] = (Crimg__SysvShm *)m;
			break;
		}
		case CRIMG_T_PAGES_SHARED:
			r = read_shared(rs, rec);
			if (r < 0)
				return r;
			break;
		case CRIMG_T_PAGES:
			/* stop right after its header: the restorer reads the rest */
			rs->stream = (struct rst_stream){
				.offset = rec->offset, .index = rec->index, .len = rec->len,
				.type = rec->type, .flags = rec->flags,
				.hdr_csum = hdr_csum(rec), .chain = rs->chain,
			};
			return 0;
		default:
			r = crimg_reader__skip_unknown(rs->rd);
			if (r < 0)
				return reader_fail(rs, r);
			break;
		}
		if (crimg_reader__payload_left(rs->rd)) {
			r = crimg_reader__skip(rs->rd);
			if (r < 0)
				return reader_fail(rs, r);
		}
		chain_record(rs, rec);
	}
	if (r < 0)
		return reader_fail(rs, r);
	/* the trailer came before any memory: nothing left for the restorer */
	rs->stream.done = 1;
	return 0;
}

/* ---- checks ------------------------------------------------------------------ */

/* 0 free, 1 zombie, 2 live; comm filled. */
static int pid_state(pid_t pid, char *comm, size_t len)
{
	char path[64], buf[512], *l, *r;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r < l || !r[1] || !r[2])
		return 2;
	snprintf(comm, len, "%.*s", (int)(r - l - 1), l + 1);
	if (r[2] == 'Z' || r[2] == 'X')
		return 1;
	{
		/* killed and on its way out (PF_EXITING, or SIGKILL pending: the
		 * dump kills a tree's processes without waiting for them, and a
		 * process with sockets to close can take a moment): as a zombie */
		unsigned int flags = 0;
		char st[4096];
		const char *p;

		if (sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) == 1 && (flags & 0x4))
			return 1;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, st, sizeof(st) - 1);
		if (fd >= 0)
			close(fd);
		st[n > 0 ? n : 0] = 0;
		for (p = st; (p = strstr(p, "Pnd:")); p += 4)
			if (strtoull(p + 4, NULL, 16) & (1ull << (SIGKILL - 1)))
				return 1;
	}
	return 2;
}

/* The PID and every TID must be free.  A zombie (killed by the dump, not
 * yet reaped by a slow parent) gets a bounded wait. */
static int check_ids_free(struct crcore_restore *rs, bool wait_live)
{
	struct timespec t0, now;

	rs->taken_live = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < rs->nthreads; i++) {
		pid_t id = (pid_t)rs->threads[i]->tid;
		const char *what = id == (pid_t)rs->proc->pid ? "pid" : "thread id";
		char comm[64] = "";
		int st;

		while ((st = pid_state(id, comm, sizeof(comm))) == 1 || (st == 2 && wait_live)) {
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms >= rs->pid_wait_ms && st == 2)
				return fail(rs, -EEXIST, "%s %d is still taken by a running process (%s) "
					    "%u ms after the end of the stream", what, (int)id, comm,
					    rs->pid_wait_ms);
			if (ms >= rs->pid_wait_ms)
				return fail(rs, -EEXIST, "%s %d is still taken by a zombie (%s) that its "
					    "parent has not reaped after %u ms", what, (int)id, comm,
					    rs->pid_wait_ms);
			usleep(10000);
		}
		if (st == 2) {
			rs->taken_live = true;
			return fail(rs, -EEXIST, "%s %d is taken by a running process (%s)", what,
				    (int)id, comm);
		}
	}
	return 0;
}

static int check_records(struct crcore_restore *rs)
{
	Crimg__Proc *p = rs->proc;

	if (!p)
		return fail(rs, -EPROTO, "the image has no PROC record before its memory");
	if (!rs->mm)
		return fail(rs, -EPROTO, "the image has no MM record for process %u", p->pid);
	if (!p->n_tids || p->tids[0] != p->pid)
		return fail(rs, -EPROTO, "PROC record of %u: the thread list does not start with "
			    "the process", p->pid);
	if (rs->nthreads != p->n_tids)
		return fail(rs, -EPROTO, "process %u has %zu threads but %zu THREAD records",
			    p->pid, p->n_tids, rs->nthreads);
	/* order the THREAD records as PROC lists them: the leader first */
	for (size_t i = 0; i < p->n_tids; i++) {
		size_t j;

		for (j = i; j < rs->nthreads && rs->threads[j]->tid != p->tids[i]; j++)
			;
		if (j == rs->nthreads)
			return fail(rs, -EPROTO, "no THREAD record for thread %u", p->tids[i]);
		Crimg__Thread *t = rs->threads[i];

		rs->threads[i] = rs->threads[j];
		rs->threads[j] = t;
	}
	for (size_t i = 0; i < rs->nthreads; i++) {
		Crimg__Thread *t = rs->threads[i];

		if (t->arch != AUDIT_ARCH_X86_64_)
			return fail(rs, -EOPNOTSUPP, "thread %u: architecture 0x%x is not supported "
				    "(x86-64 only)", t->tid, t->arch);
		if (t->gpregs.len != sizeof(struct user_regs_struct))
			return fail(rs, -EPROTO, "thread %u: registers of %zu bytes, expected %zu",
				    t->tid, t->gpregs.len, sizeof(struct user_regs_struct));
		if (!t->has_xsave && !t->has_fpregs)
			return fail(rs, -EPROTO, "thread %u: no FPU state", t->tid);
		for (size_t k = 0; k < t->n_pending; k++)
			if (t->pending[k].len != RST_SIGINFO_SIZE)
				return fail(rs, -EPROTO, "thread %u: pending siginfo of %zu bytes",
					    t->tid, t->pending[k].len);
	}
	for (size_t k = 0; k < p->n_shared_pending; k++)
		if (p->shared_pending[k].len != RST_SIGINFO_SIZE)
			return fail(rs, -EPROTO, "process %u: pending siginfo of %zu bytes", p->pid,
				    p->shared_pending[k].len);
	if (p->creds && p->creds->has_seccomp_mode && p->creds->seccomp_mode)
		return fail(rs, -EOPNOTSUPP, "process %u uses seccomp (mode %u), which is not "
			    "supported yet", p->pid, p->creds->seccomp_mode);
	if (rs->misc && rs->misc->n_rlimits > RST_MAX_RLIMIT)
		return fail(rs, -EPROTO, "too many rlimits (%zu)", rs->misc->n_rlimits);
	return 0;
}

/* ---- the plan ------------------------------------------------------------------- */

/* Appends len bytes (zeros if data is NULL), aligned; returns the plan offset. */
static uint32_t plan_add(struct crcore_restore *rs, const void *data, size_t len, size_t align)
{
	size_t at = (rs->pb_len + align - 1) & ~(align - 1);

	if (at + len > rs->pb_cap) {
		size_t cap = rs->pb_cap ? rs->pb_cap : 65536;
		uint8_t *n;

		while (cap < at + len)
			cap *= 2;
		n = realloc(rs->pb, cap);
		if (!n)
			return 0;
		memset(n + rs->pb_cap, 0, cap - rs->pb_cap);
		rs->pb = n;
		rs->pb_cap = cap;
	}
	if (data)
		memcpy(rs->pb + at, data, len);
	rs->pb_len = at + len;
	return (uint32_t)at;
}

static uint32_t plan_str(struct crcore_restore *rs, const char *s)
{
	return s ? plan_add(rs, s, strlen(s) + 1, 1) : 0;
}

#define PLAN(rs) ((struct rst_plan *)(rs)->pb)

static int vma_cmp(const void *a, const void *b)
{
	const struct rst_vma *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* A memfd the process holds and maps (Vma.memfd_fd, docs/fds.md): the
 * restorer maps it like a shared file, from the process's own fd, at its
 * final protection; its contents are the fd's (FILES), no PAGES come. */
static int memfd_vma(struct crcore_restore *rs, const Crimg__Vma *m, struct rst_vma *x)
{
	char p[64];

	for (size_t i = 0; rs->files && i < rs->files->n_fds; i++) {
		const Crimg__Fd *f = rs->files->fds[i];

		if (f->fd != m->memfd_fd)
			continue;
		if (f->kind != CRIMG__FD_KIND__FD_MEMFD || m->kind != CRIMG__VMA_KIND__VMA_ANON_SHARED ||
		    !f->has_ino || !m->has_shmid || f->ino != m->shmid || f->dev != m->dev)
			break;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", f->fd);
		x->kind = RST_VMA_FILE_SHARED;
		x->path = plan_str(rs, p);
		if (!x->path)
			return fail(rs, -ENOMEM, "out of memory");
		return 0;
	}
	return fail(rs, -EPROTO, "MM record: mapping 0x%" PRIx64 " maps memfd fd %d, which is not "
		    "that memfd in the FILES record", m->start, m->memfd_fd);
}

static int build_vmas(struct crcore_restore *rs)
{
	Crimg__Mm *mm = rs->mm;
	uint32_t off = plan_add(rs, NULL, mm->n_vmas * sizeof(struct rst_vma), 8);
	struct rst_vma *v;
	struct rst_vdso *iv;

	if (!off && mm->n_vmas)
		return fail(rs, -ENOMEM, "out of memory");
	for (size_t i = 0; i < mm->n_vmas; i++) {
		Crimg__Vma *m = mm->vmas[i];
		uint32_t path = plan_str(rs, m->path);
		struct rst_vma x = {
			.start = m->start, .end = m->end, .pgoff = m->pgoff, .prot = m->prot,
			.flags = m->flags, .kind = m->kind, .path = path,
			.madv = m->has_madv ? m->madv : 0, .shmid = m->has_shmid ? m->shmid : 0,
			.fd = -1, .tree_fd = -1,
		};

		if (m->start >= m->end || m->start % PAGE || m->end % PAGE || m->end > TASK_END) {
			if (m->kind == CRIMG__VMA_KIND__VMA_VSYSCALL)
				x.kind = RST_VMA_VSYSCALL;
			else
				return fail(rs, -EPROTO, "MM record: bad mapping 0x%" PRIx64 "-0x%" PRIx64,
					    m->start, m->end);
		}
		if ((m->kind == CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
		     m->kind == CRIMG__VMA_KIND__VMA_FILE_SHARED) && !m->path)
			return fail(rs, -EPROTO, "MM record: file mapping 0x%" PRIx64 " without a path",
				    m->start);
		if (m->path && (m->kind == CRIMG__VMA_KIND__VMA_FILE_PRIVATE ||
				m->kind == CRIMG__VMA_KIND__VMA_FILE_SHARED) &&
		    access(m->path, F_OK) < 0)
			return sysfail(rs, -errno, "file %s, mapped at 0x%" PRIx64 " in the image",
				       m->path, m->start);
		if (m->has_memfd_fd) {
			int r = memfd_vma(rs, m, &x);

			if (r < 0)
				return r;
		}
		memcpy(rs->pb + off + i * sizeof(x), &x, sizeof(x));
	}
	v = (struct rst_vma *)(rs->pb + off);
	qsort(v, mm->n_vmas, sizeof(*v), vma_cmp);
	for (size_t i = 1; i < mm->n_vmas; i++)
		if (v[i].start < v[i - 1].end && v[i].kind != RST_VMA_VSYSCALL)
			return fail(rs, -EPROTO, "MM record: mappings overlap at 0x%" PRIx64,
				    v[i].start);
	iv = &PLAN(rs)->img_vdso;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		switch (v[i].kind) {
		case RST_VMA_VVAR:
			iv->vvar_start = v[i].start, iv->vvar_end = v[i].end;
			break;
		case RST_VMA_VVAR_VCLOCK:
			iv->vclock_start = v[i].start, iv->vclock_end = v[i].end;
			break;
		case RST_VMA_VDSO:
			iv->vdso_start = v[i].start, iv->vdso_end = v[i].end;
			break;
		}
	}
	PLAN(rs)->nvmas = (uint32_t)mm->n_vmas;
	PLAN(rs)->vmas = off;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* MM.inherited: where each range is staged (split at the PAGES_SHARED
 * records), and the staged ranges the restorer keeps (docs/trees.md). */
static int build_inherit(struct crcore_restore *rs)
{
	const struct crcore_restore *top = rs->top ? rs->top : rs;
	Crimg__Mm *mm = rs->mm;
	struct rst_inherit *in = NULL;
	struct rst_range *kp = NULL;
	size_t n = 0, nk = 0, kk = 0, cap = mm->n_inherited + top->nstaged;
	uint64_t prev = 0;
	uint32_t off, koff;
	int r = 0;

	if (!mm->n_inherited)
		return 0;
	in = calloc(cap, sizeof(*in));
	kp = calloc(cap, sizeof(*kp));
	if (!in || !kp) {
		r = fail(rs, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < mm->n_inherited; i++) {
		const Crimg__PageRange *pr = mm->inherited[i];
		const struct rst_vma *v = (const struct rst_vma *)(rs->pb + PLAN(rs)->vmas);
		uint64_t s = pr->start, c = pr->start;

		/* covered by private anonymous mappings (sorted) */
		for (uint32_t k = 0; k < PLAN(rs)->nvmas && c < pr->end; k++)
			if (v[k].kind == RST_VMA_ANON_PRIVATE && v[k].start <= c && c < v[k].end)
				c = v[k].end;
		if (pr->start >= pr->end || pr->start % PAGE || pr->end % PAGE || pr->start < prev ||
		    c < pr->end) {
			r = fail(rs, -EPROTO, "MM record of %u: inherited range 0x%" PRIx64 "-0x%" PRIx64
				 " is not whole pages of a private anonymous mapping, in order",
				 mm->pid, pr->start, pr->end);
			goto out;
		}
		prev = pr->end;
		/* both in address order: the records before s are done with */
		while (kk < top->nstaged && top->staged[kk].addr + top->staged[kk].len <= s)
			kk++;
		for (size_t k = kk; k < top->nstaged && s < pr->end; k++) {
			const struct staged *g = &top->staged[k];
			uint64_t e = pr->end < g->addr + g->len ? pr->end : g->addr + g->len;

			if (g->addr + g->len <= s || g->addr > s)
				continue;
			if (n == cap)
				break;
			in[n++] = (struct rst_inherit){ s, e, g->at + (s - g->addr) };
			s = e;
		}
		if (s < pr->end) {
			r = fail(rs, -EPROTO, "MM record of %u: inherited pages at 0x%" PRIx64 " are in no "
				 "PAGES_SHARED record", mm->pid, s);
			goto out;
		}
	}
	/* what to keep: every src, merged, in address order */
	for (size_t i = 0; i < n; i++)
		kp[i] = (struct rst_range){ in[i].src, in[i].src + (in[i].end - in[i].start) };
	qsort(kp, n, sizeof(*kp), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (nk && kp[nk - 1].end >= kp[i].start) {
			if (kp[i].end > kp[nk - 1].end)
				kp[nk - 1].end = kp[i].end;
		} else {
			kp[nk++] = kp[i];
		}
	}
	off = plan_add(rs, in, n * sizeof(*in), 8);
	koff = plan_add(rs, kp, nk * sizeof(*kp), 8);
	if (!off || !koff) {
		r = fail(rs, -ENOMEM, "out of memory");
		goto out;
	}
	PLAN(rs)->ninherit = (uint32_t)n;
	PLAN(rs)->inherit = off;
	PLAN(rs)->nkeep = (uint32_t)nk;
	PLAN(rs)->keep = koff;
out:
	free(in);
	free(kp);
	return r;
}

static int build_threads(struct crcore_restore *rs)
{
	uint32_t off = plan_add(rs, NULL, rs->nthreads * sizeof(struct rst_thread), 64);

	if (!off)
		return fail(rs, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rs->nthreads; i++) {
		Crimg__Thread *m = rs->threads[i];
		struct rst_thread t = { .tid = m->tid, .sigmask = m->sigmask };
		const char *comm = m->comm ? m->comm : (i == 0 ? rs->proc->comm : NULL);

		memcpy(t.gpregs, m->gpregs.data, sizeof(t.gpregs));
		if (m->rseq && m->rseq->addr) {
			t.has_rseq = 1;
			t.rseq_addr = m->rseq->addr;
			t.rseq_len = m->rseq->len;
			t.rseq_sig = m->rseq->sig;
		}
		if (m->has_clear_child_tid)
			t.clear_child_tid = m->clear_child_tid;
		if (m->has_pdeathsig && m->pdeathsig > 0 && m->pdeathsig <= RST_MAX_SIG)
			t.pdeathsig = m->pdeathsig;
		if (m->has_robust_list && m->has_robust_list_len && m->robust_list) {
			t.robust_head = m->robust_list;
			t.robust_len = m->robust_list_len;
		}
		if (m->altstack) {
			t.has_altstack = 1;
			t.altstack_sp = m->altstack->sp;
			t.altstack_size = m->altstack->size;
			t.altstack_flags = m->altstack->flags;
		}
		if (comm) {
			t.has_comm = 1;
			snprintf(t.comm, sizeof(t.comm), "%s", comm);
		}
		t.npending = (uint32_t)m->n_pending;
		if (m->n_pending) {
			t.pending = plan_add(rs, NULL, m->n_pending * RST_SIGINFO_SIZE, 8);
			for (size_t k = 0; k < m->n_pending; k++)
				memcpy(rs->pb + t.pending + k * RST_SIGINFO_SIZE, m->pending[k].data,
				       RST_SIGINFO_SIZE);
		}
		memcpy(rs->pb + off + i * sizeof(t), &t, sizeof(t));
	}
	PLAN(rs)->nthreads = (uint32_t)rs->nthreads;
	PLAN(rs)->threads = off;
	return 0;
}

static void build_signals(struct crcore_restore *rs)
{
	Crimg__Proc *p = rs->proc;
	struct rst_plan *pl;
	uint32_t off = 0;

	if (p->n_shared_pending) {
		off = plan_add(rs, NULL, p->n_shared_pending * RST_SIGINFO_SIZE, 8);
		for (size_t k = 0; k < p->n_shared_pending; k++)
			memcpy(rs->pb + off + k * RST_SIGINFO_SIZE, p->shared_pending[k].data,
			       RST_SIGINFO_SIZE);
	}
	pl = PLAN(rs);
	pl->nshared_pending = (uint32_t)p->n_shared_pending;
	pl->shared_pending = off;
	if (!rs->sigacts)
		return;
	for (size_t i = 0; i < rs->sigacts->n_actions; i++) {
		Crimg__SigAction *a = rs->sigacts->actions[i];

		if (!a->sig || a->sig > RST_MAX_SIG)
			continue;
		pl->sigactions[a->sig] = (struct rst_sigaction){
			.handler = a->handler, .flags = a->flags,
			.restorer = a->has_restorer ? a->restorer : 0, .mask = a->mask, .set = 1,
		};
	}
}

static int build_misc(struct crcore_restore *rs)
{
	Crimg__ProcMisc *m = rs->misc;
	Crimg__Creds *c = rs->proc->creds;
	uint32_t off;

	if (c) {
		struct rst_creds rc = {
			.uid = c->uid, .euid = c->euid, .suid = c->suid, .fsuid = c->fsuid,
			.gid = c->gid, .egid = c->egid, .sgid = c->sgid, .fsgid = c->fsgid,
			.ngroups = (uint32_t)c->n_groups,
			.cap_inh = c->cap_inh, .cap_prm = c->cap_prm, .cap_eff = c->cap_eff,
			.cap_bnd = c->cap_bnd, .cap_amb = c->cap_amb,
			.securebits = c->has_securebits ? c->securebits : 0,
			.has_caps = c->has_cap_prm && c->has_cap_eff && c->has_cap_bnd,
		};

		if (c->n_groups)
			rc.groups = plan_add(rs, c->groups, c->n_groups * sizeof(uint32_t), 4);
		PLAN(rs)->creds = rc;
		PLAN(rs)->has_creds = 1;
		if (c->has_no_new_privs && c->no_new_privs)
			PLAN(rs)->no_new_privs = 1;
	}
	if (rs->proc->has_personality) {
		PLAN(rs)->personality = rs->proc->personality;
		PLAN(rs)->has_personality = 1;
	}
	if (!m)
		return 0;
	if (m->n_posix_timers) {
		off = plan_add(rs, NULL, m->n_posix_timers * sizeof(struct rst_ptimer), 8);
		for (size_t i = 0; i < m->n_posix_timers; i++) {
			Crimg__PosixTimer *t = m->posix_timers[i];
			struct rst_ptimer pt = {
				.id = t->id, .clock = t->clock, .notify = t->notify,
				.signo = t->has_signo ? t->signo : 0,
				.sival = t->has_sival ? t->sival : 0,
				.notify_tid = t->has_notify_tid ? t->notify_tid : 0,
				.interval_ns = t->interval_ns, .value_ns = t->value_ns,
			};

			memcpy(rs->pb + off + i * sizeof(pt), &pt, sizeof(pt));
		}
		/* the kernel hands out ids in order: create them in order */
		PLAN(rs)->ptimers = off;
		PLAN(rs)->nptimers = (uint32_t)m->n_posix_timers;
	}
	struct rst_plan *pl = PLAN(rs);

	for (size_t i = 0; i < m->n_itimers && i < 3; i++) {
		Crimg__Itimer *t = m->itimers[i];

		if (t->which > 2)
			continue;
		pl->itimers[t->which] = (struct rst_itimer){ .which = t->which, .set = 1,
			.interval_ns = t->interval_ns, .value_ns = t->value_ns };
	}
	for (size_t i = 0; i < m->n_rlimits; i++)
		pl->rlimits[i] = (struct rst_rlimit){ .resource = m->rlimits[i]->resource,
			.cur = m->rlimits[i]->cur, .max = m->rlimits[i]->max };
	pl->nrlimits = (uint32_t)m->n_rlimits;
	if (m->has_personality) {
		pl->personality = m->personality;
		pl->has_personality = 1;
	}
	if (m->has_umask) {
		pl->umask = m->umask;
		pl->has_umask = 1;
	}
	if (m->has_dumpable) {
		pl->dumpable = m->dumpable;
		pl->has_dumpable = 1;
	}
	if (m->has_child_subreaper)
		pl->child_subreaper = m->child_subreaper;
	if (m->has_no_new_privs && m->no_new_privs)
		pl->no_new_privs = 1;
	if (m->has_thp_disable) {
		pl->thp_disable = m->thp_disable;
		pl->has_thp_disable = 1;
	}
	if (m->has_timerslack_ns) {
		pl->timerslack_ns = m->timerslack_ns;
		pl->has_timerslack = 1;
	}
	return 0;
}

static void build_mm(struct crcore_restore *rs)
{
	Crimg__Mm *m = rs->mm;
	uint32_t auxv = 0;
	struct rst_mm x;

	if (m->n_auxv)
		auxv = plan_add(rs, m->auxv, m->n_auxv * sizeof(uint64_t), 8);
	x = (struct rst_mm){
		.start_code = m->start_code, .end_code = m->end_code,
		.start_data = m->start_data, .end_data = m->end_data,
		.start_brk = m->start_brk, .brk = m->brk, .start_stack = m->start_stack,
		.arg_start = m->arg_start, .arg_end = m->arg_end,
		.env_start = m->env_start, .env_end = m->env_end,
		.nauxv = (uint32_t)m->n_auxv, .auxv = auxv, .exe_fd = rs->exe_fd,
		.set = m->has_start_code && m->has_brk && m->has_start_stack,
	};
	PLAN(rs)->mm = x;
}

/* ---- files ------------------------------------------------------------------------ */

static int fd_move_high(struct crcore_restore *rs, int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, rs->fd_base);
	int e = errno;

	close(fd);
	errno = e;
	return n;
}

static int add_fdp(struct crcore_restore *rs, int target, int src, bool cloexec)
{
	struct fd_plan *n = realloc(rs->fdp, (rs->nfdp + 1) * sizeof(*n));

	if (!n)
		return fail(rs, -ENOMEM, "out of memory");
	rs->fdp = n;
	rs->fdp[rs->nfdp++] = (struct fd_plan){ target, src, cloexec };
	return 0;
}

static const char *fd_kind_name(uint32_t k)
{
	switch (k) {
	case CRIMG__FD_KIND__FD_PIPE: return "a pipe";
	case CRIMG__FD_KIND__FD_UNIX: return "a unix socket";
	case CRIMG__FD_KIND__FD_INET: return "an inet socket";
	case CRIMG__FD_KIND__FD_EVENTFD: return "an eventfd";
	case CRIMG__FD_KIND__FD_EPOLL: return "an epoll fd";
	case CRIMG__FD_KIND__FD_SIGNALFD: return "a signalfd";
	case CRIMG__FD_KIND__FD_TIMERFD: return "a timerfd";
	case CRIMG__FD_KIND__FD_INOTIFY: return "an inotify fd";
	case CRIMG__FD_KIND__FD_MEMFD: return "a memfd";
	default: return "an fd of an unknown kind";
	}
}

/*
 * Opens every fd of the image at a high number (>= fd_base, above every
 * fd of the image); the child dup3s them into place.  Regular files are
 * reopened by path with their flags and offset, deleted ones from their
 * recreated copy, character devices by path.  Standard fds (0-2) of a
 * kind we cannot recreate (a pipe or socket to the old parent, a
 * terminal that is gone) are inherited from cr-assemble, as a shell
 * job's are; any other such fd is refused before anything is created.
 */
/* Our source fd of the description id that an earlier process of the
 * tree opened, duplicated for rs (above its fds), or -1. */
static int tree_src(struct crcore_restore *rs, uint64_t id)
{
	struct crcore_restore *top = rs->top;

	for (size_t k = 0; k <= top->nsub; k++) {
		struct crcore_restore *o = k ? top->sub[k - 1] : top;

		if (o == rs)
			break;
		for (size_t j = 0; o->files && j < o->nfdp && j < o->files->n_fds; j++) {
			Crimg__Fd *g = o->files->fds[j];

			if (g->has_id && g->id == id && o->fdp[j].src != o->fdp[j].target &&
			    o->fdp[j].src >= 0)
				return fcntl(o->fdp[j].src, F_DUPFD_CLOEXEC, rs->fd_base);
		}
	}
	return -1;
}

static int open_files(struct crcore_restore *rs)
{
	size_t n = rs->files ? rs->files->n_fds : 0;
	int maxfd = 2;

	for (size_t i = 0; i < n; i++)
		if (rs->files->fds[i]->fd > maxfd)
			maxfd = rs->files->fds[i]->fd;
	rs->fd_base = maxfd + 1 < 16 ? 16 : maxfd + 1;
	if ((rs->flags & CRCORE_RESTORE_SHELL_JOB) && fd_rst_shell_job(&rs->fdr, true) < 0)
		return fail(rs, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		Crimg__Fd *f = rs->files->fds[i];
		int flags = (int)f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
		int src = -1;
		bool shared = false;

		/* a description shared with an earlier fd: the same source */
		if (f->has_id)
			for (size_t j = 0; j < rs->nfdp && j < i; j++) {
				Crimg__Fd *g = rs->files->fds[j];

				if (g->has_id && g->id == f->id && rs->fdp[j].src != rs->fdp[j].target) {
					src = rs->fdp[j].src;
					shared = true;
					break;
				}
			}
		/* ... or with an fd of an earlier process of the tree */
		if (!shared && f->has_id && rs->top) {
			src = tree_src(rs, f->id);
			shared = src >= 0;
		}
		if (shared) {
		} else if (f->kind == CRIMG__FD_KIND__FD_REG && f->has_deleted && f->deleted) {
			char p[64];

			if (rs->file_data_fd[i] < 0)
				return fail(rs, -EPROTO, "fd %d: deleted file %s without its FILE_DATA",
					    f->fd, f->path ? f->path : "?");
			snprintf(p, sizeof(p), "/proc/self/fd/%d", rs->file_data_fd[i]);
			src = open(p, flags | O_CLOEXEC);
			if (src < 0)
				return sysfail(rs, -errno, "reopen the recreated copy of deleted file %s",
					       f->path);
		} else if ((f->kind == CRIMG__FD_KIND__FD_REG || f->kind == CRIMG__FD_KIND__FD_CHR) &&
			   f->path && f->path[0] == '/') {
			src = open(f->path, flags | O_CLOEXEC | (f->kind == CRIMG__FD_KIND__FD_CHR ?
								   O_NOCTTY : 0));
			if (src < 0 && f->fd > 2)
				return sysfail(rs, -errno, "fd %d: open %s", f->fd, f->path);
			if (src < 0)
				warn(rs, "fd %d: cannot open %s (%s): inherited from cr-assemble", f->fd,
				     f->path, strerror(errno));
		} else if (fd_rst_handles(f->kind)) {
			/* pipes, sockets, eventfds... (fd-restore.c); src stays -1
			 * for a std fd whose peer was outside: inherited below */
			char e[512];
			int r = fd_rst_open(&rs->fdr, rs->files, i, &src, e, sizeof(e));

			if (r < 0)
				return fail(rs, r, "%s", e);
		} else if (f->fd > 2) {
			return fail(rs, -EOPNOTSUPP, "fd %d is %s, which is not supported yet", f->fd,
				    fd_kind_name(f->kind));
		}
		if (src < 0) {
			/* std fd: inherit ours, but never the stream itself */
			if (f->fd == rs->fd) {
				src = open("/dev/null", O_RDWR | O_CLOEXEC);
				if (src < 0)
					return sysfail(rs, -errno, "open /dev/null");
				warn(rs, "fd %d (%s) is cr-assemble's image input: /dev/null instead",
				     f->fd, fd_kind_name(f->kind));
			} else {
				if (fcntl(f->fd, F_GETFD) < 0)
					return fail(rs, -EBADF, "fd %d (%s) is inherited from cr-assemble, "
						    "which has no fd %d", f->fd, fd_kind_name(f->kind), f->fd);
				if (add_fdp(rs, f->fd, f->fd, f->cloexec) < 0)
					return -ENOMEM;
				continue;
			}
		}
		if (!shared) {
			src = fd_move_high(rs, src);
			if (src < 0)
				return sysfail(rs, -errno, "fd %d: move to a high fd", f->fd);
			if (f->has_pos && f->pos >= 0 && f->kind == CRIMG__FD_KIND__FD_REG &&
			    lseek(src, f->pos, SEEK_SET) < 0 && !S_ISDIR(f->mode))
				return sysfail(rs, -errno, "fd %d: seek %s to %" PRId64, f->fd,
					       f->path, f->pos);
		}
		if (add_fdp(rs, f->fd, src, f->cloexec) < 0)
			return -ENOMEM;
	}
	if (!rs->top && !rs->nsub)
		fd_rst_opened(rs->fdr); /* what it held to build the objects (a tree: tree_run) */
	rs->stream_fd = fcntl(rs->spool_fd >= 0 ? rs->spool_fd : rs->fd, F_DUPFD_CLOEXEC, rs->fd_base);
	if (rs->stream_fd < 0)
		return sysfail(rs, -errno, "dup the stream fd");
	rs->exe_fd = -1;
	{
		const char *exe = rs->mm->exe ? rs->mm->exe : rs->proc->exe;

		if (exe && exe[0] == '/') {
			int e = open(exe, O_RDONLY | O_CLOEXEC);

			if (e < 0)
				warn(rs, "executable %s: %s: /proc/PID/exe is left as cr-assemble's", exe,
				     strerror(errno));
			else if ((rs->exe_fd = fd_move_high(rs, e)) < 0)
				return sysfail(rs, -errno, "move the exe fd");
		}
	}
	return 0;
}

/* ---- the restorer area ------------------------------------------------------------- */

static int self_maps(struct rst_range **busy, size_t *n, struct rst_vdso *v)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	size_t cap = 0;

	if (!f)
		return -errno;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t s, e;
		char name[256] = "";

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %255s", &s, &e, name) < 2)
			continue;
		if (!strcmp(name, "[vvar]"))
			v->vvar_start = s, v->vvar_end = e;
		else if (!strcmp(name, "[vvar_vclock]"))
			v->vclock_start = s, v->vclock_end = e;
		else if (!strcmp(name, "[vdso]"))
			v->vdso_start = s, v->vdso_end = e;
		if (*n == cap) {
			struct rst_range *b = realloc(*busy, (cap = cap ? cap * 2 : 128) * sizeof(*b));

			if (!b) {
				fclose(f);
				return -ENOMEM;
			}
			*busy = b;
		}
		(*busy)[(*n)++] = (struct rst_range){ s, e };
	}
	fclose(f);
	return 0;
}

/* A range of len bytes (with a free page on each side) outside the
 * busy spans, preferably above 4 GiB.  Sorts busy. */
static int gap_in(struct rst_range *busy, size_t n, uint64_t len, uint64_t *ret)
{
	uint64_t at;

	qsort(busy, n, sizeof(*busy), range_cmp);
	/* above 4 GiB (clear of non-PIE programs and their brk), page gaps around */
	for (int pass = 0; pass < 2; pass++) {
		at = pass ? 0x10000000ull : 0x100000000ull;
		for (size_t i = 0; i <= n; i++) {
			uint64_t end = i < n ? busy[i].start : TASK_END;

			if (end > at && end - at >= len + 2 * PAGE) {
				*ret = at + PAGE;
				return 0;
			}
			if (i < n && busy[i].end > at)
				at = busy[i].end;
		}
	}
	return -ENOMEM;
}

/* For shared private pages staged away from their place: free here and
 * in the layout of every process of the image (every MM came already),
 * so that no restorer maps over them before moving them. */
static int stage_gap(struct crcore_restore *rs, uint64_t len, uint64_t *ret)
{
	struct rst_range *busy = NULL;
	struct rst_vdso v;
	size_t n = 0, cap;
	int r;

	r = self_maps(&busy, &n, &v);
	if (r < 0) {
		free(busy);
		return sysfail(rs, r, "read /proc/self/maps");
	}
	cap = n;
	for (size_t k = 0; k < rs->norder; k++)
		cap += rs->order[k]->mm->n_vmas;
	{
		struct rst_range *b = realloc(busy, (cap + 1) * sizeof(*b));

		if (!b) {
			free(busy);
			return fail(rs, -ENOMEM, "out of memory");
		}
		busy = b;
	}
	for (size_t k = 0; k < rs->norder; k++)
		for (size_t i = 0; i < rs->order[k]->mm->n_vmas; i++)
			busy[n++] = (struct rst_range){ rs->order[k]->mm->vmas[i]->start,
						   rs->order[k]->mm->vmas[i]->end };
	r = gap_in(busy, n, len, ret);
	free(busy);
	if (r < 0)
		return fail(rs, r, "no room for %" PRIu64 " bytes of shared private pages outside "
			    "every process's layout", len);
	return 0;
}

/* A range of len bytes free both in our layout (which the child starts
 * with) and in the image's. */
static int find_gap(struct crcore_restore *rs, uint64_t len, uint64_t *ret)
{
	struct rst_range *busy = NULL;
	size_t n = 0;
	struct rst_vma *v = (struct rst_vma *)(rs->pb + PLAN(rs)->vmas);
	int r;

	r = self_maps(&busy, &n, &PLAN(rs)->cur_vdso);
	if (r < 0)
		return sysfail(rs, r, "read /proc/self/maps");
	{
		struct rst_range *b = realloc(busy, (n + PLAN(rs)->nvmas + 1) * sizeof(*b));

		if (!b) {
			free(busy);
			return fail(rs, -ENOMEM, "out of memory");
		}
		busy = b;
	}
	for (uint32_t i = 0; i < PLAN(rs)->nvmas; i++)
		if (v[i].kind != RST_VMA_VSYSCALL)
			busy[n++] = (struct rst_range){ v[i].start, v[i].end };
	r = gap_in(busy, n, len, ret);
	free(busy);
	if (r < 0)
		return fail(rs, -ENOMEM, "no room for the restorer: no free range of %" PRIu64
			    " bytes in both the image's layout and ours", len);
	return 0;
}

static size_t blob_size(void)
{
	return (size_t)(crcore__restorer_blob_end - crcore__restorer_blob);
}

static int build_plan(struct crcore_restore *rs)
{
	struct rst_plan *pl;
	size_t blob_len, plan_len, stacks_len, vdso_span;
	uint64_t gap = 0;
	int r;

	if (!plan_add(rs, NULL, sizeof(struct rst_plan), 64) && rs->pb_len == 0)
		return fail(rs, -ENOMEM, "out of memory");
	r = build_vmas(rs);
	if (r == 0)
		r = build_inherit(rs);
	if (r < 0)
		return r;
	r = build_threads(rs);
	if (r < 0)
		return r;
	build_signals(rs);
	r = build_misc(rs);
	if (r < 0)
		return r;
	build_mm(rs);
	if (!rs->pb)
		return fail(rs, -ENOMEM, "out of memory");

	pl = PLAN(rs);
	pl->magic = RST_MAGIC;
	pl->size = rs->pb_len;
	pl->pid = rs->proc->pid;
	pl->stream = rs->stream;
	pl->stream.fd = rs->stream_fd;
	pl->vdso_proxy = !!(rs->flags & CRCORE_RESTORE_VDSO_PROXY);
	/* the parent-death signal: only where the parent is the image's
	 * (not the root, whose parent is cr-assemble: docs/restore.md) */
	pl->keep_pdeathsig = rs->top != NULL;

	blob_len = (blob_size() + PAGE - 1) & ~(PAGE - 1);
	plan_len = (rs->pb_len + PAGE - 1) & ~(PAGE - 1);
	stacks_len = rs->nthreads * RST_STACK_SIZE;
	rs->area_len = blob_len + plan_len + stacks_len;
	r = find_gap(rs, rs->area_len + 4 * PAGE + 64 * PAGE, &gap);
	if (r < 0)
		return r;
	pl = PLAN(rs);
	{
		struct rst_vdso *c = &pl->cur_vdso;
		uint64_t lo = UINT64_MAX, hi = 0;

		if (c->vvar_end > c->vvar_start)
			lo = c->vvar_start < lo ? c->vvar_start : lo, hi = c->vvar_end > hi ? c->vvar_end : hi;
		if (c->vclock_end > c->vclock_start)
			lo = c->vclock_start < lo ? c->vclock_start : lo, hi = c->vclock_end > hi ? c->vclock_end : hi;
		if (c->vdso_end > c->vdso_start)
			lo = c->vdso_start < lo ? c->vdso_start : lo, hi = c->vdso_end > hi ? c->vdso_end : hi;
		vdso_span = hi > lo ? hi - lo : 0;
	}
	if (vdso_span > 60 * PAGE)
		return fail(rs, -EOPNOTSUPP, "the vDSO area is %zu bytes, larger than expected",
			    vdso_span);
	pl->area_start = gap;
	pl->area_len = rs->area_len;
	pl->gap_start = gap;
	pl->gap_end = gap + rs->area_len + PAGE + 64 * PAGE;
	for (size_t i = 0; i < rs->nthreads; i++) {
		struct rst_thread *t = (struct rst_thread *)(rs->pb + pl->threads) + i;

		t->stack_top = gap + blob_len + plan_len + (i + 1) * RST_STACK_SIZE - 64;
	}
	return 0;
}

static int map_area(struct crcore_restore *rs)
{
	struct rst_plan *pl = PLAN(rs);
	size_t blob_len = (blob_size() + PAGE - 1) & ~(PAGE - 1);
	void *a;

	a = mmap((void *)pl->area_start, rs->area_len, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a == MAP_FAILED)
		return sysfail(rs, -errno, "map the restorer area at 0x%" PRIx64, pl->area_start);
	if ((uint64_t)a != pl->area_start) {
		munmap(a, rs->area_len);
		return fail(rs, -EEXIST, "map the restorer area: placed elsewhere");
	}
	rs->area = a;
	memcpy(rs->area, crcore__restorer_blob, blob_size());
	memcpy(rs->area + blob_len, rs->pb, rs->pb_len);
	rs->plan = (struct rst_plan *)(rs->area + blob_len);
	return 0;
}

/* ---- the child ----------------------------------------------------------------------- */

static __attribute__((noreturn)) void child_fail(struct crcore_restore *rs, int err, const char *what)
{
	struct rst_ctl *c = &rs->plan->ctl;

	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", what, strerror(-err));
	c->err = err;
	__atomic_store_n(&c->state, RST_ST_ERROR, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &c->state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	_exit(1);
}

static int close_except(struct crcore_restore *rs)
{
	/* close every fd but the image's and the ones the restorer needs */
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int dfd;

	if (!d)
		return -errno;
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		bool keep = fd == dfd || fd == rs->stream_fd || fd == rs->exe_fd || e->d_name[0] == '.';

		for (size_t i = 0; i < rs->nfdp && !keep; i++)
			keep = rs->fdp[i].target == fd;
		if (!keep)
			close(fd);
	}
	closedir(d);
	return 0;
}

static __attribute__((noreturn)) void child_main(struct crcore_restore *rs, pid_t parent)
{
	struct rst_plan *pl = rs->plan;
	Crimg__Proc *p = rs->proc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (rs->in_tree) {
		/* tree_create made the session and the group */
	} else if (rs->flags & CRCORE_RESTORE_SHELL_JOB) {
		/* a shell job joins the caller's session and group (docs/ttys.md) */
	} else if (p->sid == p->pid) {
		if (setsid() < 0)
			child_fail(rs, -errno, "setsid");
	} else if (p->pgid == p->pid) {
		if (setpgid(0, 0) < 0)
			child_fail(rs, -errno, "setpgid");
	}
	/* fds: every source is above every target, so no dup3 clobbers one */
	for (size_t i = 0; i < rs->nfdp; i++) {
		struct fd_plan *f = &rs->fdp[i];

		if (f->src == f->target) {
			int fl = fcntl(f->target, F_GETFD);

			if (fl < 0 || fcntl(f->target, F_SETFD, f->cloexec ? fl | FD_CLOEXEC :
					    fl & ~FD_CLOEXEC) < 0)
				child_fail(rs, -errno, "set up an inherited fd");
		} else if (dup3(f->src, f->target, f->cloexec ? O_CLOEXEC : 0) < 0) {
			child_fail(rs, -errno, "install an fd");
		}
	}
	if (close_except(rs) < 0)
		child_fail(rs, -errno, "close cr-assemble's fds");
	{
		/* what needs the fd numbers: epoll watch lists, locks (after the
		 * close: closing any fd of a file drops our POSIX locks on it) */
		char e[256];
		int r = fd_rst_child(rs->fdr, rs->files, e, sizeof(e));

		if (r < 0)
			child_fail(rs, r, e);
	}
	if (p->root && strcmp(p->root, "/") && chroot(p->root) < 0)
		child_fail(rs, -errno, "chroot");
	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(rs, -errno, "chdir to the process's working directory");
	/* glibc registered rseq for this thread in our memory, which the
	 * restorer unmaps: unregister it first */
	if (__rseq_size) {
		long r = syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset,
				 __rseq_size < 32 ? 32 : __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);

		if (r < 0 && errno != EINVAL)
			child_fail(rs, -errno, "unregister rseq");
	}
	{
		struct rst_thread *t = (struct rst_thread *)((char *)pl + pl->threads);
		void *entry = rs->area;

		__asm__ volatile("movq %0, %%rsp\n\t"
				 "movq %1, %%rdi\n\t"
				 "xorl %%ebp, %%ebp\n\t"
				 "jmp *%2\n\t"
				 :
				 : "r"(t[0].stack_top), "r"(pl), "r"(entry)
				 : "memory");
	}
	__builtin_unreachable();
}

/* ---- waiting for the restorer --------------------------------------------------------- */

static int restorer_error(struct crcore_restore *rs)
{
	struct rst_ctl *c = &rs->plan->ctl;
	int err = c->err ? c->err : -EIO;

	c->errmsg[sizeof(c->errmsg) - 1] = 0;
	if (c->image_error)
		return fail(rs, err, "%s", c->errmsg);
	return sysfail(rs, err, "restorer: %s", c->errmsg);
}

/* Waits until the restorer leaves state `from`; checks that the child lives. */
static int wait_state(struct crcore_restore *rs, uint32_t until_mask, int timeout_s)
{
	struct rst_ctl *c = &rs->plan->ctl;
	struct timespec t = { 0, 50 * 1000 * 1000 };
	long rounds = (long)timeout_s * 20;

	for (long i = 0; i < rounds; i++) {
		uint32_t st = __atomic_load_n(&c->state, __ATOMIC_SEQ_CST);
		int status;
		pid_t w;

		if (st == RST_ST_ERROR)
			return restorer_error(rs);
		if (until_mask & (1u << st))
			return 0;
		if (rs->progress && st == RST_ST_MEMORY)
			rs->progress(__atomic_load_n(&c->pages, __ATOMIC_RELAXED) * PAGE,
				     rs->mm && rs->mm->has_pages_dumped ? rs->mm->pages_dumped * PAGE : 0,
				     rs->progress_arg);
		syscall(SYS_futex, &c->state, FUTEX_WAIT, st, &t, NULL, 0);
		w = waitpid(rs->pid, &status, WNOHANG | __WALL);
		if (w == rs->pid) {
			rs->reaped = true;
			st = __atomic_load_n(&c->state, __ATOMIC_SEQ_CST);
			if (st == RST_ST_ERROR)
				return restorer_error(rs);
			if (WIFSIGNALED(status))
				return fail(rs, -EIO, "the new process died during the restore (signal "
					    "%d, %s) in state %u", WTERMSIG(status),
					    strsignal(WTERMSIG(status)), st);
			return fail(rs, -EIO, "the new process exited during the restore (status %d)",
				    WEXITSTATUS(status));
		}
	}
	return fail(rs, -ETIMEDOUT, "the restorer did not answer in %d s", timeout_s);
}

/* ---- the tracer: registers, FPU, signal masks, unmapping the area -------------------------- */

static int wait_stop(struct crcore_restore *rs, pid_t tid, int *status)
{
	for (;;) {
		pid_t w = waitpid(tid, status, __WALL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return sysfail(rs, -errno, "wait for thread %d", (int)tid);
		if (WIFSTOPPED(*status))
			return 0;
		if (tid == rs->pid)
			rs->reaped = true;
		return fail(rs, -EIO, "thread %d ended while being resumed (status 0x%x)", (int)tid,
			    *status);
	}
}

/*
 * Runs one system call inside a stopped thread, from the "syscall; ud2"
 * gadget of the blob: PTRACE_SYSCALL to its entry and its exit, where it
 * stops before fetching the next instruction (so even munmap of the
 * blob itself is fine).  Returns 0 with the call's result in *res, or an
 * error of ours; the thread is left at the syscall-exit stop.
 */
static int inject(struct crcore_restore *rs, pid_t tid, long nr, uint64_t a, uint64_t b,
		  int64_t *res)
{
	struct user_regs_struct r;
	int st, ret;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return sysfail(rs, -errno, "read registers of thread %d", (int)tid);
	r.rip = (uint64_t)(uintptr_t)rs->area + RST_GADGET_OFF;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = a;
	r.rsi = b;
	r.rdx = r.r10 = r.r8 = r.r9 = 0;
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0)
		return sysfail(rs, -errno, "set registers of thread %d", (int)tid);
	for (int step = 0; step < 2; step++) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return sysfail(rs, -errno, "resume thread %d for a system call", (int)tid);
		ret = wait_stop(rs, tid, &st);
		if (ret < 0)
			return ret;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			return fail(rs, -EIO, "thread %d: unexpected stop (signal %d) in system call %ld",
				    (int)tid, WSTOPSIG(st), nr);
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return sysfail(rs, -errno, "read registers of thread %d", (int)tid);
	*res = (int64_t)r.rax;
	return 0;
}

/* Inside the main thread: the parent-death signal that kept the half-built
 * process from outliving us goes (the threads are ours through ptrace
 * with PTRACE_O_EXITKILL now), or becomes the image's in a process of a
 * tree under its own parent; then the restorer area is unmapped. */
static int unmap_area(struct crcore_restore *rs, pid_t tid)
{
	const struct rst_thread *t0 = RST_PTR(rs->plan, rs->plan->threads);
	int64_t v = 0;
	int st, ret;

	ret = inject(rs, tid, __NR_prctl, PR_SET_PDEATHSIG,
		     rs->plan->keep_pdeathsig ? t0->pdeathsig : 0, &v);
	if (ret < 0)
		return ret;
	if (v < 0)
		return sysfail(rs, (int)v, "clear the parent-death signal");
	ret = inject(rs, tid, __NR_munmap, (uint64_t)(uintptr_t)rs->area, rs->area_len, &v);
	if (ret < 0)
		return ret;
	if (v < 0)
		return sysfail(rs, (int)v, "unmap the restorer area in the process");
	/* back into a stop inside signal delivery, like the other threads,
	 * where the kernel's syscall restart logic still runs after detach */
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 || ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		return sysfail(rs, -errno, "stop thread %d again", (int)tid);
	ret = wait_stop(rs, tid, &st);
	if (ret < 0)
		return ret;
	if ((st >> 16) != PTRACE_EVENT_STOP)
		return fail(rs, -EIO, "thread %d: unexpected stop 0x%x after unmapping the restorer",
			    (int)tid, st);
	return 0;
}

/*
 * The restart code the kernel would have left in rax for a thread
 * interrupted in syscall nr: the calls that never restart after a
 * handler ran get ERESTARTNOHAND, the others ERESTARTSYS (restarted when
 * the handler has SA_RESTART).
 */
static int64_t restart_code(int64_t nr)
{
	switch (nr) {
	case __NR_pause: case __NR_rt_sigsuspend: case __NR_poll: case __NR_select:
	case __NR_ppoll: case __NR_pselect6: case __NR_epoll_wait: case __NR_epoll_pwait:
	case __NR_epoll_pwait2:
		return -514; /* ERESTARTNOHAND */
	default:
		return -512; /* ERESTARTSYS */
	}
}

static int set_thread_state(struct crcore_restore *rs, size_t i)
{
	Crimg__Thread *t = rs->threads[i];
	pid_t tid = (pid_t)t->tid;
	struct user_regs_struct regs;
	uint64_t mask = t->sigmask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
	struct iovec iov;

	memcpy(&regs, t->gpregs.data, sizeof(regs));
	/*
	 * A thread stopped inside a system call comes back exactly so: just
	 * after the syscall instruction with the restart code in rax.  The
	 * thread is in a ptrace stop inside the kernel's signal delivery, so
	 * on detach the kernel itself restarts the call, or, if a signal
	 * with a handler comes first, fails it with EINTR as it would have
	 * done without the checkpoint.  (The image has the registers rewound
	 * to the syscall instruction, as a debugger shows them.)
	 */
	/*
	 * A call interrupted with ERESTART_RESTARTBLOCK (poll or futex with a
	 * timeout, nanosleep) was saved to go on through restart_syscall,
	 * but the kernel's restart block of the old process does not exist
	 * here (restart_syscall would fail with EINTR): re-execute the call
	 * itself instead; its arguments are still in the registers and its
	 * timeout starts again.
	 */
	if (t->has_syscall_nr && t->syscall_nr >= 0 && t->syscall_nr != __NR_restart_syscall &&
	    regs.rax == __NR_restart_syscall)
		regs.rax = (uint64_t)t->syscall_nr;
	if (t->has_syscall_nr && t->syscall_nr >= 0 && t->syscall_nr != __NR_restart_syscall &&
	    regs.rax == (uint64_t)t->syscall_nr) {
		regs.orig_rax = (uint64_t)t->syscall_nr;
		regs.rax = (uint64_t)restart_code(t->syscall_nr);
		regs.rip += 2;
	} else {
		regs.orig_rax = (uint64_t)-1;
	}
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0)
		return sysfail(rs, -errno, "set the registers of thread %d", (int)tid);
	if (t->has_xsave) {
		iov = (struct iovec){ t->xsave.data, t->xsave.len };
		if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
			return sysfail(rs, -errno, "set the xsave state of thread %d (%zu bytes; an "
				       "image from another CPU model?)", (int)tid, t->xsave.len);
	} else {
		iov = (struct iovec){ t->fpregs.data, t->fpregs.len };
		if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRFPREG, &iov) < 0)
			return sysfail(rs, -errno, "set the FPU state of thread %d", (int)tid);
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask) < 0)
		return sysfail(rs, -errno, "set the signal mask of thread %d", (int)tid);
	return 0;
}

static int resume(struct crcore_restore *rs)
{
	size_t n = rs->nthreads, seized = 0;
	int st, r = 0;

	for (; seized < n; seized++) {
		pid_t tid = (pid_t)rs->threads[seized]->tid;

		if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) < 0) {
			r = sysfail(rs, -errno, "seize thread %d", (int)tid);
			goto out;
		}
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
			seized++;
			r = sysfail(rs, -errno, "interrupt thread %d", (int)tid);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = wait_stop(rs, (pid_t)rs->threads[i]->tid, &st);
		if (r < 0)
			goto out;
	}
	r = unmap_area(rs, (pid_t)rs->pid);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		r = set_thread_state(rs, i);
		if (r < 0)
			goto out;
	}
	rs->resumed = true;
out:
	if (!rs->resumed) {
		kill(rs->pid, SIGKILL);
		return r;
	}
	for (size_t i = 0; i < seized; i++)
		if (ptrace(PTRACE_DETACH, (pid_t)rs->threads[i]->tid, 0, 0) < 0 && !r)
			r = sysfail(rs, -errno, "detach from thread %u", rs->threads[i]->tid);
	return r;
}

/* ---- spooling ------------------------------------------------------------------------ */

/*
 * `cr-dump PID | cr-assemble` on one machine: the original holds the PID
 * until the dump has written its last byte, and the dump cannot finish
 * while we do not read.  So when an id is held by a live process and the
 * stream is not a regular file, the rest of the stream goes into an
 * unlinked file ($TMPDIR, else /var/tmp) with splice (our memory stays
 * constant), and the restorer reads it from there once the ids are free.
 */
static int spool(struct crcore_restore *rs)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	uint64_t total = 0;
	int fd = -1;

	for (size_t i = 0; i < 3 && fd < 0; i++)
		if (dirs[i] && *dirs[i])
			fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return sysfail(rs, -errno, "create a spool file for the stream");
	for (;;) {
		ssize_t n = splice(rs->fd, NULL, fd, NULL, 1u << 20, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL) {
			char buf[65536];

			n = read(rs->fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0 && write(fd, buf, (size_t)n) != n)
				n = -1;
		}
		if (n < 0) {
			int e = -errno;

			close(fd);
			return sysfail(rs, e, "spool the stream");
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return sysfail(rs, -errno, "rewind the spool file");
	}
	logf_(rs, "spooled %" PRIu64 " bytes of the stream while pid %d was taken", total,
	      (int)rs->pid);
	rs->spool_fd = fd;
	return 0;
}

/* ---- SysV shared memory (docs/trees.md) ---------------------------------------------------- */

#define SHM_NEXT_ID "/proc/sys/kernel/shm_next_id"

static int write_sysctl(const char *path, long v)
{
	char b[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, e;

	if (fd < 0)
		return -errno;
	n = snprintf(b, sizeof(b), "%ld", v);
	e = write(fd, b, (size_t)n) == n ? 0 : -errno;
	close(fd);
	return e;
}

/* Every segment of the image, with its id (kernel.shm_next_id), key,
 * size, mode and owner; the restorers attach them at their addresses. */
static int sysv_create(struct crcore_restore *rs)
{
	if (!rs->nsysv)
		return 0;
	rs->sysv_made = calloc(rs->nsysv, sizeof(int));
	if (!rs->sysv_made)
		return fail(rs, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rs->nsysv; i++) {
		Crimg__SysvShm *g = rs->sysv[i];
		struct shmid_ds ds;
		int id, r;

		r = write_sysctl(SHM_NEXT_ID, (long)g->id);
		if (r < 0)
			return sysfail(rs, r, "set %s to %u for SysV segment %u", SHM_NEXT_ID, g->id,
				       g->id);
		id = shmget(g->key ? (key_t)g->key : IPC_PRIVATE, g->size,
			    IPC_CREAT | IPC_EXCL | (int)(g->mode & 0777));
		r = -errno;
		write_sysctl(SHM_NEXT_ID, -1);
		if (id < 0)
			return sysfail(rs, r, "create SysV segment %u (key 0x%x, %" PRIu64 " bytes)",
				       g->id, (unsigned)g->key, g->size);
		rs->sysv_made[rs->nsysv_made++] = id;
		if ((uint32_t)id != g->id)
			return fail(rs, -EEXIST, "SysV segment %u: the kernel gave id %d (the id is taken)",
				    g->id, id);
		if (shmctl(id, IPC_STAT, &ds) == 0) {
			ds.shm_perm.uid = g->uid;
			ds.shm_perm.gid = g->gid;
			ds.shm_perm.mode = g->mode & 0777;
			if (shmctl(id, IPC_SET, &ds) < 0)
				warn(rs, "SysV segment %u: cannot set its owner: %s", g->id, strerror(errno));
		}
	}
	return 0;
}

/* Once every process has attached its segments: remove the ones that were
 * removed (SHM_DEST), as they were.  all: also the others we made
 * (a failure). */
static void sysv_finish(struct crcore_restore *rs, bool all)
{
	for (size_t i = 0; i < rs->nsysv_made; i++)
		if (all || (rs->sysv[i]->mode & 01000 /* SHM_DEST */))
			shmctl(rs->sysv_made[i], IPC_RMID, NULL);
	if (all)
		rs->nsysv_made = 0;
}

/* ---- a process tree (docs/trees.md) ------------------------------------------------------ */

static void tree_kill(struct crcore_restore *rs)
{
	for (size_t k = 0; k <= rs->nsub; k++) {
		struct crcore_restore *o = k ? rs->sub[k - 1] : rs;

		if (o->created && !o->resumed && o->pid > 0)
			kill(o->pid, SIGKILL);
	}
	for (size_t z = 0; z < rs->nzombies; z++)
		kill((pid_t)rs->zombies[z]->pid, SIGKILL);
	if (rs->created && !rs->reaped) {
		while (waitpid(rs->pid, &rs->status, __WALL) < 0 && errno == EINTR)
			;
		rs->reaped = true;
	}
	for (size_t k = 0; k < rs->nsub; k++)
		rs->sub[k]->reaped = true; /* not our children: their parent reaps them */
}

/* Waits for a zombie of the original (killed by the dump, reaped by a slow
 * PID 1) to free a pid the tree needs. */
static int tree_pid_free(struct crcore_restore *rs, pid_t pid)
{
	char comm[64] = "";
	int st;

	for (uint32_t ms = 0; (st = pid_state(pid, comm, sizeof(comm))) == 1; ms += 10) {
		if (ms >= rs->pid_wait_ms)
			return fail(rs, -EEXIST, "pid %d is still taken by a zombie (%s) that its parent "
				    "has not reaped after %u ms", (int)pid, comm, rs->pid_wait_ms);
		usleep(10000);
	}
	if (st == 2)
		return fail(rs, -EEXIST, "pid %d is taken by a running process (%s)", (int)pid, comm);
	return 0;
}

/* A memfd that a process of the tree holds as an fd and another maps
 * without holding it: that process maps the fd's object (docs/fds.md),
 * an object of the tree like the others (replacing the one tree_shm_create
 * made for it, if several such processes map it). */
static int tree_memfds(struct crcore_restore *rs, struct crcore_restore **all, size_t n,
		       struct tree_shm **objs, unsigned *nobjs, int base)
{
	for (size_t a = 0; a < n; a++) {
		for (size_t f = 0; all[a]->files && f < all[a]->files->n_fds; f++) {
			const Crimg__Fd *fd = all[a]->files->fds[f];
			int src = fd->kind == CRIMG__FD_KIND__FD_MEMFD && fd->has_ino ?
				  fd_rst_memfd(rs->fdr, fd->ino) : -1;
			bool mapped = false;
			unsigned x;
			int hi;

			for (size_t k = 0; src >= 0 && k < n && !mapped; k++) {
				struct rst_plan *pl = all[k]->plan;
				struct rst_vma *v = RST_PTR(pl, pl->vmas);

				for (uint32_t j = 0; j < pl->nvmas && !mapped; j++)
					mapped = v[j].kind == RST_VMA_ANON_SHARED && v[j].shmid == fd->ino &&
						 v[j].path && !strncmp((char *)pl + v[j].path, "/memfd:", 7);
			}
			if (!mapped)
				continue;
			for (x = 0; x < *nobjs; x++)
				if ((*objs)[x].shmid == fd->ino && !(*objs)[x].sysv)
					break;
			if (x < *nobjs && (*objs)[x].fds_memfd)
				continue; /* done: another fd of it */
			hi = fcntl(src, F_DUPFD_CLOEXEC, base);
			if (hi < 0)
				return sysfail(rs, -errno, "fd %d: hand its memfd to the processes that map it",
					       fd->fd);
			if (x == *nobjs) {
				struct tree_shm *o = realloc(*objs, (*nobjs + 1) * sizeof(*o));

				if (!o) {
					close(hi);
					return fail(rs, -ENOMEM, "out of memory");
				}
				*objs = o;
				o[x] = (struct tree_shm){ .shmid = fd->ino, .nprocs = 1, .fd = -1 };
				(*nobjs)++;
			}
			if ((*objs)[x].fd >= 0)
				close((*objs)[x].fd);
			(*objs)[x].fd = hi;
			(*objs)[x].fds_memfd = true;
		}
	}
	return 0;
}

/* Shared memory objects of the tree: one memfd each, inherited by every
 * process, above every process's fds; each plan's VMAs point at it. */
static int tree_shared_memory(struct crcore_restore *rs, struct crcore_restore **all, size_t n,
			      struct tree_shm **objs, unsigned *nobjs)
{
	Crimg__Mm **mms = calloc(n, sizeof(*mms));
	char err[256];
	int base = 0, r;

	if (!mms)
		return fail(rs, -ENOMEM, "out of memory");
	for (size_t k = 0; k < n; k++) {
		mms[k] = all[k]->mm;
		if (all[k]->fd_base > base)
			base = all[k]->fd_base;
	}
	r = tree_shm_plan(mms, (unsigned)n, objs, nobjs);
	free(mms);
	if (r < 0)
		return fail(rs, r, "out of memory");
	r = tree_shm_create(*objs, *nobjs, err, sizeof(err));
	if (r < 0)
		return fail(rs, r, "%s", err);
	for (unsigned i = 0; i < *nobjs; i++) {
		int hi;

		if ((*objs)[i].fd < 0)
			continue; /* a SysV segment */
		hi = fcntl((*objs)[i].fd, F_DUPFD_CLOEXEC, base + 64);

		if (hi < 0)
			return sysfail(rs, -errno, "move a shared memory object's fd");
		close((*objs)[i].fd);
		(*objs)[i].fd = hi;
	}
	r = tree_memfds(rs, all, n, objs, nobjs, base + 64);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		struct rst_plan *pl = all[k]->plan;
		struct rst_vma *v = RST_PTR(pl, pl->vmas);

		for (uint32_t j = 0; j < pl->nvmas; j++)
			for (unsigned i = 0; v[j].kind == RST_VMA_ANON_SHARED && i < *nobjs; i++)
				if ((*objs)[i].shmid == v[j].shmid && !(*objs)[i].sysv)
					v[j].tree_fd = (*objs)[i].fd;
	}
	return 0;
}

/* Every process has mapped its memory: the memfds get their seals. */
static int memfd_seal(struct crcore_restore *rs)
{
	char e[300];
	int r = fd_rst_seal(rs->fdr, e, sizeof(e));

	return r < 0 ? fail(rs, r, "%s", e) : 0;
}

/* In a process of the tree, before the jump: close what is not ours. */
static int tree_keep_fd(const struct tree_shm *o, unsigned n, int fd)
{
	for (unsigned i = 0; i < n; i++)
		if (o[i].fd == fd)
			return 1;
	return 0;
}

/* "process PID: what failed" in the root's message, from o's. */
static int tree_fail(struct crcore_restore *rs, struct crcore_restore *o, int r)
{
	char m[ERRLEN];

	snprintf(m, sizeof(m), "%s", o->errmsg);
	if (strncmp(m, "process ", 8))
		return fail(rs, r, "process %d: %s", (int)o->pid, m);
	return fail(rs, r, "%s", m);
}

static int tree_run(struct crcore_restore *rs)
{
	size_t n = 1 + rs->nsub, np = n + rs->nzombies;
	struct crcore_restore **all = calloc(n, sizeof(*all));
	struct tree_proc *procs = calloc(np, sizeof(*procs));
	struct tree_shm *objs = NULL;
	unsigned nobjs = 0;
	struct tree_plan *plan = NULL;
	char err[512] = "";
	sigset_t sall, old;
	int idx = -1, r = 0;

	if (!all || !procs) {
		r = fail(rs, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		all[k] = k ? rs->sub[k - 1] : rs;
	if (rs->norder != n) {
		r = fail(rs, -EPROTO, "%zu processes but %zu MM records", n, rs->norder);
		goto out;
	}
	/* the ids: a killed original's zombies get the usual wait; while the
	 * original still runs (cr-dump | cr-assemble), the rest of the stream
	 * is spooled first, as for one process */
	for (size_t k = 0; k < n && r == 0; k++) {
		r = check_ids_free(all[k], false);
		if (r == -EEXIST && all[k]->taken_live && !rs->stream.done && rs->spool_fd < 0) {
			struct stat sb;

			if (fstat(rs->fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
				r = spool(rs);
				for (size_t j = 0; r == 0 && j < rs->nsub; j++)
					rs->sub[j]->spool_fd = rs->spool_fd;
				if (r == 0)
					r = check_ids_free(all[k], true);
			}
		} else if (r == -EEXIST && all[k]->taken_live && rs->spool_fd >= 0) {
			r = check_ids_free(all[k], true);
		}
		if (r < 0 && all[k]->taken_live) {
			char m[ERRLEN];

			snprintf(m, sizeof(m), "%s", all[k]->errmsg);
			r = fail(rs, r, "%s (a tree is restored from a file, or once the original "
				 "is gone)", m);
		}
	}
	for (size_t z = 0; z < rs->nzombies && r == 0; z++)
		r = tree_pid_free(rs, (pid_t)rs->zombies[z]->pid);
	logf_(rs, "tree: the pids are free");
	/* pipes and sockets several processes hold: one fd_rst for all,
	 * which finds each object's state in any process's FILES and makes
	 * the object once (docs/fds.md) */
	if (r == 0) {
		const Crimg__Files **af = calloc(n, sizeof(*af));

		for (size_t k = 0; af && k < n; k++)
			af[k] = all[k]->files;
		if (!af || fd_rst_tree(&rs->fdr, af, n) < 0)
			r = fail(rs, -ENOMEM, "out of memory");
		for (size_t k = 1; r == 0 && k < n; k++)
			all[k]->fdr = rs->fdr;
		for (size_t k = 0; k < n && r == 0; k++)
			r = open_files(all[k]);
		if (rs->fdr)
			fd_rst_tree(&rs->fdr, NULL, 0);
		free(af);
		fd_rst_opened(rs->fdr); /* what it held to build the objects */
	}
	for (size_t k = 0; k < n && r == 0; k++) {
		struct crcore_restore *o = all[k];

		r = build_plan(o);
		if (r == 0)
			r = map_area(o);
	}
	if (r == 0)
		r = tree_shared_memory(rs, all, n, &objs, &nobjs);
	if (r == 0)
		r = sysv_create(rs);
	if (r < 0)
		goto out;
	logf_(rs, "tree: files opened, plans and areas made");
	/* the stream: the processes take turns, in the order of their MMs */
	for (size_t k = 0; k < rs->norder; k++) {
		struct rst_stream *st = &rs->order[k]->plan->stream;
		int fd = st->fd;

		if (k == 0)
			*st = rs->stream;
		st->fd = fd;
		st->tree = 1;
		st->last = k + 1 == rs->norder;
		st->turn = k == 0;
		st->pages = rs->order[k]->mm->has_pages_dumped ? rs->order[k]->mm->pages_dumped : 0;
		st->done = rs->stream.done;
	}
	/* the shape */
	for (size_t k = 0; k < np; k++) {
		Crimg__Proc *p = k < n ? all[k]->proc : rs->zombies[k - n];

		procs[k] = (struct tree_proc){
			.pid = (pid_t)p->pid, .ppid = (pid_t)p->ppid, .pgid = (pid_t)p->pgid,
			.sid = (pid_t)p->sid, .zombie = k >= n,
			.exit_status = p->has_exit_status ? (int)p->exit_status : 0,
			.stopped = p->has_state && p->state == 'T',
			.subreaper = k < n && all[k]->misc && all[k]->misc->child_subreaper,
			.comm = p->comm,
		};
	}
	r = tree_plan_build(procs, (unsigned)np,
			    rs->flags & CRCORE_RESTORE_SHELL_JOB ? TREE_SHELL_JOB : 0, &plan, err,
			    sizeof(err));
	if (r < 0) {
		r = fail(rs, r, "%s", err);
		goto out;
	}
	{
		struct tree_create_opts o = { .timeout_ms = rs->pid_wait_ms, .err = err,
					      .errlen = sizeof(err) };

		sigfillset(&sall);
		sigprocmask(SIG_SETMASK, &sall, &old);
		r = tree_create(plan, &o, &idx);
		if (r == 0 && idx >= 0) {
			/* a process of the tree: become it */
			struct crcore_restore *me = all[idx];
			pid_t parent = getppid();

			me->in_tree = true;
			for (size_t k = 0; k < me->nfdp; k++)
				if (tree_keep_fd(objs, nobjs, me->fdp[k].target))
					child_fail(me, -EBADF, "a shared memory object's fd is taken");
			/* the objects it maps survive close_except as inherited
			 * fds (the restorer closes them once mapped) */
			for (unsigned i = 0; i < nobjs; i++) {
				struct rst_vma *v = RST_PTR(me->plan, me->plan->vmas);
				bool maps = false;

				if (objs[i].fd < 0)
					continue; /* SysV: attached by shmat */
				for (uint32_t j = 0; j < me->plan->nvmas; j++)
					maps |= v[j].tree_fd == objs[i].fd;
				if (maps && add_fdp(me, objs[i].fd, objs[i].fd, true) < 0)
					child_fail(me, -ENOMEM, "out of memory");
			}
			child_main(me, parent);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (r < 0) {
		r = fail(rs, r, "%s", err);
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		all[k]->created = true;
	/* every process holds its copy of the shared private pages now */
	unstage(rs);
	/* our copies of what we handed over */
	for (size_t k = 0; k < n; k++) {
		struct crcore_restore *o = all[k];

		for (size_t i = 0; i < o->nfdp; i++)
			if (o->fdp[i].src != o->fdp[i].target && o->fdp[i].src >= 0) {
				int sfd = o->fdp[i].src;

				for (size_t j = i; j < o->nfdp; j++)
					if (o->fdp[j].src == sfd)
						o->fdp[j].src = -1;
				close(sfd);
			}
	}
	tree_shm_free(objs, nobjs);
	objs = NULL;
	logf_(rs, "tree: %zu processes created", n);
	/* memory, one process after the other */
	for (size_t k = 0; k < rs->norder && r == 0; k++) {
		struct crcore_restore *o = rs->order[k];

		logf_(rs, "process %d: its pages", (int)o->pid);
		if (k) {
			struct rst_stream *st = &o->plan->stream, *prev = &rs->order[k - 1]->plan->ctl.next;

			st->offset = prev->offset;
			st->index = prev->index;
			st->len = prev->len;
			st->type = prev->type;
			st->flags = prev->flags;
			st->hdr_csum = prev->hdr_csum;
			st->chain = prev->chain;
			__atomic_store_n(&st->turn, 1, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &st->turn, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		}
		r = wait_state(o, 1u << RST_ST_READY, READY_TIMEOUT_S);
		if (r < 0)
			tree_fail(rs, o, r);
	}
	if (r == 0)
		sysv_finish(rs, false); /* every process attached its segments */
	if (r == 0)
		r = memfd_seal(rs); /* ... and mapped its memfds */
	for (size_t k = 0; k < n && r == 0; k++) {
		__atomic_store_n(&all[k]->plan->ctl.state, RST_ST_GO, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &all[k]->plan->ctl.state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
	for (size_t k = 0; k < n && r == 0; k++) {
		r = wait_state(all[k], 1u << RST_ST_PARKED, 60);
		if (r < 0)
			tree_fail(rs, all[k], r);
	}
	for (size_t k = 0; k < n && r == 0; k++) {
		if (all[k]->plan->ctl.warnings & RST_W_RLIMIT)
			warn(rs, "process %d: a hard rlimit could not be raised to the image's value "
			     "(it needs CAP_SYS_RESOURCE): the lower one was kept", (int)all[k]->pid);
		if (all[k]->plan->ctl.warnings & RST_W_TIMER_ID)
			warn(rs, "process %d: a POSIX timer got another id than in the image",
			     (int)all[k]->pid);
	}
	logf_(rs, "tree: every process is ready");
	/* children first: a parent runs once its children are in place */
	for (size_t k = n; k-- > 0 && r == 0;) {
		r = resume(all[k]);
		if (r < 0)
			tree_fail(rs, all[k], r);
		else if (all[k]->proc->has_state && all[k]->proc->state == 'T')
			kill(all[k]->pid, SIGSTOP);
	}
out:
	if (r < 0) {
		tree_kill(rs);
		sysv_finish(rs, true);
	}
	for (size_t k = 0; k < n && all; k++)
		if (all[k] && all[k]->area) {
			munmap(all[k]->area, all[k]->area_len);
			all[k]->area = NULL;
			all[k]->plan = NULL;
		}
	tree_shm_free(objs, nobjs);
	tree_plan_free(plan);
	free(procs);
	free(all);
	return r;
}

/* ---- the API -------------------------------------------------------------------------- */

CRCORE_API int crcore_restore__new(int fd, const struct crcore_restore_opts *opts,
				   struct crcore_restore **ret)
{
	struct crcore_restore *rs;
	int r;

	if (fd < 0 || !ret)
		return -EINVAL;
	if (opts && opts->sz < offsetof(struct crcore_restore_opts, log))
		return -EINVAL;
	if (opts && (opts->flags & ~(CRCORE_RESTORE_KEEP_CHILD | CRCORE_RESTORE_VDSO_PROXY |
				     CRCORE_RESTORE_SHELL_JOB)))
		return -EINVAL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->fd = fd;
	rs->stream_fd = rs->exe_fd = rs->spool_fd = -1;
	rs->pid_wait_ms = DEFAULT_PID_WAIT_MS;
	if (opts) {
		rs->flags = opts->flags;
		if (opts->pid_wait_ms)
			rs->pid_wait_ms = opts->pid_wait_ms;
		if (opts->sz >= offsetof(struct crcore_restore_opts, log_arg) + sizeof(void *)) {
			rs->log = opts->log;
			rs->log_arg = opts->log_arg;
		}
		if (opts->sz >= offsetof(struct crcore_restore_opts, progress_arg) + sizeof(void *)) {
			rs->progress = opts->progress;
			rs->progress_arg = opts->progress_arg;
		}
	}
	r = crimg_reader__new(fd, NULL, &rs->rd);
	if (r < 0) {
		fail(rs, r, "read the stream header: %s", strerror(-r));
		goto err;
	}
	r = read_records(rs);
	if (r < 0)
		goto err;
	r = check_records(rs);
	for (size_t k = 0; r == 0 && k < rs->nsub; k++)
		r = check_records(rs->sub[k]);
	if (r < 0)
		goto err;
	rs->pid = (pid_t)rs->proc->pid;
	*ret = rs;
	return 0;
err:
	*ret = rs; /* so that the caller can read the message; __run refuses it */
	rs->pid = -1;
	return r;
}

CRCORE_API int crcore_restore__run(struct crcore_restore *rs)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	sigset_t all, old;
	pid_t parent = getpid(), tid;
	long c;
	int r;

	if (!rs || rs->pid <= 0 || rs->created)
		return -EINVAL;
	if (rs->nsub || rs->nzombies) {
		r = tree_run(rs);
		if (r == 0)
			rs->resumed = true;
		return r;
	}
	r = check_ids_free(rs, false);
	if (r == -EEXIST && rs->taken_live && !rs->stream.done) {
		struct stat st;

		if (fstat(rs->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
			r = spool(rs);
			if (r < 0)
				return r;
			r = check_ids_free(rs, true);
		}
	}
	if (r < 0)
		return r;
	r = open_files(rs);
	if (r < 0)
		return r;
	r = build_plan(rs);
	if (r < 0)
		return r;
	r = map_area(rs);
	if (r == 0)
		r = sysv_create(rs);
	if (r < 0) {
		sysv_finish(rs, true);
		return r;
	}
	logf_(rs, "restorer area at %p, %zu bytes; %u mappings, %zu threads", (void *)rs->area,
	      rs->area_len, rs->plan->nvmas, rs->nthreads);

	tid = rs->pid;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	sigfillset(&all);
	/*
	 * The kernel may hold a PID number for a moment after /proc no
	 * longer shows its task (seen here right after a killed
	 * multi-threaded original was reaped): retry EEXIST while /proc says
	 * the PID is free, within the PID wait.
	 */
	for (uint32_t waited = 0;; waited += 5) {
		char comm[64];

		sigprocmask(SIG_SETMASK, &all, &old);
		c = syscall(SYS_clone3, &ca, sizeof(ca));
		if (c == 0)
			child_main(rs, parent);
		r = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (c >= 0 || r != -EEXIST || waited >= rs->pid_wait_ms ||
		    pid_state(rs->pid, comm, sizeof(comm)) == 2)
			break;
		usleep(5000);
	}
	if (c < 0) {
		if (r == -EEXIST) {
			char comm[64] = "";
			int st = pid_state(rs->pid, comm, sizeof(comm));

			return fail(rs, r, "pid %d is taken (it was free a moment ago; now %s%s%s)",
				    (int)rs->pid, st == 0 ? "free again" : st == 1 ? "a zombie, " :
				    "a process, ", st ? comm : "", "");
		}
		if (r == -EPERM)
			return fail(rs, r, "creating a process with pid %d is not permitted: it needs "
				    "CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN", (int)rs->pid);
		if (r == -EINVAL)
			return fail(rs, r, "cannot create pid %d (above pid_max?)", (int)rs->pid);
		return sysfail(rs, r, "clone3 with pid %d", (int)rs->pid);
	}
	rs->created = true;
	/* our copies of what we handed over */
	for (size_t i = 0; i < rs->nfdp; i++)
		if (rs->fdp[i].src != rs->fdp[i].target && rs->fdp[i].src >= 0) {
			int s = rs->fdp[i].src;

			for (size_t j = i; j < rs->nfdp; j++)
				if (rs->fdp[j].src == s)
					rs->fdp[j].src = -1;
			close(s);
		}

	r = wait_state(rs, 1u << RST_ST_READY, READY_TIMEOUT_S);
	if (r < 0)
		goto kill;
	logf_(rs, "image complete and verified: %" PRIu64 " pages", rs->plan->ctl.pages);
	sysv_finish(rs, false);
	r = memfd_seal(rs);
	if (r < 0)
		goto kill;
	__atomic_store_n(&rs->plan->ctl.state, RST_ST_GO, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &rs->plan->ctl.state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	r = wait_state(rs, 1u << RST_ST_PARKED, 60);
	if (r < 0)
		goto kill;
	if (rs->plan->ctl.warnings & RST_W_RLIMIT)
		warn(rs, "a hard rlimit could not be raised to the image's value (it needs "
		     "CAP_SYS_RESOURCE): the lower one was kept");
	if (rs->plan->ctl.warnings & RST_W_TIMER_ID)
		warn(rs, "a POSIX timer got another id than in the image");
	r = resume(rs);
	if (r < 0)
		goto kill;
	munmap(rs->area, rs->area_len);
	rs->area = NULL;
	rs->plan = NULL;
	return 0;
kill:
	sysv_finish(rs, true);
	if (!rs->resumed && !rs->reaped) {
		kill(rs->pid, SIGKILL);
		while (waitpid(rs->pid, &rs->status, __WALL) < 0 && errno == EINTR)
			;
		rs->reaped = true;
	}
	return r;
}

CRCORE_API pid_t crcore_restore__pid(const struct crcore_restore *rs)
{
	return rs && rs->pid > 0 ? rs->pid : 0;
}

CRCORE_API int crcore_restore__wait(struct crcore_restore *rs, int *status)
{
	if (!rs || !rs->resumed)
		return -EINVAL;
	if (rs->reaped) {
		if (status)
			*status = rs->status;
		return 0;
	}
	for (;;) {
		pid_t w = waitpid(rs->pid, &rs->status, 0);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		rs->reaped = true;
		if (status)
			*status = rs->status;
		return 0;
	}
}

CRCORE_API uint64_t crcore_restore__bytes(const struct crcore_restore *rs)
{
	if (!rs)
		return 0;
	if (rs->plan)
		return rs->plan->ctl.pages * PAGE;
	return 0;
}

CRCORE_API const char *crcore_restore__warnings(const struct crcore_restore *rs)
{
	return rs && rs->warnings ? rs->warnings : "";
}

CRCORE_API const char *crcore_restore__errmsg(const struct crcore_restore *rs)
{
	return rs ? rs->errmsg : "";
}

CRCORE_API void crcore_restore__free(struct crcore_restore *rs)
{
	if (!rs)
		return;
	if (!rs->top) {
		if (rs->nsub && rs->created && !rs->resumed)
			tree_kill(rs);
		for (size_t k = 0; k < rs->nsub; k++) {
			rs->sub[k]->rd = NULL;    /* ours */
			rs->sub[k]->spool_fd = -1;
			rs->sub[k]->created = false; /* killed above if need be */
			rs->sub[k]->fdr = NULL;      /* the root's (tree_run) */
			crcore_restore__free(rs->sub[k]);
		}
		free(rs->sub);
		for (size_t z = 0; z < rs->nzombies; z++)
			protobuf_c_message_free_unpacked(&rs->zombies[z]->base, NULL);
		free(rs->zombies);
		free(rs->order);
		unstage(rs);
		for (size_t i = 0; i < rs->nsysv; i++)
			protobuf_c_message_free_unpacked(&rs->sysv[i]->base, NULL);
		free(rs->sysv);
		free(rs->sysv_made);
	}
	if (rs->created && !rs->resumed && !rs->reaped) {
		kill(rs->pid, SIGKILL);
		waitpid(rs->pid, NULL, __WALL);
	}
	if (rs->area)
		munmap(rs->area, rs->area_len);
	for (size_t i = 0; i < rs->nfdp; i++)
		if (rs->fdp[i].src >= 0 && rs->fdp[i].src != rs->fdp[i].target) {
			int s = rs->fdp[i].src;

			for (size_t j = i; j < rs->nfdp; j++)
				if (rs->fdp[j].src == s)
					rs->fdp[j].src = -1;
			close(s);
		}
	if (rs->file_data_fd && rs->files)
		for (size_t i = 0; i < rs->files->n_fds; i++)
			if (rs->file_data_fd[i] >= 0)
				close(rs->file_data_fd[i]);
	if (rs->stream_fd >= 0)
		close(rs->stream_fd);
	if (rs->spool_fd >= 0)
		close(rs->spool_fd);
	if (rs->exe_fd >= 0)
		close(rs->exe_fd);
	crimg_reader__free(rs->rd);
	if (rs->proc)
		protobuf_c_message_free_unpacked(&rs->proc->base, NULL);
	for (size_t i = 0; i < rs->nthreads; i++)
		protobuf_c_message_free_unpacked(&rs->threads[i]->base, NULL);
	free(rs->threads);
	if (rs->sigacts)
		protobuf_c_message_free_unpacked(&rs->sigacts->base, NULL);
	if (rs->misc)
		protobuf_c_message_free_unpacked(&rs->misc->base, NULL);
	if (rs->files)
		protobuf_c_message_free_unpacked(&rs->files->base, NULL);
	if (rs->mm)
		protobuf_c_message_free_unpacked(&rs->mm->base, NULL);
	free(rs->file_data_fd);
	free(rs->fdp);
	fd_rst_free(rs->fdr);
	free(rs->pb);
	free(rs->warnings);
	free(rs);
}
