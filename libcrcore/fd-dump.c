/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd-dump.c - the state of the fd kinds beyond regular files: eventfd,
 * timerfd, signalfd, pipes and FIFOs, epoll, unix, UDP and listening TCP
 * sockets.  What /proc/PID/fdinfo shows is read from there; what only
 * the object can tell (pipe contents, socket queues, socket options) is
 * read from our own copy of the fd (pidfd_getfd), without consuming
 * anything: pipes are tee()d, sockets peeked with SO_PEEK_OFF.
 * Design and reasons: docs/fds.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dump.h"
#include "fd.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif
#define MAX_QUEUE (64u << 20)          /* bytes of socket queue we keep in one message */
#define TCP_LISTEN_ 10
#define TCP_ESTABLISHED_ 1

/* ---- helpers --------------------------------------------------------------------- */

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

/* The value after "key" in fdinfo text, or NULL. */
static const char *field(const char *info, const char *key)
{
	const char *p = info;
	size_t l = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, l))
			return p + l;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static const char *anon_name(const char *link)
{
	return !strncmp(link, "anon_inode:", 11) ? link + 11 : NULL;
}

/* The root of the tree being dumped (docs/trees.md): pipes and sockets
 * that other processes of the tree hold are dumped once and shared again
 * by the restore; only holders outside the tree are refused.  Set by the
 * freeze's check (fd_dump_set_root) and by fd_dump_fill. */
static pid_t dump_root;

static void idx_reset(void);

void fd_dump_set_root(pid_t root)
{
	dump_root = root;
	idx_reset(); /* a new check: look at /proc again */
}

/* Is q the root of the tree being dumped or one of its descendants? */
static bool in_dump_tree(pid_t q);

bool fd_dump_in_tree(pid_t q)
{
	return in_dump_tree(q);
}

static bool in_dump_tree(pid_t q)
{
	for (int depth = 0; dump_root > 0 && q > 0 && depth < 4096; depth++) {
		struct proc_stat st;

		if (q == dump_root)
			return true;
		if (q == 1 || proc_stat_read(q, 0, &st) < 0)
			return false;
		q = (pid_t)st.f[4];
	}
	return false;
}

/* ---- who holds what: one pass over every /proc/PID/fd ---------------------------- */
/* The holders of pipes, FIFOs and sockets are looked up for every such fd;
 * scanning every process's fds for each would be quadratic (a server with
 * thousands of connections).  One scan, sorted by link, kept until the
 * next check or fill starts (fd_dump_set_root, fd_dump_fill): a snapshot,
 * as one scan per lookup was. */
struct fd_link {
	char *link;
	pid_t pid;
	int fd;
};

static struct {
	struct fd_link *v;
	size_t n;
	bool built;
} idx;

static void idx_reset(void)
{
	for (size_t i = 0; i < idx.n; i++)
		free(idx.v[i].link);
	free(idx.v);
	idx.v = NULL;
	idx.n = 0;
	idx.built = false;
}

static int link_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fd_link *)a)->link, ((const struct fd_link *)b)->link);
}

static void idx_build(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	size_t cap = 0;

	idx_reset();
	idx.built = true;
	if (!proc)
		return;
	while ((p = readdir(proc))) {
		char path[64], l[512];
		struct dirent *f;
		pid_t q = atoi(p->d_name);
		DIR *fds;

		if (q <= 0 || q == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)q);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			char fp[384];
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "%s/%s", path, f->d_name);
			n = readlink(fp, l, sizeof(l) - 1);
			if (n <= 0)
				continue;
			l[n] = 0;
			/* pipes, sockets and FIFOs (by path): what we ask about */
			if (l[0] != '/' && strncmp(l, "pipe:[", 6) && strncmp(l, "socket:[", 8))
				continue;
			if (idx.n == cap) {
				struct fd_link *nv = realloc(idx.v, (cap = cap ? cap * 2 : 1024) * sizeof(*nv));

				if (!nv)
					break;
				idx.v = nv;
			}
			idx.v[idx.n].link = strdup(l);
			if (!idx.v[idx.n].link)
				break;
			idx.v[idx.n].pid = q;
			idx.v[idx.n].fd = atoi(f->d_name);
			idx.n++;
		}
		closedir(fds);
	}
	closedir(proc);
	qsort(idx.v, idx.n, sizeof(*idx.v), link_cmp);
}

/* The entries for link: [*first, return). */
static size_t idx_find(const char *link, size_t *first)
{
	size_t lo = 0, hi;

	if (!idx.built)
		idx_build();
	hi = idx.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(idx.v[mid].link, link) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	for (hi = lo; hi < idx.n && !strcmp(idx.v[hi].link, link); hi++)
		;
	return hi;
}

/* Another process than pid (and us) that holds the object whose /proc
 * link is link (a "pipe:[N]", "socket:[N]" or a FIFO's path), inside the
 * tree (tree) or outside it (!tree).  Its pid, or 0. */
static pid_t holder(pid_t pid, const char *link, bool tree)
{
	size_t i, end = idx_find(link, &i);

	for (; i < end; i++)
		if (idx.v[i].pid != pid && in_dump_tree(idx.v[i].pid) == tree)
			return idx.v[i].pid;
	return 0;
}

/* Does a process outside the tree hold it too?  Its pid, or 0. */
static pid_t held_elsewhere(pid_t pid, const char *link)
{
	return holder(pid, link, false);
}

/* Is the object with this /proc link held by one of pid's fds? */
static bool held_by(pid_t pid, const char *link)
{
	size_t i, end = idx_find(link, &i);

	for (; i < end; i++)
		if (idx.v[i].pid == pid)
			return true;
	return false;
}

/* Does another process of the tree hold the pipe whose /proc link is
 * link through an O_DIRECT (packet mode) description? */
static bool packet_in_tree(pid_t pid, const char *link)
{
	size_t i, end = idx_find(link, &i);
	bool found = false;

	for (; i < end && !found; i++) {
		const struct fd_link *x = &idx.v[i];
		char *info;
		const char *v;

		if (x->pid == pid || !in_dump_tree(x->pid))
			continue;
		info = proc_read("/proc/%d/fdinfo/%d", (int)x->pid, x->fd);
		v = info ? field(info, "flags:") : NULL;
		found = v && (strtoul(v, NULL, 8) & O_DIRECT);
		free(info);
	}
	return found;
}

/* Is it held by pid or by another process of the tree? */
static bool held_in_tree(pid_t pid, const char *link)
{
	return held_by(pid, link) || holder(pid, link, true);
}

/* ---- unix sockets: sock_diag ------------------------------------------------------- */

struct unix_info {
	uint32_t type, state, peer, rqueue, wqueue, shutdown;
	uint8_t name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t name_len;
	uint32_t icons[64];           /* a listener's pending connections, in order: their clients */
	size_t nicons;
};

