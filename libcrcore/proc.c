/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc.c - reading what /proc shows of a process (dump side).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dump.h"

char *proc_read(const char *fmt, ...)
{
	char path[256], *buf = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

const char *proc_status_field(const char *status, const char *key)
{
	size_t kl = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char *s, *open, *close_, *p;
	size_t cl;
	int i;

	if (tid)
		s = proc_read("/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		s = proc_read("/proc/%d/stat", (int)pid);
	if (!s)
		return errno == ENOENT ? -ESRCH : -errno;
	memset(st, 0, sizeof(*st));
	open = strchr(s, '(');
	close_ = strrchr(s, ')');
	if (!open || !close_ || close_ < open || close_[1] != ' ') {
		free(s);
		return -EPROTO;
	}
	cl = (size_t)(close_ - open - 1);
	if (cl >= sizeof(st->comm))
		cl = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, cl);
	st->f[1] = strtoull(s, NULL, 10);
	st->state = close_[2];
	p = close_ + 3;
	for (i = 4; i < 64 && *p; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		st->f[i] = strtoull(p, &p, 10);
	}
	free(s);
	return 0;
}

int proc_readlink(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static const struct {
	char code[3];
	uint32_t bit;
} vmf_codes[] = {
	{ "gd", PROC_VMF_GD }, { "lo", PROC_VMF_LO }, { "dc", PROC_VMF_DC },
	{ "wf", PROC_VMF_WF }, { "dd", PROC_VMF_DD }, { "hg", PROC_VMF_HG },
	{ "nh", PROC_VMF_NH }, { "mg", PROC_VMF_MG }, { "sr", PROC_VMF_SR },
	{ "rr", PROC_VMF_RR }, { "nr", PROC_VMF_NR }, { "io", PROC_VMF_IO },
	{ "ht", PROC_VMF_HT }, { "sl", PROC_VMF_SL }, { "um", PROC_VMF_UF },
	{ "uw", PROC_VMF_UF }, { "pf", PROC_VMF_PF }, { "de", PROC_VMF_DE },
	{ "sd", PROC_VMF_SD }, { "lf", PROC_VMF_LF }, { "ms", PROC_VMF_MS },
};

static uint32_t parse_vmflags(const char *p)
{
	uint32_t f = 0;

	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		if (p[0] && p[1] && (p[2] == ' ' || p[2] == '\n' || !p[2])) {
			for (size_t i = 0; i < sizeof(vmf_codes) / sizeof(vmf_codes[0]); i++)
				if (p[0] == vmf_codes[i].code[0] && p[1] == vmf_codes[i].code[1])
					f |= vmf_codes[i].bit;
			p += 2;
		} else {
			while (*p && *p != ' ' && *p != '\n')
				p++;
		}
	}
	return f;
}

void proc_vmas_free(struct proc_vma *v, size_t nr)
{
	if (!v)
		return;
	for (size_t i = 0; i < nr; i++)
		free(v[i].path);
	free(v);
}

int proc_vmas_read(pid_t pid, bool with_flags, struct proc_vma **ret, size_t *nr)
{
	char *text = proc_read("/proc/%d/%s", (int)pid, with_flags ? "smaps" : "maps");
	struct proc_vma *v = NULL;
	size_t n = 0, cap = 0;
	char *line, *next;

	if (!text)
		return errno == ENOENT ? -ESRCH : -errno;
	for (line = text; line && *line; line = next) {
		unsigned long long s, e, off, ino;
		unsigned maj, mnr;
		char perms[8];
		int pos = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &mnr,
			   &ino, &pos) < 7) {
			if (with_flags && n && !strncmp(line, "VmFlags:", 8))
				v[n - 1].vmflags = parse_vmflags(line + 8);
			continue;
		}
		if (n == cap) {
			struct proc_vma *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				proc_vmas_free(v, n);
				free(text);
				return -ENOMEM;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].start = s;
		v[n].end = e;
		v[n].pgoff = off;
		v[n].prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			    (perms[2] == 'x' ? PROT_EXEC : 0);
		v[n].shared = perms[3] == 's';
		v[n].dev_major = maj;
		v[n].dev_minor = mnr;
		v[n].ino = ino;
		v[n].path = strdup(pos ? line + pos : "");
		if (!v[n].path) {
			proc_vmas_free(v, n);
			free(text);
			return -ENOMEM;
		}
		n++;
	}
	free(text);
	*ret = v;
	*nr = n;
	return 0;
}
