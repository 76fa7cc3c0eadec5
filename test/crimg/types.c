/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * types: the registry generated from every area's libcrimg/schema/AREA.types
 * is consistent: unique numbers and names, numbers outside the framing's
 * reserved range, raw types without a descriptor and message types with
 * one, lookups by number and by name agree.
 */
#include "crimg-test.h"

int main(void)
{
	const struct crimg_type_info *t, *u;
	int n = 0;

	crimg_for_each_type(t) {
		n++;
		t_assert(t->name && t->name[0] && t->doc);
		if (crimg_type_info(t->type) != t)
			t_fail("type 0x%x (%s) is registered twice", t->type, t->name);
		if (crimg_type_by_name(t->name) != t)
			t_fail("name %s is registered twice", t->name);
		if (t->type == CRIMG_T_TRAILER)
			continue;
		if (t->type <= 0xff)
			t_fail("type %s uses 0x%x, reserved for the framing", t->name, t->type);
		if ((t->flags & CRIMG_REC_RAW) && t->desc)
			t_fail("raw type %s has a message descriptor", t->name);
		if (!(t->flags & CRIMG_REC_RAW) && !t->desc)
			t_fail("message type %s has no descriptor (or lacks CRIMG_REC_RAW)", t->name);
		if (t->flags & ~(CRIMG_REC_RAW | CRIMG_REC_REQUIRED))
			t_fail("type %s has flags 0x%x", t->name, t->flags);
		crimg_for_each_type(u)
			if (u != t && u->desc && t->desc == u->desc && strcmp(u->name, t->name) > 0)
				t_log("note: %s and %s share %s", t->name, u->name, t->desc->name);
	}
	t_assert(n >= 5);
	t_assert(crimg_type_info(CRIMG_T_TEST_MSG)->desc == &crimg__test_msg__descriptor);
	t_assert(!crimg_type_info(0));
	t_assert(!crimg_type_by_name("NO_SUCH_TYPE"));
	t_assert(!crimg_type_by_name(NULL));
	t_log("%d types", n);
	return T_PASS;
}
