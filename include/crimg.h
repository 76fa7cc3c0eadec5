/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crimg.h - the image stream: one sequential byte stream per checkpoint.
 *
 * A stream is a header, then records, then a trailer.  It is written and
 * read front to back with no seek, so it goes through pipes, ssh, zstd.
 * The byte layout is in cr-image(5); this header is the API.
 *
 * Writing a stream
 * ----------------
 *     struct crimg_writer *w;
 *     LIBCRIMG_OPTS(crimg_writer_opts, o, .producer = "my-tool 1.0");
 *     r = crimg_writer__new(STDOUT_FILENO, &o, &w);     // writes the header
 *     r = crimg_writer__add_msg(w, CRIMG_T_..., 0, &msg.base);
 *     r = crimg_writer__add_iov(w, CRIMG_T_PAGES, CRIMG_ADD_DONATE, iov, n);
 *     r = crimg_writer__finish(w);                      // writes the trailer
 *     crimg_writer__free(w);
 *
 * A stage that exec()s the next stage of a pipeline hands its writer over
 * instead of finishing it:
 *     crimg_writer__export(w, buf, sizeof(buf));        // flushes, then
 *     setenv(CRIMG_STATE_ENV, buf, 1); execvp(next...);
 * and the next stage continues the same stream:
 *     crimg_writer__resume(STDOUT_FILENO, getenv(CRIMG_STATE_ENV), &o, &w);
 *
 * Reading a stream
 * ----------------
 *     struct crimg_reader *r;
 *     const struct crimg_record *rec;
 *     char err[256];
 *     LIBCRIMG_OPTS(crimg_reader_opts, ro, .errbuf = err, .errbuf_len = sizeof(err));
 *     ret = crimg_reader__new(STDIN_FILENO, &ro, &r);   // checks the header;
 *                                                       // on failure err says why
 *     while ((ret = crimg_reader__next(r, &rec)) > 0) {
 *             switch (rec->type) {
 *             case CRIMG_T_...:  crimg_reader__read_msg(r, &desc, &m); ...
 *             case CRIMG_T_PAGES: crimg_reader__read_payload(r, dst, len); ...
 *             default: ret = crimg_reader__skip_unknown(r); ...
 *             }
 *     }
 *     // ret == 0: the trailer was read and it matched; ret < 0: error,
 *     // crimg_reader__errmsg(r) says what and where.
 *     crimg_reader__free(r);
 * A payload the caller did not consume is skipped by the next call to
 * crimg_reader__next().  A reader may stop early and free the reader.
 * The reader never reads past what it needs: after the trailer the fd is
 * positioned right after the stream (another stream may follow).
 *
 * Passing a stream through, adding records (a filter stage):
 *     while ((ret = crimg_reader__next(r, &rec)) > 0)
 *             crimg_writer__copy_record(w, r);   // splice where possible
 *     crimg_writer__add_msg(w, ...);              // then its own records
 *     crimg_writer__finish(w);
 *
 * Conventions: functions return 0 (or a count) on success and -errno on
 * failure.  Constructors set *ret only on success.  Nothing here prints;
 * the optional log callback gets debug messages, errors are returned and
 * described by crimg_reader__errmsg()/crimg_writer__errmsg().  Objects are
 * not thread-safe.  All I/O retries on EINTR, waits on EAGAIN and
 * completes short transfers.  Writing to a pipe or socket whose reader
 * is gone raises SIGPIPE: ignoring or blocking it (then -EPIPE) is the
 * caller's choice.  After an I/O error inside a record a writer is broken
 * and returns that error from then on; after an error in the framing a
 * reader does the same (errors of a single call, like asking for more
 * bytes than the payload has, leave it usable).
 * Image errors: -EBADMSG (bad magic, bad checksum, undecodable message),
 * -EPROTO (bad framing, truncation, a required record of unknown type),
 * -EOVERFLOW (absurd length), -EPROTONOSUPPORT (format version too new).
 */
#ifndef CRIMG_H
#define CRIMG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CRIMG_API
#define CRIMG_API __attribute__((visibility("default")))
#endif

/* Format version written by this library; readers accept major == 1. */
#define CRIMG_VERSION_MAJOR 1
#define CRIMG_VERSION_MINOR 0

/* Fixed sizes of the framing, see cr-image(5). */
#define CRIMG_HEADER_SIZE     64u   /* stream header */
#define CRIMG_REC_HDR_SIZE    24u   /* record header */
#define CRIMG_CSUM_SIZE       4u    /* payload checksum after a payload */
#define CRIMG_CSUM_BLOCK      4096u /* block size of the payload checksum */
#define CRIMG_MAX_REC_LEN     (1ull << 48) /* longer is -EOVERFLOW */
#define CRIMG_MAX_MSG_LEN     (64u << 20)  /* largest protobuf payload */

