/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * freeze-stage.h - a dump stage for the freeze and dump tests, built into
 * each test program: the test runs itself as a stage.
 *   cr-freeze ... PID TEST --fz-stage [--inside] COUNTER-FILE HOLD-MS [NEXT-STAGE...]
 * Takes the freeze over, checks for HOLD-MS that the victim's counter (u64
 * at offset 0 of COUNTER-FILE, "-" for none) does not move, writes the
 * frozen value to COUNTER-FILE.frozen, then execs NEXT-STAGE or ends the
 * dump as cr-freeze was told.  --inside: also runs the inside stage
 * (SIGACTIONS, PROC_MISC, FILES), as cr-parasite's stage mode does.
 * Exit 1 if the counter moved while frozen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <crcore.h>
#include <crimg.h>

#ifndef FREEZE_STAGE_H
#define FREEZE_STAGE_H

static inline uint64_t fz_counter(const char *path)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (pread(fd, &v, sizeof(v), 0) != sizeof(v))
			v = 0;
		close(fd);
	}
	return v;
}

/* Call first thing in main: runs the stage and exits if argv[1] is
 * --fz-stage, else returns. */
static inline void fz_stage_main(int argc, char **argv)
{
	int i = 2, inside = 0, r;
	const char *cnt;
	long hold;
	char err[512] = "";

	if (argc < 2 || strcmp(argv[1], "--fz-stage"))
		return;
	if (i < argc && !strcmp(argv[i], "--inside"))
		inside = 1, i++;
	if (argc - i < 2) {
		fprintf(stderr, "fz-stage: usage: fz-stage [--inside] COUNTER-FILE HOLD-MS [NEXT...]\n");
		exit(2);
	}
	cnt = argv[i++];
	hold = atol(argv[i++]);
	if (strcmp(cnt, "-")) {
		uint64_t a = fz_counter(cnt), b;
		struct timespec ts = { hold / 1000, (hold % 1000) * 1000000L };
		char path[4096];
		FILE *f;

		nanosleep(&ts, NULL);
		b = fz_counter(cnt);
		if (a != b) {
			fprintf(stderr, "fz-stage: the counter moved while frozen: %llu -> %llu\n",
				(unsigned long long)a, (unsigned long long)b);
			exit(1);
		}
		snprintf(path, sizeof(path), "%s.frozen", cnt);
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "%llu\n", (unsigned long long)b);
			fclose(f);
		}
	}
	if (inside) {
		LIBCRCORE_OPTS(crcore_stage_opts, o, .err = err, .errlen = sizeof(err));

		r = crcore_dump_stage(CRCORE_STAGE_INSIDE, argv + i, &o);
		if (r < 0) {
			fprintf(stderr, "fz-stage: %s\n", err);
			exit(1);
		}
		exit(0);
	}
	/* Pass the freeze and the stream on untouched. */
	{
		LIBCRCORE_OPTS(crcore_dump_opts, o, .err = err, .errlen = sizeof(err));
		struct crcore_dump *d;
		struct crimg_writer *w;

		r = crcore_dump__adopt(&o, &d);
		if (r < 0) {
			fprintf(stderr, "fz-stage: %s\n", err);
			exit(1);
		}
		r = crimg_writer__resume(STDOUT_FILENO, getenv(CRIMG_STATE_ENV), NULL, &w);
		if (r < 0) {
			fprintf(stderr, "fz-stage: resume: %s\n", strerror(-r));
			crcore_dump__free(d);
			exit(1);
		}
		if (i < argc) {
			r = crcore_dump__exec_next(d, w, argv + i);
			fprintf(stderr, "fz-stage: %s\n", crcore_dump__errmsg(d));
			crimg_writer__free(w);
			crcore_dump__free(d);
			exit(1);
		}
		r = crimg_writer__finish(w);
		crimg_writer__free(w);
		if (r < 0) {
			crcore_dump__free(d);
			exit(1);
		}
		r = crcore_dump__end(d, crcore_dump__end_mode(d));
		exit(r < 0 ? 1 : 0);
	}
}
#endif
