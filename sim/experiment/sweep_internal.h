#pragma once
// Pieces of the sweep driver shared by the local (sweep.cpp) and MPI
// (mpi_sweep.cpp) executors: the plan (sweep_plan.cpp), the output
// directory (sweep_store.cpp), the worker pool (sweep_worker_pool.cpp) and
// the reports (sweep_report.cpp).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/energy/energy_table.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/sweep.h"
#include "sim/workload/workload.h"

namespace xpu::experiment::detail {

struct SweepPlan {
  std::string file;
  ExperimentConfig cfg;
  std::vector<SweepPoint> points;
  nlohmann::json spec;  // what sweep.json holds
  std::string dir;
  // Inputs read once, here, and inherited by the forked workers: the energy
  // table, the workloads and, per point, every accelerator's typed config
  // (machines[point][accelerator]). A point with experiment.* values of its
  // own has no machines and reads its inputs in its worker.
  energy::EnergyTable table;
  std::vector<workload::Workload> workloads;
  std::vector<std::vector<PreparedMachine>> machines;
  // SHA-256 of every input file (path -> hex), for sweep.json and the
  // points' manifests: hashed once, here.
  std::map<std::string, std::string> input_sha256;
  // Per point: its accelerators' lowering keys ("" when it has no shared
  // lowering), which groups the points that lower alike.
  std::vector<std::string> lowering_group;
};

// Loads the sweep, expands it and validates every point's configs (without
// simulating). Throws config::ConfigError.
SweepPlan plan_sweep(const std::string& file, const SweepOptions& opts);
// A point's parameters as a JSON object (values through scalar_json).
nlohmann::json params_json(const SweepPoint& p);

// Holds an exclusive flock on <dir>/.lock for its lifetime.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);  // throws std::runtime_error when held elsewhere
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Creates the directory layout, checks sweep.json against the plan (error
// unless absent, or equal and resuming) and writes it; returns the indices
// of the points without a result. Throws std::runtime_error.
std::vector<size_t> prepare_dir(const SweepPlan& plan, const SweepOptions& opts);

std::string result_path(const std::string& dir, const SweepPoint& p);
bool has_result(const std::string& dir, const SweepPoint& p);
// Atomically creates `path` with `content` unless it exists: false (and
// `err`) when it does or on an I/O error. The data is on the disk before
// the name exists (report::flush_data); sync_dir makes the name durable.
bool commit_no_replace(const std::string& path, const std::string& content, std::string& err);
// Called by commit_no_replace once the content is written, before it waits
// for the disk (a forked worker tells the driver its computing is done, so
// the next point starts while this one waits for its write). Unset: nothing.
void set_before_flush(std::function<void()> hook);
// Where a forked worker hands the driver its result's digest (the JSON text
// of result_digest); unset: nowhere.
void set_digest_sink(std::function<void(const std::string&)> sink);
void send_digest(const nlohmann::json& result);
// fsync of a directory: the names created in it are durable.
void sync_dir(const std::string& dir);
void log_event(const std::string& dir, const std::string& what);
// The whole file ("" when it cannot be read).
std::string slurp(const std::string& path);

// In the driver, before forking point `p`'s worker: lowers its programs
// ahead where its machines can share them (PreparedMachine::prelower).
void before_fork(const SweepPlan& plan, const SweepPoint& p);
// Runs point `p` of the plan in this process and commits its result to
// `out` (the body of a worker). Returns the exit code; throws as a run does.
int run_point(const SweepPlan& plan, const SweepPoint& p, const std::string& out, const SweepOptions& opts);

// Runs `todo` in worker processes (forked, each runs run_point), `jobs` at a
// time; results go to <result_dir>/<id>.json, worker output to
// <result_dir>/<id>.log (their names are made durable by finish_sweep). on_done(point, ok) is called as each finishes,
// right when it exits; `idle` is called every loop turn (at least every
// millisecond when given) and returns true while more work may arrive from
// elsewhere (the loop continues until it returns false and all is done).
// `digests`: the result digests (result_digest, as JSON text) of the points
// that succeeded, by point id, handed over by the workers (an anonymous
// memory file each).
void execute_points(const SweepPlan& plan, const std::vector<const SweepPoint*>& todo, const std::string& result_dir,
                    const SweepOptions& opts, const std::function<void(const SweepPoint&, bool)>& on_done,
                    const std::function<bool()>& idle = {},
                    std::map<std::string, std::string>* digests = nullptr);

// A committed result, read and parsed (throws SweepError when unreadable).
nlohmann::json read_result(const SweepPlan& plan, const SweepPoint& p);
// The part of a point's result the reports read (finish_sweep): the result
// without the subtrees they never look at, so that the driver parses a few
// kB per point instead of the whole file.
nlohmann::json result_digest(const nlohmann::json& result);

// Makes the names in points/ durable (one directory fsync, overlapped with
// rendering), reads every result and writes the reports; returns 0, or 1
// when points have no result (failed). `digests`: the result_digest texts
// execute_points collected, by point id (each dropped once used); results
// without one are read from their files.
int finish_sweep(const SweepPlan& plan, const SweepOptions& opts, std::chrono::system_clock::time_point started,
                 std::map<std::string, std::string>* digests = nullptr);

}  // namespace xpu::experiment::detail
