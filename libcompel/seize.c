/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seizing and releasing: PTRACE_SEIZE + PTRACE_INTERRUPT on every thread
 * until the thread list is stable; registers and signal state; detach.
 */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_TIMEOUT_MS 5000

static long xptrace(int req, pid_t tid, void *addr, void *data)
{
	return ptrace((enum __ptrace_request)req, tid, addr, data);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_state(pid_t pid, pid_t tid, char *state);

/* A thread that exited cannot report (a zombie leader waits for its
 * traced threads to be reaped first): reap what we can, then look. */
static bool thread_dead(struct compel_thread *t)
{
	struct compel_proc *p = t->proc;
	char state;
	unsigned i;
	int st;

	for (i = 0; i < p->nr; i++) {
		struct compel_thread *o = p->th[i];

		if (o != t && o->traced && waitpid(o->tid, &st, __WALL | WNOHANG) == o->tid &&
		    (WIFEXITED(st) || WIFSIGNALED(st))) {
			o->traced = false;
			o->state = COMPEL_TASK_ZOMBIE;
		}
	}
	return read_state(p->pid, t->tid, &state) < 0 || state == 'Z' || state == 'X';
}

int compel_wait_stop(struct compel_thread *t, int *st)
{
	uint64_t deadline = now_ns() + (uint64_t)t->proc->timeout_ms * 1000000ull;
	unsigned spins = 0;
	long delay_ns = 10000;

	for (;;) {
		pid_t r = waitpid(t->tid, st, __WALL | WNOHANG);

		if (r == t->tid)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? -ESRCH : -errno;
		}
		if (spins >= 2000 && (spins & 15) == 0 && thread_dead(t)) {
			t->traced = false;
			t->state = COMPEL_TASK_ZOMBIE;
			return -ESRCH;
		}
		if (now_ns() > deadline) {
			pr_err("thread %d did not stop within %u ms", t->tid, t->proc->timeout_ms);
			return -ETIMEDOUT;
		}
		/* stops come within microseconds: poll hard first */
		if (spins++ < 2000) {
			if (spins > 100)
				sched_yield();
			continue;
		}
		struct timespec ts = { 0, delay_ns };
		nanosleep(&ts, NULL);
		if (delay_ns < 1000000)
			delay_ns *= 2;
	}
	if (WIFEXITED(*st) || WIFSIGNALED(*st)) {
		pr_info("thread %d exited while seized", t->tid);
		t->traced = false;
		t->state = COMPEL_TASK_ZOMBIE;
		return -ESRCH;
	}
	return 0;
}

static int read_state(pid_t pid, pid_t tid, char *state)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	*state = p[2];
	return 0;
}

static int regs_get(pid_t tid, struct arch_regs *r)
{
	struct iovec iov = { &r->r, sizeof(r->r) };

	if (xptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return neg_errno();
	return 0;
}

static int regs_set(pid_t tid, const struct arch_regs *r)
{
	struct iovec iov = { (void *)&r->r, sizeof(r->r) };

	if (xptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return neg_errno();
	return 0;
}

/* After the thread's first stop: record registers and state. */
static int thread_stopped(struct compel_thread *t)
{
	int err = regs_get(t->tid, &t->regs);

	if (err)
		return err;
	t->regs_valid = true;
	arch_regs_restart(&t->regs, &t->resume);
	if (arch_regs_park(&t->regs, &t->park))
		t->regs_dirty = true; /* only we can restart it (epoll EINTR) */
	arch_regs_no_restart_block(&t->regs, &t->resume, &t->resume_sigreturn);
	if (t->state != COMPEL_TASK_STOPPED)
		t->state = arch_regs_syscall_nr(&t->regs) >= 0 ? COMPEL_TASK_SYSCALL
							       : COMPEL_TASK_RUNNING;
	return 0;
}

static int seize_thread(struct compel_thread *t)
{
	int st, err, sig;

	if (xptrace(PTRACE_SEIZE, t->tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		err = -errno;
		if (err == -EPERM) {
			char state;

			/* EPERM is also what a task that has just exited gives
			 * (exit_state set): it is gone, not forbidden */
			if (read_state(t->proc->pid, t->tid, &state) < 0 || state == 'Z' || state == 'X') {
				pr_debug("thread %d exited before the seize", t->tid);
				return -ESRCH;
			}
		}
		if (err == -EPERM) {
			/* EPERM is also what a traced-by-another task gives */
			char path[64], buf[1024];
			int fd;
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/status", t->tid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				if (n > 0) {
					buf[n] = 0;
					char *p = strstr(buf, "TracerPid:");
					if (p && atoi(p + 10) != 0) {
						pr_err("thread %d is already traced by %d", t->tid,
						       atoi(p + 10));
						return -EBUSY;
					}
				}
			}
		}
		pr_err("cannot seize thread %d: %s", t->tid, strerror(-err));
		return err;
	}
	t->traced = true;
	if (xptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0) {
		err = neg_errno();
		return err;
	}
	for (;;) {
		err = compel_wait_stop(t, &st);
		if (err)
			return err;
		sig = WSTOPSIG(st);
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
				t->state = COMPEL_TASK_STOPPED;
				t->stop_sig = sig;
			}
			break;
		}
		if (sig == (SIGTRAP | 0x80) || (st >> 16) != 0) {
			/* not ours to see yet; go on to the interrupt stop */
			sig = 0;
		}
		/* A signal arrived before our interrupt: deliver it, as if it
		 * came just before the freeze.  The interrupt is still due. */
		pr_debug("thread %d: delivering signal %d before the freeze", t->tid, sig);
		if (xptrace(PTRACE_CONT, t->tid, NULL, (void *)(long)sig) < 0)
			return neg_errno();
	}
	return thread_stopped(t);
}

