#pragma once
// A YAML file loaded once at the edge, with the -p overrides applied to its
// tree before anything is typed. Models never see these nodes.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/config/diagnostics.h"

namespace xpu::config {

// What a config reader asked for at one key path: its type, default (empty:
// required) and allowed range, as text (docs/CONFIG.md is generated from it).
struct KeyInfo {
  std::string type;
  std::string default_value;
  std::string range;
};

// Input files must be regular files (not a directory, device or FIFO: reading
// /dev/zero would never end) no larger than these: text inputs (YAML,
// SCALE-Sim cfg and CSV) are hand-written and small; ONNX models carry their
// weights (ResNet-50 in fp32 is about 100 MB).
inline constexpr uint64_t kMaxTextFileBytes = uint64_t(16) << 20;
inline constexpr uint64_t kMaxBinaryFileBytes = uint64_t(512) << 20;
// yaml-cpp stops parsing nested collections at this depth (its own guard,
// which keeps its recursive parser from overflowing the stack).
inline constexpr int kMaxYamlDepth = 500;

// The whole content of an input file; throws ConfigError naming the file when
// it is missing, not a regular file, larger than `max_bytes` or unreadable.
std::string read_input_file(const std::string& path, uint64_t max_bytes = kMaxTextFileBytes);

// An override written in a file (an experiment's `set:` map, a sweep's grid
// value) rather than given with -p: errors in its value are reported at
// file:line:col. The origin rides in the assignment string, so that it
// travels wherever -p assignments do; plain_override() strips it for display.
std::string located_override(const std::string& assignment, const std::string& file, int line, int column);
std::string plain_override(const std::string& assignment);

class Document {
 public:
  // Throws ConfigError naming the file on a missing/unreadable file or bad YAML.
  static Document load(const std::string& path);
  static Document parse(const std::string& text, const std::string& name);

  // "mxu.rows=128": the value is read as YAML, so lists ("[1,2]") work too.
  // A role prefix (workload., experiment.; overrides.h) is removed first.
  // Throws ConfigError on a malformed assignment or a path through a scalar.
  void apply_override(const std::string& assignment);
  void apply_overrides(const std::vector<std::string>& assignments);

  const std::string& file() const { return file_; }
  const YAML::Node& root() const { return root_; }
  // The -p text that set `key_path` (or a key below or above it), or "" if
  // the value came from the file.
  std::string override_for(const std::string& key_path) const;
  // Every key path a Reader asked this document for, present or defaulted:
  // the schema a config reader accepts (docs/CONFIG.md is generated from it).
  const std::map<std::string, KeyInfo>& asked_keys() const { return asked_; }
  void note_asked(const std::string& key_path, const KeyInfo& info = {}) const {
    KeyInfo& k = asked_[key_path];
    if (!info.type.empty()) k = info;
  }
  // The error `message` about the overridden `key_path`, located where the
  // override was written: "command line (-p ...)" or its file:line:col.
  Diagnostic override_diagnostic(const std::string& key_path, const std::string& message) const;

 private:
  std::string file_;
  YAML::Node root_;
  std::map<std::string, std::string> overrides_;  // key path -> assignment (located form kept)
  mutable std::map<std::string, KeyInfo> asked_;
};

}  // namespace xpu::config