/* Record flags (struct crimg_record.flags). */
#define CRIMG_REC_REQUIRED  0x0001u /* a reader that does not know the type fails */
#define CRIMG_REC_RAW       0x0002u /* payload is raw bytes, not a protobuf message */
#define CRIMG_REC_CSUM      0x0004u /* a payload checksum follows the payload */
#define CRIMG_REC_KNOWN_FLAGS 0x0007u

/*
 * Record types.  0 is invalid, 1 is the trailer, 2..0xff are reserved for
 * the framing.  Ranges by area (one schema file each in libcrimg/schema/):
 *   0x0100 process core   0x0200 memory   0x0300 files   0x0400 sockets/TCP
 *   0x0500 compel         0xf000..0xffff  tests and experiments
 * The numbers and names of all known types are generated into
 * <crimg-types.h> (CRIMG_T_<NAME>), included here.
 */
#define CRIMG_T_INVALID 0u
#define CRIMG_T_TRAILER 1u
#include <crimg-types.h>

/* Options structs start with their size; see LIBCRIMG_OPTS. */
#define LIBCRIMG_OPTS(TYPE, NAME, ...)                                  \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* Log callback: optional, silent by default.  level is a syslog level. */
typedef void (*crimg_log_fn)(int level, const char *msg, void *arg);

/* ---- the type registry -------------------------------------------- */

struct crimg_type_info {
	uint32_t type;
	uint32_t flags;    /* CRIMG_REC_RAW for raw types; CRIMG_REC_REQUIRED if writers mark it */
	const char *name;  /* "PAGES", "TCP_CONN", ... */
	const char *doc;   /* one line */
	const ProtobufCMessageDescriptor *desc; /* NULL for raw types */
};

/* Returns the registry entry for type, or NULL if this library does not know it. */
CRIMG_API const struct crimg_type_info *crimg_type_info(uint32_t type);
/* Looks a type up by name (as printed by cr-show); NULL if unknown. */
CRIMG_API const struct crimg_type_info *crimg_type_by_name(const char *name);
/* Iterate over all known types: pass NULL first; returns NULL at the end. */
CRIMG_API const struct crimg_type_info *crimg_type__next(const struct crimg_type_info *prev);
#define crimg_for_each_type(t) \
	for ((t) = crimg_type__next(NULL); (t); (t) = crimg_type__next(t))

/* ---- checksums ------------------------------------------------------ */

/* CRC32C (Castagnoli), hardware accelerated where the CPU has it.
 * crc is the running value: start with 0. */
CRIMG_API uint32_t crimg_crc32c(uint32_t crc, const void *buf, size_t len);

/* Payload checksum as the format defines it (blockwise CRC32C, see
 * cr-image(5)).  Incremental: init, update with any chunking, final. */
struct crimg_csum {
	uint32_t outer;   /* CRC32C over the block checksums so far */
	uint32_t inner;   /* CRC32C of the current partial block */
	uint32_t fill;    /* bytes in the current partial block */
	uint32_t reserved;
};
CRIMG_API void crimg_csum_init(struct crimg_csum *c);
CRIMG_API void crimg_csum_update(struct crimg_csum *c, const void *buf, size_t len);
CRIMG_API uint32_t crimg_csum_final(const struct crimg_csum *c);

/* ---- writer ---------------------------------------------------------- */

struct crimg_writer;

struct crimg_writer_opts {
	size_t sz;
	const char *producer;  /* up to 43 bytes shown in the header; default "libcrimg" */
	uint32_t flags;        /* CRIMG_W_*; unknown bits give -EINVAL */
	crimg_log_fn log;
	void *log_arg;
};
#define CRIMG_W_NO_SPLICE 0x1u /* never vmsplice/splice; plain write() */
#define CRIMG_W_NO_PIPE_RESIZE 0x2u /* leave the pipe buffer size alone */

/* Environment variable used to pass writer state across exec. */
#define CRIMG_STATE_ENV "CRIMG_STREAM_STATE"
#define CRIMG_STATE_MAX 128

/* Writes the stream header to fd (which the writer does not own: the
 * caller closes it).  If fd is a pipe the writer grows it to at least
 * 1 MiB where allowed.  -EINVAL bad options; -errno from write(2). */
CRIMG_API int crimg_writer__new(int fd, const struct crimg_writer_opts *opts,
				struct crimg_writer **ret);
/* Continues a stream begun by another process (see crimg_writer__export);
 * writes nothing.  -EINVAL if state does not parse. */
CRIMG_API int crimg_writer__resume(int fd, const char *state,
				   const struct crimg_writer_opts *opts,
				   struct crimg_writer **ret);
