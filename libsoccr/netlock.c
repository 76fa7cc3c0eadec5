/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network lock: an nftables table of our own that drops, in both
 * directions, the packets of exactly the connections added to it (and the
 * SYNs to locked listening ports), except packets marked SOCCR_MARK.
 *
 *  - One table per lock, created with "flags owner": the kernel deletes it
 *    when the netlink socket that made it closes, so a lock cannot outlive
 *    its process even if that process is killed.
 *  - Connections are elements of concatenated sets, so adding the 1000th
 *    costs what adding the first did, and one transaction locks a batch.
 *  - libnftables is loaded with dlopen on first use: users of the library
 *    that never lock do not depend on it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "internal.h"

struct nft_ctx;
static struct {
	void *h;
	struct nft_ctx *(*ctx_new)(uint32_t);
	void (*ctx_free)(struct nft_ctx *);
	int (*buffer_output)(struct nft_ctx *);
	int (*buffer_error)(struct nft_ctx *);
	const char *(*get_error)(struct nft_ctx *);
	int (*run)(struct nft_ctx *, const char *);
} nft;

struct soccr_netlock {
	struct soccr_log lg;
	struct nft_ctx *ctx;
	char table[48];
	unsigned count;
	bool live;
};

static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_nft_locked(const struct soccr_log *lg)
{
	void *h;

	if (nft.h)
		return 0;
	h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		loge(lg, "network lock: cannot load libnftables.so.1: %s", dlerror());
		return -ENOSYS;
	}
	*(void **)&nft.ctx_new = dlsym(h, "nft_ctx_new");
	*(void **)&nft.ctx_free = dlsym(h, "nft_ctx_free");
	*(void **)&nft.buffer_output = dlsym(h, "nft_ctx_buffer_output");
	*(void **)&nft.buffer_error = dlsym(h, "nft_ctx_buffer_error");
	*(void **)&nft.get_error = dlsym(h, "nft_ctx_get_error_buffer");
	*(void **)&nft.run = dlsym(h, "nft_run_cmd_from_buffer");
	if (!nft.ctx_new || !nft.ctx_free || !nft.buffer_output || !nft.buffer_error || !nft.get_error ||
	    !nft.run) {
		loge(lg, "network lock: libnftables.so.1 lacks the functions we need");
		dlclose(h);
		return -ENOSYS;
	}
	nft.h = h;
	return 0;
}

static int load_nft(const struct soccr_log *lg)
{
	int r;

	pthread_mutex_lock(&nft_lock);
	r = load_nft_locked(lg);
	pthread_mutex_unlock(&nft_lock);
	return r;
}

static int run(struct soccr_netlock *lk, const char *cmd)
{
	const char *e;

	if (nft.run(lk->ctx, cmd) == 0)
		return 0;
	e = nft.get_error(lk->ctx);
	loge(&lk->lg, "network lock: nft failed: %s", e && *e ? e : "(no message)");
	if (e && (strstr(e, "Operation not permitted") || strstr(e, "Permission denied")))
		return -EPERM;
	return -EIO;
}

/* libnftables prints to stderr when it cannot open its netlink socket:
 * find out first, and stay silent as a library must. */
static bool have_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return true;   /* let nftables decide */
	return d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

