#include "sim/experiment/explain.h"

#include <algorithm>
#include <chrono>

#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/scalesim_compat.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/report/report_writer.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

namespace {

// The cycles of layer `name` in one step's run (see attach_waterfall).
uint64_t step_cycles(const report::RunResult& step, const std::string& name) {
  for (const auto& sl : step.layers)
    if (sl.name == name) return sl.cycles;
  uint64_t sum = 0;
  for (uint64_t i = 0;; ++i) {
    const std::string part = scalesim_channel_layer(name, i);
    const auto it = std::find_if(step.layers.begin(), step.layers.end(),
                                 [&](const report::LayerResult& sl) { return sl.name == part; });
    if (it == step.layers.end()) return sum;
    sum += it->cycles;
  }
}

}  // namespace

void attach_waterfall(report::ExperimentResult& r, const std::vector<std::string>& steps,
                      const std::vector<size_t>& runs_per_step) {
  const size_t S = steps.size();
  std::vector<report::RunResult> kept;
  size_t base = 0;
  for (size_t n : runs_per_step) {
    if (base + S * n > r.runs.size()) throw xpu::InternalError("explain: fewer runs than waterfall steps");
    for (size_t j = 0; j < n; ++j) {
      report::RunResult last = r.runs[base + (S - 1) * n + j];
      for (auto& l : last.layers)
        for (size_t s = 0; s < S; ++s) l.waterfall.emplace_back(steps[s], step_cycles(r.runs[base + s * n + j], l.name));
      kept.push_back(std::move(last));
    }
    base += S * n;
  }
  r.runs = std::move(kept);
}

report::ExperimentResult run_explained(const ExperimentConfig& exp, const std::vector<tpu::TpuConfig>& realistic,
                                       const RunOptions& opts) {
  if (!exp.compat.empty())
    throw config::ConfigError(config::Diagnostic{exp.source_file, 0, 0, "compat",
                                                 "--explain starts from the compat number by itself: drop compat"});
  // The compat profile's sizes from every workload's GEMM view.
  CompatNeeds needs;
  for (const auto& f : exp.workload_files) {
    const CompatNeeds n = compat_needs(scalesim_gemm_view(workload::load_workload(f, opts.workload_overrides)));
    needs.max_m = std::max(needs.max_m, n.max_m);
    needs.max_n = std::max(needs.max_n, n.max_n);
    needs.max_resident_bytes = std::max(needs.max_resident_bytes, n.max_resident_bytes);
  }
  ExperimentConfig e = exp;
  e.accelerators.clear();
  std::vector<std::string> names;
  std::vector<size_t> runs_per_step;
  for (size_t a = 0; a < exp.accelerators.size(); ++a) {
    const AcceleratorRef& ref = exp.accelerators[a];
    const auto steps = scalesim_waterfall(realistic.at(a), needs);
    if (names.empty())
      for (size_t i = 0; i < steps.size(); ++i) names.push_back(i + 1 == steps.size() ? "realistic" : steps[i].name);
    const std::string label = ref.name.empty() ? realistic[a].name : ref.name;
    for (size_t i = 0; i < steps.size(); ++i) {
      AcceleratorRef s = ref;
      s.name = i + 1 == steps.size() ? label : label + " step " + std::to_string(i) + ": " + steps[i].name;
      s.compat = steps[i].compat;
      s.make = [c = steps[i].cfg](const energy::EnergyTable& table, const std::string& instance) {
        return make_tpu_backend(c, table, instance);
      };
      e.accelerators.push_back(std::move(s));
    }
    runs_per_step.push_back(exp.workload_files.size() * ref.precisions.size());
  }
  report::ExperimentResult result = run_experiment_results(e, opts);
  attach_waterfall(result, names, runs_per_step);
  return result;
}

std::vector<std::string> run_experiment_explained(const ExperimentConfig& exp, const RunOptions& opts) {
  const auto started = std::chrono::system_clock::now();
  check_output_dir(opts.output_dir);
  if (exp.generation || exp.kind != "experiment")
    throw config::ConfigError(config::Diagnostic{exp.source_file, 0, 0, "",
                                                 "--explain runs layer-by-layer experiments (no generation, no sweep)"});
  std::vector<tpu::TpuConfig> realistic;
  for (const auto& ref : exp.accelerators) {
    std::vector<std::string> ov = ref.overrides;
    ov.insert(ov.end(), opts.overrides.begin(), opts.overrides.end());
    realistic.push_back(config::load_tpu_config(ref.file, ov));  // a ConfigError on `kind` for a non-TPU
  }
  auto result = run_explained(exp, realistic, opts);
  return report::write_reports(result, opts.output_dir,
                               {{"manifest.json", run_manifest_text(result.manifest, started, command_line())}});
}

}  // namespace xpu::experiment
