/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd.h - private to libcrcore: the fd kinds beyond regular files and
 * character devices (eventfd, timerfd, signalfd, pipes and FIFOs, epoll,
 * unix, UDP and listening TCP sockets), dump and restore.  The design and
 * the image fields: docs/fds.md.
 *
 * Dump (fd-dump.c), called by the freeze's refusal check and by the
 * cr-parasite stage's FILES record:
 *
 *     fd_dump_set_root(root);                             // holders inside the tree are fine
 *     r = fd_dump_check(pid, fd, &st, link, why, len);   // before the freeze and once frozen
 *     ... write_files fills every Fd with path, flags, pos, id ...
 *     r = fd_dump_fill(d, fds, seen, n, &fdd);            // kind state, owned by fdd
 *                                                         // (seen: what write_files read of each)
 *     ... the FILES record is written ...
 *     fd_dump_free(fdd);
 *
 * Restore (fd-restore.c), called by restore.c:
 *
 *     fd_rst_tree(&fr, all, n)                // a tree: one fr, every process's FILES
 *     fd_rst_handles(kind)                    // is it ours?
 *     fd_rst_open(&fr, files, i, &src, ...)   // our source fd for files->fds[i]
 *     fd_rst_opened(fr)                       // every fd (of every process) is open:
 *                                             // drop what we held (not the memfds)
 *     fd_rst_child(fr, files, ...)            // in the new process, fds in place: epoll, locks
 *     fd_rst_seal(fr, ...)                    // every process's memory is in place (READY)
 *     fd_rst_free(fr)
 */
#ifndef CRCORE_FD_H
#define CRCORE_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <crimg-proto.h>

#define CRCORE_FD_LOCAL __attribute__((visibility("hidden")))

struct crcore_dump;

/*
 * Is fd (of pid, with its /proc link text and stat) a kind of this file?
 * 1: yes, and it can be dumped; 0: not one of ours (the caller decides);
 * -EOPNOTSUPP (or another -errno) with a message in why that names the fd
 * and its kind: refused.  Never changes the process.
 */
CRCORE_FD_LOCAL int fd_dump_check(pid_t pid, int fd, const struct stat *st, const char *link,
				  char *why, size_t len);

/* The root of the tree the next checks are for (docs/trees.md): holders
 * of a pipe or socket inside the tree are not refused. */
CRCORE_FD_LOCAL void fd_dump_set_root(pid_t root);
/* Is q the root of the tree being dumped or one of its descendants? */
CRCORE_FD_LOCAL bool fd_dump_in_tree(pid_t q);

struct fd_dump;

/*
 * Fills the kind and kind state of fds[0..n) (sorted by fd, Fd.id set).
 * What it allocates belongs to *ret, which is set even on failure and is
 * freed with fd_dump_free (NULL: no-op) once the record is written.
 * 0 or -errno with the message in the dump (dump_err).
 */
/* What write_files read of fds[i] in /proc, handed on so that /proc is
 * read once: the link of /proc/PID/fd/N and the text of its fdinfo (NULL
 * if it could not be read). */
struct fd_seen {
	const char *link;
	const char *info;
};
CRCORE_FD_LOCAL int fd_dump_fill(struct crcore_dump *d, Crimg__Fd **fds, const struct fd_seen *seen,
				 size_t n, struct fd_dump **ret);
CRCORE_FD_LOCAL void fd_dump_free(struct fd_dump *fdd);

struct fd_rst;

CRCORE_FD_LOCAL bool fd_rst_handles(uint32_t kind);
/*
 * Opens the object of files->fds[i] (created on its first fd, filled
 * with its state) and gives a new O_CLOEXEC fd for it in *src.
 * *frp is created on the first call.  0 or -errno with a message in err.
 */
CRCORE_FD_LOCAL int fd_rst_open(struct fd_rst **frp, const Crimg__Files *files, size_t i, int *src,
				char *err, size_t len);
