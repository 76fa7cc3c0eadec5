/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A saved connection as image-stream records (libcrimg/schema/tcp.proto):
 *   TCP_CONN  message, then TCP_SNDQ (raw) if anything is queued to send,
 *             then TCP_RCVQ (raw) if anything was received and not read;
 *   TCP_LISTEN message, then its accept queue: `children` TCP_CONN groups.
 * Queue bytes are raw records, so they stream without a copy into a
 * message and carry the framing's payload checksum.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "internal.h"

#define SOCKOPTS(X) \
	X(SO_I_NODELAY, nodelay) X(SO_I_CORK, cork) X(SO_I_KEEPALIVE, keepalive) \
	X(SO_I_KEEPIDLE, keepidle) X(SO_I_KEEPINTVL, keepintvl) X(SO_I_KEEPCNT, keepcnt) \
	X(SO_I_USER_TIMEOUT, user_timeout) X(SO_I_NOTSENT_LOWAT, notsent_lowat) \
	X(SO_I_WINDOW_CLAMP, window_clamp) X(SO_I_LINGER2, linger2) \
	X(SO_I_THIN_LT, thin_linear_timeouts) X(SO_I_RCVBUF, rcvbuf) X(SO_I_SNDBUF, sndbuf) \
	X(SO_I_MARK, mark) X(SO_I_PRIORITY, priority) X(SO_I_RCVLOWAT, rcvlowat) \
	X(SO_I_OOBINLINE, oobinline) X(SO_I_REUSEADDR, reuseaddr) X(SO_I_REUSEPORT, reuseport) \
	X(SO_I_TOS, tos) X(SO_I_TTL, ttl) X(SO_I_TCLASS, tclass) X(SO_I_HOPS, unicast_hops) \
	X(SO_I_V6ONLY, v6only) X(SO_I_DEFER_ACCEPT, defer_accept) X(SO_I_FASTOPEN, fastopen) \
	X(SO_I_MAXPACING, max_pacing_rate) X(SO_I_FREEBIND, freebind) \
	X(SO_I_TRANSPARENT, transparent)

static void opts_to_msg(const struct soccr_sockopts *so, Crimg__TcpSockopts *m)
{
#define X(idx, f) if (so->have & (1ull << idx)) { m->has_##f = 1; m->f = so->val[idx]; }
	SOCKOPTS(X)
#undef X
	if (so->have_linger) {
		m->has_linger_on = 1;
		m->linger_on = so->linger_on != 0;
		m->has_linger_secs = 1;
		m->linger_secs = (uint32_t)so->linger_secs;
	}
	if (so->cong[0])
		m->congestion = (char *)so->cong;
	if (so->bindtodev[0])
		m->bind_to_device = (char *)so->bindtodev;
}

static int opts_from_msg(const Crimg__TcpSockopts *m, struct soccr_sockopts *so)
{
	memset(so, 0, sizeof(*so));
	if (!m)
		return 0;
#define X(idx, f) if (m->has_##f) { so->have |= 1ull << idx; so->val[idx] = (int32_t)m->f; }
	SOCKOPTS(X)
#undef X
	if (m->has_linger_on) {
		so->have_linger = true;
		so->linger_on = m->linger_on;
		so->linger_secs = m->has_linger_secs ? (int32_t)m->linger_secs : 0;
	}
	if (m->congestion) {
		if (strlen(m->congestion) >= sizeof(so->cong))
			return -EBADMSG;
		strcpy(so->cong, m->congestion);
	}
	if (m->bind_to_device) {
		if (strlen(m->bind_to_device) >= sizeof(so->bindtodev))
			return -EBADMSG;
		strcpy(so->bindtodev, m->bind_to_device);
	}
	return 0;
}

