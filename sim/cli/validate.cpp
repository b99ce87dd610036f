#include "sim/cli/validate.h"

#include "sim/config/document.h"
#include "sim/config/reader.h"
#include "sim/config/gpu_config.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/experiment_config.h"
#include "sim/workload/workload.h"

namespace xpu::cli {

namespace {

const std::vector<std::string> kKinds = {"tpu", "gpu", "energy_table", "workload", "experiment", "sweep"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void collect(std::vector<config::Diagnostic>& out, const config::ConfigError& e) {
  out.insert(out.end(), e.diagnostics().begin(), e.diagnostics().end());
}

}  // namespace

std::vector<config::Diagnostic> validate_file(const std::string& path,
                                              const std::vector<std::string>& overrides) {
  std::vector<config::Diagnostic> out;
  try {
    // ONNX models and SCALE-Sim topologies are workloads in other formats.
    if (ends_with(path, ".onnx") || ends_with(path, ".csv")) {
      workload::load_workload(path, overrides);
      return out;
    }
    config::Document doc = config::Document::load(path);
    // Overrides for an experiment apply to its accelerators, not to the file.
    const YAML::Node kind_node = static_cast<const YAML::Node&>(doc.root())["kind"];
    std::string kind = kind_node.IsScalar() ? kind_node.Scalar() : "";
    if (kind == "experiment" || kind == "sweep") {
      experiment::ExperimentConfig e = experiment::load_experiment(path, {}, {kind});
      for (const auto& acc : e.accelerators) {
        auto sub = validate_file(acc.file, [&] {
          auto all = acc.overrides;
          all.insert(all.end(), overrides.begin(), overrides.end());
          return all;
        }());
        out.insert(out.end(), sub.begin(), sub.end());
      }
      for (const auto& w : e.workload_files) {
        auto sub = validate_file(w, {});
        out.insert(out.end(), sub.begin(), sub.end());
      }
      auto sub = validate_file(e.energy_file, {});
      out.insert(out.end(), sub.begin(), sub.end());
      return out;
    }
    doc.apply_overrides(overrides);
    if (kind == "tpu") {
      config::Diagnostics diags;
      {
        config::Reader root(doc, diags);
        config::parse_tpu_config(root);
      }
      diags.throw_if_any();
    } else if (kind == "gpu") {
      config::load_gpu_config(path, overrides);
    } else if (kind == "energy_table") {
      energy::EnergyTable::from_document(doc);
    } else if (kind == "workload") {
      config::Diagnostics diags;
      {
        config::Reader root(doc, diags);
        workload::parse_workload(root);
      }
      diags.throw_if_any();
    } else {
      std::string msg = kind.empty() ? "missing 'kind' (one of tpu, gpu, energy_table, workload, experiment, sweep)"
                                     : "unknown kind \"" + kind + "\": expected one of tpu, gpu, energy_table, workload, experiment, sweep";
      std::string hint = kind.empty() ? "" : config::did_you_mean(kind, kKinds);
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      const YAML::Mark m = kind_node.IsDefined() ? kind_node.Mark() : YAML::Mark::null_mark();
      out.push_back({path, m.is_null() ? 1 : m.line + 1, m.is_null() ? 1 : m.column + 1, "kind", msg});
    }
  } catch (const config::ConfigError& e) {
    collect(out, e);
  }
  return out;
}

}  // namespace xpu::cli
