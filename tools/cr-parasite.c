/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-parasite - run something inside a live process without it noticing.
 *
 *   cr-parasite [-t TID] -p PID syscall NAME [ARG...]
 *   cr-parasite -p PID redirect FD FILE
 *   cr-parasite -p PID load LIB.so
 *   cr-parasite -p PID call LIB.so SYMBOL [ARG...]
 *   cr-parasite -p PID run BLOB [ENTRY] [ARG...]
 *   cr-freeze PID cr-parasite [NEXT-STAGE...]     (the dump stage)
 *
 * Without -p, cr-parasite is the "inside" stage of a dump pipeline; that
 * mode is libcrcore's (crcore_dump_stage), loaded at run time so that this
 * tool needs only libcompel otherwise.  See cr-parasite(1).
 */
#include <ctype.h>
#include <elf.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include <compel.h>
#include <crcore.h>

#include "tool.h"

static const struct sysname {
	const char *name;
	long nr;
} sysnames[] = {
#include "compel-sysnames.h"
};

static pid_t opt_pid, opt_tid;

static long sys_by_name(const char *name)
{
	char *end;
	long n;
	size_t i;

	for (i = 0; i < sizeof(sysnames) / sizeof(sysnames[0]); i++)
		if (!strcmp(sysnames[i].name, name))
			return sysnames[i].nr;
	n = strtol(name, &end, 0);
	if (*name && !*end && n >= 0)
		return n;
	return -1;
}

/* A number (decimal, 0x hex, 0 octal, negative), or -1 if a string. */
static int parse_num(const char *s, uint64_t *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 0);
	if (*s && !*end && !errno) {
		*v = (uint64_t)n;
		return 0;
	}
	return -1;
}

/* Says why a process cannot be handled, before touching it. */
static void check_target(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long flags = 0;
	char state = 0;
	ssize_t n;
	int fd, i;

	if (pid == getpid())
		tool_die(CR_EX_UNSUPPORTED, "%d is cr-parasite itself", pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		tool_die(CR_EX_NOTFOUND, "no such process: %d", pid);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		tool_die(CR_EX_NOTFOUND, "no such process: %d", pid);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (p && p[1] == ' ') {
		state = p[2];
		/* field 9 (flags) is the 7th after the state */
		for (p += 2, i = 0; p && i < 6; i++)
			p = strchr(p + 1, ' ');
		if (p)
			flags = strtoul(p + 1, NULL, 10);
	}
	if (state == 'Z' || state == 'X')
		tool_die(CR_EX_UNSUPPORTED, "process %d is a zombie: nothing runs there", pid);
	if (flags & 0x00200000) /* PF_KTHREAD */
		tool_die(CR_EX_UNSUPPORTED, "%d is a kernel thread: no user space to run in", pid);
}

static struct compel_proc *seize(pid_t pid)
{
	struct compel_proc *p;
	int err;

	check_target(pid);
	err = compel_proc_seize(pid, NULL, &p);
	if (err == -EPERM)
		tool_die(CR_EX_PERM,
			 "cannot trace %d: permission denied (ptrace needs CAP_SYS_PTRACE, or the "
			 "same user with kernel.yama.ptrace_scope=0)", pid);
	if (err == -EBUSY)
		tool_die(CR_EX_UNSUPPORTED, "%d is already traced by another process", pid);
	if (err == -ESRCH)
		tool_die(CR_EX_NOTFOUND, "no such process: %d (or it is exiting)", pid);
	if (err == -EDEADLK)
		tool_die(CR_EX_UNSUPPORTED, "%d is cr-parasite itself", pid);
	if (err < 0)
		tool_die(tool_exit_code(err), "cannot seize %d: %s", pid, strerror(-err));
	return p;
}

static struct compel_thread *thread_of(struct compel_proc *p)
{
	struct compel_thread *t = opt_tid ? compel_proc__find_thread(p, opt_tid)
					  : compel_proc__leader(p);

	if (!t || compel_thread__state(t) == COMPEL_TASK_ZOMBIE)
		tool_die(CR_EX_NOTFOUND, "no live thread %d in process %d", opt_tid ? opt_tid : opt_pid,
			 opt_pid);
	return t;
}

static void release(struct compel_proc *p)
{
	int err = compel_proc_release(p, 0);

	if (err < 0)
		tool_die(tool_exit_code(err), "cannot release %d: %s", opt_pid, strerror(-err));
}

static int report(const char *what, int64_t r)
{
	printf("%lld\n", (long long)r);
	if (r < 0 && r > -4096) {
		tool_msg("%s: %s", what, strerror((int)-r));
		return CR_EX_FAIL;
	}
	return CR_EX_OK;
}

/* ---- scratch memory for arguments ------------------------------------ */
/* On the thread's own stack, 16 KiB below its stack pointer (below
 * libcompel's way home; the ABI leaves it free), inside the same mapping,
 * its bytes saved and put back: nothing is mapped, so a cr-parasite
 * killed meanwhile leaves nothing behind.  Else a mapping. */
struct scratch {
	uint64_t addr;
	size_t len;
	void *save;
};

static int stack_room(pid_t pid, uint64_t lo, uint64_t hi)
{
	char path[64], line[512];
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && start <= lo &&
		    end >= hi && perms[0] == 'r' && perms[1] == 'w')
			ok = 1;
	}
	if (f)
		fclose(f);
	return ok;
}

