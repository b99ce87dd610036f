#include "sim/config/document.h"

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <sys/stat.h>

#include <yaml-cpp/depthguard.h>

#include "sim/config/overrides.h"

namespace xpu::config {

std::string read_input_file(const std::string& path, uint64_t max_bytes) {
  auto fail = [&](const std::string& what) { throw ConfigError(Diagnostic{path, 0, 0, "", what}); };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(errno == ENOENT ? "no such file" : std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("is a directory, not a file");
  if (!S_ISREG(st.st_mode)) fail("is not a regular file (a device, FIFO or socket cannot be an input)");
  const std::string limit = std::to_string(max_bytes >> 20) + " MiB";
  if (uint64_t(st.st_size) > max_bytes)
    fail("is " + std::to_string(st.st_size) + " bytes, more than the " + limit + " an input file may have");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail(errno == EACCES ? "cannot be read (permission denied?)" : std::string("cannot be read: ") + std::strerror(errno));
  std::string out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
    out.append(buf, n);
    if (out.size() > max_bytes) fail("grew past the " + limit + " an input file may have while being read");
  }
  if (std::ferror(f.get())) fail("read error");
  return out;
}

Document Document::parse(const std::string& text, const std::string& name) {
  Document d;
  d.file_ = name;
  try {
    d.root_ = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError(Diagnostic{name, e.mark.line + 1, e.mark.column + 1, "",
                                 "malformed YAML: collections nested more than " + std::to_string(kMaxYamlDepth) +
                                     " levels deep"});
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

Document Document::load(const std::string& path) { return parse(read_input_file(path), path); }

namespace {

constexpr char kSep = '\x1f';  // cannot appear in a -p argument by accident

struct Origin {
  Diagnostic at;  // file, line, column of where the assignment was written
  std::string assignment;
};

// Splits a located_override() string; a plain assignment is the command line's.
Origin origin_of(const std::string& a) {
  Origin o;
  if (a.empty() || a[0] != kSep) {
    o.at.file = "command line (-p " + a + ")";
    o.assignment = a;
    return o;
  }
  const size_t f = a.find(kSep, 1), l = a.find(kSep, f + 1), c = a.find(kSep, l + 1);
  if (f == std::string::npos || l == std::string::npos || c == std::string::npos) {
    o.at.file = "command line (-p " + a + ")";
    o.assignment = a;
    return o;
  }
  o.at.file = a.substr(1, f - 1);
  o.at.line = std::atoi(a.substr(f + 1, l - f - 1).c_str());
  o.at.column = std::atoi(a.substr(l + 1, c - l - 1).c_str());
  o.assignment = a.substr(c + 1);
  return o;
}

}  // namespace

std::string located_override(const std::string& assignment, const std::string& file, int line, int column) {
  return kSep + file + kSep + std::to_string(line) + kSep + std::to_string(column) + kSep + assignment;
}

std::string plain_override(const std::string& assignment) { return origin_of(assignment).assignment; }

Diagnostic Document::override_diagnostic(const std::string& key_path, const std::string& message) const {
  Diagnostic d = origin_of(override_for(key_path)).at;
  d.key_path = key_path;
  // A value written in another file says which config it was applied to.
  d.message = d.line ? message + " (set for " + file_ + ")" : message;
  return d;
}

void Document::apply_override(const std::string& located) {
  const Origin origin = origin_of(located);
  // A role prefix (workload., experiment.) names the file the override is for.
  const std::string assignment = strip_role(origin.assignment);
  const auto error = [&](const std::string& path, const std::string& message) {
    Diagnostic d = origin.at;
    d.key_path = path;
    d.message = message;
    return ConfigError(d);
  };
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw error("", "expected -p key.path=value");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw error(path, "value is not valid YAML: " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw error(path, "empty component in key path");
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
      throw error(path, "'" + prefix + "' is not a mapping");
    }
    if (!next.IsDefined() || next.IsNull()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(cur[parts[i]]);
  }
  chain.back()[parts.back()] = value;
  overrides_[path] = located;
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
