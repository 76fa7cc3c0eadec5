/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-files OUTFILE DIR - a victim for open files: a file at an offset, one
 * opened O_APPEND, a file deleted while open (its contents must travel in
 * the image), /dev/null at fd 20, a directory, a close-on-exec flag.
 * READY, then after SIGTERM PASS or FAIL lines, to OUTFILE.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSZ (300u << 10)

static volatile sig_atomic_t got_term;
static int out, fails;

static void on_term(int s)
{
	(void)s;
	got_term = 1;
}

static void bad(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "FAIL: %s\n", what);

	(void)!write(out, buf, (size_t)n);
	fails++;
}

int main(int argc, char **argv)
{
	struct sigaction st = { .sa_handler = on_term };
	char path[4096], buf[64];
	static char data[DSZ], back[DSZ];
	int reg, app, del, dir, nul;
	struct stat sb;

	if (argc < 3)
		return 2;
	out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (out < 0)
		return 2;
	sigaction(SIGTERM, &st, NULL);
	for (unsigned i = 0; i < DSZ; i++)
		data[i] = (char)(i * 7 + i / 4096);
	snprintf(path, sizeof(path), "%s/reg", argv[2]);
	reg = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	(void)!write(reg, data, 10000);
	lseek(reg, 1234, SEEK_SET);
	snprintf(path, sizeof(path), "%s/app", argv[2]);
	app = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	(void)!write(app, "one\n", 4);
	snprintf(path, sizeof(path), "%s/deleted", argv[2]);
	del = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	(void)!write(del, data, DSZ);
	lseek(del, 50, SEEK_SET);
	unlink(path);
	dir = open(argv[2], O_RDONLY | O_DIRECTORY);
	nul = open("/dev/null", O_WRONLY);
	dup2(nul, 20);
	close(nul);

	(void)!write(out, "READY\n", 6);
	while (!got_term)
		pause();

	if (lseek(reg, 0, SEEK_CUR) != 1234)
		bad("offset of the regular file");
	if (pread(reg, buf, 16, 1234) != 16 || memcmp(buf, data + 1234, 16))
		bad("contents of the regular file");
	if (!(fcntl(app, F_GETFL) & O_APPEND) || !(fcntl(app, F_GETFD) & FD_CLOEXEC))
		bad("O_APPEND or FD_CLOEXEC lost");
	if (fcntl(reg, F_GETFD) & FD_CLOEXEC)
		bad("FD_CLOEXEC appeared");
	(void)!write(app, "two\n", 4);
	if (fstat(app, &sb) < 0 || sb.st_size != 8)
		bad("append went elsewhere");
	if (lseek(del, 0, SEEK_CUR) != 50)
		bad("offset of the deleted file");
	if (fstat(del, &sb) < 0 || sb.st_nlink != 0 || sb.st_size != DSZ)
		bad("the deleted file is not deleted or has another size");
	if (pread(del, back, DSZ, 0) != DSZ || memcmp(back, data, DSZ))
		bad("contents of the deleted file");
	if (fstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		bad("the directory fd");
	if (write(20, "x", 1) != 1 || fstat(20, &sb) < 0 || !S_ISCHR(sb.st_mode))
		bad("/dev/null at fd 20");
	if (!fails)
		(void)!write(out, "PASS\n", 5);
	return fails ? 1 : 0;
}
