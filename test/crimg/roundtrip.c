/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * roundtrip: every kind of record written and read back, through a
 * regular file, through a pipe between two processes (with and without
 * splice) and through a socket pair.  Contents, checksums, flags, indexes
 * and offsets are checked record by record.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "crimg-test.h"

#define NPAGES 300            /* donated record: 300 pages */
#define RAWLEN 300001         /* begin_raw record */
#define SPLLEN (200 * 1024 + 5) /* splice_raw record */
#define NMSG 50

static const char *srcfile;

static void write_stream(int fd, uint32_t wflags)
{
	LIBCRIMG_OPTS(crimg_writer_opts, o, .producer = "roundtrip-test", .flags = wflags);
	struct crimg_writer *w;
	uint32_t vals[5] = { 1, 2, 3, 0xffffffffu, 7 };
	uint8_t small[100], *big, *pieces;
	struct iovec iov[4];
	int sfd;

	t_ok(crimg_writer__new(fd, &o, &w));
	for (int i = 0; i < NMSG; i++) {
		Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;

		m.seq = i;
		m.text = i % 2 ? "odd" : "even";
		m.n_values = i % 6;
		m.values = vals;
		t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_MSG, 0, &m.base));
	}
	fill_pat(small, sizeof(small), 1, 0);
	t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, small, sizeof(small)));
	t_ok(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, NULL, 0));

	/* donated pages, vmsplice'd into a pipe */
	big = t_pages(NPAGES * 4096);
	fill_pat(big, NPAGES * 4096, 2, 0);
	iov[0].iov_base = big;
	iov[0].iov_len = 100 * 4096;
	iov[1].iov_base = big + 100 * 4096;
	iov[1].iov_len = 200 * 4096;
	t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, 0, iov, 2, CRIMG_ADD_DONATE));

	/* gathered, not donated, no checksum */
	pieces = malloc(RAWLEN);
	fill_pat(pieces, RAWLEN, 3, 0);
	iov[0].iov_base = pieces;
	iov[0].iov_len = 10;
	iov[1].iov_base = pieces + 10;
	iov[1].iov_len = 0;
	iov[2].iov_base = pieces + 10;
	iov[2].iov_len = 5000;
	t_ok(crimg_writer__add_iov(w, CRIMG_T_TEST_RAW, CRIMG_REC_REQUIRED, iov, 3, CRIMG_ADD_NO_CSUM));

	/* in pieces */
	t_ok(crimg_writer__begin_raw(w, CRIMG_T_TEST_RAW, 0, RAWLEN));
	for (size_t off = 0; off < RAWLEN;) {
		size_t n = off % 3 ? 4095 : 70000;

		if (n > RAWLEN - off)
			n = RAWLEN - off;
		iov[0].iov_base = pieces + off;
		iov[0].iov_len = n;
		t_ok(crimg_writer__write_raw(w, iov, 1, 0));
		off += n;
	}
	t_assert(crimg_writer__write_raw(w, iov, 1, 0) == -EPROTO);
	t_ok(crimg_writer__end_raw(w, NULL));

	/* spliced from a file */
	sfd = open(srcfile, O_RDONLY | O_CLOEXEC);
	t_assert(sfd >= 0);
	t_ok(crimg_writer__begin_raw(w, CRIMG_T_TEST_RAW, CRIMG_RAW_NO_CSUM, SPLLEN));
	t_ok(crimg_writer__splice_raw(w, sfd, 1000));
	t_ok(crimg_writer__splice_raw(w, sfd, SPLLEN - 1000));
	t_ok(crimg_writer__end_raw(w, NULL));
	close(sfd);

	/* an unknown type, not required, and an empty message */
	t_ok(crimg_writer__add_record(w, 0xeeee, CRIMG_REC_RAW, small, 10));
	{
		Crimg__TestMsg m = CRIMG__TEST_MSG__INIT;

		t_ok(crimg_writer__add_msg(w, CRIMG_T_TEST_REQUIRED, CRIMG_REC_REQUIRED, &m.base));
	}
	t_assert(crimg_writer__add_msg(w, CRIMG_T_TRAILER, 0, NULL) == -EINVAL);
	t_ok(crimg_writer__finish(w));
	t_assert(crimg_writer__records(w) == NMSG + 8);
	t_assert(crimg_writer__add_bytes(w, CRIMG_T_TEST_RAW, 0, small, 1) == -EINVAL);
	crimg_writer__free(w);
	munmap(big, NPAGES * 4096);
	free(pieces);
}

