// Entry points: parse_workload (YAML documents) and load_workload (any file,
// by its format: input_format.h).
#include "sim/workload/input_format.h"
#include "sim/workload/workload.h"
#include "sim/workload/yaml_elaborate.h"
#include "sim/workload/yaml_spec.h"

namespace xpu::workload {

Workload parse_workload(config::Reader& root) {
  const size_t before = root.diagnostics().size();
  yaml::WorkloadSpec spec = yaml::read_spec(root);
  Workload w;
  w.name = spec.name;
  w.source_file = spec.file;
  w.sparsity = spec.sparsity;
  w.sparsity_at = spec.sparsity_at;
  // Elaborate only a syntactically clean file: errors there would cascade.
  if (root.diagnostics().size() == before) yaml::elaborate(spec, root.document(), root.diagnostics(), w);
  return w;
}

Workload load_workload(const std::string& path, const std::vector<std::string>& overrides) {
  const InputFormat& f = input_format_of(path);
  if (!f.load) throw config::ConfigError(config::Diagnostic{path, 0, 0, "", "not a workload: " + f.usage});
  return f.load(path, overrides);
}

}  // namespace xpu::workload