static void scratch_get(struct compel_proc *p, struct compel_thread *t, size_t len,
			struct scratch *s)
{
	int err;
#ifdef __x86_64__
	struct user_regs_struct r;

	s->len = (len + 63) & ~(size_t)63;
	if (compel_thread__get_regset(t, NT_PRSTATUS, &r, sizeof(r)) >= 0) {
		s->addr = (r.rsp - 16384 - s->len) & ~63ull;
		s->save = malloc(s->len);
		if (s->save && stack_room(opt_pid, s->addr, r.rsp) &&
		    compel_proc__read_mem(p, s->addr, s->save, s->len) == (ssize_t)s->len) {
			if (tool_verbose)
				tool_msg("arguments on the stack of %d at %#llx", compel_thread__tid(t),
					 (unsigned long long)s->addr);
			return;
		}
		free(s->save);
	}
#endif
	s->save = NULL;
	s->len = (len + 4095) & ~(size_t)4095;
	err = compel_remote_mmap(t, 0, s->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0, &s->addr);
	if (err < 0)
		tool_die(tool_exit_code(err), "cannot map memory in %d: %s", opt_pid, strerror(-err));
}

static void scratch_put(struct compel_proc *p, struct compel_thread *t, struct scratch *s)
{
	if (s->save)
		compel_proc__write_mem(p, s->addr, s->save, s->len);
	else
		compel_remote_munmap(t, s->addr, s->len);
	free(s->save);
	s->save = NULL;
}

/* ---- syscall -------------------------------------------------------- */
static int do_syscall(int argc, char **argv)
{
	struct compel_proc *p;
	struct compel_thread *t;
	uint64_t a[6] = { 0 }, off = 0;
	struct scratch sc = { 0 };
	size_t strbytes = 0, len;
	int64_t r;
	long nr;
	int i, err;

	if (argc < 1)
		tool_usage_error("syscall: which one? (a name such as getpid, or a number)");
	if (argc > 7)
		tool_usage_error("syscall: at most 6 arguments");
	nr = sys_by_name(argv[0]);
	if (nr < 0)
		tool_usage_error("syscall: unknown system call '%s'", argv[0]);
	for (i = 1; i < argc; i++)
		if (parse_num(argv[i], &a[i - 1]))
			strbytes += strlen(argv[i]) + 1;
	p = seize(opt_pid);
	t = thread_of(p);
	if (strbytes) {
		len = strbytes;
		scratch_get(p, t, len, &sc);
		for (i = 1; i < argc; i++) {
			if (!parse_num(argv[i], &a[i - 1]))
				continue;
			size_t l = strlen(argv[i]) + 1;

			if (compel_proc__write_mem(p, sc.addr + off, argv[i], l) != (ssize_t)l)
				tool_die(CR_EX_FAIL, "cannot copy '%s' into %d", argv[i], opt_pid);
			a[i - 1] = sc.addr + off;
			off += l;
		}
	}
	err = compel_remote_syscall(t, &r, nr, a);
	if (strbytes)
		scratch_put(p, t, &sc);
	if (err < 0)
		tool_die(tool_exit_code(err), "cannot run %s in %d: %s", argv[0], opt_pid,
			 strerror(-err));
	release(p);
	return report(argv[0], r);
}

