/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore-killed: cr-assemble SIGKILLed at any moment of a restore (while
 * the memory is read, while the state is set, while the threads are
 * resumed) leaves no process behind: the half-built process dies with it
 * (parent-death signal until cr-assemble holds the threads through
 * ptrace, PTRACE_O_EXITKILL from then on).  A restore that completed
 * before the kill leaves a process that passes its checks.  The test is a
 * child subreaper, so that it reaps the killed process at once and the
 * next attempt has its PID free.
 */
#include <sys/prctl.h>

#include "restore-util.h"

static int alive(pid_t pid)
{
	char path[64], buf[512], *r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	r = strrchr(buf, ')');
	return r && r[2] != 'Z' && r[2] != 'X';
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

int main(void)
{
	static const int delays_us[] = { 1000, 5000, 15000, 30000, 60000, 100000, 160000, 300000 };
	const char *dir = t_tmpdir();
	char out[4096], img[4096], pf[4096];
	char *args[] = { out, "256", NULL };
	int mid = 0, done = 0;
	pid_t v, ca;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(pf, sizeof(pf), "%s/pid", dir);
	v = ru_start_victim("v-big", args);
	if (!ru_wait_line(out, "READY", 20000))
		t_fail("the victim did not get ready");
	{
		char spid[16];
		char *argv[] = { "cr-dump", "-o", img, spid, NULL };

		snprintf(spid, sizeof(spid), "%d", (int)v);
		if (ru_run(-1, argv) != 0)
			t_fail("cr-dump failed");
	}
	waitpid(v, NULL, 0);
	for (size_t k = 0; k < sizeof(delays_us) / sizeof(delays_us[0]); k++) {
		unlink(pf);
		ca = fork();
		if (ca == 0) {
			int nul = open("/dev/null", O_RDWR);

			dup2(nul, 2);
			execlp("cr-assemble", "cr-assemble", "-i", img, "--pidfile", pf, (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)delays_us[k]);
		kill(ca, SIGKILL);
		waitpid(ca, NULL, 0);
		if (ru_read_pidfile(pf) == v) {
			if (!alive(v))
				t_fail("delay %d us: restored, but process %d is not running", delays_us[k], (int)v);
			truncate(out, 0);
			kill(v, SIGTERM);
			if (!ru_wait_line(out, "PASS", 5000))
				t_fail("delay %d us: the restored process did not pass", delays_us[k]);
			done++;
		} else {
			mid++;
		}
		for (int i = 0; i < 300 && alive(v); i++) {
			reap_all();
			usleep(10000);
		}
		if (alive(v))
			t_fail("delay %d us: cr-assemble was killed midway and process %d is left running",
			       delays_us[k], (int)v);
		for (int i = 0; i < 300 && kill(v, 0) == 0; i++) {
			reap_all();
			usleep(10000);
		}
		t_log("delay %d us: %s, nothing left behind", delays_us[k],
		      ru_read_pidfile(pf) == v ? "completed" : "killed midway");
	}
	if (!mid)
		t_log("note: every restore completed before the kill");
	if (!done)
		t_log("note: no restore completed before the kill");
	printf("PASS\n");
	return 0;
}
