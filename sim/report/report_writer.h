#pragma once
// Writes an experiment's results under one directory, each file atomically
// (atomic_file.h, one directory fsync for the whole report):
//   summary.json  versioned schema (docs: reports/README.md)
//   layers.csv    one row per layer x run (tidy, pandas-friendly)
//   layer_energy.csv  one row per layer x run x component x op class (long format)
//   report.md     human-readable tables, comparisons with the better value marked
//   report.html   self-contained: tables and inline-SVG charts (html_report.h)
#include <string>
#include <utility>
#include <vector>

#include "sim/report/results.h"

namespace xpu::report {

constexpr int kSummarySchemaVersion = 2;

nlohmann::json summary_json(const ExperimentResult& r);
std::string layers_csv(const ExperimentResult& r);
std::string layer_energy_csv(const ExperimentResult& r);
// One run as in summary.json's "runs" (with `layers` false: totals only).
nlohmann::json run_json(const RunResult& run, bool layers = true);
nlohmann::json comparisons_json(const ExperimentResult& r);
std::string report_markdown(const ExperimentResult& r);

// Writes the files above, and `extra` (name, content) pairs next to them,
// with one directory fsync for all. Returns the paths written.
std::vector<std::string> write_reports(const ExperimentResult& r, const std::string& dir,
                                       const std::vector<std::pair<std::string, std::string>>& extra = {});

}  // namespace xpu::report
