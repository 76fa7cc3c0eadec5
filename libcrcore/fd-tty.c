/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd-tty.c - terminals: the ptys a process holds (master and slave ends,
 * termios, window size, packet mode, lock, the data buffered both ways)
 * and "the caller's terminal" of a shell job (cr-dump --shell-job,
 * cr-assemble --shell-job).  Design and reasons: docs/ttys.md.
 *
 * The buffered data is read out of the frozen process's pty through our
 * own copies of its fds (pidfd_getfd) and put back at once with TIOCSTI,
 * which hands bytes to the line discipline synchronously; the restore
 * fills the new pair the same way.
 */
#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/termbits.h>

#include <crcore.h>

#include "dump.h"
#include "fd.h"

#define PTMX_MAJOR 5
#define PTMX_MINOR 2
#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST 143
#define MAX_TTY_DATA 65536u  /* an n_tty buffer holds 4 KiB: this is plenty */
#define MAX_INDEX_TRIES 4096 /* ptmx opens to get the same pty number back */
#define TTY_MASTER 1u
#define TTY_SLAVE 2u
#define TTY_CALLER 3u

static int fmt(char *buf, size_t len, int e, const char *f, ...) __attribute__((format(printf, 4, 5)));
static int fmt(char *buf, size_t len, int e, const char *f, ...)
{
	va_list ap;

	if (buf && len) {
		va_start(ap, f);
		vsnprintf(buf, len, f, ap);
		va_end(ap);
	}
	return e;
}

static int take_fd(pid_t pid, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), r;

	if (pfd < 0)
		return -errno;
	r = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	if (r < 0)
		r = -errno;
	close(pfd);
	return r;
}

bool tty_is_master(dev_t rdev)
{
	return major(rdev) == PTMX_MAJOR && minor(rdev) == PTMX_MINOR;
}

static bool is_slave(dev_t rdev)
{
	return major(rdev) >= PTS_MAJOR_FIRST && major(rdev) <= PTS_MAJOR_LAST;
}

static unsigned slave_index(dev_t rdev)
{
	return (major(rdev) - PTS_MAJOR_FIRST) * 256u + minor(rdev);
}

bool tty_is_tty(dev_t rdev)
{
	/* 4: /dev/ttyN, ttyS; 5: /dev/tty, console, ptmx; 136-143: /dev/pts/N */
	return major(rdev) == 4 || major(rdev) == PTMX_MAJOR || is_slave(rdev);
}

static bool shell_job_env(void)
{
	const char *e = getenv(CRCORE_TTY_SHELL_JOB_ENV);

	return e && *e == '1';
}

/* The pty number of fd (a master) of pid, or -errno. */
static int master_index(pid_t pid, int fd)
{
	int m = take_fd(pid, fd), n, r;

	if (m < 0)
		return m;
	r = ioctl(m, TIOCGPTN, &n) < 0 ? -errno : n;
	close(m);
	return r;
}

/* An fd of pid that is the master (master) or a slave of pty index, or -1. */
static int find_end(pid_t pid, unsigned index, bool master)
{
	char p[64];
	struct dirent *de;
	DIR *dir;
	int r = -1;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	dir = opendir(p);
	if (!dir)
		return -1;
	while (r < 0 && (de = readdir(dir))) {
		char fp[128];
		struct stat st;
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "/proc/%d/fd/%d", (int)pid, fd);
		if (stat(fp, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		if (master ? tty_is_master(st.st_rdev) && master_index(pid, fd) == (int)index :
			     is_slave(st.st_rdev) && slave_index(st.st_rdev) == index)
			r = fd;
	}
	closedir(dir);
	return r;
}

/* A process of the dumped tree (pid first) holding an end of pty index:
 * its pid and the fd in *fd, or 0. */
static pid_t find_in_tree(pid_t pid, unsigned index, bool master, int *fd)
{
	struct dirent *de;
	DIR *proc;
	pid_t found = 0;

	if ((*fd = find_end(pid, index, master)) >= 0)
		return pid;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (de = readdir(proc))) {
		pid_t q = atoi(de->d_name);

		if (q <= 0 || q == pid || q == getpid() || !fd_dump_in_tree(q))
			continue;
		if ((*fd = find_end(q, index, master)) >= 0)
			found = q;
	}
	closedir(proc);
	return found;
}

