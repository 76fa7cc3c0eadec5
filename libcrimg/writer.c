/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * writer.c - writes an image stream: header, records, trailer.
 *
 * Small records go out as one writev (header, payload, checksum).  Donated
 * pages go into a pipe with vmsplice, without a copy.  A record written in
 * pieces (begin_raw ... end_raw) keeps its header pending until the first
 * piece so that header and first bytes share a write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

#define SMALL_MSG 4096
#define PIPE_WANT (1u << 20)

static void wlog(struct crimg_writer *w, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wlog(struct crimg_writer *w, int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!w->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->log(level, buf, w->log_arg);
}

static int wfail(struct crimg_writer *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int wfail(struct crimg_writer *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	wlog(w, LOG_DEBUG, "%s", w->errmsg); /* returned anyway */
	return err;
}

/* An I/O error in the middle of a record leaves the stream unusable. */
static int wbroken(struct crimg_writer *w, int err, const char *what)
{
	char ename[64];

	w->state = W_BROKEN;
	w->err = err;
	snprintf(ename, sizeof(ename), "%s", strerror(-err));
	return wfail(w, err, "record %" PRIu64 " at byte %" PRIu64 ": %s: %s",
		     w->records, w->bytes, what, ename);
}

static int check_usable(struct crimg_writer *w, int want_state)
{
	if (w->state == W_BROKEN)
		return w->err;
	if (w->state == want_state)
		return 0;
	switch (w->state) {
	case W_RAW:
		return wfail(w, -EBUSY, "a raw record is open: end it with crimg_writer__end_raw first");
	case W_DONE:
		return wfail(w, -EINVAL, "the stream is finished");
	case W_EXPORTED:
		return wfail(w, -EINVAL, "the writer was exported");
	default:
		return wfail(w, -EINVAL, "no raw record is open");
	}
}

static void grow_pipe(struct crimg_writer *w)
{
	char buf[32];
	ssize_t n;
	long max;
	int fd, cur;

	cur = fcntl(w->fd, F_GETPIPE_SZ);
	if (cur >= (int)PIPE_WANT)
		return;
	if (fcntl(w->fd, F_SETPIPE_SZ, PIPE_WANT) >= 0)
		return;
	fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = crimg__read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	max = strtol(buf, NULL, 10);
	if (max > cur && max < (long)PIPE_WANT && fcntl(w->fd, F_SETPIPE_SZ, (int)max) >= 0)
		return;
	wlog(w, LOG_DEBUG, "cannot grow the pipe beyond %d bytes", cur);
}

static int writer_alloc(int fd, const struct crimg_writer_opts *opts, struct crimg_writer **ret)
{
	struct crimg_writer *w;

	if (fd < 0 || !ret)
		return -EINVAL;
	if (opts && opts->sz < sizeof(size_t))
		return -EINVAL;
	if (opts && opts->sz >= offsetof(struct crimg_writer_opts, flags) + sizeof(uint32_t) &&
	    (opts->flags & ~(CRIMG_W_NO_SPLICE | CRIMG_W_NO_PIPE_RESIZE)))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	if (opts) {
		if (opts->sz >= offsetof(struct crimg_writer_opts, flags) + sizeof(uint32_t))
			w->flags = opts->flags;
		if (opts->sz >= offsetof(struct crimg_writer_opts, log_arg) + sizeof(void *)) {
			w->log = opts->log;
			w->log_arg = opts->log_arg;
		}
	}
	w->pipe = crimg__is_pipe(fd);
	if (w->pipe && !(w->flags & CRIMG_W_NO_PIPE_RESIZE))
		grow_pipe(w);
	*ret = w;
	return 0;
}

CRIMG_API int crimg_writer__new(int fd, const struct crimg_writer_opts *opts,
				struct crimg_writer **ret)
{
	const char *producer = "libcrimg";
	uint8_t hdr[CRIMG_HEADER_SIZE];
	struct crimg_writer *w;
	size_t plen;
	int r;

	if (opts && opts->sz >= offsetof(struct crimg_writer_opts, producer) + sizeof(char *) &&
	    opts->producer)
		producer = opts->producer;
	plen = strlen(producer);
	if (plen > CRIMG_PRODUCER_LEN - 1)
		plen = CRIMG_PRODUCER_LEN - 1;
	r = writer_alloc(fd, opts, &w);
	if (r < 0)
		return r;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, CRIMG_MAGIC, CRIMG_MAGIC_LEN);
	put_le16(hdr + 8, CRIMG_VERSION_MAJOR);
	put_le16(hdr + 10, CRIMG_VERSION_MINOR);
	put_le32(hdr + 12, CRIMG_HEADER_SIZE);
	memcpy(hdr + 16, producer, plen);
	put_le32(hdr + 60, crimg_crc32c(0, hdr, 60));
	r = crimg__write_full(fd, hdr, sizeof(hdr));
	if (r < 0) {
		free(w);
		return r;
	}
	w->bytes = CRIMG_HEADER_SIZE;
	*ret = w;
	return 0;
}

/* Strict unsigned decimal (or hex) field of a state string, ending at
 * sep; advances *p.  No sign, no spaces, no empty field. */
static bool state_field(const char **p, int base, char sep, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0;

	for (; *s && *s != sep; s++, n++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return false;
		if (x > (UINT64_MAX - d) / base)
			return false;
		x = x * base + d;
	}
	if (!n || *s != sep)
		return false;
	*p = sep ? s + 1 : s;
	*v = x;
	return true;
}

CRIMG_API int crimg_writer__resume(int fd, const char *state,
				   const struct crimg_writer_opts *opts,
				   struct crimg_writer **ret)
{
	uint64_t ver, recs, off, chain;
	struct crimg_writer *w;
	const char *p = state;
	int r;

	if (!state || !ret)
		return -EINVAL;
	if (!state_field(&p, 10, ':', &ver) || !state_field(&p, 10, ':', &recs) ||
	    !state_field(&p, 10, ':', &off) || !state_field(&p, 16, 0, &chain) ||
	    ver != CRIMG_VERSION_MAJOR || chain > UINT32_MAX || off < CRIMG_HEADER_SIZE ||
	    recs > (off - CRIMG_HEADER_SIZE) / CRIMG_REC_HDR_SIZE)
		return -EINVAL;
	r = writer_alloc(fd, opts, &w);
	if (r < 0)
		return r;
	w->records = recs;
	w->bytes = off;
	w->chain = (uint32_t)chain;
	*ret = w;
	return 0;
}

CRIMG_API int crimg_writer__export(struct crimg_writer *w, char *buf, size_t len)
{
	int r, n;

	if (!w || !buf)
		return -EINVAL;
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	n = snprintf(buf, len, "%u:%" PRIu64 ":%" PRIu64 ":%08x", CRIMG_VERSION_MAJOR,
		     w->records, w->bytes, w->chain);
	if (n < 0 || (size_t)n >= len)
		return wfail(w, -ENOSPC, "export: state needs %d bytes", n + 1);
	w->state = W_EXPORTED;
	return 0;
}

/* Writes one whole record.  iov[0] is reserved for the header, iov[n-1]
 * for the checksum when CSUM is set; the payload is iov[1..]. */
static int emit(struct crimg_writer *w, uint32_t type, uint32_t flags, uint64_t len,
		struct iovec *iov, int iovcnt, uint32_t csum, bool splice_payload)
{
	uint8_t hdr[CRIMG_REC_HDR_SIZE], cs[4];
	uint32_t hcs;
	int r;

	crimg__fill_hdr(hdr, w->records, type, flags, len);
	hcs = get_le32(hdr + 20);
	put_le32(cs, csum);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	if (flags & CRIMG_REC_CSUM) {
		iov[iovcnt - 1].iov_base = cs;
		iov[iovcnt - 1].iov_len = 4;
	}
	if (!splice_payload) {
		r = crimg__writev_full(w->fd, iov, iovcnt);
	} else {
		r = crimg__write_full(w->fd, hdr, sizeof(hdr));
		if (r == 0)
			r = crimg__vmsplice_full(w->fd, iov + 1,
						 iovcnt - 1 - !!(flags & CRIMG_REC_CSUM));
		if (r == 0 && (flags & CRIMG_REC_CSUM))
			r = crimg__write_full(w->fd, cs, 4);
	}
	if (r < 0)
		return wbroken(w, r, "write");
	w->chain = crimg__chain_step(w->chain, hcs, flags & CRIMG_REC_CSUM ? csum : 0);
	w->records++;
	w->bytes += CRIMG_REC_HDR_SIZE + len + (flags & CRIMG_REC_CSUM ? 4 : 0);
	return 0;
}

static int check_type(struct crimg_writer *w, uint32_t type)
{
	if (type == CRIMG_T_INVALID || type == CRIMG_T_TRAILER)
		return wfail(w, -EINVAL, "record type %u cannot be written", type);
	return 0;
}

CRIMG_API int crimg_writer__add_record(struct crimg_writer *w, uint32_t type, uint32_t flags,
				       const void *buf, size_t len)
{
	struct iovec iov[3];
	uint32_t csum = 0;
	int r;

	if (!w || (!buf && len))
		return -EINVAL;
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	r = check_type(w, type);
	if (r < 0)
		return r;
	if (flags & ~CRIMG_REC_KNOWN_FLAGS)
		return wfail(w, -EINVAL, "unknown record flags 0x%x", flags);
	if (len > CRIMG_MAX_REC_LEN)
		return wfail(w, -EOVERFLOW, "record of %zu bytes is too long", len);
	if (flags & CRIMG_REC_CSUM) {
		struct crimg_csum c;

		crimg_csum_init(&c);
		crimg_csum_update(&c, buf, len);
		csum = crimg_csum_final(&c);
	}
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = len;
	return emit(w, type, flags, len, iov, flags & CRIMG_REC_CSUM ? 3 : 2, csum, false);
}

CRIMG_API int crimg_writer__add_msg(struct crimg_writer *w, uint32_t type,
				    uint32_t flags, const ProtobufCMessage *msg)
{
	uint8_t small[SMALL_MSG];
	uint8_t *buf = small;
	size_t len;
	int r;

	if (!w || !msg)
		return -EINVAL;
	if (flags & ~CRIMG_REC_REQUIRED)
		return wfail(w, -EINVAL, "add_msg: unknown flags 0x%x", flags);
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	len = protobuf_c_message_get_packed_size(msg);
	if (len > CRIMG_MAX_MSG_LEN)
		return wfail(w, -EOVERFLOW, "message of %zu bytes is larger than %u", len,
			     CRIMG_MAX_MSG_LEN);
	if (len > sizeof(small)) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
	}
	protobuf_c_message_pack(msg, buf);
	r = crimg_writer__add_record(w, type, flags | CRIMG_REC_CSUM, buf, len);
	if (buf != small)
		free(buf);
	return r;
}

