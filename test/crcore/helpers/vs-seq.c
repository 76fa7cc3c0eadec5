/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-seq - the two ends of a shell pipeline, for share-pipe:
 *
 *   vs-seq produce                 numbered lines 1, 2, 3... on stdout,
 *                                  as fast as the pipe takes them
 *   vs-seq consume STATE           reads them on stdin, more slowly (so
 *                                  the pipe stays full), and checks that
 *                                  each is the one after the last: a byte
 *                                  lost or written twice breaks it
 *
 * The consumer writes "N" (the last number read) to STATE every 2000
 * lines (by rename, so a reader never sees half a file), "FAIL ..." and
 * exits 1 at the first line out of order, "EOF N" at end of input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void say(const char *state, const char *fmt, unsigned long a, unsigned long b)
{
	char tmp[4200], buf[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", state);
	snprintf(buf, sizeof(buf), fmt, a, b);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(buf, f);
	fclose(f);
	rename(tmp, state);
}

static int produce(void)
{
	char buf[4096];
	unsigned long n = 0;

	for (;;) {
		size_t len = 0, off = 0;

		while (len < sizeof(buf) - 32)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%lu\n", ++n);
		while (off < len) {
			ssize_t w = write(1, buf + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno == EPIPE ? 0 : 1;
			off += (size_t)w;
		}
	}
}

static int consume(const char *state)
{
	char buf[8192], line[64];
	size_t ll = 0;
	unsigned long last = 0, lines = 0;
	struct timespec nap = { 0, 300000 };

	say(state, "%lu\n", 0, 0);
	for (;;) {
		ssize_t r = read(0, buf, 512);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			say(state, "FAIL read error after %lu%.0lu\n", last, 0);
			return 1;
		}
		if (r == 0) {
			say(state, "EOF %lu%.0lu\n", last, 0);
			return 0;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll + 1 >= sizeof(line)) {
					say(state, "FAIL a line too long after %lu%.0lu\n", last, 0);
					return 1;
				}
				line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			if (strtoul(line, NULL, 10) != last + 1) {
				say(state, "FAIL expected %lu, got %lu\n", last + 1, strtoul(line, NULL, 10));
				return 1;
			}
			last++;
			if (++lines % 2000 == 0)
				say(state, "%lu\n%.0lu", last, 0);
		}
		nanosleep(&nap, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "produce"))
		return produce();
	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(argv[2]);
	fprintf(stderr, "usage: vs-seq produce | vs-seq consume STATE\n");
	return 100;
}
