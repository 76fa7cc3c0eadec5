/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A corrupted saved state gives a clean error, never a crash and never a
 * half-made socket: flipped bytes in each record (checksums), and records
 * that decode but do not make sense (state, lengths, addresses, options,
 * FIN flags, a missing or short queue record, a truncated stream).
 */
#include <crimg-proto.h>

#include "soccr-test.h"

/* The image of a real connection (saved with RESUME: it goes on). */
static size_t real_image(uint8_t *img, size_t cap)
{
	LIBSOCCR_OPTS(soccr_save_opts, so, .log = st_log, .flags = SOCCR_SAVE_RESUME);
	struct crimg_writer *w;
	struct soccr_tcp *t;
	int c, s, fd = memfd_create("img", MFD_CLOEXEC);
	uint8_t data[5000];
	ssize_t n;

	tcp_pair(AF_INET, &c, &s, 0);
	pat_fill(data, 0, sizeof(data), 1);
	write_some(c, data, sizeof(data), 1000);
	drop_all(c, 1);
	write_some(s, data, sizeof(data), 1000);
	usleep(20000);
	t_ok(soccr_save(s, &so, &t));
	t_assert(soccr_tcp__received(t) == sizeof(data) && soccr_tcp__unacked(t) == sizeof(data));
	t_ok(crimg_writer__new(fd, NULL, &w));
	t_ok(soccr_tcp__write(t, w));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	soccr_tcp__free(t);
	n = pread(fd, img, cap, 0);
	t_assert(n > 0 && (size_t)n < cap);
	close(fd);
	close(c);
	close(s);
	return (size_t)n;
}

/* Reads an image; returns the first error (soccr or reader), 0 if fine. */
static int read_image(const uint8_t *img, size_t len)
{
	LIBSOCCR_OPTS(soccr_read_opts, o, .log = st_log);
	struct crimg_reader *r;
	const struct crimg_record *rec;
	struct soccr_tcp *t = NULL;
	int fd = memfd_create("img", MFD_CLOEXEC), e, fd2;

	t_assert(pwrite(fd, img, len, 0) == (ssize_t)len);
	e = crimg_reader__new(fd, NULL, &r);
	if (e < 0) {
		close(fd);
		return e;
	}
	while ((e = crimg_reader__next(r, &rec)) > 0) {
		if (rec->type != CRIMG_T_TCP_CONN && rec->type != CRIMG_T_TCP_LISTEN) {
			if ((e = crimg_reader__skip_unknown(r)) < 0)
				break;
			continue;
		}
		e = soccr_tcp__read(r, rec, &o, &t);
		if (e < 0)
			break;
		/* What reads back must also restore or refuse cleanly. */
		LIBSOCCR_OPTS(soccr_restore_opts, ro, .log = st_log);
		e = soccr_restore(t, &ro, &fd2);
		if (e == 0)
			close(fd2);
		soccr_tcp__free(t);
		t = NULL;
		if (e < 0 && e != -EADDRINUSE && e != -ECONNREFUSED && e != -EADDRNOTAVAIL)
			break;
		e = 0;
	}
	crimg_reader__free(r);
	close(fd);
	return e;
}

/* An image of one hand-made TCP_CONN (from a valid base) and queue records. */
static int forged(void (*edit)(Crimg__TcpConn *), int sndq_len, int rcvq_len)
{
	static uint8_t img[1 << 16];
	uint8_t a1[4] = { 127, 0, 0, 1 }, q[256];
	Crimg__TcpAddr la = CRIMG__TCP_ADDR__INIT, pa = CRIMG__TCP_ADDR__INIT;
	Crimg__TcpConn m = CRIMG__TCP_CONN__INIT;
	struct crimg_writer *w;
	int fd = memfd_create("img", MFD_CLOEXEC);
	ssize_t n;

	la.family = pa.family = AF_INET;
	la.addr.data = pa.addr.data = a1;
	la.addr.len = pa.addr.len = 4;
	la.port = 1;
	pa.port = 2;
	m.state = SOCCR_ESTABLISHED;
	m.local = &la;
	m.peer = &pa;
	m.snd_seq = 1000;
	m.rcv_seq = 2000;
	m.unacked = 10;
	m.unsent = 0;
	m.received = 20;
	m.has_mss_clamp = 1;
	m.mss_clamp = 1460;
	edit(&m);
	memset(q, 'x', sizeof(q));
	t_ok(crimg_writer__new(fd, NULL, &w));
	t_ok(crimg_writer__add_msg(w, CRIMG_T_TCP_CONN, CRIMG_REC_REQUIRED, &m.base));
	if (sndq_len >= 0)
		t_ok(crimg_writer__add_bytes(w, CRIMG_T_TCP_SNDQ, CRIMG_REC_REQUIRED, q, (size_t)sndq_len));
	if (rcvq_len >= 0)
		t_ok(crimg_writer__add_bytes(w, CRIMG_T_TCP_RCVQ, CRIMG_REC_REQUIRED, q, (size_t)rcvq_len));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	n = pread(fd, img, sizeof(img), 0);
	close(fd);
	return read_image(img, (size_t)n);
}

