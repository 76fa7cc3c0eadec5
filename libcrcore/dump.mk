# libcrcore/dump.mk: the dump side (cr-freeze, cr-dumpmm, cr-dump; the
# cr-parasite stage logic lives in libcrcore/dump-inside.c).
$(eval $(call TOOL,cr-freeze,crcore))
$(eval $(call TOOL,cr-dumpmm,crcore))
$(eval $(call TOOL,cr-dump,crcore))
# DT_RPATH (not RUNPATH): it also finds libcompel & co. that libcrcore.so
# needs, which have no runpath of their own.
TOOL_EXTRA_LIBS_cr-freeze := -Wl,--disable-new-dtags
TOOL_EXTRA_LIBS_cr-dumpmm := -Wl,--disable-new-dtags
TOOL_EXTRA_LIBS_cr-dump := -Wl,--disable-new-dtags
# cr-dump runs cr-parasite (the compel area's tool, whose stage mode loads
# libcrcore): the crcore area needs it built.
AREA_TARGETS_crcore += $(B)/bin/cr-parasite
