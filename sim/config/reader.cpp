#include "sim/config/reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace xpu::config {

Reader::Reader(const Document& doc, Diagnostics& diags)
    : Reader(&doc, &diags, doc.root(), "", true) {}

Reader::Reader(const Document* doc, Diagnostics* diags, YAML::Node node, std::string path,
               bool present)
    : doc_(doc), diags_(diags), node_(std::move(node)), path_(std::move(path)), present_(present) {}

Reader::Reader(Reader&& o) noexcept
    : doc_(o.doc_), diags_(o.diags_), node_(std::move(o.node_)), path_(std::move(o.path_)),
      present_(o.present_), finished_(o.finished_), known_(std::move(o.known_)) {
  o.finished_ = true;
}

Reader::~Reader() { finish(); }

std::string Reader::key_path(const std::string& key) const {
  if (key.empty()) return path_;
  return path_.empty() ? key : path_ + "." + key;
}

void Reader::error_at(const YAML::Node& n, const std::string& key, const std::string& message) {
  const std::string kp = key_path(key);
  if (!doc_->override_for(kp).empty()) {
    diags_->add(doc_->override_diagnostic(kp, message));
    return;
  }
  YAML::Mark m = n.IsDefined() ? n.Mark() : YAML::Mark::null_mark();
  if (m.is_null() && node_.IsDefined()) m = node_.Mark();
  if (m.is_null()) {
    diags_->add({doc_->file(), 0, 0, kp, message});
  } else {
    diags_->add({doc_->file(), m.line + 1, m.column + 1, kp, message});
  }
}

void Reader::error(const std::string& key, const std::string& message) {
  if (key.empty()) {
    error_at(node_, "", message);
    return;
  }
  error_at(child_node(key), key, message);
}

std::string Reader::describe(const YAML::Node& n) const {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null: return "nothing (null)";
    default: return "nothing";
  }
}