static void addr_to_msg(const struct sockaddr_storage *ss, Crimg__TcpAddr *m)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		m->family = AF_INET;
		m->addr.data = (uint8_t *)&s->sin_addr;
		m->addr.len = 4;
		m->port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		m->family = AF_INET6;
		m->addr.data = (uint8_t *)&s->sin6_addr;
		m->addr.len = 16;
		m->port = ntohs(s->sin6_port);
		if (s->sin6_scope_id) {
			m->has_scope_id = 1;
			m->scope_id = s->sin6_scope_id;
		}
		if (s->sin6_flowinfo) {
			m->has_flowinfo = 1;
			m->flowinfo = s->sin6_flowinfo;
		}
	}
}

static int addr_from_msg(const Crimg__TcpAddr *m, struct sockaddr_storage *ss, socklen_t *len,
			 const struct soccr_log *lg)
{
	memset(ss, 0, sizeof(*ss));
	if (!m || m->port > 65535)
		goto bad;
	if (m->family == AF_INET && m->addr.len == 4) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, m->addr.data, 4);
		s->sin_port = htons((uint16_t)m->port);
		*len = sizeof(*s);
		return 0;
	}
	if (m->family == AF_INET6 && m->addr.len == 16) {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, m->addr.data, 16);
		s->sin6_port = htons((uint16_t)m->port);
		s->sin6_scope_id = m->has_scope_id ? m->scope_id : 0;
		s->sin6_flowinfo = m->has_flowinfo ? m->flowinfo : 0;
		*len = sizeof(*s);
		return 0;
	}
bad:
	loge(lg, "bad address in the TCP record");
	return -EBADMSG;
}

static int write_conn(const struct soccr_tcp *t, struct crimg_writer *w)
{
	Crimg__TcpConn m = CRIMG__TCP_CONN__INIT;
	Crimg__TcpAddr la = CRIMG__TCP_ADDR__INIT, pa = CRIMG__TCP_ADDR__INIT;
	Crimg__TcpSockopts so = CRIMG__TCP_SOCKOPTS__INIT;
	int r;

	addr_to_msg(&t->local, &la);
	addr_to_msg(&t->peer, &pa);
	opts_to_msg(&t->so, &so);
	m.state = t->state;
	m.local = &la;
	m.peer = &pa;
	m.snd_seq = t->snd_seq;
	m.rcv_seq = t->rcv_seq;
	m.unacked = t->unacked;
	m.unsent = t->unsent;
	m.received = t->received;
#define SET(f, v) do { m.has_##f = 1; m.f = (v); } while (0)
	SET(fin_sent, t->fin_sent);
	SET(fin_acked, t->fin_acked);
	SET(fin_rcvd, t->fin_rcvd);
	SET(mss_clamp, t->mss_clamp);
	SET(sack, !!(t->opt_mask & 2));
	SET(timestamps, !!(t->opt_mask & 1));
	SET(wscale, !!(t->opt_mask & 4));
	SET(snd_wscale, t->snd_wscale);
	SET(rcv_wscale, t->rcv_wscale);
	SET(timestamp, t->timestamp);
	SET(has_window, t->have_window);
	if (t->have_window) {
		SET(snd_wl1, t->snd_wl1);
		SET(snd_wnd, t->snd_wnd);
		SET(max_window, t->max_window);
		SET(rcv_wnd, t->rcv_wnd);
		SET(rcv_wup, t->rcv_wup);
	}
#undef SET
	m.opts = &so;
	if ((r = crimg_writer__add_msg(w, CRIMG_T_TCP_CONN, CRIMG_REC_REQUIRED, &m.base)) < 0)
		return r;
	if (t->unacked + t->unsent &&
	    (r = crimg_writer__add_bytes(w, CRIMG_T_TCP_SNDQ, CRIMG_REC_REQUIRED, t->sndq,
					 (size_t)t->unacked + t->unsent)) < 0)
		return r;
	if (t->received &&
	    (r = crimg_writer__add_bytes(w, CRIMG_T_TCP_RCVQ, CRIMG_REC_REQUIRED, t->rcvq, t->received)) < 0)
		return r;
	return 0;
}