/* Does pid or another process of the tree hold the master of pty index? */
static bool holds_master(pid_t pid, unsigned index)
{
	int fd;

	return find_in_tree(pid, index, true, &fd) != 0;
}

int tty_dump_check(pid_t pid, int fd, const struct stat *st, const char *link, char *why,
		   size_t len)
{
	if (!S_ISCHR(st->st_mode) || !tty_is_tty(st->st_rdev))
		return 0;
	if (tty_is_master(st->st_rdev)) {
		int n = master_index(pid, fd);

		if (n < 0)
			return fmt(why, len, n, "process %d: fd %d is a pty master (%s) whose number "
				   "cannot be read: %s", (int)pid, fd, link, strerror(-n));
		return 1;
	}
	if (is_slave(st->st_rdev) && holds_master(pid, slave_index(st->st_rdev)))
		return 1;
	if (shell_job_env())
		return 1;
	return fmt(why, len, -EOPNOTSUPP, "process %d: fd %d is a terminal (%s) that it does not "
		   "own (the terminal of the shell that started it?): dump with --shell-job to "
		   "give it the restoring shell's terminal", (int)pid, fd, link);
}

/* ---- dump ----------------------------------------------------------------------- */

/* Reads what fd can give without blocking into *buf (malloc'd), n bytes;
 * 1 if the read ended in EIO (the other side is closed).  Flags of the
 * description are put back. */
static int drain(int fd, uint8_t **buf, size_t *n)
{
	int fl = fcntl(fd, F_GETFL), r = 0;
	uint8_t *b = malloc(MAX_TTY_DATA);

	*buf = b;
	*n = 0;
	if (!b || fl < 0)
		return -ENOMEM;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	while (*n < MAX_TTY_DATA) {
		ssize_t k = read(fd, b + *n, MAX_TTY_DATA - *n);

		if (k > 0) {
			*n += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EIO)
			r = 1;
		else if (k < 0 && errno != EAGAIN)
			r = -errno;
		break;
	}
	fcntl(fd, F_SETFL, fl);
	return r;
}

/* Hands data to fd's line discipline, as if it arrived from the other
 * side, with no echo and no input processing (it was processed once). */
static int inject(int fd, int tios_fd, const uint8_t *d, size_t n)
{
	struct termios2 t0, t;
	int r = 0;

	if (!n)
		return 0;
	if (tios_fd >= 0) {
		if (ioctl(tios_fd, TCGETS2, &t0) < 0)
			return -errno;
		t = t0;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE | ISIG |
					 IEXTEN);
		t.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IUCLC | ISTRIP | IXON | IXOFF |
					 PARMRK | BRKINT | IMAXBEL);
		if (ioctl(tios_fd, TCSETS2, &t) < 0)
			return -errno;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		if (ioctl(fd, TIOCSTI, &d[i]) < 0)
			r = -errno;
	if (tios_fd >= 0 && ioctl(tios_fd, TCSETS2, &t0) < 0 && r == 0)
		r = -errno;
	return r;
}

/* The slave's input queue, read without losing line boundaries: in
 * non-canonical mode every byte is readable; then the termios is put back
 * with an empty queue (which leaves no half line state behind). */
static int read_input(int s, uint8_t **buf, size_t *n)
{
	struct termios2 t0, t;
	int r;

	if (ioctl(s, TCGETS2, &t0) < 0)
		return -errno;
	t = t0;
	t.c_lflag &= ~(tcflag_t)ICANON;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (ioctl(s, TCSETS2, &t) < 0)
		return -errno;
	r = drain(s, buf, n);
	if (ioctl(s, TCSETS2, &t0) < 0 && r >= 0)
		r = -errno;
	return r < 0 ? r : 0;
}

