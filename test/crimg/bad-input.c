/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bad-input: every kind of broken stream gives the right error code and a
 * message that says what and where; none crashes.  Broken streams are
 * made from a good one (written by the library) or crafted byte by byte
 * with the checksums computed here from the format description.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "crimg-test.h"

static uint8_t *good;
static size_t good_len;
static uint64_t rec_off[8]; /* offsets of the records of the good stream */

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return crimg_crc32c(c, p, n);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

/* A record header as cr-image(5) describes it. */
static void mkhdr(uint8_t *h, uint64_t index, uint32_t type, uint32_t flags, uint64_t len)
{
	uint8_t ix[8];

	le32(h, type);
	le32(h + 4, flags);
	le64(h + 8, len);
	le32(h + 16, 0);
	le64(ix, index);
	le32(h + 20, crc(crc(0, ix, 8), h, 20));
}

/* Fixes the header checksum of the record header at p (index given). */
static void fixhdr(uint8_t *p, uint64_t index)
{
	uint8_t ix[8];

	le64(ix, index);
	le32(p + 20, crc(crc(0, ix, 8), p, 20));
}

static int memfd_of(const void *buf, size_t len)
{
	int fd = memfd_create("stream", MFD_CLOEXEC);

	t_assert(fd >= 0);
	t_assert(write(fd, buf, len) == (ssize_t)len);
	t_assert(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static pid_t feeder;

static int pipe_of(const void *buf, size_t len)
{
	int p[2];

	t_assert(pipe2(p, O_CLOEXEC) == 0);
	feeder = fork();
	t_assert(feeder >= 0);
	if (!feeder) {
		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		(void)!write(p[1], buf, len);
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

/* Reads a whole stream the way a consumer would; returns the first error
 * (or 0) and copies the message. */
static int consume(int fd, char *msg, size_t msglen)
{
	LIBCRIMG_OPTS(crimg_reader_opts, o, .errbuf = msg, .errbuf_len = msglen);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint8_t buf[4096];
	int ret;

	msg[0] = 0;
	ret = crimg_reader__new(fd, &o, &r);
	if (ret < 0)
		return ret;
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		const struct crimg_type_info *ti = crimg_type_info(rec->type);

		if (ti && ti->desc) {
			ProtobufCMessage *m;

			ret = crimg_reader__read_msg(r, ti->desc, &m);
			if (ret == 0)
				protobuf_c_message_free_unpacked(m, NULL);
		} else if (ti) {
			ret = 0;
			while (ret == 0 && crimg_reader__payload_left(r)) {
				uint64_t n = crimg_reader__payload_left(r);

				ret = crimg_reader__read_payload(r, buf, n > sizeof(buf) ? sizeof(buf) : n);
			}
		} else {
			ret = crimg_reader__skip_unknown(r);
		}
		if (ret < 0)
			break;
	}
	snprintf(msg, msglen, "%s", crimg_reader__errmsg(r));
	crimg_reader__free(r);
	return ret;
}

static int run(const void *buf, size_t len, bool use_pipe, char *msg, size_t msglen)
{
	int fd = use_pipe ? pipe_of(buf, len) : memfd_of(buf, len);
	int ret = consume(fd, msg, msglen);

	close(fd);
	if (use_pipe) {
		t_assert(waitpid(feeder, NULL, 0) == feeder);
	}
	return ret;
}

static void expect_(int line, const void *buf, size_t len, int err, const char *sub)
{
	char msg[400];

	for (int p = 0; p < 2; p++) {
		int ret = run(buf, len, p, msg, sizeof(msg));

		if (ret != err || !strstr(msg, sub))
			t_fail_at(__FILE__, line, "%s: got %d (%s) \"%s\", expected %d and \"%s\"",
				  p ? "pipe" : "memfd", ret, ret ? strerror(-ret) : "ok", msg, err, sub);
	}
	t_log("ok: %s", msg);
}
#define expect(buf, len, err, sub) expect_(__LINE__, buf, len, err, sub)

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char buf[4][300];
	static int k;
	va_list ap;

	k = (k + 1) % 4;
	va_start(ap, f);
	vsnprintf(buf[k], sizeof(buf[k]), f, ap);
	va_end(ap);
	return buf[k];
}
#define R(i) (unsigned long)rec_off[i]

static void make_good(void)
{
	struct crimg_writer *w;
	Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;
	uint8_t raw[5000];
	int fd = memfd_create("good", MFD_CLOEXEC);
	int i = 0;

	t_ok(crimg_writer__new(fd, NULL, &w));
	m.seq = 42;
	m.text = "hello";
	rec_off[i++] = crimg_writer__bytes(w);
	t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
	fill_pat(raw, sizeof(raw), 9, 0);
	rec_off[i++] = crimg_writer__bytes(w);
	t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, raw, sizeof(raw)));
	rec_off[i++] = crimg_writer__bytes(w);
	t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
	rec_off[i++] = crimg_writer__bytes(w); /* the trailer */
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	good_len = lseek(fd, 0, SEEK_END);
	good = malloc(good_len);
	t_assert(pread(fd, good, good_len, 0) == (ssize_t)good_len);
	close(fd);
}

