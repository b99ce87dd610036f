#pragma once
// Runs an experiment: every accelerator x workload x precision, layer by
// layer, and writes the reports. SystemC elaborates once per process, so all
// accelerators are built before the first run and reused for every layer.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "sim/energy/energy_table.h"
#include "sim/experiment/experiment_config.h"
#include "sim/report/results.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

struct RunOptions {
  std::string output_dir;               // reports/<name> by default
  std::vector<std::string> overrides;   // -p, applied to every accelerator config
  std::vector<std::string> workload_overrides;  // -p workload.KEY=V as written: every workload file
  bool quiet = false;
  // Progress bar on stderr for runs longer than ~2 s (the caller decides:
  // off with -q or when stderr is not a terminal).
  bool progress = false;
  // --trace: unit activity as Chrome/Perfetto trace-event JSON in
  // <output_dir>/trace.json, and for TPU runs at pe fidelity on arrays of at
  // most kVcdMaxPes PEs, PE register waveforms in <output_dir>/vcd/<run>.vcd.
  bool trace = false;
  // Inputs the caller already read (a sweep reads them once, in its driver,
  // for all its points): the experiment's energy table and its workloads
  // (exp.workload_files in order, workload_overrides applied). Null: read
  // from the files.
  const energy::EnergyTable* energy_table = nullptr;
  const std::vector<workload::Workload>* workloads = nullptr;
  // SHA-256 of input files the caller already hashed (path -> hex digest),
  // for the manifest; files not in it are hashed here.
  const std::map<std::string, std::string>* input_sha256 = nullptr;
};

constexpr unsigned kVcdMaxPes = 32 * 32;

// Checks that reports can be written to `dir` (it, or the nearest ancestor
// that exists, is a writable directory), before anything is simulated.
// Throws xpu::IoError naming the path. run_experiment() calls it first.
void check_output_dir(const std::string& dir);

// The experiment's energy table (scaled to its node, if it names one).
energy::EnergyTable load_energy_table(const ExperimentConfig& exp);

report::ExperimentResult run_experiment_results(const ExperimentConfig& exp, const RunOptions& opts);
// Runs and writes the reports (and manifest.json: the summary's manifest plus
// timestamps, wall time, host and command line, which summary.json leaves out
// so reruns give byte-identical summaries); returns the paths written.
std::vector<std::string> run_experiment(const ExperimentConfig& exp, const RunOptions& opts);

// manifest.json (written next to summary.json): `manifest` plus
// started_utc, finished_utc (now), wall_seconds, host and `command`.
std::string run_manifest_text(const nlohmann::json& manifest, std::chrono::system_clock::time_point started,
                              const std::string& command);
// The command line of this process (from /proc/self/cmdline), for manifests.
std::string command_line();

}  // namespace xpu::experiment
