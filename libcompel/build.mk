# libcompel: seize, remote syscalls, parasite injection.
COMPEL_SRCS := $(sort $(wildcard libcompel/*.c libcompel/arch/x86_64/*.c))
COMPEL_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(COMPEL_SRCS))
PUBLIC_HEADERS += include/compel.h
$(eval $(call LIBRARY,compel,0,$(COMPEL_OBJS),,,inject code into a live process))
