// The compiled half of the xpusim Python package (xpusim/_xpusim): thin
// wrappers over the simulator's own APIs. The package (python/xpusim/)
// turns dicts into files, results into DataFrames.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <spdlog/spdlog.h>

#include "python/src/child_process.h"
#include "python/src/errors.h"
#include "python/src/workload_binding.h"
#include "sim/cli/validate.h"
#include "sim/config/document.h"
#include "sim/config/overrides.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/sweep.h"
#include "sim/report/report_dir.h"
#include "xpusim_version.h"

namespace py = pybind11;

namespace xpu::python {

namespace {

// Every problem `xpusim validate` finds, the experiment's accelerators and
// workloads included, with -p overrides; and overrides no file took.
void validate(const std::string& path, const std::vector<std::string>& overrides) {
  cli::OverrideUse used;
  std::vector<config::Diagnostic> diags = cli::validate_file(path, overrides, &used);
  for (auto& d : cli::unused_overrides(config::split_overrides(overrides), used)) diags.push_back(std::move(d));
  if (!diags.empty()) throw config::ConfigError(diags);
}

py::dict accelerator_info(const std::string& path, const std::vector<std::string>& overrides) {
  const config::Document doc = config::Document::load(path);
  const experiment::MachineKind& kind = experiment::machine_kind_of(doc);
  kind.check_config(path, overrides);
  py::dict d;
  d["kind"] = kind.kind;
  d["name"] = doc.root()["name"] ? doc.root()["name"].as<std::string>() : std::string();
  return d;
}

py::dict experiment_info(const std::string& path, const std::vector<std::string>& overrides, const std::string& kind) {
  const experiment::ExperimentConfig e = experiment::load_experiment(path, overrides, {kind});
  py::dict d;
  d["kind"] = e.kind;
  d["name"] = e.name;
  d["source_file"] = e.source_file;
  d["energy_file"] = e.energy_file;
  d["fidelity"] = std::string(fidelity_name(e.fidelity));
  d["seed"] = e.seed;
  py::list accs, precisions, axes;
  for (const auto& a : e.accelerators) {
    py::dict r;
    r["file"] = a.file;
    r["name"] = a.name;
    r["overrides"] = a.overrides;
    accs.append(r);
  }
  for (auto p : e.precisions) precisions.append(std::string(dtype_name(p)));
  for (const auto* group : {&e.grid, &e.zip})
    for (const auto& ax : *group) axes.append(py::make_tuple(ax.key, ax.values, group == &e.grid ? "grid" : "zip"));
  d["accelerators"] = accs;
  d["workloads"] = e.workload_files;
  d["precisions"] = precisions;
  d["sweep_axes"] = axes;
  d["points"] = e.kind == "sweep" ? experiment::sweep_point_count(e) : uint64_t(1);
  return d;
}

void set_log_level(bool quiet) {
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);
}

// `xpusim run` in a child process (SystemC elaborates once per process).
int run(const std::string& path, const std::vector<std::string>& overrides, const std::string& output_dir, bool quiet,
        bool progress, bool trace) {
  const config::Overrides ov = config::split_overrides(overrides);
  return run_in_child([&] {
    set_log_level(quiet);
    const experiment::ExperimentConfig exp = experiment::load_experiment(path, ov.experiment);
    experiment::RunOptions opts;
    opts.output_dir = output_dir;
    opts.overrides = ov.accelerator;
    opts.workload_overrides = ov.workload;
    opts.quiet = quiet;
    opts.progress = progress;
    opts.trace = trace;
    experiment::run_experiment(exp, opts);
    return 0;
  });
}

// `xpusim sweep`: the coordinator in a child process, its points in worker
// processes forked from it. Returns 1 when points failed.
int sweep(const std::string& path, const std::vector<std::string>& overrides, const std::string& output_dir,
          unsigned jobs, bool resume, bool quiet, bool progress) {
  config::split_overrides(overrides);  // bad assignments are the caller's error, here
  return run_in_child([&] {
    set_log_level(quiet);
    experiment::SweepOptions so;
    so.output_dir = output_dir;
    so.overrides = overrides;
    so.jobs = jobs;
    so.resume = resume;
    so.quiet = quiet;
    so.progress = progress;
    return experiment::run_sweep(path, so);
  });
}

}  // namespace

}  // namespace xpu::python

PYBIND11_MODULE(_xpusim, m) {
  using namespace xpu::python;
  m.doc() = "xpusim's C++ core (use the xpusim package)";
  m.attr("__version__") = XPUSIM_VERSION;
  m.attr("git_revision") = XPUSIM_GIT_REVISION;
  spdlog::set_pattern("%^%l%$: %v");  // as the CLI logs
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const py::error_already_set&) {
      throw;
    } catch (const py::builtin_exception&) {
      throw;
    } catch (...) {
      set_python_error(record_of(std::current_exception()));
    }
  });
  m.def("validate", &validate, py::arg("path"), py::arg("overrides"));
  m.def("accelerator_info", &accelerator_info, py::arg("path"), py::arg("overrides"));
  m.def("experiment_info", &experiment_info, py::arg("path"), py::arg("overrides"), py::arg("kind"));
  m.def("machine_kinds", &xpu::experiment::machine_kinds);
  m.def("report_dir_for", &xpu::report::report_dir_for, py::arg("dir"), py::arg("force"));
  m.def("run", &run, py::arg("path"), py::arg("overrides"), py::arg("output_dir"), py::arg("quiet"),
        py::arg("progress"), py::arg("trace"));
  m.def("sweep", &sweep, py::arg("path"), py::arg("overrides"), py::arg("output_dir"), py::arg("jobs"),
        py::arg("resume"), py::arg("quiet"), py::arg("progress"));
  bind_workload(m);
}

// SystemC's library holds a main() that calls sc_main(). The module never
// runs it, but Python loads extensions with RTLD_NOW, so the symbol must exist
// (and be visible: pybind11 hides the module's symbols by default).
extern "C" __attribute__((visibility("default"))) int sc_main(int, char*[]) { return 0; }
