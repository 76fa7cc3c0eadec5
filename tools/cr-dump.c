/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-dump - the canonical composition of the dump stages as one command:
 *   cr-dump [-o FILE] [--leave-running|--leave-stopped] PID
 * does what  cr-freeze [opts] PID cr-parasite cr-dumpmm  does, with the
 * same library calls, in one process: the stages chain-load each other
 * only to hand the freeze from one program to the next, and here there
 * is no next program (each exec costs 2-3 ms on this machine, most of a
 * tiny process's dump).  --exec-stages runs the stage programs instead,
 * found next to this program first, then in PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crcore.h>
#include <crimg.h>

#include "tool.h"

static void progress(uint64_t done, uint64_t total, void *arg)
{
	tool_progress("memory", done, total);
}

int main(int argc, char **argv)
{
	enum { O_RUNNING = 256, O_STOPPED, O_COPY, O_NOCSUM, O_SHELLJOB, O_EXEC };
	static const struct option lo[] = {
		{ "leave-running", no_argument, NULL, O_RUNNING },
		{ "leave-stopped", no_argument, NULL, O_STOPPED },
		{ "copy", no_argument, NULL, O_COPY },
		{ "no-csum", no_argument, NULL, O_NOCSUM },
		{ "shell-job", no_argument, NULL, O_SHELLJOB },
		{ "exec-stages", no_argument, NULL, O_EXEC },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *out = NULL;
	char *av[16], self[PATH_MAX], vbuf[8] = "-", why[512] = "";
	int ac = 0, c, copy = 0, nocsum = 0, exec_stages = 0, r;
	uint32_t end = CRCORE_END_KILL;
	struct crcore_dump *d;
	struct crimg_writer *w;
	ssize_t n;
	long pid;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:vh", lo, NULL)) != -1) {
		switch (c) {
		case O_RUNNING:
			end = CRCORE_END_RUNNING;
			break;
		case O_STOPPED:
			end = CRCORE_END_STOPPED;
			break;
		case O_COPY:
			copy = 1;
			break;
		case O_NOCSUM:
			nocsum = 1;
			break;
		case O_EXEC:
			exec_stages = 1;
			break;
		case O_SHELLJOB:
			/* every stage checks the fds: they read it from the environment */
			setenv(CRCORE_TTY_SHELL_JOB_ENV, "1", 1);
			break;
		case 'o':
			out = optarg;
			break;
		case 'v':
			if (tool_verbose < 5)
				tool_verbose++;
			break;
		case 'h':
			printf("usage: cr-dump [-o FILE] [--leave-running|--leave-stopped] [--shell-job] [--exec-stages] PID\n"
			       "Checkpoints PID into an image stream on stdout (or FILE): runs\n"
			       "cr-freeze PID cr-parasite cr-dumpmm.  See cr-dump(1).\n");
			return CR_EX_OK;
		default:
			tool_usage_error("unknown option");
		}
	}
	if (optind + 1 != argc)
		tool_usage_error(optind >= argc ? "no PID given" : "one PID only");
	pid = tool_parse_long(argv[optind]);
	if (pid <= 0 || pid > 0x3fffffff)
		tool_usage_error("not a pid: '%s'", argv[optind]);
	/* The stages next to us come first. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		const char *path = getenv("PATH");
		char *np;

		self[n] = 0;
		if (asprintf(&np, "%s:%s", dirname(self), path ? path : "/usr/bin:/bin") > 0)
			setenv("PATH", np, 1);
	}
	if (out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0)
			tool_die(errno == ENOENT ? CR_EX_NOTFOUND : tool_exit_code(-errno),
				 "cannot create %s: %s", out, strerror(errno));
		if (dup2(fd, STDOUT_FILENO) < 0)
			tool_die(CR_EX_FAIL, "dup2: %s", strerror(errno));
		close(fd);
	} else if (isatty(STDOUT_FILENO)) {
		tool_die(CR_EX_USAGE, "stdout is a terminal: redirect it or use -o FILE");
	}
	for (int i = 0; i < tool_verbose && i < 5; i++)
		vbuf[i + 1] = 'v';
	av[ac++] = "cr-parasite";
	av[ac++] = "cr-dumpmm";
	if (tool_verbose)
		av[ac++] = vbuf;
	if (copy)
		av[ac++] = "--copy";
	if (nocsum)
		av[ac++] = "--no-csum";
	av[ac] = NULL;
	/* cr-freeze's part */
	{
		LIBCRCORE_OPTS(crcore_dump_opts, o, .end = end, .err = why, .errlen = sizeof(why),
			       .log = tool_lib_log);

		r = crcore_dump__freeze(pid, &o, &d);
		if (r < 0)
			tool_die(r == -EDEADLK || r == -EBUSY ? CR_EX_UNSUPPORTED : tool_exit_code(r),
				 "%s", why);
	}
	{
		LIBCRIMG_OPTS(crimg_writer_opts, wo, .producer = "cr-dump 0.1", .log = tool_lib_log);

		r = crimg_writer__new(STDOUT_FILENO, &wo, &w);
		if (r < 0) {
			crcore_dump__free(d);
			tool_die(tool_exit_code(r), "cannot write the stream header: %s", strerror(-r));
		}
	}
	r = crcore_dump__write_core(d, w);
	if (r == 0 && exec_stages) {
		r = crcore_dump__exec_next(d, w, av); /* returns only on failure */
	} else if (r == 0) {
		/* cr-parasite's and cr-dumpmm's parts, then the end */
		struct crcore_mm_opts mo = { .sz = sizeof(mo),
					     .flags = (copy ? CRCORE_MM_COPY : 0) |
						      (nocsum ? CRCORE_MM_NO_CSUM : 0),
					     .progress = progress };

		r = crcore_dump__write_inside(d, w);
		if (r == 0)
			r = crcore_dump__write_mm(d, w, &mo, NULL);
		tool_progress_end();
		if (r == 0) {
			r = crimg_writer__finish(w);
			if (r < 0)
				snprintf(why, sizeof(why), "cannot end the stream: %s", strerror(-r));
		}
		if (r == 0) {
			crimg_writer__free(w);
			r = crcore_dump__end(d, end); /* frees d */
			if (r < 0)
				tool_die(tool_exit_code(r), "the image is complete, but ending the freeze "
					 "failed: %s", strerror(-r));
			return CR_EX_OK;
		}
	}
	if (!why[0] || r != -EPIPE)
		snprintf(why, sizeof(why), "%s", crcore_dump__errmsg(d));
	crimg_writer__free(w);
	crcore_dump__free(d);
	tool_die(r == -ENOENT ? CR_EX_NOTFOUND : tool_exit_code(r), "%s", why);
}
