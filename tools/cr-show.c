/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-show - decode an image stream to JSON, summarize it, or encode the
 * JSON back into a stream.  See cr-show(1).
 *
 * Decoding streams: the output is written as records are read, raw
 * payloads go through a fixed buffer, so a stream of any size is shown in
 * constant memory (a message is at most CRIMG_MAX_MSG_LEN).  Encoding
 * holds one record at a time.
 *
 * Views: a view is a table entry (struct view below) with a callback per
 * record and one at the end.  `--summary` is the view "summary"; areas add
 * theirs (process tree, memory maps, fds, sockets) to the views[] table.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <crimg.h>
#include <crimg-proto.h>

#include "tool.h"

#define CHUNK (3u << 18) /* payload read size: 768 KiB, a multiple of 3 for base64 */

static FILE *out;
static bool opt_payload, opt_json;
static bool progress;       /* stderr is a terminal and stdout is not */
static uint64_t input_size; /* of a regular file, for the progress line */

static void show_progress(struct crimg_reader *r)
{
	if (progress)
		tool_progress("read", crimg_reader__offset(r), input_size);
}

/* ---- JSON output ------------------------------------------------------- */

static void put_str(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putc('"', out);
	while (i < len) {
		unsigned char c = p[i];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;

			if (esc)
				fputs(esc, out);
			else
				fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		if (c < 0x80) {
			putc(c, out);
			i++;
			continue;
		}
		/* valid UTF-8 passes through; any other byte becomes \u00XX */
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		if (n && i + n < len) {
			size_t k = 1;

			while (k <= n && (p[i + k] & 0xc0) == 0x80)
				k++;
			if (k == n + 1) {
				fwrite(p + i, 1, n + 1, out);
				i += n + 1;
				continue;
			}
		}
		fprintf(out, "\\u%04x", c);
		i++;
	}
	putc('"', out);
}

static void put_cstr(const char *s)
{
	put_str(s, strlen(s));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of len bytes; len must be a multiple of 3 except for the last
 * piece of a value. */
static void put_b64(const uint8_t *p, size_t len)
{
	char buf[4096];
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t n = len - i;

		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		buf[o++] = b64[v >> 18];
		buf[o++] = b64[(v >> 12) & 63];
		buf[o++] = n > 1 ? b64[(v >> 6) & 63] : '=';
		buf[o++] = n > 2 ? b64[v & 63] : '=';
		if (o > sizeof(buf) - 4) {
			fwrite(buf, 1, o, out);
			o = 0;
		}
	}
	fwrite(buf, 1, o, out);
}

static void put_double(double d)
{
	if (isnan(d))
		fputs("\"NaN\"", out);
	else if (isinf(d))
		fputs(d > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
	else
		fprintf(out, "%.17g", d);
}

static void put_msg(const ProtobufCMessage *m, int depth);

static void put_value(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(out, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		put_double(*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_double(*(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);

		if (ev)
			put_cstr(ev->name);
		else
			fprintf(out, "%d", v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		put_cstr(s ? s : "");
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		putc('"', out);
		put_b64(b->data, b->len);
		putc('"', out);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		put_msg(*(ProtobufCMessage *const *)p, depth + 1);
		break;
	}
}

static size_t type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

/* Is the field present, as protobuf-c's packer decides? */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *member = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
		const void *ptr = *(const void *const *)member;

		return ptr && (f->label == PROTOBUF_C_LABEL_NONE ? f->type == PROTOBUF_C_TYPE_MESSAGE ||
			       *(const char *)ptr : ptr != f->default_value);
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	/* proto3 without presence: shown always */
	return true;
}

static void put_msg(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;

	putc('{', out);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			size_t sz = type_size(f->type);

			if (!n)
				continue;
			if (!first)
				putc(',', out);
			first = false;
			put_cstr(f->name);
			fputs(":[", out);
			for (size_t k = 0; k < n; k++) {
				if (k)
					putc(',', out);
				put_value(f, arr + k * sz, depth);
			}
			putc(']', out);
			continue;
		}
		if (!field_present(m, f))
			continue;
		if (!first)
			putc(',', out);
		first = false;
		put_cstr(f->name);
		putc(':', out);
		put_value(f, base + f->offset, depth);
	}
	if (m->n_unknown_fields) {
		if (!first)
			putc(',', out);
		fprintf(out, "\"(unknown fields)\":%u", m->n_unknown_fields);
	}
	putc('}', out);
}

/* ---- reading ------------------------------------------------------------ */

static const char *input_name = "stdin";

static void __attribute__((noreturn)) image_error(struct crimg_reader *r, int err)
{
	fflush(out);
	tool_progress_end();
	tool_die(tool_exit_code(err), "%s", r && *crimg_reader__errmsg(r) ?
		 crimg_reader__errmsg(r) : strerror(-err));
}

/* Reads a whole (message) payload into memory, growing as bytes come. */
static uint8_t *read_all(struct crimg_reader *r, const struct crimg_record *rec)
{
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0, len = rec->len;
	int err;

	while (have < len || !buf) {
		size_t want = len - have > CHUNK ? CHUNK : len - have;

		if (have + want > cap || !buf) {
			cap = cap ? cap * 2 : (len < CHUNK ? len + 1 : CHUNK);
			if (cap < have + want)
				cap = have + want;
			buf = realloc(buf, cap);
			if (!buf)
				tool_die(CR_EX_FAIL, "out of memory");
		}
		err = crimg_reader__read_payload(r, buf + have, want);
		if (err < 0)
			image_error(r, err);
		have += want;
	}
	return buf;
}

static void put_flags(uint32_t fl)
{
	static const char *names[] = { "REQUIRED", "RAW", "CSUM" };
	bool first = true;

	putc('[', out);
	for (int i = 0; i < 3; i++)
		if (fl & (1u << i)) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", names[i]);
			first = false;
		}
	putc(']', out);
}

