#include "sim/report/results.h"

namespace xpu::report {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::bit_exact: return "bit_exact";
    case Verdict::within_tolerance: return "within_tolerance";
    case Verdict::mismatch: return "mismatch";
    case Verdict::skipped: return "skipped";
    case Verdict::unchecked: return "unchecked";
  }
  return "unchecked";
}

std::string LayerResult::verified() const {
  if (verdict == Verdict::unchecked) return "values not computed (timing fidelity)";
  return verdict_detail.empty() ? verdict_name(verdict) : verdict_detail;
}

std::string verdict_summary(const RunResult& run) {
  size_t n[5] = {};
  for (const auto& l : run.layers) ++n[static_cast<int>(l.verdict)];
  const auto count = [&](Verdict v) { return n[static_cast<int>(v)]; };
  if (count(Verdict::unchecked) && !count(Verdict::bit_exact) && !count(Verdict::within_tolerance) &&
      !count(Verdict::mismatch))
    return "values not computed (timing fidelity)";
  const std::pair<Verdict, const char*> words[] = {{Verdict::bit_exact, "bit-exact"},
                                                   {Verdict::within_tolerance, "within tolerance"},
                                                   {Verdict::mismatch, "MISMATCH"},
                                                   {Verdict::skipped, "not compared"},
                                                   {Verdict::unchecked, "not computed"}};
  std::string s;
  for (const auto& [v, word] : words)
    if (count(v)) s += (s.empty() ? "" : ", ") + std::to_string(count(v)) + " " + word;
  return s.empty() ? "-" : s;
}

double LayerResult::stall_share(const std::string& cause) const {
  const auto it = stalls.find(cause);
  return it != stalls.end() && cycles > 0 ? it->second / double(cycles) : 0;
}

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

uint64_t RunResult::effective_macs() const {
  uint64_t m = 0;
  for (const auto& l : layers) m += l.done_macs();
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

double RunResult::static_energy_pj() const {
  double e = 0;
  for (const auto& l : layers) e += l.energy.static_pj;
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
