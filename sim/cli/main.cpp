// xpusim command line. SystemC's library owns main() and calls sc_main().
#include <cstdlib>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <systemc>

#include "sim/cli/data_files.h"
#include "sim/cli/validate.h"
#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"
#include "sim/config/overrides.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/explain.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/scalesim_run.h"
#include "sim/experiment/mpi_sweep.h"
#include "sim/experiment/sweep.h"
#include "sim/report/progress.h"
#include "sim/report/report_dir.h"
#include "sim/lowering/tpu/gemm.h"
#include "xpusim_version.h"

namespace {

// Exit codes: 0 success, 1 bad input, 2 internal error.
constexpr int kOk = 0, kBadInput = 1, kInternal = 2;

int cmd_validate(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  size_t errors = 0;
  xpu::cli::OverrideUse used;
  for (const auto& f : files) {
    auto diags = xpu::cli::validate_file(f, overrides, &used);
    for (const auto& d : diags) std::cerr << d.to_string() << "\n";
    errors += diags.size();
    if (diags.empty()) spdlog::info("{}: ok", f);
  }
  // An override no file took would otherwise be silently ignored.
  for (const auto& d : xpu::cli::unused_overrides(xpu::config::split_overrides(overrides), used)) {
    std::cerr << d.to_string() << "\n";
    ++errors;
  }
  if (errors) {
    std::cerr << errors << (errors == 1 ? " error" : " errors") << " found\n";
    return kBadInput;
  }
  return kOk;
}

struct RunArgs {
  std::string file;
  xpu::config::Overrides overrides;
  std::string output;
  bool quiet = false, trace = false, force = false, explain = false;
};

int cmd_run(const RunArgs& a) {
  auto exp = xpu::experiment::load_experiment(a.file, a.overrides.experiment);
  xpu::experiment::RunOptions opts;
  opts.overrides = a.overrides.accelerator;
  opts.workload_overrides = a.overrides.workload;
  opts.output_dir = xpu::report::report_dir_for(a.output.empty() ? "reports/" + exp.name : a.output, a.force);
  opts.quiet = a.quiet;
  opts.trace = a.trace;
  opts.progress = !a.quiet && xpu::report::Progress::stderr_is_terminal();
  auto written = a.explain ? xpu::experiment::run_experiment_explained(exp, opts)
                           : xpu::experiment::run_experiment(exp, opts);
  if (!a.quiet) {
    std::cout << "report: " << opts.output_dir << "/report.md\n";
    for (const auto& w : written) spdlog::debug("wrote {}", w);
  }
  return kOk;
}

xpu::Fidelity fidelity_of(const std::string& name) {
  return name == "pe" ? xpu::Fidelity::pe : name == "timing" ? xpu::Fidelity::timing : xpu::Fidelity::tile;
}

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kBadInput;
}

