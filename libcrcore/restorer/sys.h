/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sys.h - raw x86-64 system calls for the freestanding restorer: no libc,
 * no errno; every call returns the kernel's value (-errno on failure).
 */
#ifndef RST_SYS_H
#define RST_SYS_H

#include <stdint.h>
#include <stddef.h>
#include <asm/unistd.h>

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SYS0(n) sys6((n), 0, 0, 0, 0, 0, 0)
#define SYS1(n, a) sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b) sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define SYS6(n, a, b, c, d, e, f) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

#define sys_read(fd, b, l)          SYS3(__NR_read, fd, b, l)
#define sys_write(fd, b, l)         SYS3(__NR_write, fd, b, l)
#define sys_open(p, f, m)           SYS4(__NR_openat, -100, p, f, m)
#define sys_close(fd)               SYS1(__NR_close, fd)
#define sys_mmap(a, l, p, f, fd, o) SYS6(__NR_mmap, a, l, p, f, fd, o)
#define sys_munmap(a, l)            SYS2(__NR_munmap, a, l)
#define sys_mprotect(a, l, p)       SYS3(__NR_mprotect, a, l, p)
#define sys_madvise(a, l, adv)      SYS3(__NR_madvise, a, l, adv)
#define sys_mremap(o, ol, nl, f, n) SYS5(__NR_mremap, o, ol, nl, f, n)
#define sys_ftruncate(fd, l)        SYS2(__NR_ftruncate, fd, l)
#define sys_memfd_create(n, f)      SYS2(__NR_memfd_create, n, f)
#define sys_shmat(id, a, f)         SYS3(__NR_shmat, id, a, f)
#define sys_poll(p, n, t)           SYS3(__NR_poll, p, n, t)
#define sys_prctl(o, a, b, c, d)    SYS5(__NR_prctl, o, a, b, c, d)
#define sys_futex(u, op, v, t)      SYS6(__NR_futex, u, op, v, t, 0, 0)
#define sys_exit_group(c)           SYS1(__NR_exit_group, c)
#define sys_getpid()                SYS0(__NR_getpid)
#define sys_gettid()                SYS0(__NR_gettid)
#define sys_rt_sigaction(s, a, o, n) SYS4(__NR_rt_sigaction, s, a, o, n)
#define sys_rt_sigqueueinfo(p, s, i) SYS3(__NR_rt_sigqueueinfo, p, s, i)
#define sys_rt_tgsigqueueinfo(p, t, s, i) SYS4(__NR_rt_tgsigqueueinfo, p, t, s, i)
#define sys_sigaltstack(n, o)       SYS2(__NR_sigaltstack, n, o)
#define sys_setitimer(w, n, o)      SYS3(__NR_setitimer, w, n, o)
#define sys_timer_create(c, e, id)  SYS3(__NR_timer_create, c, e, id)
#define sys_timer_settime(id, f, n, o) SYS4(__NR_timer_settime, id, f, n, o)
#define sys_timer_delete(id)        SYS1(__NR_timer_delete, id)
#define sys_prlimit64(p, r, n, o)   SYS4(__NR_prlimit64, p, r, n, o)
#define sys_personality(p)          SYS1(__NR_personality, p)
#define sys_umask(m)                SYS1(__NR_umask, m)
#define sys_rseq(a, l, f, s)        SYS4(__NR_rseq, a, l, f, s)
#define sys_set_tid_address(a)      SYS1(__NR_set_tid_address, a)
#define sys_set_robust_list(h, l)   SYS2(__NR_set_robust_list, h, l)
#define sys_setgroups(n, g)         SYS2(__NR_setgroups, n, g)
#define sys_setresuid(a, b, c)      SYS3(__NR_setresuid, a, b, c)
#define sys_setresgid(a, b, c)      SYS3(__NR_setresgid, a, b, c)
#define sys_setfsuid(a)             SYS1(__NR_setfsuid, a)
#define sys_setfsgid(a)             SYS1(__NR_setfsgid, a)
#define sys_capget(h, d)            SYS2(__NR_capget, h, d)
#define sys_capset(h, d)            SYS2(__NR_capset, h, d)

#endif