static struct compel_thread *proc_add(struct compel_proc *p, pid_t tid)
{
	struct compel_thread *t;

	if (p->nr == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 8;
		struct compel_thread **n = realloc(p->th, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->th = n;
		p->cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->proc = p;
	t->tid = tid;
	t->state = COMPEL_TASK_RUNNING;
	p->th[p->nr++] = t;
	return t;
}

static void proc_drop_last(struct compel_proc *p)
{
	struct compel_thread *t = p->th[--p->nr];

	free(t->xs);
	free(t->home_buf);
	free(t);
}

static int adopt_thread(struct compel_thread *t)
{
	char path[64], buf[2048], *s;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", t->proc->pid, t->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	s = strstr(buf, "TracerPid:");
	if (!s || atoi(s + 10) != getpid()) {
		pr_err("thread %d is not traced by us: cannot adopt it", t->tid);
		return -EPERM;
	}
	s = strstr(buf, "State:");
	if (!s || !strchr(s, 't') || strchr(s, 't') > strchr(s, '\n')) {
		pr_err("thread %d is traced by us but not in a ptrace-stop", t->tid);
		return -EBUSY;
	}
	t->traced = true;
	return thread_stopped(t);
}

static int seize_one(struct compel_proc *p, pid_t tid, bool adopt)
{
	struct compel_thread *t;
	char state;
	int err;

	err = read_state(p->pid, tid, &state);
	if (err == -ESRCH)
		return 0; /* exited meanwhile */
	if (err)
		return err;
	t = proc_add(p, tid);
	if (!t)
		return -ENOMEM;
	if (state == 'Z' || state == 'X') {
		t->state = COMPEL_TASK_ZOMBIE;
		return 1;
	}
	if (state == 'T')
		t->state = COMPEL_TASK_STOPPED;
	err = adopt ? adopt_thread(t) : seize_thread(t);
	if (err == -ESRCH) {
		/* the thread exited between the listing and the seize */
		if (t->traced)
			t->traced = false;
		proc_drop_last(p);
		return 0;
	}
	return err < 0 ? err : 1;
}

static int tgid_of(pid_t pid)
{
	char path[64], buf[1024], *s;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	s = strstr(buf, "Tgid:");
	return s ? atoi(s + 5) : -EIO;
}

COMPEL_API int compel_proc_seize(pid_t pid, const struct compel_seize_opts *opts,
				 struct compel_proc **ret_proc)
{
	struct compel_seize_opts o = { sizeof(o) };
	struct compel_proc *p;
	char path[64];
	int err, tgid;
	unsigned i, live;
	bool adopt;

	if (opts) {
		if (opts->sz < offsetof(struct compel_seize_opts, timeout_ms) + sizeof(uint32_t))
			return -EINVAL;
		memcpy(&o, opts, sizeof(o) < opts->sz ? sizeof(o) : opts->sz);
	}
	if (pid <= 0 || !ret_proc || (o.flags & ~(COMPEL_SEIZE_THREAD | COMPEL_SEIZE_ADOPT)))
		return -EINVAL;
	tgid = tgid_of(pid);
	if (tgid < 0)
		return tgid;
	if (tgid == getpid()) {
		pr_err("%d is the calling process itself", pid);
		return -EDEADLK;
	}
	if (!(o.flags & COMPEL_SEIZE_THREAD) && tgid != pid)
		pid = tgid; /* a tid names its whole thread group */
	adopt = o.flags & COMPEL_SEIZE_ADOPT;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = (o.flags & COMPEL_SEIZE_THREAD) ? tgid : pid;
	p->flags = o.flags;
	p->mem_fd = -1;
	p->timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;

	if (o.flags & COMPEL_SEIZE_THREAD) {
		err = seize_one(p, pid, adopt);
		if (err == 0)
			err = -ESRCH;
		if (err < 0)
			goto fail;
	} else {
		bool changed;

		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		do {
			DIR *d = opendir(path);
			struct dirent *de;

			if (!d) {
				err = errno == ENOENT ? -ESRCH : -errno;
				goto fail;
			}
			changed = false;
			while ((de = readdir(d))) {
				pid_t tid = atoi(de->d_name);

				if (tid <= 0 || compel_proc__find_thread(p, tid))
					continue;
				err = seize_one(p, tid, adopt);
				if (err < 0) {
					closedir(d);
					goto fail;
				}
				if (err > 0)
					changed = true;
			}
			closedir(d);
		} while (changed && !adopt);
	}
	for (i = 0, live = 0; i < p->nr; i++)
		live += p->th[i]->traced;
	if (!live) {
		pr_err("process %d is a zombie or exiting", pid);
		err = -ESRCH;
		goto fail;
	}
	pr_debug("seized %d: %u threads", pid, p->nr);
	*ret_proc = p;
	return 0;
fail:
	compel_proc_release(p, adopt ? COMPEL_RELEASE_KEEP : 0);
	return err;
}

static int release_thread(struct compel_thread *t, uint32_t flags)
{
	int err = 0;

	if (!t->traced)
		return 0;
	if (!(flags & COMPEL_RELEASE_KILL)) {
		if (t->xs_dirty && t->xs) {
			struct iovec iov = { t->xs, t->xs_len };

			if (xptrace(PTRACE_SETREGSET, t->tid, (void *)ARCH_NT_XSTATE, &iov) < 0)
				err = neg_errno();
		}
		/* the seized registers: the kernel restarts an interrupted
		 * call itself as the thread leaves the stop, and a stage that
		 * adopts it (COMPEL_RELEASE_KEEP) sees the truth */
		if (t->regs_dirty && regs_set(t->tid, &t->park) < 0 && !err)
			err = neg_errno();
		if (t->mask_dirty &&
		    xptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(uint64_t), &t->sigmask) < 0 &&
		    !err)
			err = neg_errno();
	}
	if (err)
		pr_err("thread %d: cannot restore its state: %s", t->tid, strerror(-err));
	if (!(flags & COMPEL_RELEASE_KEEP) && xptrace(PTRACE_DETACH, t->tid, NULL, NULL) < 0) {
		if (errno != ESRCH && !err)
			err = neg_errno();
	}
	t->traced = false;
	return err;
}

COMPEL_API int compel_proc_release(struct compel_proc *p, uint32_t flags)
{
	int err = 0, e;
	unsigned i;

	if (!p)
		return 0;
	if (flags & ~(COMPEL_RELEASE_KEEP | COMPEL_RELEASE_KILL))
		return -EINVAL;
	if (flags & COMPEL_RELEASE_KILL)
		kill(p->pid, SIGKILL);
	for (i = 0; i < p->nr; i++) {
		e = release_thread(p->th[i], flags);
		if (e && !err)
			err = e;
		free(p->th[i]->xs);
		free(p->th[i]->home_buf);
		free(p->th[i]);
	}
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	free(p->th);
	free(p);
	return err;
}

COMPEL_API pid_t compel_proc__pid(const struct compel_proc *p)
{
	return p->pid;
}

COMPEL_API unsigned compel_proc__nr_threads(const struct compel_proc *p)
{
	return p->nr;
}

COMPEL_API struct compel_thread *compel_proc__thread(struct compel_proc *p, unsigned i)
{
	return i < p->nr ? p->th[i] : NULL;
}

COMPEL_API struct compel_thread *compel_proc__find_thread(struct compel_proc *p, pid_t tid)
{
	unsigned i;

	for (i = 0; i < p->nr; i++)
		if (p->th[i]->tid == tid)
			return p->th[i];
	return NULL;
}

COMPEL_API struct compel_thread *compel_proc__leader(struct compel_proc *p)
{
	struct compel_thread *t = compel_proc__find_thread(p, p->pid);

	if (!t && (p->flags & COMPEL_SEIZE_THREAD) && p->nr)
		t = p->th[0];
	return t;
}

COMPEL_API struct compel_thread *compel_thread__next(struct compel_proc *p,
						     struct compel_thread *prev)
{
	unsigned i;