static void put_csum(struct crimg_reader *r)
{
	uint32_t cs;

	if (crimg_reader__payload_csum(r, &cs) == 0)
		fprintf(out, ",\"csum\":\"0x%08x\",\"verified\":%s", cs,
			crimg_reader__payload_verified(r) ? "true" : "false");
}

static void show_record(struct crimg_reader *r, const struct crimg_record *rec, bool first)
{
	const struct crimg_type_info *ti = crimg_type_info(rec->type);
	static uint8_t *chunk;
	int err;

	fprintf(out, "%s\n{\"index\":%" PRIu64 ",\"offset\":%" PRIu64 ",\"type\":%" PRIu32
		",\"name\":", first ? "" : ",", rec->index, rec->offset, rec->type);
	if (ti)
		put_cstr(ti->name);
	else
		fputs("null", out);
	fputs(",\"flags\":", out);
	put_flags(rec->flags);
	fprintf(out, ",\"len\":%" PRIu64, rec->len);

	if (ti && ti->desc && !(rec->flags & CRIMG_REC_RAW)) {
		ProtobufCMessage *m;
		uint8_t *buf;
		char where[160];

		if (rec->len > CRIMG_MAX_MSG_LEN) {
			fflush(out);
			tool_die(CR_EX_IMAGE, "record %" PRIu64 " (%s) at byte %" PRIu64 ": message of %"
				 PRIu64 " bytes is larger than the limit (%u)", rec->index, ti->name,
				 rec->offset, rec->len, CRIMG_MAX_MSG_LEN);
		}
		buf = read_all(r, rec);
		put_csum(r);
		m = protobuf_c_message_unpack(ti->desc, NULL, rec->len, buf);
		if (!m) {
			fflush(out);
			snprintf(where, sizeof(where), "record %" PRIu64 " (%s) at byte %" PRIu64,
				 rec->index, ti->name, rec->offset);
			tool_die(CR_EX_IMAGE, "%s: payload does not decode as %s", where,
				 ti->desc->name);
		}
		fputs(",\"msg\":", out);
		put_msg(m, 0);
		protobuf_c_message_free_unpacked(m, NULL);
		if (opt_payload) {
			fputs(",\"payload\":\"", out);
			put_b64(buf, rec->len);
			putc('"', out);
		}
		free(buf);
		putc('}', out);
		return;
	}

	/* raw or unknown: stream the payload through a fixed buffer */
	if (!chunk) {
		chunk = malloc(CHUNK);
		if (!chunk)
			tool_die(CR_EX_FAIL, "out of memory");
	}
	if (opt_payload)
		fputs(",\"payload\":\"", out);
	for (uint64_t left = rec->len; left;) {
		size_t n = left > CHUNK ? CHUNK : (size_t)left;

		err = crimg_reader__read_payload(r, chunk, n);
		if (err < 0) {
			if (opt_payload)
				putc('"', out);
			image_error(r, err);
		}
		if (opt_payload)
			put_b64(chunk, n);
		left -= n;
	}
	if (opt_payload)
		putc('"', out);
	put_csum(r);
	putc('}', out);
}

static int open_input(const char *path)
{
	struct stat st;
	int fd = STDIN_FILENO;

	if (path && strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			tool_die(tool_exit_code(-errno), "cannot open %s: %s", path, strerror(errno));
		input_name = path;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		input_size = st.st_size;
	progress = isatty(STDERR_FILENO) && !isatty(fileno(out));
	return fd;
}

static struct crimg_reader *open_reader(int fd)
{
	char err[512];
	LIBCRIMG_OPTS(crimg_reader_opts, o, .log = tool_lib_log, .errbuf = err,
		      .errbuf_len = sizeof(err));
	struct crimg_reader *r;
	int ret;

	err[0] = 0;
	ret = crimg_reader__new(fd, &o, &r);
	if (ret < 0)
		tool_die(tool_exit_code(ret), "%s: %s", input_name, err[0] ? err : strerror(-ret));
	return r;
}

static int decode(int fd)
{
	struct crimg_reader *r = open_reader(fd);
	const struct crimg_record *rec;
	uint16_t maj, min;
	bool first = true;
	int ret;

	crimg_reader__version(r, &maj, &min);
	fprintf(out, "{\"stream\":{\"version\":\"%u.%u\",\"producer\":", maj, min);
	put_cstr(crimg_reader__producer(r));
	fputs("},\n\"records\":[", out);
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		show_record(r, rec, first);
		first = false;
		show_progress(r);
	}
	if (ret < 0)
		image_error(r, ret);
	tool_progress_end();
	fprintf(out, "\n],\n\"trailer\":{\"records\":%" PRIu64 ",\"offset\":%" PRIu64
		",\"verified\":true}}\n", crimg_reader__records(r),
		crimg_reader__offset(r) - CRIMG_REC_HDR_SIZE - 24 - CRIMG_CSUM_SIZE);
	crimg_reader__free(r);
	return CR_EX_OK;
}

/* ---- views ---------------------------------------------------------------- */

/*
 * A view reads the stream and prints what it wants.  To add one: write
 * the three callbacks and add a line to views[].  record() is called for
 * every record; it may consume the payload (read_msg, read_payload) or
 * leave it (it is then read and verified for it).  end() prints the
 * result (JSON when opt_json).
 */
struct view {
	const char *name;
	const char *doc;
	void *(*begin)(struct crimg_reader *r);
	int (*record)(void *st, struct crimg_reader *r, const struct crimg_record *rec);
	void (*end)(void *st, struct crimg_reader *r);
};

#define SUMMARY_MAX 4096 /* distinct types counted; the rest are "other" */

