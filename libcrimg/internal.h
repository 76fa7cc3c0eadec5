/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - private to libcrimg: the writer and reader objects (the
 * pass-through in writer.c reaches into the reader), byte order helpers
 * and the EINTR-safe I/O helpers.
 */
#ifndef CRIMG_INTERNAL_H
#define CRIMG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <crimg.h>

#define CRIMG_MAGIC "\x89" "CRIMG\r\n"
#define CRIMG_MAGIC_LEN 8
#define CRIMG_PRODUCER_LEN 44
#define CRIMG_TRAILER_LEN 24u
#define CRIMG_ERRMSG_LEN 320

#include "frame-core.h" /* put_le32, get_le32... and the framing checksums */

/* Record header checksum: CRC32C(LE64(index) || header bytes 0..19). */
uint32_t crimg__hdr_csum(uint64_t index, const uint8_t *hdr);
/* Tests: force the portable CRC32C table code (1) or the fastest (0). */
void crimg__crc32c_use_table(int on);
/* Chain checksum step for one record. */
uint32_t crimg__chain_step(uint32_t chain, uint32_t hdr_csum, uint32_t payload_csum);
/* Fills a 24-byte record header. */
void crimg__fill_hdr(uint8_t *hdr, uint64_t index, uint32_t type, uint32_t flags, uint64_t len);

/* I/O helpers: EINTR-safe, wait on EAGAIN, handle partial transfers.
 * read_full returns the bytes read (short only at end of input) or -errno. */
ssize_t crimg__read_full(int fd, void *buf, size_t len);
ssize_t crimg__readv_full(int fd, struct iovec *iov, int iovcnt, size_t *done_out);
int crimg__write_full(int fd, const void *buf, size_t len);
/* Writes all iovecs (modifies the array). */
int crimg__writev_full(int fd, struct iovec *iov, int iovcnt);
int crimg__vmsplice_full(int fd, struct iovec *iov, int iovcnt);
/* Moves len bytes from in to out with splice; returns bytes moved (short
 * only when in ends) or -errno (-EINVAL: this pair cannot splice). */
ssize_t crimg__splice_full(int in, int out, uint64_t len);
bool crimg__is_pipe(int fd);
void crimg__wait(int fd, short events);

struct crimg_writer {
	int fd;
	uint32_t flags;
	bool pipe;
	int state;              /* W_* */
	int err;                /* sticky error once the stream is broken */
	uint64_t records;       /* records written (index of the next one) */
	uint64_t bytes;         /* stream bytes written */
	uint32_t chain;
	crimg_log_fn log;
	void *log_arg;
	/* the open raw record */
	uint8_t pend[CRIMG_REC_HDR_SIZE];
	bool pend_hdr;          /* its header is not written yet */
	uint32_t raw_flags;
	uint32_t raw_hdr_csum;
	uint64_t raw_len, raw_done;
	bool raw_csum_ok;       /* every byte went through raw_csum */
	struct crimg_csum raw_csum;
	char errmsg[CRIMG_ERRMSG_LEN];
};

enum { W_OPEN, W_RAW, W_DONE, W_EXPORTED, W_BROKEN };

struct crimg_reader {
	int fd;
	uint32_t flags;
	bool pipe;
	int err;                /* sticky: once set, every call returns it */
	bool end;               /* trailer read and matched */
	uint64_t off;           /* stream bytes consumed */
	uint64_t nrec;          /* records whose header was read */
	uint32_t chain;
	uint16_t major, minor;
	char producer[CRIMG_PRODUCER_LEN];
	/* current record */
	bool have_rec;
	struct crimg_record rec;
	uint32_t hdr_csum;
	uint64_t left;          /* payload bytes not yet consumed */
	bool csum_ok;           /* every consumed byte went through csum */
	struct crimg_csum csum;
	bool done;              /* payload and checksum consumed */
	bool has_stored;
	uint32_t stored;
	int verified;
	int devnull;
	uint8_t *scratch;
	crimg_log_fn log;
	void *log_arg;
	char errmsg[CRIMG_ERRMSG_LEN];
};

/* Reader internals used by the pass-through. */
int crimg__reader_finish_payload(struct crimg_reader *r);
int crimg__reader_fail(struct crimg_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *crimg__type_name(uint32_t type, char *buf, size_t len);

#endif