/* ---- redirect ------------------------------------------------------- */
static int do_redirect(int argc, char **argv)
{
	struct compel_proc *p;
	struct compel_thread *t;
	char abs[PATH_MAX + 2];
	uint64_t a[6] = { 0 };
	struct scratch sc;
	int64_t fd, r;
	long target;
	int err;

	if (argc != 2)
		tool_usage_error("redirect: want FD FILE");
	target = tool_parse_long(argv[0]);
	if (target < 0)
		tool_usage_error("redirect: '%s' is not a file descriptor number", argv[0]);
	if (argv[1][0] == '/') {
		snprintf(abs, sizeof(abs), "%s", argv[1]);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			tool_die(CR_EX_FAIL, "getcwd: %s", strerror(errno));
		if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, argv[1]) >= sizeof(abs))
			tool_usage_error("redirect: path too long");
	}
	p = seize(opt_pid);
	t = thread_of(p);
	scratch_get(p, t, strlen(abs) + 1, &sc);
	compel_proc__write_mem(p, sc.addr, abs, strlen(abs) + 1);
	a[0] = (uint64_t)-100; /* AT_FDCWD: the path is absolute anyway */
	a[1] = sc.addr;
	a[2] = O_WRONLY | O_APPEND | O_CREAT;
	a[3] = 0666;
	err = compel_remote_syscall(t, &fd, __NR_openat, a);
	scratch_put(p, t, &sc);
	if (err < 0)
		tool_die(tool_exit_code(err), "cannot run open in %d: %s", opt_pid, strerror(-err));
	if (fd < 0)
		tool_die(tool_exit_code((int)fd), "%d cannot open %s: %s", opt_pid, abs,
			 strerror((int)-fd));
	if (fd != target) {
		uint64_t d[6] = { (uint64_t)fd, (uint64_t)target, 0 };
		uint64_t c[6] = { (uint64_t)fd };

		err = compel_remote_syscall(t, &r, __NR_dup3, d);
		compel_remote_syscall(t, &fd, __NR_close, c);
		if (err < 0 || r < 0)
			tool_die(CR_EX_FAIL, "cannot put %s on fd %ld in %d: %s", abs, target, opt_pid,
				 strerror(err < 0 ? -err : (int)-r));
	}
	release(p);
	return CR_EX_OK;
}

/* ---- load / call ---------------------------------------------------- */
static struct compel_infect *infect(struct compel_proc *p, const struct compel_blob *b)
{
	struct compel_infect_opts io = { .sz = sizeof(io), .tid = opt_tid };
	struct compel_infect *inf;
	int err;

	if (b) {
		io.blobs = &b;
		io.nr_blobs = 1;
	}
	err = compel_infect(p, &io, &inf);
	if (err < 0)
		tool_die(tool_exit_code(err), "cannot infect %d: %s", opt_pid, strerror(-err));
	return inf;
}

static void cure(struct compel_infect *inf)
{
	int err = compel_cure(inf);

	if (err < 0)
		tool_die(tool_exit_code(err), "cannot cure %d: %s", opt_pid, strerror(-err));
}

/* Copies s into the shared area at *off; returns its remote address. */
static uint64_t put_str(struct compel_infect *inf, size_t *off, const char *s)
{
	size_t size, l = strlen(s) + 1;
	char *a = compel_infect__args(inf, &size);

	if (*off + l > size)
		tool_usage_error("arguments too long");
	memcpy(a + *off, s, l);
	*off += l;
	return compel_infect__args_remote(inf) + *off - l;
}

