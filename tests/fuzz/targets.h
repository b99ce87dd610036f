#pragma once
// Fuzz targets, one per input parser. Each feeds bytes to the same parse and
// validate entry point `xpusim validate` uses and returns normally when the
// input is accepted or rejected with the project's own located error
// (config::ConfigError, xpu::IoError). Anything else -- a crash, a sanitizer
// report, another exception, a hang, runaway memory -- escapes and is a
// finding. Built two ways: as libFuzzer binaries (libfuzzer_entry.cpp, clang,
// ASan + UBSan, cmake -DXPUSIM_FUZZ=ON) and into fuzz_replay (replay.cpp,
// any compiler), which replays the seed and regression corpora in ctest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xpu::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

struct Target {
  std::string name;  // also the corpus folder: tests/fuzz/{corpus,regressions}/<name>
  TargetFn run;
};

const std::vector<Target>& targets();
// nullptr when unknown.
const Target* find_target(const std::string& name);

}  // namespace xpu::fuzz