static int unix_diag(uint64_t ino, struct unix_info *ui)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)ino,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN |
				     UDIAG_SHOW_ICONS,
		       .udiag_cookie = { ~0u, ~0u } },
	};
	union {
		struct nlmsghdr h;
		char b[8192];
	} buf;
	struct nlmsghdr *h;
	ssize_t n;
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), r = -ENOENT;

	if (s < 0)
		return -errno;
	memset(ui, 0, sizeof(*ui));
	if (send(s, &req, sizeof(req), 0) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(s, &buf, sizeof(buf), 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (h = &buf.h; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		struct unix_diag_msg *m = NLMSG_DATA(h);
		struct nlattr *a;
		int left;

		if (h->nlmsg_type == NLMSG_ERROR) {
			r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			break;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		ui->type = m->udiag_type;
		ui->state = m->udiag_state;
		left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (a = (struct nlattr *)(m + 1); left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
		     a->nla_len <= left; ) {
			void *v = (char *)a + NLA_HDRLEN;
			size_t vl = a->nla_len - NLA_HDRLEN;

			switch (a->nla_type) {
			case UNIX_DIAG_NAME:
				ui->name_len = vl < sizeof(ui->name) ? vl : sizeof(ui->name);
				memcpy(ui->name, v, ui->name_len);
				break;
			case UNIX_DIAG_PEER:
				memcpy(&ui->peer, v, 4);
				break;
			case UNIX_DIAG_RQLEN: {
				struct unix_diag_rqlen q;

				memcpy(&q, v, sizeof(q));
				ui->rqueue = q.udiag_rqueue;
				ui->wqueue = q.udiag_wqueue;
				break;
			}
			case UNIX_DIAG_SHUTDOWN:
				ui->shutdown = *(uint8_t *)v;
				break;
			case UNIX_DIAG_ICONS:
				ui->nicons = vl / 4;
				if (ui->nicons > 64)
					ui->nicons = 65; /* too many: refused */
				else
					memcpy(ui->icons, v, ui->nicons * 4);
				break;
			}
			left -= NLA_ALIGN(a->nla_len);
			a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
		}
		r = 0;
		break;
	}
out:
	close(s);
	return r;
}

/* The backlog of a listening TCP socket (inet_diag: idiag_wqueue is
 * sk_max_ack_backlog for a listener), or 0 if not found. */
static uint32_t tcp_backlog(int family, uint64_t ino)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1u << TCP_LISTEN_ },
	};
	union {
		struct nlmsghdr h;
		char b[16384];
	} buf;
	uint32_t found = 0;
	bool done = false;
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (s < 0)
		return 0;
	if (send(s, &req, sizeof(req), 0) < 0)
		done = true;
	while (!done) {
		ssize_t n = recv(s, &buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n <= 0)
			break;
		for (h = &buf.h; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (m->idiag_inode == ino && !found)
				found = m->idiag_wqueue;
		}
	}
	close(s);
	return found;
}

/* Is ino the client of a pending connection (in the accept queue) of a
 * unix listener that pid holds?  The listener's inode, or 0.  (The server
 * end of such a connection has no inode yet: sock_diag lists the clients.) */
static uint64_t pending_of(pid_t pid, uint32_t ino)
{
	char path[64], l[256];
	struct dirent *f;
	uint64_t found = 0;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	if (!fds)
		return 0;
	while (!found && (f = readdir(fds))) {
		char fp[384];
		ssize_t n;
		unsigned long long si;
		struct unix_info li;

		if (f->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%s/%s", path, f->d_name);
		n = readlink(fp, l, sizeof(l) - 1);
		if (n <= 0)
			continue;
		l[n] = 0;
		if (sscanf(l, "socket:[%llu]", &si) != 1 || unix_diag(si, &li) < 0 ||
		    li.state != TCP_LISTEN_)
			continue;
		for (size_t k = 0; k < li.nicons && k < 64; k++)
			if (li.icons[k] == ino)
				found = si;
	}
	closedir(fds);
	return found;
}

/* As pending_of, for a listener that pid or any process of the tree holds. */
static uint64_t pending_in_tree(pid_t pid, uint32_t ino)
{
	uint64_t found = pending_of(pid, ino);
	DIR *proc;
	struct dirent *p;

	if (found || !(proc = opendir("/proc")))
		return found;
	while (!found && (p = readdir(proc))) {
		pid_t q = atoi(p->d_name);

		if (q > 0 && q != pid && q != getpid() && in_dump_tree(q))
			found = pending_of(q, ino);
	}
	closedir(proc);
	return found;
}

/* ---- the check -------------------------------------------------------------------- */

static int check_socket(pid_t pid, int fd, const struct stat *st, const char *link, char *why,
			size_t len)
{
	int s = take_fd(pid, fd), dom = 0, type = 0, proto = 0, acc = 0;
	socklen_t sl = sizeof(int);

	if (s < 0)
		return fmt_err(why, len, s, "process %d: fd %d is a socket (%s): cannot take it: %s",
			       (int)pid, fd, link, strerror(-s));
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &dom, &sl);
	sl = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &sl);
	sl = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &sl);
	sl = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl);
	close(s);
	if (dom == AF_UNIX) {
		struct unix_info ui;
		char peer[64];
		int e = unix_diag(st->st_ino, &ui);

		if (e < 0)
			return fmt_err(why, len, e, "process %d: fd %d is a socket (unix, %s): "
				       "sock_diag: %s", (int)pid, fd, link, strerror(-e));
		if (ui.state == TCP_LISTEN_ && ui.nicons > 64)
			return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket (unix, "
				       "listening) with more than 64 pending connections: not supported "
				       "yet", (int)pid, fd);
		/* pending connections: restored when their clients are ours
		 * and sent nothing yet (the queue of a connection not accepted
		 * cannot be read without accepting it) */
		for (size_t k = 0; ui.state == TCP_LISTEN_ && k < ui.nicons; k++) {
			struct unix_info ci;
			char cl[64];

			snprintf(cl, sizeof(cl), "socket:[%u]", ui.icons[k]);
			if (!ui.icons[k] || !held_in_tree(pid, cl))
				return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a listening "
					       "unix socket with a pending connection from outside the "
					       "tree: not supported yet", (int)pid, fd);
			/* what a client sent is charged to it until read */
			if (unix_diag(ui.icons[k], &ci) < 0 || ci.wqueue)
				return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a listening "
					       "unix socket with a pending connection holding data not "
					       "accepted yet: not supported yet", (int)pid, fd);
		}
		if (!ui.peer && ui.state == TCP_ESTABLISHED_ && pending_in_tree(pid, (uint32_t)st->st_ino))
			return 1; /* connected, not accepted yet: with its listener */
		/* a peer that closed leaves the shutdown bits set; none: a
		 * connection that a listener elsewhere has not accepted yet */
		if (!ui.peer && ui.state == TCP_ESTABLISHED_ && type != SOCK_DGRAM && !ui.shutdown)
			return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket (unix, %s) "
				       "connected to a listener outside the tree, not accepted yet: "
				       "not supported yet", (int)pid, fd, link);
		if (ui.peer) {
			snprintf(peer, sizeof(peer), "socket:[%u]", ui.peer);
			if (!held_in_tree(pid, peer) && fd <= 2)
				return 1; /* a std fd: the restore inherits its own */
			if (!held_in_tree(pid, peer))
				return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket "
					       "(unix, %s) whose peer %s is outside the tree: not "
					       "supported yet", (int)pid, fd, link, peer);
			{
				/* restored: an accepted connection (one side bears the
				 * listener's name), a datagram socket connected to a
				 * bound one; not: a connection bound on both ends, a
				 * datagram socket connected to an unbound one */
				struct unix_info pi;
				bool pn = unix_diag(ui.peer, &pi) == 0 && pi.name_len;

				if (type != SOCK_DGRAM && ui.name_len && pn)
					return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a "
						       "socket (unix, %s) connected with addresses on "
						       "both ends: not supported yet", (int)pid, fd, link);
				if (type == SOCK_DGRAM && ui.name_len && !pn)
					return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a "
						       "socket (unix datagram, %s, bound) connected to an "
						       "unbound one: not supported yet", (int)pid, fd, link);
			}
		}
		return 1;
	}
	if (dom == AF_INET || dom == AF_INET6) {
		if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
			return 1;
		if (type == SOCK_STREAM && proto == IPPROTO_TCP && acc)
			return 1;
		if (type == SOCK_STREAM && proto == IPPROTO_TCP)
			return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket (TCP, "
				       "not listening, %s): established TCP is not supported yet",
				       (int)pid, fd, link);
		return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket (%s, type %d, "
			       "protocol %d, %s): not supported yet", (int)pid, fd,
			       dom == AF_INET ? "inet" : "inet6", type, proto, link);
	}
	return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a socket (family %d, %s): not "
		       "supported yet", (int)pid, fd, dom, link);
}

