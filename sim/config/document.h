#pragma once
// A YAML file loaded once at the edge, with the -p overrides applied to its
// tree before anything is typed. Models never see these nodes.
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/config/diagnostics.h"

namespace xpu::config {

class Document {
 public:
  // Throws ConfigError naming the file on a missing/unreadable file or bad YAML.
  static Document load(const std::string& path);
  static Document parse(const std::string& text, const std::string& name);

  // "mxu.rows=128": the value is read as YAML, so lists ("[1,2]") work too.
  // Throws ConfigError on a malformed assignment or a path through a scalar.
  void apply_override(const std::string& assignment);
  void apply_overrides(const std::vector<std::string>& assignments);

  const std::string& file() const { return file_; }
  const YAML::Node& root() const { return root_; }
  // The -p text that set `key_path`, or "" if the value came from the file.
  std::string override_for(const std::string& key_path) const;

 private:
  std::string file_;
  YAML::Node root_;
  std::map<std::string, std::string> overrides_;
};

}  // namespace xpu::config
