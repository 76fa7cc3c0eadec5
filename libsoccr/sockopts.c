/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket options that shape a connection's behaviour, read from the
 * old socket and set on the new one.  Reading is best effort (an option
 * the kernel does not know is simply not carried); setting fails only on
 * options whose loss would change what the peer sees.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <linux/filter.h>

#include "internal.h"

#ifndef SO_MAX_PACING_RATE
#define SO_MAX_PACING_RATE 47
#endif

struct optdesc {
	int idx, level, name;
	int families;   /* 1 v4, 2 v6, 3 both */
	int listen_only;
	const char *str;
};

static const struct optdesc opts[] = {
	{ SO_I_NODELAY, IPPROTO_TCP, TCP_NODELAY, 3, 0, "TCP_NODELAY" },
	{ SO_I_CORK, IPPROTO_TCP, TCP_CORK, 3, 0, "TCP_CORK" },
	{ SO_I_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, 3, 0, "SO_KEEPALIVE" },
	{ SO_I_KEEPIDLE, IPPROTO_TCP, TCP_KEEPIDLE, 3, 0, "TCP_KEEPIDLE" },
	{ SO_I_KEEPINTVL, IPPROTO_TCP, TCP_KEEPINTVL, 3, 0, "TCP_KEEPINTVL" },
	{ SO_I_KEEPCNT, IPPROTO_TCP, TCP_KEEPCNT, 3, 0, "TCP_KEEPCNT" },
	{ SO_I_USER_TIMEOUT, IPPROTO_TCP, TCP_USER_TIMEOUT, 3, 0, "TCP_USER_TIMEOUT" },
	{ SO_I_NOTSENT_LOWAT, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 3, 0, "TCP_NOTSENT_LOWAT" },
	{ SO_I_WINDOW_CLAMP, IPPROTO_TCP, TCP_WINDOW_CLAMP, 3, 0, "TCP_WINDOW_CLAMP" },
	{ SO_I_LINGER2, IPPROTO_TCP, TCP_LINGER2, 3, 0, "TCP_LINGER2" },
	{ SO_I_THIN_LT, IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 3, 0, "TCP_THIN_LINEAR_TIMEOUTS" },
	{ SO_I_RCVBUF, SOL_SOCKET, SO_RCVBUF, 3, 0, "SO_RCVBUF" },
	{ SO_I_SNDBUF, SOL_SOCKET, SO_SNDBUF, 3, 0, "SO_SNDBUF" },
	{ SO_I_MARK, SOL_SOCKET, SO_MARK, 3, 0, "SO_MARK" },
	{ SO_I_PRIORITY, SOL_SOCKET, SO_PRIORITY, 3, 0, "SO_PRIORITY" },
	{ SO_I_RCVLOWAT, SOL_SOCKET, SO_RCVLOWAT, 3, 0, "SO_RCVLOWAT" },
	{ SO_I_OOBINLINE, SOL_SOCKET, SO_OOBINLINE, 3, 0, "SO_OOBINLINE" },
	{ SO_I_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, 3, 0, "SO_REUSEADDR" },
	{ SO_I_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, 3, 0, "SO_REUSEPORT" },
	{ SO_I_MAXPACING, SOL_SOCKET, SO_MAX_PACING_RATE, 3, 0, "SO_MAX_PACING_RATE" },
	{ SO_I_TOS, IPPROTO_IP, IP_TOS, 1, 0, "IP_TOS" },
	{ SO_I_TTL, IPPROTO_IP, IP_TTL, 1, 0, "IP_TTL" },
	{ SO_I_FREEBIND, IPPROTO_IP, IP_FREEBIND, 3, 0, "IP_FREEBIND" },
	{ SO_I_TRANSPARENT, IPPROTO_IP, IP_TRANSPARENT, 3, 0, "IP_TRANSPARENT" },
	{ SO_I_TCLASS, IPPROTO_IPV6, IPV6_TCLASS, 2, 0, "IPV6_TCLASS" },
	{ SO_I_HOPS, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 2, 0, "IPV6_UNICAST_HOPS" },
	{ SO_I_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, 2, 0, "IPV6_V6ONLY" },
	{ SO_I_DEFER_ACCEPT, IPPROTO_TCP, TCP_DEFER_ACCEPT, 3, 1, "TCP_DEFER_ACCEPT" },
	{ SO_I_FASTOPEN, IPPROTO_TCP, TCP_FASTOPEN, 3, 1, "TCP_FASTOPEN" },
};