// Const access: yaml-cpp's non-const operator[] inserts the key it looks up.
YAML::Node Reader::child_node(const std::string& key) const {
  if (!present_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& cn = node_;
  return cn[key];
}

bool Reader::has(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  doc_->note_asked(key_path(key));
  YAML::Node n = child_node(key);
  return n.IsDefined() && !n.IsNull();
}

YAML::Node Reader::lookup(const std::string& key, bool required) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  doc_->note_asked(key_path(key));
  YAML::Node n = child_node(key);
  if (n.IsDefined() && !n.IsNull()) return n;
  if (required) {
    const std::string where = path_.empty() ? "at the top level" : "in '" + path_ + "'";
    error_at(node_, key, "missing required key " + where);
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

namespace {

std::string fmt_number(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::string s = std::to_string(x);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void Reader::note(const std::string& key, const std::string& type, const std::string& def, const std::string& range) {
  doc_->note_asked(key_path(key), KeyInfo{type, def, range});
}

static bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  std::string t;
  for (char c : s)
    if (c != '_') t += c;  // 1_000_000
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 0);
  if (errno != 0 || end == t.c_str() || *end != '\0') return false;
  out = v;
  return true;
}

int64_t Reader::integer(const std::string& key, std::optional<int64_t> def, int64_t min,
                        int64_t max) {
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  note(key, "integer", def ? std::to_string(*def) : "",
       min == lo && max == hi ? ""
       : max == hi            ? ">= " + std::to_string(min)
                              : std::to_string(min) + " .. " + std::to_string(max));
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(0);
  int64_t v = 0;
  auto expectation = [&]() {
    if (min >= 1) return std::string("a positive integer");
    if (min == 0) return std::string("a non-negative integer");
    return std::string("an integer");
  };
  if (!n.IsScalar() || !parse_int(n.Scalar(), v)) {
    error_at(n, key, "expected " + expectation() + ", got " + describe(n));
    return def.value_or(0);
  }
  if (v < min || v > max) {
    std::string range = max == std::numeric_limits<int64_t>::max()
                            ? ">= " + std::to_string(min)
                            : "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    error_at(n, key, "value " + std::to_string(v) + " out of range: expected " + range);
    return def.value_or(std::clamp(v, min, max));
  }
  return v;
}

int64_t Reader::positive(const std::string& key, std::optional<int64_t> def, int64_t max) {
  return integer(key, def, 1, max);
}

double Reader::number(const std::string& key, std::optional<double> def, double min, double max) {
  note(key, "number", def ? fmt_number(*def) : "",
       std::isinf(min) && std::isinf(max) ? ""
       : std::isinf(max)                  ? ">= " + fmt_number(min)
       : std::isinf(min)                  ? "<= " + fmt_number(max)
                                          : fmt_number(min) + " .. " + fmt_number(max));
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(0.0);
  double v = 0;
  bool ok = n.IsScalar();
  if (ok) {
    const std::string& s = n.Scalar();
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    ok = !s.empty() && end != s.c_str() && *end == '\0' && std::isfinite(v);
  }
  if (!ok) {
    error_at(n, key, "expected a finite number, got " + describe(n));
    return def.value_or(0.0);
  }
  if (v < min || v > max) {
    const auto fmt = fmt_number;
    std::string range = std::isinf(max) ? ">= " + fmt(min)
                        : std::isinf(min) ? "<= " + fmt(max)
                                          : "in [" + fmt(min) + ", " + fmt(max) + "]";
    error_at(n, key, "value " + n.Scalar() + " out of range: expected " + range);
    return def.value_or(std::clamp(v, min, max));
  }
  return v;
}

bool Reader::boolean(const std::string& key, std::optional<bool> def) {
  note(key, "boolean", def ? (*def ? "true" : "false") : "");
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(false);
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  error_at(n, key, "expected true or false, got " + describe(n));
  return def.value_or(false);
}

std::string Reader::string(const std::string& key, std::optional<std::string> def) {
  note(key, "string", def ? "\"" + *def + "\"" : "");
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or("");
  if (!n.IsScalar()) {
    error_at(n, key, "expected a string, got " + describe(n));
    return def.value_or("");
  }
  return n.Scalar();
}

std::string Reader::choice(const std::string& key, const std::vector<std::string>& allowed,
                           std::optional<std::string> def) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  note(key, "choice", def.value_or(""), list);
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(allowed.empty() ? "" : allowed.front());
  if (!n.IsScalar()) {
    error_at(n, key, "expected one of " + list + ", got " + describe(n));
    return def.value_or(allowed.front());
  }
  const std::string& s = n.Scalar();
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  std::string msg = "expected one of " + list + ", got \"" + s + "\"";
  std::string hint = did_you_mean(s, allowed);
  if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
  error_at(n, key, msg);
  return def.value_or(allowed.front());
}

uint64_t Reader::bytes(const std::string& key, std::optional<uint64_t> def) {
  note(key, "size in bytes", def ? std::to_string(*def) : "");
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(0);
  const std::string bad = "expected a size in bytes (e.g. 65536, \"64 KiB\", \"24 MiB\"), got ";
  if (!n.IsScalar()) {
    error_at(n, key, bad + describe(n));
    return def.value_or(0);
  }
  std::string s = n.Scalar();
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '_')) ++i;
  std::string num = s.substr(0, i), unit = s.substr(i);
  num.erase(std::remove(num.begin(), num.end(), '_'), num.end());
  unit.erase(std::remove_if(unit.begin(), unit.end(), [](unsigned char c) { return std::isspace(c); }),
             unit.end());
  static const std::vector<std::pair<std::string, double>> units = {
      {"", 1},         {"B", 1},          {"KiB", 1024.0},   {"MiB", 1048576.0},
      {"GiB", 1073741824.0}, {"KB", 1e3}, {"MB", 1e6},       {"GB", 1e9}};
  double mult = -1;
  for (const auto& u : units)
    if (u.first == unit) mult = u.second;
  char* end = nullptr;
  double v = num.empty() ? -1 : std::strtod(num.c_str(), &end);
  if (mult < 0 || num.empty() || *end != '\0' || v < 0) {
    error_at(n, key, bad + describe(n));
    return def.value_or(0);
  }
  double total = v * mult;
  if (total != std::floor(total) || total > 1.8e19) {
    error_at(n, key, "size " + s + " is not a whole number of bytes");
    return def.value_or(0);
  }
  return static_cast<uint64_t>(total);
}

