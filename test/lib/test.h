/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test.h - helpers shared by the test programs.  A test is one program:
 * exit 0 pass, 1 fail, 77 skip (printing the reason as its last line).
 * Areas keep their own helpers next to their tests (test/<area>/NAME.h).
 */
#ifndef CR_TEST_H
#define CR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Fail the test with a message naming the source line. */
#define t_fail(...) t_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define t_assert(cond) do { if (!(cond)) t_fail("assertion failed: %s", #cond); } while (0)
/* Check a library call: on a negative return, fail with the errno text. */
#define t_ok(expr) do { long _r = (long)(expr); \
	if (_r < 0) t_fail("%s = %ld (%s)", #expr, _r, strerror((int)-_r)); } while (0)

void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void t_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line to fd in one write (victims report READY/PASS/FAIL lines to a
 * file the test reads while they run); exits 3 if it cannot be written. */
void t_say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* $CR_BUILD (the build dir), and a path inside it. */
const char *t_build_dir(void);
/* Returns a malloc'd "$CR_BUILD/<rel>". */
char *t_build_path(const char *rel);
/* A fresh directory for the test's files, removed at exit. */
const char *t_tmpdir(void);

#endif
