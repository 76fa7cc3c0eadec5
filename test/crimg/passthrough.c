/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrough: a filter stage copies every record of its input to its
 * output with crimg_writer__copy_record and appends one of its own; the
 * result reads back whole and verifies (every payload checksum and the
 * new trailer).  Three processes, over pipes (splice) and over files
 * (read/write), and a filter that drops a record (indexes change: the
 * copies get new header checksums).
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "crimg-test.h"

#define NREC 40

static void source(int fd)
{
	struct crimg_writer *w;
	uint8_t *pages = t_pages(64 * 4096);

	t_ok(crimg_writer__new(fd, NULL, &w));
	for (int i = 0; i < NREC; i++) {
		if (i % 2) {
			Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;

			m.seq = i;
			t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
		} else {
			struct iovec v = { pages, (size_t)(i + 1) * 4096 + i };

			fill_pat(pages, v.iov_len, i, 0);
			t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, &v, 1, i % 4 ? 0 : CRIMG_ADD_NO_CSUM));
		}
	}
	/* an empty message: zero-length payloads are copied too */
	t_ok(crimg_writer__add_record(w, CRIMG_T_TEST_ALL, CRIMG_REC_CSUM, NULL, 0));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
}

/* Copies everything but record `drop` (-1: none), then appends one. */
static void filter(int in, int out, int drop, uint32_t rflags)
{
	LIBCRIMG_OPTS(crimg_reader_opts, ro, .flags = rflags);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	struct crimg_writer *w;
	Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;
	int ret;

	t_ok(crimg_reader__new(in, &ro, &r));
	t_ok(crimg_writer__new(out, NULL, &w));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		if ((int)rec->index == drop)
			continue;
		ret = crimg_writer__copy_record(w, r);
		if (ret < 0)
			t_fail("copy_record: %s", crimg_writer__errmsg(w));
	}
	if (ret < 0)
		t_fail("filter: %s", crimg_reader__errmsg(r));
	m.seq = 1000;
	m.text = "appended";
	t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
	t_ok(crimg_writer__finish(w));
	crimg_writer__free(w);
	crimg_reader__free(r);
}

static void sink(int fd, int drop)
{
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint8_t *buf = malloc(64 * 4096);
	int i = 0, seen = 0, ret;

	t_ok(crimg_reader__new(fd, NULL, &r));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		if (i == drop)
			i++;
		if (i == NREC) {
			ProtobufCMessage *pm;

			t_assert(rec->type == CRIMG_T_TEST_ALL && rec->len == 0);
			t_ok(crimg_reader__read_msg(r, &crimg__test_all__descriptor, &pm));
			t_assert(crimg_reader__payload_verified(r));
			protobuf_c_message_free_unpacked(pm, NULL);
		} else if (i == NREC + 1) {
			ProtobufCMessage *pm;

			t_ok(crimg_reader__read_msg(r, &crimg__test_msg__descriptor, &pm));
			t_assert(((Crimg__TestMsg *)pm)->seq == 1000);
			protobuf_c_message_free_unpacked(pm, NULL);
		} else if (i % 2) {
			ProtobufCMessage *pm;

			t_ok(crimg_reader__read_msg(r, &crimg__test_msg__descriptor, &pm));
			t_assert(((Crimg__TestMsg *)pm)->seq == (uint64_t)i);
			protobuf_c_message_free_unpacked(pm, NULL);
			t_assert(crimg_reader__payload_verified(r));
		} else {
			t_assert(rec->len == (uint64_t)(i + 1) * 4096 + i);
			t_ok(crimg_reader__read_payload(r, buf, rec->len));
			t_assert(check_pat(buf, rec->len, i, 0));
			t_assert(crimg_reader__payload_verified(r) == !!(i % 4));
		}
		i++;
		seen++;
	}
	if (ret < 0)
		t_fail("sink: %s", crimg_reader__errmsg(r));
	t_assert(seen == NREC + 2 - (drop >= 0));
	crimg_reader__free(r);
	free(buf);
}

static void reap(pid_t pid)
{
	int st;

	t_assert(waitpid(pid, &st, 0) == pid);
	t_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void over_pipes(int drop, uint32_t rflags)
{
	int a[2], b[2];
	pid_t p1, p2;

	t_assert(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0);
	p1 = fork();
	if (!p1) {
		close(a[0]); close(b[0]); close(b[1]);
		source(a[1]);
		_exit(0);
	}
	p2 = fork();
	if (!p2) {
		close(a[1]); close(b[0]);
		filter(a[0], b[1], drop, rflags);
		_exit(0);
	}
	close(a[0]); close(a[1]); close(b[1]);
	sink(b[0], drop);
	close(b[0]);
	reap(p1);
	reap(p2);
}

static int tmpf(const char *name, int flags)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	fd = open(path, flags | O_CLOEXEC, 0600);
	t_assert(fd >= 0);
	return fd;
}

static void over_files(int drop)
{
	int fd = tmpf("in", O_WRONLY | O_CREAT | O_TRUNC), in, out;

	source(fd);
	close(fd);
	in = tmpf("in", O_RDONLY);
	out = tmpf("out", O_WRONLY | O_CREAT | O_TRUNC);
	filter(in, out, drop, 0);
	close(in);
	close(out);
	in = tmpf("out", O_RDONLY);
	sink(in, drop);
	close(in);
}

/* A payload corrupted before a filter that copies through a buffer (files
 * on both sides): the filter reads the bytes, so it verifies them. */
static void corrupted(void)
{
	int fd = tmpf("bad", O_RDWR | O_CREAT | O_TRUNC), out;
	const struct crimg_record *rec;
	struct crimg_reader *r;
	struct crimg_writer *w;
	/* record 2 (raw, checksummed) starts after record 0 (4096 bytes, no
	 * checksum) and record 1 (a 2-byte message) */
	off_t off = 64 + (24 + 4096) + (24 + 2 + 4) + 24 + 100;
	uint8_t byte;
	int ret;

	source(fd);
	t_assert(pread(fd, &byte, 1, off) == 1);
	byte ^= 4;
	t_assert(pwrite(fd, &byte, 1, off) == 1);
	t_assert(lseek(fd, 0, SEEK_SET) == 0);
	out = tmpf("bad-out", O_WRONLY | O_CREAT | O_TRUNC);
	t_ok(crimg_reader__new(fd, NULL, &r));
	t_ok(crimg_writer__new(out, NULL, &w));
	for (int i = 0; i < 2; i++) {
		t_assert(crimg_reader__next(r, &rec) == 1);
		t_ok(crimg_writer__copy_record(w, r));
	}
	t_assert(crimg_reader__next(r, &rec) == 1);
	ret = crimg_writer__copy_record(w, r);
	t_assert(ret == -EBADMSG);
	t_assert(strstr(crimg_writer__errmsg(w), "payload checksum mismatch"));
	t_log("ok: %s", crimg_writer__errmsg(w));
	crimg_writer__free(w);
	crimg_reader__free(r);
	close(fd);
	close(out);
}

int main(void)
{
	over_pipes(-1, 0);
	t_log("pipes, splice: ok");
	over_pipes(-1, CRIMG_R_NO_SPLICE);
	t_log("pipes, no splice: ok");
	over_pipes(5, 0);
	t_log("pipes, record 5 dropped: ok");
	over_files(-1);
	t_log("files: ok");
	over_files(0);
	t_log("files, record 0 dropped: ok");
	corrupted();
	return T_PASS;
}
