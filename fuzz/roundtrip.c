/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * roundtrip: libFuzzer harness over writer and reader together.  The
 * input is a little program of writer calls (add_bytes, add_iov with
 * donated or checksum-less buffers, raw records in pieces, splice_raw,
 * messages, records of unknown types); the stream it writes is read back
 * and every record must come out as it went in: type, flags, length,
 * bytes, and a stored checksum equal to one computed here.  Any
 * difference aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>

#define PAT (64u << 10)
#define MAXREC 48

static uint8_t *pat;     /* constant pattern, page aligned, never written after init */
static int patfd = -1;   /* the same pattern in a memfd, for splice_raw */
static int memfd = -1;

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct in *in, unsigned bytes)
{
	unsigned v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

struct exp {
	uint32_t type, flags;
	uint64_t len;
	uint8_t *data;
};

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "roundtrip: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static void init(void)
{
	pat = mmap(NULL, PAT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pat != MAP_FAILED);
	for (unsigned i = 0; i < PAT; i++)
		pat[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
	mprotect(pat, PAT, PROT_READ);
	patfd = memfd_create("pat", MFD_CLOEXEC);
	memfd = memfd_create("stream", MFD_CLOEXEC);
	CHECK(patfd >= 0 && memfd >= 0);
	CHECK(write(patfd, pat, PAT) == (ssize_t)PAT);
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *d = malloc(n + 1);

	CHECK(d);
	memcpy(d, p, n);
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct exp e[MAXREC];
	struct crimg_writer *w;
	struct crimg_reader *r;
	const struct crimg_record *rec;
	int nrec = 0, ret;
	uint8_t *buf;

	if (!pat)
		init();
	CHECK(ftruncate(memfd, 0) == 0 && lseek(memfd, 0, SEEK_SET) == 0);
	CHECK(crimg_writer__new(memfd, NULL, &w) == 0);
	while (in.n && nrec < MAXREC) {
		unsigned op = take(&in, 1) % 6;
		struct exp *x = &e[nrec];
		unsigned off = take(&in, 2) % PAT;
		unsigned len = take(&in, 2) % (PAT - off);

		x->type = CRIMG_T_TEST_RAW;
		x->flags = CRIMG_REC_RAW | CRIMG_REC_CSUM;
		x->len = len;
		x->data = dup_bytes(pat + off, len);
		switch (op) {
		case 0:
			CHECK(crimg_writer__add_bytes(w, x->type, 0, pat + off, len) == 0);
			break;
		case 1: {
			struct iovec v[4];
			unsigned n = 1 + take(&in, 1) % 4, add = take(&in, 1) % 4, done = 0;

			for (unsigned i = 0; i < n; i++) {
				unsigned k = i == n - 1 ? len - done : take(&in, 2) % (len - done + 1);

				v[i].iov_base = pat + off + done;
				v[i].iov_len = k;
				done += k;
			}
			if (add & CRIMG_ADD_NO_CSUM)
				x->flags &= ~CRIMG_REC_CSUM;
			CHECK(crimg_writer__add_iov(w, x->type, 0, v, n, add) == 0);
			break;
		}
		case 2: {
			unsigned done = 0, nocs = take(&in, 1) & 1;

			if (nocs)
				x->flags &= ~CRIMG_REC_CSUM;
			CHECK(crimg_writer__begin_raw(w, x->type, nocs ? CRIMG_RAW_NO_CSUM : 0, len) == 0);
			while (done < len) {
				unsigned k = 1 + take(&in, 2) % (len - done);
				struct iovec v = { pat + off + done, k };

				CHECK(crimg_writer__write_raw(w, &v, 1, take(&in, 1) & CRIMG_ADD_DONATE) == 0);
				done += k;
			}
			CHECK(crimg_writer__end_raw(w, NULL) == 0);
			break;
		}
		case 3:
			x->flags = CRIMG_REC_RAW;
			CHECK(lseek(patfd, off, SEEK_SET) == off);
			CHECK(crimg_writer__begin_raw(w, x->type, CRIMG_RAW_NO_CSUM, len) == 0);
			CHECK(crimg_writer__splice_raw(w, patfd, len) == 0);
			CHECK(crimg_writer__end_raw(w, NULL) == 0);
			break;
		case 4: {
			Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;
			char text[24];
			unsigned tl = take(&in, 1) % sizeof(text);

			m.seq = (uint64_t)take(&in, 4) << 32 | take(&in, 4);
			for (unsigned i = 0; i < tl; i++)
				text[i] = 'a' + take(&in, 1) % 26;
			text[tl] = 0;
			m.text = text;
			free(x->data);
			x->type = CRIMG_T_TEST_MSG;
			x->flags = CRIMG_REC_CSUM;
			x->len = protobuf_c_message_get_packed_size(&m.base);
			x->data = malloc(x->len + 1);
			CHECK(x->data);
			protobuf_c_message_pack(&m.base, x->data);
			CHECK(crimg_writer__add_msg(w, x->type, 0, &m.base) == 0);
			break;
		}
		default:
			x->type = 0x1000 + take(&in, 1);
			x->flags = take(&in, 1) & CRIMG_REC_KNOWN_FLAGS;
			CHECK(crimg_writer__add_record(w, x->type, x->flags, pat + off, len) == 0);
			break;
		}
		nrec++;
	}
	CHECK(crimg_writer__records(w) == (uint64_t)nrec);
	CHECK(crimg_writer__finish(w) == 0);
	CHECK(crimg_writer__bytes(w) == (uint64_t)lseek(memfd, 0, SEEK_CUR));
	crimg_writer__free(w);

	CHECK(lseek(memfd, 0, SEEK_SET) == 0);
	CHECK(crimg_reader__new(memfd, NULL, &r) == 0);
	buf = malloc(PAT);
	CHECK(buf);
	for (int i = 0; (ret = crimg_reader__next(r, &rec)) > 0; i++) {
		struct crimg_csum c;
		uint32_t cs;

		CHECK(i < nrec);
		CHECK(rec->type == e[i].type && rec->flags == e[i].flags && rec->len == e[i].len);
		CHECK(rec->index == (uint64_t)i);
		CHECK(crimg_reader__read_payload(r, buf, rec->len) == 0);
		CHECK(!memcmp(buf, e[i].data, rec->len));
		if (rec->flags & CRIMG_REC_CSUM) {
			crimg_csum_init(&c);
			crimg_csum_update(&c, e[i].data, e[i].len);
			CHECK(crimg_reader__payload_csum(r, &cs) == 0);
			CHECK(cs == crimg_csum_final(&c));
			CHECK(crimg_reader__payload_verified(r) == 1);
		} else {
			CHECK(crimg_reader__payload_csum(r, &cs) == -ENODATA);
		}
		if (i == nrec - 1)
			CHECK(crimg_reader__records(r) == (uint64_t)nrec);
	}
	if (ret != 0)
		fprintf(stderr, "roundtrip: %s\n", crimg_reader__errmsg(r));
	CHECK(ret == 0);
	CHECK(crimg_reader__records(r) == (uint64_t)nrec);
	crimg_reader__free(r);
	free(buf);
	for (int i = 0; i < nrec; i++)
		free(e[i].data);
	return 0;
}