std::vector<int64_t> Reader::integer_list(const std::string& key,
                                          std::optional<std::vector<int64_t>> def, int64_t min) {
  YAML::Node n = lookup(key, !def.has_value());
  if (!n.IsDefined()) return def.value_or(std::vector<int64_t>{});
  if (!n.IsSequence()) {
    error_at(n, key, "expected a list of integers, got " + describe(n));
    return def.value_or(std::vector<int64_t>{});
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < n.size(); ++i) {
    int64_t v = 0;
    if (!n[i].IsScalar() || !parse_int(n[i].Scalar(), v)) {
      error_at(n[i], key + "[" + std::to_string(i) + "]", "expected an integer, got " + describe(n[i]));
    } else if (v < min) {
      error_at(n[i], key + "[" + std::to_string(i) + "]",
               "value " + std::to_string(v) + " out of range: expected >= " + std::to_string(min));
    }
    out.push_back(v);
  }
  return out;
}

Reader Reader::map(const std::string& key, bool required) {
  note(key, "mapping", required ? "" : "{}");
  YAML::Node n = lookup(key, required);
  if (n.IsDefined() && !n.IsMap()) {
    error_at(n, key, "expected a mapping of keys, got " + describe(n));
    return Reader(doc_, diags_, YAML::Node(), key_path(key), false);
  }
  return Reader(doc_, diags_, n, key_path(key), n.IsDefined());
}

std::vector<Reader> Reader::map_list(const std::string& key, bool required) {
  YAML::Node n = lookup(key, required);
  std::vector<Reader> out;
  if (!n.IsDefined()) return out;
  if (!n.IsSequence()) {
    error_at(n, key, "expected a list, got " + describe(n));
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = key_path(key) + "[" + std::to_string(i) + "]";
    if (!n[i].IsMap()) {
      error_at(n[i], key + "[" + std::to_string(i) + "]", "expected a mapping, got " + describe(n[i]));
      continue;
    }
    out.push_back(Reader(doc_, diags_, n[i], p, true));
  }
  return out;
}

Reader Reader::map_at(const std::string& key, size_t index) {
  YAML::Node seq = lookup(key, false);
  const std::string item = key + "[" + std::to_string(index) + "]";
  const YAML::Node n = (seq.IsSequence() && index < seq.size())
                          ? YAML::Node(seq[index])
                          : YAML::Node(YAML::NodeType::Undefined);
  if (!n.IsMap()) {
    error_at(n, item, "expected a mapping, got " + describe(n));
    return Reader(doc_, diags_, YAML::Node(YAML::NodeType::Undefined), key_path(item), false);
  }
  return Reader(doc_, diags_, n, key_path(item), true);
}

std::vector<std::string> Reader::keys() {
  std::vector<std::string> out;
  if (!present_ || !node_.IsMap()) return out;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    out.push_back(it->first.Scalar());
    if (std::find(known_.begin(), known_.end(), out.back()) == known_.end()) known_.push_back(out.back());
  }
  return out;
}

YAML::Node Reader::node(const std::string& key) { return lookup(key, false); }

void Reader::finish() {
  if (finished_) return;
  finished_ = true;
  if (!present_ || !node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
    std::string msg = "unknown key";
    std::string hint = did_you_mean(k, known_);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    error_at(it->first, k, msg);
  }
}

}  // namespace xpu::config
