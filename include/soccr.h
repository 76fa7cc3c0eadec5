/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soccr.h - save a live TCP connection and restore it into a new socket,
 * in this process, another process, another network namespace or another
 * host (the TCP_REPAIR interface of Linux, see tcp(7)).
 *
 * Checkpoint: take a connection out of a socket
 * ---------------------------------------------
 *     struct soccr_netlock *lk = NULL;
 *     struct soccr_tcp *t;
 *
 *     // 1. (same network namespace only, see "Locking" below) stop the
 *     //    peer's packets from reaching a closed port while the
 *     //    connection has no socket:
 *     r = soccr_netlock__new(NULL, &lk);
 *
 *     // 2. lock, freeze and read the socket.  fd goes into repair mode
 *     //    and stays there: from now on it neither sends nor accepts
 *     //    anything, and closing it sends nothing to the peer (no FIN,
 *     //    no RST).
 *     LIBSOCCR_OPTS(soccr_save_opts, so, .lock = lk);
 *     r = soccr_save(fd, &so, &t);
 *
 *     // 3. write it to an image stream (or keep it in memory)
 *     r = soccr_tcp__write(t, writer);
 *
 * Restore: give the connection a new socket
 * -----------------------------------------
 *     // 1. read it back (rec is the TCP_CONN or TCP_LISTEN record the
 *     //    reader stopped at)
 *     r = soccr_tcp__read(reader, rec, NULL, &t);
 *
 *     // 2. the old socket must be gone from this network namespace
 *     //    (close(fd) in repair mode is silent); on another host it may
 *     //    live on, frozen, until step 3 is done.
 *     close(fd);
 *
 *     // 3. a new socket, ESTABLISHED (or whatever state t was in), with
 *     //    its queues, sequence numbers, options and timers' inputs;
 *     //    data that had not been sent yet goes out at once.
 *     int nfd;
 *     r = soccr_restore(t, NULL, &nfd);
 *
 *     // 4. let the peer's packets in again, then free
 *     soccr_netlock__free(lk);              // releases the lock
 *     soccr_tcp__free(t);
 *
 *     // A long-lived lock serves many hand-offs (a new one costs ~20 ms,
 *     // an element well under 1 ms): soccr_netlock__remove_tcp(lk, t).
 *     // If the restore fails and the old socket is still open (another
 *     // host), soccr_resume(fd) lets the connection go on there.
 *
 * A listening socket saves and restores the same way; soccr_save accepts
 * the connections waiting in its accept queue and saves them with it
 * (soccr_tcp__next_child), and soccr_restore gives back the listener.
 * Each child is restored with its own soccr_restore call: the kernel
 * cannot put a socket back into an accept queue, so the children come
 * back as established sockets next to the listener.
 *
 * Locking
 * -------
 * Between the old socket and the new one the connection has no socket,
 * and a packet from the peer that arrives then is answered with a reset.
 *  - soccr_save attaches a socket filter that drops every packet to the
 *    old socket, and soccr_restore keeps one on the new socket until its
 *    state is complete.  While the old socket is open the peer's packets
 *    are dropped, not reset, and the peer retransmits them later.  When
 *    the new socket is on another host (or network namespace), keep the
 *    old socket open until the restore is done and move the address; no
 *    other lock is needed.
 *  - In one network namespace the kernel refuses a second socket with the
 *    same four-tuple (connect gives EADDRNOTAVAIL), so the old socket has
 *    to be closed first and there is a gap of a few system calls.  The
 *    nftables lock (soccr_netlock) drops exactly the locked connections'
 *    packets, both ways, during that gap; without it a packet arriving in
 *    those microseconds gets a reset.
 *
 * Conventions: functions return 0 (or a count) on success and -errno on
 * failure, set their ret_ out-parameter only on success, never print and
 * never exit.  Messages go to the optional log callback of the options.
 * Errors common to every call: -EINVAL bad argument or unknown flag bit,
 * -ENOMEM.  TCP_REPAIR needs CAP_NET_ADMIN in the socket's network
 * namespace: without it the calls give -EPERM (and log why).
 */
#ifndef SOCCR_H
#define SOCCR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SOCCR_API
#define SOCCR_API __attribute__((visibility("default")))
#endif

/* Options structs start with their size: LIBSOCCR_OPTS(soccr_save_opts, o, .flags = ...). */
#define LIBSOCCR_OPTS(TYPE, NAME, ...)                                  \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* Log callback: optional, silent by default.  level is a syslog level
 * (LOG_ERR for the reason of a failure, LOG_DEBUG for steps). */
typedef void (*soccr_log_fn)(int level, const char *msg, void *arg);

/* Packets carrying this fwmark pass the locks (the library's own packets). */
#define SOCCR_MARK 0x50cc0001u

/* Connection states, numbered as the kernel's TCP_* states. */
#define SOCCR_ESTABLISHED 1u
#define SOCCR_FIN_WAIT1   4u
#define SOCCR_FIN_WAIT2   5u
#define SOCCR_CLOSE_WAIT  8u
#define SOCCR_LAST_ACK    9u
#define SOCCR_LISTEN      10u
#define SOCCR_CLOSING     11u
/* "ESTABLISHED", "SYN_SENT", ...: any kernel state, "?" if unknown. */
SOCCR_API const char *soccr_state_name(uint32_t state);

