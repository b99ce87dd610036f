#pragma once
// Runs an experiment: every accelerator x workload x precision, layer by
// layer, and writes the reports. SystemC elaborates once per process, so all
// accelerators are built before the first run and reused for every layer.
#include <string>
#include <vector>

#include "sim/experiment/experiment_config.h"
#include "sim/report/results.h"

namespace xpu::experiment {

struct RunOptions {
  std::string output_dir;               // reports/<name> by default
  std::vector<std::string> overrides;   // -p, applied to every accelerator config
  bool quiet = false;
};

report::ExperimentResult run_experiment_results(const ExperimentConfig& exp, const RunOptions& opts);
// Runs and writes the reports; returns the paths written.
std::vector<std::string> run_experiment(const ExperimentConfig& exp, const RunOptions& opts);

}  // namespace xpu::experiment
