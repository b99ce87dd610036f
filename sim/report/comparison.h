#pragma once
// Side-by-side comparison of the runs of one experiment: for every workload
// x precision, one column per accelerator that ran it, one row per metric,
// the better value marked; and per-layer deltas against the first column
// (the baseline: the first accelerator listed in the experiment).
#include <string>
#include <vector>

#include "sim/report/results.h"

namespace xpu::report {

struct Metric {
  std::string key;    // summary.json name, e.g. "latency_s"
  std::string title;  // "latency"
  std::string unit;   // "s"
  // "lower" / "higher": which is better; "" when the values are not
  // comparable as better/worse (cycles at different clocks, peak TOPS, ...).
  std::string better;
  std::vector<double> values;  // one per column; NaN when the column has no such value
  std::vector<bool> best;      // marked cells (all equal-best ones); none when < 2 finite values or all equal
};

struct LayerDelta {
  std::string layer;
  std::vector<const LayerResult*> cells;  // one per column; nullptr when that run has no such layer
  std::vector<bool> fastest;              // lowest latency (marked), as Metric::best
  std::vector<bool> least_energy;
};

struct Comparison {
  std::string workload;
  std::string precision;
  std::vector<size_t> runs;  // indices into ExperimentResult::runs, one per column
  std::vector<std::string> columns;  // accelerator labels
  std::vector<Metric> metrics;
  std::vector<LayerDelta> layers;
};

std::vector<Comparison> compare_runs(const ExperimentResult& r);

}  // namespace xpu::report