/* ---- a saved connection ----------------------------------------------- */

/* Plain data (no fd): state, addresses, sequence numbers, queue
 * contents, TCP options, window, socket options.  A listener also holds
 * the connections that were waiting in its accept queue. */
struct soccr_tcp;

/* Frees t and its children.  NULL ok. */
SOCCR_API void soccr_tcp__free(struct soccr_tcp *t);

/* Getters: they lend, the pointers live as long as t. */
SOCCR_API uint32_t soccr_tcp__state(const struct soccr_tcp *t);
SOCCR_API int soccr_tcp__family(const struct soccr_tcp *t);         /* AF_INET or AF_INET6 */
SOCCR_API const struct sockaddr *soccr_tcp__local(const struct soccr_tcp *t, socklen_t *len);
/* The peer; NULL for a listener. */
SOCCR_API const struct sockaddr *soccr_tcp__peer(const struct soccr_tcp *t, socklen_t *len);
/* Bytes queued: sent but not acknowledged, not yet sent, received but not read. */
SOCCR_API uint32_t soccr_tcp__unacked(const struct soccr_tcp *t);
SOCCR_API uint32_t soccr_tcp__unsent(const struct soccr_tcp *t);
SOCCR_API uint32_t soccr_tcp__received(const struct soccr_tcp *t);
/* The send queue (unacked bytes first, then unsent) and the receive queue. */
SOCCR_API const void *soccr_tcp__send_queue(const struct soccr_tcp *t);
SOCCR_API const void *soccr_tcp__recv_queue(const struct soccr_tcp *t);
/* "a.b.c.d:p -> e.f.g.h:q ESTABLISHED" into buf; returns buf. */
SOCCR_API const char *soccr_tcp__describe(const struct soccr_tcp *t, char *buf, size_t len);

/* A listener's saved accept queue: pass NULL first; NULL at the end. */
SOCCR_API const struct soccr_tcp *soccr_tcp__next_child(const struct soccr_tcp *t,
							const struct soccr_tcp *prev);
#define soccr_tcp_for_each_child(t, c) \
	for ((c) = soccr_tcp__next_child((t), NULL); (c); (c) = soccr_tcp__next_child((t), (c)))
SOCCR_API unsigned soccr_tcp__nr_children(const struct soccr_tcp *t);

/* ---- save ----------------------------------------------------------- */

struct soccr_netlock;
struct soccr_save_opts {
	size_t sz;
	uint32_t flags;        /* SOCCR_SAVE_*; unknown bits give -EINVAL */
	soccr_log_fn log;
	void *log_arg;
	/* If set, the connection is added to this lock before it is frozen,
	 * and so is every connection taken from a listener's accept queue
	 * (their addresses are only known once they are accepted). */
	struct soccr_netlock *lock;
};
/* Leave the socket out of repair mode and without the drop filter when
 * the save is done (a "peek": the connection goes on in this socket, and
 * anything it does afterwards is not in the saved state). */
#define SOCCR_SAVE_RESUME 0x1u
/* Listener: do not take the connections waiting in the accept queue. */
#define SOCCR_SAVE_NO_CHILDREN 0x2u

/*
 * Saves the TCP socket fd.  On success fd is left in repair mode with a
 * socket filter that drops every incoming packet (unless
 * SOCCR_SAVE_RESUME): the connection is frozen there; close(fd) then
 * sends nothing to the peer.  A listener's pending connections are
 * accepted (taken out of its queue) and saved with it.
 *
 * On failure the socket is left as it was (out of repair mode, no filter;
 * accepted children of a listener are closed silently: they are lost).
 *
 * Returns 0, or -ENOTSOCK (not a socket), -EPROTONOSUPPORT (not TCP over
 * IPv4/IPv6), -EOPNOTSUPP (a state that cannot be saved: SYN_SENT,
 * SYN_RECV, TIME_WAIT, CLOSE; the log names it), -EPERM (no
 * CAP_NET_ADMIN), -EIO (queues changed under us), or another -errno.
 */
SOCCR_API int soccr_save(int fd, const struct soccr_save_opts *opts, struct soccr_tcp **ret);

/* Undoes a save on the same socket (the restore elsewhere failed, or the
 * move was called off): leaves repair mode without a window probe and
 * removes the drop filter; the connection goes on in fd, and the peer
 * retransmits what was dropped.  -errno of setsockopt. */
SOCCR_API int soccr_resume(int fd);

/* ---- restore -------------------------------------------------------- */

struct soccr_restore_opts {
	size_t sz;
	uint32_t flags;        /* SOCCR_RESTORE_*; unknown bits give -EINVAL */
	soccr_log_fn log;
	void *log_arg;
	/* Restore under other addresses (NULL: the saved ones).  The family
	 * must match. */
	const struct sockaddr *local;
	socklen_t local_len;
	const struct sockaddr *peer;
	socklen_t peer_len;
	/* With SOCCR_RESTORE_NETNS: the network namespace (an fd of
	 * /proc/PID/ns/net or /run/netns/NAME) to make the socket in.  The
	 * calling thread enters it for the time of the call (CAP_SYS_ADMIN)
	 * and comes back; the socket stays in it. */
	int netns_fd;
};
/* Do not restore SO_RCVBUF/SO_SNDBUF (they lock the sizes and stop
 * autotuning; without them a large receive queue may not fit). */
