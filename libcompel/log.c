/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's only output channel: an optional callback. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static compel_log_fn log_fn;
static void *log_arg;
static int log_max = -1;

COMPEL_API void compel_set_log(compel_log_fn fn, void *arg, int max_level)
{
	log_fn = fn;
	log_arg = arg;
	log_max = fn ? max_level : -1;
}

void compel_log(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int saved = errno;

	if (!log_fn || level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_arg);
	errno = saved;
}
