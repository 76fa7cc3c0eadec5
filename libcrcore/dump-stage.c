/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-stage.c - a later stage of a dump as one call: adopt the freeze,
 * continue the stream, write, then exec the next stage or end the dump.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

CRCORE_API int crcore_dump_stage(uint32_t stage, char *const next[],
				 const struct crcore_stage_opts *opts)
{
	struct crcore_stage_opts o = { sizeof(o) };
	struct crcore_dump *d = NULL;
	struct crimg_writer *w = NULL;
	const char *state;
	int r;

	if (opts) {
		if (opts->sz < offsetof(struct crcore_stage_opts, log))
			return -EINVAL;
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	}
	if (stage != CRCORE_STAGE_INSIDE && stage != CRCORE_STAGE_MM)
		return fmt_err(o.err, o.errlen, -EINVAL, "unknown stage %u", stage);
	{
		LIBCRCORE_OPTS(crcore_dump_opts, dopts, .err = o.err, .errlen = o.errlen,
			       .log = o.log, .log_arg = o.log_arg);

		r = crcore_dump__adopt(&dopts, &d);
		if (r < 0)
			return r;
	}
	state = getenv(CRIMG_STATE_ENV);
	if (!state) {
		r = fmt_err(o.err, o.errlen, -ENOENT, "no stream to continue (%s is not set)",
			    CRIMG_STATE_ENV);
		goto fail;
	}
	{
		LIBCRIMG_OPTS(crimg_writer_opts, wo, .log = o.log, .log_arg = o.log_arg);

		r = crimg_writer__resume(STDOUT_FILENO, state, &wo, &w);
		if (r < 0) {
			r = fmt_err(o.err, o.errlen, r, "cannot continue the stream: %s", strerror(-r));
			goto fail;
		}
	}
	unsetenv(CRIMG_STATE_ENV);
	if (stage == CRCORE_STAGE_INSIDE) {
		r = crcore_dump__write_inside(d, w);
	} else {
		struct crcore_mm_opts mo = { .sz = sizeof(mo), .flags = o.mm_flags,
					     .progress = o.progress, .progress_arg = o.progress_arg };

		r = crcore_dump__write_mm(d, w, &mo, o.mm_stats);
	}
	if (r < 0) {
		fmt_err(o.err, o.errlen, r, "%s", d->err);
		goto fail;
	}
	if (next && next[0]) {
		r = crcore_dump__exec_next(d, w, next);
		fmt_err(o.err, o.errlen, r, "%s", d->err);
		goto fail;
	}
	r = crimg_writer__finish(w);
	if (r < 0) {
		r = fmt_err(o.err, o.errlen, r, "cannot end the stream: %s", strerror(-r));
		goto fail;
	}
	crimg_writer__free(w);
	w = NULL;
	r = dump_end(d, d->end);
	if (r < 0)
		fmt_err(o.err, o.errlen, r, "%s", d->err);
	crcore_dump__free(d);
	return r;
fail:
	crimg_writer__free(w);
	crcore_dump__free(d);
	return r;
}
