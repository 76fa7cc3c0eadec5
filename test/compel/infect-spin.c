/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Infect and cure a victim in mode spin; it checks itself afterwards. */
#include "infect.h"

int main(void)
{
	infect_case((const char *[]){ "spin", "threads:1", NULL }, 100);
	return 0;
}