struct summary {
	size_t n;
	struct sum_ent {
		uint32_t type;
		uint64_t records, payload, bytes;
	} e[SUMMARY_MAX + 1];
};

static void *summary_begin(struct crimg_reader *r)
{
	struct summary *s = calloc(1, sizeof(*s));

	if (!s)
		tool_die(CR_EX_FAIL, "out of memory");
	return s;
}

static int summary_record(void *st, struct crimg_reader *r, const struct crimg_record *rec)
{
	struct summary *s = st;
	struct sum_ent *e = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].type == rec->type) {
			e = &s->e[i];
			break;
		}
	if (!e) {
		if (s->n < SUMMARY_MAX) {
			e = &s->e[s->n++];
			e->type = rec->type;
		} else {
			e = &s->e[SUMMARY_MAX]; /* other */
		}
	}
	e->records++;
	e->payload += rec->len;
	e->bytes += CRIMG_REC_HDR_SIZE + rec->len + (rec->flags & CRIMG_REC_CSUM ? CRIMG_CSUM_SIZE : 0);
	return 0;
}

static void human(char *buf, size_t len, uint64_t v)
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = v;
	int i = 0;

	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i)
		snprintf(buf, len, "%.1f %s", d, u[i]);
	else
		snprintf(buf, len, "%" PRIu64 " B", v);
}

static int cmp_ent(const void *a, const void *b)
{
	const struct sum_ent *x = a, *y = b;

	return x->type < y->type ? -1 : x->type > y->type;
}

static void summary_end(void *st, struct crimg_reader *r)
{
	struct summary *s = st;
	uint64_t recs = 0, payload = 0, bytes = crimg_reader__offset(r);
	size_t n = s->n + (s->e[SUMMARY_MAX].records ? 1 : 0);
	char hb[32], hp[32], name[32];

	qsort(s->e, s->n, sizeof(s->e[0]), cmp_ent);
	if (s->e[SUMMARY_MAX].records)
		s->e[s->n] = s->e[SUMMARY_MAX];
	for (size_t i = 0; i < n; i++) {
		recs += s->e[i].records;
		payload += s->e[i].payload;
	}
	if (opt_json) {
		fprintf(out, "{\"producer\":");
		put_cstr(crimg_reader__producer(r));
		fprintf(out, ",\"records\":%" PRIu64 ",\"payload_bytes\":%" PRIu64
			",\"stream_bytes\":%" PRIu64 ",\"types\":[", recs, payload, bytes);
		for (size_t i = 0; i < n; i++) {
			const struct crimg_type_info *ti = crimg_type_info(s->e[i].type);

			fprintf(out, "%s\n{\"type\":", i ? "," : "");
			if (i == s->n)
				fputs("null,\"name\":\"(other)\"", out);
			else {
				fprintf(out, "%" PRIu32 ",\"name\":", s->e[i].type);
				if (ti)
					put_cstr(ti->name);
				else
					fputs("null", out);
			}
			fprintf(out, ",\"records\":%" PRIu64 ",\"payload_bytes\":%" PRIu64
				",\"stream_bytes\":%" PRIu64 "}", s->e[i].records, s->e[i].payload,
				s->e[i].bytes);
		}
		fputs("\n]}\n", out);
	} else {
		fprintf(out, "%-24s %8s %12s %12s\n", "TYPE", "RECORDS", "PAYLOAD", "STREAM");
		for (size_t i = 0; i < n; i++) {
			const struct crimg_type_info *ti = crimg_type_info(s->e[i].type);

			if (i == s->n)
				snprintf(name, sizeof(name), "(other)");
			else if (ti)
				snprintf(name, sizeof(name), "%s", ti->name);
			else
				snprintf(name, sizeof(name), "0x%x", s->e[i].type);
			human(hp, sizeof(hp), s->e[i].payload);
			human(hb, sizeof(hb), s->e[i].bytes);
			fprintf(out, "%-24s %8" PRIu64 " %12s %12s\n", name, s->e[i].records, hp, hb);
		}
		human(hp, sizeof(hp), payload);
		human(hb, sizeof(hb), bytes);
		fprintf(out, "%-24s %8" PRIu64 " %12s %12s\n", "total", recs, hp, hb);
		fprintf(out, "producer \"%s\", trailer verified\n", crimg_reader__producer(r));
	}
	free(s);
}

static const struct view views[] = {
	{ "summary", "records and bytes per type", summary_begin, summary_record, summary_end },
	/* other areas add their views here */
};

static int run_view(const struct view *v, int fd)
{
	struct crimg_reader *r = open_reader(fd);
	const struct crimg_record *rec;
	static uint8_t *chunk;
	void *st = v->begin(r);
	int ret;

	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		ret = v->record(st, r, rec);
		if (ret < 0)
			image_error(r, ret);
		/* the rest of the payload is read to verify it */
		while (crimg_reader__payload_left(r)) {
			uint64_t left = crimg_reader__payload_left(r);
			size_t n = left > CHUNK ? CHUNK : (size_t)left;

			if (!chunk && !(chunk = malloc(CHUNK)))
				tool_die(CR_EX_FAIL, "out of memory");
			ret = crimg_reader__read_payload(r, chunk, n);
			if (ret < 0)
				image_error(r, ret);
		}
		show_progress(r);
	}
	if (ret < 0)
		image_error(r, ret);
	tool_progress_end();
	v->end(st, r);
	crimg_reader__free(r);
	return CR_EX_OK;
}

/* ---- JSON input ------------------------------------------------------------ */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jt t;
	bool b;
	char *s;        /* string (NUL-terminated, may hold NULs: slen) or number text */
	size_t slen;
	size_t n;       /* array items or object members */
	struct jv *items;
	char **keys;
};

struct jin {
	FILE *f;
	uint64_t line;
	int depth;
};

