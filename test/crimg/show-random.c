/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * show-random: cr-show's generic message printer and parser against
 * random messages of every registered type.  Random protobuf encodings
 * (known and unknown fields, right and wrong wire types) that protobuf-c
 * accepts make stream S1; then
 *     cr-show S1 > J1;  cr-show -e J1 > S2;  cr-show S2 > J2;  cr-show -e J2 > S3
 * must all succeed and S3 must equal S2 byte for byte (S2 is S1
 * normalized: unknown fields dropped, strings made valid JSON).
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "crimg-test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

static int wire_type(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 1;
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
		return 5;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
		return 2;
	default:
		return 0;
	}
}

/* A random encoding of a message of type d, at most depth 3 deep. */
static size_t gen(const ProtobufCMessageDescriptor *d, uint8_t *p, size_t cap, int depth)
{
	size_t n = 0;
	int nf = rnd() % 8;

	for (int i = 0; i < nf && n + 40 < cap; i++) {
		const ProtobufCFieldDescriptor *f = d->n_fields ? &d->fields[rnd() % d->n_fields] : NULL;
		uint32_t num = f && rnd() % 8 ? f->id : 1 + rnd() % 40;
		int wt = f && num == f->id && rnd() % 8 ? wire_type(f) : (int[]){ 0, 1, 2, 5 }[rnd() % 4];
		uint64_t v = rnd();

		n += put_varint(p + n, (uint64_t)num << 3 | wt);
		switch (wt) {
		case 0:
			v >>= rnd() % 64;
			if (f && f->type == PROTOBUF_C_TYPE_BOOL)
				v &= 1;
			if (f && f->type == PROTOBUF_C_TYPE_ENUM)
				v %= 4;
			n += put_varint(p + n, v);
			break;
		case 1:
			memcpy(p + n, &v, 8);
			n += 8;
			break;
		case 5:
			memcpy(p + n, &v, 4);
			n += 4;
			break;
		default: {
			size_t len = 0;
			uint8_t sub[256];

			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 3 && rnd() % 4) {
				len = gen(f->descriptor, sub, sizeof(sub), depth + 1);
			} else {
				len = rnd() % 12;
				for (size_t k = 0; k < len; k++)
					sub[k] = rnd() % 3 ? 'a' + rnd() % 26 : (uint8_t)rnd();
			}
			if (n + len + 10 > cap)
				return n;
			n += put_varint(p + n, len);
			memcpy(p + n, sub, len);
			n += len;
		}
		}
	}
	return n;
}

static void show(const char *arg, const char *in, const char *out)
{
	char *prog = t_build_path("bin/cr-show");
	int st;
	pid_t pid = fork();

	t_assert(pid >= 0);
	if (!pid) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (o < 0 || dup2(o, 1) < 0)
			_exit(127);
		execl(prog, "cr-show", arg, in, (char *)NULL);
		_exit(127);
	}
	t_assert(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("cr-show %s %s: status 0x%x", arg, in, st);
	free(prog);
}

int main(void)
{
	const struct crimg_type_info *t;
	char s1[256], j1[256], s2[256], j2[256], s3[256];
	struct crimg_writer *w;
	int fd, kept = 0, tried = 0;
	uint8_t *a, *b;
	size_t na, nb;

	snprintf(s1, sizeof(s1), "%s/s1", t_tmpdir());
	snprintf(j1, sizeof(j1), "%s/j1", t_tmpdir());
	snprintf(s2, sizeof(s2), "%s/s2", t_tmpdir());
	snprintf(j2, sizeof(j2), "%s/j2", t_tmpdir());
	snprintf(s3, sizeof(s3), "%s/s3", t_tmpdir());
	fd = open(s1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	t_assert(fd >= 0);
	t_ok(crimg_writer__new(fd, NULL, &w));
	crimg_for_each_type(t) {
		if (!t->desc)
			continue;
		for (int k = 0; k < 300; k++) {
			uint8_t buf[4096];
			size_t n = gen(t->desc, buf, sizeof(buf), 0);
			ProtobufCMessage *m = protobuf_c_message_unpack(t->desc, NULL, n, buf);

			tried++;
			if (!m)
				continue;
			protobuf_c_message_free_unpacked(m, NULL);
			t_ok(crimg_writer__add_record(w, t->type, CRIMG_REC_CSUM, buf, n));
			kept++;
		}
	}
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	close(fd);
	t_log("%d random messages decode (of %d tried)", kept, tried);
	t_assert(kept > 100);

	show("--payload", s1, j1); /* with payloads too, for good measure */
	show("--encode", j1, s2);
	a = t_slurp(s1, &na);
	b = t_slurp(s2, &nb);
	t_assert(na == nb && !memcmp(a, b, na)); /* payloads: exact */
	free(a);
	free(b);

	show("-o/dev/stdout", s1, j1);             /* fields only */
	show("--encode", j1, s2);
	show("-o/dev/stdout", s2, j2);
	show("--encode", j2, s3);
	a = t_slurp(s2, &na);
	b = t_slurp(s3, &nb);
	if (na != nb || memcmp(a, b, na))
		t_fail("decode/encode from fields is not stable (%zu and %zu bytes)", na, nb);
	free(a);
	free(b);
	return T_PASS;
}
