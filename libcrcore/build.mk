# libcrcore: the dump and restore engine for process state.
CRCORE_SRCS := $(sort $(wildcard libcrcore/*.c))
CRCORE_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(CRCORE_SRCS))
PUBLIC_HEADERS += include/crcore.h
$(eval $(call LIBRARY,crcore,0,$(CRCORE_OBJS),-lsoccr -lcompel -lcrimg $(PROTOBUF_LIBS) $(CAP_LIBS),libcrimg libcompel libsoccr,checkpoint and restore engine))
$(B)/lib/libcrcore.so.0: $(B)/lib/libcrimg.so $(B)/lib/libcompel.so $(B)/lib/libsoccr.so
