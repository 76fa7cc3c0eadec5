/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-assemble - recreate a process from an image stream and let it run.
 *
 *     cr-assemble [-i FILE] [--pidfile FILE] [--wait] [-v]
 *
 * Reads the stream from stdin (or FILE) strictly front to back: a pipe
 * from cr-dump, zstd or ssh works as well as a file.  See cr-assemble(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crcore.h>

#include "tool.h"

static void usage(void)
{
	printf("usage: %s [-i FILE] [--pidfile FILE] [--wait] [-v]\n"
	       "Recreates the process of an image stream (stdin, or FILE) and resumes it.\n"
	       "  -i, --input FILE    read the stream from FILE instead of stdin\n"
	       "  -p, --pidfile FILE  write the restored process's pid to FILE\n"
	       "  -w, --wait          stay its parent and exit with its status\n"
	       "      --pid-wait MS   wait up to MS ms for a zombie holding the pid (5000)\n"
	       "      --vdso-proxy    use the vDSO proxy even if the vDSO did not change (tests)\n"
	       "      --shell-job     give the caller's terminal, session and group to a shell job\n"
	       "  -v, --verbose       say more\n"
	       "  -h, --help          this text\n", tool_name());
}

static void progress(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	tool_progress("restoring", done, total);
}

static int write_pidfile(const char *path, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (tool_write_full(fd, buf, (size_t)n) != n) {
		int e = errno ? -errno : -EIO;

		close(fd);
		return e;
	}
	return close(fd) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "wait", no_argument, NULL, 'w' },
		{ "pid-wait", required_argument, NULL, 'W' },
		{ "vdso-proxy", no_argument, NULL, 'X' },
		{ "shell-job", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *input = NULL, *pidfile = NULL;
	struct crcore_restore_opts o = { .sz = sizeof(o) };
	struct crcore_restore *rs = NULL;
	int c, fd = STDIN_FILENO, r, status;
	const char *w;
	long ms;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "i:p:wvh", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'w':
			o.flags |= CRCORE_RESTORE_KEEP_CHILD;
			break;
		case 'W':
			ms = tool_parse_long(optarg);
			if (ms <= 0 || ms > 3600000)
				tool_usage_error("--pid-wait: not a number of milliseconds: '%s'", optarg);
			o.pid_wait_ms = (uint32_t)ms;
			break;
		case 'X':
			o.flags |= CRCORE_RESTORE_VDSO_PROXY;
			break;
		case 'J':
			o.flags |= CRCORE_RESTORE_SHELL_JOB;
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
	if (optind < argc)
		tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			tool_die(tool_exit_code(-errno), "cannot open %s: %s", input, strerror(errno));
	}
	if (isatty(fd))
		tool_usage_error("the image stream is read from stdin, which is a terminal");
	if (tool_verbose) {
		o.log = tool_lib_log;
		o.log_arg = NULL;
	}
	if (isatty(STDERR_FILENO))
		o.progress = progress;
	r = crcore_restore__new(fd, &o, &rs);
	if (r < 0)
		tool_die(tool_exit_code(r), "%s", crcore_restore__errmsg(rs));
	r = crcore_restore__run(rs);
	if (o.progress)
		tool_progress_end();
	if (r < 0) {
		int code = r == -EEXIST ? CR_EX_FAIL : tool_exit_code(r);

		tool_msg("cannot restore process %d: %s", (int)crcore_restore__pid(rs),
			 crcore_restore__errmsg(rs));
		crcore_restore__free(rs);
		return code;
	}
	w = crcore_restore__warnings(rs);
	if (*w && !tool_verbose) {
		/* one message per warning line */
		char *copy = strdup(w), *save = NULL;

		for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
			tool_msg("warning: %s", l);
		free(copy);
	}
	tool_debug("process %d restored", (int)crcore_restore__pid(rs));
	if (pidfile) {
		r = write_pidfile(pidfile, crcore_restore__pid(rs));
		if (r < 0)
			tool_msg("cannot write pid file %s: %s (process %d is running)", pidfile,
				 strerror(-r), (int)crcore_restore__pid(rs));
	}
	if (!(o.flags & CRCORE_RESTORE_KEEP_CHILD)) {
		crcore_restore__free(rs);
		return r < 0 ? CR_EX_FAIL : CR_EX_OK;
	}
	r = crcore_restore__wait(rs, &status);
	crcore_restore__free(rs);
	if (r < 0)
		tool_die(CR_EX_FAIL, "cannot wait for the restored process: %s", strerror(-r));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return CR_EX_FAIL;
}
