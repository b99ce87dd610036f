#include "models/gpu/wave_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace xpu::gpu {

namespace {

uint64_t scaled(uint64_t b, uint64_t c, double f) {
  return b > c ? static_cast<uint64_t>(std::llround(double(b - c) * f)) : 0;
}

// Per-CTA figures of one interval between snapshots.
struct Rate {
  double cycles = 0, dram = 0, work = 0, hit = 1;
  bool reads = false;
};

Rate rate(const WaveTotals& a, const WaveTotals& b) {
  Rate r;
  const double n = double(b.dispatched - a.dispatched);
  r.cycles = double(b.cycle - a.cycle) / n;
  r.dram = double(b.mem.dram_read_bytes + b.mem.dram_write_bytes - a.mem.dram_read_bytes - a.mem.dram_write_bytes) / n;
  r.work = double(b.sm[Ctr::warp_insts] - a.sm[Ctr::warp_insts]) / n;
  const double hits = double(b.mem.l2_read_hits - a.mem.l2_read_hits);
  const double reads = hits + double(b.mem.l2_read_misses - a.mem.l2_read_misses);
  r.reads = reads > 0;
  r.hit = reads > 0 ? hits / reads : 1;
  return r;
}

// Every value within tol x mean of the mean (all zero: agreed).
bool agree(const std::vector<double>& v, double tol) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v)
    if (std::fabs(x - mean) > tol * mean) return false;
  return true;
}

}  // namespace

void add_scaled_delta(SmCounters& a, const SmCounters& b, const SmCounters& c, double f) {
  for (int i = 0; i < static_cast<int>(Ctr::count); ++i) a.c[i] += scaled(b.c[i], c.c[i], f);
  for (int i = 0; i < static_cast<int>(Stall::count); ++i) a.stall[i] += scaled(b.stall[i], c.stall[i], f);
}

void add_scaled_delta(MemCounters& a, const MemCounters& b, const MemCounters& c, double f) {
  combine_counters(a, b, c, [f](uint64_t& o, uint64_t x, uint64_t y) { o += scaled(x, y, f); });
}

void add_counters(MemCounters& a, const MemCounters& b) { add_scaled_delta(a, b, MemCounters{}, 1.0); }

uint32_t grid_period(const Launch& l) {
  const uint32_t n = l.ctas, nb = l.nbufs;
  for (uint32_t p = 1; p <= n / 2; ++p) {
    bool ok = true;
    for (uint32_t b = 0; b < nb && ok; ++b) {
      const uint64_t d = l.base(p, b) - l.base(0, b);
      for (uint32_t c = 1; c + p < n && ok; ++c) ok = l.base(c + p, b) - l.base(c, b) == d;
    }
    if (ok) return p;
  }
  return 0;
}

void WaveSampler::begin(const Launch& launch, uint32_t wave_ctas, uint64_t l2_bytes, uint64_t quantum, bool enabled,
                        const SamplingParams& p) {
  p_ = p;
  const uint32_t ctas = launch.ctas;
  ctas_ = ctas;
  wave_ = std::max(1u, wave_ctas);
  // Intervals (and skips) of whole periods and whole waves where the two
  // meet within `max_unit_waves` waves (the pattern and the dispatch
  // bursts in the same phase at every snapshot); else whole periods that
  // span a wave.
  period_ = enabled ? grid_period(launch) : 0;
  step_ = period_ > 0 ? period_ : wave_;
  unit_ = period_ > 0 ? (wave_ + period_ - 1) / period_ * period_ : wave_;
  if (period_ > 0) {
    const uint64_t both = std::lcm(uint64_t(period_), uint64_t(wave_));
    if (both <= uint64_t(p_.max_unit_waves) * wave_) unit_ = step_ = static_cast<uint32_t>(both);
  }
  // Each half spans at least `window` waves, in whole intervals: the wave
  // of CTAs in flight at a snapshot biases a short half (header, point 2).
  if (unit_ > wave_) p_.window = static_cast<uint32_t>((uint64_t(p_.window) * wave_ + unit_ - 1) / unit_);
  group_ = 1;
  l2_bytes_ = l2_bytes;
  quantum_ = std::max<uint64_t>(1, quantum);
  snaps_.clear();
  extra_ = SampledExtra{};
  extra_.waves_total = (ctas + wave_ - 1) / wave_;
  extra_.waves_simulated = extra_.waves_total;
  const uint64_t need = uint64_t(p.warm_waves + p.min_skip_waves + p.keep_waves + 1) * wave_ + 2ull * p_.window * unit_;
  active_ = enabled && uint64_t(ctas) >= need;
  next_mark_ = wave_;
}

