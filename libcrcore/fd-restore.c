/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd-restore.c - recreating the fd kinds of fd-dump.c in cr-assemble,
 * before the new process exists: every object is built here (eventfds
 * with their counter, armed timerfds, pipes refilled in order, socket
 * pairs with their queues, bound and listening sockets) and handed to
 * restore.c as a source fd that the child dup3s into place.  What needs
 * the fd numbers of the process (epoll watch lists: epoll keys a watch
 * by file and fd number) is done in the child once every fd is in place.
 * Design and reasons: docs/fds.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "fd.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define TCP_LISTEN_ 10
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

/* An object built for the process: a pipe (by its inode), a socket (by
 * its inode).  fd[] are ours, held until fd_rst_opened. */
struct obj {
	uint32_t kind;
	uint64_t dev, ino;
	int fd[2];
};

struct ep {
	int target;                     /* the epoll fd in the process */
	const Crimg__EpollState *st;
	const Crimg__Fd *f;             /* its Fd (in a tree: of which process) */
};

struct fd_rst {
	struct obj *objs;
	size_t nobjs;
	struct ep *eps;
	size_t neps;
	struct tty_rst *tty;  /* ptys and the caller's terminal (fd-tty.c) */
	/* a process tree (fd_rst_tree): every process's FILES, so that an
	 * object held by several processes is found and made once */
	const Crimg__Files *const *all;
	size_t nall;
	/* memfds to seal once the memory is in place (fd_rst_seal) */
	struct seal {
		int fd;
		uint32_t seals;
		int target;             /* the fd it was made for (messages) */
	} *seals;
	size_t nseals;
};

__attribute__((format(printf, 4, 5)))
static int err_(char *buf, size_t len, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return e;
}

bool fd_rst_handles(uint32_t kind)
{
	switch (kind) {
	case CRIMG__FD_KIND__FD_EVENTFD:
	case CRIMG__FD_KIND__FD_TIMERFD:
	case CRIMG__FD_KIND__FD_SIGNALFD:
	case CRIMG__FD_KIND__FD_EPOLL:
	case CRIMG__FD_KIND__FD_PIPE:
	case CRIMG__FD_KIND__FD_UNIX:
	case CRIMG__FD_KIND__FD_INET:
	case CRIMG__FD_KIND__FD_INOTIFY:
	case CRIMG__FD_KIND__FD_MEMFD:
	case CRIMG__FD_KIND__FD_TTY:
		return true;
	default:
		return false;
	}
}

/* The idx-th Fd of the tree (of files alone outside a tree), or NULL
 * past the end: objects and their state are looked up among all. */
static const Crimg__Fd *tree_fd(const struct fd_rst *fr, const Crimg__Files *files, size_t idx)
{
	if (!fr || !fr->nall)
		return files && idx < files->n_fds ? files->fds[idx] : NULL;
	for (size_t k = 0; k < fr->nall; k++) {
		const Crimg__Files *f = fr->all[k];

		if (f && idx < f->n_fds)
			return f->fds[idx];
		idx -= f ? f->n_fds : 0;
	}
	return NULL;
}

static struct obj *obj_find(struct fd_rst *fr, uint32_t kind, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < fr->nobjs; i++)
		if (fr->objs[i].kind == kind && fr->objs[i].dev == dev && fr->objs[i].ino == ino)
			return &fr->objs[i];
	return NULL;
}

