#pragma once
// Typed, strict access to one YAML mapping. Every problem is recorded as a
// Diagnostic (file:line:col: key.path: message) and parsing goes on, so one
// run reports every error. Keys never asked for are reported as unknown by
// finish(), with a "did you mean" among the keys that were asked for.
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/config/diagnostics.h"
#include "sim/config/document.h"

namespace xpu::config {

class Reader {
 public:
  // The document's root mapping.
  Reader(const Document& doc, Diagnostics& diags);
  // Finishes (reports unknown keys) if the caller did not.
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  Reader& operator=(Reader&&) = delete;

  bool has(const std::string& key);
  const std::string& path() const { return path_; }
  const Document& document() const { return *doc_; }
  Diagnostics& diagnostics() { return *diags_; }

  // Scalars. `def` empty means the key is required. On any error a
  // diagnostic is recorded and the default (or zero) is returned.
  int64_t integer(const std::string& key, std::optional<int64_t> def = std::nullopt,
                  int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max());
  // Convenience: an integer >= 1.
  int64_t positive(const std::string& key, std::optional<int64_t> def = std::nullopt,
                   int64_t max = std::numeric_limits<int64_t>::max());
  double number(const std::string& key, std::optional<double> def = std::nullopt,
                double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity());
  bool boolean(const std::string& key, std::optional<bool> def = std::nullopt);
  std::string string(const std::string& key, std::optional<std::string> def = std::nullopt);
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     std::optional<std::string> def = std::nullopt);
  // A size in bytes: an integer, or a string with a unit ("24 MiB", "64KiB", "1 GB").
  uint64_t bytes(const std::string& key, std::optional<uint64_t> def = std::nullopt);
  std::vector<int64_t> integer_list(const std::string& key,
                                    std::optional<std::vector<int64_t>> def = std::nullopt,
                                    int64_t min = std::numeric_limits<int64_t>::min());

  // Nested mapping. A missing optional mapping yields an empty Reader, whose
  // getters return their defaults (and report missing required keys).
  Reader map(const std::string& key, bool required = true);
  // Sequence of mappings.
  std::vector<Reader> map_list(const std::string& key, bool required = true);
  // Entry `index` of the sequence `key`, read as a mapping (an error if it is not).
  Reader map_at(const std::string& key, size_t index);
  // A free-form mapping's keys, in file order (marks every key as known).
  std::vector<std::string> keys();
  // Raw node, for callers that interpret free-form data (sweep values).
  YAML::Node node(const std::string& key);

  // Records an error at `key` (or at this mapping when key is empty).
  void error(const std::string& key, const std::string& message);
  // Reports unknown keys; idempotent.
  void finish();

 private:
  Reader(const Document* doc, Diagnostics* diags, YAML::Node node, std::string path, bool present);
  YAML::Node child_node(const std::string& key) const;
  YAML::Node lookup(const std::string& key, bool required);
  std::string key_path(const std::string& key) const;
  void error_at(const YAML::Node& n, const std::string& key, const std::string& message);
  std::string describe(const YAML::Node& n) const;
  void note(const std::string& key, const std::string& type, const std::string& def, const std::string& range = "");

  const Document* doc_;
  Diagnostics* diags_;
  YAML::Node node_;
  std::string path_;
  bool present_;
  bool finished_ = false;
  std::vector<std::string> known_;
};

// Loads `path`, applies the -p overrides to its tree, types the root mapping
// with `parse(Reader&)` and throws ConfigError with every problem found.
template <class Parse>
auto load_typed(const std::string& path, const std::vector<std::string>& overrides, Parse parse) {
  Document doc = Document::load(path);
  doc.apply_overrides(overrides);
  Diagnostics diags;
  decltype(parse(std::declval<Reader&>())) out{};
  {
    Reader r(doc, diags);
    out = parse(r);
    r.finish();
  }
  diags.throw_if_any();
  return out;
}

}  // namespace xpu::config
