#pragma once
// Helpers for tests that drive the xpusim binary.
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace xt {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

inline Result sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  Result r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline Result xpusim(const std::string& args) { return sh(std::string(XPUSIM_BINARY) + " " + args); }

inline std::string temp_dir() {
  char tmpl[] = "/tmp/xpusim_exp_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

inline void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

const std::string kSrc = XPUSIM_SOURCE_DIR;

}  // namespace xt