// Runs `body` and turns what it throws into an exit code and a message on
// stderr. Sweep workers run their point through it too.
int run_guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const xpu::InternalError& e) {
    std::cerr << "internal error: " << e.what()
              << "\nThis is a bug in xpusim: please report it with the command line and the input files.\n";
    return kInternal;
  } catch (const xpu::IoError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const xpu::config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return kBadInput;
  } catch (const xpu::lowering::LoweringError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::invalid_argument& e) {
    // Some readers of user data (energy tables, ONNX tensors, int8
    // quantization of imported values) still report bad values this way.
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const xpu::experiment::SweepError& e) {
    // Sweep directories (locked, changed plan) and unreadable results.
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what()
              << "\nThis is a bug in xpusim: please report it with the command line and the input files.\n";
    return kInternal;
  }
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  CLI::App app{"xpusim: cycle-level simulator of ML accelerators (TPU-like and GPU-like)"};
  app.set_version_flag("--version", std::string("xpusim ") + XPUSIM_VERSION + " (" + XPUSIM_GIT_REVISION + ")");
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  std::string output;
  std::vector<std::string> overrides;
  app.add_flag("-v,--verbose", verbose, "log more");
  app.add_flag("-q,--quiet", quiet, "log only warnings and errors");
  app.add_option("-o,--output", output, "report directory (default: reports/<experiment name>)");
  app.add_option("-p,--param", overrides,
                 "override a value of the file it names before validation (repeatable): "
                 "-p mxu.rows=128 (every accelerator config; with --scalesim-cfg the .cfg's section.Key, "
                 "e.g. -p architecture_presets.ArrayHeight=64), -p workload.params.batch=16 (every workload), "
                 "-p experiment.fidelity=timing (the experiment or sweep file). A key the file does not "
                 "know is an error.");

  std::string exp_file;
  auto* run = app.add_subcommand("run", "run an experiment and write its reports");
  run->add_option("experiment", exp_file, "experiment YAML file (or --scalesim-cfg)");
  std::string scalesim_cfg, topology, energy_file, fidelity;
  run->add_option("--scalesim-cfg", scalesim_cfg, "run a SCALE-Sim .cfg (with --topology or its TopologyCsvLoc) "
                                                   "on the TPU model instead of an experiment");
  run->add_option("--topology", topology, "SCALE-Sim topology CSV for --scalesim-cfg");
  std::string compat;
  run->add_option("--compat", compat,
                  "with --scalesim-cfg: 'scalesim' reproduces SCALE-Sim v2's Total Cycles per layer (README.md, "
                  "\"SCALE-Sim compatibility\"); an experiment says compat: scalesim")
      ->check(CLI::IsMember({"scalesim"}));
  bool explain = false;
  run->add_flag("--explain", explain,
                "simulate the waterfall from SCALE-Sim's cycles to the realistic ones, one mechanism at a time "
                "(report.html chart, layers.csv waterfall columns); TPU accelerators, with --scalesim-cfg or an "
                "experiment");
  run->add_option("--energy", energy_file,
                  "energy table for --scalesim-cfg runs (default: the bundled configs/energy/horowitz_45nm.yaml)");
  run->add_option("--fidelity", fidelity,
                  "tile (values computed and checked), pe (every PE stepped) or timing (no values); same as "
                  "-p experiment.fidelity=...; --scalesim-cfg runs default to timing")
      ->check(CLI::IsMember({"tile", "pe", "timing"}));
  bool force = false;
  run->add_flag("--force", force,
                "replace the report in the output directory (without it, a directory that holds a report is "
                "left alone and the run writes <dir>-2, <dir>-3, ...)");
  std::vector<std::string> files;
  auto* validate = app.add_subcommand("validate", "check config, workload, energy, experiment or SCALE-Sim files");
  validate->add_option("files", files, "files to check")->required();
  bool trace = false;
  run->add_flag("--trace", trace,
                "write trace.json (Chrome/Perfetto trace events of unit activity) and, at pe fidelity on arrays "
                "of at most 32x32 PEs, vcd/<run>.vcd PE register waveforms into the report directory");
  std::string sweep_file;
  unsigned jobs = 0;
  bool resume = false;
  auto* sweep = app.add_subcommand("sweep", "run a sweep (kind: sweep) over config values, in parallel, resumable; "
                                            "under mpirun the points are spread over the ranks");
  sweep->add_option("sweep", sweep_file, "sweep YAML file")->required();
  sweep->add_option("-j,--jobs", jobs, "worker processes at a time (default: all cores; under mpirun: 1 per rank)");
  sweep->add_flag("--resume", resume, "continue an interrupted sweep in the same -o directory: runs only the "
                                      "points without a result");
  // The worker a sweep runs for each point (not for people).
  size_t point_index = 0;
  std::string point_id, point_out;
  auto* point = app.add_subcommand("sweep-point", "");
  point->group("");
  point->add_option("sweep", sweep_file)->required();
  point->add_option("--index", point_index)->required();
  point->add_option("--id", point_id)->required();
  point->add_option("--out", point_out)->required();
  // Options may also follow the subcommand.
  for (auto* sub : {run, validate, sweep, point}) {
    sub->fallthrough();
  }
  // The global options may follow the subcommand; its --help says how.
  const std::string overrides_help =
      "Also: -o DIR (report directory), -q, -v, and -p KEY=VALUE (repeatable) to override a value of the\n"
      "file it names before validation:\n"
      "  -p mxu.rows=128                    every accelerator config (with --scalesim-cfg: the .cfg's\n"
      "                                     section.Key, e.g. -p architecture_presets.ArrayHeight=64)\n"
      "  -p workload.params.batch=16        every workload\n"
      "  -p experiment.fidelity=timing      the experiment or sweep file\n"
      "A key the named file does not know is an error with a did-you-mean. Config keys: docs/CONFIG.md.";
  run->footer(overrides_help + "\nExample: xpusim run configs/experiments/default.yaml -p mxu.rows=128 --fidelity timing");
  validate->footer(overrides_help + "\nExample: xpusim validate workloads/nets/mlp0.yaml -p workload.params.batch=8");
  sweep->footer(overrides_help + "\nExample: xpusim sweep configs/experiments/sweep_mxu.yaml -j 2 -p experiment.seed=7");
  app.footer(
      "Examples (from the source tree; more in README.md):\n"
      "  xpusim run configs/experiments/default.yaml -p mxu.rows=128 --fidelity timing\n"
      "  xpusim run --scalesim-cfg workloads/scalesim/scale.cfg --topology workloads/scalesim/resnet18.csv\n"
      "  xpusim validate configs/accelerators/tpu_v1.yaml workloads/nets/mlp0.yaml -p workload.params.batch=8\n"
      "  xpusim sweep configs/experiments/sweep_mxu.yaml -j 2\n"
      "Accelerator config keys: docs/CONFIG.md; workload format: workloads/README.md.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kBadInput;
  }
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);

  return run_guarded([&]() -> int {
    if (*validate) return cmd_validate(files, overrides);
    const xpu::config::Overrides ov = xpu::config::split_overrides(overrides);
    if (*point) return xpu::experiment::run_sweep_point(sweep_file, point_index, point_id, point_out, overrides);
    if (*sweep) {
      xpu::experiment::SweepOptions so;
      so.output_dir = output;
      so.overrides = overrides;
      so.jobs = jobs ? jobs : xpu::experiment::launched_by_mpi() ? 1u : std::max(1u, std::thread::hardware_concurrency());
      so.resume = resume;
      so.quiet = quiet;
      so.progress = !quiet && xpu::report::Progress::stderr_is_terminal();
      so.guard = run_guarded;
      return xpu::experiment::run_sweep(sweep_file, so);
    }
    if (!scalesim_cfg.empty()) {
      if (!exp_file.empty()) return usage_error("run: give an experiment file or --scalesim-cfg, not both");
      if (!ov.experiment.empty())
        return usage_error("-p " + ov.experiment.front() +
                           ": a --scalesim-cfg run has no experiment file (use --fidelity, -o, --energy)");
      xpu::experiment::ScaleSimRunOptions so;
      so.cfg_file = scalesim_cfg;
      so.topology_file = topology;
      so.energy_file = energy_file.empty() ? xpu::cli::bundled_file("configs/energy/horowitz_45nm.yaml") : energy_file;
      if (!fidelity.empty()) so.fidelity = fidelity_of(fidelity);
      so.overrides = ov.accelerator;
      so.workload_overrides = ov.workload;
      so.quiet = quiet;
      so.trace = trace;
      so.progress = !quiet && xpu::report::Progress::stderr_is_terminal();
      so.output_dir = output;
      so.force = force;
      so.compat = compat;
      so.explain = explain;
      so.base_config = xpu::cli::bundled_file("configs/accelerators/tpu_v1.yaml");
      const auto written = xpu::experiment::run_scalesim(so);
      if (!quiet && !written.empty()) std::cout << "report: " << written.front() << "\n";
      return kOk;
    }
    if (!topology.empty() || !energy_file.empty() || !compat.empty())
      return usage_error("run: --topology, --energy and --compat go with --scalesim-cfg (an experiment names its own)");
    if (exp_file.empty()) return usage_error("run: give an experiment file or --scalesim-cfg");
    RunArgs ra;
    ra.file = exp_file;
    ra.overrides = ov;
    if (!fidelity.empty()) ra.overrides.experiment.push_back(std::string(xpu::config::kExperimentPrefix) + "fidelity=" + fidelity);
    ra.output = output;
    ra.quiet = quiet;
    ra.trace = trace;
    ra.force = force;
    ra.explain = explain;
    return cmd_run(ra);
  });
}

// SystemC prints its banner as soon as anything creates the kernel, which a
// static initializer may do before main(); switch it off before all of them.
__attribute__((constructor(101))) static void quiet_systemc_banner() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
}
