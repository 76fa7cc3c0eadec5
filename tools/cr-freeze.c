/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-freeze - the first stage of a dump: freeze a process invisibly,
 * write the stream header, its PROC and THREAD records, then exec the
 * next stage with the freeze held (or, alone, end the dump).
 *
 *   cr-freeze [-v] [--leave-running|--leave-stopped] PID [NEXT-STAGE [ARGS...]]
 *   cr-freeze --check PID      refuse or accept, change nothing
 *   cr-freeze --thaw PID       end a --leave-stopped freeze: run on
 *   cr-freeze --kill PID       end a --leave-stopped freeze: kill
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crcore.h>
#include <crimg.h>

#include "tool.h"

static void usage(void)
{
	printf("usage: cr-freeze [-v] [--leave-running|--leave-stopped] PID [NEXT-STAGE [ARGS...]]\n"
	       "       cr-freeze --check PID | --thaw PID | --kill PID\n"
	       "Freezes PID and every thread of it (ptrace, invisible to it), writes the\n"
	       "start of an image stream to stdout (PROC, THREAD records), then execs\n"
	       "NEXT-STAGE with the freeze held.  The last stage ends the freeze: kill\n"
	       "(default), --leave-running, or --leave-stopped (cgroup v2 freezer, ended\n"
	       "later with --thaw or --kill).  See cr-freeze(1).\n");
}

int main(int argc, char **argv)
{
	enum { O_RUNNING = 256, O_STOPPED, O_THAW, O_KILL, O_CHECK };
	static const struct option lo[] = {
		{ "leave-running", no_argument, NULL, O_RUNNING },
		{ "leave-stopped", no_argument, NULL, O_STOPPED },
		{ "thaw", no_argument, NULL, O_THAW },
		{ "kill", no_argument, NULL, O_KILL },
		{ "check", no_argument, NULL, O_CHECK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint32_t end = CRCORE_END_KILL;
	int action = 0, c, r;
	char why[512] = "";
	struct crcore_dump *d;
	struct crimg_writer *w;
	long pid;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "+vh", lo, NULL)) != -1) {
		switch (c) {
		case O_RUNNING:
			end = CRCORE_END_RUNNING;
			break;
		case O_STOPPED:
			end = CRCORE_END_STOPPED;
			break;
		case O_THAW:
		case O_KILL:
		case O_CHECK:
			action = c;
			break;
		case 'v':
			tool_verbose++;
			break;
		case 'h':
			usage();
			return CR_EX_OK;
		default:
			tool_usage_error("unknown option");
		}
	}
	if (optind >= argc)
		tool_usage_error("no PID given");
	pid = tool_parse_long(argv[optind]);
	if (pid <= 0 || pid > 0x3fffffff)
		tool_usage_error("not a pid: '%s'", argv[optind]);
	if (action == O_THAW || action == O_KILL) {
		if (optind + 1 != argc)
			tool_usage_error("--thaw and --kill take only a PID");
		r = action == O_THAW ? crcore_freezer_thaw(pid, why, sizeof(why))
				     : crcore_freezer_kill(pid, why, sizeof(why));
		if (r < 0)
			tool_die(tool_exit_code(r), "%s", why);
		return CR_EX_OK;
	}
	{
		LIBCRCORE_OPTS(crcore_dump_opts, o, .end = end, .err = why, .errlen = sizeof(why),
			       .log = tool_lib_log,
			       .flags = action == O_CHECK ? CRCORE_DUMP_CHECK_ONLY : 0);

		r = crcore_dump__freeze(pid, &o, &d);
		if (r < 0)
			tool_die(r == -EDEADLK || r == -EBUSY ? CR_EX_UNSUPPORTED : tool_exit_code(r),
				 "%s", why);
		if (action == O_CHECK)
			return CR_EX_OK;
	}
	{
		LIBCRIMG_OPTS(crimg_writer_opts, wo, .producer = "cr-freeze " "0.1",
			      .log = tool_lib_log);

		r = crimg_writer__new(STDOUT_FILENO, &wo, &w);
		if (r < 0) {
			crcore_dump__free(d);
			tool_die(tool_exit_code(r), "cannot write the stream header: %s", strerror(-r));
		}
	}
	r = crcore_dump__write_core(d, w);
	if (r < 0) {
		snprintf(why, sizeof(why), "%s", crcore_dump__errmsg(d));
		crimg_writer__free(w);
		crcore_dump__free(d);
		tool_die(tool_exit_code(r), "%s", why);
	}
	if (optind + 1 < argc) {
		r = crcore_dump__exec_next(d, w, argv + optind + 1);
		snprintf(why, sizeof(why), "%s", crcore_dump__errmsg(d));
		crimg_writer__free(w);
		crcore_dump__free(d);
		tool_die(r == -ENOENT ? CR_EX_NOTFOUND : CR_EX_FAIL, "%s", why);
	}
	r = crimg_writer__finish(w);
	crimg_writer__free(w);
	if (r < 0) {
		crcore_dump__free(d);
		tool_die(tool_exit_code(r), "cannot end the stream: %s", strerror(-r));
	}
	r = crcore_dump__end(d, end);
	if (r < 0)
		tool_die(tool_exit_code(r), "cannot end the freeze of %ld", pid);
	return CR_EX_OK;
}