static uint64_t call_func(struct compel_proc *p, struct compel_infect *inf, const char *name,
			  uint64_t a0, uint64_t a1)
{
	uint64_t fn, a[6] = { a0, a1 };
	int64_t r;
	int err = compel_proc__find_symbol(p, "libc.so", name, &fn);

	if (err < 0)
		tool_die(CR_EX_UNSUPPORTED, "cannot find %s in the libc of %d: %s", name, opt_pid,
			 strerror(-err));
	err = compel_infect__call_func(inf, fn, a, &r);
	if (err < 0)
		tool_die(tool_exit_code(err), "calling %s in %d failed: %s", name, opt_pid,
			 strerror(-err));
	return (uint64_t)r;
}

static uint64_t load_lib(struct compel_proc *p, struct compel_infect *inf, const char *lib)
{
	char abs[PATH_MAX];
	size_t off = 0;
	uint64_t h;

	if (strchr(lib, '/') && lib[0] != '/') {
		if (!realpath(lib, abs))
			tool_die(CR_EX_NOTFOUND, "%s: %s", lib, strerror(errno));
		lib = abs;
	}
	h = call_func(p, inf, "dlopen", put_str(inf, &off, lib), RTLD_NOW);
	if (!h) {
		uint64_t e = call_func(p, inf, "dlerror", 0, 0);
		char msg[512] = "";

		if (e)
			compel_proc__read_mem(p, e, msg, sizeof(msg) - 1);
		tool_die(CR_EX_FAIL, "%d cannot load %s: %s", opt_pid, lib,
			 msg[0] ? msg : "dlopen failed");
	}
	return h;
}

static int do_load(int argc, char **argv)
{
	struct compel_proc *p;
	struct compel_infect *inf;
	uint64_t h;

	if (argc != 1)
		tool_usage_error("load: want LIB.so");
	p = seize(opt_pid);
	inf = infect(p, NULL);
	h = load_lib(p, inf, argv[0]);
	cure(inf);
	release(p);
	printf("%#llx\n", (unsigned long long)h);
	return CR_EX_OK;
}

static int do_call(int argc, char **argv)
{
	struct compel_proc *p;
	struct compel_infect *inf;
	uint64_t h, fn, a[6] = { 0 };
	size_t off = 0;
	int64_t r;
	int i, err;

	if (argc < 2)
		tool_usage_error("call: want LIB.so SYMBOL [ARG...]");
	if (argc > 8)
		tool_usage_error("call: at most 6 arguments");
	p = seize(opt_pid);
	inf = infect(p, NULL);
	h = load_lib(p, inf, argv[0]);
	fn = call_func(p, inf, "dlsym", h, put_str(inf, &off, argv[1]));
	if (!fn)
		tool_die(CR_EX_NOTFOUND, "no symbol %s in %s", argv[1], argv[0]);
	for (i = 2; i < argc; i++)
		if (parse_num(argv[i], &a[i - 2]))
			a[i - 2] = put_str(inf, &off, argv[i]);
	err = compel_infect__call_func(inf, fn, a, &r);
	if (err < 0)
		tool_die(tool_exit_code(err), "calling %s in %d failed: %s", argv[1], opt_pid,
			 strerror(-err));
	cure(inf);
	release(p);
	printf("%lld\n", (long long)r);
	return CR_EX_OK;
}