static int check_epoll(pid_t pid, int fd, char *why, size_t len)
{
	char *info = proc_read("/proc/%d/fdinfo/%d", (int)pid, fd), *p;
	int r = 1;

	if (!info)
		return fmt_err(why, len, -errno, "process %d: fd %d: cannot read its fdinfo: %s",
			       (int)pid, fd, strerror(errno));
	for (p = info; r > 0 && (p = strstr(p, "tfd:")); p++) {
		struct kcmp_epoll_slot slot = { .efd = (uint32_t)fd };
		unsigned long long ino = 0;
		char *q = strstr(p, "ino:");
		char fp[64];
		struct stat st;

		slot.tfd = (uint32_t)strtoul(p + 4, NULL, 10);
		slot.toff = 0;
		if (q)
			ino = strtoull(q + 4, NULL, 16);
		snprintf(fp, sizeof(fp), "/proc/%d/fd/%u", (int)pid, slot.tfd);
		/* the watched file must still be the one at that fd number:
		 * epoll watches (file, number) and keeps a watch whose fd was
		 * closed while the file lives on through a dup */
		if (stat(fp, &st) < 0 || st.st_ino != ino ||
		    syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, slot.tfd, &slot) != 0)
			r = fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is an epoll fd watching "
				    "fd %u, which is closed or another file now: not supported yet",
				    (int)pid, fd, slot.tfd);
	}
	free(info);
	return r;
}

#define MAX_MEMFD (16u << 20)

/* A memfd: its contents travel in FILES (capped), also when the process
 * maps it (dump-mm.c names the fd in the Vma, docs/fds.md); hugetlb
 * memfds are refused. */
static int check_memfd(pid_t pid, int fd, const struct stat *st, const char *link, char *why,
		       size_t len)
{
	struct statfs sf;
	char fp[64];

	snprintf(fp, sizeof(fp), "/proc/%d/fd/%d", (int)pid, fd);
	if (statfs(fp, &sf) == 0 && sf.f_type == HUGETLBFS_MAGIC)
		return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a hugetlb memfd (%s): "
			       "not supported yet", (int)pid, fd, link);
	if ((uint64_t)st->st_size > MAX_MEMFD)
		return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a memfd (%s) of %llu bytes, "
			       "more than %u: not supported yet", (int)pid, fd, link,
			       (unsigned long long)st->st_size, MAX_MEMFD);
	return 1;
}

int fd_dump_check(pid_t pid, int fd, const struct stat *st, const char *link, char *why, size_t len)
{
	const char *a = anon_name(link);

	if (S_ISCHR(st->st_mode))
		return tty_dump_check(pid, fd, st, link, why, len); /* 0: not a terminal */
	if (a) {
		if (!strcmp(a, "[eventfd]") || !strcmp(a, "[timerfd]") || !strcmp(a, "[signalfd]") ||
		    !strcmp(a, "inotify"))
			return 1;
		if (!strcmp(a, "[eventpoll]"))
			return check_epoll(pid, fd, why, len);
		return 0;
	}
	if (!strncmp(link, "/memfd:", 7))
		return check_memfd(pid, fd, st, link, why, len);
	if (S_ISFIFO(st->st_mode)) {
		pid_t other;

		if (link[0] == '/') {
			/* a FIFO: reopened by its name, which must still be it */
			struct stat ps;
			char full[4200];

			snprintf(full, sizeof(full), "/proc/%d/root%s", (int)pid, link);
			if (stat(full, &ps) < 0 || ps.st_ino != st->st_ino || ps.st_dev != st->st_dev)
				return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a FIFO (%s) "
					       "whose name is gone or another file now: not supported "
					       "yet", (int)pid, fd, link);
			return 1;
		}
		other = held_elsewhere(pid, link);
		if (other && fd <= 2)
			return 1; /* a std fd: the restore inherits its own */
		if (other)
			return fmt_err(why, len, -EOPNOTSUPP, "process %d: fd %d is a pipe (%s) that "
				       "process %d holds too: not supported yet", (int)pid, fd, link,
				       (int)other);
		return 1;
	}
	if (S_ISSOCK(st->st_mode))
		return check_socket(pid, fd, st, link, why, len);
	return 0;
}

/* ---- filling the records ---------------------------------------------------------- */

struct fd_dump {
	void **allocs;
	size_t nallocs;
};

static struct fd_dump *cur; /* the dump being filled (one at a time per process) */

static void *keep(void *p)
{
	void **n;

	if (!p)
		return NULL;
	n = realloc(cur->allocs, (cur->nallocs + 1) * sizeof(*n));
	if (!n) {
		free(p);
		return NULL;
	}
	cur->allocs = n;
	cur->allocs[cur->nallocs++] = p;
	return p;
}

static void *zalloc(size_t n)
{
	return keep(calloc(1, n ? n : 1));
}

static int fill_inotify(struct crcore_dump *d, Crimg__Fd *f, const char *info);

static uint64_t parse_pair_ns(const char *s)
{
	unsigned long long sec = 0, ns = 0;

	if (s)
		sscanf(s, " (%llu, %llu)", &sec, &ns);
	return (uint64_t)sec * 1000000000ull + ns;
}

/* seen: its fdinfo as write_files read it; a timerfd's is read again
 * after timerfd_gettime has counted its missed periods */
