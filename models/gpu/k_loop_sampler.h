#pragma once
// Sampled timing inside a kernel's main loop (sim.sampling: auto, timing
// fidelity only): trip-count extrapolation. A tensor-core GEMM or
// implicit-GEMM convolution spends nearly all its time in a K loop whose
// iterations are alike, so its cycles and counters are, to a close
// approximation, an affine function of the loop's trip count T:
//   x(T) = x(T1) + (T - T1) (x(T2) - x(T1)) / (T2 - T1).
//
// How a launch is sampled (Gpu::run drives it):
// 1. The builder marks the instruction that sets the loop counter
//    (KernelBuilder::mark_trip_count: Kernel::trip_pc, Kernel::trips = T).
// 2. plan_trips picks T1 < T2 < T (below). The same launch -- same grid,
//    same dispatch order, same buffer bases and leading dimensions, every
//    wave -- runs twice in full with the counter's immediate set to T1,
//    then to T2 (with_trips); each CTA then walks the first T1 (T2)
//    iterations of its K range, then its tail tiles and its epilogue, so
//    the prologue, the pipeline's fill and drain, the epilogue and each
//    wave's ramp are in both runs alike and land in the intercept, and the
//    per-iteration cost (including the cross-wave drift of the L2 reuse:
//    every wave is simulated) in the slope.
// 3. The launch's cycles and every SmCounters and MemCounters entry (per
//    slice and per channel too) are extrapolated to T by the line through
//    the two runs (extrapolate(); a value the line would make negative is
//    0). Energy, priced from the counters, stays consistent; `ctas` and
//    other per-CTA counts are equal in both runs and stay exact.
// Both runs start from the same memory state: a stream's previous kernel's
// L2 (RunOptions::warm) is saved before the first and restored before the
// second. Wave sampling (wave_sampler.h) may apply inside each run; it then
// decides on each run by itself.
//
// T1 and T2 (KLoopParams). T1 = max(min_t1, T / divisor), T2 = 2 T1, and
// the loop is sampled only when T >= min_ratio x T2 (at least
// 1 - 3 / min_ratio of the loop is skipped). Why T1 is not small: a run
// with T1 iterations reads only the first T1 K-slices of each panel, so its
// L2 holds proportionally more of a wave's footprint; while T1 x (the
// wave's bytes per iteration) is not large against the L2, the next wave
// reuses panels that at the real T would long be evicted, and x(T) bends
// below the line. T1 is also past the pipeline's warm-up (a few
// iterations). The parameters were set on the benchmark
// (bench/bench_gpu_sampling.cpp --kloop, which checks the line against a
// third trip count and the full run: cycles and DRAM bytes within 2 %).
//
// State left for the next kernel: the L2 and DRAM queues as the T2 run
// leaves them. The C tiles the epilogue wrote are the same lines as in a
// full run (same bases, same grid); the A and B lines resident at the end
// are the last wave's K-slices up to T2 instead of up to T (the same
// panels, an earlier part of them). A consumer that reads C sees the same
// lines; one that re-reads the GEMM's inputs (rare) sees other hits.
//
// Limits, measured (BENCHMARKS.md, GPU sampled timing). On waves of 4 to
// 8 CTAs (gpu_small, ampere_small) every gated kernel is within 1.3 % of
// the full run. On the V100 (waves of 160 CTAs) the line bends although the
// L2 test above passes: GEMMs of k 8192 were off by 4.5 % in cycles
// (1024x16384, T1 = 8), 11.8 % in DRAM bytes (2048x8192, T1 = 12) and
// 29 % in DRAM bytes (8192x8192, T1 = 12), and a third trip count showed
// the same bend. The likely cause: CTAs of one
// tile row or column share a K-slice in the L2 only while their phases
// differ by less than the L2's window (L2 / the wave's bytes per trip,
// ~6 trips there); the spread of phases across a refilled wave grows with
// the CTAs' length, i.e. with T, so the short runs share more than the
// real loop does, and the spread matters more the more CTAs share. Hence
// `max_wave_ctas`: sampling is used only where it was measured to hold.
// The A100's 40 MB L2 fails the turnover test for every GEMM measured
// (T1 would have to exceed ~140 trips).
// The model is affine in T: a kernel whose per-iteration cost
// changes along K (a causal mask, or a K loop with data-dependent trips)
// would be extrapolated from its first 2 T1 iterations; the marked loops
// are the dense tensor-core main loops, whose iterations are alike.
// Simulated time (SystemC, the trace) advances by the two runs, not by the
// extrapolated cycles; the result's `cycles` is the extrapolated figure.
// Values are never sampled: at tile fidelity every iteration computes its
// values, so Gpu::run ignores this when values are on.
#include <cstdint>

#include "models/gpu/isa.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/sm_counters.h"

namespace xpu::gpu {

struct KLoopParams {
  uint32_t min_t1 = 8;        // estimate: past the pipeline's warm-up (benchmark)
  uint32_t divisor = 16;      // T1 = T / divisor when larger (benchmark)
  double min_turnover = 2;    // T1 trips of a wave's reads >= this many L2s (benchmark)
  uint32_t min_ratio = 4;     // T >= min_ratio x T2: at least 1 - 3 / 8 of the loop skipped
  uint32_t max_wave_ctas = 8; // waves of more CTAs: not sampled (measured: the line bends, see Limits)
};

struct TripPlan {
  bool use = false;
  uint32_t t1 = 0, t2 = 0, trips = 0;  // trips: the real T
};

// The bytes that the first `wave` CTAs of the launch read per trip of the
// marked loop (its global loads x threads), bounded both ways: `distinct`
// counts each buffer base once (CTAs with one base share those lines;
// a kernel that offsets its tiles by %ctaid, an implicit-GEMM
// convolution's A, reads more), `unshared` counts every CTA's reads (0, 0:
// no loop marked).
struct TripFootprint {
  double distinct = 0, unshared = 0;
};
TripFootprint wave_bytes_per_trip(const Launch& l, uint32_t wave);

// T1 and T2 for a launch's marked loop on a GPU of `wave` CTAs per wave and
// an L2 of `l2_bytes`, or use = false (none marked, too few trips).
TripPlan plan_trips(const Launch& l, uint32_t wave, uint64_t l2_bytes, const KLoopParams& p = {});

// The kernel with its marked loop's trip count set to `trips` (InternalError
// when the marked instruction is not a mov of the recorded count).
Kernel with_trips(const Kernel& k, uint32_t trips);

// The value at T of the line through (t1, x1) and (t2, x2), rounded, >= 0.
uint64_t extrapolate(uint64_t x1, uint64_t x2, const TripPlan& p);
void extrapolate(SmCounters& out, const SmCounters& a, const SmCounters& b, const TripPlan& p);
void extrapolate(MemCounters& out, const MemCounters& a, const MemCounters& b, const TripPlan& p);

}  // namespace xpu::gpu
