/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Without CAP_NET_ADMIN every entry point fails with -EPERM and says why
 * through the log callback, and the socket it was given is left working.
 */
#include <linux/capability.h>
#include <sys/syscall.h>

#include "soccr-test.h"

static char lastmsg[512];

static void keep_log(int level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(lastmsg, sizeof(lastmsg), "%s", msg);
}

static void drop_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		t_fail("capget: %s", strerror(errno));
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
	d[CAP_NET_ADMIN / 32].inheritable &= ~(1u << (CAP_NET_ADMIN % 32));
	if (syscall(SYS_capset, &h, d) < 0)
		t_fail("capset: %s", strerror(errno));
}

int main(void)
{
	LIBSOCCR_OPTS(soccr_save_opts, so, .log = keep_log);
	LIBSOCCR_OPTS(soccr_netlock_opts, lo, .log = keep_log);
	struct soccr_tcp *t;
	struct soccr_netlock *lk;
	int c, s, r;
	char b[4];

	need_root();
	tcp_pair(AF_INET, &c, &s, 0);
	drop_net_admin();

	r = soccr_save(s, &so, &t);
	if (r != -EPERM)
		t_fail("soccr_save without CAP_NET_ADMIN = %d, want -EPERM", r);
	if (!strstr(lastmsg, "CAP_NET_ADMIN"))
		t_fail("the log does not say what is missing: '%s'", lastmsg);
	t_log("save: %s", lastmsg);

	/* The socket still works: no filter, no repair mode left behind. */
	t_assert(write_some(c, "abcd", 4, 1000) == 4);
	read_exact(s, b, 4, 2000);
	t_assert(!memcmp(b, "abcd", 4));
	t_assert(write_some(s, "efgh", 4, 1000) == 4);
	read_exact(c, b, 4, 2000);
	t_assert(!memcmp(b, "efgh", 4));

	lastmsg[0] = 0;
	r = soccr_netlock__new(&lo, &lk);
	if (r == -ENOSYS)
		t_log("netlock: libnftables missing, not checked");
	else if (r != -EPERM)
		t_fail("soccr_netlock__new without CAP_NET_ADMIN = %d, want -EPERM", r);
	else
		t_log("netlock: %s", lastmsg);
	if (r == -EPERM && !strstr(lastmsg, "CAP_NET_ADMIN"))
		t_fail("the lock's log does not say what is missing: '%s'", lastmsg);
	printf("PASS\n");
	return 0;
}
