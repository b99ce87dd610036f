#pragma once
// Writes an experiment's results under one directory, each file atomically:
//   summary.json  versioned schema (docs: reports/README.md)
//   layers.csv    one row per layer x run (tidy, pandas-friendly)
//   report.md     human-readable tables
#include <string>
#include <vector>

#include "sim/report/results.h"

namespace xpu::report {

constexpr int kSummarySchemaVersion = 1;

nlohmann::json summary_json(const ExperimentResult& r);
std::string layers_csv(const ExperimentResult& r);
std::string report_markdown(const ExperimentResult& r);

// Returns the paths written.
std::vector<std::string> write_reports(const ExperimentResult& r, const std::string& dir);

}  // namespace xpu::report
