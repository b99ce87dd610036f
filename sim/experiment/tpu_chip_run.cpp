#include "sim/experiment/tpu_chip_run.h"

#include <algorithm>

#include "sim/common/errors.h"

namespace xpu::experiment {

uint64_t core_share(uint64_t total, uint32_t cores, uint32_t core) {
  return total / cores + (core < total % cores ? 1 : 0);
}

bool split_columns(uint64_t n, const tpu::TpuConfig& chip) { return n >= uint64_t(chip.cores) * chip.mxu.cols; }

uint64_t mxu_columns(uint64_t n, const tpu::MxuConfig& mxu, uint32_t j) {
  const uint64_t c = mxu.cols_per_mxu(), tile = mxu.cols;
  const uint64_t rest = n % tile, lo = uint64_t(j) * c;
  return (n / tile) * c + (rest > lo ? std::min(rest - lo, c) : 0);
}

void add_mxu_utilization(report::LayerResult& r, const tpu::MxuConfig& mxu, uint32_t core, uint64_t m,
                         uint64_t n, uint64_t k, uint64_t cycles) {
  if (n == 0 || cycles == 0) return;
  const double peak = double(mxu.rows) * mxu.cols_per_mxu() * double(cycles);
  for (uint32_t j = 0; j < mxu.count; ++j)
    r.unit_utilization["core" + std::to_string(core) + ".mxu" + std::to_string(j)] =
        double(m) * double(k) * double(mxu_columns(n, mxu, j)) / peak;
}

namespace {

// Counters summed over the cores' snapshots (derived entries: the slowest core's).
stats::Snapshot sum_snapshots(const std::vector<const stats::Snapshot*>& cores, size_t slowest) {
  stats::Snapshot out;
  for (const auto& e : cores[slowest]->entries()) {
    stats::Entry s = e;
    if (!e.derived) {
      s.value = 0;
      for (const auto* c : cores) s.value += c->get(e.path);
    }
    out.add(s);
  }
  return out;
}

}  // namespace

report::LayerResult combine_cores(const std::vector<CoreRow>& rows, const NetworkRunner& runner, uint32_t cores) {
  size_t slowest = 0;
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].row->cycles > rows[slowest].row->cycles) slowest = i;
  report::LayerResult r = *rows[slowest].row;
  r.macs = 0;
  std::vector<const stats::Snapshot*> snaps;
  for (const auto& x : rows) {
    r.macs += x.row->macs;
    snaps.push_back(&x.row->stats);
  }
  r.utilization = r.cycles ? double(r.macs) / (runner.peak_macs_per_cycle * cores * double(r.cycles)) : 0;
  r.stats = sum_snapshots(snaps, slowest);
  r.energy = runner.model.evaluate(r.stats, runner.terms, r.seconds);
  r.unit_utilization.clear();
  for (uint32_t c = 0; c < cores; ++c) r.unit_utilization["core" + std::to_string(c)] = 0;
  for (const auto& [key, b] : r.bytes)
    if (key != "array_rows_used" && key != "array_cols_used") {  // shapes, not traffic: the slowest core's
      r.bytes[key] = 0;
      for (const auto& x : rows) r.bytes[key] += x.row->bytes.count(key) ? x.row->bytes.at(key) : 0;
    }
  for (const auto& x : rows) {
    if (x.row->verdict == report::Verdict::mismatch && r.verdict != report::Verdict::mismatch) {
      r.verdict = x.row->verdict;
      r.verdict_detail = x.row->verdict_detail;
    }
    r.unit_utilization["core" + std::to_string(x.core)] =
        r.cycles ? double(x.row->macs) / (runner.peak_macs_per_cycle * double(r.cycles)) : 0;
  }
  return r;
}

std::vector<report::LayerResult> run_gemms_on_chip(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                   const workload::Workload& w, DType dtype,
                                                   const LayerRunOptions& opts) {
  const uint32_t cores = chip.cores;
  // Each core's share of every layer, as a workload of its own.
  std::vector<std::vector<report::LayerResult>> per_core(cores);
  for (uint32_t c = 0; c < cores; ++c) {
    workload::Workload share = w;
    share.layers.clear();
    for (const auto& l : w.layers) {
      const bool by_n = split_columns(l.n, chip);
      const uint64_t part = core_share(by_n ? l.n : l.m, cores, c);
      if (part == 0) continue;
      workload::Layer s = l;
      (by_n ? s.n : s.m) = part;
      share.layers.push_back(s);
    }
    if (share.layers.empty()) continue;
    LayerRunOptions o = opts;
    o.seed = opts.seed * 1000003 + c;  // a core's operands differ from its neighbours'
    per_core[c] = runner.run_gemms(share, dtype, o);
  }
  std::vector<report::LayerResult> out;
  std::vector<size_t> next(cores, 0);
  for (const auto& l : w.layers) {
    std::vector<CoreRow> rows;
    const bool by_n = split_columns(l.n, chip);
    for (uint32_t c = 0; c < cores; ++c)
      if (core_share(by_n ? l.n : l.m, cores, c) > 0) {
        if (next[c] >= per_core[c].size()) throw InternalError("chip run: core " + std::to_string(c) + " lost a layer");
        rows.push_back({&per_core[c][next[c]++], c});
      }
    report::LayerResult r = combine_cores(rows, runner, cores);
    r.name = l.name;
    r.shape = l.shape();
    if (r.macs != l.macs()) throw InternalError("chip run: layer '" + l.name + "': the cores' MACs do not add up");
    for (const auto& x : rows) {
      const uint64_t part = core_share(by_n ? l.n : l.m, cores, x.core);
      add_mxu_utilization(r, runner.cfg.mxu, x.core, by_n ? l.m : part, by_n ? part : l.n, l.k, r.cycles);
    }
    if (r.verdict != report::Verdict::unchecked)
      r.verdict_detail += " (" + std::to_string(rows.size()) + " cores, " + (by_n ? "columns" : "rows") + " split)";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace xpu::experiment