static int fill_fdinfo_kind(struct crcore_dump *d, Crimg__Fd *f, const char *a, const char *seen)
{
	char *own = NULL;
	const char *info, *v;
	struct itimerspec its;
	bool have_its = false;
	int r = 0;

	if (!strcmp(a, "[timerfd]")) {
		/* a periodic timer counts the periods it missed only when asked:
		 * timerfd_gettime adds them to the ticks fdinfo shows, and
		 * moves the expiry to the next period (nothing is consumed).
		 * Its answer is the settings to keep: fdinfo, read after it,
		 * shows 0 left if the timer expired again meanwhile. */
		int t = take_fd(d->pid, f->fd);

		if (t >= 0) {
			have_its = timerfd_gettime(t, &its) == 0;
			close(t);
		}
	}
	if (!seen || !strcmp(a, "[timerfd]"))
		info = own = proc_read("/proc/%d/fdinfo/%d", (int)d->pid, f->fd);
	else
		info = seen;
	if (!info)
		return dump_err(d, -errno, "cannot read the fdinfo of fd %d: %s", f->fd, strerror(errno));
	if (!strcmp(a, "[eventfd]")) {
		Crimg__EventfdState *e = zalloc(sizeof(*e));

		if (!e)
			goto nomem;
		crimg__eventfd_state__init(e);
		f->kind = CRIMG__FD_KIND__FD_EVENTFD;
		v = field(info, "eventfd-count:");
		if (!v) {
			r = dump_err(d, -EIO, "fd %d: no eventfd-count in its fdinfo", f->fd);
			goto out;
		}
		e->count = strtoull(v, NULL, 16);
		v = field(info, "eventfd-semaphore:");
		if (v) {
			e->has_semaphore = 1;
			e->semaphore = atoi(v) != 0;
		}
		f->eventfd = e;
	} else if (!strcmp(a, "[timerfd]")) {
		Crimg__TimerfdState *t = zalloc(sizeof(*t));

		if (!t)
			goto nomem;
		crimg__timerfd_state__init(t);
		f->kind = CRIMG__FD_KIND__FD_TIMERFD;
		v = field(info, "clockid:");
		t->clockid = v ? (uint32_t)atoi(v) : 0;
		v = field(info, "ticks:");
		t->ticks = v ? strtoull(v, NULL, 10) : 0;
		v = field(info, "settime flags:");
		t->settime_flags = v ? (uint32_t)strtoul(v, NULL, 8) : 0;
		t->value_ns = parse_pair_ns(field(info, "it_value:"));
		t->interval_ns = parse_pair_ns(field(info, "it_interval:"));
		if (have_its) {
			t->value_ns = (uint64_t)its.it_value.tv_sec * 1000000000ull +
				      (uint64_t)its.it_value.tv_nsec;
			t->interval_ns = (uint64_t)its.it_interval.tv_sec * 1000000000ull +
					 (uint64_t)its.it_interval.tv_nsec;
		}
		if (!field(info, "it_value:")) {
			r = dump_err(d, -EIO, "fd %d: no it_value in its fdinfo", f->fd);
			goto out;
		}
		f->timerfd = t;
	} else if (!strcmp(a, "[signalfd]")) {
		Crimg__SignalfdState *s = zalloc(sizeof(*s));

		if (!s)
			goto nomem;
		crimg__signalfd_state__init(s);
		f->kind = CRIMG__FD_KIND__FD_SIGNALFD;
		v = field(info, "sigmask:");
		if (!v) {
			r = dump_err(d, -EIO, "fd %d: no sigmask in its fdinfo", f->fd);
			goto out;
		}
		s->sigmask = strtoull(v, NULL, 16);
		f->signalfd = s;
	} else if (!strcmp(a, "[eventpoll]")) {
		Crimg__EpollState *e = zalloc(sizeof(*e));
		size_t n = 0;
		const char *p;

		if (!e)
			goto nomem;
		crimg__epoll_state__init(e);
		f->kind = CRIMG__FD_KIND__FD_EPOLL;
		for (p = info; (p = strstr(p, "tfd:")); p++)
			n++;
		e->tfds = zalloc(n * sizeof(*e->tfds));
		if (!e->tfds)
			goto nomem;
		for (p = info; (p = strstr(p, "tfd:")); p++) {
			Crimg__EpollTfd *t = zalloc(sizeof(*t));
			int tfd = 0;
			unsigned int ev = 0;
			unsigned long long data = 0;

			if (!t)
				goto nomem;
			crimg__epoll_tfd__init(t);
			if (sscanf(p, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) != 3) {
				r = dump_err(d, -EIO, "fd %d: cannot parse its epoll fdinfo", f->fd);
				goto out;
			}
			t->tfd = tfd;
			t->events = ev;
			t->data = data;
			e->tfds[e->n_tfds++] = t;
		}
		f->epoll = e;
	} else if (!strcmp(a, "inotify")) {
		r = fill_inotify(d, f, info);
	}
out:
	free(own);
	return r;
nomem:
	free(own);
	return dump_err(d, -ENOMEM, "out of memory");
}

/* The path of the inode an inotify watch names, from its file handle:
 * opened on a mount of its filesystem (sdev), then read back. */
