/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-core.c - the PROC and THREAD records (cr-freeze), and the remote
 * system calls that read what only the inside of a thread can tell.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <syslog.h>
#include <unistd.h>

#include "dump.h"

#define AUDIT_ARCH_X86_64_ 0xc000003eu
#define MAX_PENDING 256

/* Scratch memory in the process, for remote calls that write their
 * result through a pointer: a slice of the leader's stack well below its
 * stack pointer (and below what libcompel uses there), which the ABI
 * leaves free; its bytes are put back when we are done.  Nothing is
 * mapped, so a stage killed meanwhile leaves no mapping behind. */
#define SCRATCH_GAP 16384u

int dump_scratch(struct crcore_dump *d, uint64_t *addr)
{
	struct user_regs_struct regs;
	struct proc_vma *v;
	size_t n;
	int r;

	if (d->scratch) {
		*addr = d->scratch;
		return 0;
	}
	r = compel_thread__get_regset(compel_proc__leader(d->proc), NT_PRSTATUS, &regs, sizeof(regs));
	if (r < 0)
		return dump_err(d, r, "cannot read the registers of %d: %s", (int)d->pid, strerror(-r));
	r = proc_vmas_read(d->pid, false, &v, &n);
	if (r < 0)
		return dump_err(d, r, "cannot read the mappings of %d: %s", (int)d->pid, strerror(-r));
	d->scratch = ((regs.rsp - SCRATCH_GAP) & ~63ull) - SCRATCH_SIZE;
	r = -ENOSPC;
	for (size_t i = 0; i < n; i++)
		if (v[i].start <= d->scratch && v[i].end > regs.rsp &&
		    (v[i].prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE))
			r = 0;
	proc_vmas_free(v, n);
	if (r == 0)
		r = dump_rread(d, d->scratch, d->scratch_save, SCRATCH_SIZE);
	if (r < 0) {
		d->scratch = 0;
		return dump_err(d, r, "no room for scratch memory on the stack of %d", (int)d->pid);
	}
	*addr = d->scratch;
	return 0;
}

void dump_scratch_drop(struct crcore_dump *d)
{
	if (!d->scratch || !d->proc)
		return;
	compel_proc__write_mem(d->proc, d->scratch, d->scratch_save, SCRATCH_SIZE);
	d->scratch = 0;
}

/* The thread to run process-wide remote calls in.  Should we die in the
 * middle of one, libcompel puts the thread back by itself, but a sleep
 * interrupted with -ERESTART_RESTARTBLOCK cannot be redone from there
 * (the thread would see EINTR): prefer a thread in user code, then one in
 * a system call that restarts plainly, then the leader. */
struct compel_thread *dump_worker(struct crcore_dump *d)
{
	struct compel_thread *t, *plain = NULL;

	compel_proc__for_each_thread(d->proc, t) {
		struct user_regs_struct r;
		uint32_t st = compel_thread__state(t);

		if (st == COMPEL_TASK_RUNNING)
			return t;
		if (st == COMPEL_TASK_SYSCALL && !plain &&
		    compel_thread__get_resume_regs(t, &r, sizeof(r)) >= 0 &&
		    r.rax != __NR_restart_syscall)
			plain = t;
	}
	return plain ? plain : compel_proc__leader(d->proc);
}

/* Runs nr in t; returns the syscall's result (or -errno of the transport). */
int64_t dump_rsys(struct crcore_dump *d, struct compel_thread *t, long nr, uint64_t a0,
		  uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t args[6] = { a0, a1, a2, a3, 0, 0 };
	int64_t ret;
	int r = compel_remote_syscall(t, &ret, nr, args);

	if (r < 0)
		return r;
	return ret;
}