CRIMG_API int crimg_writer__add_bytes(struct crimg_writer *w, uint32_t type,
				      uint32_t flags, const void *buf, size_t len)
{
	if (!w)
		return -EINVAL;
	if (flags & ~(CRIMG_REC_REQUIRED | CRIMG_REC_RAW))
		return wfail(w, -EINVAL, "add_bytes: unknown flags 0x%x", flags);
	return crimg_writer__add_record(w, type, flags | CRIMG_REC_RAW | CRIMG_REC_CSUM, buf, len);
}

static bool use_vmsplice(const struct crimg_writer *w, uint32_t addflags)
{
	return (addflags & CRIMG_ADD_DONATE) && w->pipe && !(w->flags & CRIMG_W_NO_SPLICE);
}

CRIMG_API int crimg_writer__add_iov(struct crimg_writer *w, uint32_t type,
				    uint32_t flags, const struct iovec *iov,
				    int iovcnt, uint32_t addflags)
{
	struct iovec small[16 + 2], *v = small;
	uint32_t rflags, csum = 0;
	uint64_t len = 0;
	int r;

	if (!w || iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (flags & ~(CRIMG_REC_REQUIRED | CRIMG_REC_RAW))
		return wfail(w, -EINVAL, "add_iov: unknown flags 0x%x", flags);
	if (addflags & ~(CRIMG_ADD_DONATE | CRIMG_ADD_NO_CSUM))
		return wfail(w, -EINVAL, "add_iov: unknown addflags 0x%x", addflags);
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	r = check_type(w, type);
	if (r < 0)
		return r;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > CRIMG_MAX_REC_LEN)
		return wfail(w, -EOVERFLOW, "record of %" PRIu64 " bytes is too long", len);
	rflags = flags | CRIMG_REC_RAW;
	if (!(addflags & CRIMG_ADD_NO_CSUM)) {
		struct crimg_csum c;

		crimg_csum_init(&c);
		for (int i = 0; i < iovcnt; i++)
			crimg_csum_update(&c, iov[i].iov_base, iov[i].iov_len);
		csum = crimg_csum_final(&c);
		rflags |= CRIMG_REC_CSUM;
	}
	if (iovcnt + 2 > (int)(sizeof(small) / sizeof(small[0]))) {
		v = malloc((iovcnt + 2) * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	if (iovcnt)
		memcpy(v + 1, iov, iovcnt * sizeof(*v));
	r = emit(w, type, rflags, len, v, iovcnt + 1 + !!(rflags & CRIMG_REC_CSUM), csum,
		 use_vmsplice(w, addflags));
	if (v != small)
		free(v);
	return r;
}

CRIMG_API int crimg_writer__begin_raw(struct crimg_writer *w, uint32_t type,
				      uint32_t flags, uint64_t len)
{
	int r;

	if (!w)
		return -EINVAL;
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	r = check_type(w, type);
	if (r < 0)
		return r;
	if (flags & ~(CRIMG_REC_REQUIRED | CRIMG_REC_RAW | CRIMG_RAW_NO_CSUM))
		return wfail(w, -EINVAL, "begin_raw: unknown flags 0x%x", flags);
	if (len > CRIMG_MAX_REC_LEN)
		return wfail(w, -EOVERFLOW, "record of %" PRIu64 " bytes is too long", len);
	w->raw_flags = (flags & (CRIMG_REC_REQUIRED | CRIMG_REC_RAW)) | CRIMG_REC_RAW;
	if (!(flags & CRIMG_RAW_NO_CSUM))
		w->raw_flags |= CRIMG_REC_CSUM;
	crimg__fill_hdr(w->pend, w->records, type, w->raw_flags, len);
	w->raw_hdr_csum = get_le32(w->pend + 20);
	w->pend_hdr = true;
	w->raw_len = len;
	w->raw_done = 0;
	w->raw_csum_ok = true;
	crimg_csum_init(&w->raw_csum);
	w->state = W_RAW;
	return 0;
}

static int flush_pending(struct crimg_writer *w)
{
	int r;

	if (!w->pend_hdr)
		return 0;
	r = crimg__write_full(w->fd, w->pend, sizeof(w->pend));
	if (r < 0)
		return wbroken(w, r, "write");
	w->pend_hdr = false;
	w->bytes += CRIMG_REC_HDR_SIZE;
	return 0;
}

CRIMG_API int crimg_writer__write_raw(struct crimg_writer *w, const struct iovec *iov,
				      int iovcnt, uint32_t addflags)
{
	struct iovec small[16 + 1], *v = small;
	uint64_t len = 0;
	bool hdr_in_v;
	int r;

	if (!w || iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	r = check_usable(w, W_RAW);
	if (r < 0)
		return r;
	if (addflags & ~(CRIMG_ADD_DONATE | CRIMG_ADD_NO_CSUM))
		return wfail(w, -EINVAL, "write_raw: unknown addflags 0x%x", addflags);
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > w->raw_len - w->raw_done)
		return wfail(w, -EPROTO, "write_raw: %" PRIu64 " bytes past the record's length of %" PRIu64,
			     len - (w->raw_len - w->raw_done), w->raw_len);
	if (w->raw_flags & CRIMG_REC_CSUM) {
		if (addflags & CRIMG_ADD_NO_CSUM)
			w->raw_csum_ok = false;
		else if (w->raw_csum_ok)
			for (int i = 0; i < iovcnt; i++)
				crimg_csum_update(&w->raw_csum, iov[i].iov_base, iov[i].iov_len);
	}
	if (use_vmsplice(w, addflags)) {
		r = flush_pending(w);
		if (r < 0)
			return r;
		if (iovcnt > (int)(sizeof(small) / sizeof(small[0]))) {
			v = malloc(iovcnt * sizeof(*v));
			if (!v)
				return -ENOMEM;
		}
		if (iovcnt)
			memcpy(v, iov, iovcnt * sizeof(*v));
		r = crimg__vmsplice_full(w->fd, v, iovcnt);
	} else {
		if (iovcnt + 1 > (int)(sizeof(small) / sizeof(small[0]))) {
			v = malloc((iovcnt + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
		}
		hdr_in_v = w->pend_hdr;
		v[0].iov_base = w->pend;
		v[0].iov_len = hdr_in_v ? sizeof(w->pend) : 0;
		if (iovcnt)
			memcpy(v + 1, iov, iovcnt * sizeof(*v));
		r = crimg__writev_full(w->fd, v, iovcnt + 1);
		if (r == 0 && hdr_in_v) {
			w->pend_hdr = false;
			w->bytes += CRIMG_REC_HDR_SIZE;
		}
	}
	if (v != small)
		free(v);
	if (r < 0)
		return wbroken(w, r, "write");
	w->raw_done += len;
	w->bytes += len;
	return 0;
}

CRIMG_API int crimg_writer__splice_raw(struct crimg_writer *w, int fd, uint64_t len)
{
	ssize_t n = 0;
	int r;

	if (!w || fd < 0)
		return -EINVAL;
	r = check_usable(w, W_RAW);
	if (r < 0)
		return r;
	if (len > w->raw_len - w->raw_done)
		return wfail(w, -EPROTO, "splice_raw: %" PRIu64 " bytes past the record's length of %" PRIu64,
			     len - (w->raw_len - w->raw_done), w->raw_len);
	r = flush_pending(w);
	if (r < 0)
		return r;
	if (!(w->flags & CRIMG_W_NO_SPLICE) && (w->pipe || crimg__is_pipe(fd))) {
		n = crimg__splice_full(fd, w->fd, len);
		if (n == -EINVAL)
			n = 0; /* this pair cannot splice: copy below */
		else if (n < 0)
			return wbroken(w, (int)n, "splice");
		else
			w->raw_csum_ok = false;
		w->raw_done += n;
		w->bytes += n;
		len -= n;
		if (len && n > 0)
			goto short_input;
	}
	if (len) {
		size_t bsz = len < (256u << 10) ? (size_t)len : (256u << 10);
		uint8_t *buf = malloc(bsz);

		if (!buf)
			return -ENOMEM;
		while (len) {
			size_t want = len < bsz ? (size_t)len : bsz;

			n = crimg__read_full(fd, buf, want);
			if (n <= 0)
				break;
			if ((w->raw_flags & CRIMG_REC_CSUM) && w->raw_csum_ok)
				crimg_csum_update(&w->raw_csum, buf, n);
			r = crimg__write_full(w->fd, buf, n);
			if (r < 0) {
				free(buf);
				return wbroken(w, r, "write");
			}
			w->raw_done += n;
			w->bytes += n;
			len -= n;
			if ((size_t)n < want)
				break;
		}
		free(buf);
		if (n < 0)
			return wbroken(w, (int)n, "read from the source fd");
		if (len)
			goto short_input;
	}
	return 0;
short_input:
	w->state = W_BROKEN;
	w->err = -EIO;
	return wfail(w, -EIO, "record %" PRIu64 ": splice_raw: the source ended %" PRIu64
		     " bytes short", w->records, len);
}

CRIMG_API int crimg_writer__end_raw(struct crimg_writer *w, const uint32_t *csum)
{
	uint8_t cs[4];
	uint32_t c = 0;
	int r;

	if (!w)
		return -EINVAL;
	r = check_usable(w, W_RAW);
	if (r < 0)
		return r;
	if (w->raw_done != w->raw_len)
		return wfail(w, -EPROTO, "end_raw: %" PRIu64 " of %" PRIu64 " bytes written",
			     w->raw_done, w->raw_len);
	r = flush_pending(w);
	if (r < 0)
		return r;
	if (w->raw_flags & CRIMG_REC_CSUM) {
		if (csum)
			c = *csum;
		else if (w->raw_csum_ok)
			c = crimg_csum_final(&w->raw_csum);
		else {
			w->state = W_BROKEN;
			w->err = -EINVAL;
			return wfail(w, -EINVAL, "record %" PRIu64 ": end_raw: no checksum for a "
				     "payload that was spliced (begin with CRIMG_RAW_NO_CSUM "
				     "or pass the checksum)", w->records);
		}
		put_le32(cs, c);
		r = crimg__write_full(w->fd, cs, 4);
		if (r < 0)
			return wbroken(w, r, "write");
		w->bytes += 4;
	}
	w->chain = crimg__chain_step(w->chain, w->raw_hdr_csum, c);
	w->records++;
	w->state = W_OPEN;
	return 0;
}

CRIMG_API int crimg_writer__copy_record(struct crimg_writer *w, struct crimg_reader *r)
{
	const struct crimg_record *rec;
	uint8_t hdr[CRIMG_REC_HDR_SIZE], cs[4];
	uint32_t hcs;
	int ret;

	if (!w || !r)
		return -EINVAL;
	ret = check_usable(w, W_OPEN);
	if (ret < 0)
		return ret;
	if (r->err)
		return r->err;
	if (!r->have_rec || r->left != r->rec.len || (r->rec.len && r->done))
		return wfail(w, -EINVAL, "copy_record: the reader is not at the start of a record");
	rec = &r->rec;
	crimg__fill_hdr(hdr, w->records, rec->type, rec->flags, rec->len);
	hcs = get_le32(hdr + 20);
	ret = crimg__write_full(w->fd, hdr, sizeof(hdr));
	if (ret < 0)
		return wbroken(w, ret, "write");
	w->bytes += sizeof(hdr);
	if (rec->len) {
		ret = crimg_reader__splice_payload(r, w->fd, rec->len);
		if (ret < 0) {
			/* the reader has the message: whose side failed? */
			w->state = W_BROKEN;
			w->err = ret;
			return wfail(w, ret, "record %" PRIu64 ": copy_record: %s", w->records,
				     r->errmsg[0] ? r->errmsg : strerror(-ret));
		}
	}
	ret = crimg__reader_finish_payload(r);
	if (ret < 0) {
		w->state = W_BROKEN;
		w->err = ret;
		return wfail(w, ret, "record %" PRIu64 ": copy_record: %s", w->records, r->errmsg);
	}
	w->bytes += rec->len;
	if (rec->flags & CRIMG_REC_CSUM) {
		put_le32(cs, r->stored);
		ret = crimg__write_full(w->fd, cs, 4);
		if (ret < 0)
			return wbroken(w, ret, "write");
		w->bytes += 4;
	}
	w->chain = crimg__chain_step(w->chain, hcs, rec->flags & CRIMG_REC_CSUM ? r->stored : 0);
	w->records++;
	return 0;
}

CRIMG_API int crimg_writer__finish(struct crimg_writer *w)
{
	uint8_t buf[CRIMG_REC_HDR_SIZE + CRIMG_TRAILER_LEN + 4];
	uint8_t *p = buf + CRIMG_REC_HDR_SIZE;
	struct crimg_csum c;
	int r;

	if (!w)
		return -EINVAL;
	r = check_usable(w, W_OPEN);
	if (r < 0)
		return r;
	crimg__fill_hdr(buf, w->records, CRIMG_T_TRAILER, CRIMG_REC_REQUIRED | CRIMG_REC_CSUM,
			CRIMG_TRAILER_LEN);
	put_le64(p, w->records);
	put_le64(p + 8, w->bytes);
	put_le32(p + 16, w->chain);
	put_le32(p + 20, 0);
	crimg_csum_init(&c);
	crimg_csum_update(&c, p, CRIMG_TRAILER_LEN);
	put_le32(p + CRIMG_TRAILER_LEN, crimg_csum_final(&c));
	r = crimg__write_full(w->fd, buf, sizeof(buf));
	if (r < 0)
		return wbroken(w, r, "write the trailer");
	w->bytes += sizeof(buf);
	w->state = W_DONE;
	return 0;
}

CRIMG_API uint64_t crimg_writer__records(const struct crimg_writer *w)
{
	return w ? w->records : 0;
}

CRIMG_API uint64_t crimg_writer__bytes(const struct crimg_writer *w)
{
	return w ? w->bytes : 0;
}

CRIMG_API const char *crimg_writer__errmsg(const struct crimg_writer *w)
{
	return w ? w->errmsg : "";
}

CRIMG_API void crimg_writer__free(struct crimg_writer *w)
{
	free(w);
}
