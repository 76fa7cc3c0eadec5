/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Infect and cure a victim in mode read; it checks itself afterwards. */
#include "infect.h"

int main(void)
{
	infect_case((const char *[]){ "read", "threads:2", "fpu", "sig", "rseq", NULL }, 100);
	return 0;
}
