/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-tcp: take a live TCP connection out of a running process into an image
 * stream, and give it back to a program (exec) or to a running process
 * (SCM_RIGHTS over a unix socket).  See cr-tcp(1).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <compel.h>
#include <crimg.h>
#include <soccr.h>

#include "tool.h"

#define MAX_CONNS 250  /* what one SCM_RIGHTS message carries */

static void usage(void)
{
	printf("usage: cr-tcp save -p PID -f FD [-o FILE] [--detach | --close] [-v]\n"
	       "       cr-tcp lock -p PID -f FD [-p PID -f FD]... -- COMMAND [ARG...]\n"
	       "       cr-tcp restore [--fd N] [-i FILE] [-v] -- PROGRAM [ARG...]\n"
	       "       cr-tcp restore --send-to UNIX-SOCKET-PATH [-i FILE] [-v]\n"
	       "\n"
	       "save     writes the TCP connection (or listening socket) on fd FD of\n"
	       "         process PID to stdout; the socket stays frozen in that process\n"
	       "lock     runs COMMAND while the connections are locked (nftables)\n"
	       "restore  recreates the connections of the stream and execs PROGRAM with\n"
	       "         them on fd N (default 3), N+1, ... or sends them over a unix socket\n"
	       "\nexit status: 0 ok, 1 failed, 2 usage, 3 no privilege, 4 unsupported,\n"
	       "5 bad image, 6 no such process or fd; see cr-tcp(1)\n");
}

static int errcode(int err)
{
	err = err < 0 ? -err : err;
	if (err == ENOTSOCK || err == EPROTONOSUPPORT)
		return CR_EX_UNSUPPORTED;
	return tool_exit_code(err);
}

/* Duplicates fd FD of process PID into this process. */
static int take_fd(long pid, long fd)
{
	int pidfd, sk, r;

	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		r = errno;
		tool_die(r == ESRCH ? CR_EX_NOTFOUND : errcode(r), "no such process %ld%s%s", pid,
			 r == ESRCH ? "" : ": ", r == ESRCH ? "" : strerror(r));
	}
	sk = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (sk < 0) {
		r = errno;
		if (r == EBADF)
			tool_die(CR_EX_NOTFOUND, "process %ld has no fd %ld", pid, fd);
		tool_die(errcode(r), "cannot take fd %ld of process %ld: %s%s", fd, pid, strerror(r),
			 r == EPERM ? " (ptrace access to the process is needed)" : "");
	}
	close(pidfd);
	return sk;
}

/* ---- lock ---------------------------------------------------------------- */

static int cmd_lock(int argc, char **argv)
{
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = tool_lib_log);
	struct soccr_netlock *lk;
	long pid = -1, pids[MAX_CONNS], fds[MAX_CONNS];
	int c, r, st, n = 0, i;
	pid_t child;

	while ((c = getopt(argc, argv, "+p:f:vh")) != -1) {
		switch (c) {
		case 'p':
			pid = tool_parse_long(optarg);
			if (pid <= 0)
				tool_usage_error("bad pid '%s'", optarg);
			break;
		case 'f':
			if (n == MAX_CONNS)
				tool_usage_error("too many connections");
			fds[n] = tool_parse_long(optarg);
			pids[n] = pid;
			if (fds[n] < 0 || pid < 0)
				tool_usage_error("-f FD needs a valid fd after -p PID");
			n++;
			break;
		case 'v': tool_verbose++; break;
		case 'h': usage(); return 0;
		default: tool_usage_error("bad option");
		}
	}
	if (!n || optind == argc)
		tool_usage_error("lock needs -p PID -f FD and -- COMMAND");
	r = soccr_netlock__new(&lo, &lk);
	if (r < 0)
		tool_die(r == -EPERM ? CR_EX_PERM : CR_EX_FAIL, "cannot create the network lock: %s",
			 r == -ENOSYS ? "libnftables is not installed" : strerror(-r));
	for (i = 0; i < n; i++) {
		int sk = take_fd(pids[i], fds[i]);

		r = soccr_netlock__add_fd(lk, sk);
		if (r == -ENOTCONN || r == -ENOTSOCK || r == -EAFNOSUPPORT || r == -EOPNOTSUPP)
			tool_die(CR_EX_UNSUPPORTED, "fd %ld of process %ld is not a TCP connection or listener",
				 fds[i], pids[i]);
		if (r < 0)
			tool_die(errcode(r), "cannot lock fd %ld of process %ld: %s", fds[i], pids[i], strerror(-r));
		close(sk);
	}
	tool_debug("%u connection(s) locked", soccr_netlock__count(lk));
	child = fork();
	if (child < 0)
		tool_die(CR_EX_FAIL, "fork: %s", strerror(errno));
	if (child == 0) {
		execvp(argv[optind], argv + optind);
		tool_msg("cannot run %s: %s", argv[optind], strerror(errno));
		_exit(errno == ENOENT ? CR_EX_NOTFOUND : CR_EX_FAIL);
	}
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			tool_die(CR_EX_FAIL, "waitpid: %s", strerror(errno));
	r = soccr_netlock__release(lk);
	soccr_netlock__free(lk);
	if (r < 0)
		tool_msg("cannot release the lock cleanly: %s (it goes away with this process)", strerror(-r));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	tool_msg("%s was killed by signal %d", argv[optind], WTERMSIG(st));
	return CR_EX_FAIL;
}