static void e_none(Crimg__TcpConn *m) { (void)m; }
static void e_state(Crimg__TcpConn *m) { m->state = 77; }
static void e_timewait(Crimg__TcpConn *m) { m->state = 6; }
static void e_addrlen(Crimg__TcpConn *m) { m->local->addr.len = 3; }
static void e_family(Crimg__TcpConn *m) { m->peer->family = 99; }
static void e_port(Crimg__TcpConn *m) { m->peer->port = 70000; }
static void e_mss(Crimg__TcpConn *m) { m->mss_clamp = 0; }
static void e_wscale(Crimg__TcpConn *m) { m->has_wscale = m->wscale = 1; m->has_snd_wscale = 1; m->snd_wscale = 200; }
static void e_fin(Crimg__TcpConn *m) { m->has_fin_rcvd = m->fin_rcvd = 1; }
static void e_fin2(Crimg__TcpConn *m) { m->state = SOCCR_FIN_WAIT2; }
static void e_huge(Crimg__TcpConn *m) { m->received = 0xfffffff0u; }

static void expect(const char *what, int got, int want)
{
	if (got != want)
		t_fail("%s: got %d (%s), want %d (%s)", what, got, strerror(-got), want, strerror(-want));
	t_log("%s: %s, as expected", what, strerror(-got));
}

int main(void)
{
	static uint8_t img[1 << 16], bad[1 << 16];
	size_t len, i;
	unsigned fails = 0;

	need_root();
	len = real_image(img, sizeof(img));

	/* The base image reads (restore refuses: the four-tuple is in use
	 * here, or the connection closed: both clean). */
	expect("intact image", read_image(img, len), 0);
	expect("forged baseline", forged(e_none, 10, 20), 0);

	/* Every byte flipped in turn past the stream header: an error or a
	 * clean read, never a crash (the sanitizer build checks memory). */
	for (i = CRIMG_HEADER_SIZE; i < len; i++) {
		int e;

		memcpy(bad, img, len);
		bad[i] ^= 0x5a;
		e = read_image(bad, len);
		if (e < 0)
			fails++;
	}
	t_log("%u of %zu flipped bytes refused", fails, len - CRIMG_HEADER_SIZE);
	if (fails < (len - CRIMG_HEADER_SIZE) * 9 / 10)
		t_fail("too many corrupted images accepted");
	/* Truncated anywhere. */
	for (i = CRIMG_HEADER_SIZE; i < len; i += 7)
		if (read_image(img, i) >= 0)
			t_fail("image truncated to %zu bytes was accepted", i);

	expect("unknown state", forged(e_state, 10, 20), -EBADMSG);
	expect("TIME_WAIT", forged(e_timewait, 10, 20), -EOPNOTSUPP);
	expect("bad address length", forged(e_addrlen, 10, 20), -EBADMSG);
	expect("bad family", forged(e_family, 10, 20), -EBADMSG);
	expect("bad port", forged(e_port, 10, 20), -EBADMSG);
	expect("zero mss", forged(e_mss, 10, 20), -EBADMSG);
	expect("bad window scale", forged(e_wscale, 10, 20), -EBADMSG);
	expect("FIN flag in ESTABLISHED", forged(e_fin, 10, 20), -EBADMSG);
	expect("FIN_WAIT2 without FIN", forged(e_fin2, 10, 20), -EBADMSG);
	expect("absurd queue length", forged(e_huge, 10, 20), -EBADMSG);
	expect("short send queue", forged(e_none, 9, 20), -EBADMSG);
	expect("long receive queue", forged(e_none, 10, 21), -EBADMSG);
	expect("missing send queue", forged(e_none, -1, 20), -EPROTO);
	expect("missing receive queue", forged(e_none, 10, -1), -EPROTO);
	printf("PASS\n");
	return 0;
}
