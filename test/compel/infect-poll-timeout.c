/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Infect and cure a victim in mode poll-timeout; it checks itself afterwards. */
#include "infect.h"

int main(void)
{
	infect_case((const char *[]){ "poll:1500", NULL }, 100);
	return 0;
}
