/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Save and restore of one TCP socket with TCP_REPAIR.  See soccr.h for the
 * call sequences and docs/soccr.md for the reasons behind each step.
 *
 * Sequence numbers (the kernel's names):
 *
 *    send side:  snd_una <= snd_nxt <= write_seq
 *                SIOCOUTQ = write_seq - snd_una, SIOCOUTQNSD = write_seq - snd_nxt
 *    recv side:  copied_seq <= rcv_nxt, SIOCINQ = rcv_nxt - copied_seq
 *
 * In repair mode TCP_QUEUE_SEQ reads write_seq (send queue) or rcv_nxt
 * (receive queue), and on a closed socket sets the starting point of the
 * queue, which the repair-mode send() calls then fill.  A FIN takes one
 * sequence number but no byte of a queue: we keep sequence numbers without
 * it and rebuild it at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "internal.h"

#ifndef SIOCOUTQNSD
#define SIOCOUTQNSD 0x894B
#endif
#ifndef TCPOPT_SACK_PERM
#define TCPOPT_SACK_PERM TCPOPT_SACK_PERMITTED
#endif

void soccr_logf(const struct soccr_log *lg, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!lg || !lg->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lg->fn(level, buf, lg->arg);
}

static const char *const state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

SOCCR_API const char *soccr_state_name(uint32_t state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "?";
}

#define F(s) ((s) < 32u ? 1u << (s) : 0u)
#define ST_OK (F(SOCCR_ESTABLISHED) | F(SOCCR_FIN_WAIT1) | F(SOCCR_FIN_WAIT2) | \
	       F(SOCCR_CLOSE_WAIT) | F(SOCCR_LAST_ACK) | F(SOCCR_CLOSING))
#define ST_OUR_FIN (F(SOCCR_FIN_WAIT1) | F(SOCCR_FIN_WAIT2) | F(SOCCR_LAST_ACK) | F(SOCCR_CLOSING))
#define ST_PEER_FIN (F(SOCCR_CLOSE_WAIT) | F(SOCCR_LAST_ACK) | F(SOCCR_CLOSING))

/* ---- the object ------------------------------------------------------- */

struct soccr_tcp *soccr_tcp_alloc(void)
{
	return calloc(1, sizeof(struct soccr_tcp));
}

SOCCR_API void soccr_tcp__free(struct soccr_tcp *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < t->nr_children; i++)
		soccr_tcp__free(t->children[i]);
	free(t->children);
	free(t->sndq);
	free(t->rcvq);
	free(t);
}

SOCCR_API uint32_t soccr_tcp__state(const struct soccr_tcp *t) { return t->state; }
SOCCR_API int soccr_tcp__family(const struct soccr_tcp *t) { return t->family; }
SOCCR_API uint32_t soccr_tcp__unacked(const struct soccr_tcp *t) { return t->unacked; }
SOCCR_API uint32_t soccr_tcp__unsent(const struct soccr_tcp *t) { return t->unsent; }
SOCCR_API uint32_t soccr_tcp__received(const struct soccr_tcp *t) { return t->received; }
SOCCR_API const void *soccr_tcp__send_queue(const struct soccr_tcp *t) { return t->sndq; }
SOCCR_API const void *soccr_tcp__recv_queue(const struct soccr_tcp *t) { return t->rcvq; }
SOCCR_API unsigned soccr_tcp__nr_children(const struct soccr_tcp *t) { return t->nr_children; }

SOCCR_API const struct sockaddr *soccr_tcp__local(const struct soccr_tcp *t, socklen_t *len)
{
	if (len)
		*len = t->local_len;
	return (const struct sockaddr *)&t->local;
}

SOCCR_API const struct sockaddr *soccr_tcp__peer(const struct soccr_tcp *t, socklen_t *len)
{
	if (t->state == SOCCR_LISTEN)
		return NULL;
	if (len)
		*len = t->peer_len;
	return (const struct sockaddr *)&t->peer;
}

