#include "sim/workload/scalesim/scale_config.h"

#include <map>

#include "sim/config/diagnostics.h"
#include "sim/workload/scalesim/fields.h"

namespace xpu::workload::scalesim {

namespace {

struct Entry {
  std::string key;  // as written
  std::string value;
  int line = 0;
};

// Keys per section, lowercased; `modelled` false = recognised but ignored.
struct KeySpec {
  const char* name;
  bool modelled;
};
const std::map<std::string, std::vector<KeySpec>>& known() {
  static const std::map<std::string, std::vector<KeySpec>> k = {
      {"general", {{"run_name", true}}},
      {"architecture_presets",
       {{"ArrayHeight", true}, {"ArrayWidth", true}, {"IfmapSramSzkB", true}, {"FilterSramSzkB", true},
        {"OfmapSramSzkB", true}, {"IfmapOffset", true}, {"FilterOffset", true}, {"OfmapOffset", true},
        {"Dataflow", true}, {"Bandwidth", true}, {"MemoryBanks", true}, {"ReadRequestBuffer", false},
        {"WriteRequestBuffer", false}, {"OnChipMemoryBanks", false}, {"OnChipMemoryBankPorts", false},
        {"IfmapCustomLayout", false}, {"FilterCustomLayout", false}, {"IfmapSRAMBankBandwidth", false},
        {"IfmapSRAMBankNum", false}, {"FilterSRAMBankBandwidth", false}, {"FilterSRAMBankNum", false},
        {"IfmapSRAMBankPort", false}, {"FilterSRAMBankPort", false}}},
      {"run_presets", {{"InterfaceBandwidth", true}, {"UseRamulatorTrace", false}}},
      {"network_presets", {{"TopologyCsvLoc", true}}},
      {"sparsity",
       {{"SparsitySupport", false}, {"SparseRep", false}, {"OptimizedMapping", false}, {"BlockSize", false},
        {"RandomNumberGeneratorSeed", false}}},
  };
  return k;
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  ScaleSimConfig run(const std::vector<std::string>& lines) {
    read(lines);
    ScaleSimConfig c;
    c.file = file_;
    c.run_name = str("general", "run_name");
    if (c.run_name.size() >= 2 && c.run_name.front() == '"' && c.run_name.back() == '"')
      c.run_name = c.run_name.substr(1, c.run_name.size() - 2);
    const std::string bw = lower(str("run_presets", "InterfaceBandwidth"));
    if (bw != "user" && bw != "calc" && has("run_presets", "InterfaceBandwidth"))
      error("run_presets", "InterfaceBandwidth", "expected USER or CALC, got \"" + str("run_presets", "InterfaceBandwidth") + "\"");
    c.user_bandwidth = bw == "user";
    const char* a = "architecture_presets";
    c.array_rows = uint(a, "ArrayHeight", 1, kMaxArrayDim);
    c.array_cols = uint(a, "ArrayWidth", 1, kMaxArrayDim);
    c.ifmap_sram_kb = uint(a, "IfmapSramSzkB", 1, kMaxSramKb);
    c.filter_sram_kb = uint(a, "FilterSramSzkB", 1, kMaxSramKb);
    c.ofmap_sram_kb = uint(a, "OfmapSramSzkB", 1, kMaxSramKb);
    c.ifmap_offset = uint(a, "IfmapOffset", 0, kMaxOffset);
    c.filter_offset = uint(a, "FilterOffset", 0, kMaxOffset);
    c.ofmap_offset = uint(a, "OfmapOffset", 0, kMaxOffset);
    const std::string df = lower(str(a, "Dataflow"));
    if (df == "os") c.dataflow = Dataflow::os;
    else if (df == "ws") c.dataflow = Dataflow::ws;
    else if (df == "is") c.dataflow = Dataflow::is;
    else if (has(a, "Dataflow")) {
      std::string msg = "expected os, ws or is, got \"" + str(a, "Dataflow") + "\"";
      const std::string dym = config::did_you_mean(df, {"os", "ws", "is"});
      if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
      error(a, "Dataflow", msg);
    }
    c.memory_banks = has(a, "MemoryBanks") ? uint(a, "MemoryBanks", 1, kMaxBanks) : 1;
    if (c.user_bandwidth) {
      const Entry* e = find(a, "Bandwidth");
      if (!e) {
        error(a, "Bandwidth", "missing: InterfaceBandwidth is USER, so Bandwidth (words/cycle per bank) is required");
      } else {
        for (const auto& f : split_commas(e->value)) {
          const auto v = parse_int(f);
          if (!v || *v < 1 || *v > kMaxBandwidth) {
            error(a, "Bandwidth", "\"" + e->value + "\" is not a comma list of integers in [1, " +
                                      std::to_string(kMaxBandwidth) + "]");
            break;
          }
          c.bandwidth.push_back(uint64_t(*v));
        }
        if (!c.bandwidth.empty() && c.bandwidth.size() != c.memory_banks)
          error(a, "Bandwidth", std::to_string(c.bandwidth.size()) + " bandwidth(s) for " +
                                    std::to_string(c.memory_banks) + " memory bank(s): give one per bank");
      }
    } else if (const Entry* e = find(a, "Bandwidth")) {
      (void)e;
      c.ignored.push_back("architecture_presets.Bandwidth (InterfaceBandwidth is CALC)");
    }
    if (const Entry* e = find("network_presets", "TopologyCsvLoc")) {
      const auto q1 = e->value.find('"'), q2 = e->value.find('"', q1 + 1);
      c.topology_csv = (q1 != std::string::npos && q2 != std::string::npos) ? e->value.substr(q1 + 1, q2 - q1 - 1)
                                                                            : e->value;
    }
    for (const auto& [sec, entries] : sections_)
      for (const auto& [k, e] : entries)
        if (!modelled(sec, k)) c.ignored.push_back(sec + "." + e.key);
    if (!diags_.empty()) throw config::ConfigError(diags_);
    return c;
  }

 private:
  void add(int line, const std::string& key, const std::string& msg) { diags_.push_back({file_, line, 0, key, msg}); }
  void error(const std::string& sec, const std::string& key, const std::string& msg) {
    const Entry* e = find(sec, key);
    add(e ? e->line : section_line(sec), sec + "." + key, msg);
  }
  int section_line(const std::string& sec) const {
    auto it = section_lines_.find(sec);
    return it == section_lines_.end() ? 0 : it->second;
  }

  void read(const std::vector<std::string>& lines) {
    std::string sec;
    for (size_t i = 0; i < lines.size(); ++i) {
      const int ln = int(i + 1);
      const std::string raw = lines[i];
      const std::string t = trim(raw);
      if (t.empty() || t[0] == '#' || t[0] == ';') continue;
      if (std::isspace(static_cast<unsigned char>(raw[0]))) {
        add(ln, "", "indented line: continuation lines are not supported");
        continue;
      }
      if (t.front() == '[') {
        if (t.back() != ']') {
          add(ln, "", "malformed section header \"" + t + "\"");
          continue;
        }
        sec = t.substr(1, t.size() - 2);
        if (!known().count(sec)) {
          std::vector<std::string> names;
          for (const auto& kv : known()) names.push_back(kv.first);
          std::string msg = "unknown section [" + sec + "]";
          const std::string dym = config::did_you_mean(sec, names);
          if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
          add(ln, sec, msg);
        } else if (section_lines_.count(sec)) {
          add(ln, sec, "section [" + sec + "] appears twice (first at line " + std::to_string(section_lines_[sec]) + ")");
        }
        section_lines_.emplace(sec, ln);
        continue;
      }
      const auto sep = t.find_first_of(":=");
      if (sep == std::string::npos || sep == 0) {
        add(ln, "", "expected \"Key: value\" or \"Key = value\", got \"" + t + "\"");
        continue;
      }
      if (sec.empty()) {
        add(ln, "", "key outside any [section]");
        continue;
      }
      if (!known().count(sec)) continue;  // reported with its header
      Entry e{trim(t.substr(0, sep)), trim(t.substr(sep + 1)), ln};
      const std::string k = lower(e.key);
      bool ok = false;
      std::vector<std::string> names;
      for (const auto& spec : known().at(sec)) {
        names.push_back(spec.name);
        ok = ok || lower(spec.name) == k;
      }
      if (!ok) {
        std::string msg = "unknown key in [" + sec + "]";
        const std::string dym = config::did_you_mean(e.key, names);
        if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
        add(ln, sec + "." + e.key, msg);
        continue;
      }
      auto& entries = sections_[sec];
      if (entries.count(k)) {
        add(ln, sec + "." + e.key, "duplicate key (first at line " + std::to_string(entries[k].line) + ")");
        continue;
      }
      entries[k] = e;
    }
  }

  const Entry* find(const std::string& sec, const std::string& key) const {
    auto s = sections_.find(sec);
    if (s == sections_.end()) return nullptr;
    auto e = s->second.find(lower(key));
    return e == s->second.end() ? nullptr : &e->second;
  }
  bool has(const std::string& sec, const std::string& key) const { return find(sec, key) != nullptr; }
  bool modelled(const std::string& sec, const std::string& k) const {
    for (const auto& spec : known().at(sec))
      if (lower(spec.name) == k) return spec.modelled;
    return false;
  }

  std::string str(const std::string& sec, const std::string& key) {
    const Entry* e = find(sec, key);
    if (!e) {
      add(section_line(sec), sec + "." + key,
          section_lines_.count(sec) ? "missing required key" : "missing required key (no [" + sec + "] section)");
      return "";
    }
    return e->value;
  }
  uint64_t uint(const std::string& sec, const std::string& key, int64_t min, int64_t max) {
    const Entry* e = find(sec, key);
    const std::string v = str(sec, key);
    if (!e) return 0;
    const auto x = parse_int(v);
    if (!x) {
      add(e->line, sec + "." + e->key, "expected an integer, got \"" + v + "\"");
      return 0;
    }
    if (*x < min) {
      add(e->line, sec + "." + e->key, "must be >= " + std::to_string(min) + ", got " + std::to_string(*x));
      return 0;
    }
    if (*x > max) {
      add(e->line, sec + "." + e->key, "must be <= " + std::to_string(max) + ", got " + std::to_string(*x));
      return 0;
    }
    return uint64_t(*x);
  }

  std::string file_;
  std::map<std::string, std::map<std::string, Entry>> sections_;
  std::map<std::string, int> section_lines_;
  std::vector<config::Diagnostic> diags_;
};

}  // namespace

ScaleSimConfig parse_scale_config(const std::string& text, const std::string& name) {
  return Parser(name).run(split_lines(text));
}

ScaleSimConfig read_scale_config(const std::string& path) { return Parser(path).run(read_lines(path)); }

const char* dataflow_name(Dataflow df) {
  switch (df) {
    case Dataflow::os: return "os";
    case Dataflow::ws: return "ws";
    case Dataflow::is: return "is";
  }
  return "?";
}

}  // namespace xpu::workload::scalesim
