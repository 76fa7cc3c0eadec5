/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A segment "from the peer", sent to ourselves through a raw socket.  The
 * repair interface has no call to put the peer's FIN into a receive queue
 * or to mark our FIN acknowledged, so the half-closed states are rebuilt
 * the way they were reached: by the segments the peer sent.  The segment
 * carries SOCCR_MARK so that it passes the locks.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "internal.h"

static uint32_t sum16(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 1) {
		s += (uint32_t)b[0] << 8 | b[1];
		b += 2;
		n -= 2;
	}
	if (n)
		s += (uint32_t)b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static bool v4mapped(const struct sockaddr_in6 *a)
{
	return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
}

int soccr_inject(const struct sockaddr *from, const struct sockaddr *to, uint32_t seq, uint32_t ack,
		 uint8_t flags, uint16_t win, const struct soccr_log *lg)
{
	uint8_t pkt[sizeof(struct ip6_hdr) + sizeof(struct tcphdr)];
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct tcphdr th;
	uint32_t s = 0, mark = SOCCR_MARK;
	size_t hl;
	int fd, family = from->sa_family, err;
	uint8_t src4[4], dst4[4];
	const struct sockaddr_in6 *f6 = (const void *)from, *t6 = (const void *)to;

	memset(&th, 0, sizeof(th));
	th.th_sport = ((const struct sockaddr_in *)from)->sin_port; /* same offset in sin6 */
	th.th_dport = ((const struct sockaddr_in *)to)->sin_port;
	th.th_seq = htonl(seq);
	th.th_ack = htonl(ack);
	th.th_off = 5;
	th.th_flags = flags;
	th.th_win = htons(win);

	if (family == AF_INET6 && v4mapped(f6) && v4mapped(t6)) {
		memcpy(src4, &f6->sin6_addr.s6_addr[12], 4);
		memcpy(dst4, &t6->sin6_addr.s6_addr[12], 4);
		family = AF_INET;
	} else if (family == AF_INET) {
		memcpy(src4, &((const struct sockaddr_in *)from)->sin_addr, 4);
		memcpy(dst4, &((const struct sockaddr_in *)to)->sin_addr, 4);
	}

	memset(&dst, 0, sizeof(dst));
	if (family == AF_INET) {
		struct ip ih;
		struct sockaddr_in *d = (struct sockaddr_in *)&dst;

		memset(&ih, 0, sizeof(ih));
		ih.ip_v = 4;
		ih.ip_hl = 5;
		ih.ip_len = htons(sizeof(ih) + sizeof(th));
		ih.ip_ttl = 64;
		ih.ip_p = IPPROTO_TCP;
		memcpy(&ih.ip_src, src4, 4);
		memcpy(&ih.ip_dst, dst4, 4);
		ih.ip_sum = fold(sum16(0, &ih, sizeof(ih)));
		s = sum16(s, src4, 4);
		s = sum16(s, dst4, 4);
		s += IPPROTO_TCP + sizeof(th);
		s = sum16(s, &th, sizeof(th));
		th.th_sum = fold(s);
		memcpy(pkt, &ih, sizeof(ih));
		memcpy(pkt + sizeof(ih), &th, sizeof(th));
		hl = sizeof(ih) + sizeof(th);
		d->sin_family = AF_INET;
		memcpy(&d->sin_addr, dst4, 4);
		dlen = sizeof(*d);
	} else {
		struct ip6_hdr ih;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&dst;

		memset(&ih, 0, sizeof(ih));
		ih.ip6_flow = htonl(6u << 28);
		ih.ip6_plen = htons(sizeof(th));
		ih.ip6_nxt = IPPROTO_TCP;
		ih.ip6_hlim = 64;
		ih.ip6_src = f6->sin6_addr;
		ih.ip6_dst = t6->sin6_addr;
		s = sum16(s, &ih.ip6_src, 16);
		s = sum16(s, &ih.ip6_dst, 16);
		s += IPPROTO_TCP + sizeof(th);
		s = sum16(s, &th, sizeof(th));
		th.th_sum = fold(s);
		memcpy(pkt, &ih, sizeof(ih));
		memcpy(pkt + sizeof(ih), &th, sizeof(th));
		hl = sizeof(ih) + sizeof(th);
		d->sin6_family = AF_INET6;
		d->sin6_addr = t6->sin6_addr;
		d->sin6_scope_id = t6->sin6_scope_id;
		dlen = sizeof(*d);
	}

	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		err = errno;
		loge(lg, "cannot open a raw socket to rebuild a half-closed state: %s%s", strerror(err),
		     err == EPERM ? " (CAP_NET_RAW is needed)" : "");
		return -err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		err = errno;
		loge(lg, "cannot mark the raw socket: %s", strerror(err));
		close(fd);
		return -err;
	}
	if (sendto(fd, pkt, hl, 0, (struct sockaddr *)&dst, dlen) != (ssize_t)hl) {
		err = errno ? errno : EIO;
		loge(lg, "cannot send a segment to the restored socket: %s", strerror(err));
		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}
