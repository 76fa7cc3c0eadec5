/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parasite runs in a thread that is not the leader (a spinner); the
 * leader, blocked in read with vector and signal state, and calls in yet
 * another thread: all check themselves afterwards. */
#include "infect.h"

int main(void)
{
	infect_case_in((const char *[]){ "read", "threads:2", "fpu", "sig", "rseq", NULL }, 100, 1);
	return 0;
}