/* Every fd is open: closes what we held to build objects (the other
 * end of a pipe the process does not hold...). */
CRCORE_FD_LOCAL void fd_rst_opened(struct fd_rst *fr);
/* In the new process, every fd at its number: what needs the numbers
 * or the process (epoll watch lists, file locks of files (any kind, NULL:
 * none)).  fr may be NULL.  0 or -errno with a message in err. */
CRCORE_FD_LOCAL int fd_rst_child(struct fd_rst *fr, const Crimg__Files *files, char *err,
				 size_t len);
/* The memfd (of inode ino) made for the fds, or -1; lent, open until
 * fd_rst_seal.  A process of a tree that maps it without holding an fd
 * of it maps this object (docs/fds.md). */
CRCORE_FD_LOCAL int fd_rst_memfd(const struct fd_rst *fr, uint64_t ino);
/* Every process of the image has mapped its memory (READY): adds the
 * memfds' seals, which wait until then (a memfd the process maps is
 * mapped by the restorer after fd_rst_open, writable under
 * F_SEAL_FUTURE_WRITE; F_SEAL_WRITE needs its read-only mappings made).
 * fr may be NULL.  0 or -errno with a message in err. */
CRCORE_FD_LOCAL int fd_rst_seal(struct fd_rst *fr, char *err, size_t len);
CRCORE_FD_LOCAL void fd_rst_free(struct fd_rst *fr);
/* A process tree (docs/trees.md): one fd_rst for every process, which
 * looks objects and their state up in all of their FILES (all[] is lent,
 * entries may be NULL), so that a pipe or socket several processes hold
 * is made once.  Call fd_rst_opened once, after every process's fds.
 * *frp is created if needed.  0 or -ENOMEM. */
CRCORE_FD_LOCAL int fd_rst_tree(struct fd_rst **frp, const Crimg__Files *const *all, size_t n);
/* cr-assemble --shell-job: fds that were the caller's terminal get ours
 * (fd-tty.c).  *frp is created if needed.  0 or -ENOMEM. */
CRCORE_FD_LOCAL int fd_rst_shell_job(struct fd_rst **frp, bool on);

/* ---- fd-tty.c: ptys and the caller's terminal (docs/ttys.md) ---------- */

struct tty_rst;

CRCORE_FD_LOCAL bool tty_is_tty(dev_t rdev);
CRCORE_FD_LOCAL bool tty_is_master(dev_t rdev);
/* As fd_dump_check, for character devices that are terminals. */
CRCORE_FD_LOCAL int tty_dump_check(pid_t pid, int fd, const struct stat *st, const char *link,
				   char *why, size_t len);
/* Kind and state of fds[i] if it is a terminal (every terminal fd is
 * typed when i == 0, so call it for i = 0 first); what it allocates goes
 * through keep.  0 or -errno with the message in why. */
CRCORE_FD_LOCAL int tty_dump_fill(struct crcore_dump *d, pid_t pid, Crimg__Fd **fds, size_t n,
				  size_t i, void *(*keep)(void *), char *why, size_t len);
CRCORE_FD_LOCAL int tty_rst_shell_job(struct tty_rst **tp, bool on);
/* all: every process's FILES (a tree; NULL: files alone) */
CRCORE_FD_LOCAL int tty_rst_open(struct tty_rst **tp, const Crimg__Files *files,
				 const Crimg__Files *const *all, size_t nall, const Crimg__Fd *f,
				 int *src, char *err, size_t len);
/* In the new process, fds in place: its controlling terminal. */
CRCORE_FD_LOCAL int tty_rst_child(struct tty_rst *tr, const Crimg__Files *files, char *err,
				  size_t len);
CRCORE_FD_LOCAL void tty_rst_opened(struct tty_rst *tr);
CRCORE_FD_LOCAL void tty_rst_free(struct tty_rst *tr);

#endif
