#include "sim/workload/input_format.h"

#include <cctype>
#include <cstdlib>
#include <sys/stat.h>

#include "sim/config/document.h"
#include "sim/config/overrides.h"
#include "sim/config/reader.h"
#include "sim/workload/llm/llm_graph.h"
#include "sim/workload/onnx/onnx_import.h"
#include "sim/workload/scalesim/scale_config.h"
#include "sim/workload/scalesim/scale_config_overrides.h"
#include "sim/workload/scalesim/topology.h"

namespace xpu::workload {

namespace {

std::string lower_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// ONNX and CSV files take one override: (workload.)(params.)batch=N.
int64_t batch_override(const std::vector<std::string>& overrides) {
  int64_t batch = 1;
  for (const auto& written : overrides) {
    const std::string where = "command line (-p " + written + ")";
    const std::string o = config::strip_role(written);
    const auto eq = o.find('=');
    const std::string key = eq == std::string::npos ? o : o.substr(0, eq);
    if (key != "batch" && key != "params.batch")
      throw config::ConfigError(config::Diagnostic{where, 0, 0, key,
                                                   "ONNX and SCALE-Sim workloads take only -p workload.params.batch=N"});
    char* end = nullptr;
    const std::string v = eq == std::string::npos ? "" : o.substr(eq + 1);
    const long long b = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || b < 1 || b > (1 << 24))
      throw config::ConfigError(config::Diagnostic{where, 0, 0, key, "expected a positive integer"});
    batch = b;
  }
  return batch;
}

Workload load_yaml(const std::string& path, const std::vector<std::string>& overrides) {
  config::Document doc = config::Document::load(path);
  doc.apply_overrides(overrides);
  config::Diagnostics diags;
  Workload w;
  {
    config::Reader root(doc, diags);
    w = parse_workload(root);
  }
  diags.throw_if_any();
  return w;
}

Workload load_onnx(const std::string& path, const std::vector<std::string>& overrides) {
  OnnxImportOptions opts;
  opts.batch = batch_override(overrides);
  return import_onnx(path, opts);
}

Workload load_topology(const std::string& path, const std::vector<std::string>& overrides) {
  scalesim::TopologyOptions opts;
  opts.batch = batch_override(overrides);
  return scalesim::read_topology(path, opts);
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A SCALE-Sim .cfg describes the machine; its TopologyCsvLoc (optional: run
// takes --topology) is checked too when it names a file, resolved the way
// `run --scalesim-cfg` resolves it.
void check_scalesim_cfg(const std::string& path, const std::vector<std::string>& overrides) {
  const scalesim::ScaleSimConfig c = scalesim::read_scale_config_with_overrides(path, overrides);
  if (!c.topology_csv.empty() && is_file(c.topology_csv)) load_topology(c.topology_csv, {});
}

std::vector<InputFormat> make_table() {
  std::vector<InputFormat> t;
  t.push_back({"xpusim YAML", {".yaml", ".yml"}, true, load_yaml, nullptr, ""});
  t.push_back({"ONNX model", {".onnx"}, false, load_onnx, nullptr, ""});
  t.push_back({"SCALE-Sim topology", {".csv"}, false, load_topology, nullptr, ""});
  t.push_back({"Hugging Face model config", {".json"}, false, llm::load_hf_workload, nullptr, ""});
  t.push_back({"SCALE-Sim config", {".cfg"}, false, nullptr, check_scalesim_cfg,
               "a SCALE-Sim config describes a machine: run it with xpusim run --scalesim-cfg FILE "
               "[--topology NET.csv]"});
  for (auto& f : t)
    if (!f.check && !f.yaml) {
      auto load = f.load;
      f.check = [load](const std::string& p, const std::vector<std::string>& ov) { load(p, ov); };
    }
  return t;
}

}  // namespace

const std::vector<InputFormat>& input_formats() {
  static const std::vector<InputFormat> table = make_table();
  return table;
}

const InputFormat* find_input_format(const std::string& path) {
  const std::string ext = lower_extension(path);
  for (const auto& f : input_formats())
    for (const auto& e : f.extensions)
      if (e == ext) return &f;
  return nullptr;
}

std::string known_extensions() {
  std::string out;
  for (const auto& f : input_formats())
    for (const auto& e : f.extensions) out += (out.empty() ? "" : ", ") + e;
  return out;
}

const InputFormat& input_format_of(const std::string& path) {
  if (const InputFormat* f = find_input_format(path)) return *f;
  const std::string ext = lower_extension(path);
  throw config::ConfigError(config::Diagnostic{
      path, 0, 0, "",
      (ext.empty() ? std::string("no file extension") : "unknown file extension \"" + ext + "\"") +
          ": expected one of " + known_extensions() + " (case does not matter)"});
}

}  // namespace xpu::workload
