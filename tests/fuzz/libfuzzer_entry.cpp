// The libFuzzer entry point of one target; XPUSIM_FUZZ_TARGET names it.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const xpu::fuzz::Target* target = [] {
    const auto* t = xpu::fuzz::find_target(XPUSIM_FUZZ_TARGET);
    if (!t) {
      std::fprintf(stderr, "unknown fuzz target %s\n", XPUSIM_FUZZ_TARGET);
      std::abort();
    }
    return t;
  }();
  target->run(data, size);
  return 0;
}

// libsystemc's main() calls sc_main(); libFuzzer's main() wins, but the
// symbol must exist.
extern "C" int sc_main(int, char**) { return 0; }
