/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reader: libFuzzer harness over the stream reader.  The input is fed
 * through a memfd (regular-file paths) and, when it fits in a pipe
 * without blocking, through a pipe as well (splice paths).  Every record
 * is consumed in a different way: messages unpacked with the registry's
 * descriptors, raw payloads read whole, in pieces, with readv, spliced to
 * /dev/null, skipped, or left for next() to skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <crimg.h>

static int devnull = -1;
static int memfd = -1;

static void consume(int fd)
{
	const struct crimg_record *rec;
	struct crimg_reader *r;
	char err[128];
	LIBCRIMG_OPTS(crimg_reader_opts, o, .errbuf = err, .errbuf_len = sizeof(err));
	uint8_t buf[4096];
	int ret, k = 0;

	if (crimg_reader__new(fd, &o, &r) < 0)
		return;
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		const struct crimg_type_info *ti = crimg_type_info(rec->type);
		uint32_t cs;

		k++;
		if (ti && ti->desc) {
			ProtobufCMessage *m;

			if (crimg_reader__read_msg(r, ti->desc, &m) == 0)
				protobuf_c_message_free_unpacked(m, NULL);
		} else if (!ti) {
			if (crimg_reader__skip_unknown(r) < 0)
				break;
		} else {
			switch (k % 4) {
			case 0:
				while (crimg_reader__payload_left(r)) {
					uint64_t n = crimg_reader__payload_left(r);

					if (crimg_reader__read_payload(r, buf, n > 1000 ? 1000 : n) < 0)
						break;
				}
				break;
			case 1: {
				uint64_t n = crimg_reader__payload_left(r);
				struct iovec v[2] = { { buf, 7 }, { buf + 7, sizeof(buf) - 7 } };

				if (n < 7)
					v[0].iov_len = n, v[1].iov_len = 0;
				else if (n < sizeof(buf))
					v[1].iov_len = n - 7;
				crimg_reader__read_payload_iov(r, v, 2);
				break;
			}
			case 2:
				crimg_reader__splice_payload(r, devnull, crimg_reader__payload_left(r));
				break;
			default:
				break; /* next() skips it */
			}
		}
		crimg_reader__payload_verified(r);
		crimg_reader__payload_csum(r, &cs);
		if (crimg_reader__errmsg(r)[0] == 0 && k > 100000)
			break;
	}
	(void)crimg_reader__errmsg(r);
	crimg_reader__free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		memfd = memfd_create("fuzz", MFD_CLOEXEC);
		if (devnull < 0 || memfd < 0)
			abort();
	}
	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET))
		abort();
	consume(memfd);

	if (size <= 65536) {
		int p[2];

		if (pipe2(p, O_CLOEXEC))
			abort();
		if (size && write(p[1], data, size) != (ssize_t)size)
			abort();
		close(p[1]);
		consume(p[0]);
		close(p[0]);
	}
	return 0;
}
