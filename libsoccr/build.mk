# libsoccr: save and restore a live TCP connection, and cr-tcp.
# libnftables (the network lock) is loaded with dlopen when a lock is
# first made: programs that never lock (and the static library's users)
# do not need it, and a host without nftables still saves and restores.
SOCCR_SRCS := $(sort $(wildcard libsoccr/*.c))
SOCCR_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(SOCCR_SRCS))
PUBLIC_HEADERS += include/soccr.h
$(eval $(call LIBRARY,soccr,0,$(SOCCR_OBJS),-lcrimg $(PROTOBUF_LIBS) -ldl,libcrimg,save and restore TCP connections))
$(B)/lib/libsoccr.so.0: $(B)/lib/libcrimg.so
$(eval $(call TOOL,cr-tcp,soccr))
