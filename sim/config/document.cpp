#include "sim/config/document.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "sim/config/overrides.h"

namespace xpu::config {

Document Document::parse(const std::string& text, const std::string& name) {
  Document d;
  d.file_ = name;
  try {
    d.root_ = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(Diagnostic{name, e.mark.line + 1, e.mark.column + 1, "",
                                 "malformed YAML: " + e.msg});
  }
  if (!d.root_.IsDefined() || d.root_.IsNull()) {
    throw ConfigError(Diagnostic{name, 0, 0, "", "the file is empty"});
  }
  if (!d.root_.IsMap()) {
    throw ConfigError(Diagnostic{name, d.root_.Mark().line + 1, d.root_.Mark().column + 1, "",
                                 "expected a mapping of keys at the top level"});
  }
  return d;
}

Document Document::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ConfigError(Diagnostic{path, 0, 0, "", "no such file"});
  if (S_ISDIR(st.st_mode)) throw ConfigError(Diagnostic{path, 0, 0, "", "is a directory, not a file"});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(Diagnostic{path, 0, 0, "", "cannot be read (permission denied?)"});
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(Diagnostic{path, 0, 0, "", "read error"});
  return parse(ss.str(), path);
}

void Document::apply_override(const std::string& written) {
  const std::string where = "command line (-p " + written + ")";
  const std::string assignment = strip_role(written);
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(Diagnostic{where, 0, 0, "", "expected -p key.path=value"});
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(Diagnostic{where, 0, 0, path, "value is not valid YAML: " + e.msg});
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw ConfigError(Diagnostic{where, 0, 0, path, "empty component in key path"});
    parts.push_back(p);
  }
  // Walk with fresh handles: yaml-cpp's operator= on a bound node would
  // overwrite the node itself rather than rebind the handle.
  std::vector<YAML::Node> chain{root_};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    YAML::Node next = cur[parts[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
      std::string prefix;
      for (size_t j = 0; j <= i; ++j) prefix += (j ? "." : "") + parts[j];
      throw ConfigError(Diagnostic{where, 0, 0, path, "'" + prefix + "' is not a mapping"});
    }
    if (!next.IsDefined() || next.IsNull()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(cur[parts[i]]);
  }
  chain.back()[parts.back()] = value;
  overrides_[path] = written;
}

void Document::apply_overrides(const std::vector<std::string>& assignments) {
  std::vector<Diagnostic> errors;
  for (const auto& a : assignments) {
    try {
      apply_override(a);
    } catch (const ConfigError& e) {
      errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!errors.empty()) throw ConfigError(errors);
}

std::string Document::override_for(const std::string& key_path) const {
  auto it = overrides_.find(key_path);
  if (it != overrides_.end()) return it->second;
  // A key the override created on its way (-p experiment.x=1 creates
  // 'experiment' in an accelerator config), or one inside a mapping it set.
  for (const auto& [path, assignment] : overrides_)
    if (path.rfind(key_path + ".", 0) == 0 || key_path.rfind(path + ".", 0) == 0) return assignment;
  return "";
}

}  // namespace xpu::config