SOCCR_API const struct soccr_tcp *soccr_tcp__next_child(const struct soccr_tcp *t,
							 const struct soccr_tcp *prev)
{
	unsigned i;

	if (!prev)
		return t->nr_children ? t->children[0] : NULL;
	for (i = 0; i + 1 < t->nr_children; i++)
		if (t->children[i] == prev)
			return t->children[i + 1];
	return NULL;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

SOCCR_API const char *soccr_tcp__describe(const struct soccr_tcp *t, char *buf, size_t len)
{
	char l[64], p[64];

	fmt_addr(&t->local, l, sizeof(l));
	if (t->state == SOCCR_LISTEN) {
		snprintf(buf, len, "%s LISTEN (%u pending)", l, t->nr_children);
	} else {
		fmt_addr(&t->peer, p, sizeof(p));
		snprintf(buf, len, "%s -> %s %s", l, p, soccr_state_name(t->state));
	}
	return buf;
}

/* ---- helpers ------------------------------------------------------------ */

static int sopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int repair_queue(int fd, int q)
{
	return sopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, q);
}

static int repair_on(int fd, const struct soccr_log *lg)
{
	int r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);

	if (r == -EPERM)
		loge(lg, "cannot turn on TCP repair mode: CAP_NET_ADMIN is needed in the socket's network namespace");
	else if (r < 0)
		loge(lg, "cannot turn on TCP repair mode: %s", strerror(-r));
	return r;
}

/* Reads the kernel's tcp_info head: state, options, window scales. */
struct tinfo {
	uint8_t state, ca_state, retransmits, probes, backoff, options;
	uint8_t wscale;   /* snd:4 rcv:4 */
	uint8_t misc;
	uint32_t rto, ato, snd_mss, rcv_mss, unacked, sacked;
};

static int get_tinfo(int fd, struct tinfo *ti)
{
	struct tcp_info i;
	socklen_t len = sizeof(i);

	memset(&i, 0, sizeof(i));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len) < 0)
		return -errno;
	ti->state = i.tcpi_state;
	ti->options = i.tcpi_options;
	ti->wscale = (uint8_t)(i.tcpi_snd_wscale | i.tcpi_rcv_wscale << 4);
	ti->unacked = i.tcpi_unacked;
	ti->sacked = i.tcpi_sacked;
	return 0;
}

