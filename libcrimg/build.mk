# libcrimg: the image stream and the schema of every record type.
#
# Schemas: libcrimg/schema/<area>.proto (package crimg) and
# libcrimg/schema/<area>.types, one line per record type:
#   CRIMG_TYPE(0x0401, TCP_CONN, crimg__tcp_conn__descriptor, CRIMG_REC_REQUIRED, "a TCP connection")
# (descriptor NULL and flags CRIMG_REC_RAW for a raw type).  Each area owns
# its two files; the build generates <crimg-types.h> and <crimg-proto.h>.

CRIMG_PROTOS := $(sort $(wildcard libcrimg/schema/*.proto))
CRIMG_TYPEFILES := $(sort $(wildcard libcrimg/schema/*.types))
CRIMG_PB_C := $(patsubst libcrimg/schema/%.proto,$(B)/include/crimg-proto/%.pb-c.c,$(CRIMG_PROTOS))
CRIMG_PB_H := $(CRIMG_PB_C:.c=.h)
CRIMG_SRCS := $(sort $(wildcard libcrimg/*.c))
CRIMG_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(CRIMG_SRCS)) \
	$(patsubst $(B)/%.c,$(B)/obj/gen/%.o,$(CRIMG_PB_C))

GEN_HEADERS += $(CRIMG_PB_H) $(B)/include/crimg-types.h $(B)/include/crimg-types.def $(B)/include/crimg-proto.h
PUBLIC_HEADERS += include/crimg.h
PUBLIC_GEN_HEADERS += $(B)/include/crimg-types.h $(B)/include/crimg-proto.h
PUBLIC_PROTO_HEADERS += $(CRIMG_PB_H)

# protoc-c writes both files; the .h rule depends on the .c rule.
$(B)/include/crimg-proto/%.pb-c.c: libcrimg/schema/%.proto
	$(call say,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)$(PROTOC_C) --proto_path=libcrimg/schema --c_out=$(@D) $< || \
		{ echo "protoc-c failed or is missing: run 'make deps'" >&2; exit 1; }
$(B)/include/crimg-proto/%.pb-c.h: $(B)/include/crimg-proto/%.pb-c.c
	@test -f $@

$(B)/include/crimg-types.def: $(CRIMG_TYPEFILES) libcrimg/build.mk
	@mkdir -p $(@D)
	$(Q)cat /dev/null $(CRIMG_TYPEFILES) | grep '^CRIMG_TYPE(' > $@.tmp || true
	$(Q)mv $@.tmp $@

$(B)/include/crimg-types.h: $(B)/include/crimg-types.def
	$(Q){ echo '/* generated from the libcrimg/schema .types files: record type numbers */'; \
	  echo '#ifndef CRIMG_TYPES_H'; echo '#define CRIMG_TYPES_H'; \
	  sed -n 's/^CRIMG_TYPE( *\([^ ,]*\) *, *\([A-Z0-9_]*\) *,.*/#define CRIMG_T_\2 \1u/p' $<; \
	  echo '#endif'; } > $@.tmp && mv $@.tmp $@

$(B)/include/crimg-proto.h: $(CRIMG_PB_H) libcrimg/build.mk
	$(Q){ echo '/* generated: every message of the image schema */'; \
	  echo '#ifndef CRIMG_PROTO_H'; echo '#define CRIMG_PROTO_H'; \
	  for h in $(notdir $(CRIMG_PB_H)); do echo "#include <crimg-proto/$$h>"; done; \
	  echo '#endif'; } > $@.tmp && mv $@.tmp $@

$(eval $(call LIBRARY,crimg,0,$(CRIMG_OBJS),$(PROTOBUF_LIBS),libprotobuf-c,the checkpoint image stream))

# cr-show: the image inspector (decode to JSON, views, encode back).
$(eval $(call TOOL,cr-show,crimg))
