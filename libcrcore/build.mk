# libcrcore: the dump and restore engine for process state.
# Sources: libcrcore/*.c.  The dump side registers its tools and extra
# rules in libcrcore/dump.mk, the restore side (and its freestanding
# restorer code) in libcrcore/restore.mk.
CRCORE_SRCS := $(sort $(wildcard libcrcore/*.c))
CRCORE_EXTRA_OBJS :=
-include libcrcore/dump.mk
-include libcrcore/restore.mk
CRCORE_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(CRCORE_SRCS)) $(CRCORE_EXTRA_OBJS)
PUBLIC_HEADERS += include/crcore.h
$(eval $(call LIBRARY,crcore,0,$(CRCORE_OBJS),-lsoccr -lcompel -lcrimg $(PROTOBUF_LIBS) $(CAP_LIBS),libcrimg libcompel libsoccr,checkpoint and restore engine))
$(B)/lib/libcrcore.so.0: $(B)/lib/libcrimg.so $(B)/lib/libcompel.so $(B)/lib/libsoccr.so