#define SOCCR_RESTORE_NO_BUFSIZE 0x1u
/* Skip the socket options (TCP_NODELAY, keepalive, ...). */
#define SOCCR_RESTORE_NO_SOCKOPTS 0x2u
/* Make the socket in the network namespace netns_fd. */
#define SOCCR_RESTORE_NETNS 0x4u

/*
 * Creates a socket holding the connection t in the calling thread's
 * network namespace (or netns_fd's); sets *ret_fd (O_CLOEXEC, blocking).  For a listener
 * the new socket is bound and listening (restore the children apart).
 *
 * Returns 0, or -EADDRNOTAVAIL (the local address is not on this host,
 * or the old socket still holds the four-tuple in this namespace),
 * -EADDRINUSE (a listener already holds the port), -EPERM (no
 * CAP_NET_ADMIN; raw sockets for half-closed states need CAP_NET_RAW),
 * -EBADMSG (t is inconsistent, e.g. from a corrupted image), or -errno of
 * the failing call.  Nothing is left behind on failure.
 */
SOCCR_API int soccr_restore(const struct soccr_tcp *t, const struct soccr_restore_opts *opts,
			    int *ret_fd);

/* ---- image stream records --------------------------------------------- */

struct crimg_writer;
struct crimg_reader;
struct crimg_record;

/* Appends t as records: TCP_CONN (or TCP_LISTEN, then its children as
 * TCP_CONN), each followed by its TCP_SNDQ / TCP_RCVQ raw records when
 * non-empty.  -errno from the writer. */
SOCCR_API int soccr_tcp__write(const struct soccr_tcp *t, struct crimg_writer *w);

/* rec: the current record of r, of type TCP_CONN or TCP_LISTEN.  Reads
 * it and the records that belong to it.  -EBADMSG if they are
 * inconsistent (lengths, addresses, state; log says which), -EPROTO if a
 * queue record is missing, -errno of the reader otherwise. */
struct soccr_read_opts {
	size_t sz;
	uint32_t flags;        /* none yet: must be 0 */
	soccr_log_fn log;
	void *log_arg;
};
SOCCR_API int soccr_tcp__read(struct crimg_reader *r, const struct crimg_record *rec,
			      const struct soccr_read_opts *opts, struct soccr_tcp **ret);

/* ---- the network lock (nftables) ---------------------------------------- */

struct soccr_netlock;

struct soccr_netlock_opts {
	size_t sz;
	uint32_t flags;        /* none yet: must be 0 */
	soccr_log_fn log;
	void *log_arg;
};

/*
 * Creates an empty lock in the calling thread's network namespace: an
 * nftables table of its own ("inet soccr_lock_<pid>_<n>") whose rules drop
 * the packets of the connections added to it, in and out, except those
 * marked SOCCR_MARK.  libnftables is loaded at run time.  The table is
 * an nftables "owner" table: it disappears when this process exits or is
 * killed, so a lock never outlives its holder.
 * -ENOSYS libnftables missing; -EPERM no CAP_NET_ADMIN; -EMFILE the
 * process already holds about a thousand fds (libnftables uses select():
 * create the lock early).
 */
SOCCR_API int soccr_netlock__new(const struct soccr_netlock_opts *opts, struct soccr_netlock **ret);
/* Locks one connection by its addresses (both the same family); peer
 * NULL locks new connections (SYNs) to the local port. */
SOCCR_API int soccr_netlock__add(struct soccr_netlock *lk, const struct sockaddr *local,
				 const struct sockaddr *peer);
/* Locks the connection of socket fd (or, for a listener, its port). */
SOCCR_API int soccr_netlock__add_fd(struct soccr_netlock *lk, int fd);
/* Locks the connection saved in t (restore side). */
SOCCR_API int soccr_netlock__add_tcp(struct soccr_netlock *lk, const struct soccr_tcp *t);
/* Unlocks one connection (a lock can live long and serve many hand-offs:
 * adding and removing an element is much cheaper than a new table). */
SOCCR_API int soccr_netlock__remove(struct soccr_netlock *lk, const struct sockaddr *local,
				    const struct sockaddr *peer);
SOCCR_API int soccr_netlock__remove_tcp(struct soccr_netlock *lk, const struct soccr_tcp *t);
/* Connections locked now. */
SOCCR_API unsigned soccr_netlock__count(const struct soccr_netlock *lk);
/* Removes the table: every connection is unlocked.  Idempotent. */
SOCCR_API int soccr_netlock__release(struct soccr_netlock *lk);
/* Releases (if not done) and frees.  NULL ok. */
SOCCR_API void soccr_netlock__free(struct soccr_netlock *lk);

#ifdef __cplusplus
}
#endif
#endif /* SOCCR_H */
