# fuzz: `make fuzz` builds the stream-reader fuzzer (libFuzzer, clang) in
# build-fuzz/ and runs it; see fuzz/run.  Owned by the crimg area.
#
# The library is rebuilt in build-fuzz/ by a sub-make with clang, coverage
# instrumentation and ASan+UBSan; the harness links it with -fsanitize=fuzzer.
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes the reader ignore checksum
# mismatches, so that mutated inputs get past the checksums to the parsing.
FUZZ_B := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_HARNESSES := $(patsubst fuzz/%.c,$(FUZZ_B)/fuzz/%,$(sort $(wildcard fuzz/*.c)))

fuzz-build:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_B) CC=clang OPT="-O1 -g" \
		CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN) -fno-omit-frame-pointer \
		-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION" \
		LDFLAGS="$(FUZZ_SAN)" fuzz-harnesses
.PHONY: fuzz-build

# Only meaningful inside the sub-make above (BUILD=build-fuzz).
fuzz-harnesses: $(FUZZ_HARNESSES)
.PHONY: fuzz-harnesses

$(FUZZ_B)/fuzz/%: fuzz/%.c $(FUZZ_B)/lib/libcrimg.a
	$(call say,FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)clang $(CPPFLAGS_ALL) -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
		$(FUZZ_B)/lib/libcrimg.a $(PROTOBUF_LIBS)
