#include "sim/experiment/runner.h"

#include <spdlog/spdlog.h>

#include "sim/config/document.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/backend.h"
#include "sim/report/report_writer.h"
#include "sim/report/sha256.h"
#include "sim/workload/workload.h"
#include "xpusim_version.h"

namespace xpu::experiment {

namespace {

const char* fidelity_name(tpu::Fidelity f) {
  switch (f) {
    case tpu::Fidelity::tile: return "tile";
    case tpu::Fidelity::pe: return "pe";
    case tpu::Fidelity::timing: return "timing";
  }
  return "?";
}

energy::EnergyTable load_table(const ExperimentConfig& exp) {
  energy::EnergyTable t = energy::EnergyTable::from_document(config::Document::load(exp.energy_file));
  if (exp.node_nm) return t.with_node(*exp.node_nm, exp.vdd.value_or(t.measured_vdd()));
  return t;
}

struct Machine {
  AcceleratorRef ref;
  std::vector<std::string> overrides;
  std::unique_ptr<Backend> backend;
};

nlohmann::json manifest(const ExperimentConfig& exp, const std::vector<Machine>& machines,
                        const std::vector<workload::Workload>& wls, const energy::EnergyTable& table,
                        const RunOptions& opts) {
  nlohmann::json j;
  j["xpusim_version"] = XPUSIM_VERSION;
  j["git_revision"] = XPUSIM_GIT_REVISION;
  j["experiment_file"] = exp.source_file;
  nlohmann::json files = nlohmann::json::object();
  files[exp.source_file] = report::sha256_file(exp.source_file);
  files[exp.energy_file] = report::sha256_file(exp.energy_file);
  for (const auto& m : machines) files[m.ref.file] = report::sha256_file(m.ref.file);
  for (const auto& w : wls) files[w.source_file] = report::sha256_file(w.source_file);
  j["input_sha256"] = files;
  j["overrides"] = opts.overrides;
  j["energy_table"] = table.to_json();
  j["energy_table"]["label"] = table.label();
  j["fidelity"] = fidelity_name(exp.fidelity);
  j["seed"] = exp.seed;
  j["io"] = exp.io;
  return j;
}

}  // namespace

report::ExperimentResult run_experiment_results(const ExperimentConfig& exp, const RunOptions& opts) {
  // Read and check every input before simulating anything.
  const energy::EnergyTable table = load_table(exp);
  std::vector<workload::Workload> wls;
  for (const auto& f : exp.workload_files) wls.push_back(workload::load_workload(f));
  std::vector<Machine> machines;
  for (size_t i = 0; i < exp.accelerators.size(); ++i) {
    Machine m;
    m.ref = exp.accelerators[i];
    m.overrides = m.ref.overrides;
    m.overrides.insert(m.overrides.end(), opts.overrides.begin(), opts.overrides.end());
    m.backend = make_backend(m.ref.file, m.overrides, table, "acc" + std::to_string(i));
    if (m.ref.name.empty()) m.ref.name = m.backend->name();
    for (const auto& w : wls)
      for (DType t : exp.precisions) m.backend->check_workload(w, t);
    machines.push_back(std::move(m));
  }

  report::ExperimentResult result;
  result.name = exp.name;
  result.manifest = manifest(exp, machines, wls, table, opts);
  for (auto& m : machines)
    for (const auto& w : wls)
      for (DType t : exp.precisions) {
        report::RunResult run;
        run.accelerator = m.ref.name;
        run.accelerator_file = m.ref.file;
        run.overrides = m.overrides;
        run.workload = w.name;
        run.workload_file = w.source_file;
        run.precision = std::string(dtype_name(t));
        run.fidelity = fidelity_name(exp.fidelity);
        run.clock_mhz = m.backend->clock_mhz();
        run.peak_macs_per_cycle = m.backend->peak_macs_per_cycle(t);
        if (!opts.quiet) spdlog::info("{} / {} / {} ({} layers)", m.ref.name, w.name, run.precision, w.layers.size());
        LayerRunOptions lo;
        lo.fidelity = exp.fidelity;
        lo.verify = exp.verify;
        lo.io = exp.io;
        lo.seed = exp.seed;
        run.layers = m.backend->run_workload(w, t, lo);
        for (const auto& lr : run.layers) {
          spdlog::debug("  {} ({}): {} cycles, {:.1f} % utilization, values {}", lr.name, lr.shape, lr.cycles,
                        100 * lr.utilization, lr.verified);
          if (lr.verified.rfind("MISMATCH", 0) == 0)
            spdlog::error("{} / {} / {}: values differ from the reference: {}", m.ref.name, lr.name,
                          run.precision, lr.verified);
        }
        result.runs.push_back(std::move(run));
      }
  return result;
}

std::vector<std::string> run_experiment(const ExperimentConfig& exp, const RunOptions& opts) {
  auto result = run_experiment_results(exp, opts);
  return report::write_reports(result, opts.output_dir);
}

}  // namespace xpu::experiment