/* Flushes and writes the state needed to resume into buf (NUL-terminated,
 * at most CRIMG_STATE_MAX bytes).  The writer must not be used afterwards
 * except to free it.  -ENOSPC if len is too small. */
CRIMG_API int crimg_writer__export(struct crimg_writer *w, char *buf, size_t len);

/* One record whose payload is a packed protobuf message.  flags: only
 * CRIMG_REC_REQUIRED is meaningful; a checksum is always written. */
CRIMG_API int crimg_writer__add_msg(struct crimg_writer *w, uint32_t type,
				    uint32_t flags, const ProtobufCMessage *msg);
/* One raw record from a buffer. */
CRIMG_API int crimg_writer__add_bytes(struct crimg_writer *w, uint32_t type,
				      uint32_t flags, const void *buf, size_t len);

/* One raw record gathered from several buffers.  addflags: */
#define CRIMG_ADD_DONATE 0x1u /* the buffers are page aligned (base and length)
			       * and the caller will never write to them again
			       * (it unmaps them, or drops them): the writer may
			       * vmsplice the pages into a pipe without a copy */
#define CRIMG_ADD_NO_CSUM 0x2u /* do not compute a payload checksum */
CRIMG_API int crimg_writer__add_iov(struct crimg_writer *w, uint32_t type,
				    uint32_t flags, const struct iovec *iov,
				    int iovcnt, uint32_t addflags);

/* A record with exactly these record flags (CRIMG_REC_REQUIRED, _RAW,
 * _CSUM in any combination; the checksum is computed when _CSUM is set)
 * and payload: for tools that re-create a stream record by record
 * (cr-show --encode).  Types 0 and 1 (trailer) give -EINVAL. */
CRIMG_API int crimg_writer__add_record(struct crimg_writer *w, uint32_t type,
				       uint32_t flags, const void *buf, size_t len);

/* A raw record written in pieces: begin with its total length, write
 * exactly that many bytes with any number of write_raw calls (addflags as
 * for add_iov), then end.  -EPROTO if the lengths do not add up.
 * The header, written first, says whether a payload checksum follows: it
 * does unless flags has CRIMG_RAW_NO_CSUM, so a record whose bytes come
 * from splice_raw either passes CRIMG_RAW_NO_CSUM here or gives its own
 * checksum to end_raw (else end_raw fails with -EINVAL). */
#define CRIMG_RAW_NO_CSUM 0x00010000u /* begin_raw only: no payload checksum */
CRIMG_API int crimg_writer__begin_raw(struct crimg_writer *w, uint32_t type,
				      uint32_t flags, uint64_t len);
CRIMG_API int crimg_writer__write_raw(struct crimg_writer *w,
				      const struct iovec *iov, int iovcnt,
				      uint32_t addflags);
/* Moves len bytes of the open raw record from fd (a pipe or file) into the
 * stream, with splice where the kernel allows.  These bytes are not read
 * by the writer, so the record gets no checksum unless the caller passed
 * its own to end_raw. */
CRIMG_API int crimg_writer__splice_raw(struct crimg_writer *w, int fd, uint64_t len);
/* Ends the open raw record.  csum: NULL to use the checksum the writer
 * computed (none if any bytes came from splice_raw or NO_CSUM), or a
 * checksum that the caller computed over the whole payload. */
CRIMG_API int crimg_writer__end_raw(struct crimg_writer *w, const uint32_t *csum);

struct crimg_reader;
/* Pass-through: copies the current record of r (header, payload and
 * checksum, payload not yet consumed) to w, with splice where possible. */
CRIMG_API int crimg_writer__copy_record(struct crimg_writer *w, struct crimg_reader *r);

/* Writes the trailer.  The writer can only be freed afterwards. */
CRIMG_API int crimg_writer__finish(struct crimg_writer *w);
/* Records written so far (the trailer not counted), and bytes. */
CRIMG_API uint64_t crimg_writer__records(const struct crimg_writer *w);
CRIMG_API uint64_t crimg_writer__bytes(const struct crimg_writer *w);
/* Frees; does not close the fd and does not write a trailer. NULL ok. */
CRIMG_API void crimg_writer__free(struct crimg_writer *w);

/* ---- reader ---------------------------------------------------------- */

struct crimg_reader_opts {
	size_t sz;
	uint32_t flags;        /* CRIMG_R_*; unknown bits give -EINVAL */
	crimg_log_fn log;
	void *log_arg;
	/* If set: when crimg_reader__new fails, the one-line message (what
	 * crimg_reader__errmsg would say, e.g. "empty input: ...") is stored
	 * here, NUL-terminated and cut to errbuf_len. */
	char *errbuf;
	size_t errbuf_len;
};
#define CRIMG_R_NO_SPLICE 0x1u /* skip and pass payloads with read/write only */

