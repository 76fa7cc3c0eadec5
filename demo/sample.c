/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The demo's sample program.  Every tick it writes one page of an 8 MiB
 * buffer with a value derived from the tick, checks the whole buffer
 * against what it must hold, and reports to the file given as argument
 * (or stdout).  After a restore it simply continues: the count goes on
 * from where it was frozen and the memory still checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define NPAGES 2048u

static int memory_intact(const uint8_t *mem, unsigned long tick)
{
	for (unsigned long p = 0; p < NPAGES; p++) {
		/* the last tick <= tick that wrote page p, if any */
		uint8_t want = 0;

		if ((p ? p : NPAGES) <= tick) {
			unsigned long last = tick - ((tick - p) % NPAGES);

			want = (uint8_t)(last * 7 + 1);
		}
		for (unsigned i = 0; i < PAGE; i++)
			if (mem[p * PAGE + i] != want)
				return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	FILE *out = stdout;
	uint8_t *mem = calloc(NPAGES, PAGE);

	if (argc > 1 && !(out = fopen(argv[1], "a"))) {
		perror(argv[1]);
		return 1;
	}
	if (!mem)
		return 1;
	setvbuf(out, NULL, _IOLBF, 0);
	for (unsigned long tick = 1;; tick++) {
		uint8_t *page = mem + (tick % NPAGES) * PAGE;

		for (unsigned i = 0; i < PAGE; i++)
			page[i] = (uint8_t)(tick * 7 + 1);
		fprintf(out, "sample %d: tick %lu, memory %s\n", (int)getpid(), tick,
			memory_intact(mem, tick) ? "intact" : "CORRUPTED");
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
	}
}