/* The socket must be TCP over IPv4 or IPv6. */
static int check_tcp(int fd, int *family, const struct soccr_log *lg)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0) {
		int err = errno;

		loge(lg, "%s", err == ENOTSOCK ? "not a socket" : strerror(err));
		return -err;
	}
	*family = v;
	len = sizeof(v);
	if ((*family != AF_INET && *family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 || v != IPPROTO_TCP) {
		loge(lg, "not a TCP socket");
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* Peeks exactly len bytes of the selected repair queue. */
static int peek_queue(int fd, int q, uint32_t len, uint8_t **ret, const struct soccr_log *lg)
{
	uint8_t *buf;
	ssize_t n;
	int r;

	*ret = NULL;
	if ((r = repair_queue(fd, q)) < 0)
		return r;
	if (!len)
		return 0;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	n = recv(fd, buf, (size_t)len + 1, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		r = n < 0 ? -errno : -EIO;
		loge(lg, "cannot read the %s queue: got %zd bytes of %u%s%s",
		     q == TCP_SEND_QUEUE ? "send" : "receive", n, len, n < 0 ? ": " : "",
		     n < 0 ? strerror(errno) : "");
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

static int get_seq(int fd, int q, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);
	int r;

	if ((r = repair_queue(fd, q)) < 0)
		return r;
	if (getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len) < 0)
		return -errno;
	return 0;
}

/* ---- save ---------------------------------------------------------------- */

static int save_conn(int fd, struct soccr_tcp *t, const struct tinfo *ti, const struct soccr_log *lg)
{
	uint32_t mstate = F(t->state), write_seq, rcv_nxt, ws2, rn2;
	int outq, nsd, inq, r, v;
	struct tcp_repair_window w;
	socklen_t len;

	t->peer_len = sizeof(t->peer);
	if (getpeername(fd, (struct sockaddr *)&t->peer, &t->peer_len) < 0)
		return -errno;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0 || ioctl(fd, SIOCOUTQNSD, &nsd) < 0 ||
	    ioctl(fd, SIOCINQ, &inq) < 0)
		return -errno;
	if ((r = get_seq(fd, TCP_SEND_QUEUE, &write_seq)) < 0 ||
	    (r = get_seq(fd, TCP_RECV_QUEUE, &rcv_nxt)) < 0)
		return r;

	/* Our FIN: queued in these states; sent unless data is still
	 * unsent before it; acknowledged in FIN_WAIT2 only. */
	if (mstate & ST_OUR_FIN) {
		t->fin_acked = t->state == SOCCR_FIN_WAIT2;
		t->fin_sent = nsd == 0;
		if (nsd > 0)
			nsd--;
		if (!t->fin_acked && outq > 0)
			outq--;
		write_seq--;
	}
	if (mstate & ST_PEER_FIN) {
		t->fin_rcvd = true;
		rcv_nxt--;
	}
	if (outq < nsd || nsd < 0 || inq < 0) {
		loge(lg, "inconsistent queue sizes (out %d, unsent %d, in %d)", outq, nsd, inq);
		return -EIO;
	}
	t->snd_seq = write_seq;
	t->rcv_seq = rcv_nxt;
	t->unacked = (uint32_t)(outq - nsd);
	t->unsent = (uint32_t)nsd;
	t->received = (uint32_t)inq;

	if ((r = peek_queue(fd, TCP_RECV_QUEUE, t->received, &t->rcvq, lg)) < 0 ||
	    (r = peek_queue(fd, TCP_SEND_QUEUE, t->unacked + t->unsent, &t->sndq, lg)) < 0)
		return r;

	/* Nothing may have moved while we read (the filter holds the peer
	 * off; the owner of the socket might still write). */
	if ((r = get_seq(fd, TCP_SEND_QUEUE, &ws2)) < 0 || (r = get_seq(fd, TCP_RECV_QUEUE, &rn2)) < 0)
		return r;
	if (ws2 - write_seq != ((mstate & ST_OUR_FIN) ? 1u : 0u) ||
	    rn2 - rcv_nxt != (t->fin_rcvd ? 1u : 0u)) {
		loge(lg, "the connection moved while it was being saved");
		return -EAGAIN;
	}

	t->opt_mask = ti->options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	if (t->opt_mask & TCPI_OPT_WSCALE) {
		t->snd_wscale = ti->wscale & 0xf;
		t->rcv_wscale = ti->wscale >> 4;
	}
	len = sizeof(v);
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &len) < 0)
		return -errno;
	t->mss_clamp = (uint32_t)v;
	if (t->opt_mask & TCPI_OPT_TIMESTAMPS) {
		len = sizeof(v);
		if (getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v, &len) < 0)
			return -errno;
		t->timestamp = (uint32_t)v;
	}
	len = sizeof(w);
	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) == 0) {
		t->have_window = true;
		t->snd_wl1 = w.snd_wl1;
		t->snd_wnd = w.snd_wnd;
		t->max_window = w.max_window;
		t->rcv_wnd = w.rcv_wnd;
		t->rcv_wup = w.rcv_wup;
	} else if (errno != ENOPROTOOPT) {
		return -errno;
	}
	return repair_queue(fd, TCP_NO_QUEUE);
}

