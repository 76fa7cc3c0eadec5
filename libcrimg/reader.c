/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reader.c - reads an image stream front to back.
 *
 * Reads are exact and unbuffered: the record header is read alone and
 * payloads only as the caller asks, so that a payload can be read
 * straight into its destination (readv) or spliced to a fd, and so that a
 * reader stops right after the trailer (streams may follow each other on
 * one fd).  An error in the framing is sticky: the position in the stream
 * is lost, every later call returns the same error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

#define SCRATCH (256u << 10)

/* The fuzzer build (fuzz/build.mk) lets checksum mismatches through so
 * that random inputs reach the parsing behind the checksums. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MISMATCH(a, b) ((void)(a), (void)(b), 0)
#else
#define MISMATCH(a, b) ((a) != (b))
#endif
#define MSG_CHUNK (1u << 20)

const char *crimg__type_name(uint32_t type, char *buf, size_t len)
{
	const struct crimg_type_info *t = crimg_type_info(type);

	if (t)
		snprintf(buf, len, "%s", t->name);
	else
		snprintf(buf, len, "type 0x%x", type);
	return buf;
}

static void vset(struct crimg_reader *r, const char *fmt, va_list ap)
{
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	if (r->log)
		r->log(LOG_DEBUG, r->errmsg, r->log_arg); /* returned anyway */
}

