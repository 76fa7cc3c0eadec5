# libsoccr: save and restore a live TCP connection.
SOCCR_SRCS := $(sort $(wildcard libsoccr/*.c))
SOCCR_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(SOCCR_SRCS))
PUBLIC_HEADERS += include/soccr.h
$(eval $(call LIBRARY,soccr,0,$(SOCCR_OBJS),-lcrimg $(PROTOBUF_LIBS),libcrimg,save and restore TCP connections))
$(B)/lib/libsoccr.so.0: $(B)/lib/libcrimg.so
