# fuzz: `make fuzz` builds the stream-reader fuzzer (libFuzzer, clang) in
# build-fuzz/ and runs it; see fuzz/run.  Owned by the crimg area.
fuzz-build:
.PHONY: fuzz-build
