/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <unistd.h>

#include "test.h"

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(T_FAIL);
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("skip: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(T_SKIP);
}

void t_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void t_say(int fd, const char *fmt, ...)
{
	char b[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(b) - 2)
		n = (int)sizeof(b) - 2;
	b[n++] = '\n';
	if (write(fd, b, (size_t)n) < 0)
		_exit(3);
}

const char *t_build_dir(void)
{
	const char *b = getenv("CR_BUILD");

	return b && *b ? b : "build";
}

char *t_build_path(const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", t_build_dir(), rel) < 0)
		t_fail("out of memory");
	return p;
}

static char tmpdir[256];
static pid_t tmpdir_owner;

static void rm_tmpdir(void)
{
	char cmd[300];

	if (tmpdir[0] && getpid() == tmpdir_owner) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	}
}

const char *t_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/cr-test.XXXXXX");
		if (!mkdtemp(tmpdir))
			t_fail("mkdtemp: %s", strerror(errno));
		tmpdir_owner = getpid();
		atexit(rm_tmpdir);
	}
	return tmpdir;
}