static int watch_path(struct crcore_dump *d, unsigned int sdev, unsigned int type,
		      const uint8_t *h, size_t hl, char *path, size_t len)
{
	char *mi = proc_read("/proc/%d/mountinfo", (int)d->pid), *l, want[32], mp[4096];
	struct {
		struct file_handle fh;
		uint8_t b[128];
	} fh;
	int mfd = -1, fd, r = -ENOENT;
	ssize_t n;

	if (!mi)
		return -errno;
	snprintf(want, sizeof(want), " %u:%u ", sdev >> 20, sdev & 0xfffff);
	/* id parent maj:min root mountpoint: a mount of the whole
	 * filesystem first (root "/"), then any */
	for (int pass = 0; pass < 2 && mfd < 0; pass++)
	for (l = mi; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *p = strstr(l, want), *e = strchr(l, '\n'), root[8];

		if (!p || (e && p > e))
			continue;
		if (sscanf(p + strlen(want), "%7s %4095s", root, mp) != 2 ||
		    (pass == 0 && strcmp(root, "/")))
			continue;
		{
			char full[4200];

			snprintf(full, sizeof(full), "/proc/%d/root%s", (int)d->pid, mp);
			mfd = open(full, O_RDONLY | O_CLOEXEC);
		}
		if (mfd >= 0)
			break;
	}
	free(mi);
	if (mfd < 0)
		return r;
	if (hl > sizeof(fh.b)) {
		close(mfd);
		return -EOVERFLOW;
	}
	fh.fh.handle_bytes = (unsigned int)hl;
	fh.fh.handle_type = (int)type;
	memcpy(fh.fh.f_handle, h, hl);
	fd = open_by_handle_at(mfd, &fh.fh, O_PATH | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	close(mfd);
	if (fd < 0)
		return r;
	snprintf(want, sizeof(want), "/proc/self/fd/%d", fd);
	n = readlink(want, path, len - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (n >= 0) {
		path[n] = 0;
		if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
			r = -ENOENT;
	}
	return r;
}

static int fill_inotify(struct crcore_dump *d, Crimg__Fd *f, const char *info)
{
	Crimg__InotifyState *in = zalloc(sizeof(*in));
	size_t n = 0;
	const char *p;

	if (!in)
		return dump_err(d, -ENOMEM, "out of memory");
	crimg__inotify_state__init(in);
	f->kind = CRIMG__FD_KIND__FD_INOTIFY;
	f->inotify = in;
	for (p = info; (p = strstr(p, "inotify wd:")); p++)
		n++;
	in->watches = zalloc(n * sizeof(*in->watches));
	if (!in->watches)
		return dump_err(d, -ENOMEM, "out of memory");
	for (p = info; (p = strstr(p, "inotify wd:")); p++) {
		Crimg__InotifyWatch *w = zalloc(sizeof(*w));
		unsigned int wd, sdev, mask, ign, hb, ht;
		unsigned long long ino;
		char hex[300], path[4096];
		uint8_t h[128];
		size_t hl;
		int r;

		if (!w)
			return dump_err(d, -ENOMEM, "out of memory");
		crimg__inotify_watch__init(w);
		if (sscanf(p, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x "
			   "fhandle-type:%x f_handle:%299s", &wd, &ino, &sdev, &mask, &ign, &hb, &ht, hex) != 8)
			return dump_err(d, -EIO, "fd %d: cannot parse its inotify fdinfo", f->fd);
		hl = strlen(hex) / 2;
		if (hl > sizeof(h) || hl != hb)
			return dump_err(d, -EIO, "fd %d: inotify watch %u: bad file handle", f->fd, wd);
		for (size_t k = 0; k < hl; k++) {
			unsigned int b;

			sscanf(hex + 2 * k, "%2x", &b);
			h[k] = (uint8_t)b;
		}
		r = watch_path(d, sdev, ht, h, hl, path, sizeof(path));
		if (r < 0)
			return dump_err(d, r == -ENOENT ? -EOPNOTSUPP : r, "fd %d is an inotify fd whose "
					"watch %u (inode %llu) has no path: %s: not supported yet", f->fd, wd,
					ino, strerror(-r));
		w->wd = (int32_t)wd;
		w->mask = mask;
		w->path = keep(strdup(path));
		if (!w->path)
			return dump_err(d, -ENOMEM, "out of memory");
		w->has_ino = 1;
		w->ino = ino;
		w->has_dev = 1;
		w->dev = sdev;
		in->watches[in->n_watches++] = w;
	}
	return 0;
}

/* The bytes buffered in a pipe, without taking them: a reader of our
 * own on the same pipe tee()s them into a pipe of ours. */
static int fill_pipe(struct crcore_dump *d, Crimg__Fd *f, bool first, bool packet)
{
	Crimg__PipeState *p = zalloc(sizeof(*p));
	char path[64];
	int src, q[2] = { -1, -1 }, size, avail = 0, r = 0;

	if (!p)
		return dump_err(d, -ENOMEM, "out of memory");
	crimg__pipe_state__init(p);
	f->kind = CRIMG__FD_KIND__FD_PIPE;
	f->pipe = p;
	p->id = f->ino;
	if (!first)
		return 0;
	p->has_first = 1;
	p->first = 1;
	if (f->path && held_elsewhere(d->pid, f->path)) {
		/* a FIFO another process holds too: its buffer outlives us
		 * with what is in it, and is not ours to fill again */
		p->has_shared = 1;
		p->shared = 1;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)d->pid, f->fd);
	src = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src < 0)
		return dump_err(d, -errno, "fd %d: cannot open its pipe to read it: %s", f->fd,
				strerror(errno));
	size = fcntl(src, F_GETPIPE_SZ);
	if (size > 0) {
		p->has_size = 1;
		p->size = (uint32_t)size;
	}
	if (ioctl(src, FIONREAD, &avail) < 0)
		avail = 0;
	if (avail > 0) {
		uint8_t *buf;
		ssize_t n;
		size_t got = 0;

		if (pipe2(q, O_CLOEXEC | O_NONBLOCK) < 0 ||
		    (size > 0 && fcntl(q[1], F_SETPIPE_SZ, size) < 0)) {
			r = dump_err(d, -errno, "fd %d: a pipe to copy its %d bytes: %s", f->fd, avail,
				     strerror(errno));
			goto out;
		}
		n = tee(src, q[1], (size_t)avail, SPLICE_F_NONBLOCK);
		if (n != avail) {
			r = dump_err(d, n < 0 ? -errno : -EAGAIN, "fd %d: copying the %d bytes "
				     "buffered in its pipe gave %zd", f->fd, avail, n);
			goto out;
		}
		buf = zalloc((size_t)avail);
		if (!buf) {
			r = dump_err(d, -ENOMEM, "out of memory");
			goto out;
		}
		if (packet) {
			/* packet mode (O_DIRECT): a packetized reader gets one pipe
			 * buffer per read, so the packets' bounds are the reads' */
			p->packets = zalloc(((size_t)avail + 1) * sizeof(*p->packets));
			if (!p->packets || fcntl(q[0], F_SETFL, O_NONBLOCK | O_DIRECT) < 0) {
				r = dump_err(d, -ENOMEM, "fd %d: read the packets of its pipe", f->fd);
				goto out;
			}
		}
		while (got < (size_t)avail) {
			n = read(q[0], buf + got, (size_t)avail - got);
			if (n > 0 && packet)
				p->packets[p->n_packets++] = (uint32_t)n;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = dump_err(d, -EIO, "fd %d: reading back its pipe data failed", f->fd);
				goto out;
			}
			got += (size_t)n;
		}
		p->has_data = 1;
		p->data.data = buf;
		p->data.len = got;
	}
out:
	if (q[0] >= 0)
		close(q[0]);
	if (q[1] >= 0)
		close(q[1]);
	close(src);
	return r;
}

/* The receive queue of a socket, peeked message by message (SO_PEEK_OFF
 * moves the peek on; it is put back as it was). */