static void __attribute__((noreturn, format(printf, 2, 3))) jerr(struct jin *in, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_die(CR_EX_IMAGE, "JSON input line %" PRIu64 ": %s", in->line, msg);
}

static int jget(struct jin *in)
{
	int c = getc_unlocked(in->f);

	if (c == '\n')
		in->line++;
	return c;
}

static int jpeek_ws(struct jin *in)
{
	int c;

	do
		c = jget(in);
	while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	if (c != EOF)
		ungetc(c, in->f);
	if (c == '\n')
		in->line--;
	return c;
}

static void jexpect(struct jin *in, int want)
{
	int c;

	jpeek_ws(in);
	c = jget(in);
	if (c != want)
		jerr(in, c == EOF ? "unexpected end, expected '%c'" : "expected '%c'", want);
}

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			tool_die(CR_EX_FAIL, "out of memory");
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void utf8(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | cp >> 6;
		u[1] = 0x80 | (cp & 63);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | cp >> 12;
		u[1] = 0x80 | ((cp >> 6) & 63);
		u[2] = 0x80 | (cp & 63);
		n = 3;
	} else {
		u[0] = 0xf0 | cp >> 18;
		u[1] = 0x80 | ((cp >> 12) & 63);
		u[2] = 0x80 | ((cp >> 6) & 63);
		u[3] = 0x80 | (cp & 63);
		n = 4;
	}
	sb_put(b, u, n);
}

static uint32_t hex4(struct jin *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int c = jget(in);

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			jerr(in, "bad \\u escape");
	}
	return v;
}

static void jstring(struct jin *in, struct sbuf *b)
{
	char run[256];
	size_t rn = 0;
	int c;

	for (;;) {
		c = jget(in);
		if (c == EOF)
			jerr(in, "unterminated string");
		if (c == '"')
			break;
		if (c < 0x20)
			jerr(in, "control character in a string");
		if (c != '\\') {
			run[rn++] = c;
			if (rn == sizeof(run)) {
				sb_put(b, run, rn);
				rn = 0;
			}
			continue;
		}
		sb_put(b, run, rn);
		rn = 0;
		c = jget(in);
		switch (c) {
		case '"': case '\\': case '/':
			run[rn++] = c;
			break;
		case 'b': run[rn++] = '\b'; break;
		case 'f': run[rn++] = '\f'; break;
		case 'n': run[rn++] = '\n'; break;
		case 'r': run[rn++] = '\r'; break;
		case 't': run[rn++] = '\t'; break;
		case 'u': {
			uint32_t cp = hex4(in);

			if (cp >= 0xd800 && cp < 0xdc00) {
				uint32_t lo;

				if (jget(in) != '\\' || jget(in) != 'u')
					jerr(in, "lone surrogate in \\u escape");
				lo = hex4(in);
				if (lo < 0xdc00 || lo > 0xdfff)
					jerr(in, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			utf8(b, cp);
			break;
		}
		default:
			jerr(in, "bad escape");
		}
	}
	sb_put(b, run, rn);
	if (!b->p)
		sb_put(b, "", 0);
}

static void jv_free(struct jv *v)
{
	if (!v)
		return;
	free(v->s);
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

static void jvalue(struct jin *in, struct jv *v);

static void jword(struct jin *in, const char *w)
{
	for (const char *p = w; *p; p++)
		if (jget(in) != *p)
			jerr(in, "bad literal (expected %s)", w);
}

static void jvalue(struct jin *in, struct jv *v)
{
	int c = jpeek_ws(in);

	memset(v, 0, sizeof(*v));
	if (++in->depth > 100)
		jerr(in, "nested too deep");
	switch (c) {
	case '"': {
		struct sbuf b = { 0 };

		jget(in);
		jstring(in, &b);
		v->t = J_STR;
		v->s = b.p;
		v->slen = b.n;
		break;
	}
	case '{':
	case '[': {
		size_t cap = 0;
		int close = c == '{' ? '}' : ']';

		jget(in);
		v->t = c == '{' ? J_OBJ : J_ARR;
		if (jpeek_ws(in) == close) {
			jget(in);
			break;
		}
		for (;;) {
			if (v->n == cap) {
				cap = cap ? cap * 2 : 8;
				v->items = realloc(v->items, cap * sizeof(*v->items));
				if (v->t == J_OBJ)
					v->keys = realloc(v->keys, cap * sizeof(*v->keys));
				if (!v->items || (v->t == J_OBJ && !v->keys))
					tool_die(CR_EX_FAIL, "out of memory");
			}
			if (v->t == J_OBJ) {
				struct sbuf b = { 0 };

				jexpect(in, '"');
				jstring(in, &b);
				v->keys[v->n] = b.p;
				jexpect(in, ':');
			}
			jvalue(in, &v->items[v->n]);
			v->n++;
			jpeek_ws(in);
			c = jget(in);
			if (c == close)
				break;
			if (c != ',')
				jerr(in, "expected ',' or '%c'", close);
		}
		break;
	}
	case 't':
		jword(in, "true");
		v->t = J_BOOL;
		v->b = true;
		break;
	case 'f':
		jword(in, "false");
		v->t = J_BOOL;
		break;
	case 'n':
		jword(in, "null");
		v->t = J_NULL;
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			struct sbuf b = { 0 };

			for (;;) {
				char ch;

				c = jget(in);
				if (!(c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' ||
				      (c >= '0' && c <= '9'))) {
					if (c != EOF)
						ungetc(c, in->f);
					if (c == '\n')
						in->line--;
					break;
				}
				ch = c;
				sb_put(&b, &ch, 1);
				if (b.n > 64)
					jerr(in, "number too long");
			}
			v->t = J_NUM;
			v->s = b.p;
			break;
		}
		jerr(in, c == EOF ? "unexpected end of input" : "unexpected character '%c'", c);
	}
	in->depth--;
}

static const struct jv *jget_key(const struct jv *o, const char *key)
{
	if (o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->items[i];
	return NULL;
}

/* ---- encoding --------------------------------------------------------------- */

struct enc {
	struct jin *in;
	uint64_t rec;      /* record number, for messages */
	const char *field; /* current field */
};

static void __attribute__((noreturn, format(printf, 2, 3))) eerr(struct enc *e, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_die(CR_EX_IMAGE, "JSON input line %" PRIu64 ": record %" PRIu64 "%s%s: %s",
		 e->in->line, e->rec, e->field ? ", field " : "", e->field ? e->field : "", msg);
}

static int b64val(int c)
{
	static signed char tab[256];
	static bool init;

	if (!init) {
		memset(tab, -1, sizeof(tab));
		for (int i = 0; i < 64; i++)
			tab[(unsigned char)b64[i]] = i;
		init = true;
	}
	return c >= 0 && c < 256 ? tab[c] : -1;
}

/* Decodes base64 (strict, with padding); returns a malloc'd buffer. */
static uint8_t *unb64(struct enc *e, const char *s, size_t slen, size_t *len)
{
	uint8_t *o;
	size_t n = 0;

	if (slen % 4)
		eerr(e, "base64 length is not a multiple of 4");
	o = malloc(slen / 4 * 3 + 1);
	if (!o)
		tool_die(CR_EX_FAIL, "out of memory");
	for (size_t i = 0; i < slen; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]);
		int c = s[i + 2] == '=' && i + 4 == slen ? -2 : b64val(s[i + 2]);
		int d = s[i + 3] == '=' && i + 4 == slen ? -2 : b64val(s[i + 3]);

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2))
			eerr(e, "bad base64");
		o[n++] = a << 2 | b >> 4;
		if (c >= 0)
			o[n++] = (b & 15) << 4 | c >> 2;
		else if (b & 15)
			eerr(e, "bad base64 padding");
		if (d >= 0)
			o[n++] = (c & 3) << 6 | d;
		else if (c >= 0 && (c & 3))
			eerr(e, "bad base64 padding");
	}
	*len = n;
	return o;
}