SOCCR_API int soccr_tcp__write(const struct soccr_tcp *t, struct crimg_writer *w)
{
	Crimg__TcpListen m = CRIMG__TCP_LISTEN__INIT;
	Crimg__TcpAddr la = CRIMG__TCP_ADDR__INIT;
	Crimg__TcpSockopts so = CRIMG__TCP_SOCKOPTS__INIT;
	unsigned i;
	int r;

	if (!t || !w)
		return -EINVAL;
	if (t->state != SOCCR_LISTEN)
		return write_conn(t, w);
	addr_to_msg(&t->local, &la);
	opts_to_msg(&t->so, &so);
	m.local = &la;
	m.backlog = t->backlog;
	m.children = t->nr_children;
	m.opts = &so;
	if ((r = crimg_writer__add_msg(w, CRIMG_T_TCP_LISTEN, CRIMG_REC_REQUIRED, &m.base)) < 0)
		return r;
	for (i = 0; i < t->nr_children; i++)
		if ((r = write_conn(t->children[i], w)) < 0)
			return r;
	return 0;
}

/* Reads the raw queue record that must come next. */
static int read_queue(struct crimg_reader *r, uint32_t type, uint32_t len, uint8_t **ret,
		      const struct soccr_log *lg)
{
	const struct crimg_record *rec;
	uint8_t *buf;
	int ret2;

	ret2 = crimg_reader__next(r, &rec);
	if (ret2 <= 0) {
		loge(lg, "%s record missing after TCP_CONN%s%s", type == CRIMG_T_TCP_SNDQ ? "TCP_SNDQ" : "TCP_RCVQ",
		     ret2 < 0 ? ": " : "", ret2 < 0 ? crimg_reader__errmsg(r) : "");
		return ret2 < 0 ? ret2 : -EPROTO;
	}
	if (rec->type != type || rec->len != len) {
		loge(lg, "record %llu: expected %s of %u bytes, found type 0x%x of %llu bytes",
		     (unsigned long long)rec->index, type == CRIMG_T_TCP_SNDQ ? "TCP_SNDQ" : "TCP_RCVQ", len,
		     rec->type, (unsigned long long)rec->len);
		return rec->type != type ? -EPROTO : -EBADMSG;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	if ((ret2 = crimg_reader__read_payload(r, buf, len)) < 0) {
		loge(lg, "%s", crimg_reader__errmsg(r));
		free(buf);
		return ret2;
	}
	*ret = buf;
	return 0;
}

static int read_conn(struct crimg_reader *r, struct soccr_tcp **ret, const struct soccr_log *lg)
{
	Crimg__TcpConn *m = NULL;
	struct soccr_tcp *t;
	int e;

	e = crimg_reader__read_msg(r, &crimg__tcp_conn__descriptor, (ProtobufCMessage **)&m);
	if (e < 0) {
		loge(lg, "%s", crimg_reader__errmsg(r));
		return e;
	}
	t = soccr_tcp_alloc();
	if (!t) {
		e = -ENOMEM;
		goto out;
	}
	t->state = m->state;
	if ((e = addr_from_msg(m->local, &t->local, &t->local_len, lg)) < 0 ||
	    (e = addr_from_msg(m->peer, &t->peer, &t->peer_len, lg)) < 0)
		goto out;
	t->family = t->local.ss_family;
	t->snd_seq = m->snd_seq;
	t->rcv_seq = m->rcv_seq;
	t->unacked = m->unacked;
	t->unsent = m->unsent;
	t->received = m->received;
	t->fin_sent = m->has_fin_sent && m->fin_sent;
	t->fin_acked = m->has_fin_acked && m->fin_acked;
	t->fin_rcvd = m->has_fin_rcvd && m->fin_rcvd;
	t->mss_clamp = m->has_mss_clamp ? m->mss_clamp : 0;
	t->opt_mask = (m->timestamps ? 1u : 0) | (m->sack ? 2u : 0) | (m->wscale ? 4u : 0);
	t->snd_wscale = m->snd_wscale;
	t->rcv_wscale = m->rcv_wscale;
	t->timestamp = m->timestamp;
	t->have_window = m->has_has_window && m->has_window;
	t->snd_wl1 = m->snd_wl1;
	t->snd_wnd = m->snd_wnd;
	t->max_window = m->max_window;
	t->rcv_wnd = m->rcv_wnd;
	t->rcv_wup = m->rcv_wup;
	if ((e = opts_from_msg(m->opts, &t->so)) < 0) {
		loge(lg, "bad socket options in the TCP record");
		goto out;
	}
	/* Lengths are checked before anything is allocated for them. */
	t->sndq = t->rcvq = NULL;
	if ((uint64_t)t->unacked + t->unsent > (1u << 30) || t->received > (1u << 30)) {
		loge(lg, "absurd queue lengths in the TCP record (%u+%u, %u)", t->unacked, t->unsent, t->received);
		e = -EBADMSG;
		goto out;
	}
	if ((t->unacked + t->unsent &&
	     (e = read_queue(r, CRIMG_T_TCP_SNDQ, t->unacked + t->unsent, &t->sndq, lg)) < 0) ||
	    (t->received && (e = read_queue(r, CRIMG_T_TCP_RCVQ, t->received, &t->rcvq, lg)) < 0))
		goto out;
	if ((e = soccr_tcp_check(t, lg)) < 0)
		goto out;
	*ret = t;
	t = NULL;
out:
	soccr_tcp__free(t);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return e;
}

static int read_listen(struct crimg_reader *r, struct soccr_tcp **ret, const struct soccr_log *lg)
{
	Crimg__TcpListen *m = NULL;
	struct soccr_tcp *t;
	unsigned i;
	int e;

	e = crimg_reader__read_msg(r, &crimg__tcp_listen__descriptor, (ProtobufCMessage **)&m);
	if (e < 0) {
		loge(lg, "%s", crimg_reader__errmsg(r));
		return e;
	}
	t = soccr_tcp_alloc();
	if (!t) {
		e = -ENOMEM;
		goto out;
	}
	t->state = SOCCR_LISTEN;
	if ((e = addr_from_msg(m->local, &t->local, &t->local_len, lg)) < 0)
		goto out;
	t->family = t->local.ss_family;
	t->backlog = m->backlog;
	if ((e = opts_from_msg(m->opts, &t->so)) < 0)
		goto out;
	if (m->children > 65536) {
		loge(lg, "absurd accept queue length %u", m->children);
		e = -EBADMSG;
		goto out;
	}
	for (i = 0; i < m->children; i++) {
		const struct crimg_record *rec;
		struct soccr_tcp *c, **n;

		e = crimg_reader__next(r, &rec);
		if (e <= 0 || rec->type != CRIMG_T_TCP_CONN) {
			loge(lg, "accept queue entry %u of %u missing", i + 1, m->children);
			e = e < 0 ? e : -EPROTO;
			goto out;
		}
		if ((e = read_conn(r, &c, lg)) < 0)
			goto out;
		n = realloc(t->children, (t->nr_children + 1) * sizeof(*n));
		if (!n) {
			soccr_tcp__free(c);
			e = -ENOMEM;
			goto out;
		}
		t->children = n;
		t->children[t->nr_children++] = c;
	}
	if ((e = soccr_tcp_check(t, lg)) < 0)
		goto out;
	*ret = t;
	t = NULL;
out:
	soccr_tcp__free(t);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return e;
}

SOCCR_API int soccr_tcp__read(struct crimg_reader *r, const struct crimg_record *rec,
			      const struct soccr_read_opts *opts, struct soccr_tcp **ret)
{
	struct soccr_log lg = { OPTS_GET(opts, log, NULL), OPTS_GET(opts, log_arg, NULL) };

	if (!r || !rec || !ret || !OPTS_VALID(opts, soccr_read_opts) || OPTS_GET(opts, flags, 0))
		return -EINVAL;
	if (rec->type == CRIMG_T_TCP_CONN)
		return read_conn(r, ret, &lg);
	if (rec->type == CRIMG_T_TCP_LISTEN)
		return read_listen(r, ret, &lg);
	loge(&lg, "record %llu is not a TCP_CONN or TCP_LISTEN record", (unsigned long long)rec->index);
	return -EINVAL;
}
