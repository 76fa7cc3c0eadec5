# the demo's sample program (plain libc, no project libraries)
ALL_DEMO := $(B)/demo/sample
$(B)/demo/%: $(B)/obj/demo/%.o
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -o $@ $< $(LDFLAGS_ALL)
