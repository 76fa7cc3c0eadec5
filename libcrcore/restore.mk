# libcrcore/restore.mk: the restore side (cr-assemble and the restorer).
#
# The restorer (libcrcore/restorer/) runs inside the new process after
# everything else is unmapped: it is freestanding (no libc, never
# sanitized), compiled position-independent and linked into one flat
# blob (restorer.lds: entry at offset 0) that libcrcore embeds and copies
# into the restorer area.  The blob must carry no relocations: absolute
# or GOT relocations in its objects fail the build.
$(eval $(call TOOL,cr-assemble,crcore))

RST_DIR := $(B)/obj/rstblob
RST_C_SRCS := $(sort $(wildcard libcrcore/restorer/*.c))
RST_OBJS := $(patsubst %.c,$(RST_DIR)/%.o,$(RST_C_SRCS)) $(RST_DIR)/libcrcore/restorer/entry.o
RST_CFLAGS := -std=gnu11 -O2 $(WARN) -ffreestanding -fno-builtin -nostdlib -fno-stack-protector \
	-fPIE -fvisibility=hidden -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none -fno-common \
	-mno-red-zone -MMD -MP

$(RST_DIR)/%.o: %.c | $(B)/.gen
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(RST_CFLAGS) -c -o $@ $<
	$(Q)if readelf -rW $@ | grep -E 'R_X86_64_(64|32|32S|GOTPCREL[A-Z]*|GOT64)[[:space:]]' >&2; then \
		echo "$<: the restorer must be position-independent without relocations" >&2; \
		rm -f $@; exit 1; fi

$(RST_DIR)/%.o: %.S | $(B)/.gen
	$(call say,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(RST_CFLAGS) -c -o $@ $<

$(RST_DIR)/restorer.elf: $(RST_OBJS) libcrcore/restorer/restorer.lds
	$(call say,LD,$@)
	$(Q)$(CC) -nostdlib -static -Wl,-T,libcrcore/restorer/restorer.lds -Wl,--build-id=none \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -o $@ $(RST_OBJS)

$(RST_DIR)/restorer.bin: $(RST_DIR)/restorer.elf
	$(call say,OBJCOPY,$@)
	$(Q)objcopy -O binary -j .blob $< $@

$(RST_DIR)/blob.S: libcrcore/restore.mk
	@mkdir -p $(@D)
	$(Q)printf '%s\n' '	.section .rodata.crcore_restorer, "a"' '	.balign 4096' \
		'	.globl crcore__restorer_blob' '	.hidden crcore__restorer_blob' \
		'crcore__restorer_blob:' '	.incbin "$(RST_DIR)/restorer.bin"' \
		'	.globl crcore__restorer_blob_end' '	.hidden crcore__restorer_blob_end' \
		'crcore__restorer_blob_end:' '	.section .note.GNU-stack, "", @progbits' > $@

$(RST_DIR)/blob.o: $(RST_DIR)/blob.S $(RST_DIR)/restorer.bin
	$(call say,AS,$@)
	$(Q)$(CC) -c -o $@ $<

CRCORE_EXTRA_OBJS += $(RST_DIR)/blob.o
