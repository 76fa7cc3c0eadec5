# Top-level Makefile: plain GNU make, correct under -j.
#
#   make              build libraries, tools, tests
#   make check        install missing Debian packages, build, run every test
#   make check SANITIZE=1   the same with ASan+UBSan (separate build dir)
#   make demo         checkpoint-and-restore demo on a bundled sample
#   make bench        benchmarks (figures and ratios, never pass/fail)
#   make fuzz         coverage-guided fuzzing of the stream reader
#   make install PREFIX=/usr/local DESTDIR=
#   make deps         install (as root on Debian) or list missing packages
#   V=1               show full commands
#
# Each directory lists its own sources in a build.mk included below.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

VERSION := 0.1.0

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif
B := $(BUILD)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
LIBEXECDIR ?= $(PREFIX)/libexec/cr
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
PROTOC_C ?= protoc-c

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-8s %s\n' $(1) $(2);
endif

# Packages are found through pkg-config; a missing one fails the build
# with a pointer to `make deps`.
pc = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
PROTOBUF_CFLAGS := $(call pc,--cflags,libprotobuf-c)
PROTOBUF_LIBS := $(or $(call pc,--libs,libprotobuf-c),-lprotobuf-c)
NL_CFLAGS := $(call pc,--cflags,libnl-3.0 libnl-route-3.0)
NL_LIBS := $(or $(call pc,--libs,libnl-3.0 libnl-route-3.0),-lnl-route-3 -lnl-3)
CAP_LIBS := -lcap
BSD_LIBS := -lbsd

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wshadow -Wformat=2 -Wno-format-nonliteral -Wundef -Wvla
OPT ?= -O2 -g
SAN_CFLAGS :=
SAN_LDFLAGS :=
ifeq ($(SANITIZE),1)
SAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif

CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude -I$(B)/include $(PROTOBUF_CFLAGS) $(NL_CFLAGS)
# Project code: hidden symbols, exports marked CRIMG_API etc.
CFLAGS_ALL = -std=gnu11 -fPIC -fvisibility=hidden $(OPT) $(WARN) $(SAN_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = $(SAN_LDFLAGS) $(LDFLAGS)

# Everything that must exist before any object is compiled (generated
# headers).  Directories append to it.
GEN_HEADERS :=
ALL_LIBS :=
ALL_SO :=
ALL_A :=
ALL_TOOLS :=
ALL_TESTS :=
ALL_TEST_HELPERS :=
ALL_BENCH :=
ALL_MAN :=
PUBLIC_HEADERS :=
PC_FILES :=
CLEAN_EXTRA :=

# ---- compile rules -------------------------------------------------
$(B)/obj/%.o: %.c | $(B)/.gen
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(EXTRA_CFLAGS_$(dir $<)) -c -o $@ $<

$(B)/obj/%.o: %.S | $(B)/.gen
	$(call say,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# Generated C (protobuf-c) is compiled without -Werror and with default
# visibility: the version script decides what is exported.
$(B)/obj/gen/%.o: $(B)/%.c | $(B)/.gen
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) -std=gnu11 -fPIC $(OPT) $(SAN_CFLAGS) -MMD -MP -c -o $@ $<

# ---- library macro ---------------------------------------------------
# $(call LIBRARY,name,soversion,objects,link-libs,pc-requires,description)
define LIBRARY
ALL_LIBS += $(1)
ALL_A += $(B)/lib/lib$(1).a
ALL_SO += $(B)/lib/lib$(1).so.$(2) $(B)/lib/lib$(1).so
PC_FILES += $(B)/lib/pkgconfig/lib$(1).pc
LIB_OBJS_$(1) := $(3)
LIB_LINK_$(1) := $(4)
$(B)/lib/lib$(1).a: $(3)
	$$(call say,AR,$$@)
	@mkdir -p $$(@D)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
$(B)/lib/lib$(1).so.$(2): $(3) lib$(1)/lib$(1).map
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -shared -Wl,-soname,lib$(1).so.$(2) -Wl,--version-script=lib$(1)/lib$(1).map \
		-Wl,-z,defs -Wl,--as-needed -Wl,-rpath,'$$$$ORIGIN' -o $$@ $(3) $(LDFLAGS_ALL) -L$(B)/lib $(4)
$(B)/lib/lib$(1).so: $(B)/lib/lib$(1).so.$(2)
	$(Q)ln -sf lib$(1).so.$(2) $$@
$(B)/lib/pkgconfig/lib$(1).pc: Makefile
	@mkdir -p $$(@D)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
		'Name: lib$(1)' 'Description: $(6)' 'Version: $(VERSION)' \
		'Requires: $(5)' 'Libs: -L$$$${libdir} -l$(1)' 'Cflags: -I$$$${includedir}' > $$@
endef

# ---- areas -----------------------------------------------------------
# An area is a library with its tools, tests and benchmarks: crimg,
# compel, soccr, crcore.  `make area-NAME` builds just that area (and the
# libraries it needs), `make check AREA=NAME` tests just that area.
# AREA_LIBS_<area> lists the libraries an area's tools/tests link, in
# link order.
AREA_LIBS_crimg := crimg
AREA_LIBS_compel := compel
AREA_LIBS_soccr := soccr crimg
AREA_LIBS_crcore := crcore soccr compel crimg
AREAS := crimg compel soccr crcore
EXT_LIBS = $(PROTOBUF_LIBS) $(NL_LIBS) $(CAP_LIBS) $(BSD_LIBS) -lpthread

# $(call TOOL,name,area): tools/NAME.c linked against the area's shared
# libraries, found next to the tool in the build tree and once installed
# ($(BINDIR)/../lib).  Extra link flags: TOOL_EXTRA_LIBS_<name>.
# DT_RPATH rather than DT_RUNPATH (--disable-new-dtags): a tool's own path
# is then also searched for the libraries it dlopen()s (cr-parasite loads
# libcrcore, cr-tcp libcompel), even when a sanitizer intercepts dlopen.
TOOL_RPATH := -Wl,--disable-new-dtags -Wl,-rpath,'$$$$ORIGIN/../lib'
TOOL_UTIL_OBJ := $(B)/obj/tools/util.o
define TOOL
ALL_TOOLS += $(B)/bin/$(1)
AREA_TARGETS_$(2) += $(B)/bin/$(1)
$(B)/bin/$(1): $(B)/obj/tools/$(1).o $(TOOL_UTIL_OBJ) $(foreach l,$(AREA_LIBS_$(2)),$(B)/lib/lib$(l).so)
	$$(call say,LD,$$@)
	@mkdir -p $$(@D)
	$(Q)$(CC) -o $$@ $$< $(TOOL_UTIL_OBJ) $(LDFLAGS_ALL) $(TOOL_RPATH) -L$(B)/lib \
		$(foreach l,$(AREA_LIBS_$(2)),-l$(l)) $(EXT_LIBS) $$(TOOL_EXTRA_LIBS_$(1))
endef

include libcrimg/build.mk
include libcompel/build.mk
include libsoccr/build.mk
include libcrcore/build.mk
include tools/build.mk
include test/build.mk
include bench/build.mk
include man/build.mk
include fuzz/build.mk
include demo/build.mk

$(B)/.gen: $(GEN_HEADERS)
	@mkdir -p $(@D)
	@touch $@

all: $(ALL_A) $(ALL_SO) $(PC_FILES) $(ALL_TOOLS) $(ALL_TESTS) $(ALL_TEST_HELPERS) $(ALL_BENCH) $(ALL_DEMO)
.PHONY: all

define AREA_RULE
area-$(1): $(foreach l,$(AREA_LIBS_$(1)),$(B)/lib/lib$(l).a $(B)/lib/lib$(l).so) $$(AREA_TARGETS_$(1))
.PHONY: area-$(1)
endef
$(foreach a,$(AREAS),$(eval $(call AREA_RULE,$(a))))

# ---- deps, check, demo, bench, fuzz --------------------------------
deps:
	$(Q)sh mk/deps.sh $(DEPS_SET)
.PHONY: deps

# `make check` first installs what is missing, then builds in a
# sub-make (so that pkg-config sees the new packages), then runs.
check:
	$(Q)sh mk/deps.sh test
	$(Q)$(MAKE) --no-print-directory $(if $(AREA),area-$(AREA),all)
	$(Q)CR_BUILD=$(abspath $(B)) SANITIZE=$(SANITIZE) bash test/run $(if $(AREA),$(AREA)/) $(TESTS)
.PHONY: check

demo:
	$(Q)sh mk/deps.sh build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)CR_BUILD=$(abspath $(B)) bash demo/run
