#pragma once
// Errors in user input, located precisely: "file:line:col: key.path: message".
#include <stdexcept>
#include <string>
#include <vector>

namespace xpu::config {

struct Diagnostic {
  std::string file;      // file name, or "command line" for -p overrides
  int line = 0;          // 1-based; 0 when unknown
  int column = 0;        // 1-based; 0 when unknown
  std::string key_path;  // dotted, e.g. "mxu.rows"; empty for file-level errors
  std::string message;
  std::string to_string() const;
};

// Thrown with every diagnostic found, so a user fixes them all in one go.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diags);
  explicit ConfigError(Diagnostic d) : ConfigError(std::vector<Diagnostic>{std::move(d)}) {}
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { diags_.push_back(std::move(d)); }
  bool empty() const { return diags_.empty(); }
  size_t size() const { return diags_.size(); }
  const std::vector<Diagnostic>& all() const { return diags_; }
  void throw_if_any() const {
    if (!diags_.empty()) throw ConfigError(diags_);
  }

 private:
  std::vector<Diagnostic> diags_;
};

// Closest candidate by edit distance, or "" when none is close enough to help.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace xpu::config