static uint64_t jnum_u(struct enc *e, const struct jv *v, uint64_t max)
{
	unsigned long long x;
	char *end;

	if (!v || v->t != J_NUM || v->s[0] == '-')
		eerr(e, "expected a non-negative integer");
	errno = 0;
	x = strtoull(v->s, &end, 10);
	if (errno || *end || x > max)
		eerr(e, "integer %s out of range", v->s);
	return x;
}

static int64_t jnum_i(struct enc *e, const struct jv *v, int64_t min, int64_t max)
{
	long long x;
	char *end;

	if (!v || v->t != J_NUM)
		eerr(e, "expected an integer");
	errno = 0;
	x = strtoll(v->s, &end, 10);
	if (errno || *end || x < min || x > max)
		eerr(e, "integer %s out of range", v->s);
	return x;
}

static double jnum_d(struct enc *e, const struct jv *v)
{
	char *end;
	double d;

	if (v && v->t == J_STR) {
		if (!strcmp(v->s, "NaN"))
			return NAN;
		if (!strcmp(v->s, "Infinity"))
			return INFINITY;
		if (!strcmp(v->s, "-Infinity"))
			return -INFINITY;
	}
	if (!v || v->t != J_NUM)
		eerr(e, "expected a number");
	d = strtod(v->s, &end);
	if (*end)
		eerr(e, "bad number %s", v->s);
	return d;
}

static ProtobufCMessage *build_msg(struct enc *e, const ProtobufCMessageDescriptor *d,
				   const struct jv *o);

static void set_value(struct enc *e, const ProtobufCFieldDescriptor *f, void *p, const struct jv *v)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)p = (int32_t)jnum_i(e, v, INT32_MIN, INT32_MAX);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)p = (uint32_t)jnum_u(e, v, UINT32_MAX);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*(int64_t *)p = jnum_i(e, v, INT64_MIN, INT64_MAX);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)p = jnum_u(e, v, UINT64_MAX);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = (float)jnum_d(e, v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = jnum_d(e, v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (v->t != J_BOOL)
			eerr(e, "expected true or false");
		*(protobuf_c_boolean *)p = v->b;
		break;
	case PROTOBUF_C_TYPE_ENUM:
		if (v->t == J_STR) {
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, v->s);

			if (!ev)
				eerr(e, "no value %s in enum %s", v->s,
				     ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
			*(int *)p = ev->value;
		} else {
			*(int *)p = (int)jnum_i(e, v, INT32_MIN, INT32_MAX);
		}
		break;
	case PROTOBUF_C_TYPE_STRING:
		if (v->t != J_STR)
			eerr(e, "expected a string");
		*(char **)p = strdup(v->s);
		if (!*(char **)p)
			tool_die(CR_EX_FAIL, "out of memory");
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;

		if (v->t != J_STR)
			eerr(e, "expected a base64 string");
		b->data = unb64(e, v->s, v->slen, &b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (v->t != J_OBJ)
			eerr(e, "expected an object");
		*(ProtobufCMessage **)p = build_msg(e, f->descriptor, v);
		break;
	}
}

static ProtobufCMessage *build_msg(struct enc *e, const ProtobufCMessageDescriptor *d,
				   const struct jv *o)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);
	const char *saved = e->field;

	if (!m)
		tool_die(CR_EX_FAIL, "out of memory");
	protobuf_c_message_init(d, m);
	for (size_t i = 0; i < o->n; i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(d, o->keys[i]);
		const struct jv *v = &o->items[i];
		char *base = (char *)m;

		e->field = o->keys[i];
		if (!f) {
			if (!strcmp(o->keys[i], "(unknown fields)"))
				continue;
			eerr(e, "no such field in %s", d->name);
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = type_size(f->type);
			char *arr;

			if (v->t != J_ARR)
				eerr(e, "expected an array");
			if (*(size_t *)(base + f->quantifier_offset))
				eerr(e, "given twice");
			arr = calloc(v->n ? v->n : 1, sz);
			if (!arr)
				tool_die(CR_EX_FAIL, "out of memory");
			*(char **)(base + f->offset) = arr;
			*(size_t *)(base + f->quantifier_offset) = v->n;
			for (size_t k = 0; k < v->n; k++)
				set_value(e, f, arr + k * sz, &v->items[k]);
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *cs = (uint32_t *)(base + f->quantifier_offset);

			if (*cs)
				eerr(e, "a second member of a oneof");
			*cs = f->id;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
			*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
		}
		if ((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
		    *(void **)(base + f->offset) && *(void **)(base + f->offset) != f->default_value)
			eerr(e, "given twice");
		if (f->type == PROTOBUF_C_TYPE_BYTES && ((ProtobufCBinaryData *)(base + f->offset))->data &&
		    (!f->default_value ||
		     ((ProtobufCBinaryData *)(base + f->offset))->data !=
		     ((const ProtobufCBinaryData *)f->default_value)->data))
			eerr(e, "given twice");
		set_value(e, f, base + f->offset, v);
	}
	e->field = saved;
	return m;
}