static int fammask(int family)
{
	return family == AF_INET6 ? 2 : 1;
}

void soccr_sockopts_save(int fd, int family, bool listener, struct soccr_sockopts *so,
			 const struct soccr_log *lg)
{
	struct linger li;
	socklen_t len;
	size_t i;

	memset(so, 0, sizeof(*so));
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct optdesc *d = &opts[i];
		int v = 0;

		if (!(d->families & fammask(family)) || (d->listen_only && !listener))
			continue;
		len = sizeof(v);
		if (getsockopt(fd, d->level, d->name, &v, &len) < 0) {
			logd(lg, "getsockopt %s: %s (not carried)", d->str, strerror(errno));
			continue;
		}
		so->val[d->idx] = v;
		so->have |= 1ull << d->idx;
	}
	len = sizeof(li);
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &li, &len) == 0) {
		so->have_linger = true;
		so->linger_on = li.l_onoff;
		so->linger_secs = li.l_linger;
	}
	len = sizeof(so->cong) - 1;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, so->cong, &len) < 0)
		so->cong[0] = 0;
	so->cong[sizeof(so->cong) - 1] = 0;
	len = sizeof(so->bindtodev) - 1;
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, so->bindtodev, &len) < 0)
		so->bindtodev[0] = 0;
	so->bindtodev[sizeof(so->bindtodev) - 1] = 0;
}

int soccr_sockopts_restore(int fd, int family, const struct soccr_sockopts *so, uint32_t flags,
			   const struct soccr_log *lg)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct optdesc *d = &opts[i];
		int v = so->val[d->idx], level = d->level, name = d->name;

		if (!(so->have & (1ull << d->idx)) || !(d->families & fammask(family)))
			continue;
		/* Repair mode binds with forced reuse (the listener of the
		 * connection may hold the port); SO_REUSE* would undo it, and
		 * they mean nothing to a connected socket. */
		if ((flags & SOCCR_SOCKOPTS_CONN) && (d->idx == SO_I_REUSEADDR || d->idx == SO_I_REUSEPORT))
			continue;
		if (d->idx == SO_I_RCVBUF || d->idx == SO_I_SNDBUF) {
			if (flags & SOCCR_RESTORE_NO_BUFSIZE)
				continue;
			/* The kernel reports twice what was asked; the
			 * FORCE variants pass the sysctl maxima, as the old
			 * socket may have grown past them by autotuning. */
			v /= 2;
			name = d->idx == SO_I_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
		}
		if (d->idx == SO_I_FASTOPEN && v == 0)
			continue;
		/* The clamp follows the buffer sizes (the kernel computes it
		 * from them): keep it with them, or leave both to autotuning. */
		if (d->idx == SO_I_WINDOW_CLAMP && (v == 0 || (flags & SOCCR_RESTORE_NO_BUFSIZE)))
			continue;
		if (d->idx == SO_I_TOS && family == AF_INET6)
			continue;
		if (setsockopt(fd, level, name, &v, sizeof(v)) < 0) {
			int err = errno;

			/* Only what changes the wire matters enough to fail. */
			if (d->idx == SO_I_V6ONLY || d->idx == SO_I_MARK) {
				loge(lg, "cannot set %s to %d: %s", d->str, v, strerror(err));
				return -err;
			}
			logw(lg, "cannot set %s to %d: %s (ignored)", d->str, v, strerror(err));
		}
	}
	if (so->have_linger && so->linger_on) {
		struct linger li = { .l_onoff = so->linger_on, .l_linger = so->linger_secs };

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &li, sizeof(li)) < 0)
			logw(lg, "cannot set SO_LINGER: %s (ignored)", strerror(errno));
	}
	if (so->cong[0] && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, so->cong, strlen(so->cong)) < 0)
		logw(lg, "cannot set congestion control %s: %s (ignored)", so->cong, strerror(errno));
	if (so->bindtodev[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, so->bindtodev, strlen(so->bindtodev)) < 0) {
		int err = errno;

		loge(lg, "cannot bind to device %s: %s", so->bindtodev, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * The freeze: a classic BPF filter that drops every packet except those
 * marked SOCCR_MARK (our own injected segments).  The TCP receive path runs
 * the socket filter before any state change, so a dropped segment is as
 * if lost on the wire: no reset, and the peer retransmits it.
 */
int soccr_filter_drop(int fd)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_MARK)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCCR_MARK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

int soccr_filter_clear(int fd)
{
	int v = 0;

	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &v, sizeof(v)) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
