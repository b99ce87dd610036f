#pragma once
// `xpusim run --explain`: the waterfall from SCALE-Sim's cycles to the
// realistic ones (README.md, "The gap, explained"). Every TPU accelerator of
// the experiment is run once per step of scalesim_waterfall() (the
// SCALE-Sim compatibility profile first, then one mechanism turned back on
// per step, cumulatively, the last step the accelerator itself), each step
// a full simulation; the report keeps the realistic runs, each layer with
// its cycles after every step (LayerResult::waterfall).
#include <string>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/runner.h"
#include "sim/report/results.h"

namespace xpu::experiment {

// Runs `exp` with accelerator i expanded into the waterfall steps of
// realistic[i] (the accelerator's own typed config), and attaches the
// waterfall. `exp.compat` must be empty (the steps set their own).
report::ExperimentResult run_explained(const ExperimentConfig& exp, const std::vector<tpu::TpuConfig>& realistic,
                                       const RunOptions& opts);
// An experiment file's run with --explain: its accelerators must be TPUs
// (their configs read with their and opts' overrides); writes the reports
// and manifest.json and returns the paths written.
std::vector<std::string> run_experiment_explained(const ExperimentConfig& exp, const RunOptions& opts);

// Moves the steps' cycles into the realistic runs' layers (by layer name; a
// layer a step does not run counts 0, a grouped layer's GEMM view is the
// sum of its per-group layers) and keeps only those runs. runs_per_step[a]
// is how many runs (workloads x precisions) accelerator a made per step;
// the runs come accelerator by accelerator, step by step.
void attach_waterfall(report::ExperimentResult& r, const std::vector<std::string>& steps,
                      const std::vector<size_t>& runs_per_step);

}  // namespace xpu::experiment
