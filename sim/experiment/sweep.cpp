// The sweep drivers: `xpusim sweep` (plan, run the pending points in the
// worker pool, write the reports), a worker's body (run_point) and `xpusim
// sweep-point` (one point in a process of its own). The pieces live in sweep_plan.cpp, sweep_store.cpp,
// sweep_worker_pool.cpp and sweep_report.cpp.
#include "sim/experiment/sweep.h"

#include <chrono>
#include <cstdio>
#include <map>

#include <spdlog/spdlog.h>

#include "sim/config/overrides.h"
#include "sim/experiment/mpi_sweep.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/report/atomic_file.h"
#include "sim/report/progress.h"
#include "sim/report/report_writer.h"

namespace xpu::experiment {

int run_sweep(const std::string& sweep_file, const SweepOptions& opts) {
  if (launched_by_mpi()) {
    if (!mpi_built())
      throw SweepError("started by mpirun, but this xpusim was built without MPI (XPUSIM_WITH_MPI=OFF); "
                               "every rank would run the whole sweep");
    return run_sweep_mpi(sweep_file, opts);
  }
  const auto started = std::chrono::system_clock::now();
  detail::SweepPlan plan = detail::plan_sweep(sweep_file, opts);
  report::make_dirs(plan.dir);
  detail::DirLock lock(plan.dir);
  const auto pending = detail::prepare_dir(plan, opts);
  if (!opts.quiet)
    spdlog::info("sweep {}: {} points, {} to run, -j {}", plan.cfg.name, plan.points.size(), pending.size(), opts.jobs);
  std::vector<const SweepPoint*> todo;
  for (size_t i : pending) todo.push_back(&plan.points[i]);
  report::Progress bar("points", double(plan.points.size()), opts.progress);
  size_t done = plan.points.size() - pending.size(), failed = 0;
  for (const auto* p : todo) detail::log_event(plan.dir, "queued " + std::to_string(p->index) + " " + p->id + " rank 0");
  // The workers hand over what the reports read of their results: the
  // driver does not parse the result files again.
  std::map<std::string, std::string> digests;
  detail::execute_points(plan, todo, plan.dir + "/points", opts, [&](const SweepPoint& p, bool ok) {
    detail::log_event(plan.dir, std::string(ok ? "done " : "failed ") + std::to_string(p.index) + " " + p.id + " rank 0");
    ++done;
    if (!ok) {
      ++failed;
      spdlog::error("point {} ({}) failed: see {}/points/{}.log", p.index, p.id, plan.dir, p.id);
    }
    bar.update(double(done), p.id);
  }, {}, &digests);
  bar.finish();
  const int rc = detail::finish_sweep(plan, opts, started, &digests);
  if (!opts.quiet) std::printf("report: %s/report.md\n", plan.dir.c_str());
  return rc;
}

namespace {

// Runs one point from its experiment config and commits its result.
int run_and_commit(const ExperimentConfig& exp, const SweepPoint& p, const config::Overrides& cli,
                   const std::string& out, const detail::SweepPlan* read = nullptr) {
  RunOptions ro;
  if (read) {
    ro.energy_table = &read->table;
    ro.workloads = &read->workloads;
    ro.input_sha256 = &read->input_sha256;
  }
  ro.overrides = p.accelerator_overrides();
  for (const auto& o : cli.accelerator) ro.overrides.push_back(o);
  ro.workload_overrides = cli.workload;
  ro.quiet = true;
  const report::ExperimentResult result = run_experiment_results(exp, ro);
  nlohmann::json j;
  j["schema"] = "xpusim.sweep_point";
  j["schema_version"] = 1;
  j["index"] = p.index;
  j["id"] = p.id;
  j["params"] = detail::params_json(p);
  j["summary"] = report::summary_json(result);
  const std::string text = j.dump(1) + "\n";
  detail::send_digest(j);
  std::string err;
  if (!detail::commit_no_replace(out, text, err)) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 2;
  }
  return 0;
}

// The point's experiment: the sweep file with its experiment.* values and
// the command line's experiment overrides applied.
ExperimentConfig point_experiment(const std::string& sweep_file, const SweepPoint& p, const config::Overrides& cli) {
  std::vector<std::string> eo = p.experiment_overrides();
  eo.insert(eo.end(), cli.experiment.begin(), cli.experiment.end());
  return load_experiment(sweep_file, eo, {"sweep"});
}

}  // namespace

namespace detail {

void before_fork(const SweepPlan& plan, const SweepPoint& p) {
  if (plan.cfg.fidelity != Fidelity::timing) return;  // other fidelities lower with values
  const auto& machines = plan.machines[p.index];
  for (size_t i = 0; i < machines.size(); ++i) {
    if (!machines[i].prelower) continue;
    try {
      machines[i].prelower(plan.workloads, plan.cfg.accelerators[i].precisions, plan.cfg.io == "resident");
    } catch (const std::exception&) {
      // Left to the worker, which lowers again and fails this point alone,
      // with the message in its log.
    }
  }
}

int run_point(const SweepPlan& plan, const SweepPoint& p, const std::string& out, const SweepOptions& opts) {
  const config::Overrides cli = config::split_overrides(opts.overrides);
  const auto& machines = plan.machines[p.index];
  if (machines.empty()) return run_and_commit(point_experiment(plan.file, p, cli), p, cli, out);
  // plan.cfg is this point's experiment (the sweep file with the command
  // line's overrides); its inputs are read already.
  ExperimentConfig exp = plan.cfg;
  for (size_t i = 0; i < machines.size(); ++i) exp.accelerators[i].make = machines[i].make;
  return run_and_commit(exp, p, cli, out, &plan);
}

}  // namespace detail

int run_sweep_point(const std::string& sweep_file, size_t index, const std::string& id, const std::string& out,
                    const std::vector<std::string>& overrides) {
  const config::Overrides cli = config::split_overrides(overrides);
  const ExperimentConfig base = load_experiment(sweep_file, cli.experiment, {"sweep"});
  const auto points = expand_sweep(base);
  if (index >= points.size() || points[index].id != id)
    throw SweepError("sweep point " + std::to_string(index) + " of " + sweep_file + " is not " + id +
                             ": the sweep file changed");
  return run_and_commit(point_experiment(sweep_file, points[index], cli), points[index], cli, out);
}

}  // namespace xpu::experiment
