#include "sim/config/file_kind.h"

namespace xpu::config {

FileKind file_kind(const Document& doc) {
  FileKind k;
  // A const lookup of a missing key yields an invalid node: test it with
  // IsDefined() before asking anything else.
  const YAML::Node& root = doc.root();
  if (!root.IsMap()) return k;
  const YAML::Node node = root["kind"];
  if (!node.IsDefined()) return k;
  k.present = true;
  if (!node.Mark().is_null()) {
    k.line = node.Mark().line + 1;
    k.column = node.Mark().column + 1;
  }
  if (node.IsScalar()) k.value = node.Scalar();
  return k;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

Diagnostic kind_error(const Document& doc, const FileKind& kind, const std::string& what,
                      const std::vector<std::string>& known) {
  std::string msg;
  if (kind.value.empty()) {
    msg = (kind.present ? "expected a kind name" : "missing 'kind'") + std::string(" (one of ") + join(known) + ")";
  } else {
    msg = what + " \"" + kind.value + "\"";
    const std::string hint = did_you_mean(kind.value, known);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    msg += "; known kinds: " + join(known);
  }
  return Diagnostic{doc.file(), kind.line, kind.column, "kind", msg};
}

}  // namespace xpu::config