static void read_stream(int fd, uint32_t rflags)
{
	LIBCRIMG_OPTS(crimg_reader_opts, o, .flags = rflags);
	const struct crimg_record *rec;
	struct crimg_reader *r;
	uint64_t idx = 0, off = CRIMG_HEADER_SIZE;
	uint16_t maj, min;
	uint8_t *buf = malloc(NPAGES * 4096 + 1);
	int ret;

	t_ok(crimg_reader__new(fd, &o, &r));
	t_assert(!strcmp(crimg_reader__producer(r), "roundtrip-test"));
	crimg_reader__version(r, &maj, &min);
	t_assert(maj == 1 && min == 0);
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		uint64_t rl = rec->len;

		t_assert(rec->index == idx);
		if (rec->offset != off)
			t_fail("record %lu at %lu, expected %lu", (unsigned long)idx,
			       (unsigned long)rec->offset, (unsigned long)off);
		off += CRIMG_REC_HDR_SIZE + rec->len + (rec->flags & CRIMG_REC_CSUM ? 4 : 0);
		if (idx < NMSG) {
			ProtobufCMessage *pm;
			Crimg__TestMsg *m;

			t_assert(rec->type == CRIMG_T_TEST_MSG && rec->flags == CRIMG_REC_CSUM);
			t_ok(crimg_reader__read_msg(r, &crimg__test_msg__descriptor, &pm));
			m = (Crimg__TestMsg *)pm;
			t_assert(m->seq == idx && !strcmp(m->text, idx % 2 ? "odd" : "even"));
			t_assert(m->n_values == idx % 6);
			t_assert(crimg_reader__payload_verified(r) == 1);
			protobuf_c_message_free_unpacked(pm, NULL);
		} else if (idx == NMSG) {
			t_assert(rec->type == CRIMG_T_TEST_RAW && rl == 100);
			t_assert(rec->flags == (CRIMG_REC_RAW | CRIMG_REC_CSUM));
			t_ok(crimg_reader__read_payload(r, buf, 30));
			t_assert(crimg_reader__payload_left(r) == 70);
			t_assert(crimg_reader__read_payload(r, buf + 30, 71) == -EPROTO);
			t_ok(crimg_reader__read_payload(r, buf + 30, 70));
			t_assert(check_pat(buf, 100, 1, 0));
			t_assert(crimg_reader__payload_verified(r) == 1);
		} else if (idx == NMSG + 1) {
			uint32_t cs;

			t_assert(rl == 0);
			t_assert(crimg_reader__payload_verified(r) == 1);
			t_ok(crimg_reader__payload_csum(r, &cs));
			t_assert(cs == 0);
		} else if (idx == NMSG + 2) {
			struct iovec v[3] = { { buf, 5 }, { buf + 5, 4096 * 7 }, { buf + 5 + 4096 * 7, rl - 5 - 4096 * 7 } };

			t_assert(rl == NPAGES * 4096);
			t_ok(crimg_reader__read_payload_iov(r, v, 3));
			t_assert(check_pat(buf, rl, 2, 0));
			t_assert(crimg_reader__payload_verified(r) == 1);
		} else if (idx == NMSG + 3) {
			uint32_t cs;

			t_assert(rl == 5010 && rec->flags == (CRIMG_REC_RAW | CRIMG_REC_REQUIRED));
			t_ok(crimg_reader__read_payload(r, buf, rl));
			t_assert(check_pat(buf, rl, 3, 0));
			t_assert(crimg_reader__payload_verified(r) == 0);
			t_assert(crimg_reader__payload_csum(r, &cs) == -ENODATA);
		} else if (idx == NMSG + 4 && (rflags & CRIMG_R_NO_SPLICE)) {
			/* the caller reads the payload itself from the fd,
			 * checksums it and tells the reader */
			struct crimg_csum c;
			uint64_t done = 0;

			t_assert(rl == RAWLEN);
			crimg_csum_init(&c);
			while (done < rl) {
				ssize_t n = read(crimg_reader__fd(r), buf, rl - done > 7000 ? 7000 : rl - done);

				t_assert(n > 0);
				t_assert(check_pat(buf, n, 3, done));
				crimg_csum_update(&c, buf, n);
				done += n;
			}
			t_assert(crimg_reader__consumed(r, rl + 1, &c) == -EPROTO);
			t_ok(crimg_reader__consumed(r, rl, &c));
			t_assert(crimg_reader__payload_verified(r) == 1);
		} else if (idx == NMSG + 4) {
			t_assert(rl == RAWLEN);
			for (uint64_t done = 0; done < rl;) {
				size_t n = rl - done > 12345 ? 12345 : rl - done;

				t_ok(crimg_reader__read_payload(r, buf, n));
				t_assert(check_pat(buf, n, 3, done));
				done += n;
			}
			t_assert(crimg_reader__payload_verified(r) == 1);
		} else if (idx == NMSG + 5) {
			char path[256];
			size_t n;
			uint8_t *got;
			int out;

			t_assert(rl == SPLLEN && rec->flags == CRIMG_REC_RAW);
			snprintf(path, sizeof(path), "%s/spliced.%d", t_tmpdir(), (int)getpid());
			out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			t_assert(out >= 0);
			t_ok(crimg_reader__splice_payload(r, out, 77));
			t_ok(crimg_reader__splice_payload(r, out, rl - 77));
			close(out);
			got = t_slurp(path, &n);
			t_assert(n == SPLLEN && check_pat(got, n, 4, 0));
			free(got);
		} else if (idx == NMSG + 6) {
			t_assert(rec->type == 0xeeee && !crimg_type_info(0xeeee));
			t_ok(crimg_reader__skip_unknown(r));
		} else if (idx == NMSG + 7) {
			ProtobufCMessage *pm;

			t_assert(rec->type == CRIMG_T_TEST_REQUIRED && rl == 2);
			t_ok(crimg_reader__read_msg(r, &crimg__test_msg__descriptor, &pm));
			protobuf_c_message_free_unpacked(pm, NULL);
		} else {
			t_fail("unexpected record %lu", (unsigned long)idx);
		}
		idx++;
	}
	if (ret < 0)
		t_fail("reader: %s", crimg_reader__errmsg(r));
	t_assert(idx == NMSG + 8);
	t_assert(crimg_reader__records(r) == idx);
	t_assert(crimg_reader__offset(r) == off + CRIMG_REC_HDR_SIZE + 24 + 4);
	t_assert(crimg_reader__next(r, &rec) == 0);
	crimg_reader__free(r);
	free(buf);
}

