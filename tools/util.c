/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static const char *progname = "cr";
int tool_verbose;

void tool_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	progname = s ? s + 1 : (argv0 ? argv0 : "cr");
}

const char *tool_name(void)
{
	return progname;
}

void tool_vmsg(const char *fmt, va_list ap)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "%s: ", progname);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	n = strlen(buf);
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}

void tool_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
}

void tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "try '%s --help'\n", progname);
	exit(CR_EX_USAGE);
}

void tool_debug(const char *fmt, ...)
{
	va_list ap;

	if (tool_verbose < 1)
		return;
	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
}

int tool_exit_code(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return CR_EX_OK;
	case EPERM:
	case EACCES:
		return CR_EX_PERM;
	case EOPNOTSUPP:
		return CR_EX_UNSUPPORTED;
	case EBADMSG:
	case EPROTO:
	case EOVERFLOW:
	case EPROTONOSUPPORT:
		return CR_EX_IMAGE;
	case ESRCH:
	case ENOENT:
	case EBADF:
		return CR_EX_NOTFOUND;
	default:
		return CR_EX_FAIL;
	}
}

void tool_lib_log(int level, const char *msg, void *arg)
{
	int need = level <= LOG_WARNING ? 0 : level == LOG_NOTICE || level == LOG_INFO ? 1 : 2;

	if (tool_verbose >= need)
		tool_msg("%s", msg);
}

long tool_parse_long(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		return -1;
	return v;
}

ssize_t tool_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

ssize_t tool_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return done;
}

static int progress_shown = -1;
static struct timespec progress_last;

static void human(char *buf, size_t n, double v)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, "%.1f %s", v, u[i]);
}

void tool_progress(const char *what, uint64_t done, uint64_t total)
{
	static struct timespec start;
	struct timespec now;
	char a[32], b[32], c[32];
	double el;

	if (progress_shown < 0) {
		progress_shown = isatty(STDERR_FILENO) ? 0 : 2;
		clock_gettime(CLOCK_MONOTONIC, &start);
	}
	if (progress_shown == 2)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (progress_shown && (now.tv_sec - progress_last.tv_sec) * 1000000000L +
	    (now.tv_nsec - progress_last.tv_nsec) < 200000000L)
		return;
	progress_last = now;
	progress_shown = 1;
	el = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
	human(a, sizeof(a), done);
	human(c, sizeof(c), el > 0 ? done / el : 0);
	if (total) {
		human(b, sizeof(b), total);
		fprintf(stderr, "\r%s: %s %s / %s (%.0f%%) %s/s   ", progname, what, a, b,
			100.0 * done / total, c);
	} else {
		fprintf(stderr, "\r%s: %s %s %s/s   ", progname, what, a, c);
	}
}

void tool_progress_end(void)
{
	if (progress_shown == 1)
		fputc('\n', stderr);
	progress_shown = -1;
}
