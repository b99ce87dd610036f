#pragma once
// Sweeps: one experiment (a `kind: sweep` file: the experiment keys plus a
// `sweep:` section) run at many points of a parameter space.
//
//   sweep:
//     grid:                       # cartesian product, first key slowest
//       mxu.rows: [32, 64, 128, 256]
//       dram.bandwidth_gbps: [17, 34, 68]
//     zip:                        # value i of every key together
//       mxu.cols: [32, 64, 128, 256]
//       mxu.weight_load_cycles: [32, 64, 128, 256]
//
// Points = grid combinations x zip tuples. A key is a config key path
// applied to every accelerator config (like -p), or experiment.<key> for the
// sweep file's own keys (experiment.seed, experiment.node.nm, ...).
//
// Execution. SystemC elaborates once per process, so every point runs in a
// worker process, -j computing at a time (one that only waits for its
// result to reach the disk frees its slot): forked from the driver once the
// sweep is parsed and checked (no exec, no second parse), reaped the moment
// it exits; a worker dies with its parent (PR_SET_PDEATHSIG). It hands the
// driver the part of its result the reports read (a memfd), so the driver
// does not parse the result files again. The driver runs the
// points grouped by their machines' lowering keys (machine_registry.h,
// PreparedMachine) and, at timing fidelity, lowers each group once just
// before forking its first worker: points that differ only in values the
// lowering does not read (DRAM bandwidth, ...) share one program.
// `xpusim sweep-point` runs one point in a process of its own (by hand, or
// for debugging), lowering it there. Under
// mpirun (built with MPI) the pending points are dealt round-robin over the
// ranks, each rank runs its share with -j workers and sends each result to
// rank 0 as it finishes (mpi_sweep.h).
//
// Persistence. Output directory layout:
//   sweep.json          the plan: point ids and the SHA-256 of every input
//   points/<id>.json    one result per point, committed by the worker with
//                       link(2) from a fully written, flushed temporary file:
//                       it appears whole or not at all, and never replaces an
//                       existing result (a second commit of a point is an
//                       error, so no point can have two results); the
//                       driver fsyncs points/ once when its workers are done
//   points/<id>.log     a worker's output, kept only when it failed
//   points.log          append-only: start/done/failed events with time and rank
//   summary.json, points.csv, layers.csv, report.md, report.html, manifest.json
//                       written together: one directory fsync (atomic_file.h)
// A point id is "p" + the first 12 hex digits of SHA-256 over its sorted
// "key=value" lines: stable under reordering of the axes and across runs.
// A sweep killed at any moment (SIGKILL included) loses only points in
// flight, which have no result file; `--resume` runs exactly the points
// without one. An exclusive flock on <dir>/.lock keeps two sweeps out of one
// directory; the kernel drops it when the holder dies.
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/experiment/experiment_config.h"

namespace xpu::experiment {

// Bad sweep state the user can fix: another sweep holds the directory, a
// plan changed under --resume, a result is unreadable (exit code 1).
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SweepPoint {
  size_t index = 0;
  std::string id;
  std::vector<std::pair<std::string, std::string>> params;  // axis order: grid keys, then zip keys
  // -p style assignments: to every accelerator, and to the sweep file.
  std::vector<std::string> accelerator_overrides() const;
  std::vector<std::string> experiment_overrides() const;
};

// Throws config::ConfigError on duplicate points.
std::vector<SweepPoint> expand_sweep(const ExperimentConfig& sweep);
std::string point_id(const std::vector<std::pair<std::string, std::string>>& params);
// A YAML scalar as JSON: integers and finite decimals as numbers, true/false
// as booleans, anything else as a string.
nlohmann::json scalar_json(const std::string& yaml_text);

struct SweepOptions {
  std::string output_dir;              // default reports/<name>
  std::vector<std::string> overrides;  // -p, to every accelerator of every point
  unsigned jobs = 1;                   // worker processes at a time (per MPI rank)
  bool resume = false;
  bool quiet = false;
  bool progress = false;
  // Runs a worker's body and turns what it throws into an exit code and a
  // message on stderr, as the command line does (unset: any exception is 2).
  std::function<int(const std::function<int()>&)> guard;
};

// `xpusim sweep`: validates every point's configs, runs the pending points
// and writes the reports. Returns the exit code (0; 1 when points failed or
// on bad input). Throws config::ConfigError on bad input.
int run_sweep(const std::string& sweep_file, const SweepOptions& opts);

// `xpusim sweep-point` (the worker): runs point `index` (whose id must be
// `id`) in this process and commits the result to `out`. Returns the exit code.
int run_sweep_point(const std::string& sweep_file, size_t index, const std::string& id, const std::string& out,
                    const std::vector<std::string>& overrides);

}  // namespace xpu::experiment
