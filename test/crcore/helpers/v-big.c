/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v-big OUTFILE MIB - holds MIB MiB of written anonymous memory (a pattern
 * per page); READY, then after SIGTERM checks a page in every 64 and
 * writes PASS or FAIL.  For the restore benchmark and tests (0 MiB: a
 * tiny process).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;

static void on_term(int s)
{
	(void)s;
	got_term = 1;
}

int main(int argc, char **argv)
{
	struct sigaction st = { .sa_handler = on_term };
	size_t len, pages;
	uint64_t *m = NULL;
	int out, ok = 1;

	if (argc < 3)
		return 2;
	out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	len = (size_t)atol(argv[2]) << 20;
	pages = len / 4096;
	if (len) {
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 2;
		for (size_t p = 0; p < pages; p++)
			for (size_t i = 0; i < 512; i += 8)
				m[p * 512 + i] = p * 1000003 + i;
	}
	sigaction(SIGTERM, &st, NULL);
	(void)!write(out, "READY\n", 6);
	while (!got_term)
		pause();
	for (size_t p = 0; p < pages; p += 64)
		if (m[p * 512 + 8] != p * 1000003 + 8)
			ok = 0;
	(void)!write(out, ok ? "PASS\n" : "FAIL: memory\n", ok ? 5 : 13);
	return !ok;
}