/* Unhashes the saved socket silently (it is in repair mode: no FIN, no
 * RST), so that the same network namespace can take the connection; a
 * listener is closed the same way and frees its port. */
static int detach_sk(int sk, const struct soccr_tcp *t, long pid)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (soccr_tcp__state(t) != SOCCR_LISTEN && connect(sk, &sa, sizeof(sa)) < 0) {
		tool_msg("cannot detach the socket in process %ld: %s", pid, strerror(errno));
		return -errno;
	}
	if (soccr_tcp__state(t) == SOCCR_LISTEN && shutdown(sk, SHUT_RDWR) < 0) {
		tool_msg("cannot stop the listener in process %ld: %s", pid, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Closes fd in process pid with a system call run inside it (libcompel,
 * loaded at run time so that cr-tcp does not depend on it otherwise).
 * The process does not notice the seize; its fd is simply gone.
 */
static int remote_close(long pid, long fd)
{
	int (*seize)(pid_t, const struct compel_seize_opts *, struct compel_proc **);
	int (*release)(struct compel_proc *, uint32_t);
	struct compel_thread *(*leader)(struct compel_proc *);
	int (*rsys)(struct compel_thread *, int64_t *, long, const uint64_t[6]);
	uint64_t args[6] = { (uint64_t)fd };
	struct compel_proc *p;
	int64_t ret = 0;
	void *h;
	int r;

	h = dlopen("libcompel.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		tool_msg("--close needs libcompel: %s", dlerror());
		return -ENOSYS;
	}
	*(void **)&seize = dlsym(h, "compel_proc_seize");
	*(void **)&release = dlsym(h, "compel_proc_release");
	*(void **)&leader = dlsym(h, "compel_proc__leader");
	*(void **)&rsys = dlsym(h, "compel_remote_syscall");
	if (!seize || !release || !leader || !rsys) {
		tool_msg("--close: libcompel lacks the remote system call interface");
		dlclose(h);
		return -ENOSYS;
	}
	r = seize((pid_t)pid, NULL, &p);
	if (r < 0) {
		tool_msg("cannot seize process %ld to close fd %ld: %s", pid, fd, strerror(-r));
		dlclose(h);
		return r;
	}
	r = rsys(leader(p), &ret, SYS_close, args);
	release(p, 0);
	dlclose(h);
	if (r < 0 || ret < 0) {
		tool_msg("cannot close fd %ld in process %ld: %s", fd, pid, strerror(r < 0 ? -r : (int)-ret));
		return r < 0 ? r : (int)ret;
	}
	return 0;
}

/* ---- save ---------------------------------------------------------------- */

static int cmd_save(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' }, { "fd", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' }, { "detach", no_argument, NULL, 'd' },
		{ "close", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	long pid = -1, fd = -1;
	const char *out = NULL;
	int c, detach = 0, closeit = 0, sk, ofd = STDOUT_FILENO, r, detached_fail = 0;
	struct soccr_tcp *t;
	struct crimg_writer *w;
	char d[160];

	while ((c = getopt_long(argc, argv, "p:f:o:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'p': pid = tool_parse_long(optarg); if (pid <= 0) tool_usage_error("bad pid '%s'", optarg); break;
		case 'f': fd = tool_parse_long(optarg); if (fd < 0) tool_usage_error("bad fd '%s'", optarg); break;
		case 'o': out = optarg; break;
		case 'd': detach = 1; break;
		case 'c': closeit = 1; break;
		case 'v': tool_verbose++; break;
		case 'h': usage(); return 0;
		default: tool_usage_error("bad option");
		}
	}
	if (pid < 0 || fd < 0)
		tool_usage_error("save needs -p PID and -f FD");
	if (optind != argc)
		tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (detach && closeit)
		tool_usage_error("--close already detaches");
	if (!out && isatty(STDOUT_FILENO))
		tool_usage_error("the image would go to a terminal: redirect stdout or use -o FILE");

	sk = take_fd(pid, fd);

	LIBSOCCR_OPTS(soccr_save_opts, so, .log = tool_lib_log);
	r = soccr_save(sk, &so, &t);
	if (r < 0) {
		if (r == -ENOTSOCK || r == -EPROTONOSUPPORT)
			tool_die(CR_EX_UNSUPPORTED, "fd %ld of process %ld is not a TCP socket", fd, pid);
		if (r == -EPERM)
			tool_die(CR_EX_PERM, "cannot save fd %ld of process %ld: CAP_NET_ADMIN is needed", fd, pid);
		tool_die(errcode(r), "cannot save fd %ld of process %ld: %s", fd, pid, strerror(-r));
	}
	tool_debug("saved %s", soccr_tcp__describe(t, d, sizeof(d)));

	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (ofd < 0)
			tool_die(CR_EX_FAIL, "cannot create %s: %s", out, strerror(errno));
	}
	LIBCRIMG_OPTS(crimg_writer_opts, wo, .producer = "cr-tcp", .log = tool_lib_log);
	r = crimg_writer__new(ofd, &wo, &w);
	if (r >= 0) {
		r = soccr_tcp__write(t, w);
		/* --close: the fd goes away in the source process (our
		 * duplicate keeps the socket until it is detached below). */
		if (r >= 0 && closeit) {
			r = remote_close(pid, fd);
			if (r < 0)
				detached_fail = 1;
			else
				detach = 1;
		}
		/* --detach: between the records and the trailer, so that a
		 * reader (which restores only after the trailer) never meets
		 * the old socket in this namespace, and a failed detach leaves
		 * a stream without a trailer, which restores nothing. */
		if (r >= 0 && detach) {
			r = detach_sk(sk, t, pid);
			if (r < 0)
				detached_fail = 1;
		}
		if (r >= 0)
			r = crimg_writer__finish(w);
		if (r < 0 && !detached_fail)
			tool_msg("cannot write the image: %s", *crimg_writer__errmsg(w) ? crimg_writer__errmsg(w)
										 : strerror(-r));
		crimg_writer__free(w);
	} else {
		tool_msg("cannot write the image: %s", strerror(-r));
	}
	if (r < 0) {
		/* The connection goes on where it was: nothing was handed over
		 * (unless it was detached already: then it is lost). */
		soccr_resume(sk);
		soccr_tcp__free(t);
		return CR_EX_FAIL;
	}
	close(sk);
	soccr_tcp__free(t);
	return 0;
}

/* ---- restore ------------------------------------------------------------- */

/* Reads the whole stream first (a truncated or corrupted one restores
 * nothing), then restores every connection in it. */
static int restore_all(const char *in, int *fds, unsigned *n)
{
	struct soccr_tcp *ts[MAX_CONNS];
	unsigned nt = 0, want = 0, i;
	struct crimg_reader *r;
	const struct crimg_record *rec;
	int ifd = STDIN_FILENO, ret;
	char d[160];

	*n = 0;
	if (in) {
		ifd = open(in, O_RDONLY | O_CLOEXEC);
		if (ifd < 0)
			tool_die(errno == ENOENT ? CR_EX_NOTFOUND : CR_EX_FAIL, "cannot open %s: %s", in,
				 strerror(errno));
	}
	LIBCRIMG_OPTS(crimg_reader_opts, ro, .log = tool_lib_log);
	ret = crimg_reader__new(ifd, &ro, &r);
	if (ret < 0)
		tool_die(errcode(ret), "cannot read the image: %s", strerror(-ret));
	while ((ret = crimg_reader__next(r, &rec)) > 0) {
		if (rec->type != CRIMG_T_TCP_CONN && rec->type != CRIMG_T_TCP_LISTEN) {
			ret = crimg_reader__skip_unknown(r);
			if (ret < 0)
				break;
			continue;
		}
		if (nt == MAX_CONNS)
			tool_die(CR_EX_UNSUPPORTED, "more than %d connections in one image", MAX_CONNS);
		LIBSOCCR_OPTS(soccr_read_opts, rdo, .log = tool_lib_log);
		ret = soccr_tcp__read(r, rec, &rdo, &ts[nt]);
		if (ret < 0)
			tool_die(errcode(ret), "bad TCP record in the image: %s", strerror(-ret));
		want += 1 + soccr_tcp__nr_children(ts[nt]);
		nt++;
		if (want > MAX_CONNS)
			tool_die(CR_EX_UNSUPPORTED, "more than %d connections in one image", MAX_CONNS);
	}
	if (ret < 0)
		tool_die(errcode(ret), "bad image: %s", crimg_reader__errmsg(r));
	crimg_reader__free(r);
	if (in)
		close(ifd);
	if (!nt)
		tool_die(CR_EX_IMAGE, "no TCP connection in the image");

	for (i = 0; i < nt; i++) {
		const struct soccr_tcp *c;

		LIBSOCCR_OPTS(soccr_restore_opts, so, .log = tool_lib_log);
		ret = soccr_restore(ts[i], &so, &fds[*n]);
		if (ret < 0)
			tool_die(ret == -EPERM ? CR_EX_PERM : errcode(ret), "cannot restore %s: %s",
				 soccr_tcp__describe(ts[i], d, sizeof(d)), strerror(-ret));
		tool_debug("restored %s", soccr_tcp__describe(ts[i], d, sizeof(d)));
		(*n)++;
		soccr_tcp_for_each_child(ts[i], c) {
			ret = soccr_restore(c, &so, &fds[*n]);
			if (ret < 0)
				tool_die(errcode(ret), "cannot restore %s: %s", soccr_tcp__describe(c, d, sizeof(d)),
					 strerror(-ret));
			(*n)++;
		}
		soccr_tcp__free(ts[i]);
	}
	return 0;
}

/* Connects to the backend's unix socket (before anything is restored). */
static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sun.sun_path))
		tool_usage_error("unix socket path too long");
	strcpy(sun.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		tool_die(errno == ENOENT || errno == ECONNREFUSED ? CR_EX_NOTFOUND : CR_EX_FAIL,
			 "cannot connect to %s: %s", path, strerror(errno));
	return s;
}