/* ---- run ------------------------------------------------------------ */
static int do_run(int argc, char **argv)
{
	struct compel_blob *b;
	struct compel_proc *p;
	struct compel_infect *inf;
	struct compel_call c = { .sz = sizeof(c) };
	const char *entry = "run";
	char *args;
	size_t size, off = 0;
	int i, err, out = STDOUT_FILENO;

	if (argc < 1)
		tool_usage_error("run: want BLOB [ENTRY] [ARG...]");
	err = compel_blob_open_file(argv[0], &b);
	if (err == -ENOENT)
		tool_die(CR_EX_NOTFOUND, "no such blob: %s", argv[0]);
	if (err < 0)
		tool_die(CR_EX_FAIL, "%s: not a parasite blob (%s); build one with compel-blob",
			 argv[0], strerror(-err));
	if (argc > 1)
		entry = argv[1];
	if (compel_blob__sym(b, entry) < 0)
		tool_die(CR_EX_NOTFOUND, "%s has no entry point '%s'", argv[0], entry);
	p = seize(opt_pid);
	inf = infect(p, b);
	args = compel_infect__args(inf, &size);
	for (i = 2; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;

		if (off + l > size)
			tool_usage_error("run: arguments too long");
		memcpy(args + off, argv[i], l);
		off += l;
	}
	compel_infect__sym(inf, 0, entry, &c.fn);
	c.args_len = off;
	c.fds_in = &out;
	c.nr_fds_in = 1;
	err = compel_infect__call(inf, &c);
	if (err < 0)
		tool_die(tool_exit_code(err), "running %s in %d failed: %s", entry, opt_pid,
			 strerror(-err));
	cure(inf);
	release(p);
	compel_blob_free(b);
	printf("%lld\n", (long long)c.ret);
	return CR_EX_OK;
}

/* ---- the dump stage --------------------------------------------------- */
typedef int (*stage_fn)(uint32_t, char *const[], const struct crcore_stage_opts *);

static int do_stage(char **next)
{
	void *h = dlopen("libcrcore.so.0", RTLD_NOW);
	char why[512] = "";
	stage_fn fn;
	int r;

	if (!h)
		tool_die(CR_EX_UNSUPPORTED, "the dump stage needs libcrcore: %s", dlerror());
	fn = (stage_fn)dlsym(h, "crcore_dump_stage");
	if (!fn)
		tool_die(CR_EX_UNSUPPORTED, "libcrcore has no dump stage: %s", dlerror());
	{
		struct crcore_stage_opts o = { .sz = sizeof(o), .err = why, .errlen = sizeof(why),
					       .log = tool_lib_log };

		r = fn(CRCORE_STAGE_INSIDE, next, &o);
	}
	if (r < 0)
		tool_die(r == -ENOENT ? CR_EX_USAGE : tool_exit_code(r), "%s", why);
	return CR_EX_OK;
}

static void usage(void)
{
	printf("usage: cr-parasite [-t TID] -p PID syscall NAME [ARG...]\n"
	       "       cr-parasite -p PID redirect FD FILE\n"
	       "       cr-parasite -p PID load LIB.so\n"
	       "       cr-parasite -p PID call LIB.so SYMBOL [ARG...]\n"
	       "       cr-parasite -p PID run BLOB [ENTRY] [ARG...]\n"
	       "       cr-freeze PID cr-parasite [NEXT-STAGE...]   (dump stage)\n"
	       "Runs something inside a live process.  See cr-parasite(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	long v;
	int c;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "+p:t:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			v = tool_parse_long(optarg);
			if (v <= 0)
				tool_usage_error("-p: '%s' is not a process id", optarg);
			opt_pid = (pid_t)v;
			break;
		case 't':
			v = tool_parse_long(optarg);
			if (v <= 0)
				tool_usage_error("-t: '%s' is not a thread id", optarg);
			opt_tid = (pid_t)v;
			break;
		case 'v':
			tool_verbose++;
			break;
		case 'h':
			usage();
			return CR_EX_OK;
		default:
			tool_usage_error("unknown option");
		}
	}
	if (tool_verbose)
		compel_set_log(tool_lib_log, NULL, 6 + tool_verbose);
	if (!opt_pid)
		return do_stage(argv + optind);
	if (optind >= argc)
		tool_usage_error("what to do? (syscall, redirect, load, call, run)");
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "syscall"))
		return do_syscall(argc, argv);
	if (!strcmp(cmd, "redirect"))
		return do_redirect(argc, argv);
	if (!strcmp(cmd, "load"))
		return do_load(argc, argv);
	if (!strcmp(cmd, "call"))
		return do_call(argc, argv);
	if (!strcmp(cmd, "run"))
		return do_run(argc, argv);
	tool_usage_error("unknown command '%s'", cmd);
}
