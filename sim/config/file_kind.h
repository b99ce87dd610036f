#pragma once
// The `kind:` of an xpusim YAML file, read without trusting the file: a
// missing or non-scalar `kind` is reported, located, instead of throwing
// from yaml-cpp.
#include <string>
#include <vector>

#include "sim/config/diagnostics.h"
#include "sim/config/document.h"

namespace xpu::config {

struct FileKind {
  std::string value;  // "" when missing or not a scalar
  bool present = false;
  int line = 1, column = 1;  // of the value, else of the file's start
};

FileKind file_kind(const Document& doc);

// "file:line:col: kind: <what> \"x\" (did you mean 'y'?); known kinds: a, b"
// or, for a missing kind, "missing 'kind' (one of a, b)".
Diagnostic kind_error(const Document& doc, const FileKind& kind, const std::string& what,
                      const std::vector<std::string>& known);

// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace xpu::config