static struct obj *obj_add(struct fd_rst *fr, uint32_t kind, uint64_t dev, uint64_t ino, int a, int b)
{
	struct obj *n = realloc(fr->objs, (fr->nobjs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	fr->objs = n;
	n = &fr->objs[fr->nobjs++];
	*n = (struct obj){ kind, dev, ino, { a, b } };
	return n;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the simple kinds ------------------------------------------------------------------ */

static int open_eventfd(const Crimg__Fd *f, char *err, size_t len)
{
	const Crimg__EventfdState *e = f->eventfd;
	int fd;

	if (!e)
		return err_(err, len, -EPROTO, "fd %d: an eventfd without its state", f->fd);
	fd = eventfd(0, EFD_CLOEXEC | (e->has_semaphore && e->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: eventfd: %s", f->fd, strerror(errno));
	if (e->count && write_all(fd, &e->count, sizeof(e->count)) < 0) {
		int r = -errno;

		close(fd);
		return err_(err, len, r, "fd %d: set the eventfd counter to %" PRIu64 ": %s", f->fd,
			    e->count, strerror(-r));
	}
	return fd;
}

static int open_timerfd(const Crimg__Fd *f, char *err, size_t len)
{
	const Crimg__TimerfdState *t = f->timerfd;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	int fd, flags = 0, r;

	if (!t)
		return err_(err, len, -EPROTO, "fd %d: a timerfd without its state", f->fd);
	fd = timerfd_create((int)t->clockid, TFD_CLOEXEC);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: timerfd_create(clock %u): %s", f->fd, t->clockid,
			    strerror(errno));
	its.it_interval.tv_sec = (time_t)(t->interval_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(t->interval_ns % 1000000000ull);
	/* A periodic timer that expired and was not read yet shows 0 left
	 * (the kernel moves it on by whole intervals only when the ticks are
	 * read): given 0 it would be disarmed and tick no more.  Its next
	 * expiration is within an interval. */
	if (t->value_ns || (t->interval_ns && t->ticks)) {
		uint64_t v = t->value_ns ? t->value_ns : t->interval_ns;

		if (t->settime_flags & TFD_TIMER_ABSTIME) {
			/* the time left, from now, as the absolute time the
			 * flags (TFD_TIMER_CANCEL_ON_SET needs it) ask for */
			struct timespec now;

			clock_gettime((clockid_t)t->clockid, &now);
			v += (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
			flags = (int)t->settime_flags;
		}
		its.it_value.tv_sec = (time_t)(v / 1000000000ull);
		its.it_value.tv_nsec = (long)(v % 1000000000ull);
	}
	if (timerfd_settime(fd, flags, &its, NULL) < 0) {
		r = -errno;
		close(fd);
		return err_(err, len, r, "fd %d: timerfd_settime: %s", f->fd, strerror(-r));
	}
	if (t->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &t->ticks) < 0) {
		r = -errno;
		close(fd);
		return err_(err, len, r, "fd %d: set %" PRIu64 " pending expirations "
			    "(TFD_IOC_SET_TICKS): %s", f->fd, t->ticks, strerror(-r));
	}
	return fd;
}

static int open_signalfd(const Crimg__Fd *f, char *err, size_t len)
{
	sigset_t set;
	int fd;

	if (!f->signalfd)
		return err_(err, len, -EPROTO, "fd %d: a signalfd without its state", f->fd);
	sigemptyset(&set);
	for (int s = 1; s <= 64; s++)
		if (f->signalfd->sigmask & (1ull << (s - 1)))
			sigaddset(&set, s);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: signalfd: %s", f->fd, strerror(errno));
	return fd;
}

static int open_epoll(struct fd_rst *fr, const Crimg__Fd *f, char *err, size_t len)
{
	struct ep *n;
	int fd;

	if (!f->epoll)
		return err_(err, len, -EPROTO, "fd %d: an epoll fd without its state", f->fd);
	n = realloc(fr->eps, (fr->neps + 1) * sizeof(*n));
	if (!n)
		return err_(err, len, -ENOMEM, "out of memory");
	fr->eps = n;
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: epoll_create1: %s", f->fd, strerror(errno));
	fr->eps[fr->neps++] = (struct ep){ f->fd, f->epoll, f };
	return fd;
}

static int wd_cmp(const void *a, const void *b)
{
	return (*(Crimg__InotifyWatch *const *)a)->wd - (*(Crimg__InotifyWatch *const *)b)->wd;
}

/* Watches come back with their wd numbers: the kernel hands wds out
 * cyclically, so a watch added too early is removed and added again
 * until it gets its number.  The IN_IGNORED events this queues are
 * drained at the end. */
static int open_inotify(const Crimg__Fd *f, char *err, size_t len)
{
	const Crimg__InotifyState *in = f->inotify;
	Crimg__InotifyWatch **w;
	char buf[4096];
	int fd, r = 0;

	if (!in)
		return err_(err, len, -EPROTO, "fd %d: an inotify fd without its state", f->fd);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: inotify_init1: %s", f->fd, strerror(errno));
	w = malloc((in->n_watches + 1) * sizeof(*w));
	if (!w) {
		close(fd);
		return err_(err, len, -ENOMEM, "out of memory");
	}
	memcpy(w, in->watches, in->n_watches * sizeof(*w));
	qsort(w, in->n_watches, sizeof(*w), wd_cmp);
	for (size_t i = 0; i < in->n_watches && r == 0; i++) {
		for (int tries = 0;; tries++) {
			int got = inotify_add_watch(fd, w[i]->path, w[i]->mask);

			if (got < 0) {
				r = err_(err, len, -errno, "fd %d: inotify watch %d on %s: %s", f->fd,
					 w[i]->wd, w[i]->path, strerror(errno));
				break;
			}
			if (got == w[i]->wd)
				break;
			if (got > w[i]->wd || tries > (1 << 20)) {
				r = err_(err, len, -EBUSY, "fd %d: inotify watch on %s got wd %d, not %d",
					 f->fd, w[i]->path, got, w[i]->wd);
				break;
			}
			inotify_rm_watch(fd, got);
		}
	}
	free(w);
	while (r == 0 && read(fd, buf, sizeof(buf)) > 0)
		;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int open_memfd(struct fd_rst *fr, const Crimg__Files *files, const Crimg__Fd *f, char *err,
		      size_t len)
{
	struct obj *o;
	char p[64];
	int fd;

	if (!f->memfd || !f->has_ino)
		return err_(err, len, -EPROTO, "fd %d: a memfd without its state", f->fd);
	o = obj_find(fr, CRIMG__FD_KIND__FD_MEMFD, f->dev, f->ino);
	if (!o) {
		const Crimg__MemfdState *st = NULL;
		const Crimg__Fd *sf = f;
		int m, r;

		const Crimg__Fd *g;

		for (size_t i = 0; (g = tree_fd(fr, files, i)); i++) {
			if (g->memfd && g->has_ino && g->ino == f->ino && g->dev == f->dev && g->memfd->first) {
				st = g->memfd;
				sf = g;
			}
		}
		/* sealing allowed always: seals (F_SEAL_SEAL too) come after the contents */
		m = memfd_create(f->memfd->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (m < 0)
			return err_(err, len, -errno, "fd %d: memfd_create(%s): %s", f->fd, f->memfd->name,
				    strerror(errno));
		o = obj_add(fr, CRIMG__FD_KIND__FD_MEMFD, f->dev, f->ino, m, -1);
		if (!o) {
			close(m);
			return err_(err, len, -ENOMEM, "out of memory");
		}
		if (st && st->has_data && (r = write_all(m, st->data.data, st->data.len)) < 0)
			return err_(err, len, r, "fd %d: fill the memfd: %s", f->fd, strerror(-r));
		if (sf->has_size && ftruncate(m, (off_t)sf->size) < 0)
			return err_(err, len, -errno, "fd %d: size the memfd: %s", f->fd, strerror(errno));
		/* the seals wait until every process has mapped its memory: a
		 * process may map this memfd (Vma.memfd_fd), writable under
		 * F_SEAL_FUTURE_WRITE, and the restorer maps it after us */
		if (st && st->has_seals && st->seals) {
			struct seal *n = realloc(fr->seals, (fr->nseals + 1) * sizeof(*n));
			int k = n ? fcntl(m, F_DUPFD_CLOEXEC, 0) : -1;

			if (n)
				fr->seals = n;
			if (k < 0)
				return err_(err, len, n ? -errno : -ENOMEM, "fd %d: keep the memfd to "
					    "seal it: %s", f->fd, n ? strerror(errno) : "out of memory");
			fr->seals[fr->nseals++] = (struct seal){ k, st->seals, f->fd };
		}
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o->fd[0]);
	fd = open(p, ((int)f->flags & O_ACCMODE) | O_CLOEXEC);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: open the memfd: %s", f->fd, strerror(errno));
	if (f->has_pos && lseek(fd, f->pos, SEEK_SET) < 0) {
		int r = -errno;

		close(fd);
		return err_(err, len, r, "fd %d: seek the memfd to %" PRId64 ": %s", f->fd, f->pos,
			    strerror(-r));
	}
	return fd;
}

/* ---- pipes and FIFOs -------------------------------------------------------------------- */

static const Crimg__PipeState *pipe_first(const struct fd_rst *fr, const Crimg__Files *files,
					       const Crimg__Fd *f)
{
	const Crimg__Fd *g;

	for (size_t i = 0; (g = tree_fd(fr, files, i)); i++) {
		if (g->pipe && g->pipe->id == f->pipe->id && g->dev == f->dev && g->pipe->first)
			return g->pipe;
	}
	return NULL;
}

static int open_pipe(struct fd_rst *fr, const Crimg__Files *files, const Crimg__Fd *f, char *err,
		     size_t len)
{
	bool fifo = f->path && f->path[0] == '/';
	struct obj *o;
	char p[64];
	int fd, acc = (int)f->flags & O_ACCMODE;

	if (!f->pipe)
		return err_(err, len, -EPROTO, "fd %d: a pipe without its state", f->fd);
	o = obj_find(fr, CRIMG__FD_KIND__FD_PIPE, f->dev, f->pipe->id);
	if (!o) {
		const Crimg__PipeState *st = pipe_first(fr, files, f);
		int a, b = -1, r;

		if (fifo) {
			struct stat sb;

			/* O_RDWR: a FIFO opened without waiting for a peer */
			a = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			if (a < 0)
				return err_(err, len, -errno, "fd %d: open FIFO %s: %s", f->fd, f->path,
					    strerror(errno));
			if (fstat(a, &sb) < 0 || !S_ISFIFO(sb.st_mode)) {
				close(a);
				return err_(err, len, -ENOTSUP, "fd %d: %s is no longer a FIFO", f->fd,
					    f->path);
			}
			fcntl(a, F_SETFL, O_RDWR);
		} else {
			int q[2];

			if (pipe2(q, O_CLOEXEC) < 0)
				return err_(err, len, -errno, "fd %d: pipe: %s", f->fd, strerror(errno));
			a = q[0];
			b = q[1];
		}
		o = obj_add(fr, CRIMG__FD_KIND__FD_PIPE, f->dev, f->pipe->id, a, b);
		if (!o) {
			close(a);
			if (b >= 0)
				close(b);
			return err_(err, len, -ENOMEM, "out of memory");
		}
		if (st && st->has_size && fcntl(a, F_SETPIPE_SZ, (int)st->size) < 0)
			return err_(err, len, -errno, "fd %d: set the pipe size to %u: %s", f->fd,
				    st->size, strerror(errno));
		if (st && st->has_data && st->data.len && st->n_packets) {
			/* packet mode: each packet one O_DIRECT write */
			int w = b >= 0 ? b : a;
			size_t off = 0;

			if (fcntl(w, F_SETFL, O_DIRECT) < 0)
				return err_(err, len, -errno, "fd %d: packet mode: %s", f->fd, strerror(errno));
			for (size_t k = 0; k < st->n_packets; k++) {
				if (off + st->packets[k] > st->data.len ||
				    write(w, st->data.data + off, st->packets[k]) != (ssize_t)st->packets[k])
					return err_(err, len, -EIO, "fd %d: refill packet %zu of the pipe", f->fd, k);
				off += st->packets[k];
			}
			fcntl(w, F_SETFL, 0);
		} else if (st && st->has_data && st->data.len) {
			r = write_all(b >= 0 ? b : a, st->data.data, st->data.len);
			if (r < 0)
				return err_(err, len, r, "fd %d: refill the pipe with %zu bytes: %s", f->fd,
					    st->data.len, strerror(-r));
		}
	}
	/* each open file description of the pipe is an open of our own
	 * (dup'ed fds share theirs in restore.c) */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o->fd[0]);
	fd = open(p, acc | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_(err, len, -errno, "fd %d: open the pipe %s: %s", f->fd,
			    acc == O_RDONLY ? "read end" : acc == O_WRONLY ? "write end" : "read-write",
			    strerror(errno));
	return fd;
}

/* ---- sockets ---------------------------------------------------------------------------- */

static const Crimg__Fd *unix_by_ino(const struct fd_rst *fr, const Crimg__Files *files,
				    uint64_t ino)
{
	const Crimg__Fd *any = NULL, *g;

	for (size_t i = 0; (g = tree_fd(fr, files, i)); i++) {
		if (g->unix_sk && g->unix_sk->ino == ino) {
			if (g->unix_sk->first)
				return g;
			any = g;
		}
	}
	return any;
}

/* Sends the queue of socket u (the messages it had to read) from sender. */
static int fill_queue(int sender, const Crimg__UnixSk *u, const void *to, socklen_t tolen)
{
	int big = 64 << 20;

	if (!u || !u->n_queue)
		return 0;
	setsockopt(sender, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	for (size_t i = 0; i < u->n_queue; i++) {
		const uint8_t *p = u->queue[i].data;
		size_t left = u->queue[i].len;

		do {
			ssize_t n = sendto(sender, p, left, MSG_NOSIGNAL, to, tolen);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			p += n;
			left -= (size_t)n;
		} while (left && u->type == SOCK_STREAM);
	}
	return 0;
}

static int set_opts(int s, Crimg__SockOpt *const *o, size_t n, int fdno, char *err, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (setsockopt(s, (int)o[i]->level, (int)o[i]->name, o[i]->value.data,
			       (socklen_t)o[i]->value.len) < 0)
			return err_(err, len, -errno, "fd %d: socket option %u/%u: %s", fdno,
				    o[i]->level, o[i]->name, strerror(errno));
	return 0;
}

static void sk_opts(int s, const Crimg__UnixSk *u)
{
	int v;

	if (!u || !u->first)
		return;
	/* the kernel doubles what it is given */
	if (u->has_sndbuf && (v = (int)u->sndbuf / 2) > 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	if (u->has_rcvbuf && (v = (int)u->rcvbuf / 2) > 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	if (u->has_passcred && u->passcred) {
		v = 1;
		setsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v));
	}
	set_opts(s, u->opts, u->n_opts, -1, NULL, 0);
}

static void sk_shutdown(int s, const Crimg__UnixSk *u)
{
	/* sk_shutdown bits: 1 receive, 2 send */
	if (!u || !u->has_shutdown)
		return;
	if ((u->shutdown & 3) == 3)
		shutdown(s, SHUT_RDWR);
	else if (u->shutdown & 2)
		shutdown(s, SHUT_WR);
	else if (u->shutdown & 1)
		shutdown(s, SHUT_RD);
}

static bool named(const Crimg__UnixSk *u)
{
	return u && u->has_name && u->name.len;
}

static socklen_t sun_of(const Crimg__UnixSk *u, struct sockaddr_un *sa)
{
	size_t nl = u->name.len < sizeof(sa->sun_path) ? u->name.len : sizeof(sa->sun_path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, u->name.data, nl);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl);
}

/* Is a live socket bound to path (/proc/net/unix lists it)? */
static bool path_bound(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[4400];
	size_t pl = strlen(path);
	bool found = false;

	if (!f)
		return true; /* cannot tell: never remove it */
	while (!found && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);
		char *p;

		if (l && line[l - 1] == '\n')
			line[--l] = 0;
		/* the path is the last column, after the inode */
		p = l > pl ? line + l - pl : NULL;
		found = p && p[-1] == ' ' && !strcmp(p, path);
	}
	fclose(f);
	return found;
}

/* bind to u's name.  The old socket's file stays behind it when it is
 * gone: a socket file that no live socket is bound to is removed first
 * (nothing else ever is).  One a live socket holds (the original, left
 * stopped for a migration) is left alone: bind fails. */
static int bind_name(int s, const Crimg__UnixSk *u)
{
	struct sockaddr_un sa;
	socklen_t sl = sun_of(u, &sa);
	struct stat sb;

	if (sa.sun_path[0] && lstat(sa.sun_path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    !path_bound(sa.sun_path))
		unlink(sa.sun_path);
	return bind(s, (struct sockaddr *)&sa, sl) < 0 ? -errno : 0;
}

static int open_unix(struct fd_rst *fr, const Crimg__Files *files, const Crimg__Fd *f, char *err,
		     size_t len);

/* The socket with inode ino exists among our objects (made now if not). */
static int ensure_unix(struct fd_rst *fr, const Crimg__Files *files, uint64_t ino, char *err, size_t len)
{
	const Crimg__Fd *g;
	int fd;

	if (obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, ino))
		return 0;
	g = unix_by_ino(fr, files, ino);
	if (!g)
		return err_(err, len, -EPROTO, "unix socket %" PRIu64 " is not in the image", ino);
	fd = open_unix(fr, files, g, err, len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static const Crimg__Fd *unix_listener(const struct fd_rst *fr, const Crimg__Files *files,
				      const Crimg__UnixSk *u)
{
	const Crimg__Fd *gf;

	for (size_t i = 0; (gf = tree_fd(fr, files, i)); i++) {
		const Crimg__UnixSk *g = gf->unix_sk;

		if (g && g->state == TCP_LISTEN_ && g->type == u->type && named(g) &&
		    g->name.len == u->name.len && !memcmp(g->name.data, u->name.data, u->name.len))
			return gf;
	}
	return NULL;
}

/*
 * A stream or seqpacket connection with an address: one side was
 * accept()ed (it bears its listener's name), the other connected to that
 * name.  They are made the same way again: connect to the listener (ours,
 * or a temporary one bound to the name if the process closed its own),
 * accept.  Then the queues, each sent from the other side.
 */
static int open_unix_conn(struct fd_rst *fr, const Crimg__Files *files, const Crimg__UnixSk *a,
			  const Crimg__UnixSk *b, int fdno, char *err, size_t len)
{
	const Crimg__UnixSk *acc = named(a) ? a : b, *cli = acc == a ? b : a;
	const Crimg__Fd *lf = unix_listener(fr, files, acc);
	struct sockaddr_un sa;
	socklen_t sl = sun_of(acc, &sa);
	int l = -1, c = -1, x = -1, r;
	struct obj *o;

	if (named(cli))
		return err_(err, len, -EOPNOTSUPP, "fd %d: a unix connection bound on both ends", fdno);
	if (lf) {
		r = ensure_unix(fr, files, lf->unix_sk->ino, err, len);
		if (r < 0)
			return r;
		if (obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, acc->ino))
			return 0; /* made with its listener, before its pending ones */
		o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, lf->unix_sk->ino);
		l = fcntl(o->fd[0], F_DUPFD_CLOEXEC, 0);
	} else {
		l = socket(AF_UNIX, (int)acc->type | SOCK_CLOEXEC, 0);
		if (l >= 0 && (bind_name(l, acc) < 0 || listen(l, 1) < 0)) {
			r = -errno;
			close(l);
			return err_(err, len, r, "fd %d: a listener for %s to accept the connection "
				    "again: %s", fdno, sa.sun_path[0] ? sa.sun_path : "@...", strerror(-r));
		}
	}
	if (l < 0)
		return err_(err, len, -errno, "fd %d: listener: %s", fdno, strerror(errno));
	c = socket(AF_UNIX, (int)cli->type | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sl) < 0 ||
	    (x = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		r = -errno;
		if (c >= 0)
			close(c);
		close(l);
		return err_(err, len, r, "fd %d: connect the unix connection again: %s", fdno,
			    strerror(-r));
	}
	close(l);
	if (!obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, acc->ino, x, -1)) {
		close(x);
		close(c);
		return err_(err, len, -ENOMEM, "out of memory");
	}
	if (!obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, cli->ino, c, -1)) {
		close(c);
		return err_(err, len, -ENOMEM, "out of memory");
	}
	if ((r = fill_queue(c, acc, NULL, 0)) < 0 || (r = fill_queue(x, cli, NULL, 0)) < 0)
		return err_(err, len, r, "fd %d: refill the queues of a unix connection: %s", fdno,
			    strerror(-r));
	sk_opts(x, acc);
	sk_opts(c, cli);
	sk_shutdown(x, acc);
	sk_shutdown(c, cli);
	return 0;
}

static int open_unix(struct fd_rst *fr, const Crimg__Files *files, const Crimg__Fd *f, char *err,
		     size_t len)
{
	const Crimg__UnixSk *u = f->unix_sk;
	struct obj *o;
	int s, r, type;

	if (!u)
		return err_(err, len, -EPROTO, "fd %d: a unix socket without its state", f->fd);
	type = (int)u->type;
	o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino);
	if (o)
		goto have;
	/* connected, not accepted yet: its listener connects it */
	for (size_t i = 0; u->state == 1 && tree_fd(fr, files, i); i++) {
		const Crimg__UnixSk *g = tree_fd(fr, files, i)->unix_sk;

		for (size_t k = 0; g && k < g->n_icons; k++)
			if (g->icons[k] == u->ino) {
				r = ensure_unix(fr, files, g->ino, err, len);
				if (r < 0)
					return r;
				o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino);
				if (o)
					goto have;
			}
	}
	if (u->has_peer && u->peer) {
		/* a pair within the process: both made now, each one's queue
		 * sent from the other */
		const Crimg__Fd *pf = unix_by_ino(fr, files, u->peer);
		const Crimg__UnixSk *pu = pf ? pf->unix_sk : NULL;
		const Crimg__UnixSk *mine = unix_by_ino(fr, files, u->ino)->unix_sk;
		int sv[2];

		if (!pu)
			return err_(err, len, -EOPNOTSUPP, "fd %d: a unix socket whose peer is not in "
				    "the image", f->fd);
		if (type != SOCK_DGRAM && (named(mine) || named(pu))) {
			r = open_unix_conn(fr, files, mine, pu, f->fd, err, len);
			if (r < 0)
				return r;
			o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino);
			goto have;
		}
		if (type == SOCK_DGRAM && (named(mine) || named(pu))) {
			/* a datagram socket connected to a bound one: bound
			 * first (so that a peer connecting back finds it), then
			 * connected to the peer's name */
			struct sockaddr_un sa;
			socklen_t sl;

			if (!named(pu))
				return err_(err, len, -EOPNOTSUPP, "fd %d: a datagram socket connected "
					    "to an unbound one", f->fd);
			s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (s < 0)
				return err_(err, len, -errno, "fd %d: socket: %s", f->fd, strerror(errno));
			if (!obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino, s, -1)) {
				close(s);
				return err_(err, len, -ENOMEM, "out of memory");
			}
			sk_opts(s, mine);
			if (named(mine) && (r = bind_name(s, mine)) < 0)
				return err_(err, len, r, "fd %d: bind the unix socket again: %s", f->fd,
					    strerror(-r));
			r = ensure_unix(fr, files, u->peer, err, len);
			if (r < 0)
				return r;
			sl = sun_of(pu, &sa);
			if (connect(s, (struct sockaddr *)&sa, sl) < 0)
				return err_(err, len, -errno, "fd %d: connect the datagram socket again: %s",
					    f->fd, strerror(errno));
			if (named(mine) && mine->first && mine->n_queue) {
				int t = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

				sl = sun_of(mine, &sa);
				r = t < 0 ? -errno : fill_queue(t, mine, &sa, sl);
				if (t >= 0)
					close(t);
				if (r < 0)
					return err_(err, len, r, "fd %d: refill the queue: %s", f->fd,
						    strerror(-r));
			}
			sk_shutdown(s, mine);
			o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino);
			goto have;
		}
		if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
			return err_(err, len, -errno, "fd %d: socketpair: %s", f->fd, strerror(errno));
		if (!obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino, sv[0], -1) ||
		    !obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->peer, sv[1], -1)) {
			close(sv[0]);
			close(sv[1]);
			return err_(err, len, -ENOMEM, "out of memory");
		}
		if ((r = fill_queue(sv[1], mine, NULL, 0)) < 0 || (r = fill_queue(sv[0], pu, NULL, 0)) < 0)
			return err_(err, len, r, "fd %d: refill the queues of a socket pair: %s", f->fd,
				    strerror(-r));
		sk_opts(sv[0], mine);
		sk_opts(sv[1], pu);
		sk_shutdown(sv[0], mine);
		sk_shutdown(sv[1], pu);
		o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino);
		goto have;
	}
	if (u->state == 1 /* TCP_ESTABLISHED */ && !(u->has_name && u->name.len)) {
		/* connected once, its peer closed since: what it still has to
		 * read comes from a peer that then goes away */
		int sv[2];

		if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
			return err_(err, len, -errno, "fd %d: socketpair: %s", f->fd, strerror(errno));
		r = fill_queue(sv[1], u, NULL, 0);
		close(sv[1]);
		if (r < 0) {
			close(sv[0]);
			return err_(err, len, r, "fd %d: refill the queue: %s", f->fd, strerror(-r));
		}
		sk_opts(sv[0], u);
		sk_shutdown(sv[0], u);
		o = obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino, sv[0], -1);
		if (!o) {
			close(sv[0]);
			return err_(err, len, -ENOMEM, "out of memory");
		}
		goto have;
	}
	s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_(err, len, -errno, "fd %d: socket(AF_UNIX): %s", f->fd, strerror(errno));
	o = obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino, s, -1);
	if (!o) {
		close(s);
		return err_(err, len, -ENOMEM, "out of memory");
	}
	sk_opts(s, u);
	if (named(u)) {
		struct sockaddr_un sa;
		socklen_t sl = sun_of(u, &sa);
		size_t nl = sl - offsetof(struct sockaddr_un, sun_path);

		if ((r = bind_name(s, u)) < 0)
			return err_(err, len, r, "fd %d: bind the unix socket to %s%.*s: %s%s", f->fd,
				    sa.sun_path[0] ? "" : "@", (int)nl - (sa.sun_path[0] ? 0 : 1),
				    sa.sun_path + (sa.sun_path[0] ? 0 : 1), strerror(-r),
				    r == -EADDRINUSE ? " (a live socket has it: is the original still "
				    "there?)" : "");
		if (u->state == TCP_LISTEN_ &&
		    listen(s, u->has_backlog && u->backlog ? (int)u->backlog : SOMAXCONN) < 0)
			return err_(err, len, -errno, "fd %d: listen: %s", f->fd, strerror(errno));
		/* the connections it accepted first, while its queue is
		 * empty (open_unix_conn accepts the one it connects) */
		for (size_t k = 0; u->state == TCP_LISTEN_ && tree_fd(fr, files, k); k++) {
			const Crimg__Fd *g = tree_fd(fr, files, k), *pf;
			const Crimg__UnixSk *gu = g->unix_sk;

			if (!gu || gu->state != 1 || gu->type != u->type || !named(gu) || !gu->has_peer ||
			    !gu->peer || gu->name.len != u->name.len ||
			    memcmp(gu->name.data, u->name.data, u->name.len) ||
			    obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, gu->ino) ||
			    !(pf = unix_by_ino(fr, files, gu->peer)) || named(pf->unix_sk))
				continue;
			r = open_unix_conn(fr, files, gu, pf->unix_sk, g->fd, err, len);
			if (r < 0)
				return r;
		}
		/* its pending connections, in accept order: their clients
		 * connect again */
		for (size_t k = 0; u->state == TCP_LISTEN_ && k < u->n_icons; k++) {
			const Crimg__Fd *cf = unix_by_ino(fr, files, u->icons[k]);
			const Crimg__UnixSk *cu = cf ? cf->unix_sk : NULL;
			int c;

			if (!cu)
				return err_(err, len, -EPROTO, "fd %d: pending connection %" PRIu64 " has "
					    "no client in the image", f->fd, u->icons[k]);
			c = socket(AF_UNIX, (int)cu->type | SOCK_CLOEXEC, 0);
			if (c < 0)
				return err_(err, len, -errno, "fd %d: socket: %s", f->fd, strerror(errno));
			if (!obj_add(fr, CRIMG__FD_KIND__FD_UNIX, 0, cu->ino, c, -1)) {
				close(c);
				return err_(err, len, -ENOMEM, "out of memory");
			}
			sk_opts(c, cu);
			if (named(cu) && (r = bind_name(c, cu)) < 0)
				return err_(err, len, r, "fd %d: bind a pending client again: %s", f->fd,
					    strerror(-r));
			if (connect(c, (struct sockaddr *)&sa, sl) < 0)
				return err_(err, len, -errno, "fd %d: connect pending client %zu again: %s",
					    f->fd, k + 1, strerror(errno));
			sk_shutdown(c, cu);
		}
		o = obj_find(fr, CRIMG__FD_KIND__FD_UNIX, 0, u->ino); /* obj_add moved it */
		if (type == SOCK_DGRAM && u->first && u->n_queue) {
			int t = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

			r = t < 0 ? -errno : fill_queue(t, u, &sa, sl);
			if (t >= 0)
				close(t);
			if (r < 0)
				return err_(err, len, r, "fd %d: refill the queue: %s", f->fd,
					    strerror(-r));
		}
	} else if (u->first && u->n_queue) {
		return err_(err, len, -EOPNOTSUPP, "fd %d: an unbound, unconnected unix socket with "
			    "queued data", f->fd);
	}
	sk_shutdown(s, u);