static int peek_queue(struct crcore_dump *d, int s, int fd, int type, Crimg__UnixSk *u)
{
	int off = -1, zero = 0, r = 0;
	socklen_t sl = sizeof(off);
	size_t cap = 1u << 16, total = 0, nmsg = 0, maxmsg = 0;
	uint8_t *buf = malloc(cap);
	ProtobufCBinaryData *q = NULL;

	if (!buf)
		return dump_err(d, -ENOMEM, "out of memory");
	getsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, &sl);
	if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		free(buf);
		return dump_err(d, -errno, "fd %d: SO_PEEK_OFF: %s", fd, strerror(errno));
	}
	for (;;) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(64)];
		} c;
		struct iovec iov = { buf, cap };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c,
				     .msg_controllen = sizeof(c) };
		ssize_t n = recvmsg(s, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC |
				    (type == SOCK_STREAM ? 0 : MSG_TRUNC));
		struct cmsghdr *ch;
		bool rights = false;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			r = dump_err(d, -errno, "fd %d: peeking its queue: %s", fd, strerror(errno));
			break;
		}
		for (ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch))
			if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS) {
				int *fds = (int *)CMSG_DATA(ch);
				size_t k = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				rights = true;
				for (size_t j = 0; j < k; j++)
					close(fds[j]);
			}
		if (rights || (mh.msg_flags & MSG_CTRUNC)) {
			r = dump_err(d, -EOPNOTSUPP, "fd %d is a unix socket with fds in flight "
				     "(SCM_RIGHTS) in its queue: not supported yet", fd);
			break;
		}
		if (type != SOCK_STREAM && (size_t)n > cap) {
			/* MSG_TRUNC gave the real length: peek it again, whole */
			uint8_t *nb = realloc(buf, (size_t)n);
			int back = -1;
			size_t was = cap;

			if (!nb) {
				r = dump_err(d, -ENOMEM, "out of memory");
				break;
			}
			buf = nb;
			cap = (size_t)n;
			/* the peek offset moved by what was copied: move it back */
			sl = sizeof(back);
			getsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &back, &sl);
			back -= (int)was;
			if (back < 0)
				back = 0;
			setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &back, sizeof(back));
			continue;
		}
		if (type == SOCK_STREAM && n == 0)
			break; /* end of stream: the peer shut down */
		total += (size_t)n;
		if (total > MAX_QUEUE) {
			r = dump_err(d, -EOVERFLOW, "fd %d: more than %u bytes queued", fd, MAX_QUEUE);
			break;
		}
		if (type == SOCK_STREAM && nmsg == 1) {
			/* one run of bytes: append */
			uint8_t *nb = realloc(q[0].data, q[0].len + (size_t)n);

			if (!nb) {
				r = dump_err(d, -ENOMEM, "out of memory");
				break;
			}
			memcpy(nb + q[0].len, buf, (size_t)n);
			q[0].data = nb;
			q[0].len += (size_t)n;
			continue;
		}
		if (nmsg == maxmsg) {
			ProtobufCBinaryData *nq = realloc(q, (maxmsg ? maxmsg * 2 : 16) * sizeof(*q));

			if (!nq) {
				r = dump_err(d, -ENOMEM, "out of memory");
				break;
			}
			q = nq;
			maxmsg = maxmsg ? maxmsg * 2 : 16;
		}
		q[nmsg].data = malloc(n ? (size_t)n : 1);
		if (!q[nmsg].data) {
			r = dump_err(d, -ENOMEM, "out of memory");
			break;
		}
		memcpy(q[nmsg].data, buf, (size_t)n);
		q[nmsg].len = (size_t)n;
		nmsg++;
		if (nmsg > 1000000) {
			r = dump_err(d, -EOVERFLOW, "fd %d: too many queued messages", fd);
			break;
		}
	}
	setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	free(buf);
	for (size_t i = 0; i < nmsg; i++)
		keep(q[i].data);
	keep(q);
	u->n_queue = nmsg;
	u->queue = q;
	return r;
}

/* The options read and set back as they are (bytes), beyond those with
 * fields of their own.  family 0: any; type 0: any. */
static const struct sockopt_def {
	int family, type, level, name;
} sockopts[] = {
	{ 0, 0, SOL_SOCKET, SO_KEEPALIVE },
	{ 0, 0, SOL_SOCKET, SO_PRIORITY },
	{ 0, 0, SOL_SOCKET, SO_RCVLOWAT },
	{ 0, 0, SOL_SOCKET, SO_MARK },
	{ 0, 0, SOL_SOCKET, SO_TIMESTAMP },
	{ 0, 0, SOL_SOCKET, SO_TIMESTAMPNS },
	{ 0, 0, SOL_SOCKET, SO_RCVTIMEO },
	{ 0, 0, SOL_SOCKET, SO_SNDTIMEO },
	{ 0, 0, SOL_SOCKET, SO_LINGER },
	{ 0, 0, SOL_SOCKET, SO_PEEK_OFF },
	{ AF_INET, 0, SOL_SOCKET, SO_BINDTODEVICE },
	{ AF_INET6, 0, SOL_SOCKET, SO_BINDTODEVICE },
	{ AF_INET, 0, SOL_SOCKET, SO_BROADCAST },
	{ AF_INET6, 0, SOL_SOCKET, SO_BROADCAST },
	{ AF_INET, 0, SOL_SOCKET, SO_DONTROUTE },
	{ AF_INET, 0, SOL_SOCKET, SO_OOBINLINE },
	{ AF_INET, 0, IPPROTO_IP, IP_TOS },
	{ AF_INET, 0, IPPROTO_IP, IP_TTL },
	{ AF_INET, 0, IPPROTO_IP, IP_RECVTOS },
	{ AF_INET, 0, IPPROTO_IP, IP_RECVTTL },
	{ AF_INET, 0, IPPROTO_IP, IP_PKTINFO },
	{ AF_INET, 0, IPPROTO_IP, IP_RECVERR },
	{ AF_INET, 0, IPPROTO_IP, IP_MTU_DISCOVER },
	{ AF_INET, 0, IPPROTO_IP, IP_FREEBIND },
	{ AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_MULTICAST_TTL },
	{ AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_MULTICAST_LOOP },
	{ AF_INET6, 0, IPPROTO_IPV6, IPV6_UNICAST_HOPS },
	{ AF_INET6, 0, IPPROTO_IPV6, IPV6_TCLASS },
	{ AF_INET6, 0, IPPROTO_IPV6, IPV6_RECVPKTINFO },
	{ AF_INET6, 0, IPPROTO_IPV6, IPV6_RECVERR },
	{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_MULTICAST_HOPS },
	{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_MULTICAST_LOOP },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_NODELAY },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_DEFER_ACCEPT },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPIDLE },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPINTVL },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPCNT },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_FASTOPEN },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_NODELAY },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_DEFER_ACCEPT },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPIDLE },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPINTVL },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPCNT },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_FASTOPEN },
};

static int fill_sockopts(int s, int family, int type, Crimg__SockOpt ***ret, size_t *n)
{
	size_t cnt = sizeof(sockopts) / sizeof(sockopts[0]);
	Crimg__SockOpt **v = zalloc(cnt * sizeof(*v));

	*n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct sockopt_def *o = &sockopts[i];
		uint8_t buf[64];
		socklen_t l = sizeof(buf);
		Crimg__SockOpt *x;
		uint8_t *val;

		if ((o->family && o->family != family) || (o->type && o->type != type))
			continue;
		if (getsockopt(s, o->level, o->name, buf, &l) < 0)
			continue; /* not for this socket */
		x = zalloc(sizeof(*x));
		val = zalloc(l);
		if (!x || !val)
			return -ENOMEM;
		crimg__sock_opt__init(x);
		memcpy(val, buf, l);
		x->level = (uint32_t)o->level;
		x->name = (uint32_t)o->name;
		x->value.data = val;
		x->value.len = l;
		v[(*n)++] = x;
	}
	*ret = v;
	return 0;
}