int main(void)
{
	uint8_t h[64 + 24 + 100];
	char msg[400];
	uint8_t *b;
	size_t n;

	make_good();
	b = malloc(good_len + (1 << 20));
	expect(good, good_len, 0, "");

	/* empty input */
	expect("", 0, -EBADMSG, "empty input");

	/* wrong magic, with hints */
	memcpy(b, good, good_len);
	b[1] = 'X';
	expect(b, good_len, -EBADMSG, "wrong magic");
	memcpy(b, good, 6);
	memcpy(b + 6, good + 7, good_len - 7); /* CR LF -> LF */
	expect(b, good_len - 1, -EBADMSG, "CR LF");
	expect("{\"header\":{}}\n", 14, -EBADMSG, "JSON");

	/* future and past format versions (checksum fixed: the version is
	 * checked first anyway) */
	memcpy(b, good, good_len);
	b[8] = 2;
	le32(b + 60, crc(0, b, 60));
	expect(b, good_len, -EPROTONOSUPPORT, "format version 2 is newer than this reader (1)");
	b[8] = 0;
	expect(b, good_len, -EPROTONOSUPPORT, "older");

	/* stream header checksum */
	memcpy(b, good, good_len);
	b[20] ^= 1;
	expect(b, good_len, -EBADMSG, "stream header at byte 0: checksum mismatch");

	/* truncated at every offset */
	for (n = 1; n < good_len; n++) {
		int ret = run(good, n, n % 7 == 0, msg, sizeof(msg));

		if (ret != -EPROTO || !strstr(msg, "truncated"))
			t_fail("truncated at %zu: %d \"%s\"", n, ret, msg);
	}
	t_log("ok: every truncation (%zu offsets), e.g. \"%s\"", good_len - 1, msg);
	expect(good, good_len - 1, -EPROTO, "truncated: stream ends at byte");
	expect(good, rec_off[3], -EPROTO, fmt("truncated: no trailer after record 2 at byte %lu", R(3)));
	expect(good, 64, -EPROTO, "truncated: no trailer after the stream header");
	expect(good, rec_off[1] + 24 + 100, -EPROTO,
	       fmt("truncated: stream ends at byte %lu inside record 1 (TEST_RAW, payload of 5000 bytes, 100 read)", R(1) + 124));

	/* record header checksum (corrupted, dropped, duplicated, reordered) */
	memcpy(b, good, good_len);
	b[rec_off[1] + 8] ^= 0x10;
	expect(b, good_len, -EBADMSG, fmt("record 1 at byte %lu: header checksum mismatch", R(1)));
	n = 0;
	memcpy(b, good, rec_off[1]);                                 /* drop record 1 */
	memcpy(b + rec_off[1], good + rec_off[2], good_len - rec_off[2]);
	expect(b, good_len - (rec_off[2] - rec_off[1]), -EBADMSG, fmt("record 1 at byte %lu: header checksum mismatch", R(1)));
	memcpy(b, good, rec_off[1]);                                 /* record 0 twice */
	memcpy(b + rec_off[1], good + rec_off[0], good_len - rec_off[0]);
	expect(b, good_len + rec_off[1] - rec_off[0], -EBADMSG, fmt("record 1 at byte %lu: header checksum mismatch", R(1)));

	/* payload checksum: message and raw */
	memcpy(b, good, good_len);
	b[rec_off[1] + 24 + 4000] ^= 0x80;
	expect(b, good_len, -EBADMSG,
	       fmt("record 1 (TEST_RAW) at byte %lu: payload checksum mismatch (stored 0x", R(1)));
	memcpy(b, good, good_len);
	b[rec_off[0] + 24 + 3] ^= 0x01;
	expect(b, good_len, -EBADMSG, "record 0 (TEST_MSG) at byte 64: payload checksum mismatch");

	/* trailer: payload checksum, then a consistent trailer with a wrong
	 * chain, a wrong count */
	memcpy(b, good, good_len);
	b[rec_off[3] + 24 + 16] ^= 1;
	expect(b, good_len, -EBADMSG, fmt("record 3 (TRAILER) at byte %lu: payload checksum mismatch", R(3)));
	{
		struct crimg_csum c;

		crimg_csum_init(&c);
		crimg_csum_update(&c, b + rec_off[3] + 24, 24);
		le32(b + rec_off[3] + 48, crimg_csum_final(&c));
		expect(b, good_len, -EBADMSG, fmt("trailer at byte %lu: chain checksum mismatch", R(3)));
		b[rec_off[3] + 24 + 16] ^= 1;
		b[rec_off[3] + 24] = 7;
		crimg_csum_init(&c);
		crimg_csum_update(&c, b + rec_off[3] + 24, 24);
		le32(b + rec_off[3] + 48, crimg_csum_final(&c));
		expect(b, good_len, -EPROTO, fmt("trailer at byte %lu: it counts 7 records, the stream has 3", R(3)));
	}

	/* crafted records: absurd length, length past the end, unknown
	 * flags, type 0, a required unknown type, undecodable message */
	memcpy(h, good, 64);
	mkhdr(h + 64, 0, CRIMG_T_TEST_RAW, CRIMG_REC_RAW, 1ull << 50);
	expect(h, 88, -EOVERFLOW, "record 0 at byte 64: absurd payload length 1125899906842624");
	mkhdr(h + 64, 0, CRIMG_T_TEST_RAW, CRIMG_REC_RAW | CRIMG_REC_CSUM, 1 << 20);
	memset(h + 88, 0xaa, 100);
	expect(h, sizeof(h), -EPROTO,
	       "truncated: stream ends at byte 188 inside record 0 (TEST_RAW, payload of 1048576 bytes, 100 read)");
	mkhdr(h + 64, 0, CRIMG_T_TEST_RAW, 0x100, 0);
	expect(h, 88, -EPROTO, "record 0 at byte 64: unknown flags 0x100");
	mkhdr(h + 64, 0, 0, 0, 0);
	expect(h, 88, -EPROTO, "record 0 at byte 64: type 0 is invalid");
	mkhdr(h + 64, 0, CRIMG_T_TEST_RAW, 0, 0);
	h[64 + 16] = 1;
	fixhdr(h + 64, 0);
	expect(h, 88, -EPROTO, "reserved");

	{
		struct crimg_writer *w;
		uint8_t junk[64];
		int fd = memfd_create("x", MFD_CLOEXEC);
		uint8_t *s;

		t_ok(crimg_writer__new(fd, NULL, &w));
		t_ok(crimg_writer__add_record(w, 0xeeef, CRIMG_REC_REQUIRED | CRIMG_REC_RAW | CRIMG_REC_CSUM, "abc", 3));
		t_ok(crimg_writer__finish(w));
		crimg_writer__free(w);
		n = lseek(fd, 0, SEEK_END);
		s = malloc(n);
		t_assert(pread(fd, s, n, 0) == (ssize_t)n);
		expect(s, n, -EPROTO, "record 0 (type 0xeeef) at byte 64: required record of a type this reader does not handle");
		free(s);
		close(fd);

		fd = memfd_create("y", MFD_CLOEXEC);
		t_ok(crimg_writer__new(fd, NULL, &w));
		memset(junk, 0xff, sizeof(junk));
		t_ok(crimg_writer__add_record(w, CRIMG_T_TEST_MSG, CRIMG_REC_CSUM, junk, sizeof(junk)));
		t_ok(crimg_writer__finish(w));
		crimg_writer__free(w);
		n = lseek(fd, 0, SEEK_END);
		s = malloc(n);
		t_assert(pread(fd, s, n, 0) == (ssize_t)n);
		expect(s, n, -EBADMSG, "record 0 (TEST_MSG) at byte 64: payload does not decode as crimg.TestMsg");
		free(s);
		close(fd);
	}

	/* a message that claims 60 MiB but holds 100 bytes: an error, and no
	 * 60 MiB allocation; one over the limit: -EOVERFLOW */
	{
		struct rusage ru0, ru1;

		mkhdr(h + 64, 0, CRIMG_T_TEST_MSG, CRIMG_REC_CSUM, 60u << 20);
		getrusage(RUSAGE_SELF, &ru0);
		expect(h, sizeof(h), -EPROTO, "truncated: stream ends at byte 188 inside record 0 (TEST_MSG, payload of 62914560 bytes, 100 read)");
		getrusage(RUSAGE_SELF, &ru1);
		if (ru1.ru_maxrss - ru0.ru_maxrss > 16 * 1024)
			t_fail("a lying message length cost %ld KiB", ru1.ru_maxrss - ru0.ru_maxrss);
		mkhdr(h + 64, 0, CRIMG_T_TEST_MSG, CRIMG_REC_CSUM, CRIMG_MAX_MSG_LEN + 1);
		expect(h, sizeof(h), -EOVERFLOW, "record 0 (TEST_MSG) at byte 64: message of 67108865 bytes is larger than the limit");
	}
	free(b);
	free(good);
	return T_PASS;
}
