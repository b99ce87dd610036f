#pragma once
// Where a run writes its report: a run never replaces an existing report
// silently.
#include <string>

namespace xpu::report {

// `dir` when it holds no report (no summary.json, report.md or manifest.json)
// or when `force`; otherwise the first of `dir-2`, `dir-3`, ... that holds
// none. Logs a warning when it diverts or replaces.
std::string report_dir_for(const std::string& dir, bool force);

}  // namespace xpu::report
