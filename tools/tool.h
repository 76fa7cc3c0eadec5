/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tool.h - what every tool shares: messages, exit codes, progress, the
 * full-read/full-write helpers.  Tools are thin: parse options, call the
 * libraries, report.
 *
 * Messages go to stderr as "cr-foo: what failed: why" (lowercase, no full
 * stop).  Stdout carries data only.
 */
#ifndef CR_TOOL_H
#define CR_TOOL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status, the same for every tool (listed in each man page and cr(7)). */
enum {
	CR_EX_OK = 0,
	CR_EX_FAIL = 1,        /* the operation failed; see the message */
	CR_EX_USAGE = 2,       /* bad command line */
	CR_EX_PERM = 3,        /* a privilege or permission is missing */
	CR_EX_UNSUPPORTED = 4, /* refused: something we do not handle yet; nothing was changed */
	CR_EX_IMAGE = 5,       /* the image stream is invalid (truncated, corrupted, too new) */
	CR_EX_NOTFOUND = 6,    /* no such process, fd or file */
};

/* Sets the program name used in messages (basename of argv[0]). */
void tool_init(const char *argv0);
const char *tool_name(void);

/* -v raises it; messages at or below the level are shown (0 = errors only). */
extern int tool_verbose;

void tool_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_vmsg(const char *fmt, va_list ap);
/* Prints the message and exits with code. */
void tool_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Usage error: "cr-foo: MESSAGE" then "try 'cr-foo --help'", exit 2. */
void tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Debug message, shown with -v. */
void tool_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Maps a negative errno from a library to an exit code. */
int tool_exit_code(int err);

/* A log callback for the libraries (level is a syslog level). */
void tool_lib_log(int level, const char *msg, void *arg);

/* Parses a decimal pid or fd; returns -1 if not a valid non-negative int. */
long tool_parse_long(const char *s);

/* EINTR-safe full I/O: returns bytes done (short only at EOF) or -errno. */
ssize_t tool_read_full(int fd, void *buf, size_t len);
ssize_t tool_write_full(int fd, const void *buf, size_t len);

/* Progress on stderr when it is a terminal: call with bytes done so far
 * (total 0 if unknown); throttled to a few updates a second.  Call
 * tool_progress_end() once at the end. */
void tool_progress(const char *what, uint64_t done, uint64_t total);
void tool_progress_end(void);

#endif
