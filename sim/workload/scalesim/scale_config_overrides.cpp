#include "sim/workload/scalesim/scale_config_overrides.h"

#include "sim/config/diagnostics.h"
#include "sim/workload/scalesim/fields.h"

namespace xpu::workload::scalesim {

namespace {

// The key of a "Key: value" / "Key = value" line, lowercased; "" otherwise.
std::string line_key(const std::string& line) {
  const std::string t = trim(line);
  if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') return "";
  const auto sep = t.find_first_of(":=");
  return sep == std::string::npos ? "" : lower(trim(t.substr(0, sep)));
}

}  // namespace

ScaleSimConfig read_scale_config_with_overrides(const std::string& path, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return read_scale_config(path);
  std::vector<std::string> lines = read_lines(path);
  // Where each line came from: its line in the file (1-based) or an override.
  struct Origin {
    int line = 0;
    int override_index = -1;
  };
  std::vector<Origin> origin(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) origin[i].line = int(i + 1);
  std::vector<config::Diagnostic> errors;
  for (size_t k = 0; k < overrides.size(); ++k) {
    const std::string& a = overrides[k];
    const auto eq = a.find('='), dot = a.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq) {
      errors.push_back({"command line (-p " + a + ")", 0, 0, "",
                        "a SCALE-Sim cfg override is -p section.Key=value, e.g. "
                        "-p architecture_presets.ArrayHeight=64"});
      continue;
    }
    const std::string section = a.substr(0, dot), key = a.substr(dot + 1, eq - dot - 1), value = a.substr(eq + 1);
    const std::string text = key + ": " + value;
    const Origin from{0, int(k)};
    size_t header = lines.size();
    for (size_t i = 0; i < lines.size(); ++i)
      if (trim(lines[i]) == "[" + section + "]") header = i;
    if (header == lines.size()) {
      lines.insert(lines.end(), {"[" + section + "]", text});
      origin.insert(origin.end(), {from, from});
      continue;
    }
    size_t i = header + 1;
    for (; i < lines.size() && trim(lines[i]).rfind('[', 0) != 0; ++i)
      if (line_key(lines[i]) == lower(key)) break;
    if (i < lines.size() && line_key(lines[i]) == lower(key)) {
      lines[i] = text;
      origin[i] = from;
    } else {
      lines.insert(lines.begin() + long(header) + 1, text);
      origin.insert(origin.begin() + long(header) + 1, from);
    }
  }
  if (!errors.empty()) throw config::ConfigError(errors);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  try {
    return parse_scale_config(text, path);
  } catch (const config::ConfigError& e) {
    std::vector<config::Diagnostic> diags;
    for (auto d : e.diagnostics()) {
      if (d.file == path && d.line >= 1 && size_t(d.line) <= origin.size()) {
        const Origin& o = origin[size_t(d.line) - 1];
        if (o.override_index >= 0) {
          d.file = "command line (-p " + overrides[size_t(o.override_index)] + ")";
          d.line = d.column = 0;
          if (d.message.rfind("unknown section", 0) == 0)
            d.message += " (-p on a SCALE-Sim cfg names its section.Key, e.g. architecture_presets.ArrayHeight=64)";
        } else {
          d.line = o.line;
        }
      }
      diags.push_back(d);
    }
    throw config::ConfigError(diags);
  }
}

}  // namespace xpu::workload::scalesim