static void via_file(uint32_t wflags, uint32_t rflags)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/stream", t_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	t_assert(fd >= 0);
	write_stream(fd, wflags);
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	read_stream(fd, rflags);
	close(fd);
}

static void via_pair(int fds[2], int rd, int wr, uint32_t wflags, uint32_t rflags)
{
	int st;
	pid_t pid = fork();

	t_assert(pid >= 0);
	if (!pid) {
		close(fds[rd]);
		write_stream(fds[wr], wflags);
		_exit(0);
	}
	close(fds[wr]);
	read_stream(fds[rd], rflags);
	close(fds[rd]);
	t_assert(waitpid(pid, &st, 0) == pid);
	t_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void via_pipe(uint32_t wflags, uint32_t rflags)
{
	int p[2];

	t_assert(pipe2(p, O_CLOEXEC) == 0);
	via_pair(p, 0, 1, wflags, rflags);
}

static void via_socket(void)
{
	int s[2];

	t_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) == 0);
	via_pair(s, 0, 1, 0, 0);
}

int main(void)
{
	char path[256];
	uint8_t *src = malloc(SPLLEN);

	fill_pat(src, SPLLEN, 4, 0);
	snprintf(path, sizeof(path), "%s/src", t_tmpdir());
	t_spill(path, src, SPLLEN);
	free(src);
	srcfile = path;

	via_file(0, 0);
	t_log("file: ok");
	via_file(CRIMG_W_NO_SPLICE, CRIMG_R_NO_SPLICE);
	t_log("file, no splice: ok");
	via_pipe(0, 0);
	t_log("pipe: ok");
	via_pipe(CRIMG_W_NO_SPLICE | CRIMG_W_NO_PIPE_RESIZE, CRIMG_R_NO_SPLICE);
	t_log("pipe, no splice: ok");
	via_socket();
	t_log("socket pair: ok");
	return T_PASS;
}
