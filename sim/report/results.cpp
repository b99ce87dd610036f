#include "sim/report/results.h"

namespace xpu::report {

uint64_t RunResult::cycles() const {
  uint64_t c = 0;
  for (const auto& l : layers) c += l.cycles;
  return c;
}

uint64_t RunResult::macs() const {
  uint64_t m = 0;
  for (const auto& l : layers) m += l.macs;
  return m;
}

double RunResult::seconds() const {
  double s = 0;
  for (const auto& l : layers) s += l.seconds;
  return s;
}

double RunResult::energy_pj() const {
  double e = 0;
  for (const auto& l : layers) e += l.energy.total_pj;
  return e;
}

double LayerResult::dram_bytes() const {
  double b = 0;
  for (const auto& e : stats.entries()) {
    const auto& p = e.path;
    auto ends = [&](const char* suffix) {
      const size_t n = std::char_traits<char>::length(suffix);
      return p.size() >= n && p.compare(p.size() - n, n, suffix) == 0 &&
             (p.size() == n || p[p.size() - n - 1] == '.');
    };
    if (!e.derived && (ends("dram.read_bytes") || ends("dram.write_bytes"))) b += e.value;
  }
  return b;
}

double RunResult::dram_bytes() const {
  double b = 0;
  for (const auto& l : layers) b += l.dram_bytes();
  return b;
}

std::map<std::string, double> RunResult::energy_by_component() const {
  std::map<std::string, double> m;
  for (const auto& l : layers)
    for (const auto& [c, pj] : l.energy.by_component) m[c] += pj;
  return m;
}

double RunResult::utilization() const {
  const double c = double(cycles());
  return c > 0 ? double(macs()) / (peak_macs_per_cycle * c) : 0;
}

}  // namespace xpu::report