/* Stream errors: the position is lost, the error sticks. */
int crimg__reader_fail(struct crimg_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* Errors of one call (bad arguments, a message too large): the stream
 * stays usable. */
static int soft_fail(struct crimg_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int soft_fail(struct crimg_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, fmt, ap);
	va_end(ap);
	return err;
}

/* "record 12 (PAGES) at byte 4096" */
static const char *where(const struct crimg_reader *r, char *buf, size_t len)
{
	char tn[48];

	snprintf(buf, len, "record %" PRIu64 " (%s) at byte %" PRIu64, r->rec.index,
		 crimg__type_name(r->rec.type, tn, sizeof(tn)), r->rec.offset);
	return buf;
}

static int io_fail(struct crimg_reader *r, int err, const char *what)
{
	char w[96];

	if (r->have_rec)
		return crimg__reader_fail(r, err, "%s: %s: %s", where(r, w, sizeof(w)), what,
					  strerror(-err));
	return crimg__reader_fail(r, err, "at byte %" PRIu64 ": %s: %s", r->off, what,
				  strerror(-err));
}

static int trunc_payload(struct crimg_reader *r)
{
	char tn[48];

	return crimg__reader_fail(r, -EPROTO, "truncated: stream ends at byte %" PRIu64
				  " inside record %" PRIu64 " (%s, payload of %" PRIu64
				  " bytes, %" PRIu64 " read)", r->off, r->rec.index,
				  crimg__type_name(r->rec.type, tn, sizeof(tn)), r->rec.len,
				  r->rec.len - r->left);
}

static const char *mangled_hint(const uint8_t *b, size_t n)
{
	if (n >= 7 && !memcmp(b, "\x89" "CRIMG\n", 7))
		return " (it looks like a text-mode transfer turned CR LF into LF)";
	if (n >= 7 && !memcmp(b, "\xc2\x89" "CRIMG", 7))
		return " (it looks like it went through a UTF-8 text conversion)";
	if (n >= 8 && !memcmp(b, "\xef\xbf\xbd" "CRIMG", 8))
		return " (it looks like it went through a text conversion that replaced byte 0x89)";
	if (n >= 6 && !memcmp(b + 1, "CRIMG", 5))
		return " (the first byte was changed: 7-bit or text-mode transfer?)";
	if (n >= 1 && (b[0] == '{' || b[0] == '['))
		return " (this looks like JSON: cr-show output? 'cr-show --encode' turns it back into a stream)";
	return "";
}

static int read_header(struct crimg_reader *r);

CRIMG_API int crimg_reader__new(int fd, const struct crimg_reader_opts *opts,
				struct crimg_reader **ret)
{
	struct crimg_reader *r;
	int err;

	if (fd < 0 || !ret)
		return -EINVAL;
	if (opts && opts->sz < sizeof(size_t))
		return -EINVAL;
	if (opts && opts->sz >= offsetof(struct crimg_reader_opts, flags) + sizeof(uint32_t) &&
	    (opts->flags & ~CRIMG_R_NO_SPLICE))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->devnull = -1;
	if (opts) {
		if (opts->sz >= offsetof(struct crimg_reader_opts, flags) + sizeof(uint32_t))
			r->flags = opts->flags;
		if (opts->sz >= offsetof(struct crimg_reader_opts, log_arg) + sizeof(void *)) {
			r->log = opts->log;
			r->log_arg = opts->log_arg;
		}
	}
	r->pipe = crimg__is_pipe(fd);
	err = read_header(r);
	if (err < 0) {
		if (opts && opts->sz >= offsetof(struct crimg_reader_opts, errbuf_len) + sizeof(size_t) &&
		    opts->errbuf && opts->errbuf_len)
			snprintf(opts->errbuf, opts->errbuf_len, "%s", r->errmsg);
		crimg_reader__free(r);
		return err;
	}
	*ret = r;
	return 0;
}

static int read_header(struct crimg_reader *r)
{
	uint8_t hdr[CRIMG_HEADER_SIZE];
	uint32_t hsize, stored, calc;
	int fd = r->fd;
	ssize_t n;

	n = crimg__read_full(fd, hdr, sizeof(hdr));
	if (n < 0)
		return io_fail(r, (int)n, "read the stream header");
	r->off = n;
	if (n == 0)
		return crimg__reader_fail(r, -EBADMSG, "empty input: no stream header");
	if (memcmp(hdr, CRIMG_MAGIC, (size_t)n < CRIMG_MAGIC_LEN ? (size_t)n : CRIMG_MAGIC_LEN))
		return crimg__reader_fail(r, -EBADMSG, "not an image stream: wrong magic at byte 0%s",
					  mangled_hint(hdr, n));
	if (n < CRIMG_MAGIC_LEN + 4)
		return crimg__reader_fail(r, -EPROTO, "truncated: stream ends at byte %zd inside the "
					  "stream header (%u bytes)", n, CRIMG_HEADER_SIZE);
	r->major = get_le16(hdr + 8);
	r->minor = get_le16(hdr + 10);
	if (r->major != CRIMG_VERSION_MAJOR)
		return crimg__reader_fail(r, -EPROTONOSUPPORT, "format version %u is %s than this "
					  "reader (%u)", r->major,
					  r->major > CRIMG_VERSION_MAJOR ? "newer" : "older",
					  CRIMG_VERSION_MAJOR);
	if (n < (ssize_t)sizeof(hdr))
		return crimg__reader_fail(r, -EPROTO, "truncated: stream ends at byte %zd inside the "
					  "stream header (%u bytes)", n, CRIMG_HEADER_SIZE);
	stored = get_le32(hdr + 60);
	calc = crimg_crc32c(0, hdr, 60);
	if (MISMATCH(stored, calc))
		return crimg__reader_fail(r, -EBADMSG, "stream header at byte 0: checksum mismatch "
					  "(stored 0x%08x, computed 0x%08x)", stored, calc);
	hsize = get_le32(hdr + 12);
	if (hsize != CRIMG_HEADER_SIZE)
		return crimg__reader_fail(r, -EPROTO, "stream header at byte 0: header size %u, "
					  "expected %u", hsize, CRIMG_HEADER_SIZE);
	memcpy(r->producer, hdr + 16, CRIMG_PRODUCER_LEN - 1);
	r->producer[CRIMG_PRODUCER_LEN - 1] = 0;
	return 0;
}

CRIMG_API const char *crimg_reader__producer(const struct crimg_reader *r)
{
	return r ? r->producer : "";
}

CRIMG_API void crimg_reader__version(const struct crimg_reader *r, uint16_t *major, uint16_t *minor)
{
	if (major)
		*major = r ? r->major : 0;
	if (minor)
		*minor = r ? r->minor : 0;
}

/* Reads the stored checksum after a fully consumed payload, verifies it
 * where possible and extends the chain. */
int crimg__reader_finish_payload(struct crimg_reader *r)
{
	uint8_t cs[4];
	char w[96];
	ssize_t n;

	if (r->err)
		return r->err;
	if (r->done)
		return 0;
	if (!r->have_rec || r->left)
		return soft_fail(r, -EINVAL, "the payload is not consumed");
	r->verified = 0;
	r->has_stored = false;
	if (r->rec.flags & CRIMG_REC_CSUM) {
		n = crimg__read_full(r->fd, cs, 4);
		if (n < 0)
			return io_fail(r, (int)n, "read the payload checksum");
		r->off += n;
		if (n < 4)
			return crimg__reader_fail(r, -EPROTO, "truncated: stream ends at byte %" PRIu64
						  " inside the payload checksum of %s", r->off,
						  where(r, w, sizeof(w)));
		r->stored = get_le32(cs);
		r->has_stored = true;
		if (r->csum_ok) {
			uint32_t calc = crimg_csum_final(&r->csum);

			if (MISMATCH(calc, r->stored))
				return crimg__reader_fail(r, -EBADMSG, "%s: payload checksum mismatch "
							  "(stored 0x%08x, computed 0x%08x)",
							  where(r, w, sizeof(w)), r->stored, calc);
			r->verified = 1;
		}
	}
	r->chain = crimg__chain_step(r->chain, r->hdr_csum, r->has_stored ? r->stored : 0);
	r->done = true;
	return 0;
}

static int account(struct crimg_reader *r, size_t n)
{
	r->left -= n;
	r->off += n;
	if (!r->left)
		return crimg__reader_finish_payload(r);
	return 0;
}

static int check_trailer(struct crimg_reader *r)
{
	uint8_t p[CRIMG_TRAILER_LEN];
	uint64_t nrec, off;
	uint32_t chain, chain_before;
	ssize_t n;

	if (r->rec.flags != (CRIMG_REC_REQUIRED | CRIMG_REC_CSUM) || r->rec.len != CRIMG_TRAILER_LEN)
		return crimg__reader_fail(r, -EPROTO, "trailer at byte %" PRIu64 ": flags 0x%x and "
					  "length %" PRIu64 ", expected 0x%x and %u", r->rec.offset,
					  r->rec.flags, r->rec.len, CRIMG_REC_REQUIRED | CRIMG_REC_CSUM,
					  CRIMG_TRAILER_LEN);
	n = crimg__read_full(r->fd, p, sizeof(p));
	if (n < 0)
		return io_fail(r, (int)n, "read the trailer");
	if (n < (ssize_t)sizeof(p)) {
		r->left -= n;
		r->off += n;
		return trunc_payload(r);
	}
	crimg_csum_update(&r->csum, p, sizeof(p));
	chain_before = r->chain; /* the chain covers the records before the trailer */
	n = account(r, sizeof(p));
	if (n < 0)
		return (int)n;
	nrec = get_le64(p);
	off = get_le64(p + 8);
	chain = get_le32(p + 16);
	r->chain = chain_before;
	if (nrec != r->rec.index)
		return crimg__reader_fail(r, -EPROTO, "trailer at byte %" PRIu64 ": it counts %" PRIu64
					  " records, the stream has %" PRIu64, r->rec.offset, nrec,
					  r->rec.index);
	if (off != r->rec.offset)
		return crimg__reader_fail(r, -EPROTO, "trailer at byte %" PRIu64 ": it says it is at "
					  "byte %" PRIu64, r->rec.offset, off);
	if (get_le32(p + 20))
		return crimg__reader_fail(r, -EPROTO, "trailer at byte %" PRIu64 ": reserved field "
					  "is not zero", r->rec.offset);
	if (MISMATCH(chain, r->chain))
		return crimg__reader_fail(r, -EBADMSG, "trailer at byte %" PRIu64 ": chain checksum "
					  "mismatch (stored 0x%08x, computed 0x%08x): records were "
					  "changed", r->rec.offset, chain, r->chain);
	r->end = true;
	r->have_rec = false;
	return 0;
}

CRIMG_API int crimg_reader__next(struct crimg_reader *r, const struct crimg_record **rec)
{
	uint8_t h[CRIMG_REC_HDR_SIZE];
	uint32_t stored, calc, type, flags;
	uint64_t len;
	ssize_t n;
	int ret;

	if (!r)
		return -EINVAL;
	if (r->err)
		return r->err;
	if (r->end)
		return 0;
	if (r->have_rec && !r->done) {
		ret = crimg_reader__skip(r);
		if (ret < 0)
			return ret;
	}
	r->have_rec = false;
	n = crimg__read_full(r->fd, h, sizeof(h));
	if (n < 0)
		return io_fail(r, (int)n, "read a record header");
	if (n == 0) {
		if (r->nrec)
			return crimg__reader_fail(r, -EPROTO, "truncated: no trailer after record %"
						  PRIu64 " at byte %" PRIu64, r->nrec - 1, r->off);
		return crimg__reader_fail(r, -EPROTO, "truncated: no trailer after the stream "
					  "header at byte %" PRIu64, r->off);
	}
	if (n < (ssize_t)sizeof(h)) {
		r->off += n;
		return crimg__reader_fail(r, -EPROTO, "truncated: stream ends at byte %" PRIu64
					  " inside the header of record %" PRIu64, r->off, r->nrec);
	}
	type = get_le32(h);
	flags = get_le32(h + 4);
	len = get_le64(h + 8);
	stored = get_le32(h + 20);
	calc = crimg__hdr_csum(r->nrec, h);
	if (MISMATCH(stored, calc))
		return crimg__reader_fail(r, -EBADMSG, "record %" PRIu64 " at byte %" PRIu64
					  ": header checksum mismatch (stored 0x%08x, computed 0x%08x):"
					  " corrupted, or records dropped or reordered",
					  r->nrec, r->off, stored, calc);
	if (type == CRIMG_T_INVALID)
		return crimg__reader_fail(r, -EPROTO, "record %" PRIu64 " at byte %" PRIu64
					  ": type 0 is invalid", r->nrec, r->off);
	if (flags & ~CRIMG_REC_KNOWN_FLAGS)
		return crimg__reader_fail(r, -EPROTO, "record %" PRIu64 " at byte %" PRIu64
					  ": unknown flags 0x%x", r->nrec, r->off, flags);
	if (len > CRIMG_MAX_REC_LEN)
		return crimg__reader_fail(r, -EOVERFLOW, "record %" PRIu64 " at byte %" PRIu64
					  ": absurd payload length %" PRIu64, r->nrec, r->off, len);
	if (get_le32(h + 16))
		return crimg__reader_fail(r, -EPROTO, "record %" PRIu64 " at byte %" PRIu64
					  ": reserved field is not zero", r->nrec, r->off);
	r->rec.type = type;
	r->rec.flags = flags;
	r->rec.len = len;
	r->rec.index = r->nrec;
	r->rec.offset = r->off;
	r->off += sizeof(h);
	r->nrec++;
	r->hdr_csum = stored;
	r->have_rec = true;
	r->left = len;
	r->done = false;
	r->csum_ok = true;
	r->verified = 0;
	r->has_stored = false;
	crimg_csum_init(&r->csum);
	if (type == CRIMG_T_TRAILER) {
		ret = check_trailer(r);
		return ret < 0 ? ret : 0;
	}
	if (!len) {
		ret = crimg__reader_finish_payload(r);
		if (ret < 0)
			return ret;
	}
	if (rec)
		*rec = &r->rec;
	return 1;
}

static int check_payload_call(struct crimg_reader *r, uint64_t len)
{
	if (r->err)
		return r->err;
	if (!r->have_rec)
		return soft_fail(r, -EINVAL, "no current record");
	if (len > r->left) {
		char w[96];

		return soft_fail(r, -EPROTO, "%s: asked for %" PRIu64 " bytes, %" PRIu64
				 " left in the payload", where(r, w, sizeof(w)), len, r->left);
	}
	return 0;
}

CRIMG_API int crimg_reader__read_payload(struct crimg_reader *r, void *buf, size_t len)
{
	ssize_t n;
	int ret;

	if (!r || (!buf && len))
		return -EINVAL;
	ret = check_payload_call(r, len);
	if (ret < 0 || !len)
		return ret;
	n = crimg__read_full(r->fd, buf, len);
	if (n < 0)
		return io_fail(r, (int)n, "read the payload");
	if ((size_t)n < len) {
		r->left -= n;
		r->off += n;
		return trunc_payload(r);
	}
	if ((r->rec.flags & CRIMG_REC_CSUM) && r->csum_ok)
		crimg_csum_update(&r->csum, buf, len);
	return account(r, len);
}

CRIMG_API int crimg_reader__read_payload_iov(struct crimg_reader *r,
					     const struct iovec *iov, int iovcnt)
{
	struct iovec small[16], *v = small;
	uint64_t len = 0;
	size_t done;
	ssize_t ret;

	if (!r || iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	ret = check_payload_call(r, len);
	if (ret < 0 || !len)
		return (int)ret;
	if (iovcnt > 16) {
		v = malloc(iovcnt * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	memcpy(v, iov, iovcnt * sizeof(*v));
	ret = crimg__readv_full(r->fd, v, iovcnt, &done);
	if (v != small)
		free(v);
	if ((r->rec.flags & CRIMG_REC_CSUM) && r->csum_ok) {
		size_t c = done;

		for (int i = 0; i < iovcnt && c; i++) {
			size_t k = iov[i].iov_len < c ? iov[i].iov_len : c;

			crimg_csum_update(&r->csum, iov[i].iov_base, k);
			c -= k;
		}
	}
	if (ret < 0)
		return io_fail(r, (int)ret, "read the payload");
	if (done < len) {
		r->left -= done;
		r->off += done;
		return trunc_payload(r);
	}
	return account(r, len);
}

static uint8_t *scratch(struct crimg_reader *r)
{
	if (!r->scratch)
		r->scratch = malloc(SCRATCH);
	return r->scratch;
}

/* Moves len payload bytes to fd (-1: drop them) through the scratch
 * buffer, checksumming them on the way. */
static int copy_payload(struct crimg_reader *r, int fd, uint64_t len)
{
	uint8_t *buf = scratch(r);
	int ret;

	if (!buf)
		return -ENOMEM;
	while (len) {
		size_t want = len < SCRATCH ? (size_t)len : SCRATCH;
		ssize_t n = crimg__read_full(r->fd, buf, want);

		if (n < 0)
			return io_fail(r, (int)n, "read the payload");
		if ((r->rec.flags & CRIMG_REC_CSUM) && r->csum_ok)
			crimg_csum_update(&r->csum, buf, n);
		if (fd >= 0 && n > 0) {
			ret = crimg__write_full(fd, buf, n);
			if (ret < 0) {
				/* the stream position is fine but the bytes are gone */
				r->left -= n;
				r->off += n;
				return io_fail(r, ret, "write the payload");
			}
		}
		if ((size_t)n < want) {
			r->left -= n;
			r->off += n;
			return trunc_payload(r);
		}
		len -= n;
		ret = account(r, n);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int splice_out(struct crimg_reader *r, int fd, uint64_t len)
{
	ssize_t n = crimg__splice_full(r->fd, fd, len);

	if (n == -EINVAL)
		return 1; /* cannot splice this pair: copy instead */
	if (n < 0)
		return io_fail(r, (int)n, "splice the payload");
	if (n > 0)
		r->csum_ok = false;
	if ((uint64_t)n < len) {
		r->left -= n;
		r->off += n;
		return trunc_payload(r);
	}
	return account(r, n);
}

CRIMG_API int crimg_reader__splice_payload(struct crimg_reader *r, int fd, uint64_t len)
{
	int ret;

	if (!r || fd < 0)
		return -EINVAL;
	ret = check_payload_call(r, len);
	if (ret < 0 || !len)
		return ret;
	if (!(r->flags & CRIMG_R_NO_SPLICE) && (r->pipe || crimg__is_pipe(fd))) {
		ret = splice_out(r, fd, len);
		if (ret <= 0)
			return ret;
	}
	return copy_payload(r, fd, len);
}

CRIMG_API int crimg_reader__skip(struct crimg_reader *r)
{
	int ret;

	if (!r)
		return -EINVAL;
	if (r->err)
		return r->err;
	if (!r->have_rec)
		return 0;
	if (r->left) {
		if (!(r->flags & CRIMG_R_NO_SPLICE) && r->pipe) {
			if (r->devnull < 0)
				r->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (r->devnull >= 0) {
				ret = splice_out(r, r->devnull, r->left);
				if (ret <= 0)
					return ret;
			}
		}
		r->csum_ok = false;
		return copy_payload(r, -1, r->left);
	}
	return crimg__reader_finish_payload(r);
}

CRIMG_API int crimg_reader__skip_unknown(struct crimg_reader *r)
{
	char w[96];

	if (!r)
		return -EINVAL;
	if (r->err)
		return r->err;
	if (r->have_rec && (r->rec.flags & CRIMG_REC_REQUIRED))
		return crimg__reader_fail(r, -EPROTO, "%s: required record of a type this reader "
					  "does not handle", where(r, w, sizeof(w)));
	return crimg_reader__skip(r);
}

CRIMG_API int crimg_reader__read_msg(struct crimg_reader *r, const ProtobufCMessageDescriptor *desc,
				     ProtobufCMessage **ret)
{
	ProtobufCMessage *m;
	uint8_t *buf = NULL;
	size_t cap = 0, have = 0, len;
	char w[96];
	int err;

	if (!r || !desc || !ret)
		return -EINVAL;
	err = check_payload_call(r, 0);
	if (err < 0)
		return err;
	if (r->left != r->rec.len || (r->rec.len && r->done))
		return soft_fail(r, -EINVAL, "%s: read_msg on a payload already partly read",
				 where(r, w, sizeof(w)));
	if (r->rec.len > CRIMG_MAX_MSG_LEN)
		return soft_fail(r, -EOVERFLOW, "%s: message of %" PRIu64 " bytes is larger than "
				 "the limit (%u)", where(r, w, sizeof(w)), r->rec.len,
				 CRIMG_MAX_MSG_LEN);
	len = (size_t)r->rec.len;
	/* Grow the buffer only as bytes arrive: a lying length costs nothing. */
	while (have < len) {
		size_t want = len - have;

		if (want > MSG_CHUNK)
			want = MSG_CHUNK;
		if (have + want > cap) {
			size_t ncap = cap ? cap * 2 : (len < MSG_CHUNK ? len : MSG_CHUNK);
			uint8_t *nb;

			if (ncap > len)
				ncap = len;
			if (ncap < have + want)
				ncap = have + want;
			nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		err = crimg_reader__read_payload(r, buf + have, want);
		if (err < 0) {
			free(buf);
			return err;
		}
		have += want;
	}
	if (!len) {
		err = crimg__reader_finish_payload(r);
		if (err < 0)
			return err;
	}
	m = protobuf_c_message_unpack(desc, NULL, len, buf ? buf : (const uint8_t *)"");
	free(buf);
	if (!m)
		return soft_fail(r, -EBADMSG, "%s: payload does not decode as %s",
				 where(r, w, sizeof(w)), desc->name);
	*ret = m;
	return 0;
}

CRIMG_API uint64_t crimg_reader__payload_left(const struct crimg_reader *r)
{
	return r && r->have_rec ? r->left : 0;
}

CRIMG_API int crimg_reader__payload_verified(const struct crimg_reader *r)
{
	return r && r->have_rec && r->done ? r->verified : 0;
}

CRIMG_API int crimg_reader__payload_csum(const struct crimg_reader *r, uint32_t *csum)
{
	if (!r || !csum)
		return -EINVAL;
	if (!r->have_rec || !r->done || !r->has_stored)
		return -ENODATA;
	*csum = r->stored;
	return 0;
}

CRIMG_API int crimg_reader__fd(const struct crimg_reader *r)
{
	return r ? r->fd : -EINVAL;
}

CRIMG_API int crimg_reader__consumed(struct crimg_reader *r, uint64_t len,
				     const struct crimg_csum *csum)
{
	int ret;

	if (!r)
		return -EINVAL;
	ret = check_payload_call(r, len);
	if (ret < 0)
		return ret;
	if (csum && r->left == r->rec.len)
		r->csum = *csum;
	else if (csum && r->csum_ok)
		r->csum = *csum;
	else
		r->csum_ok = false;
	if (!len)
		return r->left ? 0 : crimg__reader_finish_payload(r);
	return account(r, len);
}

CRIMG_API uint64_t crimg_reader__records(const struct crimg_reader *r)
{
	return r ? r->nrec - (r->end ? 1 : 0) : 0;
}

CRIMG_API uint64_t crimg_reader__offset(const struct crimg_reader *r)
{
	return r ? r->off : 0;
}

CRIMG_API const char *crimg_reader__errmsg(const struct crimg_reader *r)
{
	return r ? r->errmsg : "";
}

CRIMG_API void crimg_reader__free(struct crimg_reader *r)
{
	if (!r)
		return;
	if (r->devnull >= 0)
		close(r->devnull);
	free(r->scratch);
	free(r);
}
