/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * restore-bad: a bad image or a taken PID stops the restore with a clear
 * error before the new process runs, and leaves nothing behind.
 *   - truncated inside the memory, before the memory, before the trailer
 *   - a flipped byte in a page, in a record header
 *   - the PID held by the live original, and by an unreaped zombie
 *   - an unknown record marked required, before and after the memory
 * and an unknown record that is not required is skipped, before and after
 * the memory: those images restore.
 * The image comes from the TEST-ONLY producer (restore-mkimg.h).
 */
#include "restore-mkimg.h"
#include "restore-util.h"

static const char *dir;
static char img[4096], bad[4096], out[4096], errf[4096], ximg[4][4096];
static pid_t victim_pid;

/* Runs cr-assemble -i FILE with stderr to errf; returns its exit code. */
static int assemble(const char *file, const char *extra)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(e, 2);
		if (extra)
			execlp("cr-assemble", "cr-assemble", "-i", file, extra, (char *)NULL);
		else
			execlp("cr-assemble", "cr-assemble", "-i", file, (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *errtext(void)
{
	static char buf[4096];
	FILE *f = fopen(errf, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static void copy_part(uint64_t len, int64_t flip_at)
{
	int in = open(img, O_RDONLY), o = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = read(in, buf, len - done < sizeof(buf) ? len - done : sizeof(buf));

		if (n <= 0)
			break;
		if (flip_at >= 0 && (uint64_t)flip_at >= done && (uint64_t)flip_at < done + (uint64_t)n)
			buf[flip_at - (int64_t)done] ^= 0x40;
		(void)!write(o, buf, (size_t)n);
		done += (uint64_t)n;
	}
	close(in);
	close(o);
}

/* The restore must fail with code `want`, a message containing `needle`,
 * and no process left with the victim's pid. */
static void expect(const char *what, int code, int want, const char *needle)
{
	char *e = errtext();

	if (code != want)
		t_fail("%s: cr-assemble exited %d, want %d; it said: %s", what, code, want, e);
	if (!strstr(e, needle))
		t_fail("%s: the message does not say '%s': %s", what, needle, e);
	if (strcmp(what, "pid taken") && kill(victim_pid, 0) == 0 && !ru_wait_gone(victim_pid, 100))
		t_fail("%s: a process %d is left behind", what, (int)victim_pid);
	t_log("%s: ok: %s", what, e);
}

int main(void)
{
	struct crimg_reader *r;
	const struct crimg_record *rec;
	uint64_t first_pages = 0, last_pages = 0, trailer = 0, size;
	struct mk_ctx *c = calloc(1, sizeof(*c));
	char *args[2];
	struct stat st;
	int fd, ret;

	dir = t_tmpdir();
	snprintf(img, sizeof(img), "%s/good.img", dir);
	snprintf(bad, sizeof(bad), "%s/bad.img", dir);
	snprintf(out, sizeof(out), "%s/v.out", dir);
	snprintf(errf, sizeof(errf), "%s/err", dir);
	args[0] = out;
	args[1] = NULL;
	victim_pid = ru_start_victim("v-basic", args);
	if (!ru_wait_line(out, "READY", 5000))
		t_fail("the victim did not get ready");
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (mk_seize(c, victim_pid) < 0 || mk_write(c, fd) < 0)
		t_fail("test-only dump: %s", c->err);
	close(fd);
	mk_release(c);
	/* the same process with an unknown record, required or not, before
	 * the memory or after it */
	for (int k = 0; k < 4; k++) {
		snprintf(ximg[k], sizeof(ximg[k]), "%s/extra%d.img", dir, k);
		mk_extra_type = 0xf0aa;
		mk_extra_flags = k & 1 ? CRIMG_REC_REQUIRED : 0;
		mk_extra_where = k < 2 ? 1 : 2;
		usleep(20000); /* let it get back into pause() */
		fd = open(ximg[k], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (mk_seize(c, victim_pid) < 0 || mk_write(c, fd) < 0)
			t_fail("test-only dump %d: %s", k, c->err);
		close(fd);
		mk_release(c);
	}
	mk_extra_where = 0;

	/* the PID is held by the live original */
	ret = assemble(img, NULL);
	expect("pid taken", ret, 1, "is taken by a running process");
	if (kill(victim_pid, 0) < 0)
		t_fail("pid taken: the original was harmed");

	/* held by a zombie nobody reaps in time */
	kill(victim_pid, SIGKILL);
	usleep(50000);
	ret = assemble(img, "--pid-wait=300");
	expect("zombie", ret, 1, "zombie");
	waitpid(victim_pid, NULL, 0);

	/* where the records are */
	fd = open(img, O_RDONLY);
	t_ok(crimg_reader__new(fd, NULL, &r));
	while (crimg_reader__next(r, &rec) > 0) {
		if (rec->type == CRIMG_T_PAGES && !first_pages)
			first_pages = rec->offset;
		if (rec->type == CRIMG_T_PAGES)
			last_pages = rec->offset;
		trailer = crimg_reader__offset(r);
	}
	crimg_reader__free(r);
	close(fd);
	stat(img, &st);
	size = (uint64_t)st.st_size;
	trailer = size - 24 - 4 - 24;
	if (!first_pages || last_pages <= first_pages)
		t_fail("the image has fewer PAGES records than expected");

	copy_part((first_pages + last_pages) / 2 + 5, -1);
	expect("truncated in memory", assemble(bad, NULL), 5, "truncated");
	copy_part(first_pages - 10, -1);
	expect("truncated before memory", assemble(bad, NULL), 5, "truncated");
	copy_part(trailer, -1);
	expect("no trailer", assemble(bad, NULL), 5, "no trailer");
	copy_part(size, (int64_t)(last_pages + 24 + 8 + 100));
	expect("flipped page byte", assemble(bad, NULL), 5, "payload checksum mismatch");
	copy_part(size, (int64_t)(last_pages + 9));
	expect("flipped header byte", assemble(bad, NULL), 5, "header checksum mismatch");

	expect("unknown required record before the memory", assemble(ximg[1], NULL), 5, "required");
	expect("unknown required record after the memory", assemble(ximg[3], NULL), 5,
	       "after the memory records is not supported");
	for (int k = 0; k < 4; k += 2) {
		ret = assemble(ximg[k], NULL);
		if (ret != 0)
			t_fail("unknown optional record %s: cr-assemble exited %d: %s",
			       k ? "after the memory" : "before the memory", ret, errtext());
		kill(victim_pid, SIGTERM);
		if (!ru_wait_line(out, "PASS", 5000))
			t_fail("unknown optional record: the restored process did not pass");
		ru_wait_gone(victim_pid, 3000);
		for (int i = 0; i < 300 && kill(victim_pid, 0) == 0; i++)
			usleep(10000); /* reaped by init, slowly */
		truncate(out, 0);
		t_log("unknown optional record %s: skipped, restored", k ? "after the memory" : "before the memory");
	}

	/* and the good image still restores */
	ret = assemble(img, NULL);
	if (ret != 0)
		t_fail("the good image: cr-assemble exited %d: %s", ret, errtext());
	kill(victim_pid, SIGTERM);
	if (!ru_wait_line(out, "PASS", 5000))
		t_fail("the good image: the restored process did not pass");
	printf("PASS\n");
	return 0;
}
