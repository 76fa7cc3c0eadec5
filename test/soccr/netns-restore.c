/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soccr_restore with SOCCR_RESTORE_NETNS: a connection saved inside a
 * network namespace of the test's own (a child process with its client
 * there) is restored from outside it, into it; the thread comes back to
 * its own namespace, the socket stays in the child's, and both ends
 * check every byte.
 */
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "soccr-test.h"

#define N 200000

static void lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		t_fail("lo up: %s", strerror(errno));
	close(fd);
}

static ino_t ns_ino(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		t_fail("stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

int main(void)
{
	static uint8_t buf[N];
	int img = memfd_create("img", 0), sync1[2], sync2[2], st, nsfd, fd;
	ino_t mine = ns_ino("/proc/thread-self/ns/net");
	struct crimg_reader *r;
	const struct crimg_record *rec;
	struct soccr_tcp *t = NULL;
	char path[64], b;
	pid_t pid;
	int64_t bad;

	need_root();
	if (pipe(sync1) < 0 || pipe(sync2) < 0)
		t_fail("pipe");
	pid = fork();
	if (pid == 0) {
		struct crimg_writer *w;
		int c, s;

		close(sync1[0]);
		close(sync2[1]);
		if (unshare(CLONE_NEWNET) < 0)
			t_skip("unshare: %s", strerror(errno));
		lo_up();
		tcp_pair(AF_INET, &c, &s, 0);
		pat_fill(buf, 0, N, 7);
		t_assert(write_some(c, buf, N, 1000) == N);   /* queued in s */
		usleep(20000);
		t_ok(soccr_save(s, NULL, &t));
		t_ok(crimg_writer__new(img, NULL, &w));
		t_ok(soccr_tcp__write(t, w));
		t_ok(crimg_writer__finish(w));
		crimg_writer__free(w);
		close(s);
		(void)!write(sync1[1], "s", 1);
		/* the parent restores and sends its part */
		if (read(sync2[0], &b, 1) != 1)
			_exit(1);
		read_exact(c, buf, N, 5000);
		if (pat_check(buf, 0, N, 8) >= 0)
			t_fail("child: bad bytes from the restored socket");
		close(c);
		_exit(0);
	}
	close(sync1[1]);
	close(sync2[0]);
	if (read(sync1[0], &b, 1) != 1) {
		waitpid(pid, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	lseek(img, 0, SEEK_SET);
	t_ok(crimg_reader__new(img, NULL, &r));
	while (crimg_reader__next(r, &rec) > 0)
		if (rec->type == CRIMG_T_TCP_CONN)
			t_ok(soccr_tcp__read(r, rec, NULL, &t));
	crimg_reader__free(r);
	t_assert(t);

	LIBSOCCR_OPTS(soccr_restore_opts, ro, .log = st_log, .flags = SOCCR_RESTORE_NETNS, .netns_fd = nsfd);
	t_ok(soccr_restore(t, &ro, &fd));
	if (ns_ino("/proc/thread-self/ns/net") != mine)
		t_fail("the thread did not come back to its network namespace");
	read_exact(fd, buf, N, 3000);
	if ((bad = pat_check(buf, 0, N, 7)) >= 0)
		t_fail("restored socket: byte %lld wrong", (long long)bad);
	pat_fill(buf, 0, N, 8);
	t_assert(write_some(fd, buf, N, 2000) == N);
	(void)!write(sync2[1], "g", 1);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail("child failed");
	close(fd);
	soccr_tcp__free(t);
	printf("PASS\n");
	return 0;
}
