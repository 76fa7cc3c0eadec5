# libcrcore/dump.mk: the dump side (cr-freeze, cr-dumpmm, cr-dump; the
# cr-parasite stage logic lives in libcrcore/dump-inside.c).
$(eval $(call TOOL,cr-freeze,crcore))
$(eval $(call TOOL,cr-dumpmm,crcore))
$(eval $(call TOOL,cr-dump,crcore))
# cr-dump runs cr-parasite (the compel area's tool, whose stage mode loads
# libcrcore): the crcore area needs it built.
AREA_TARGETS_crcore += $(B)/bin/cr-parasite

# The dump's parasite blob (libcrcore/dump-parasite/*.c): freestanding,
# never sanitized, flattened by compel-blob into a C array linked into
# libcrcore.
CRD_PARASITE_SRCS := $(sort $(wildcard libcrcore/dump-parasite/*.c))
CRD_PARASITE_OBJS := $(patsubst %.c,$(B)/crd-parasite/%.o,$(CRD_PARASITE_SRCS))
CRD_BLOB_C := $(B)/crd-parasite/crcore-dump-blob.c
CRCORE_EXTRA_OBJS += $(B)/obj/crd-parasite/crcore-dump-blob.o
$(B)/crd-parasite/%.o: %.c libcrcore/dump-parasite/zc.h include/compel-parasite.h
	$(call say,PARASITE,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(COMPEL_PARASITE_CFLAGS) -Ilibcrcore/dump-parasite -c -o $@ $<
$(CRD_BLOB_C): $(CRD_PARASITE_OBJS) $(B)/bin/compel-blob
	$(call say,BLOB,$@)
	$(Q)$(B)/bin/compel-blob -n crcore_dump_blob -o $@ $(CRD_PARASITE_OBJS)
$(B)/obj/crd-parasite/crcore-dump-blob.o: $(CRD_BLOB_C)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<
# the tree tests read images with cr-show
AREA_TARGETS_crcore += $(B)/bin/cr-show