static int fill_pty(struct crcore_dump *d, pid_t pid, Crimg__Fd **fds, size_t n, Crimg__Fd *f,
		    Crimg__TtyState *ts, void *(*keep)(void *), char *why, size_t len)
{
	struct termios2 t;
	struct winsize ws;
	int m, s = -1, pkt = 0, lck = 0, r;
	uint8_t *in = NULL, *out = NULL;
	size_t nin = 0, nout = 0;

	(void)d;
	m = take_fd(pid, f->fd);
	if (m < 0)
		return fmt(why, len, m, "fd %d: cannot copy the pty master: %s", f->fd, strerror(-m));
	{
		/* a slave of its own, else one another process of the tree holds */
		int sfd;
		pid_t q = find_in_tree(pid, ts->index, false, &sfd);

		if (q)
			s = take_fd(q, sfd);
	}
	(void)fds;
	(void)n;
	if (ioctl(m, TCGETS2, &t) < 0 || ioctl(m, TIOCGWINSZ, &ws) < 0 || ioctl(m, TIOCGPKT, &pkt) < 0 ||
	    ioctl(m, TIOCGPTLCK, &lck) < 0) {
		r = fmt(why, len, -errno, "fd %d: read the pty's settings: %s", f->fd, strerror(errno));
		goto out;
	}
	ts->has_iflag = ts->has_oflag = ts->has_cflag = ts->has_lflag = ts->has_line = 1;
	ts->iflag = t.c_iflag;
	ts->oflag = t.c_oflag;
	ts->cflag = t.c_cflag;
	ts->lflag = t.c_lflag;
	ts->line = t.c_line;
	ts->has_cc = 1;
	ts->cc.len = NCCS;
	ts->cc.data = keep(malloc(NCCS));
	if (!ts->cc.data) {
		r = fmt(why, len, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(ts->cc.data, t.c_cc, NCCS);
	ts->has_ispeed = ts->has_ospeed = 1;
	ts->ispeed = t.c_ispeed;
	ts->ospeed = t.c_ospeed;
	ts->has_rows = ts->has_cols = ts->has_xpixel = ts->has_ypixel = 1;
	ts->rows = ws.ws_row;
	ts->cols = ws.ws_col;
	ts->xpixel = ws.ws_xpixel;
	ts->ypixel = ws.ws_ypixel;
	{
		int pg = 0;

		if (ioctl(m, TIOCGPGRP, &pg) == 0 && pg > 0) {
			ts->has_fg_pgid = 1;
			ts->fg_pgid = (uint32_t)pg;
		}
	}
	ts->has_packet = ts->has_locked = 1;
	ts->packet = pkt != 0;
	ts->locked = lck != 0;
	/* what the slave side wrote: the master's read queue (packet mode off
	 * meanwhile, or each read would start with a status byte) */
	if (pkt) {
		int z = 0;

		ioctl(m, TIOCPKT, &z);
	}
	r = drain(m, &out, &nout);
	if (r == 1) {
		ts->has_slave_closed = 1;
		ts->slave_closed = 1;
		r = 0;
	}
	if (r == 0 && s >= 0)
		r = read_input(s, &in, &nin);
	/* put it all back at once: the dump may still fail, or leave it running */
	if (r == 0)
		r = inject(m, -1, out, nout);
	if (r == 0 && s >= 0)
		r = inject(s, s, in, nin);
	if (pkt) {
		int one = 1;

		ioctl(m, TIOCPKT, &one);
	}
	if (r < 0) {
		r = fmt(why, len, r, "fd %d: read the data buffered in the pty: %s", f->fd,
			strerror(-r));
		goto out;
	}
	if (nout) {
		ts->has_out_data = 1;
		ts->out_data.len = nout;
		ts->out_data.data = keep(out);
		out = NULL;
	}
	if (nin) {
		ts->has_in_data = 1;
		ts->in_data.len = nin;
		ts->in_data.data = keep(in);
		in = NULL;
	}
	r = 0;
out:
	free(in);
	free(out);
	close(m);
	if (s >= 0)
		close(s);
	return r;
}

int tty_dump_fill(struct crcore_dump *d, pid_t pid, Crimg__Fd **fds, size_t n, size_t i,
		  void *(*keep)(void *), char *why, size_t len)
{
	/* first pass over every fd (once, from i == 0): type and index; then
	 * the state on the first master of each pty */
	if (i == 0) {
		struct proc_stat ps;
		dev_t ctty = 0;
		bool marked = false;

		/* a session leader's controlling terminal (stat: session, tty_nr) */
		if (proc_stat_read(pid, 0, &ps) == 0 && (pid_t)ps.f[6] == pid && ps.f[7])
			ctty = makedev((ps.f[7] >> 8) & 0xfff, (ps.f[7] & 0xff) | ((ps.f[7] >> 12) & 0xfff00));
		for (size_t j = 0; j < n; j++) {
			Crimg__Fd *f = fds[j];
			Crimg__TtyState *ts;

			if (!S_ISCHR(f->mode) || !f->has_rdev || !tty_is_tty(f->rdev))
				continue;
			ts = keep(calloc(1, sizeof(*ts)));
			if (!ts)
				return fmt(why, len, -ENOMEM, "out of memory");
			crimg__tty_state__init(ts);
			if (tty_is_master(f->rdev)) {
				int k = master_index(pid, f->fd);

				if (k < 0)
					return fmt(why, len, k, "fd %d: the pty master's number: %s",
						   f->fd, strerror(-k));
				ts->type = TTY_MASTER;
				ts->has_index = 1;
				ts->index = (uint32_t)k;
			} else if (is_slave(f->rdev) && holds_master(pid, slave_index(f->rdev))) {
				ts->type = TTY_SLAVE;
				ts->has_index = 1;
				ts->index = slave_index(f->rdev);
				if (ctty && f->rdev == ctty && !marked) {
					ts->has_ctty = 1;
					ts->ctty = 1;
					marked = true;
				}
			} else {
				ts->type = TTY_CALLER;
			}
			f->kind = CRIMG__FD_KIND__FD_TTY;
			f->tty = ts;
		}
	}
	{
		Crimg__Fd *f = fds[i];
		bool first = true;

		if (!f->tty || f->tty->type != TTY_MASTER)
			return 0;
		/* a description another process of the tree has first: its state is there */
		if (f->has_id && f->id != (uint64_t)f->fd &&
		    f->id != ((uint64_t)pid << 32 | (uint32_t)f->fd))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (fds[j]->tty && fds[j]->tty->type == TTY_MASTER &&
			    fds[j]->tty->index == f->tty->index)
				first = false;
		if (!first)
			return 0;
		f->tty->has_first = 1;
		f->tty->first = 1;
		return fill_pty(d, pid, fds, n, f, f->tty, keep, why, len);
	}
}

/* ---- restore -------------------------------------------------------------------- */

struct tty_pair {
	uint32_t index;
	int master, slave;
	bool locked;     /* copied: the FILES records may be gone when we close */
	pid_t fg_pgid;
};

struct tty_rst {
	bool shell_job;
	struct tty_pair *p;
	size_t np;
};

int tty_rst_shell_job(struct tty_rst **tp, bool on)
{
	if (!*tp && !(*tp = calloc(1, sizeof(**tp))))
		return -ENOMEM;
	(*tp)->shell_job = on;
	return 0;
}

/* A new master, with pty number index if it is free (ptmx hands out the
 * lowest free number: open until we get it or pass it). */
static int open_master(uint32_t index)
{
	int got[64], ng = 0, m = -1;

	for (int k = 0; k < MAX_INDEX_TRIES; k++) {
		int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), n;

		if (fd < 0)
			break;
		if (ioctl(fd, TIOCGPTN, &n) < 0 || n >= (int)index) {
			m = fd;
			break;
		}
		if (ng == (int)(sizeof(got) / sizeof(got[0]))) {
			/* too many in between: keep looking, closing the oldest */
			close(got[0]);
			memmove(got, got + 1, sizeof(got[0]) * (size_t)--ng);
		}
		got[ng++] = fd;
	}
	for (int k = 0; k < ng; k++)
		close(got[k]);
	return m < 0 ? open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC) : m;
}