SOCCR_API int soccr_netlock__new(const struct soccr_netlock_opts *opts, struct soccr_netlock **ret)
{
	static unsigned seq;
	struct soccr_netlock *lk;
	char cmd[1536];
	int r;

	if (!ret || !OPTS_VALID(opts, soccr_netlock_opts) || OPTS_GET(opts, flags, 0))
		return -EINVAL;
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return -ENOMEM;
	lk->lg.fn = OPTS_GET(opts, log, NULL);
	lk->lg.arg = OPTS_GET(opts, log_arg, NULL);
	if (!have_net_admin()) {
		loge(&lk->lg, "network lock: CAP_NET_ADMIN is needed to change nftables");
		r = -EPERM;
		goto fail;
	}
	if ((r = load_nft(&lk->lg)) < 0)
		goto fail;
	/* libnftables waits on its netlink socket with select(): an fd
	 * number of FD_SETSIZE or more aborts the process.  Its socket takes
	 * the lowest free number: refuse when that is too high. */
	{
		int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (probe >= 0)
			close(probe);
		if (probe >= 1000) {
			loge(&lk->lg, "network lock: libnftables cannot use fd %d (it uses select()): create the "
				      "lock before the process opens a thousand files", probe);
			r = -EMFILE;
			goto fail;
		}
	}
	lk->ctx = nft.ctx_new(0);
	if (!lk->ctx) {
		r = -ENOMEM;
		goto fail;
	}
	nft.buffer_output(lk->ctx);
	nft.buffer_error(lk->ctx);
	snprintf(lk->table, sizeof(lk->table), "soccr_lock_%d_%u", (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	snprintf(cmd, sizeof(cmd),
		 "table inet %1$s {\n"
		 " flags owner\n"
		 " set c4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
		 " set c6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
		 " set lp { type inet_service; }\n"
		 " chain in {\n"
		 "  type filter hook input priority -300; policy accept;\n"
		 "  meta mark 0x%2$08x accept\n"
		 "  meta nfproto ipv4 ip daddr . tcp dport . ip saddr . tcp sport @c4 drop\n"
		 "  meta nfproto ipv6 ip6 daddr . tcp dport . ip6 saddr . tcp sport @c6 drop\n"
		 "  tcp dport @lp tcp flags & (syn | ack) == syn drop\n"
		 " }\n"
		 " chain out {\n"
		 "  type filter hook output priority -300; policy accept;\n"
		 "  meta mark 0x%2$08x accept\n"
		 "  meta nfproto ipv4 ip saddr . tcp sport . ip daddr . tcp dport @c4 drop\n"
		 "  meta nfproto ipv6 ip6 saddr . tcp sport . ip6 daddr . tcp dport @c6 drop\n"
		 " }\n"
		 "}\n",
		 lk->table, SOCCR_MARK);
	if ((r = run(lk, cmd)) < 0) {
		if (r == -EPERM)
			loge(&lk->lg, "network lock: CAP_NET_ADMIN is needed to change nftables");
		goto fail;
	}
	lk->live = true;
	logd(&lk->lg, "network lock: table inet %s created", lk->table);
	*ret = lk;
	return 0;
fail:
	if (lk->ctx)
		nft.ctx_free(lk->ctx);
	free(lk);
	return r;
}

static int fmt_ip(const struct sockaddr *sa, char *buf, size_t len, unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		*port = ntohs(s->sin_port);
		return inet_ntop(AF_INET, &s->sin_addr, buf, len) ? AF_INET : -EINVAL;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		*port = ntohs(s->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			return inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], buf, len) ? AF_INET : -EINVAL;
		return inet_ntop(AF_INET6, &s->sin6_addr, buf, len) ? AF_INET6 : -EINVAL;
	}
	return -EAFNOSUPPORT;
}

static int element(struct soccr_netlock *lk, const char *op, const struct sockaddr *local,
		   const struct sockaddr *peer)
{
	char la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN], cmd[512];
	unsigned lp, pp;
	int f1, f2, r;

	if (!lk || !local || !lk->live)
		return -EINVAL;
	f1 = fmt_ip(local, la, sizeof(la), &lp);
	if (f1 < 0)
		return f1;
	if (!peer) {   /* a listening port */
		snprintf(cmd, sizeof(cmd), "%s element inet %s lp { %u }", op, lk->table, lp);
	} else {
		f2 = fmt_ip(peer, pa, sizeof(pa), &pp);
		if (f2 < 0)
			return f2;
		if (f1 != f2)
			return -EINVAL;
		snprintf(cmd, sizeof(cmd), "%s element inet %s %s { %s . %u . %s . %u }", op, lk->table,
			 f1 == AF_INET ? "c4" : "c6", la, lp, pa, pp);
	}
	if ((r = run(lk, cmd)) < 0)
		return r;
	logd(&lk->lg, "network lock: %s", cmd);
	return 0;
}

