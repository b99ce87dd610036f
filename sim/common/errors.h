#pragma once
// The error classes every layer throws, by whose fault the run stopped. The
// CLI maps them to exit codes: bad input (config, workload, lowering, I/O) 1,
// internal invariant failures 2.
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace xpu {

// A model or lowering invariant that valid input can never break: a bug in
// xpusim, not in the user's files. Exit 2, asking for a report.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A file or directory that cannot be read or written (missing, a file where a
// directory is needed, read-only or full disk). Carries the path and the OS
// error, exit 1.
class IoError : public std::runtime_error {
 public:
  IoError(const std::string& path, const std::string& what, int err = errno)
      : std::runtime_error(path + ": " + what + (err ? std::string(": ") + std::strerror(err) : std::string())),
        path_(path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace xpu