have:
	s = fcntl(o->fd[0], F_DUPFD_CLOEXEC, 0);
	if (s < 0)
		return err_(err, len, -errno, "fd %d: dup: %s", f->fd, strerror(errno));
	return s;
}

static int open_inet(const Crimg__Fd *f, char *err, size_t len)
{
	const Crimg__InetSk *in = f->inet_sk;
	int s, v, r;

	if (!in)
		return err_(err, len, -EPROTO, "fd %d: an inet socket without its state", f->fd);
	s = socket((int)in->family, (int)in->type | SOCK_CLOEXEC, (int)in->protocol);
	if (s < 0)
		return err_(err, len, -errno, "fd %d: socket: %s", f->fd, strerror(errno));
	v = 1;
	if (in->has_reuseaddr && in->reuseaddr)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
	if (in->has_reuseport && in->reuseport)
		setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v));
	if (in->family == AF_INET6 && in->has_v6only) {
		v = in->v6only;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
	}
	if (in->has_sndbuf && (v = (int)in->sndbuf / 2) > 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	if (in->has_rcvbuf && (v = (int)in->rcvbuf / 2) > 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	if ((r = set_opts(s, in->opts, in->n_opts, f->fd, err, len)) < 0) {
		close(s);
		return r;
	}
	if (in->has_addr && in->addr.len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_storage ss = { 0 };
		bool bound;

		memcpy(&ss, in->addr.data, in->addr.len < sizeof(ss) ? in->addr.len : sizeof(ss));
		bound = ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port != 0 :
			((struct sockaddr_in6 *)&ss)->sin6_port != 0;
		if (bound && bind(s, (struct sockaddr *)&ss, (socklen_t)in->addr.len) < 0) {
			r = -errno;
			close(s);
			return err_(err, len, r, "fd %d: bind the %s socket again: %s", f->fd,
				    in->type == SOCK_DGRAM ? "UDP" : "TCP", strerror(-r));
		}
	}
	if (in->has_peer && in->peer.len && connect(s, (void *)in->peer.data, (socklen_t)in->peer.len) < 0) {
		r = -errno;
		close(s);
		return err_(err, len, r, "fd %d: connect the UDP socket again: %s", f->fd, strerror(-r));
	}
	if (in->has_listening && in->listening &&
	    listen(s, in->has_backlog && in->backlog ? (int)in->backlog : SOMAXCONN) < 0) {
		r = -errno;
		close(s);
		return err_(err, len, r, "fd %d: listen: %s", f->fd, strerror(-r));
	}
	return s;
}

/* ---- the entry points ------------------------------------------------------------------- */

int fd_rst_open(struct fd_rst **frp, const Crimg__Files *files, size_t i, int *src, char *err,
		size_t len)
{
	const Crimg__Fd *f = files->fds[i];
	struct fd_rst *fr = *frp;
	int fd;

	if (!fr) {
		fr = calloc(1, sizeof(*fr));
		if (!fr)
			return err_(err, len, -ENOMEM, "out of memory");
		*frp = fr;
	}
	if (f->fd <= 2 && ((f->kind == CRIMG__FD_KIND__FD_PIPE && !f->pipe) ||
			   (f->kind == CRIMG__FD_KIND__FD_UNIX && !f->unix_sk))) {
		*src = -1; /* a std fd whose peer was outside: restore.c inherits ours */
		return 0;
	}
	switch (f->kind) {
	case CRIMG__FD_KIND__FD_EVENTFD:
		fd = open_eventfd(f, err, len);
		break;
	case CRIMG__FD_KIND__FD_TIMERFD:
		fd = open_timerfd(f, err, len);
		break;
	case CRIMG__FD_KIND__FD_SIGNALFD:
		fd = open_signalfd(f, err, len);
		break;
	case CRIMG__FD_KIND__FD_EPOLL:
		fd = open_epoll(fr, f, err, len);
		break;
	case CRIMG__FD_KIND__FD_PIPE:
		fd = open_pipe(fr, files, f, err, len);
		break;
	case CRIMG__FD_KIND__FD_UNIX:
		fd = open_unix(fr, files, f, err, len);
		break;
	case CRIMG__FD_KIND__FD_INET:
		fd = open_inet(f, err, len);
		break;
	case CRIMG__FD_KIND__FD_INOTIFY:
		fd = open_inotify(f, err, len);
		break;
	case CRIMG__FD_KIND__FD_MEMFD:
		fd = open_memfd(fr, files, f, err, len);
		break;
	case CRIMG__FD_KIND__FD_TTY: {
		int r = tty_rst_open(&fr->tty, files, fr->all, fr->nall, f, &fd, err, len);

		if (r < 0)
			return r;
		if (fd < 0) {
			*src = -1; /* the caller's terminal on a std fd: restore.c inherits ours */
			return 0;
		}
		break;
	}
	default:
		return err_(err, len, -EOPNOTSUPP, "fd %d: kind %u is not one of fd-restore's", f->fd,
			    f->kind);
	}
	if (fd < 0)
		return fd;
	/* the status flags that F_SETFL sets; the access mode came with the object */
	if (fcntl(fd, F_SETFL, (int)f->flags & SETFL_MASK) < 0) {
		int r = -errno;

		close(fd);
		return err_(err, len, r, "fd %d: set its flags 0%o: %s", f->fd, f->flags & SETFL_MASK,
			    strerror(-r));
	}
	/* the owner (O_ASYNC) is set in the new process: it may be the process */
	*src = fd;
	return 0;
}

static void close_objs(struct fd_rst *fr, bool memfds)
{
	for (size_t i = 0; i < fr->nobjs; i++)
		for (int k = 0; k < 2; k++)
			if (fr->objs[i].fd[k] >= 0 &&
			    (memfds || fr->objs[i].kind != CRIMG__FD_KIND__FD_MEMFD)) {
				close(fr->objs[i].fd[k]);
				fr->objs[i].fd[k] = -1;
			}
}

void fd_rst_opened(struct fd_rst *fr)
{
	if (!fr)
		return;
	tty_rst_opened(fr->tty);
	/* memfds stay until fd_rst_seal: a process of a tree that maps one
	 * without holding it maps this object (fd_rst_memfd) */
	close_objs(fr, false);
}

int fd_rst_memfd(const struct fd_rst *fr, uint64_t ino)
{
	for (size_t i = 0; fr && i < fr->nobjs; i++)
		if (fr->objs[i].kind == CRIMG__FD_KIND__FD_MEMFD && fr->objs[i].ino == ino)
			return fr->objs[i].fd[0];
	return -1;
}

/* Takes the locks again, in the new process: POSIX locks belong to the
 * process that takes them, flock and OFD locks to the description. */
static int take_locks(const Crimg__Files *files, char *err, size_t len)
{
	for (size_t i = 0; files && i < files->n_fds; i++) {
		const Crimg__Fd *f = files->fds[i];

		for (size_t k = 0; k < f->n_locks; k++) {
			const Crimg__FileLock *l = f->locks[k];
			struct flock fl = { .l_type = (short)l->type, .l_whence = SEEK_SET,
					    .l_start = l->start, .l_len = l->len };
			int r;

			if (l->kind == 2)
				r = flock(f->fd, (l->type == F_RDLCK ? LOCK_SH : LOCK_EX) | LOCK_NB);
			else
				r = fcntl(f->fd, l->kind == 1 ? F_SETLK : F_OFD_SETLK, &fl);
			if (r < 0)
				return err_(err, len, -errno, "fd %d: take its %s %s lock again%s: %s",
					    f->fd, l->kind == 1 ? "POSIX" : l->kind == 2 ? "flock" : "OFD",
					    l->type == F_RDLCK ? "read" : "write",
					    errno == EAGAIN || errno == EWOULDBLOCK ?
					    " (another process holds it: is the original still running?)" : "",
					    strerror(errno));
		}
	}
	return 0;
}

/* O_ASYNC and its owner: open() ignores O_ASYNC (regular files come from
 * restore.c's open), and the owner is often the process itself, which
 * exists only now. */
static int set_owners(const Crimg__Files *files, char *err, size_t len)
{
	for (size_t i = 0; files && i < files->n_fds; i++) {
		const Crimg__Fd *f = files->fds[i];

		if ((f->flags & O_ASYNC) && !(fcntl(f->fd, F_GETFL) & O_ASYNC) &&
		    fcntl(f->fd, F_SETFL, (fcntl(f->fd, F_GETFL) & SETFL_MASK) | O_ASYNC) < 0)
			return err_(err, len, -errno, "fd %d: set O_ASYNC: %s", f->fd, strerror(errno));
		if (f->fown) {
			struct f_owner_ex o = { .type = (int)f->fown->type, .pid = f->fown->pid };

			if (o.pid && fcntl(f->fd, F_SETOWN_EX, &o) < 0)
				return err_(err, len, -errno, "fd %d: give it to owner %d again: %s", f->fd,
					    o.pid, strerror(errno));
			if (f->fown->has_sig && fcntl(f->fd, F_SETSIG, (int)f->fown->sig) < 0)
				return err_(err, len, -errno, "fd %d: F_SETSIG: %s", f->fd, strerror(errno));
		}
	}
	return 0;
}

int fd_rst_child(struct fd_rst *fr, const Crimg__Files *files, char *err, size_t len)
{
	int r = tty_rst_child(fr ? fr->tty : NULL, files, err, len); /* the controlling terminal (fd-tty.c) */

	if (r == 0)
		r = take_locks(files, err, len);

	if (r == 0)
		r = set_owners(files, err, len);
	if (r < 0 || !fr)
		return r;
	for (size_t i = 0; i < fr->neps; i++) {
		const Crimg__EpollState *st = fr->eps[i].st;
		bool mine = false;

		/* in a tree, the epoll fds of this process only */
		for (size_t j = 0; files && j < files->n_fds; j++)
			mine |= files->fds[j] == fr->eps[i].f;
		if (!mine)
			continue;

		for (size_t k = 0; k < st->n_tfds; k++) {
			struct epoll_event ev = { .events = st->tfds[k]->events,
						  .data.u64 = st->tfds[k]->data };

			if (epoll_ctl(fr->eps[i].target, EPOLL_CTL_ADD, st->tfds[k]->tfd, &ev) < 0)
				return err_(err, len, -errno, "epoll fd %d: watch fd %d again: %s",
					    fr->eps[i].target, st->tfds[k]->tfd, strerror(errno));
		}
	}
	return 0;
}

int fd_rst_tree(struct fd_rst **frp, const Crimg__Files *const *all, size_t n)
{
	if (!*frp && !(*frp = calloc(1, sizeof(**frp))))
		return -ENOMEM;
	(*frp)->all = all;
	(*frp)->nall = n;
	return 0;
}

int fd_rst_seal(struct fd_rst *fr, char *err, size_t len)
{
	int r = 0;

	for (size_t i = 0; fr && i < fr->nseals; i++) {
		struct seal *s = &fr->seals[i];

		if (r == 0 && fcntl(s->fd, F_ADD_SEALS, (int)s->seals) < 0)
			r = err_(err, len, -errno, "fd %d: seal the memfd (0x%x): %s", s->target,
				 s->seals, strerror(errno));
		close(s->fd);
	}
	if (fr) {
		free(fr->seals);
		fr->seals = NULL;
		fr->nseals = 0;
		close_objs(fr, true);
	}
	return r;
}

void fd_rst_free(struct fd_rst *fr)
{
	if (!fr)
		return;
	fd_rst_opened(fr);
	close_objs(fr, true);
	for (size_t i = 0; i < fr->nseals; i++)
		close(fr->seals[i].fd);
	free(fr->seals);
	tty_rst_free(fr->tty);
	free(fr->objs);
	free(fr->eps);
	free(fr);
}

int fd_rst_shell_job(struct fd_rst **frp, bool on)
{
	if (!*frp && !(*frp = calloc(1, sizeof(**frp))))
		return -ENOMEM;
	return tty_rst_shell_job(&(*frp)->tty, on);
}