static int send_to(int s, const char *path, const int *fds, unsigned n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_CONNS)];
	char line[32];
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;

	snprintf(line, sizeof(line), "cr-tcp %u\n", n);
	iov.iov_base = line;
	iov.iov_len = strlen(line);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	while (sendmsg(s, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			tool_die(CR_EX_FAIL, "cannot send the sockets to %s: %s", path, strerror(errno));
	}
	close(s);
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "fd", required_argument, NULL, 'n' }, { "input", required_argument, NULL, 'i' },
		{ "send-to", required_argument, NULL, 's' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *in = NULL, *to = NULL;
	long base = 3;
	int c, fds[MAX_CONNS], us = -1;
	unsigned n, i;
	char env[16];

	while ((c = getopt_long(argc, argv, "+n:i:s:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': base = tool_parse_long(optarg); if (base < 0 || base > 1000000) tool_usage_error("bad fd '%s'", optarg); break;
		case 'i': in = optarg; break;
		case 's': to = optarg; break;
		case 'v': tool_verbose++; break;
		case 'h': usage(); return 0;
		default: tool_usage_error("bad option");
		}
	}
	if (to && optind != argc)
		tool_usage_error("--send-to takes no program");
	if (!to && optind == argc)
		tool_usage_error("restore needs -- PROGRAM or --send-to PATH");
	if (to)
		us = connect_to(to);
	restore_all(in, fds, &n);
	if (to) {
		send_to(us, to, fds, n);
		return 0;
	}
	/* Move the sockets to base, base+1, ... without clobbering each other:
	 * first out of the way (above every target), then into place. */
	for (i = 0; i < n; i++) {
		int f = fcntl(fds[i], F_DUPFD_CLOEXEC, (int)base + (int)n);

		if (f < 0)
			tool_die(CR_EX_FAIL, "fcntl: %s", strerror(errno));
		close(fds[i]);
		fds[i] = f;
	}
	for (i = 0; i < n; i++) {
		if (dup2(fds[i], (int)base + (int)i) < 0)
			tool_die(CR_EX_FAIL, "dup2: %s", strerror(errno));
		close(fds[i]);
	}
	snprintf(env, sizeof(env), "%u", n);
	setenv("CR_TCP_FDS", env, 1);
	execvp(argv[optind], argv + optind);
	tool_die(errno == ENOENT ? CR_EX_NOTFOUND : CR_EX_FAIL, "cannot run %s: %s", argv[optind],
		 strerror(errno));
}

int main(int argc, char **argv)
{
	tool_init(argv[0]);
	if (argc < 2)
		tool_usage_error("a command is needed: save or restore");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage();
		return 0;
	}
	if (!strcmp(argv[1], "save"))
		return cmd_save(argc - 1, argv + 1);
	if (!strcmp(argv[1], "lock"))
		return cmd_lock(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cmd_restore(argc - 1, argv + 1);
	tool_usage_error("unknown command '%s'", argv[1]);
}