.PHONY: demo

bench:
	$(Q)sh mk/deps.sh build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)CR_BUILD=$(abspath $(B)) bash bench/run $(BENCHES)
.PHONY: bench

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)sh mk/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) CR_BUILD=$(abspath $(B)) bash fuzz/run
.PHONY: fuzz

# ---- install ---------------------------------------------------------
install: all
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/crimg-proto \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	$(Q)for l in $(ALL_LIBS); do \
		install -m 644 $(B)/lib/lib$$l.a $(DESTDIR)$(LIBDIR)/ && \
		so=$$(readlink $(B)/lib/lib$$l.so) && \
		install -m 755 $(B)/lib/$$so $(DESTDIR)$(LIBDIR)/ && \
		ln -sf $$so $(DESTDIR)$(LIBDIR)/lib$$l.so || exit 1; done
	$(Q)for pc in $(PC_FILES); do \
		sed -e 's|^prefix=.*|prefix=$(PREFIX)|' -e 's|^libdir=.*|libdir=$(LIBDIR)|' \
		    -e 's|^includedir=.*|includedir=$(INCDIR)|' $$pc > $(DESTDIR)$(LIBDIR)/pkgconfig/$${pc##*/} || exit 1; done
	$(Q)install -m 755 $(ALL_TOOLS) $(DESTDIR)$(BINDIR)/
	$(Q)install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCDIR)/
	$(Q)install -m 644 $(PUBLIC_GEN_HEADERS) $(DESTDIR)$(INCDIR)/
	$(Q)install -m 644 $(PUBLIC_PROTO_HEADERS) $(DESTDIR)$(INCDIR)/crimg-proto/
	$(Q)for m in $(ALL_MAN); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	$(Q)$(INSTALL_EXTRA)
.PHONY: install

clean:
	rm -rf build build-san build-fuzz $(CLEAN_EXTRA)
.PHONY: clean

-include $(shell find $(B)/obj $(B)/obj-plain -name '*.d' 2>/dev/null)