static uint32_t parse_flags(struct enc *e, const struct jv *v)
{
	uint32_t fl = 0;

	if (!v || v->t != J_ARR)
		eerr(e, "\"flags\" must be an array of names");
	for (size_t i = 0; i < v->n; i++) {
		const struct jv *s = &v->items[i];

		if (s->t != J_STR)
			eerr(e, "a flag must be a string");
		if (!strcmp(s->s, "REQUIRED"))
			fl |= CRIMG_REC_REQUIRED;
		else if (!strcmp(s->s, "RAW"))
			fl |= CRIMG_REC_RAW;
		else if (!strcmp(s->s, "CSUM"))
			fl |= CRIMG_REC_CSUM;
		else
			eerr(e, "unknown flag %s", s->s);
	}
	return fl;
}

static void encode_record(struct enc *e, struct crimg_writer *w, const struct jv *rec)
{
	const struct jv *jt = jget_key(rec, "type"), *jn = jget_key(rec, "name");
	const struct jv *jp = jget_key(rec, "payload"), *jm = jget_key(rec, "msg");
	const struct jv *jl = jget_key(rec, "len");
	const struct crimg_type_info *ti = NULL;
	uint32_t type, flags;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if (rec->t != J_OBJ)
		eerr(e, "a record must be an object");
	if (jt)
		type = (uint32_t)jnum_u(e, jt, UINT32_MAX);
	else if (jn && jn->t == J_STR && (ti = crimg_type_by_name(jn->s)))
		type = ti->type;
	else
		eerr(e, "no \"type\" (or known \"name\")");
	if (type == CRIMG_T_INVALID || type == CRIMG_T_TRAILER)
		eerr(e, "type %u cannot be written (0 is invalid, 1 is the trailer: it is computed)",
		     type);
	if (!ti)
		ti = crimg_type_info(type);
	flags = jget_key(rec, "flags") ? parse_flags(e, jget_key(rec, "flags"))
		: (ti ? (ti->flags & (CRIMG_REC_RAW | CRIMG_REC_REQUIRED)) : CRIMG_REC_RAW) |
		CRIMG_REC_CSUM;
	if (jp) {
		if (jp->t != J_STR)
			eerr(e, "\"payload\" must be a base64 string");
		buf = unb64(e, jp->s, jp->slen, &len);
	} else if (jm) {
		ProtobufCMessage *m;

		if (!ti || !ti->desc)
			eerr(e, "\"msg\" given but type %u has no message schema here", type);
		if (jm->t != J_OBJ)
			eerr(e, "\"msg\" must be an object");
		m = build_msg(e, ti->desc, jm);
		len = protobuf_c_message_get_packed_size(m);
		buf = malloc(len + 1);
		if (!buf)
			tool_die(CR_EX_FAIL, "out of memory");
		protobuf_c_message_pack(m, buf);
		protobuf_c_message_free_unpacked(m, NULL);
	} else if (jl && jnum_u(e, jl, UINT64_MAX) == 0) {
		len = 0;
	} else {
		eerr(e, "no \"payload\" or \"msg\" (decode with --payload to re-encode raw records)");
	}
	if (jl && jp && jnum_u(e, jl, UINT64_MAX) != len)
		eerr(e, "\"len\" says %s, the payload has %zu bytes", jl->s, len);
	ret = crimg_writer__add_record(w, type, flags, buf, len);
	free(buf);
	if (ret < 0)
		tool_die(tool_exit_code(ret), "record %" PRIu64 ": %s", e->rec,
			 *crimg_writer__errmsg(w) ? crimg_writer__errmsg(w) : strerror(-ret));
}

/* Streams a base64 "payload" of a raw record straight from the input into
 * the stream: begin_raw, write_raw in chunks, end_raw.  The opening quote
 * is the next input character. */
