/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsoccr internals: the saved connection and the helpers between files. */
#ifndef SOCCR_INTERNAL_H
#define SOCCR_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "soccr.h"

#define SOCCR_HIDDEN __attribute__((visibility("hidden")))

/* Where log messages go: copied from the caller's options. */
struct soccr_log {
	soccr_log_fn fn;
	void *arg;
};
SOCCR_HIDDEN void soccr_logf(const struct soccr_log *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define loge(lg, ...) soccr_logf((lg), 3 /* LOG_ERR */, __VA_ARGS__)
#define logw(lg, ...) soccr_logf((lg), 4 /* LOG_WARNING */, __VA_ARGS__)
#define logd(lg, ...) soccr_logf((lg), 7 /* LOG_DEBUG */, __VA_ARGS__)

/* Options structs: the part of a caller's struct we know about. */
#define OPTS_VALID(o, type) (!(o) || (o)->sz >= offsetof(struct type, flags) + sizeof(uint32_t))
#define OPTS_GET(o, field, def)                                                            \
	(((o) && (o)->sz >= offsetof(__typeof__(*(o)), field) + sizeof((o)->field)) ? (o)->field : (def))

/* Socket options worth carrying over; "have" says which were read. */
enum {
	SO_I_NODELAY, SO_I_CORK, SO_I_KEEPALIVE, SO_I_KEEPIDLE, SO_I_KEEPINTVL, SO_I_KEEPCNT,
	SO_I_USER_TIMEOUT, SO_I_NOTSENT_LOWAT, SO_I_WINDOW_CLAMP, SO_I_LINGER2,
	SO_I_THIN_LT, SO_I_RCVBUF, SO_I_SNDBUF, SO_I_MARK, SO_I_PRIORITY, SO_I_RCVLOWAT,
	SO_I_OOBINLINE, SO_I_REUSEADDR, SO_I_REUSEPORT, SO_I_TOS, SO_I_TTL, SO_I_TCLASS,
	SO_I_HOPS, SO_I_V6ONLY, SO_I_DEFER_ACCEPT, SO_I_FASTOPEN, SO_I_MAXPACING,
	SO_I_FREEBIND, SO_I_TRANSPARENT,
	SO_I_NR
};

struct soccr_sockopts {
	uint64_t have;                 /* bit per SO_I_* */
	int32_t val[SO_I_NR];
	int32_t linger_on, linger_secs;  /* SO_LINGER, when have_linger */
	bool have_linger;
	char cong[16];                 /* TCP_CONGESTION, "" if unknown */
	char bindtodev[16];            /* SO_BINDTODEVICE, "" if none */
};

struct soccr_tcp {
	uint32_t state;                /* SOCCR_* */
	int family;
	struct sockaddr_storage local, peer;
	socklen_t local_len, peer_len;

	/* Sequence numbers as the kernel's repair interface sees them,
	 * without a FIN: snd_seq is write_seq (the next byte to queue),
	 * rcv_seq is rcv_nxt. */
	uint32_t snd_seq, rcv_seq;
	uint32_t unacked, unsent, received;   /* queue lengths, data only */
	bool fin_sent;                 /* our FIN went out (it is in snd_nxt) */
	bool fin_acked;                /* ... and the peer acknowledged it */
	bool fin_rcvd;                 /* the peer's FIN is in rcv_nxt */
	uint8_t *sndq, *rcvq;          /* unacked+unsent bytes; received bytes */

	uint32_t opt_mask;             /* TCPI_OPT_* */
	uint32_t snd_wscale, rcv_wscale;
	uint32_t mss_clamp;
	uint32_t timestamp;
	bool have_window;
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;

	struct soccr_sockopts so;

	/* listener */
	uint32_t backlog;
	struct soccr_tcp **children;
	unsigned nr_children;
};

SOCCR_HIDDEN struct soccr_tcp *soccr_tcp_alloc(void);
SOCCR_HIDDEN void soccr_sockopts_save(int fd, int family, bool listener, struct soccr_sockopts *so,
				      const struct soccr_log *lg);
#define SOCCR_SOCKOPTS_CONN 0x80000000u /* flags: a connection, not a listener */
SOCCR_HIDDEN int soccr_sockopts_restore(int fd, int family, const struct soccr_sockopts *so,
					uint32_t flags, const struct soccr_log *lg);
/* Checks a connection read from outside (image) for consistency. */
SOCCR_HIDDEN int soccr_tcp_check(const struct soccr_tcp *t, const struct soccr_log *lg);

/* A TCP segment from the peer to us, injected through a raw socket
 * (for the peer's FIN and ACK of half-closed states). */
SOCCR_HIDDEN int soccr_inject(const struct sockaddr *from, const struct sockaddr *to, uint32_t seq,
			      uint32_t ack, uint8_t flags, uint16_t win, const struct soccr_log *lg);

SOCCR_HIDDEN int soccr_filter_drop(int fd);   /* drop all but SOCCR_MARK */
SOCCR_HIDDEN int soccr_filter_clear(int fd);

#endif