/* A record as the reader sees it.  Valid until the next crimg_reader__next. */
struct crimg_record {
	uint32_t type;
	uint32_t flags;     /* CRIMG_REC_* */
	uint64_t len;       /* payload length, checksum not included */
	uint64_t index;     /* record number, 0 for the first record */
	uint64_t offset;    /* stream offset of the record header */
};

/* Reads and checks the stream header from fd (not owned). */
CRIMG_API int crimg_reader__new(int fd, const struct crimg_reader_opts *opts,
				struct crimg_reader **ret);
/* The producer string and the format version from the header. */
CRIMG_API const char *crimg_reader__producer(const struct crimg_reader *r);
CRIMG_API void crimg_reader__version(const struct crimg_reader *r,
				     uint16_t *major, uint16_t *minor);

/* Advances to the next record, skipping whatever is left of the current
 * one.  Returns 1 with *rec set, 0 at the end of a valid stream (the
 * trailer was read and matched), or -errno. */
CRIMG_API int crimg_reader__next(struct crimg_reader *r, const struct crimg_record **rec);

/* Reads the next len bytes of the current payload into buf.  When the
 * payload has been consumed completely its checksum is verified
 * (-EBADMSG on mismatch).  -EPROTO if len runs past the payload. */
CRIMG_API int crimg_reader__read_payload(struct crimg_reader *r, void *buf, size_t len);
CRIMG_API int crimg_reader__read_payload_iov(struct crimg_reader *r,
					     const struct iovec *iov, int iovcnt);
/* Moves the next len bytes of the payload to fd with splice where
 * possible.  Bytes that are spliced are not checksummed: if any part of a
 * payload went this way, its checksum is read but not verified, and
 * crimg_reader__payload_verified() says so. */
CRIMG_API int crimg_reader__splice_payload(struct crimg_reader *r, int fd, uint64_t len);
/* Bytes of the current payload not yet consumed. */
CRIMG_API uint64_t crimg_reader__payload_left(const struct crimg_reader *r);
/* After the payload is consumed: 1 if its checksum was verified, 0 if
 * the record has none or it could not be verified (spliced). */
CRIMG_API int crimg_reader__payload_verified(const struct crimg_reader *r);
/* The record's stored payload checksum, once the payload is consumed;
 * -ENODATA if it has none. */
CRIMG_API int crimg_reader__payload_csum(const struct crimg_reader *r, uint32_t *csum);

/* Reads the whole payload and unpacks it as a message of type desc.
 * Free with protobuf_c_message_free_unpacked(m, NULL).  -EBADMSG if it does
 * not decode, -EOVERFLOW if larger than CRIMG_MAX_MSG_LEN. */
CRIMG_API int crimg_reader__read_msg(struct crimg_reader *r,
				     const ProtobufCMessageDescriptor *desc,
				     ProtobufCMessage **ret);
/* Skips the rest of the current payload (verifying nothing). */
CRIMG_API int crimg_reader__skip(struct crimg_reader *r);
/* For a record the caller does not handle: skips it and returns 0, or
 * returns -EPROTO (with a message) if the record is marked required. */
CRIMG_API int crimg_reader__skip_unknown(struct crimg_reader *r);

/* The fd the reader reads from (for callers that read a payload
 * themselves: they must then call crimg_reader__consumed with the count).
 * csum: NULL if the caller did not checksum the bytes (the payload is then
 * not verified), or the caller's running crimg_csum over the whole
 * payload so far, started with crimg_csum_init at the payload's first
 * byte (the reader takes it over and verifies at the end).  -EPROTO if
 * len runs past the payload. */
CRIMG_API int crimg_reader__fd(const struct crimg_reader *r);
CRIMG_API int crimg_reader__consumed(struct crimg_reader *r, uint64_t len,
				     const struct crimg_csum *csum);

/* Position: records read so far (the trailer not counted) and the stream
 * offset (bytes consumed, the stream header included). */
CRIMG_API uint64_t crimg_reader__records(const struct crimg_reader *r);
CRIMG_API uint64_t crimg_reader__offset(const struct crimg_reader *r);

/* A one-line description of the last error with its position, e.g.
 * "record 12 (PAGES) at byte 4096: payload checksum mismatch".  Empty
 * string if there was none.  Valid until the next call on r. */
CRIMG_API const char *crimg_reader__errmsg(const struct crimg_reader *r);
/* Same for a writer. */
CRIMG_API const char *crimg_writer__errmsg(const struct crimg_writer *w);

/* Frees; does not close the fd. NULL ok. */
CRIMG_API void crimg_reader__free(struct crimg_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* CRIMG_H */