static void stream_payload(struct enc *e, struct crimg_writer *w, uint32_t type, uint32_t flags,
			   uint64_t len)
{
	static uint8_t *buf;
	uint64_t done = 0;
	size_t n = 0;
	int q[4], nq = 0, c, ret;
	bool end = false;

	if (!buf && !(buf = malloc(CHUNK)))
		tool_die(CR_EX_FAIL, "out of memory");
	ret = crimg_writer__begin_raw(w, type, (flags & (CRIMG_REC_REQUIRED | CRIMG_REC_RAW)) |
				      (flags & CRIMG_REC_CSUM ? 0 : CRIMG_RAW_NO_CSUM), len);
	if (ret < 0)
		tool_die(tool_exit_code(ret), "record %" PRIu64 ": %s", e->rec, crimg_writer__errmsg(w));
	jexpect(e->in, '"');
	for (;;) {
		c = jget(e->in);
		if (c == '"')
			break;
		if (c == '\\' && (c = jget(e->in)) != '/')
			eerr(e, "bad escape in base64");
		if (c == EOF)
			jerr(e->in, "unterminated string");
		if (end)
			eerr(e, "base64 goes on after its padding");
		q[nq] = c == '=' ? -2 : b64val(c);
		if (q[nq] == -1)
			eerr(e, "bad base64");
		if (++nq < 4)
			continue;
		nq = 0;
		if (q[0] < 0 || q[1] < 0 || (q[2] == -2 && q[3] != -2))
			eerr(e, "bad base64");
		if (done + n + 3 - (q[2] < 0) - (q[3] < 0) > len)
			eerr(e, "the payload is longer than \"len\" (%" PRIu64 ")", len);
		if (n + 3 > CHUNK) {
			struct iovec v = { buf, n };

			ret = crimg_writer__write_raw(w, &v, 1, 0);
			if (ret < 0)
				tool_die(tool_exit_code(ret), "%s", crimg_writer__errmsg(w));
			done += n;
			n = 0;
		}
		buf[n++] = q[0] << 2 | q[1] >> 4;
		if (q[2] >= 0)
			buf[n++] = (q[1] & 15) << 4 | q[2] >> 2;
		else
			end = true;
		if (q[3] >= 0)
			buf[n++] = (q[2] & 3) << 6 | q[3];
		else
			end = true;
	}
	if (nq)
		eerr(e, "base64 length is not a multiple of 4");
	if (n) {
		struct iovec v = { buf, n };

		ret = crimg_writer__write_raw(w, &v, 1, 0);
		if (ret < 0)
			tool_die(tool_exit_code(ret), "%s", crimg_writer__errmsg(w));
		done += n;
	}
	if (done != len)
		eerr(e, "\"len\" says %" PRIu64 ", the payload has %" PRIu64 " bytes", len, done);
	ret = crimg_writer__end_raw(w, NULL);
	if (ret < 0)
		tool_die(tool_exit_code(ret), "%s", crimg_writer__errmsg(w));
}

/* Parses one record object member by member.  A raw record whose type,
 * flags and len come before its payload (as cr-show prints them) has its
 * payload streamed, so that records of any size are encoded in constant
 * memory; any other record is built in memory and encoded whole. */
static void encode_next_record(struct enc *e, struct crimg_writer *w)
{
	struct jv rec = { .t = J_OBJ };
	size_t cap = 0;
	bool streamed = false;
	int c;

	jexpect(e->in, '{');
	if (jpeek_ws(e->in) == '}') {
		jget(e->in);
		encode_record(e, w, &rec);
		return;
	}
	for (;;) {
		struct sbuf key = { 0 };
		const struct jv *jt, *jf, *jl;

		jexpect(e->in, '"');
		jstring(e->in, &key);
		jexpect(e->in, ':');
		jt = jget_key(&rec, "type");
		jf = jget_key(&rec, "flags");
		jl = jget_key(&rec, "len");
		if (streamed && (!strcmp(key.p, "type") || !strcmp(key.p, "flags") ||
				 !strcmp(key.p, "len") || !strcmp(key.p, "payload") ||
				 !strcmp(key.p, "msg") || !strcmp(key.p, "name")))
			eerr(e, "\"%s\" after the payload", key.p);
		if (!strcmp(key.p, "payload") && jt && jf && jl && jpeek_ws(e->in) == '"' &&
		    (parse_flags(e, jf) & CRIMG_REC_RAW) && jnum_u(e, jt, UINT32_MAX) > CRIMG_T_TRAILER) {
			stream_payload(e, w, (uint32_t)jnum_u(e, jt, UINT32_MAX), parse_flags(e, jf),
				       jnum_u(e, jl, CRIMG_MAX_REC_LEN));
			streamed = true;
			free(key.p);
		} else {
			if (rec.n == cap) {
				cap = cap ? cap * 2 : 16;
				rec.items = realloc(rec.items, cap * sizeof(*rec.items));
				rec.keys = realloc(rec.keys, cap * sizeof(*rec.keys));
				if (!rec.items || !rec.keys)
					tool_die(CR_EX_FAIL, "out of memory");
			}
			rec.keys[rec.n] = key.p;
			jvalue(e->in, &rec.items[rec.n]);
			rec.n++;
		}
		jpeek_ws(e->in);
		c = jget(e->in);
		if (c == '}')
			break;
		if (c != ',')
			jerr(e->in, "expected ',' or '}' in a record");
	}
	if (!streamed)
		encode_record(e, w, &rec);
	jv_free(&rec);
}

