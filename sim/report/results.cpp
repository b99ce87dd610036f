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

double RunResult::utilization() const {
  const double c = double(cycles());
  return c > 0 ? double(macs()) / (peak_macs_per_cycle * c) : 0;
}

}  // namespace xpu::report
