// xpusim command line. SystemC's library owns main() and calls sc_main().
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <systemc>

#include "sim/cli/validate.h"
#include "sim/config/diagnostics.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/runner.h"
#include "sim/lowering/tpu/gemm.h"
#include "xpusim_version.h"

namespace {

// Exit codes: 0 success, 1 bad input, 2 internal error.
constexpr int kOk = 0, kBadInput = 1, kInternal = 2;

int cmd_validate(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  size_t errors = 0;
  for (const auto& f : files) {
    auto diags = xpu::cli::validate_file(f, overrides);
    for (const auto& d : diags) std::cerr << d.to_string() << "\n";
    errors += diags.size();
    if (diags.empty()) spdlog::info("{}: ok", f);
  }
  if (errors) {
    std::cerr << errors << (errors == 1 ? " error" : " errors") << " found\n";
    return kBadInput;
  }
  return kOk;
}

int cmd_run(const std::string& file, const std::vector<std::string>& overrides, const std::string& output,
            bool quiet) {
  auto exp = xpu::experiment::load_experiment(file);
  xpu::experiment::RunOptions opts;
  opts.overrides = overrides;
  opts.output_dir = output.empty() ? "reports/" + exp.name : output;
  opts.quiet = quiet;
  auto written = xpu::experiment::run_experiment(exp, opts);
  if (!quiet) {
    std::cout << "report: " << opts.output_dir << "/report.md\n";
    for (const auto& w : written) spdlog::debug("wrote {}", w);
  }
  return kOk;
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
                 "override a config value before validation, e.g. -p mxu.rows=128 (repeatable; for run, "
                 "applies to every accelerator)");

  std::string exp_file;
  auto* run = app.add_subcommand("run", "run an experiment and write its reports");
  run->add_option("experiment", exp_file, "experiment YAML file")->required();
  std::vector<std::string> files;
  auto* validate = app.add_subcommand("validate", "check config, workload, energy or experiment files");
  validate->add_option("files", files, "files to check")->required();
  // Options may also follow the subcommand.
  for (auto* sub : {run, validate}) {
    sub->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kBadInput;
  }
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);

  try {
    if (*validate) return cmd_validate(files, overrides);
    return cmd_run(exp_file, overrides, output, quiet);
  } catch (const xpu::config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return kBadInput;
  } catch (const xpu::lowering::LoweringError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return kInternal;
  }
}

// SystemC prints its banner as soon as anything creates the kernel, which a
// static initializer may do before main(); switch it off before all of them.
__attribute__((constructor(101))) static void quiet_systemc_banner() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
}