static int save_listener(int fd, struct soccr_tcp *t, const struct tinfo *ti, uint32_t flags,
			 const struct soccr_save_opts *opts, const struct soccr_log *lg)
{
	LIBSOCCR_OPTS(soccr_save_opts, copts, .log = lg->fn, .log_arg = lg->arg,
		      .lock = OPTS_GET(opts, lock, NULL));
	int fl, r = 0;

	t->backlog = ti->sacked ? ti->sacked : 128;
	if (flags & SOCCR_SAVE_NO_CHILDREN)
		return 0;
	/* Take the accept queue: non-blocking for the time of the loop
	 * (the flag is shared with the owner of the socket, put it back). */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	for (;;) {
		struct soccr_tcp *c, **n;
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				r = -errno;
			if (errno == EINTR)
				continue;
			break;
		}
		r = soccr_save(cfd, &copts, &c);
		close(cfd);   /* in repair mode: silent */
		if (r < 0)
			break;
		n = realloc(t->children, (t->nr_children + 1) * sizeof(*n));
		if (!n) {
			soccr_tcp__free(c);
			r = -ENOMEM;
			break;
		}
		t->children = n;
		t->children[t->nr_children++] = c;
	}
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
	return r;
}

SOCCR_API int soccr_save(int fd, const struct soccr_save_opts *opts, struct soccr_tcp **ret)
{
	struct soccr_log lg = { OPTS_GET(opts, log, NULL), OPTS_GET(opts, log_arg, NULL) };
	uint32_t flags = OPTS_GET(opts, flags, 0);
	struct soccr_tcp *t;
	struct tinfo ti;
	struct soccr_netlock *lk = OPTS_GET(opts, lock, NULL);
	int family = 0, r;
	bool repair = false, locked = false;

	if (!ret || fd < 0 || !OPTS_VALID(opts, soccr_save_opts) ||
	    (flags & ~(SOCCR_SAVE_RESUME | SOCCR_SAVE_NO_CHILDREN)))
		return -EINVAL;
	if ((r = check_tcp(fd, &family, &lg)) < 0)
		return r;
	if ((r = get_tinfo(fd, &ti)) < 0)
		return r;
	if (!(F(ti.state) & (ST_OK | F(SOCCR_LISTEN)))) {
		loge(&lg, "cannot save a TCP socket in state %s", soccr_state_name(ti.state));
		return -EOPNOTSUPP;
	}
	t = soccr_tcp_alloc();
	if (!t)
		return -ENOMEM;
	t->family = family;
	t->state = ti.state;
	t->local_len = sizeof(t->local);
	t->peer_len = sizeof(t->peer);
	if (getsockname(fd, (struct sockaddr *)&t->local, &t->local_len) < 0 ||
	    (t->state != SOCCR_LISTEN && getpeername(fd, (struct sockaddr *)&t->peer, &t->peer_len) < 0)) {
		r = -errno;
		goto fail;
	}

	/* Lock and freeze first: from here on the peer's segments are
	 * dropped. */
	if (lk) {
		if ((r = soccr_netlock__add_fd(lk, fd)) < 0)
			goto fail;
		locked = true;
	}
	if ((r = soccr_filter_drop(fd)) < 0) {
		loge(&lg, "cannot attach the drop filter: %s%s", strerror(-r),
		     r == -EPERM ? " (CAP_NET_ADMIN is needed in the socket's network namespace)" : "");
		goto fail;
	}
	soccr_sockopts_save(fd, family, t->state == SOCCR_LISTEN, &t->so, &lg);
	if (t->state == SOCCR_LISTEN) {
		r = save_listener(fd, t, &ti, flags, opts, &lg);
	} else {
		if ((r = repair_on(fd, &lg)) < 0)
			goto fail;
		repair = true;
		/* The state may have changed before the filter was on. */
		if ((r = get_tinfo(fd, &ti)) < 0)
			goto fail;
		if (!(F(ti.state) & ST_OK)) {
			loge(&lg, "cannot save a TCP socket in state %s", soccr_state_name(ti.state));
			r = -EOPNOTSUPP;
			goto fail;
		}
		t->state = ti.state;
		/* The owner may write meanwhile (its reads and writes fail
		 * only once repair mode is on): read again a few times. */
		for (int tries = 0; tries < 4; tries++) {
			r = save_conn(fd, t, &ti, &lg);
			if (r != -EAGAIN)
				break;
			free(t->sndq);
			free(t->rcvq);
			t->sndq = t->rcvq = NULL;
			t->fin_sent = t->fin_acked = t->fin_rcvd = false;
			if ((r = get_tinfo(fd, &ti)) < 0)
				break;
			if (!(F(ti.state) & ST_OK)) {
				loge(&lg, "the connection went to state %s while it was being saved",
				     soccr_state_name(ti.state));
				r = -EOPNOTSUPP;
				break;
			}
			t->state = ti.state;
			r = -EAGAIN;
		}
	}
	if (r < 0)
		goto fail;
	if (flags & SOCCR_SAVE_RESUME) {
		if (repair)
			sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
		soccr_filter_clear(fd);
	}
	{
		char d[160];

		logd(&lg, "saved %s: unacked %u unsent %u received %u", soccr_tcp__describe(t, d, sizeof(d)),
		     t->unacked, t->unsent, t->received);
	}
	*ret = t;
	return 0;
fail:
	if (repair) {
		repair_queue(fd, TCP_NO_QUEUE);
		sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
	}
	soccr_filter_clear(fd);
	/* The connection goes on in fd: let its packets through again. */
	if (locked)
		soccr_netlock__remove(lk, (struct sockaddr *)&t->local,
				      t->state == SOCCR_LISTEN ? NULL : (struct sockaddr *)&t->peer);
	soccr_tcp__free(t);
	return r;
}