static int fill_socket(struct crcore_dump *d, Crimg__Fd *f, bool first)
{
	int s = take_fd(d->pid, f->fd), dom = 0, type = 0, proto = 0, v;
	socklen_t sl = sizeof(int);
	int r = 0;

	if (s < 0)
		return dump_err(d, s, "fd %d: cannot take the socket: %s", f->fd, strerror(-s));
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &dom, &sl);
	sl = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &sl);
	sl = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &sl);
	if (dom == AF_UNIX) {
		Crimg__UnixSk *u = zalloc(sizeof(*u));
		struct unix_info ui;

		if (!u) {
			r = dump_err(d, -ENOMEM, "out of memory");
			goto out;
		}
		crimg__unix_sk__init(u);
		f->kind = CRIMG__FD_KIND__FD_UNIX;
		f->unix_sk = u;
		r = unix_diag(f->ino, &ui);
		if (r < 0) {
			r = dump_err(d, r, "fd %d: sock_diag: %s", f->fd, strerror(-r));
			goto out;
		}
		u->ino = f->ino;
		u->type = (uint32_t)type;
		u->state = ui.state;
		if (ui.peer) {
			u->has_peer = 1;
			u->peer = ui.peer;
		}
		if (ui.name_len) {
			uint8_t *nm = zalloc(ui.name_len);

			if (!nm) {
				r = dump_err(d, -ENOMEM, "out of memory");
				goto out;
			}
			memcpy(nm, ui.name, ui.name_len);
			u->has_name = 1;
			u->name.data = nm;
			u->name.len = ui.name_len;
		}
		if (ui.state == TCP_LISTEN_) {
			u->has_backlog = 1;
			u->backlog = ui.wqueue;
			if (ui.nicons && ui.nicons <= 64) {
				u->icons = zalloc(ui.nicons * sizeof(*u->icons));
				if (!u->icons) {
					r = dump_err(d, -ENOMEM, "out of memory");
					goto out;
				}
				for (size_t k = 0; k < ui.nicons; k++)
					u->icons[k] = ui.icons[k];
				u->n_icons = ui.nicons;
			}
		}
		u->has_shutdown = 1;
		u->shutdown = ui.shutdown;
		if (!first)
			goto out;
		u->has_first = 1;
		u->first = 1;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &sl) == 0)
			u->has_sndbuf = 1, u->sndbuf = (uint32_t)v;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &sl) == 0)
			u->has_rcvbuf = 1, u->rcvbuf = (uint32_t)v;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &sl) == 0)
			u->has_passcred = 1, u->passcred = v != 0;
		if (fill_sockopts(s, dom, type, &u->opts, &u->n_opts) < 0) {
			r = dump_err(d, -ENOMEM, "out of memory");
			goto out;
		}
		if (ui.state != TCP_LISTEN_)
			r = peek_queue(d, s, f->fd, type, u);
	} else if (dom == AF_INET || dom == AF_INET6) {
		Crimg__InetSk *in = zalloc(sizeof(*in));
		struct sockaddr_storage ss;
		uint8_t *a;

		if (!in) {
			r = dump_err(d, -ENOMEM, "out of memory");
			goto out;
		}
		crimg__inet_sk__init(in);
		f->kind = CRIMG__FD_KIND__FD_INET;
		f->inet_sk = in;
		in->family = (uint32_t)dom;
		in->type = (uint32_t)type;
		in->protocol = (uint32_t)proto;
		sl = sizeof(ss);
		if (getsockname(s, (struct sockaddr *)&ss, &sl) == 0 && (a = zalloc(sl))) {
			memcpy(a, &ss, sl);
			in->has_addr = 1;
			in->addr.data = a;
			in->addr.len = sl;
		}
		sl = sizeof(ss);
		if (getpeername(s, (struct sockaddr *)&ss, &sl) == 0 && (a = zalloc(sl))) {
			memcpy(a, &ss, sl);
			in->has_peer = 1;
			in->peer.data = a;
			in->peer.len = sl;
		}
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &sl) == 0 && v) {
			in->has_listening = 1;
			in->listening = 1;
			in->backlog = tcp_backlog(dom, f->ino);
			in->has_backlog = in->backlog != 0;
		}
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &sl) == 0)
			in->has_reuseaddr = 1, in->reuseaddr = v != 0;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, &sl) == 0)
			in->has_reuseport = 1, in->reuseport = v != 0;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &sl) == 0)
			in->has_sndbuf = 1, in->sndbuf = (uint32_t)v;
		sl = sizeof(v);
		if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &sl) == 0)
			in->has_rcvbuf = 1, in->rcvbuf = (uint32_t)v;
		sl = sizeof(v);
		if (dom == AF_INET6 && getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &sl) == 0)
			in->has_v6only = 1, in->v6only = v != 0;
		if (fill_sockopts(s, dom, type, &in->opts, &in->n_opts) < 0)
			r = dump_err(d, -ENOMEM, "out of memory");
	} else {
		r = dump_err(d, -EOPNOTSUPP, "fd %d is a socket of family %d: not supported yet",
			     f->fd, dom);
	}
out:
	close(s);
	return r;
}

static int fill_fown(struct crcore_dump *d, Crimg__Fd *f)
{
	struct f_owner_ex o = { 0 };
	Crimg__FownState *fo;
	int s = take_fd(d->pid, f->fd), sig;

	if (s < 0)
		return dump_err(d, s, "fd %d: cannot take it to read its owner: %s", f->fd,
				strerror(-s));
	if (fcntl(s, F_GETOWN_EX, &o) < 0)
		o.pid = 0;
	sig = fcntl(s, F_GETSIG);
	close(s);
	if (!o.pid && sig <= 0)
		return 0;
	/* threads other than the leader exist only once the restorer made
	 * them, after the fds */
	if (o.type == F_OWNER_TID && o.pid != d->pid)
		return dump_err(d, -EOPNOTSUPP, "fd %d (O_ASYNC) signals thread %d: not supported yet",
				f->fd, o.pid);
	fo = zalloc(sizeof(*fo));
	if (!fo)
		return dump_err(d, -ENOMEM, "out of memory");
	crimg__fown_state__init(fo);
	fo->type = (uint32_t)o.type;
	fo->pid = o.pid;
	if (sig > 0)
		fo->has_sig = 1, fo->sig = (uint32_t)sig;
	f->fown = fo;
	return 0;
}

static int fill_memfd(struct crcore_dump *d, Crimg__Fd *f, const char *link, bool first)
{
	Crimg__MemfdState *m = zalloc(sizeof(*m));
	char path[64], *name;
	size_t l;
	int src, seals;

	if (!m)
		return dump_err(d, -ENOMEM, "out of memory");
	crimg__memfd_state__init(m);
	name = keep(strdup(link + 7));
	if (!name)
		return dump_err(d, -ENOMEM, "out of memory");
	l = strlen(name);
	if (l > 10 && !strcmp(name + l - 10, " (deleted)"))
		name[l - 10] = 0;
	m->name = name;
	f->kind = CRIMG__FD_KIND__FD_MEMFD;
	f->memfd = m;
	/* not a deleted file of FILE_DATA: its contents are here */
	f->has_deleted = 0;
	f->deleted = 0;
	if (!first)
		return 0;
	m->has_first = 1;
	m->first = 1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)d->pid, f->fd);
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return dump_err(d, -errno, "fd %d: cannot open its memfd to read it: %s", f->fd,
				strerror(errno));
	seals = fcntl(src, F_GET_SEALS);
	if (seals >= 0) {
		m->has_seals = 1;
		m->seals = (uint32_t)seals;
	}
	if (f->size > MAX_MEMFD) {
		close(src);
		return dump_err(d, -EOPNOTSUPP, "fd %d is a memfd of more than %u bytes: not "
				"supported yet", f->fd, MAX_MEMFD);
	}
	if (f->size) {
		uint8_t *buf = zalloc((size_t)f->size);
		size_t got = 0;

		if (!buf) {
			close(src);
			return dump_err(d, -ENOMEM, "out of memory");
		}
		while (got < f->size) {
			ssize_t n = pread(src, buf + got, (size_t)f->size - got, (off_t)got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* shrank meanwhile: zeroes, the size was recorded */
			got += (size_t)n;
		}
		m->has_data = 1;
		m->data.data = buf;
		m->data.len = (size_t)f->size;
	}
	close(src);
	return 0;
}

