#include "models/gpu/k_loop_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/common/errors.h"

namespace xpu::gpu {

TripFootprint wave_bytes_per_trip(const Launch& l, uint32_t wave) {
  TripFootprint r;
  const Kernel& k = *l.kernel;
  if (k.trips == 0) return r;
  // The loop body: from the instruction after the counter's mov to the
  // back edge (the branch to it). Loads without a CTA base (absolute
  // addresses) count under buffer nbufs: one per CTA at most.
  std::vector<double> per_buf(l.nbufs + 1, 0);
  bool closed = false;
  for (size_t pc = k.trip_pc + 1; pc < k.code.size() && !closed; ++pc) {
    const Instr& in = k.code[pc];
    if (in.op == Op::ldg || in.op == Op::ldgsts) per_buf[std::min<uint32_t>(in.buf, l.nbufs)] += in.width;
    closed = in.op == Op::bra && in.target == int32_t(k.trip_pc + 1);
  }
  if (!closed) return r;
  const uint32_t n = std::min(wave, l.ctas);
  for (uint32_t b = 0; b <= l.nbufs; ++b) {
    if (per_buf[b] == 0) continue;
    const double cta = per_buf[b] * double(l.threads);
    r.unshared += double(n) * cta;
    if (b == l.nbufs) continue;
    std::vector<uint64_t> bases;
    for (uint32_t c = 0; c < n; ++c) bases.push_back(l.base(c, b));
    std::sort(bases.begin(), bases.end());
    r.distinct += double(std::unique(bases.begin(), bases.end()) - bases.begin()) * cta;
  }
  return r;
}

TripPlan plan_trips(const Launch& l, uint32_t wave, uint64_t l2_bytes, const KLoopParams& p) {
  TripPlan r;
  const uint32_t T = l.kernel ? l.kernel->trips : 0;
  r.trips = T;
  if (T == 0 || wave > p.max_wave_ctas) return r;
  const TripFootprint f = wave_bytes_per_trip(l, wave);
  if (f.unshared <= 0) return r;
  r.t1 = std::max(p.min_t1, T / std::max(1u, p.divisor));
  // Both runs and the real loop in the same regime of L2 reuse across
  // waves: T1 trips of a wave's footprint turn the L2 over min_turnover
  // times, or the real T's footprint fits in a 1 / min_turnover of it.
  // Each test with the bound of the footprint that makes it harder.
  const bool fits = double(T) * f.unshared * p.min_turnover <= double(l2_bytes);
  if (!fits) {
    if (f.distinct <= 0) return r;
    const double need = std::ceil(p.min_turnover * double(l2_bytes) / f.distinct);
    if (need > double(T)) return r;
    r.t1 = std::max<uint32_t>(r.t1, uint32_t(need));
  }
  r.t2 = 2 * r.t1;
  r.use = uint64_t(T) >= uint64_t(p.min_ratio) * r.t2;
  return r;
}

Kernel with_trips(const Kernel& k, uint32_t trips) {
  if (k.trips == 0 || k.trip_pc >= k.code.size() || k.code[k.trip_pc].op != Op::mov || !k.code[k.trip_pc].b_imm ||
      uint32_t(k.code[k.trip_pc].imm) != k.trips)
    throw InternalError(k.name + ": the marked trip count is not the loop counter's mov");
  if (trips == 0) throw InternalError(k.name + ": a main loop of 0 trips");
  Kernel r = k;
  r.code[k.trip_pc].imm = static_cast<int32_t>(trips);
  r.trips = trips;
  return r;
}

uint64_t extrapolate(uint64_t x1, uint64_t x2, const TripPlan& p) {
  const double slope = (double(x2) - double(x1)) / double(p.t2 - p.t1);
  const double v = double(x1) + (double(p.trips) - double(p.t1)) * slope;
  return v > 0 ? static_cast<uint64_t>(std::llround(v)) : 0;
}

void extrapolate(SmCounters& out, const SmCounters& a, const SmCounters& b, const TripPlan& p) {
  for (int i = 0; i < static_cast<int>(Ctr::count); ++i) out.c[i] = extrapolate(a.c[i], b.c[i], p);
  for (int i = 0; i < static_cast<int>(Stall::count); ++i) out.stall[i] = extrapolate(a.stall[i], b.stall[i], p);
}

void extrapolate(MemCounters& out, const MemCounters& a, const MemCounters& b, const TripPlan& p) {
  combine_counters(out, a, b, [&p](uint64_t& o, uint64_t x, uint64_t y) { o = extrapolate(x, y, p); });
}

}  // namespace xpu::gpu