SOCCR_API int soccr_resume(int fd)
{
	int acc = 0, r = 0, r2;
	socklen_t al = sizeof(acc);

	if (fd < 0)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0)
		return -errno;
	if (!acc) {
		repair_queue(fd, TCP_NO_QUEUE);
		r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
	}
	r2 = soccr_filter_clear(fd);

	return r < 0 ? r : r2;
}

/* ---- restore ------------------------------------------------------------- */

/* Fills the selected repair queue.  A receive-queue skb is allocated
 * linear, so a large chunk can fail with ENOMEM: halve and go on. */
static int fill_queue(int fd, int q, const uint8_t *buf, uint32_t len, const struct soccr_log *lg)
{
	size_t chunk = len, off = 0;
	int r;

	if (!len)
		return 0;
	if ((r = repair_queue(fd, q)) < 0)
		return r;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = send(fd, buf + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0) {
			int err = w < 0 ? errno : EIO;

			if ((err == ENOMEM || err == EAGAIN || err == ENOBUFS) && chunk > 1024) {
				chunk /= 2;
				continue;
			}
			loge(lg, "cannot refill the %s queue (%zu of %u bytes): %s",
			     q == TCP_SEND_QUEUE ? "send" : "receive", off, len, strerror(err));
			return -err;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Sends in normal mode, waiting for room (the new socket's buffer was
 * sized like the old one, so this does not wait in practice). */
static int send_all(int fd, const uint8_t *buf, uint32_t len, const struct soccr_log *lg)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && poll(&p, 1, 10000) > 0)
				continue;
			loge(lg, "cannot send the unsent data (%zu of %u bytes): %s", off, len,
			     strerror(errno == EAGAIN ? ETIMEDOUT : errno));
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

int soccr_tcp_check(const struct soccr_tcp *t, const struct soccr_log *lg)
{
	size_t alen = t->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	if (t->family != AF_INET && t->family != AF_INET6) {
		loge(lg, "bad address family %d", t->family);
		return -EBADMSG;
	}
	if (t->local.ss_family != t->family || t->local_len != alen) {
		loge(lg, "bad local address");
		return -EBADMSG;
	}
	if (t->state == SOCCR_LISTEN)
		return 0;
	if (!(F(t->state) & ST_OK)) {
		loge(lg, "cannot restore a TCP connection in state %s (%u)", soccr_state_name(t->state), t->state);
		return t->state < 16 ? -EOPNOTSUPP : -EBADMSG;
	}
	if (t->peer.ss_family != t->family || t->peer_len != alen) {
		loge(lg, "bad peer address");
		return -EBADMSG;
	}
	if ((uint64_t)t->unacked + t->unsent > (1u << 30) || t->received > (1u << 30) ||
	    ((t->unacked || t->unsent) && !t->sndq) || (t->received && !t->rcvq)) {
		loge(lg, "bad queue lengths");
		return -EBADMSG;
	}
	if (t->snd_wscale > 14 || t->rcv_wscale > 14 || t->mss_clamp == 0 || t->mss_clamp > 65535) {
		loge(lg, "bad TCP options (mss %u, wscale %u/%u)", t->mss_clamp, t->snd_wscale, t->rcv_wscale);
		return -EBADMSG;
	}
	if (t->fin_rcvd != !!(F(t->state) & ST_PEER_FIN) ||
	    (t->fin_sent && !(F(t->state) & ST_OUR_FIN)) ||
	    (t->fin_acked && (t->state != SOCCR_FIN_WAIT2 || !t->fin_sent)) ||
	    (t->state == SOCCR_FIN_WAIT2 && !t->fin_acked) ||
	    (t->fin_sent && t->unsent) || (t->fin_acked && (t->unacked || t->unsent))) {
		loge(lg, "FIN flags do not match state %s", soccr_state_name(t->state));
		return -EBADMSG;
	}
	return 0;
}

static int bind_err(int err, const struct sockaddr_storage *a, const struct soccr_log *lg)
{
	char s[64];

	fmt_addr(a, s, sizeof(s));
	if (err == EADDRNOTAVAIL)
		loge(lg, "cannot bind to %s: the address is not present on this host", s);
	else
		loge(lg, "cannot bind to %s: %s", s, strerror(err));
	return -err;
}

/* Is the address one of this host's (in this network namespace)?  A
 * repair-mode bind does not always say, so ask with a throwaway socket;
 * sockets that bind to foreign addresses on purpose are let through. */
static int check_local(const struct soccr_tcp *t, const struct soccr_log *lg)
{
	struct sockaddr_storage a = t->local;
	int fd, err = 0;

	if ((t->so.have & (1ull << SO_I_FREEBIND) && t->so.val[SO_I_FREEBIND]) ||
	    (t->so.have & (1ull << SO_I_TRANSPARENT) && t->so.val[SO_I_TRANSPARENT]))
		return 0;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, t->local_len) < 0)
		err = errno;
	close(fd);
	if (err == EADDRNOTAVAIL)
		return bind_err(err, &t->local, lg);
	return 0;
}