bool WaveSampler::steady() const {
  const size_t span = 2 * size_t(p_.window);
  const size_t n = snaps_.size();
  if (n < span + 1) return false;
  const WaveTotals& first = snaps_[n - 1 - span];
  // Past the warm-up, and the L2 turned over (write-backs in the rate).
  if (first.dispatched < uint64_t(p_.warm_waves + 1) * wave_) return false;
  if (first.mem.dram_read_bytes + first.mem.l2_write_bytes < l2_bytes_) return false;
  // And every L2 set it uses has filled: a line allocated in an empty way
  // evicts nothing, so while sets still fill (a strided grid sweeps them
  // one CTA at a time) the rate lacks the write-backs that start when the
  // sweep wraps. Traffic alone passes the test above long before.
  const WaveTotals& last = snaps_.back();
  const auto dram_of = [](const WaveTotals& w) { return w.mem.dram_read_bytes + w.mem.dram_write_bytes; };
  if (double(last.mem.l2_cold_fill_bytes - first.mem.l2_cold_fill_bytes) >
      p_.cold_tolerance * double(dram_of(last) - dram_of(first)))
    return false;
  // Each interval near the mean of all, and the two halves' rates close:
  // a slow drift (per-CTA work or traffic changing along the grid) fails
  // the second test long before it adds up over the skipped waves.
  std::vector<double> cyc, dram, work, hit;
  bool reads = false;
  for (size_t i = n - 1 - span; i + 1 < n; ++i) {
    const Rate r = rate(snaps_[i], snaps_[i + 1]);
    cyc.push_back(r.cycles), dram.push_back(r.dram), work.push_back(r.work), hit.push_back(r.hit);
    reads |= r.reads;
  }
  if (!agree(cyc, p_.tolerance) || !agree(dram, p_.tolerance) || !agree(work, p_.work_tolerance)) return false;
  const WaveTotals& mid = snaps_[n - 1 - p_.window];
  const Rate a = rate(first, mid), b = rate(mid, snaps_[n - 1]);
  if (!agree({a.cycles, b.cycles}, p_.half_tolerance) || !agree({a.dram, b.dram}, p_.half_tolerance)) return false;
  const auto [lo, hi] = std::minmax_element(hit.begin(), hit.end());
  return !reads || *hi - *lo <= 2 * p_.hit_tolerance;
}

uint32_t WaveSampler::observe(const WaveTotals& t) {
  if (!snaps_.empty() && t.cycle - snaps_.back().cycle < p_.min_interval_quanta * quantum_) {
    // Too short against the barrier's granularity: measure longer groups,
    // from here on.
    group_ *= 2;
    snaps_.clear();
  }
  snaps_.push_back(t);
  next_mark_ = (t.dispatched / unit_ + group_) * unit_;
  if (next_mark_ >= ctas_) active_ = false;
  if (!steady()) return 0;
  active_ = false;  // once per launch
  const uint32_t left_waves = (ctas_ - t.dispatched) / wave_;
  if (left_waves < p_.keep_waves + p_.min_skip_waves) return 0;
  // At most max_skip_ratio x what was simulated: behaviour that changes on
  // a scale longer than the measurement (a GEMM's raster groups) then
  // shifts the rate of at most that share of the launch.
  const uint32_t cap = static_cast<uint32_t>(p_.max_skip_ratio * double(t.dispatched)) / wave_;
  const uint32_t skip_waves = std::min(left_waves - p_.keep_waves, cap);
  if (skip_waves < p_.min_skip_waves) return 0;
  const WaveTotals& a = snaps_[snaps_.size() - 1 - 2 * size_t(p_.window)];
  // Whole periods keep the kept CTAs in the measured phase.
  const uint32_t skip = skip_waves * wave_ / step_ * step_;
  if (skip < p_.min_skip_waves * wave_) return 0;
  const double f = double(skip) / double(t.dispatched - a.dispatched);
  extra_.sampled = true;
  extra_.skipped_ctas = skip;
  extra_.waves_simulated = extra_.waves_total - skip / wave_;
  extra_.cycles = scaled(t.cycle, a.cycle, f);
  add_scaled_delta(extra_.sm, t.sm, a.sm, f);
  add_scaled_delta(extra_.mem, t.mem, a.mem, f);
  return skip;
}

}  // namespace xpu::gpu
