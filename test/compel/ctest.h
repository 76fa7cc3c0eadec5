/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctest.h - helpers for the compel tests: start a victim, wait for its
 * READY line, collect its verdict, kill whatever is left at exit.
 *
 * A victim (test/compel/helpers/victim.c) prepares its state, prints
 * "READY", blocks or spins; it reads "go" on stdin (or gets SIGTERM),
 * verifies that its state is intact and prints "PASS" or "FAIL why".
 */
#ifndef COMPEL_CTEST_H
#define COMPEL_CTEST_H

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <compel.h>
#include "../lib/test.h"

struct victim {
	pid_t pid;
	int in;  /* its stdin */
	int out; /* its stdout */
};

#define MAX_KIDS 16
static pid_t ct_kids[MAX_KIDS];

/* Kills what is left; no wait: threads we trace would need __WALL
 * reaping, and our exit detaches them anyway. */
static __attribute__((unused)) void ct_kill_kids(void)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (ct_kids[i] > 0) {
			kill(ct_kids[i], SIGKILL);
			ct_kids[i] = 0;
		}
}

static __attribute__((unused)) void ct_log(int level, const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "compel[%d]: %s\n", level, msg);
}

static __attribute__((unused)) void ct_track(pid_t pid)
{
	static int init;

	if (!init) {
		atexit(ct_kill_kids);
		init = 1;
	}
	for (int i = 0; i < MAX_KIDS; i++)
		if (!ct_kids[i]) {
			ct_kids[i] = pid;
			return;
		}
}

static __attribute__((unused)) void ct_untrack(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (ct_kids[i] == pid)
			ct_kids[i] = 0;
}

/* Reads one line from fd (no buffering beyond it); 0 at EOF. */
static __attribute__((unused)) int ct_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long end = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + timeout_ms;
	while (n + 1 < len) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 > end)
				t_fail("victim said nothing for %d ms", timeout_ms);
			usleep(1000);
			continue;
		}
		if (r <= 0)
			break;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = 0;
	return n > 0;
}

/* Starts test/compel/helpers/NAME with args (NULL-terminated). */
static __attribute__((unused)) void victim_start_helper(struct victim *v, const char *name,
							const char *const *args)
{
	int pin[2], pout[2];
	char line[256], rel[128];
	char *path;

	snprintf(rel, sizeof(rel), "test/compel/helpers/%s", name);
	path = t_build_path(rel);

	compel_set_log(ct_log, NULL, 7);
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC))
		t_fail("pipe: %s", strerror(errno));
	v->pid = fork();
	if (v->pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (!v->pid) {
		const char *argv[16];
		int i = 0;

		argv[i++] = path;
		while (*args && i < 15)
			argv[i++] = *args++;
		argv[i] = NULL;
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execv(path, (char **)argv);
		_exit(127);
	}
	ct_track(v->pid);
	close(pin[0]);
	close(pout[1]);
	v->in = pin[1];
	v->out = pout[0];
	fcntl(v->out, F_SETFL, O_NONBLOCK);
	if (!ct_read_line(v->out, line, sizeof(line), 5000) || strcmp(line, "READY"))
		t_fail("victim did not get ready: '%s'", line);
	free(path);
}

/* Starts the victim helper with argv (NULL-terminated, argv[0] = mode). */
static __attribute__((unused)) void victim_start(struct victim *v, const char *const *args)
{
	victim_start_helper(v, "victim", args);
}

static __attribute__((unused)) void victim_go(struct victim *v)
{
	if (write(v->in, "go\n", 3) != 3)
		t_fail("cannot talk to the victim: %s", strerror(errno));
}

/* Collects the verdict; fails the test unless it is PASS. */
static __attribute__((unused)) void victim_expect_pass(struct victim *v, int timeout_ms)
{
	char line[256];

	if (!ct_read_line(v->out, line, sizeof(line), timeout_ms))
		t_fail("victim died without a verdict");
	if (strcmp(line, "PASS"))
		t_fail("victim: %s", line);
	waitpid(v->pid, NULL, 0);
	ct_untrack(v->pid);
	close(v->in);
	close(v->out);
}

#endif
