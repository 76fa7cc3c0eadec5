# benchmarks: bench/<area>-<name>.c, run by bench/run.  They print figures
# and ratios against a baseline measured in the same run, and never fail
# on a slow machine.
define BENCH_AREA
BENCH_$(1) := $$(patsubst bench/%.c,$(B)/bench/%,$$(sort $$(wildcard bench/$(1)-*.c)))
ALL_BENCH += $$(BENCH_$(1))
AREA_TARGETS_$(1) += $$(BENCH_$(1))
$(B)/bench/$(1)-%: $(B)/obj/bench/$(1)-%.o $(TEST_LIB_OBJS) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a)
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -o $$@ $$< $(TEST_LIB_OBJS) $(LDFLAGS_ALL) $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a) $(EXT_LIBS)
endef
$(foreach a,$(AREAS),$(eval $(call BENCH_AREA,$(a))))
