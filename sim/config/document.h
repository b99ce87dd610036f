#pragma once
// A YAML file loaded once at the edge, with the -p overrides applied to its
// tree before anything is typed. Models never see these nodes.
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

 private:
  std::string file_;
  YAML::Node root_;
  std::map<std::string, std::string> overrides_;
  mutable std::map<std::string, KeyInfo> asked_;
};

}  // namespace xpu::config
