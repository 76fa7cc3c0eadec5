/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A dump stage killed at any moment leaves the victim running unharmed:
 * the stage pipeline (cr-freeze, an exec'd checking stage, cr-parasite's
 * inside stage, cr-dumpmm) writes into a pipe that nobody reads, and is
 * SIGKILLed after various delays, many times over the same victim.  After
 * each kill the victim runs; at the end it checks itself (memory pattern,
 * no EINTR) and must show no leftover of ours (extra fds, mappings).
 * Any harm fails the test.
 *
 *   freeze-killed              --leave-running: pages are copied
 *   freeze-killed zerocopy     kill mode: the victim vmsplices its own
 *                              pages (remote system calls all along)
 */
#include "freeze-stage.h"
#include "freeze-util.h"

/* A victim harmed by a killed stage fails the test. */
static void harmed(const char *what)
{
	t_fail("%s", what);
}

static int count_fds(pid_t p)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p);
	d = opendir(path);
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int count_maps(pid_t p)
{
	char path[64];
	char *s;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p);
	s = fz_readfile(path);
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int main(int argc, char **argv)
{
	static const int delays[] = { 0, 1, 2, 4, 7, 12, 20, 35, 60 };
	char *cnt, *vout, *err;
	char pidbuf[16];
	pid_t victim;
	int fds0, maps0;

	fz_stage_main(argc, argv);
	cnt = fz_counter_file();
	vout = fz_path("victim.out");
	err = fz_path("stages.err");
	victim = fz_spawn((char *[]){ fz_helper("fz-counter"), cnt, "64", "2", NULL }, vout, -1);
	fz_wait_ready(cnt, victim);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)victim);
	fds0 = count_fds(victim);
	maps0 = count_maps(victim);
	int zc = argc > 1 && !strcmp(argv[1], "zerocopy");

	for (int mode = zc ? 0 : 1; mode < (zc ? 1 : 2); mode++) {
		for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
			int p[2];
			pid_t st;
			int rc;

			if (pipe(p) < 0)
				t_fail("pipe");
			/* mode 0: killed at the end (zero-copy pages), mode 1:
			 * --leave-running (copied pages) */
			st = fz_spawn(mode == 0 ?
				      (char *[]){ "cr-freeze", pidbuf, fz_self(), "--fz-stage", "-", "3",
						  "cr-parasite", "cr-dumpmm", NULL } :
				      (char *[]){ "cr-freeze", "--leave-running", pidbuf, fz_self(),
						  "--fz-stage", "-", "3", "cr-parasite", "cr-dumpmm", NULL },
				      err, p[1]);
			close(p[1]);
			fz_sleep_ms(delays[i]);
			kill(st, SIGKILL);
			rc = fz_wait(st);
			close(p[0]);
			if (rc == 0)
				t_fail("the dump completed (it never blocks on a full pipe?)");
			fz_sleep_ms(2);
			{
				int vst;

				if (waitpid(victim, &vst, WNOHANG) == victim) {
					char w[160];

					snprintf(w, sizeof(w), "the victim died (status %#x) after a stage was killed at %d ms",
						 vst, delays[i]);
					harmed(w);
				}
			}
			{
				char when[128], path[64];

				snprintf(path, sizeof(path), "/proc/%d/status", (int)victim);
				snprintf(when, sizeof(when), "after a stage was killed at %d ms (mode %d)",
					 delays[i], mode);
				uint64_t a = fz_read_u64(cnt, 0);
				int k;

				for (k = 0; k < 100 && fz_read_u64(cnt, 0) == a; k++)
					fz_sleep_ms(5);
				if (k == 100) {
					char w[300];

					snprintf(w, sizeof(w), "the victim does not run %s (state %.40s)", when,
						 strstr(fz_readfile(path), "State:") ?: "?");
					harmed(w);
				}
			}
		}
	}
	fz_sleep_ms(20);
	if (count_fds(victim) != fds0) {
		char w[160];

		snprintf(w, sizeof(w), "the victim has %d fds, had %d: a stage left one behind",
			 count_fds(victim), fds0);
		harmed(w);
	}
	if (count_maps(victim) != maps0) {
		char w[160];

		snprintf(w, sizeof(w), "the victim has %d mappings, had %d: a stage left one behind",
			 count_maps(victim), maps0);
		harmed(w);
	}
	{
		int rc;

		kill(victim, SIGTERM);
		rc = fz_wait(victim);
		if (rc != 0 && strstr(fz_readfile(vout), "EINTR")) {
			char w[300];

			snprintf(w, sizeof(w), "after a stage was killed, the victim says: %.200s",
				 fz_readfile(vout));
			if (strchr(w, '\n'))
				*strchr(w, '\n') = 0;
			harmed(w);
		}
		if (rc != 0 || !strstr(fz_readfile(vout), "PASS"))
			t_fail("the victim failed its own checks (exit %d): %s", rc, fz_readfile(vout));
	}
	return T_PASS;
}
