#include "sim/report/comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace xpu::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<bool> mark(const std::vector<double>& v, const std::string& better) {
  std::vector<bool> out(v.size(), false);
  if (better.empty()) return out;
  double best = kNaN;
  size_t finite = 0;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    ++finite;
    if (!std::isfinite(best) || (better == "lower" ? x < best : x > best)) best = x;
  }
  if (finite < 2) return out;
  bool all_equal = true;
  for (double x : v)
    if (std::isfinite(x) && x != best) all_equal = false;
  if (all_equal) return out;
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::isfinite(v[i]) && v[i] == best;
  return out;
}

}  // namespace

std::vector<Comparison> compare_runs(const ExperimentResult& r) {
  std::vector<Comparison> out;
  // Runs of one workload at the same position in their accelerators'
  // precision lists are compared (the same precision unless an accelerator
  // lists its own, e.g. fp16 on a GPU next to bf16 on TPUs).
  std::map<std::pair<std::string, size_t>, size_t> index;
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const auto key = std::make_pair(r.runs[i].workload, r.runs[i].precision_slot);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, out.size()).first;
      Comparison c;
      c.workload = key.first;
      out.push_back(std::move(c));
    }
    out[it->second].runs.push_back(i);
  }
  for (auto& c : out) {
    std::vector<std::string> precs;
    for (size_t i : c.runs)
      if (std::find(precs.begin(), precs.end(), r.runs[i].precision) == precs.end()) precs.push_back(r.runs[i].precision);
    for (size_t k = 0; k < precs.size(); ++k) c.precision += (k ? "/" : "") + precs[k];
    for (size_t i : c.runs)
      c.columns.push_back(precs.size() > 1 ? r.runs[i].accelerator + " (" + r.runs[i].precision + ")"
                                           : r.runs[i].accelerator);
  }

  for (auto& c : out) {
    std::vector<const RunResult*> runs;
    for (size_t i : c.runs) runs.push_back(&r.runs[i]);
    auto add = [&](const std::string& key, const std::string& title, const std::string& unit,
                   const std::string& better, auto fn) {
      Metric m{key, title, unit, better, {}, {}};
      for (const RunResult* run : runs) m.values.push_back(fn(*run));
      m.best = mark(m.values, better);
      c.metrics.push_back(std::move(m));
    };
    add("clock_mhz", "clock", "MHz", "", [](const RunResult& x) { return x.clock_mhz; });
    add("cycles", "cycles", "cycles", "", [](const RunResult& x) { return double(x.cycles()); });
    add("latency_s", "latency", "s", "lower", [](const RunResult& x) { return x.seconds(); });
    add("throughput_per_s", "throughput", "workload passes/s", "higher",
        [](const RunResult& x) { return x.seconds() > 0 ? 1.0 / x.seconds() : kNaN; });
    add("tops", "achieved TOPS", "TOPS", "higher", [](const RunResult& x) { return x.tops(); });
    add("peak_tops", "peak TOPS", "TOPS", "", [](const RunResult& x) { return x.peak_tops(); });
    add("utilization", "utilization (achieved / peak)", "ratio", "higher",
        [](const RunResult& x) { return x.utilization(); });
    add("energy_j", "energy per inference (workload pass)", "J", "lower",
        [](const RunResult& x) { return x.energy_pj() * 1e-12; });
    add("dynamic_energy_j", "dynamic energy (counted operations)", "J", "lower",
        [](const RunResult& x) { return x.dynamic_energy_pj() * 1e-12; });
    add("static_energy_j", "static energy (static power x time)", "J", "lower",
        [](const RunResult& x) { return x.static_energy_pj() * 1e-12; });
    add("average_power_w", "average power", "W", "",
        [](const RunResult& x) { return x.seconds() > 0 ? x.energy_pj() * 1e-12 / x.seconds() : kNaN; });
    std::set<std::string> comps;
    for (const RunResult* run : runs)
      for (const auto& [name, pj] : run->energy_by_component()) comps.insert(name);
    for (const auto& comp : comps)
      add("energy_j." + comp, "energy: " + comp, "J", "", [&](const RunResult& x) {
        const auto m = x.energy_by_component();
        auto it = m.find(comp);
        return it == m.end() ? kNaN : it->second * 1e-12;
      });
    add("pj_per_mac", "energy per MAC", "pJ/MAC", "lower",
        [](const RunResult& x) { return x.macs() ? x.energy_pj() / double(x.macs()) : kNaN; });
    add("energy_delay_product_js", "energy-delay product", "J s", "lower",
        [](const RunResult& x) { return x.energy_pj() * 1e-12 * x.seconds(); });
    add("dram_bytes", "DRAM traffic", "bytes", "lower", [](const RunResult& x) { return x.dram_bytes(); });

    // Layers in the baseline's order, then any others in first-seen order.
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const RunResult* run : runs)
      for (const auto& l : run->layers)
        if (seen.insert(l.name).second) names.push_back(l.name);
    for (const auto& name : names) {
      LayerDelta d;
      d.layer = name;
      std::vector<double> lat, en;
      for (const RunResult* run : runs) {
        const LayerResult* found = nullptr;
        for (const auto& l : run->layers)
          if (l.name == name) {
            found = &l;
            break;
          }
        d.cells.push_back(found);
        lat.push_back(found ? found->seconds : kNaN);
        en.push_back(found ? found->energy.total_pj : kNaN);
      }
      d.fastest = mark(lat, "lower");
      d.least_energy = mark(en, "lower");
      c.layers.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace xpu::report
