#pragma once
// --help for the benchmarks: each prints its usage and exits 0; a bad
// argument prints it to stderr and exits 1 (never an abort deep inside).
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace xpu::bench {

// Exits 0 after printing `usage` when any argument is -h or --help.
inline void answer_help(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::fputs(usage, stdout);
      std::exit(0);
    }
}

[[noreturn]] inline void bad_argument(const char* arg, const char* usage) {
  std::fprintf(stderr, "error: bad argument '%s'\n%s", arg, usage);
  std::exit(1);
}

// A whole positive decimal number, or bad_argument.
inline unsigned long long positive_argument(const char* arg, const char* usage) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(arg, &end, 10);
  if (arg[0] == '-' || end == arg || *end != '\0' || v == 0) bad_argument(arg, usage);
  return v;
}

}  // namespace xpu::bench
