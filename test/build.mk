# tests: test/<area>/<name>.c is one test program (exit 0 pass, 1 fail,
# 77 skip); test/<area>/<name>.sh one test script; test/<area>/helpers/*.c
# are programs the tests run (victims, peers).  test/lib/*.c is linked
# into every test, helper and benchmark.  An area's programs link the
# static libraries of AREA_LIBS_<area> (tests may use internals).
TEST_LIB_SRCS := $(sort $(wildcard test/lib/*.c))
TEST_LIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(TEST_LIB_SRCS))

define TEST_AREA
TESTS_$(1) := $$(patsubst test/%.c,$(B)/test/%,$$(sort $$(wildcard test/$(1)/*.c test/$(1)/helpers/*.c)))
ALL_TESTS += $$(TESTS_$(1))
AREA_TARGETS_$(1) += $$(TESTS_$(1))
$(B)/test/$(1)/%: $(B)/obj/test/$(1)/%.o $(TEST_LIB_OBJS) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a)
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -o $$@ $$< $(TEST_LIB_OBJS) $(LDFLAGS_ALL) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a) \
		$(EXT_LIBS) $$(TEST_EXTRA_LIBS_$(1))
endef
$(foreach a,$(AREAS),$(eval $(call TEST_AREA,$(a))))