/* The locks held through fd (its fdinfo "lock:" lines). */
/* seen: its fdinfo as write_files read it (frozen: the same now) */
static int fill_locks(struct crcore_dump *d, Crimg__Fd *f, const char *seen)
{
	char *own = seen ? NULL : proc_read("/proc/%d/fdinfo/%d", (int)d->pid, f->fd);
	const char *info = seen ? seen : own, *p;
	size_t n = 0;
	int r = 0;

	if (!info)
		return 0; /* closed meanwhile: nothing held */
	for (p = info; (p = strstr(p, "lock:")); p++)
		n++;
	if (n) {
		f->locks = zalloc(n * sizeof(*f->locks));
		if (!f->locks) {
			free(own);
			return dump_err(d, -ENOMEM, "out of memory");
		}
	}
	for (p = info; r == 0 && (p = strstr(p, "lock:")); p++) {
		char kind[16] = "", mode[16] = "", type[16] = "", end[32] = "", dev[64] = "";
		long long start = 0;
		Crimg__FileLock *l;

		if (sscanf(p, "lock: %*d: %15s %15s %15s %*d %63s %lld %31s", kind, mode, type, dev,
			   &start, end) != 6) {
			r = dump_err(d, -EIO, "fd %d: cannot parse its lock line", f->fd);
			break;
		}
		if (strcmp(mode, "ADVISORY") || (strcmp(kind, "POSIX") && strcmp(kind, "FLOCK") &&
						 strcmp(kind, "OFDLCK")) ||
		    (strcmp(type, "READ") && strcmp(type, "WRITE"))) {
			r = dump_err(d, -EOPNOTSUPP, "fd %d holds a %s %s %s lock (a lease, a "
				     "delegation or a mandatory lock): not supported yet", f->fd, kind,
				     mode, type);
			break;
		}
		if (!strcmp(kind, "POSIX")) {
			/* the restorer opens and closes the files it maps, and any
			 * close drops the process's POSIX locks on that file */
			char *maps = proc_read("/proc/%d/maps", (int)d->pid), *c = strrchr(dev, ':');
			char key[80];
			bool mapped;

			if (c)
				*c = ' ';
			snprintf(key, sizeof(key), " %s ", dev);
			mapped = maps && strstr(maps, key);
			free(maps);
			if (mapped) {
				r = dump_err(d, -EOPNOTSUPP, "fd %d holds a POSIX lock on a file the process "
					     "also maps: not supported yet", f->fd);
				break;
			}
		}
		l = zalloc(sizeof(*l));
		if (!l) {
			r = dump_err(d, -ENOMEM, "out of memory");
			break;
		}
		crimg__file_lock__init(l);
		l->kind = !strcmp(kind, "POSIX") ? 1 : !strcmp(kind, "FLOCK") ? 2 : 3;
		l->type = !strcmp(type, "READ") ? F_RDLCK : F_WRLCK;
		if (l->kind != 2) {
			l->has_start = l->has_len = 1;
			l->start = start;
			l->len = !strcmp(end, "EOF") ? 0 : strtoll(end, NULL, 10) - start + 1;
		}
		f->locks[f->n_locks++] = l;
	}
	free(own);
	return r;
}

int fd_dump_fill(struct crcore_dump *d, Crimg__Fd **fds, const struct fd_seen *seen, size_t n,
		 struct fd_dump **ret)
{
	struct fd_dump *fdd = calloc(1, sizeof(*fdd));
	int r = 0;

	*ret = fdd;
	if (!fdd)
		return dump_err(d, -ENOMEM, "out of memory");
	cur = fdd;
	dump_root = d->root;
	idx_reset();
	for (size_t i = 0; i < n && r == 0; i++) {
		Crimg__Fd *f = fds[i];
		const char *link = seen[i].link, *a;
		/* the first fd of its open file description (ids: checkpoint.md;
		 * in a tree, pid << 32 | fd outside the root) */
		bool first = !f->has_id || f->id == (uint64_t)f->fd ||
			     f->id == ((uint64_t)d->pid << 32 | (uint32_t)f->fd);
		char why[512];

		/* terminals (fd-tty.c): every one is typed at i == 0 */
		r = tty_dump_fill(d, d->pid, fds, n, i, keep, why, sizeof(why));
		if (r < 0) {
			r = dump_err(d, r, "process %d: %s", (int)d->pid, why);
			break;
		}
		if ((f->flags & O_ASYNC) && first) {
			r = fill_fown(d, f);
			if (r < 0)
				break;
		}
		if (first && (S_ISREG(f->mode) || S_ISDIR(f->mode) || S_ISCHR(f->mode) ||
			      S_ISFIFO(f->mode))) {
			r = fill_locks(d, f, seen[i].info);
			if (r < 0)
				break;
		}
		a = anon_name(link);
		if (!strncmp(link, "/memfd:", 7) && S_ISREG(f->mode)) {
			r = fill_memfd(d, f, link, first);
		} else if (a) {
			if (!first)
				continue; /* a dup: the description's state is on its first fd */
			r = fill_fdinfo_kind(d, f, a, seen[i].info);
		} else if (S_ISFIFO(f->mode)) {
			/* the pipe's state goes on its first fd (any description) */
			bool pfirst = true;

			if (f->fd <= 2 && link[0] != '/' && held_elsewhere(d->pid, link)) {
				f->kind = CRIMG__FD_KIND__FD_PIPE; /* no state: inherited */
				continue;
			}

			bool packet = false;

			for (size_t j = 0; j < i; j++)
				if (fds[j]->pipe && fds[j]->pipe->id == f->ino && fds[j]->dev == f->dev)
					pfirst = false;
			/* ... and of the tree: an earlier process carries it */
			if (pfirst)
				pfirst = tree_obj_claim(d, f->dev, f->ino);
			/* packet mode if any end of it is O_DIRECT */
			for (size_t j = 0; j < n; j++)
				if (S_ISFIFO(fds[j]->mode) && fds[j]->ino == f->ino && fds[j]->dev == f->dev &&
				    (fds[j]->flags & O_DIRECT))
					packet = true;
			/* ... in any process of the tree */
			if (pfirst && !packet && link[0] != '/')
				packet = packet_in_tree(d->pid, link);
			r = fill_pipe(d, f, pfirst, packet);
		} else if (S_ISSOCK(f->mode)) {
			struct unix_info ui;
			char peer[64];

			if (f->fd <= 2 && unix_diag(f->ino, &ui) == 0 && ui.peer &&
			    (snprintf(peer, sizeof(peer), "socket:[%u]", ui.peer), !held_in_tree(d->pid, peer)))
				continue; /* no state: inherited */
			r = fill_socket(d, f, first);
		}
	}
	cur = NULL;
	return r;
}

void fd_dump_free(struct fd_dump *fdd)
{
	if (!fdd)
		return;
	for (size_t i = 0; i < fdd->nallocs; i++)
		free(fdd->allocs[i]);
	free(fdd->allocs);
	free(fdd);
}