	if (!prev)
		return p->nr ? p->th[0] : NULL;
	for (i = 0; i + 1 < p->nr; i++)
		if (p->th[i] == prev)
			return p->th[i + 1];
	return NULL;
}

COMPEL_API pid_t compel_thread__tid(const struct compel_thread *t)
{
	return t->tid;
}

COMPEL_API uint32_t compel_thread__state(const struct compel_thread *t)
{
	return t->state;
}

COMPEL_API long compel_thread__syscall_nr(const struct compel_thread *t)
{
	return t->regs_valid ? arch_regs_syscall_nr(&t->regs) : -1;
}

COMPEL_API struct compel_proc *compel_thread__proc(struct compel_thread *t)
{
	return t->proc;
}

/* ---- registers ------------------------------------------------------- */

int compel_thread_load_xstate(struct compel_thread *t)
{
	struct iovec iov;
	size_t len = 4096;

	if (t->xs_valid)
		return 0;
	for (;;) {
		void *b = realloc(t->xs, len);

		if (!b)
			return -ENOMEM;
		t->xs = b;
		memset(b, 0, len);
		iov.iov_base = b;
		iov.iov_len = len;
		if (xptrace(PTRACE_GETREGSET, t->tid, (void *)ARCH_NT_XSTATE, &iov) < 0)
			return neg_errno();
		if (iov.iov_len < len)
			break;
		len *= 2;
		if (len > (1u << 20))
			return -EOVERFLOW;
	}
	t->xs_len = iov.iov_len;
	t->xs_valid = true;
	return 0;
}

static int check_thread(struct compel_thread *t)
{
	if (!t)
		return -EINVAL;
	if (!t->traced)
		return -ESRCH;
	return 0;
}

COMPEL_API int compel_thread__regset_size(struct compel_thread *t, uint32_t type)
{
	int err = check_thread(t);
	uint8_t buf[4096];
	struct iovec iov = { buf, sizeof(buf) };

	if (err)
		return err;
	if (type == ARCH_NT_XSTATE) {
		err = compel_thread_load_xstate(t);
		return err ? err : (int)t->xs_len;
	}
	if (type == NT_PRSTATUS)
		return sizeof(t->regs.r);
	if (xptrace(PTRACE_GETREGSET, t->tid, (void *)(long)type, &iov) < 0)
		return errno == EINVAL ? -ENODEV : neg_errno();
	return (int)iov.iov_len;
}

COMPEL_API int compel_thread__get_regset(struct compel_thread *t, uint32_t type, void *buf,
					 size_t len)
{
	int err = check_thread(t);
	struct iovec iov = { buf, len };

	if (err)
		return err;
	if (!buf)
		return -EINVAL;
	if (type == NT_PRSTATUS && t->regs_valid) {
		if (len < sizeof(t->regs.r))
			return -ENOSPC;
		memcpy(buf, &t->regs.r, sizeof(t->regs.r));
		return sizeof(t->regs.r);
	}
	if (type == ARCH_NT_XSTATE) {
		err = compel_thread_load_xstate(t);
		if (err)
			return err;
		if (len < t->xs_len)
			return -ENOSPC;
		memcpy(buf, t->xs, t->xs_len);
		return (int)t->xs_len;
	}
	if (xptrace(PTRACE_GETREGSET, t->tid, (void *)(long)type, &iov) < 0)
		return errno == EINVAL ? -ENODEV : neg_errno();
	return (int)iov.iov_len;
}

COMPEL_API int compel_thread__get_resume_regs(struct compel_thread *t, void *buf, size_t len)
{
	int err = check_thread(t);

	if (err)
		return err;
	if (!buf || len < sizeof(t->resume.r))
		return -ENOSPC;
	memcpy(buf, &t->resume.r, sizeof(t->resume.r));
	return sizeof(t->resume.r);
}

COMPEL_API int compel_thread__set_regset(struct compel_thread *t, uint32_t type,
					 const void *buf, size_t len)
{
	int err = check_thread(t);
	struct iovec iov = { (void *)buf, len };

	if (err)
		return err;
	if (!buf)
		return -EINVAL;
	if (t->home_tried && !t->homing) {
		/* the way home holds the old state: write it again at the next
		 * remote operation */
		free(t->home_buf);
		t->home_buf = NULL;
		t->home_sp = 0;
		t->home_tried = false;
	}
	if (type == NT_PRSTATUS) {
		if (len != sizeof(t->resume.r))
			return -EINVAL;
		memcpy(&t->resume.r, buf, len);
		memcpy(&t->regs.r, buf, len);
		memcpy(&t->resume_sigreturn.r, buf, len);
		memcpy(&t->park.r, buf, len);
		t->regs_valid = true;
		t->regs_dirty = true;
		return regs_set(t->tid, &t->park);
	}
	if (xptrace(PTRACE_SETREGSET, t->tid, (void *)(long)type, &iov) < 0)
		return errno == EINVAL ? -ENODEV : neg_errno();
	if (type == ARCH_NT_XSTATE && t->xs_valid && len <= t->xs_len) {
		memcpy(t->xs, buf, len);
		t->xs_dirty = false;
	}
	return 0;
}

COMPEL_API int compel_thread__rseq(struct compel_thread *t, struct compel_rseq *out)
{
	struct __ptrace_rseq_configuration c;
	int err = check_thread(t);
	long n;

	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	n = xptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->tid, (void *)sizeof(c), &c);
	if (n < 0)
		return errno == EIO ? -EOPNOTSUPP : neg_errno();
	memset(out, 0, sizeof(*out));
	out->rseq_abi_pointer = c.rseq_abi_pointer;
	out->rseq_abi_size = c.rseq_abi_size;
	out->signature = c.signature;
	out->flags = c.flags;
	return 0;
}

