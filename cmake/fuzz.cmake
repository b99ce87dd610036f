# -DXPUSIM_FUZZ=ON: instrument everything for libFuzzer with ASan and UBSan
# (clang only) and build the fuzz_<target> binaries of tests/fuzz. Off by
# default: the normal build and `make test` need only gcc. `make fuzz` uses
# its own build folder (build-fuzz).
option(XPUSIM_FUZZ "Build the libFuzzer targets in tests/fuzz (clang, ASan + UBSan)" OFF)
if(XPUSIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "XPUSIM_FUZZ needs clang (CXX=clang++): libFuzzer ships with it (Debian: clang, libclang-rt-14-dev)")
  endif()
  # UBSan findings abort, so libFuzzer keeps the input like any crash.
  add_compile_options(-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