static int encode(FILE *f, int outfd)
{
	struct jin in = { .f = f, .line = 1 };
	struct enc e = { .in = &in };
	struct crimg_writer *w = NULL;
	char producer[64] = "cr-show";
	int ret, c;

	jexpect(&in, '{');
	if (jpeek_ws(&in) == '}')
		jerr(&in, "no \"records\"");
	for (;;) {
		struct sbuf key = { 0 };

		jexpect(&in, '"');
		jstring(&in, &key);
		jexpect(&in, ':');
		if (!strcmp(key.p, "records")) {
			LIBCRIMG_OPTS(crimg_writer_opts, o, .producer = producer, .log = tool_lib_log);

			if (w)
				jerr(&in, "\"records\" given twice");
			ret = crimg_writer__new(outfd, &o, &w);
			if (ret < 0)
				tool_die(tool_exit_code(ret), "cannot write the stream: %s", strerror(-ret));
			jexpect(&in, '[');
			if (jpeek_ws(&in) == ']')
				jget(&in);
			else
				for (;;) {
					encode_next_record(&e, w);
					e.rec++;
					jpeek_ws(&in);
					c = jget(&in);
					if (c == ']')
						break;
					if (c != ',')
						jerr(&in, "expected ',' or ']' after a record");
				}
		} else {
			struct jv v;

			jvalue(&in, &v);
			if (!strcmp(key.p, "stream")) {
				const struct jv *p = jget_key(&v, "producer"), *ver = jget_key(&v, "version");

				if (w)
					jerr(&in, "\"stream\" must come before \"records\"");
				if (p && p->t == J_STR) {
					if (p->slen > 43 || strlen(p->s) != p->slen)
						jerr(&in, "the producer is limited to 43 bytes without NUL");
					snprintf(producer, sizeof(producer), "%s", p->s);
				}
				if (ver && (ver->t != J_STR || strncmp(ver->s, "1.", 2)))
					jerr(&in, "format version %s cannot be written (this is 1.%u)",
					     ver->t == J_STR ? ver->s : "?", CRIMG_VERSION_MINOR);
			}
			/* "trailer" and anything else: ignored, recomputed */
			jv_free(&v);
		}
		free(key.p);
		jpeek_ws(&in);
		c = jget(&in);
		if (c == '}')
			break;
		if (c != ',')
			jerr(&in, "expected ',' or '}'");
	}
	if (!w)
		jerr(&in, "no \"records\"");
	if (jpeek_ws(&in) != EOF)
		jerr(&in, "trailing characters after the JSON document");
	ret = crimg_writer__finish(w);
	if (ret < 0)
		tool_die(tool_exit_code(ret), "cannot write the stream: %s", crimg_writer__errmsg(w));
	crimg_writer__free(w);
	return CR_EX_OK;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void)
{
	printf("usage: cr-show [OPTIONS] [FILE]\n"
	       "Decodes an image stream (FILE or stdin) to JSON on stdout.\n"
	       "  -i, --input FILE   read FILE (default: the argument, or stdin)\n"
	       "  -o, --output FILE  write FILE instead of stdout\n"
	       "  -p, --payload      raw payloads in full (base64); needed to --encode\n"
	       "  -s, --summary      records and bytes per type (same as --view summary)\n"
	       "      --view NAME    show a view; --view list lists them\n"
	       "  -j, --json         views print JSON\n"
	       "  -e, --encode       read JSON (as printed with --payload), write a stream\n"
	       "  -t, --types        list the record types this build knows\n"
	       "  -v, --verbose      more messages\n"
	       "  -h, --help         this help\n"
	       "Exit status: 0 ok, 1 failure, 2 usage, 5 invalid image or JSON.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "payload", no_argument, NULL, 'p' },
		{ "summary", no_argument, NULL, 's' },
		{ "view", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "encode", no_argument, NULL, 'e' },
		{ "types", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *input = NULL, *output = NULL, *view = NULL;
	bool do_encode = false, list_types = false;
	int c, fd, ret;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "i:o:psjetvh", lo, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'p': opt_payload = true; break;
		case 's': view = "summary"; break;
		case 'V': view = optarg; break;
		case 'j': opt_json = true; break;
		case 'e': do_encode = true; break;
		case 't': list_types = true; break;
		case 'v': tool_verbose++; break;
		case 'h': usage(); return CR_EX_OK;
		default: tool_usage_error("unknown option");
		}
	}
	if (optind < argc) {
		if (input || optind + 1 < argc)
			tool_usage_error("one input only");
		input = argv[optind];
	}
	if (do_encode && (view || opt_payload))
		tool_usage_error("--encode takes no --view, --summary or --payload");
	if (list_types) {
		const struct crimg_type_info *ti;

		crimg_for_each_type(ti) {
			if (opt_json) {
				printf("{\"type\":%u,\"name\":\"%s\",\"raw\":%s,\"required\":%s,"
				       "\"message\":%s%s%s}\n", ti->type, ti->name,
				       ti->flags & CRIMG_REC_RAW ? "true" : "false",
				       ti->flags & CRIMG_REC_REQUIRED ? "true" : "false",
				       ti->desc ? "\"" : "", ti->desc ? ti->desc->name : "null",
				       ti->desc ? "\"" : "");
			} else {
				printf("0x%04x %-20s %-8s %-24s %s\n", ti->type, ti->name,
				       ti->flags & CRIMG_REC_REQUIRED ? "required" : "-",
				       ti->desc ? ti->desc->name : "(raw)", ti->doc);
			}
		}
		return CR_EX_OK;
	}
	if (view && !strcmp(view, "list")) {
		for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
			printf("%-12s %s\n", views[i].name, views[i].doc);
		return CR_EX_OK;
	}
	out = stdout;
	if (output) {
		out = fopen(output, do_encode ? "wb" : "w");
		if (!out)
			tool_die(tool_exit_code(-errno), "cannot open %s: %s", output, strerror(errno));
	}
	if (do_encode) {
		FILE *f = stdin;

		if (input && strcmp(input, "-")) {
			f = fopen(input, "r");
			if (!f)
				tool_die(tool_exit_code(-errno), "cannot open %s: %s", input, strerror(errno));
		}
		fflush(out);
		ret = encode(f, fileno(out));
		if (f != stdin)
			fclose(f);
	} else {
		fd = open_input(input);
		if (view) {
			const struct view *v = NULL;

			for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
				if (!strcmp(views[i].name, view))
					v = &views[i];
			if (!v)
				tool_usage_error("no view '%s' (--view list shows them)", view);
			ret = run_view(v, fd);
		} else {
			ret = decode(fd);
		}
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (fflush(out) || (out != stdout && fclose(out)))
		tool_die(CR_EX_FAIL, "cannot write the output: %s", strerror(errno));
	return ret;
}