int dump_rread(struct crcore_dump *d, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = compel_proc__read_mem(d->proc, addr, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static uint64_t status_hex(const char *status, const char *key)
{
	const char *f = proc_status_field(status, key);

	return f ? strtoull(f, NULL, 16) : 0;
}

static int fill_creds(struct crcore_dump *d, Crimg__Creds *c, const char *status, uint32_t **groups)
{
	unsigned long u[4] = { 0 }, g[4] = { 0 };
	const char *f;
	size_t n = 0;
	int64_t sb;

	f = proc_status_field(status, "Uid");
	if (!f || sscanf(f, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4)
		return dump_err(d, -EPROTO, "cannot parse the Uid line of %d", (int)d->pid);
	f = proc_status_field(status, "Gid");
	if (!f || sscanf(f, "%lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) != 4)
		return dump_err(d, -EPROTO, "cannot parse the Gid line of %d", (int)d->pid);
	c->uid = u[0], c->euid = u[1], c->suid = u[2], c->fsuid = u[3];
	c->gid = g[0], c->egid = g[1], c->sgid = g[2], c->fsgid = g[3];
	f = proc_status_field(status, "Groups");
	*groups = NULL;
	if (f) {
		const char *p = f;
		size_t cap = 0;

		while (*p && *p != '\n') {
			char *end;
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (n == cap) {
				uint32_t *ng = realloc(*groups, (cap = cap ? cap * 2 : 16) * sizeof(uint32_t));

				if (!ng)
					return -ENOMEM;
				*groups = ng;
			}
			(*groups)[n++] = (uint32_t)v;
			p = end;
			while (*p == ' ' || *p == '\t')
				p++;
		}
	}
	c->n_groups = n;
	c->groups = *groups;
	c->has_cap_inh = c->has_cap_prm = c->has_cap_eff = c->has_cap_bnd = c->has_cap_amb = 1;
	c->cap_inh = status_hex(status, "CapInh");
	c->cap_prm = status_hex(status, "CapPrm");
	c->cap_eff = status_hex(status, "CapEff");
	c->cap_bnd = status_hex(status, "CapBnd");
	c->cap_amb = status_hex(status, "CapAmb");
	f = proc_status_field(status, "NoNewPrivs");
	c->has_no_new_privs = 1;
	c->no_new_privs = f && atoi(f);
	f = proc_status_field(status, "Seccomp");
	c->has_seccomp_mode = 1;
	c->seccomp_mode = f ? atoi(f) : 0;
	sb = dump_rsys(d, dump_worker(d), __NR_prctl, PR_GET_SECUREBITS, 0, 0, 0);
	if (sb >= 0) {
		c->has_securebits = 1;
		c->securebits = (uint32_t)sb;
	}
	return 0;
}

static int read_pending(struct compel_thread *t, int shared, ProtobufCBinaryData **ret,
			siginfo_t **store)
{
	siginfo_t *si = calloc(MAX_PENDING, sizeof(*si));
	ProtobufCBinaryData *b;
	int n;

	*ret = NULL;
	*store = si;
	if (!si)
		return -ENOMEM;
	n = compel_thread__pending(t, shared, si, MAX_PENDING);
	if (n <= 0)
		return n;
	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		b[i].len = sizeof(siginfo_t);
		b[i].data = (uint8_t *)&si[i];
	}
	*ret = b;
	return n;
}

static char state_letter(struct compel_proc *p)
{
	struct compel_thread *t = compel_proc__leader(p);

	switch (t ? compel_thread__state(t) : 0) {
	case COMPEL_TASK_STOPPED:
		return 'T';
	case COMPEL_TASK_SYSCALL:
		return 'S';
	case COMPEL_TASK_ZOMBIE:
		return 'Z';
	default:
		return 'R';
	}
}

static int write_proc(struct crcore_dump *d, struct crimg_writer *w)
{
	Crimg__Proc m = CRIMG__PROC__INIT;
	Crimg__Creds c = CRIMG__CREDS__INIT;
	char comm[64] = "", exe[4096] = "", cwd[4096] = "", root[4096] = "";
	uint32_t *tids = NULL, *groups = NULL;
	ProtobufCBinaryData *pend = NULL;
	siginfo_t *pstore = NULL;
	struct proc_stat st;
	char *status = NULL, *s;
	unsigned nt = compel_proc__nr_threads(d->proc), k = 0;
	struct compel_thread *t;
	int r, n;

	r = proc_stat_read(d->pid, 0, &st);
	if (r < 0)
		return dump_err(d, r, "cannot read /proc/%d/stat: %s", (int)d->pid, strerror(-r));
	status = proc_read("/proc/%d/status", (int)d->pid);
	if (!status)
		return dump_err(d, -errno, "cannot read /proc/%d/status: %s", (int)d->pid,
				strerror(errno));
	tids = calloc(nt ? nt : 1, sizeof(*tids));
	if (!tids) {
		r = -ENOMEM;
		goto out;
	}
	t = compel_proc__leader(d->proc);
	if (t)
		tids[k++] = compel_thread__tid(t);
	compel_proc__for_each_thread(d->proc, t)
		if (compel_thread__tid(t) != d->pid && compel_thread__state(t) != COMPEL_TASK_ZOMBIE)
			tids[k++] = compel_thread__tid(t);
	m.pid = d->pid;
	m.ppid = st.f[4];
	m.pgid = st.f[5];
	m.sid = st.f[6];
	m.n_tids = k;
	m.tids = tids;
	s = proc_read("/proc/%d/comm", (int)d->pid);
	if (s) {
		snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(s, "\n"), s);
		free(s);
		m.comm = comm;
	}
	if (proc_readlink(d->pid, "exe", exe, sizeof(exe)) >= 0)
		m.exe = exe;
	if (proc_readlink(d->pid, "cwd", cwd, sizeof(cwd)) >= 0)
		m.cwd = cwd;
	if (proc_readlink(d->pid, "root", root, sizeof(root)) >= 0)
		m.root = root;
	m.has_state = 1;
	m.state = (uint32_t)state_letter(d->proc);
	r = fill_creds(d, &c, status, &groups);
	if (r < 0)
		goto out;
	m.creds = &c;
	n = read_pending(compel_proc__leader(d->proc), 1, &pend, &pstore);
	if (n < 0) {
		r = dump_err(d, n, "cannot read the pending signals of %d: %s", (int)d->pid,
			     strerror(-n));
		goto out;
	}
	m.n_shared_pending = n;
	m.shared_pending = pend;
	m.has_start_time = 1;
	m.start_time = st.f[22];
	m.has_exit_signal = 1;
	m.exit_signal = st.f[38];
	s = proc_read("/proc/%d/personality", (int)d->pid);
	if (s) {
		m.has_personality = 1;
		m.personality = strtoul(s, NULL, 16);
		free(s);
	}
	r = dump_add(d, w, CRIMG_T_PROC, &m.base);
out:
	free(pend);
	free(pstore);
	free(groups);
	free(tids);
	free(status);
	return r;
}

static int write_thread(struct crcore_dump *d, struct crimg_writer *w, struct compel_thread *t)
{
	Crimg__Thread m = CRIMG__THREAD__INIT;
	Crimg__Rseq rs = CRIMG__RSEQ__INIT;
	Crimg__SigAltStack as = CRIMG__SIG_ALT_STACK__INIT;
	struct user_regs_struct regs, now;
	struct user_fpregs_struct fp;
	struct compel_rseq rseq;
	ProtobufCBinaryData *pend = NULL;
	siginfo_t *pstore = NULL;
	uint8_t *xs = NULL;
	char comm[64] = "", *s;
	pid_t tid = compel_thread__tid(t);
	uint64_t mask, scratch;
	int r, n, xlen;

	m.pid = d->pid;
	m.tid = tid;
	m.arch = AUDIT_ARCH_X86_64_;
	r = compel_thread__get_resume_regs(t, &regs, sizeof(regs));
	if (r < 0)
		return dump_err(d, r, "thread %d: cannot read its registers: %s", (int)tid, strerror(-r));
	m.gpregs.data = (uint8_t *)&regs;
	m.gpregs.len = sizeof(regs);
	/* The thread was inside a system call that it will restart: say
	 * which (the registers above already re-execute it). */
	if (compel_thread__get_regset(t, NT_PRSTATUS, &now, sizeof(now)) >= 0 && now.rip != regs.rip &&
	    compel_thread__syscall_nr(t) >= 0) {
		m.has_syscall_nr = 1;
		m.syscall_nr = compel_thread__syscall_nr(t);
	}
	r = compel_thread__get_regset(t, NT_PRFPREG, &fp, sizeof(fp));
	if (r > 0) {
		m.has_fpregs = 1;
		m.fpregs.data = (uint8_t *)&fp;
		m.fpregs.len = (size_t)r;
	}
	xlen = compel_thread__regset_size(t, NT_X86_XSTATE);
	if (xlen > 0) {
		xs = malloc(xlen);
		if (!xs)
			return -ENOMEM;
		r = compel_thread__get_regset(t, NT_X86_XSTATE, xs, xlen);
		if (r < 0) {
			free(xs);
			return dump_err(d, r, "thread %d: cannot read its xsave area: %s", (int)tid,
					strerror(-r));
		}
		m.has_xsave = 1;
		m.xsave.data = xs;
		m.xsave.len = (size_t)r;
	}
	r = compel_thread__sigmask(t, &mask);
	if (r < 0) {
		free(xs);
		return dump_err(d, r, "thread %d: cannot read its signal mask: %s", (int)tid, strerror(-r));
	}
	m.sigmask = mask;
	n = read_pending(t, 0, &pend, &pstore);
	if (n < 0) {
		r = dump_err(d, n, "thread %d: cannot read its pending signals: %s", (int)tid, strerror(-n));
		goto out;
	}
	m.n_pending = n;
	m.pending = pend;
	if (compel_thread__rseq(t, &rseq) == 0 && rseq.rseq_abi_pointer) {
		rs.addr = rseq.rseq_abi_pointer;
		rs.len = rseq.rseq_abi_size;
		rs.sig = rseq.signature;
		rs.has_flags = 1;
		rs.flags = rseq.flags;
		m.rseq = &rs;
	}
	s = proc_read("/proc/%d/task/%d/comm", (int)d->pid, (int)tid);
	if (s) {
		snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(s, "\n"), s);
		free(s);
		m.comm = comm;
	}
	/* The inside of the thread, by remote system calls. */
	r = dump_scratch(d, &scratch);
	if (r < 0)
		goto out;
	if (dump_rsys(d, t, __NR_prctl, PR_GET_TID_ADDRESS, scratch, 0, 0) == 0) {
		uint64_t v;

		if (dump_rread(d, scratch, &v, sizeof(v)) == 0) {
			m.has_clear_child_tid = 1;
			m.clear_child_tid = v;
		}
	}
	if (dump_rsys(d, t, __NR_sigaltstack, 0, scratch, 0, 0) == 0) {
		stack_t ss;

		if (dump_rread(d, scratch, &ss, sizeof(ss)) == 0) {
			as.sp = (uint64_t)(uintptr_t)ss.ss_sp;
			as.size = ss.ss_size;
			as.flags = (uint32_t)ss.ss_flags;
			m.altstack = &as;
		}
	}
	{
		/* read from here: get_robust_list takes any thread we may trace */
		void *head = NULL;
		size_t len = 0;

		if (syscall(SYS_get_robust_list, tid, &head, &len) == 0 && head) {
			m.has_robust_list = 1;
			m.robust_list = (uint64_t)(uintptr_t)head;
			m.has_robust_list_len = 1;
			m.robust_list_len = len;
		}
	}
	if (dump_rsys(d, t, __NR_prctl, PR_GET_PDEATHSIG, scratch, 0, 0) == 0) {
		int v;

		if (dump_rread(d, scratch, &v, sizeof(v)) == 0) {
			m.has_pdeathsig = 1;
			m.pdeathsig = (uint32_t)v;
		}
	}
	r = dump_add(d, w, CRIMG_T_THREAD, &m.base);
out:
	free(pend);
	free(pstore);
	free(xs);
	return r;
}

static int write_core_one(struct crcore_dump *d, struct crimg_writer *w)
{
	struct compel_thread *t;
	int r;

	r = write_proc(d, w);
	if (r < 0)
		goto out;
	/* Leader first, as in Proc.tids. */
	t = compel_proc__leader(d->proc);
	if (t) {
		r = write_thread(d, w, t);
		if (r < 0)
			goto out;
	}
	compel_proc__for_each_thread(d->proc, t) {
		if (compel_thread__tid(t) == d->pid || compel_thread__state(t) == COMPEL_TASK_ZOMBIE)
			continue;
		r = write_thread(d, w, t);
		if (r < 0)
			goto out;
	}
out:
	dump_scratch_drop(d);
	return r;
}

/* Every process of the tree in turn (parents first), then the zombies. */
CRCORE_API int crcore_dump__write_core(struct crcore_dump *d, struct crimg_writer *w)
{
	unsigned i;
	int r = 0;

	tree_for_each(d, i) {
		r = write_core_one(d, w);
		if (r < 0) {
			tree_cur(d, ~0u);
			return r;
		}
	}
	return tree_write_zombies(d, w);
}
