/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore-util.h - what the restore tests share: starting a victim,
 * waiting for its READY/PASS lines, running cr-assemble.
 */
#ifndef RESTORE_UTIL_H
#define RESTORE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/test.h"

static inline long ru_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* 1 if file contains line (a whole line), waiting up to ms. */
static inline int ru_wait_line(const char *file, const char *line, long ms)
{
	long end = ru_now_ms() + ms;
	char buf[8192];

	do {
		FILE *f = fopen(file, "r");

		if (f) {
			while (fgets(buf, sizeof(buf), f)) {
				buf[strcspn(buf, "\n")] = 0;
				if (!strcmp(buf, line)) {
					fclose(f);
					return 1;
				}
			}
			fclose(f);
		}
		usleep(5000);
	} while (ru_now_ms() < end);
	return 0;
}

static inline void ru_dump_file(const char *file)
{
	char buf[8192];
	FILE *f = fopen(file, "r");

	while (f && fgets(buf, sizeof(buf), f))
		fprintf(stderr, "  %s: %s", file, buf);
	if (f)
		fclose(f);
}

/* Starts a helper from $CR_BUILD/test/crcore/helpers with its stdio on /dev/null. */
static inline pid_t ru_start_victim(const char *name, char *const args[])
{
	char *path = t_build_path("test/crcore/helpers/");
	char full[4096];
	char *argv[16];
	pid_t pid;
	int n = 0;

	snprintf(full, sizeof(full), "%s%s", path, name);
	free(path);
	argv[n++] = full;
	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execv(full, argv);
		_exit(127);
	}
	return pid;
}

/* Runs a command, returns its exit status (or 128+sig); stdin from in_fd
 * if >= 0. */
static inline int ru_run(int in_fd, char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (in_fd >= 0)
			dup2(in_fd, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline pid_t ru_read_pidfile(const char *f)
{
	FILE *p = fopen(f, "r");
	int pid = 0;

	if (p) {
		if (fscanf(p, "%d", &pid) != 1)
			pid = 0;
		fclose(p);
	}
	return pid;
}

/* Kills and reaps a child of ours. */
static inline void ru_kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* Waits until a process that is not our child is gone (or a zombie). */
static inline int ru_wait_gone(pid_t pid, long ms)
{
	long end = ru_now_ms() + ms;
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	do {
		FILE *f = fopen(path, "r");
		char *r;

		if (!f)
			return 1;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		r = strrchr(buf, ')');
		if (r && (r[2] == 'Z' || r[2] == 'X'))
			return 1;
		usleep(5000);
	} while (ru_now_ms() < end);
	return 0;
}

#endif
