/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The freeze is invisible and holds across chain-loading: a victim (our
 * child, 4 threads in nanosleep/futex waits and a busy counter) is frozen
 * by cr-freeze --leave-running, handed through two exec'd stages that
 * check its counter does not move, then cr-dumpmm.  Afterwards: no
 * SIGCHLD and no stop/continue report reached us (its parent), it runs
 * on, and at SIGTERM it finds no EINTR and its memory intact.  The image
 * has every thread with the whole xsave area, the vDSO trio, and pages.
 */
#include "freeze-stage.h"
#include "freeze-util.h"

static volatile int chld_from_victim;
static volatile pid_t victim;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	if (si->si_pid == victim)
		chld_from_victim++;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	char *cnt, *vout, *img, *err;
	struct fz_image im;
	siginfo_t si;
	char pidbuf[16];
	int rc;

	fz_stage_main(argc, argv);
	cnt = fz_counter_file();
	vout = fz_path("victim.out");
	img = fz_path("img");
	err = fz_path("stages.err");
	sigaction(SIGCHLD, &sa, NULL);
	victim = fz_spawn((char *[]){ fz_helper("fz-counter"), cnt, "16", "3", NULL }, vout, -1);
	fz_wait_ready(cnt, victim);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)victim);
	rc = fz_run((char *[]){ "cr-freeze", "--leave-running", pidbuf, fz_self(), "--fz-stage", cnt,
				"150", fz_self(), "--fz-stage", cnt, "150", "cr-dumpmm", NULL },
		    img, err);
	if (rc != 0)
		t_fail("the dump failed (exit %d): %s", rc, fz_readfile(err));
	fz_check_runs(cnt, "after the dump");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, victim, &si, WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
		t_fail("the parent saw a job-control event (code %d)", si.si_code);
	if (chld_from_victim)
		t_fail("the parent got %d SIGCHLD from the victim", chld_from_victim);
	fz_image_read(img, &im);
	if (im.procs != 1 || im.threads != 4 || im.mms != 1)
		t_fail("image has %d PROC, %d THREAD, %d MM records", im.procs, im.threads, im.mms);
	if (!im.has_vdso || !im.has_vvar || !im.has_vvar_vclock)
		t_fail("the vDSO area is incomplete: vdso %d vvar %d vvar_vclock %d", im.has_vdso,
		       im.has_vvar, im.has_vvar_vclock);
	if (im.pages_bytes / 4096 != im.mm_pages)
		t_fail("MM says %llu pages, PAGES hold %llu", (unsigned long long)im.mm_pages,
		       (unsigned long long)(im.pages_bytes / 4096));
	if (im.mm_pages < 16 * 256)
		t_fail("only %llu pages: the victim's 16 MiB are missing", (unsigned long long)im.mm_pages);
	if (fz_cpu_has("avx512f") && im.xsave_len < 2432)
		t_fail("xsave area of %zu bytes: AVX-512 state is missing", im.xsave_len);
	if (im.xsave_len < 576)
		t_fail("xsave area of %zu bytes", im.xsave_len);
	fz_finish_victim(victim, vout);
	if (chld_from_victim != 1)
		t_fail("the parent got %d SIGCHLD (only the exit expected)", chld_from_victim);
	return T_PASS;
}
