// A per-process folder for the files tests write: ctest -j runs test cases
// of one executable in parallel processes, and two clones may run at once,
// so a fixed /tmp name would be written and removed under another test.
// The folder is removed when the process that made it exits.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace xpu_test {

// "<temp dir>/xpusim_test_<pid>/": append the file's own name.
inline std::string tmp_prefix() {
  struct Dir {
    pid_t owner = ::getpid();
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("xpusim_test_" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      // A forked child (sweep workers) exiting must not remove its parent's files.
      if (::getpid() != owner) return;
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path.string() + "/";
}

}  // namespace xpu_test
