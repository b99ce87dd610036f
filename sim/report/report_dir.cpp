#include "sim/report/report_dir.h"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

namespace xpu::report {

namespace {

bool holds_report(const std::string& dir) {
  std::error_code ec;
  for (const char* f : {"summary.json", "report.md", "manifest.json"})
    if (std::filesystem::exists(std::filesystem::path(dir) / f, ec)) return true;
  return false;
}

}  // namespace

std::string report_dir_for(const std::string& dir, bool force) {
  if (!holds_report(dir)) return dir;
  if (force) {
    spdlog::info("{} already holds a report: replacing it (--force)", dir);
    return dir;
  }
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (unsigned n = 2;; ++n) {
    const std::string next = base + "-" + std::to_string(n);
    if (!holds_report(next)) {
      spdlog::warn("{} already holds a report: writing {} instead (--force replaces it)", dir, next);
      return next;
    }
  }
}

}  // namespace xpu::report