static int load_mask(struct compel_thread *t)
{
	if (t->mask_valid)
		return 0;
	if (xptrace(PTRACE_GETSIGMASK, t->tid, (void *)sizeof(uint64_t), &t->sigmask) < 0)
		return neg_errno();
	t->mask_valid = true;
	return 0;
}

COMPEL_API int compel_thread__sigmask(struct compel_thread *t, uint64_t *mask)
{
	int err = check_thread(t);

	if (!err)
		err = load_mask(t);
	if (!err)
		*mask = t->sigmask;
	return err;
}

COMPEL_API int compel_thread__set_sigmask(struct compel_thread *t, uint64_t mask)
{
	int err = check_thread(t);

	if (!err)
		err = load_mask(t);
	if (err)
		return err;
	t->sigmask = mask;
	t->mask_dirty = true; /* written at release (blocked only while we run something) */
	return 0;
}

COMPEL_API int compel_thread__pending(struct compel_thread *t, int shared, siginfo_t *out,
				      unsigned max)
{
	struct __ptrace_peeksiginfo_args a;
	int err = check_thread(t);
	unsigned n = 0;
	long r;

	if (err)
		return err;
	if (!out && max)
		return -EINVAL;
	while (n < max) {
		a.off = n;
		a.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
		a.nr = max - n;
		r = xptrace(PTRACE_PEEKSIGINFO, t->tid, &a, out + n);
		if (r < 0)
			return neg_errno();
		if (r == 0)
			break;
		n += (unsigned)r;
	}
	return (int)n;
}

/* Saves what a remote operation will change (registers, signal mask). */
int compel_thread_prepare(struct compel_thread *t)
{
	int err = check_thread(t);

	if (err)
		return err;
	if (!t->regs_valid) {
		err = thread_stopped(t);
		if (err)
			return err;
	}
	return load_mask(t);
}

/* Blocks every signal while we run something in t (block = 1), or puts
 * back the mask the thread must have (block = 0). */
int compel_thread_block(struct compel_thread *t, int block)
{
	uint64_t all = ~0ull;

	if (xptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(all), block ? &all : &t->sigmask) < 0)
		return neg_errno();
	return 0;
}

int compel_regs_set_live(struct compel_thread *t, const struct arch_regs *r)
{
	t->regs_dirty = true;
	return regs_set(t->tid, r);
}

int compel_regs_get_live(struct compel_thread *t, struct arch_regs *r)
{
	return regs_get(t->tid, r);
}