static const Crimg__TtyState *find_state(const Crimg__Files *const *all, size_t nall,
					 uint32_t index)
{
	for (size_t k = 0; k < nall; k++)
		for (size_t i = 0; all[k] && i < all[k]->n_fds; i++) {
			const Crimg__TtyState *t = all[k]->fds[i]->tty;

			if (t && t->type == TTY_MASTER && t->has_first && t->first &&
			    t->index == index)
				return t;
		}
	return NULL;
}

static int make_pair(struct tty_rst *tr, const Crimg__Files *const *all, size_t nall,
		     const Crimg__Fd *f, struct tty_pair **ret, char *err, size_t len)
{
	const Crimg__TtyState *st = find_state(all, nall, f->tty->index);
	struct tty_pair p = { .index = f->tty->index, .master = -1, .slave = -1 }, *np;
	struct termios2 t;
	int unlock = 0, r;

	if (!st)
		return fmt(err, len, -EPROTO, "fd %d: pty %u has no master in the image (the pty's "
			   "state is on its master)", f->fd, f->tty->index);
	p.locked = st->locked;
	p.fg_pgid = st->has_fg_pgid ? (pid_t)st->fg_pgid : 0;
	p.master = open_master(st->index);
	if (p.master < 0)
		return fmt(err, len, -errno, "fd %d: open /dev/ptmx: %s", f->fd, strerror(errno));
	if (ioctl(p.master, TIOCSPTLCK, &unlock) < 0 ||
	    (p.slave = ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		r = fmt(err, len, -errno, "fd %d: open the new pty's slave: %s", f->fd,
			strerror(errno));
		goto fail;
	}
	memset(&t, 0, sizeof(t));
	if (ioctl(p.slave, TCGETS2, &t) < 0)
		goto sys;
	t.c_iflag = st->iflag;
	t.c_oflag = st->oflag;
	t.c_cflag = st->cflag;
	t.c_lflag = st->lflag;
	t.c_line = (cc_t)st->line;
	if (st->has_cc)
		memcpy(t.c_cc, st->cc.data, st->cc.len < NCCS ? st->cc.len : NCCS);
	t.c_ispeed = st->ispeed;
	t.c_ospeed = st->ospeed;
	if (ioctl(p.slave, TCSETS2, &t) < 0)
		goto sys;
	{
		struct winsize ws = { .ws_row = (unsigned short)st->rows,
				      .ws_col = (unsigned short)st->cols,
				      .ws_xpixel = (unsigned short)st->xpixel,
				      .ws_ypixel = (unsigned short)st->ypixel };

		if (ioctl(p.master, TIOCSWINSZ, &ws) < 0)
			goto sys;
	}
	/* the data, through the line disciplines, with the final termios
	 * (canonical lines come back as lines) but no echo */
	if (st->has_in_data && (r = inject(p.slave, p.slave, st->in_data.data, st->in_data.len)) < 0) {
		r = fmt(err, len, r, "fd %d: put the pty's input back (TIOCSTI needs "
			"CAP_SYS_ADMIN): %s", f->fd, strerror(-r));
		goto fail;
	}
	if (st->has_out_data &&
	    (r = inject(p.master, -1, st->out_data.data, st->out_data.len)) < 0) {
		r = fmt(err, len, r, "fd %d: put the pty's output back (TIOCSTI needs "
			"CAP_SYS_ADMIN): %s", f->fd, strerror(-r));
		goto fail;
	}
	if (st->packet) {
		int one = 1;

		if (ioctl(p.master, TIOCPKT, &one) < 0)
			goto sys;
	}
	np = realloc(tr->p, (tr->np + 1) * sizeof(*np));
	if (!np) {
		r = fmt(err, len, -ENOMEM, "out of memory");
		goto fail;
	}
	tr->p = np;
	np[tr->np] = p;
	*ret = &np[tr->np++];
	return 0;
sys:
	r = fmt(err, len, -errno, "fd %d: set up the new pty: %s", f->fd, strerror(errno));
fail:
	close(p.master);
	if (p.slave >= 0)
		close(p.slave);
	return r;
}

/* cr-assemble's terminal: the first of its fds 0-2 that is one, else
 * /dev/tty. */
static int caller_tty(const Crimg__Fd *f, char *err, size_t len)
{
	int fd;

	for (int k = 0; k <= 2; k++)
		if (isatty(k))
			return fcntl(k, F_DUPFD_CLOEXEC, 3);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fmt(err, len, -ENOTTY, "fd %d was the caller's terminal: cr-assemble has no "
			   "terminal to give it (%s)", f->fd, strerror(errno));
	return fd;
}

int tty_rst_open(struct tty_rst **tp, const Crimg__Files *files, const Crimg__Files *const *all,
		 size_t nall, const Crimg__Fd *f, int *src, char *err, size_t len)
{
	struct tty_rst *tr;
	struct tty_pair *p = NULL;

	if (!*tp && !(*tp = calloc(1, sizeof(**tp))))
		return fmt(err, len, -ENOMEM, "out of memory");
	tr = *tp;
	if (!f->tty)
		return fmt(err, len, -EPROTO, "fd %d: a terminal without its TtyState", f->fd);
	if (f->tty->type == TTY_CALLER) {
		if (!tr->shell_job)
			return fmt(err, len, -EOPNOTSUPP, "fd %d was the caller's terminal (%s) of a "
				   "shell job: restore with --shell-job to give it this one",
				   f->fd, f->path ? f->path : "?");
		if (f->fd <= 2) {
			*src = -1; /* restore.c gives it ours, as a shell gives a job */
			return 0;
		}
		*src = caller_tty(f, err, len);
		return *src < 0 ? *src : 0;
	}
	if (f->tty->type != TTY_MASTER && f->tty->type != TTY_SLAVE)
		return fmt(err, len, -EPROTO, "fd %d: unknown terminal type %u", f->fd, f->tty->type);
	for (size_t k = 0; k < tr->np; k++)
		if (tr->p[k].index == f->tty->index)
			p = &tr->p[k];
	if (!p) {
		int r = all ? make_pair(tr, all, nall, f, &p, err, len) :
			      make_pair(tr, &files, 1, f, &p, err, len);

		if (r < 0)
			return r;
	}
	if (f->tty->type == TTY_MASTER)
		*src = fcntl(p->master, F_DUPFD_CLOEXEC, 3);
	else /* a description of its own: a new open of the slave */
		*src = ioctl(p->master, TIOCGPTPEER, (int)(f->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (*src < 0)
		return fmt(err, len, -errno, "fd %d: open the new pty's %s: %s", f->fd,
			   f->tty->type == TTY_MASTER ? "master" : "slave", strerror(errno));
	return 0;
}

void tty_rst_opened(struct tty_rst *tr)
{
	if (!tr)
		return;
	for (size_t k = 0; k < tr->np; k++) {
		struct tty_pair *p = &tr->p[k];

		if (p->locked && p->master >= 0) {
			int one = 1;

			ioctl(p->master, TIOCSPTLCK, &one);
		}
		if (p->slave >= 0)
			close(p->slave);
		if (p->master >= 0)
			close(p->master);
		p->slave = p->master = -1;
	}
}

int tty_rst_child(struct tty_rst *tr, const Crimg__Files *files, char *err, size_t len)
{
	for (size_t i = 0; files && i < files->n_fds; i++) {
		const Crimg__Fd *f = files->fds[i];

		if (!f->tty || !f->tty->ctty)
			continue;
		/* setsid came first (restore.c, tree-restore.c): no terminal yet */
		if (ioctl(f->fd, TIOCSCTTY, 0) < 0)
			return fmt(err, len, -errno, "fd %d: make the pty the controlling terminal "
				   "again: %s", f->fd, strerror(errno));
		/* the foreground group, if it is another one that exists already
		 * (TIOCSCTTY made ours the foreground) */
		for (size_t k = 0; tr && k < tr->np; k++) {
			pid_t fg = tr->p[k].fg_pgid;

			if (tr->p[k].index == f->tty->index && fg > 0 && fg != getpgrp())
				ioctl(f->fd, TIOCSPGRP, &fg);
		}
		break;
	}
	return 0;
}

void tty_rst_free(struct tty_rst *tr)
{
	if (!tr)
		return;
	tty_rst_opened(tr);
	free(tr->p);
	free(tr);
}
