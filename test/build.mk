# tests: test/<area>/<name>.c is one test program (exit 0 pass, 1 fail,
# 77 skip); test/<area>/<name>.sh one test script.  test/lib/*.c is linked
# into every test and benchmark.  An area's test programs link the static
# libraries of AREA_LIBS_<area> (tests may use internals).
#
# test/<area>/helpers/*.c are the programs the tests act on (victims,
# peers): plain programs, like the real ones we checkpoint.  They are
# never built with sanitizers (a sanitizer runtime would be part of the
# process under test) and link only libc, libpthread and a plain build of
# test/lib, never the project libraries.
TEST_LIB_SRCS := $(sort $(wildcard test/lib/*.c))
TEST_LIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(TEST_LIB_SRCS))
TEST_LIB_PLAIN_OBJS := $(patsubst %.c,$(B)/obj-plain/%.o,$(TEST_LIB_SRCS))
PLAIN_CFLAGS = -std=gnu11 $(OPT) $(WARN) -MMD -MP $(CFLAGS)

$(B)/obj-plain/%.o: %.c | $(B)/.gen
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(PLAIN_CFLAGS) -c -o $@ $<

define TEST_AREA
TESTS_$(1) := $$(patsubst test/%.c,$(B)/test/%,$$(sort $$(wildcard test/$(1)/*.c)))
HELPERS_$(1) := $$(patsubst test/%.c,$(B)/test/%,$$(sort $$(wildcard test/$(1)/helpers/*.c)))
ALL_TESTS += $$(TESTS_$(1))
ALL_TEST_HELPERS += $$(HELPERS_$(1))
AREA_TARGETS_$(1) += $$(TESTS_$(1)) $$(HELPERS_$(1))
$(B)/test/$(1)/helpers/%: $(B)/obj-plain/test/$(1)/helpers/%.o $(TEST_LIB_PLAIN_OBJS)
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -o $$@ $$< $(TEST_LIB_PLAIN_OBJS) $(LDFLAGS) -lpthread $$(HELPER_EXTRA_LIBS_$(1))
$(B)/test/$(1)/%: $(B)/obj/test/$(1)/%.o $(TEST_LIB_OBJS) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a)
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -o $$@ $$< $(TEST_LIB_OBJS) $$(LDFLAGS_ALL) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a) \
		$(EXT_LIBS) $$(TEST_EXTRA_LIBS_$(1))
endef
$(foreach a,$(AREAS),$(eval $(call TEST_AREA,$(a))))
