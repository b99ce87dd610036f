// Replays corpus files through the fuzz targets (targets.h) without
// libFuzzer, so any compiler can run them; ctest runs the seed and
// regression corpora this way. A crash, sanitizer report or escaping
// exception fails the run (the process dies); the file is printed first.
//   fuzz_replay TARGET FILE|DIR...     one target
//   fuzz_replay --all FUZZ_DIR         every target over FUZZ_DIR/{corpus,regressions}/<target>/
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& p) {
  std::vector<fs::path> out;
  if (fs::is_directory(p)) {
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  } else if (fs::is_regular_file(p)) {
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t replay(const xpu::fuzz::Target& t, const std::vector<fs::path>& files) {
  for (const auto& f : files) {
    std::fprintf(stderr, "%s: %s\n", t.name.c_str(), f.c_str());
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TARGET FILE|DIR... | --all FUZZ_DIR\n", argv[0]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  size_t n = 0;
  if (std::string(argv[1]) == "--all") {
    const fs::path dir = argv[2];
    for (const auto& t : xpu::fuzz::targets()) {
      size_t here = 0;
      for (const char* kind : {"corpus", "regressions"}) here += replay(t, files_in(dir / kind / t.name));
      if (here == 0) {
        std::fprintf(stderr, "no corpus files for target %s under %s\n", t.name.c_str(), dir.c_str());
        return 1;
      }
      n += here;
    }
  } else {
    const auto* t = xpu::fuzz::find_target(argv[1]);
    if (!t) {
      std::fprintf(stderr, "unknown target %s\n", argv[1]);
      return 2;
    }
    for (int i = 2; i < argc; ++i) n += replay(*t, files_in(argv[i]));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("replayed %zu inputs without a finding in %.2f s\n", n, s);
  return 0;
}

extern "C" int sc_main(int, char**) { return 0; }
