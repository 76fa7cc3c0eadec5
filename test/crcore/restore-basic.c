/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore-basic: each victim is checkpointed with the TEST-ONLY producer
 * (restore-mkimg.h), killed, and restored by cr-assemble; the restored
 * process checks itself after SIGTERM.  Victims: helpers/v-basic (heap,
 * sparse anonymous memory, PROT_NONE and read-only regions, a modified
 * private file mapping, a file at an offset, TLS, a signal mask and
 * handlers, vDSO time functions) and helpers/v-threads (two threads
 * spinning with every AVX-512 register loaded; TIDs, names, masks, rseq).
 * Each runs the file form with --pidfile, the --wait form from stdin, the
 * vDSO proxy (--vdso-proxy: the path of an image from another kernel
 * build) and the pipe form while the original still runs.
 */
#include "restore-mkimg.h"
#include "restore-util.h"

static void dump_to(pid_t v, const char *img)
{
	struct mk_ctx *c = calloc(1, sizeof(*c));
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		t_fail("create %s: %s", img, strerror(errno));
	if (mk_seize(c, v) < 0 || mk_write(c, fd) < 0)
		t_fail("test-only dump of %d: %s", (int)v, c->err);
	close(fd);
	mk_release(c);
	free(c);
}

static const char *victim;

static pid_t prepare(const char *dir, const char *name, char *out, char *img)
{
	char *args[] = { out, NULL };
	pid_t v;

	snprintf(out, 4096, "%s/%s-%s.out", dir, victim, name);
	snprintf(img, 4096, "%s/%s-%s.img", dir, victim, name);
	v = ru_start_victim(victim, args);
	if (!ru_wait_line(out, "READY", 5000)) {
		if (ru_wait_line(out, "SKIP", 0)) {
			ru_kill_reap(v);
			return 0;
		}
		ru_kill_reap(v);
		t_fail("%s: the victim did not get ready", name);
	}
	dump_to(v, img);
	ru_kill_reap(v);
	return v;
}

static void expect_pass(const char *name, pid_t pid, const char *out)
{
	if (kill(pid, SIGTERM) < 0)
		t_fail("%s: restored process %d is not there: %s", name, (int)pid, strerror(errno));
	if (!ru_wait_line(out, "PASS", 5000)) {
		ru_dump_file(out);
		kill(pid, SIGKILL);
		t_fail("%s: the restored process did not pass its checks", name);
	}
}

static void run(const char *dir)
{
	char out[4096], img[4096], pf[4096];
	pid_t v, pid;
	int r;

	/* 1: from a file, detached, --pidfile */
	v = prepare(dir, "file", out, img);
	if (!v) {
		t_log("%s: skipped (the victim says its CPU lacks what it tests)", victim);
		return;
	}
	snprintf(pf, sizeof(pf), "%s/%s-file.pid", dir, victim);
	{
		char *argv[] = { "cr-assemble", "-i", img, "--pidfile", pf, NULL };

		r = ru_run(-1, argv);
	}
	if (r != 0)
		t_fail("%s file: cr-assemble exited %d", victim, r);
	pid = ru_read_pidfile(pf);
	if (pid != v)
		t_fail("%s file: restored pid %d, the original was %d", victim, (int)pid, (int)v);
	expect_pass("file", pid, out);
	ru_wait_gone(pid, 3000);

	/* 2: --wait, stdin: cr-assemble stays the parent and exits with the status */
	v = prepare(dir, "wait", out, img);
	snprintf(pf, sizeof(pf), "%s/%s-wait.pid", dir, victim);
	{
		pid_t ca = fork();
		int st, in;

		if (ca == 0) {
			in = open(img, O_RDONLY);
			dup2(in, 0);
			execlp("cr-assemble", "cr-assemble", "--wait", "--pidfile", pf, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 500 && !(pid = ru_read_pidfile(pf)); i++)
			usleep(10000);
		if (pid != v) {
			ru_kill_reap(ca);
			t_fail("%s wait: no pid file or wrong pid (%d, want %d)", victim, (int)pid, (int)v);
		}
		expect_pass("wait", pid, out);
		waitpid(ca, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			t_fail("%s wait: cr-assemble --wait ended with status 0x%x, want exit 0", victim, st);
	}

	/* 4: the vDSO proxy, as for an image from another kernel build: the
	 * image's vDSO code comes back, patched to jump into the kernel's */
	v = prepare(dir, "proxy", out, img);
	snprintf(pf, sizeof(pf), "%s/%s-proxy.pid", dir, victim);
	{
		char *argv[] = { "cr-assemble", "--vdso-proxy", "-i", img, "--pidfile", pf, NULL };

		r = ru_run(-1, argv);
	}
	if (r != 0)
		t_fail("%s proxy: cr-assemble exited %d", victim, r);
	pid = ru_read_pidfile(pf);
	if (pid != v)
		t_fail("%s proxy: restored pid %d, the original was %d", victim, (int)pid, (int)v);
	expect_pass("proxy", pid, out);
	ru_wait_gone(pid, 3000);

	/* 3: through a pipe while the original still runs (as `cr-dump | cr-assemble`):
	 * the original is killed only after the last byte is written */
	{
		char *args[] = { out, NULL };
		struct mk_ctx *c = calloc(1, sizeof(*c));
		int p[2], st;
		pid_t ca;

		snprintf(out, sizeof(out), "%s/%s-pipe.out", dir, victim);
		snprintf(pf, sizeof(pf), "%s/%s-pipe.pid", dir, victim);
		v = ru_start_victim(victim, args);
		if (!ru_wait_line(out, "READY", 5000))
			t_fail("%s pipe: the victim did not get ready", victim);
		if (pipe(p) < 0)
			t_fail("pipe: %s", strerror(errno));
		ca = fork();
		if (ca == 0) {
			close(p[1]);
			dup2(p[0], 0);
			execlp("cr-assemble", "cr-assemble", "--pidfile", pf, (char *)NULL);
			_exit(127);
		}
		close(p[0]);
		if (mk_seize(c, v) < 0 || mk_write(c, p[1]) < 0)
			t_fail("%s pipe: test-only dump: %s", victim, c->err);
		close(p[1]);
		mk_release(c);
		ru_kill_reap(v);
		free(c);
		waitpid(ca, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			t_fail("%s pipe: cr-assemble ended with status 0x%x", victim, st);
		pid = ru_read_pidfile(pf);
		if (pid != v)
			t_fail("%s pipe: restored pid %d, want %d", victim, (int)pid, (int)v);
		expect_pass("pipe", pid, out);
		ru_wait_gone(pid, 3000);
	}
}

int main(void)
{
	static const char *victims[] = { "v-basic", "v-threads" };
	const char *dir = t_tmpdir();

	for (size_t i = 0; i < sizeof(victims) / sizeof(victims[0]); i++) {
		victim = victims[i];
		run(dir);
	}
	printf("PASS\n");
	return 0;
}
