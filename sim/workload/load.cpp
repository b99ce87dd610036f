// Entry points: parse_workload (YAML documents) and load_workload (any file).
#include <cstdlib>

#include "sim/workload/onnx/onnx_import.h"
#include "sim/workload/scalesim/topology.h"
#include "sim/workload/workload.h"
#include "sim/workload/yaml_elaborate.h"
#include "sim/workload/yaml_spec.h"

namespace xpu::workload {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

// ONNX and CSV files take one override: batch=N.
int64_t batch_override(const std::vector<std::string>& overrides) {
  int64_t batch = 1;
  for (const auto& o : overrides) {
    const std::string where = "command line (-p " + o + ")";
    const auto eq = o.find('=');
    const std::string key = eq == std::string::npos ? o : o.substr(0, eq);
    if (key != "batch" && key != "params.batch")
      throw config::ConfigError(config::Diagnostic{where, 0, 0, key,
                                                   "ONNX and SCALE-Sim workloads take only -p batch=N"});
    char* end = nullptr;
    const std::string v = o.substr(eq + 1);
    const long long b = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || b < 1 || b > (1 << 24))
      throw config::ConfigError(config::Diagnostic{where, 0, 0, key, "expected a positive integer"});
    batch = b;
  }
  return batch;
}

}  // namespace

Workload parse_workload(config::Reader& root) {
  const size_t before = root.diagnostics().size();
  yaml::WorkloadSpec spec = yaml::read_spec(root);
  Workload w;
  w.name = spec.name;
  w.source_file = spec.file;
  // Elaborate only a syntactically clean file: errors there would cascade.
  if (root.diagnostics().size() == before) yaml::elaborate(spec, root.document(), root.diagnostics(), w);
  return w;
}

Workload load_workload(const std::string& path, const std::vector<std::string>& overrides) {
  if (ends_with(path, ".onnx")) {
    OnnxImportOptions opts;
    opts.batch = batch_override(overrides);
    return import_onnx(path, opts);
  }
  if (ends_with(path, ".csv")) {
    scalesim::TopologyOptions opts;
    opts.batch = batch_override(overrides);
    return scalesim::read_topology(path, opts);
  }
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

}  // namespace xpu::workload
