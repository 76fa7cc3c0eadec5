# libcompel: seize, remote syscalls, parasite injection.
#
# The parasite runtime (libcompel/parasite/*.c and the arch entry code)
# is freestanding: it is compiled with its own flags (no sanitizers, no
# libc, position independent), linked and flattened by compel-blob into
# a C array that is compiled into the library.
COMPEL_SRCS := $(sort $(wildcard libcompel/*.c libcompel/arch/x86_64/*.c))
COMPEL_PARASITE_SRCS := $(sort $(wildcard libcompel/parasite/*.c)) libcompel/arch/x86_64/parasite-entry.S
COMPEL_PARASITE_OBJS := $(patsubst %,$(B)/parasite/%.o,$(COMPEL_PARASITE_SRCS))
COMPEL_RT_BLOB_C := $(B)/parasite/compel-rt-blob.c
COMPEL_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(COMPEL_SRCS)) $(B)/obj/parasite/compel-rt-blob.o
PUBLIC_HEADERS += include/compel.h include/compel-parasite.h
$(eval $(call LIBRARY,compel,0,$(COMPEL_OBJS),,,inject code into a live process))

# Flags for parasite code; compel-blob --cflags prints the same set.
COMPEL_PARASITE_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -fpie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none \
	-mgeneral-regs-only $(WARN) -Iinclude -Ilibcompel

$(B)/parasite/%.c.o: %.c
	$(call say,PARASITE,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(COMPEL_PARASITE_CFLAGS) -c -o $@ $<

$(B)/parasite/%.S.o: %.S
	$(call say,PARASITE,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(COMPEL_PARASITE_CFLAGS) -c -o $@ $<

$(COMPEL_PARASITE_OBJS): libcompel/rpc.h include/compel-parasite.h

$(COMPEL_RT_BLOB_C): $(COMPEL_PARASITE_OBJS) $(B)/bin/compel-blob
	$(call say,BLOB,$@)
	$(Q)$(B)/bin/compel-blob -n compel_rt_blob -o $@ $(COMPEL_PARASITE_OBJS)

$(B)/obj/parasite/compel-rt-blob.o: $(COMPEL_RT_BLOB_C)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# compel-blob: a build tool too, so it links no library of ours.
ALL_TOOLS += $(B)/bin/compel-blob
AREA_TARGETS_compel += $(B)/bin/compel-blob
$(B)/bin/compel-blob: $(B)/obj/tools/compel-blob.o $(TOOL_UTIL_OBJ)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL)

# cr-parasite: its syscall names come from the system's own headers.
COMPEL_SYSNAMES := $(B)/include/compel-sysnames.h
GEN_HEADERS += $(COMPEL_SYSNAMES)
$(COMPEL_SYSNAMES): libcompel/build.mk
	@mkdir -p $(@D)
	$(Q)echo '#include <sys/syscall.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/{ "\1", \2 },/p' | sort > $@.tmp && mv $@.tmp $@
$(eval $(call TOOL,cr-parasite,compel))
# The pipeline stage mode loads libcrcore at run time (dlopen), so the
# compel area builds without it; DT_RPATH (not RUNPATH) so that the
# libraries libcrcore needs are found next to it too.
TOOL_EXTRA_LIBS_cr-parasite := -ldl

# Test blobs: test/compel/blobs/NAME.c built by compel-blob into
# $(B)/test/compel/blobs/NAME.blob, as a user of the library would.
COMPEL_TEST_BLOBS := $(patsubst test/compel/blobs/%.c,$(B)/test/compel/blobs/%.blob,$(wildcard test/compel/blobs/*.c))
AREA_TARGETS_compel += $(COMPEL_TEST_BLOBS)
ALL_TEST_HELPERS += $(COMPEL_TEST_BLOBS)
$(B)/test/compel/blobs/%.o: test/compel/blobs/%.c include/compel-parasite.h
	$(call say,PARASITE,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(COMPEL_PARASITE_CFLAGS) -c -o $@ $<
$(B)/test/compel/blobs/%.blob: $(B)/test/compel/blobs/%.o $(B)/bin/compel-blob
	$(call say,BLOB,$@)
	$(Q)$(B)/bin/compel-blob -o $@ $<