static int restore_listener(const struct soccr_tcp *t, uint32_t flags, const struct soccr_log *lg)
{
	int fd, r;

	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (!(flags & SOCCR_RESTORE_NO_SOCKOPTS) &&
	    (r = soccr_sockopts_restore(fd, t->family, &t->so, flags, lg)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&t->local, t->local_len) < 0) {
		r = bind_err(errno, &t->local, lg);
		goto fail;
	}
	if (listen(fd, (int)(t->backlog > 65535 ? 65535 : t->backlog)) < 0) {
		r = -errno;
		loge(lg, "listen: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

static int restore_conn(const struct soccr_tcp *t, uint32_t flags, const struct soccr_log *lg)
{
	uint32_t snd_una = t->snd_seq - t->unacked - t->unsent;
	struct tcp_repair_opt ro[4];
	int fd, r, n = 0;

	if ((r = check_local(t, lg)) < 0)
		return r;
	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if ((r = repair_on(fd, lg)) < 0)
		goto fail;
	/* Nothing from the peer until the state is complete. */
	if ((r = soccr_filter_drop(fd)) < 0) {
		loge(lg, "cannot attach the drop filter: %s", strerror(-r));
		goto fail;
	}
	if (!(flags & SOCCR_RESTORE_NO_SOCKOPTS) &&
	    (r = soccr_sockopts_restore(fd, t->family, &t->so, flags | SOCCR_SOCKOPTS_CONN, lg)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&t->local, t->local_len) < 0) {
		r = bind_err(errno, &t->local, lg);
		goto fail;
	}
	if ((r = repair_queue(fd, TCP_RECV_QUEUE)) < 0 ||
	    (r = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(t->rcv_seq - t->received))) < 0 ||
	    (r = repair_queue(fd, TCP_SEND_QUEUE)) < 0 ||
	    (r = sopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)snd_una)) < 0) {
		loge(lg, "cannot set the sequence numbers: %s", strerror(-r));
		goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&t->peer, t->peer_len) < 0) {
		r = -errno;
		if (r == -EADDRNOTAVAIL)
			loge(lg, "cannot connect: the connection still exists in this network namespace "
				 "(close the old socket first) or the address is not local");
		else
			loge(lg, "cannot connect in repair mode: %s", strerror(-r));
		goto fail;
	}

	if (t->opt_mask & TCPI_OPT_SACK)
		ro[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERM, 0 };
	if (t->opt_mask & TCPI_OPT_WSCALE)
		ro[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, t->snd_wscale | t->rcv_wscale << 16 };
	if (t->opt_mask & TCPI_OPT_TIMESTAMPS)
		ro[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	ro[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss_clamp };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, ro, n * sizeof(ro[0])) < 0) {
		r = -errno;
		loge(lg, "cannot set the TCP options: %s", strerror(-r));
		goto fail;
	}
	if ((t->opt_mask & TCPI_OPT_TIMESTAMPS) &&
	    (r = sopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)t->timestamp)) < 0) {
		loge(lg, "cannot set the timestamp: %s", strerror(-r));
		goto fail;
	}

	if ((r = fill_queue(fd, TCP_RECV_QUEUE, t->rcvq, t->received, lg)) < 0 ||
	    (r = fill_queue(fd, TCP_SEND_QUEUE, t->sndq, t->unacked, lg)) < 0)
		goto fail;

	if (t->have_window) {
		struct tcp_repair_window w = {
			.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
			.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
		};

		/* rcv_nxt is one short until the peer's FIN is replayed. */
		if (t->fin_rcvd && w.rcv_wup == t->rcv_seq + 1) {
			w.rcv_wup--;
			w.rcv_wnd++;
		}
		if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0) {
			r = -errno;
			loge(lg, "cannot set the window: %s", strerror(-r));
			goto fail;
		}
	}

	/* Half-closed: rebuild the FINs in the order they happened, FIN_WAIT1
	 * before the peer's FIN for CLOSING, the peer's first for LAST_ACK. */
	{
		uint16_t win = (uint16_t)((t->opt_mask & TCPI_OPT_WSCALE) ? t->snd_wnd >> t->snd_wscale
									  : t->snd_wnd);
		bool ours_first = t->state != SOCCR_LAST_ACK;

		if (t->fin_sent && ours_first) {
			if ((r = repair_queue(fd, TCP_SEND_QUEUE)) < 0 || shutdown(fd, SHUT_WR) < 0) {
				r = r < 0 ? r : -errno;
				loge(lg, "cannot queue our FIN: %s", strerror(-r));
				goto fail;
			}
		}
		if (t->fin_rcvd) {
			r = soccr_inject((const struct sockaddr *)&t->peer, (const struct sockaddr *)&t->local,
					 t->rcv_seq, snd_una, TH_FIN | TH_ACK, win, lg);
			if (r < 0)
				goto fail;
		}
		if (t->fin_sent && !ours_first) {
			if ((r = repair_queue(fd, TCP_SEND_QUEUE)) < 0 || shutdown(fd, SHUT_WR) < 0) {
				r = r < 0 ? r : -errno;
				loge(lg, "cannot queue our FIN: %s", strerror(-r));
				goto fail;
			}
		}
		if (t->fin_acked) {
			r = soccr_inject((const struct sockaddr *)&t->peer, (const struct sockaddr *)&t->local,
					 t->rcv_seq + (t->fin_rcvd ? 1 : 0), t->snd_seq + 1, TH_ACK, win, lg);
			if (r < 0)
				goto fail;
		}
	}
	if ((r = repair_queue(fd, TCP_NO_QUEUE)) < 0)
		goto fail;

	/* Open up: the filter goes, repair goes (a window probe tells the
	 * peer we are here), and what was never sent is sent now. */
	if ((r = soccr_filter_clear(fd)) < 0)
		goto fail;
	if ((r = sopt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF)) < 0) {
		loge(lg, "cannot leave repair mode: %s", strerror(-r));
		goto fail;
	}
	if ((r = send_all(fd, t->sndq + t->unacked, t->unsent, lg)) < 0)
		goto fail;
	if ((F(t->state) & ST_OUR_FIN) && !t->fin_sent && shutdown(fd, SHUT_WR) < 0) {
		r = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

SOCCR_API int soccr_restore(const struct soccr_tcp *t, const struct soccr_restore_opts *opts, int *ret_fd)
{
	struct soccr_log lg = { OPTS_GET(opts, log, NULL), OPTS_GET(opts, log_arg, NULL) };
	uint32_t flags = OPTS_GET(opts, flags, 0);
	const struct sockaddr *la = OPTS_GET(opts, local, NULL), *pa = OPTS_GET(opts, peer, NULL);
	struct soccr_tcp tmp;
	int r;

	int netns = (flags & SOCCR_RESTORE_NETNS) ? OPTS_GET(opts, netns_fd, -1) : -1, home = -1;

	if (!t || !ret_fd || !OPTS_VALID(opts, soccr_restore_opts) ||
	    (flags & ~(SOCCR_RESTORE_NO_BUFSIZE | SOCCR_RESTORE_NO_SOCKOPTS | SOCCR_RESTORE_NETNS)) ||
	    ((flags & SOCCR_RESTORE_NETNS) && netns < 0))
		return -EINVAL;
	if ((r = soccr_tcp_check(t, &lg)) < 0)
		return r;
	if (la || pa) {
		tmp = *t;
		if (la) {
			socklen_t l = OPTS_GET(opts, local_len, 0);

			if (la->sa_family != t->family || l != t->local_len)
				return -EINVAL;
			memcpy(&tmp.local, la, l);
		}
		if (pa) {
			socklen_t l = OPTS_GET(opts, peer_len, 0);

			if (pa->sa_family != t->family || l != t->peer_len)
				return -EINVAL;
			memcpy(&tmp.peer, pa, l);
		}
		t = &tmp;
	}
	if (netns >= 0) {
		/* Only this thread moves, and only for the time of the call:
		 * sockets belong to the namespace they were made in. */
		home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home < 0)
			return -errno;
		if (setns(netns, CLONE_NEWNET) < 0) {
			r = -errno;
			loge(&lg, "cannot enter the network namespace: %s%s", strerror(-r),
			     r == -EPERM ? " (CAP_SYS_ADMIN is needed)" : "");
			close(home);
			return r;
		}
	}
	r = t->state == SOCCR_LISTEN ? restore_listener(t, flags, &lg) : restore_conn(t, flags, &lg);
	if (home >= 0) {
		if (setns(home, CLONE_NEWNET) < 0) {
			/* Cannot happen with the rights we just used; a thread
			 * left in the wrong namespace must not go unnoticed. */
			int err = errno;

			loge(&lg, "cannot return to the original network namespace: %s", strerror(err));
			if (r >= 0)
				close(r);
			r = -err;
		}
		close(home);
	}
	if (r < 0)
		return r;
	{
		char d[160];

		logd(&lg, "restored %s on fd %d", soccr_tcp__describe(t, d, sizeof(d)), r);
	}
	*ret_fd = r;
	return 0;
}
