/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-dumpmm - a dump stage: writes the memory of the frozen process (MM,
 * then PAGES records), then execs the next stage or ends the dump.
 *
 *   cr-freeze PID [cr-parasite] cr-dumpmm [--copy] [--no-csum] [NEXT-STAGE...] > img
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crcore.h>

#include "tool.h"

static void progress(uint64_t done, uint64_t total, void *arg)
{
	tool_progress("memory", done, total);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "copy", no_argument, NULL, 'c' },
		{ "no-csum", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct crcore_mm_stats st;
	char why[512] = "";
	uint32_t mmf = 0;
	int c, r;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "+cnvh", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			mmf |= CRCORE_MM_COPY;
			break;
		case 'n':
			mmf |= CRCORE_MM_NO_CSUM;
			break;
		case 'v':
			tool_verbose++;
			break;
		case 'h':
			printf("usage: cr-freeze PID ... cr-dumpmm [--copy] [--no-csum] [NEXT-STAGE [ARGS...]]\n"
			       "Writes the memory of the process frozen by the previous stages (MM\n"
			       "and PAGES records) to stdout.  See cr-dumpmm(1).\n");
			return CR_EX_OK;
		default:
			tool_usage_error("unknown option");
		}
	}
	{
		LIBCRCORE_OPTS(crcore_stage_opts, o, .mm_flags = mmf, .err = why,
			       .errlen = sizeof(why), .log = tool_lib_log, .progress = progress,
			       .mm_stats = &st);

		r = crcore_dump_stage(CRCORE_STAGE_MM, argv + optind, &o);
	}
	tool_progress_end();
	if (r < 0)
		tool_die(r == -ENOENT ? CR_EX_USAGE : tool_exit_code(r), "%s", why);
	tool_debug("%llu mappings, %llu pages in %llu records (%llu without a copy)",
		   (unsigned long long)st.vmas, (unsigned long long)st.pages,
		   (unsigned long long)st.records, (unsigned long long)st.zero_copy_pages);
	return CR_EX_OK;
}