SOCCR_API int soccr_netlock__add(struct soccr_netlock *lk, const struct sockaddr *local,
				 const struct sockaddr *peer)
{
	int r = element(lk, "add", local, peer);

	if (r == 0)
		lk->count++;
	return r;
}

SOCCR_API int soccr_netlock__remove(struct soccr_netlock *lk, const struct sockaddr *local,
				    const struct sockaddr *peer)
{
	int r = element(lk, "delete", local, peer);

	if (r == 0 && lk->count)
		lk->count--;
	return r;
}

SOCCR_API int soccr_netlock__remove_tcp(struct soccr_netlock *lk, const struct soccr_tcp *t)
{
	const struct soccr_tcp *c;
	int r, ret = 0;

	if (!lk || !t)
		return -EINVAL;
	if (t->state != SOCCR_LISTEN)
		return soccr_netlock__remove(lk, (const struct sockaddr *)&t->local,
					     (const struct sockaddr *)&t->peer);
	ret = soccr_netlock__remove(lk, (const struct sockaddr *)&t->local, NULL);
	soccr_tcp_for_each_child(t, c)
		if ((r = soccr_netlock__remove_tcp(lk, c)) < 0 && !ret)
			ret = r;
	return ret;
}

SOCCR_API int soccr_netlock__add_fd(struct soccr_netlock *lk, int fd)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p);
	int acc = 0;
	socklen_t al = sizeof(acc);

	if (!lk || fd < 0)
		return -EINVAL;
	if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0)
		return -errno;
	if (acc)
		return soccr_netlock__add(lk, (struct sockaddr *)&l, NULL);
	if (getpeername(fd, (struct sockaddr *)&p, &pl) < 0)
		return -errno;
	return soccr_netlock__add(lk, (struct sockaddr *)&l, (struct sockaddr *)&p);
}

SOCCR_API int soccr_netlock__add_tcp(struct soccr_netlock *lk, const struct soccr_tcp *t)
{
	const struct soccr_tcp *c;
	int r;

	if (!lk || !t)
		return -EINVAL;
	if (t->state != SOCCR_LISTEN)
		return soccr_netlock__add(lk, (const struct sockaddr *)&t->local,
					  (const struct sockaddr *)&t->peer);
	if ((r = soccr_netlock__add(lk, (const struct sockaddr *)&t->local, NULL)) < 0)
		return r;
	soccr_tcp_for_each_child(t, c)
		if ((r = soccr_netlock__add_tcp(lk, c)) < 0)
			return r;
	return 0;
}

SOCCR_API unsigned soccr_netlock__count(const struct soccr_netlock *lk)
{
	return lk ? lk->count : 0;
}

SOCCR_API int soccr_netlock__release(struct soccr_netlock *lk)
{
	char cmd[96];
	int r;

	if (!lk)
		return -EINVAL;
	if (!lk->live)
		return 0;
	snprintf(cmd, sizeof(cmd), "delete table inet %s", lk->table);
	r = run(lk, cmd);
	/* Even if the delete failed, closing the context's socket makes the
	 * kernel drop an owner table: free the context to be sure. */
	nft.ctx_free(lk->ctx);
	lk->ctx = NULL;
	lk->live = false;
	lk->count = 0;
	logd(&lk->lg, "network lock: table inet %s released", lk->table);
	return r < 0 ? r : 0;
}

SOCCR_API void soccr_netlock__free(struct soccr_netlock *lk)
{
	if (!lk)
		return;
	soccr_netlock__release(lk);
	if (lk->ctx)
		nft.ctx_free(lk->ctx);
	free(lk);
}
