#pragma once
// Sampled timing of kernels with many waves of like CTAs (sim.sampling:
// auto, timing fidelity only). A wave is what the GPU holds at once,
// W = SMs x resident CTAs per SM; a GEMM of 8192^3 on the V100 has tens of
// them, and after the first few most kernels' waves cost the same (not all:
// see Limits).
//
// How a launch is sampled (Gpu::run drives it; all in simulated time):
// 1. Warm-up: the first `warm_waves` waves are simulated in full and not
//    measured (synchronised first wave, cold L1s and L2).
// 2. Measurement: at the first quantum barrier after every g x U further
//    CTAs were dispatched, the sampler takes a snapshot of the launch's
//    totals (cycle, CTAs dispatched, every SM and memory counter). U is
//    chosen so that every interval holds the same thing:
//    - the launch repeats every P CTAs, P = grid_period (the CTAs after
//      which the buffers' offsets repeat; a GEMM: its raster group of tile
//      rows; an elementwise kernel: 1): CTAs are dispatched in index order,
//      so the resident set is a sliding window of the index and which
//      panels are shared in the L2, and how many bytes come from DRAM,
//      repeat every P dispatched CTAs, not every wave;
//    - CTAs of like length finish, and the next ones are dispatched, in
//      bursts of about a wave W, so a snapshot falls at a burst's end.
//    U = lcm(P, W) when that is at most `max_unit_waves` waves: every
//    snapshot in the same phase of both. Otherwise U = P when P > W, and
//    U = ceil(W / P) x P (whole periods spanning a wave) when P < W;
//    U = W when the grid has no period. Why: an interval of one wave when
//    W is not a multiple of P covers a varying mix of the period's phases
//    (a row-major GEMM of 64-tile rows on 160-CTA waves covers 2.5 rows:
//    its DRAM bytes per wave alternate) and its rates swing although the
//    kernel is steady. When U > W each half is ceil(window x W / U)
//    intervals, so that it spans at least `window` waves as when U = W.
//    Why: a snapshot's totals include the work of the wave of CTAs in
//    flight, partly run, and while their spread of progress still grows
//    after the synchronised start (CTAs of unlike length, e.g. a split-K
//    GEMM's splits), each interval holds the same excess. The v100's
//    split-K batched GEMM (attn_context_b64_s1024_d64: 6144 CTAs of
//    32 x 64 tiles, 3 splits, P = 96, W = 240, U = 480) measured with one
//    2-wave interval per half had two intervals agreeing at 73.9 and 73.5
//    cycles per CTA where the launch runs at ~71.5 (the next intervals
//    fluctuate 66.9-75.2), and was extrapolated 2.6 % high in cycles and
//    3.2 % in DRAM bytes; with two intervals per half its warp
//    instructions per CTA never agree within `work_tolerance` and it runs
//    in full.
//    g starts at 1 and doubles while an interval is shorter than
//    `min_interval_quanta` quanta, so that the barrier's granularity stays
//    small against it (g x U keeps U's phase).
// 3. Steady state: the last 2 x `window` intervals agree, per dispatched
//    CTA: cycles and DRAM bytes within `tolerance` of their mean, warp
//    instructions within `work_tolerance`, the L2 read hit fraction within
//    `hit_tolerance` (absolute) of its midrange; the rates of the two halves
//    (`window` intervals each) within `half_tolerance` of each other, which
//    rejects slow drifts; and the L2 has turned over since the launch (DRAM
//    read bytes + L2 write bytes >= its capacity), so that victim
//    write-backs, absent while the L2 fills, are in the measured rate; and
//    every L2 set the launch uses has filled: the lines allocated in empty
//    ways during the 2 x `window` intervals (MemCounters::
//    l2_cold_fill_bytes) are at most `cold_tolerance` of their DRAM bytes.
//    Why both: the turnover test counts bytes, not sets (it stays for a
//    stream's next kernel, whose L2 starts full of the previous kernel's
//    lines: no empty ways, but their write-backs). A grid whose CTAs
//    advance by a few lines in a row-major buffer of a power-of-two pitch
//    (a skinny GEMM's B and C panels: each row of a CTA's tile in the same
//    set) fills the L2 one set group per CTA; its traffic passes the L2's
//    capacity after a few CTAs, but until the sweep has covered every set
//    (gpu_small's 256 x 131072 x 128 GEMM, k x n and m x n row-major at
//    n = 32768: 64 x 128 tiles, 2 lines a row, all rows in one set of each
//    slice, 64 CTAs to cover the sets) each CTA's newest dirty C lines
//    evict nothing, and the write-backs per CTA step up by 4 KB (+8 % DRAM
//    bytes, +7 % cycles) once it wraps. The intervals, all inside the sweep,
//    agreed with each other and the skip was extrapolated at the low rate
//    (cycles and DRAM bytes 4.1 % and 4.2 % low). A fill into an empty way
//    is an eviction the steady state will have, so its bytes bound the
//    write-backs missing from the rate.
// 4. Fast-forward: the sampler skips S waves: the next S x W CTAs (whole
//    periods, below) in index order are never dispatched; the launch gets their share at the
//    window's rate: cycles, and every SmCounters and MemCounters entry (per
//    slice and per channel too), each the window's increase times
//    (skipped CTAs) / (CTAs dispatched in the 2 x window intervals). `ctas`
//    thus grows by exactly the skipped CTAs, and energy, priced from the
//    counters, stays consistent.
//    S = min((waves left) - `keep_waves`, `max_skip_ratio` x the CTAs
//    dispatched so far / W), and sampling happens only if
//    S >= `min_skip_waves`; once per launch. The skip is S x W rounded
//    down to whole U = lcm(P, W) when that was the unit, else to whole
//    periods P (no period: whole waves), so that the kept CTAs continue in
//    the phase the simulation left (`ctas` grows by that rounded count; a
//    partly skipped wave counts as simulated).
// 5. Tail: the simulation continues in time, without a gap, with the CTAs
//    after the skipped ones: `keep_waves` full waves and the partial last
//    wave, in full, so the drain of the launch is simulated, not estimated.
//
// Cache and DRAM state across the skipped region. Nothing is shifted: the
// CTAs in flight at the skip finish as simulated, the L2 keeps its lines and
// the DRAM/L2 queues their backlog. The first kept wave therefore starts
// from the footprint of the last measured waves instead of that of the
// skipped ones; it is simulated in full and refills the L1s and the L2
// with its own footprint (the skipped waves' successors'), so the tail and
// the next kernel of a stream (RunOptions::warm) see the L2 that the last
// waves of the launch leave, as in a full run. The cost is that wave's
// extra misses or hits where it shares lines with the skipped CTAs (a GEMM
// tile row shared across the skip): one wave of W, bounded by the
// benchmark (bench/bench_gpu_sampling.cpp: cycles and DRAM bytes within 2 %
// of the full simulation on every kernel).
//
// Limits. A kernel whose traffic drifts along the whole launch is not
// steady and runs in full: the v100's 8192^3 fp16 GEMM (128x128 tiles,
// row-major raster, P = 64, W = 160, U = 320) has cycles and warp
// instructions per CTA within 1.5 % over every 2-wave interval, but its DRAM
// bytes per CTA rise from 0.91 to 1.31 MB (L2 read hits 85 % -> 80 %)
// between the 2nd and the 20th wave of 26, so the halves never agree
// before too few waves are left to skip.
// Behaviour that changes on a longer scale than the measurement
// (a GEMM whose raster group spans a large part of the grid: the L2 reuse
// of its panels changes at the group's edge) is not seen by the steady-state
// test; max_skip_ratio bounds the share of the launch extrapolated from it.
// Kernels with fewer than warm + window + min_skip + keep waves, or
// that never reach a steady state within the tolerances, or that never turn
// the L2 over, are simulated in full (sampling is then a no-op). So are
// kernels whose set sweep lasts the whole launch (ampere_small's wide
// 2048 x 32768 x 256 GEMM and 8 x 131072 x 1024 GEMV fill 6-8 KB of empty
// lines per CTA to the end): their rate happens to hold, but the test
// cannot tell a fill that ends inside the launch from one that does not. The
// extrapolation is at the window's mean rate: a kernel whose per-CTA work
// drifts slowly with the CTA index (below work_tolerance over the window,
// e.g. a causal mask over very many waves) would be extrapolated at the
// window's rate. Values are never sampled: at tile fidelity every CTA
// computes its values, so Gpu::run ignores sampling when values are on.
#include <cstdint>
#include <vector>

#include "models/gpu/isa.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/sm_counters.h"

namespace xpu::gpu {

struct SamplingParams {
  uint32_t warm_waves = 1;        // estimate: the first wave alone starts synchronised and cold
  uint32_t window = 3;            // estimate: intervals in each half of the measurement
  uint32_t min_interval_quanta = 64;  // barrier granularity (one quantum) below 1/64 of an interval
  double tolerance = 0.03;        // cycles and DRAM bytes per CTA, each interval against the mean
  double half_tolerance = 0.01;   // the two halves' rates, against their mean
  double work_tolerance = 0.01;   // warp instructions per CTA, relative
  double hit_tolerance = 0.02;    // L2 read hit fraction, absolute
  double cold_tolerance = 0.01;   // L2 lines filled into empty ways, against the DRAM bytes
  // Fewer skippable waves: simulated in full. The first kept wave misses in
  // the L2 where it would have hit on the skipped CTAs' lines (see above):
  // a cost of about one wave, small against 8 or more (benchmark).
  uint32_t min_skip_waves = 8;
  double max_skip_ratio = 3;      // skipped CTAs at most this many times those dispatched before
  uint32_t keep_waves = 1;        // full waves simulated after the skip, before the partial last one
  uint32_t max_unit_waves = 4;    // estimate: longest interval of whole periods and whole waves
};

// A launch's totals since it started, at a quantum barrier.
struct WaveTotals {
  uint64_t cycle = 0;       // barrier cycle - launch start
  uint32_t dispatched = 0;  // CTAs started so far
  SmCounters sm;
  MemCounters mem;
};

// What the skipped CTAs add to the launch.
struct SampledExtra {
  bool sampled = false;
  uint32_t waves_total = 0;      // ceil(ctas / W)
  uint32_t waves_simulated = 0;  // waves_total - skipped waves
  uint32_t skipped_ctas = 0;
  uint64_t cycles = 0;
  SmCounters sm;
  MemCounters mem;
};

// The smallest p <= ctas / 2 such that CTA c + p's buffers are CTA c's
// translated by one offset per buffer for every c (0: none): the grid's
// access pattern repeats every p CTAs (a GEMM: a raster group of tile rows;
// an elementwise kernel: 1).
uint32_t grid_period(const Launch& l);

// a += (b - c) x f, element by element, rounded to nearest (b >= c: totals).
void add_scaled_delta(SmCounters& a, const SmCounters& b, const SmCounters& c, double f);
void add_scaled_delta(MemCounters& a, const MemCounters& b, const MemCounters& c, double f);
// a += b (the launch plus its extrapolated CTAs; kernels of a stream).
void add_counters(MemCounters& a, const MemCounters& b);

class WaveSampler {
 public:
  // A new launch of `ctas` CTAs, `wave_ctas` per wave, on an L2 of
  // `l2_bytes`; `enabled` false (or too few waves) makes it inert.
  void begin(const Launch& launch, uint32_t wave_ctas, uint64_t l2_bytes, uint64_t quantum, bool enabled,
             const SamplingParams& p = {});
  // Whether the barrier with `dispatched` CTAs started wants a snapshot.
  bool due(uint32_t dispatched) const { return active_ && dispatched >= next_mark_; }
  // Takes the snapshot; returns how many CTAs to skip now (0: none).
  uint32_t observe(const WaveTotals& t);
  // The launch's extra; waves_total/simulated are set even when not sampled.
  const SampledExtra& extra() const { return extra_; }

 private:
  bool steady() const;

  SamplingParams p_;
  bool active_ = false;
  uint32_t ctas_ = 0, wave_ = 1, group_ = 1;
  uint32_t period_ = 0, unit_ = 1;  // grid_period(); CTAs per interval before doubling
  uint32_t step_ = 1;               // skips are multiples of it
  uint32_t next_mark_ = 0;
  uint64_t l2_bytes_ = 0, quantum_ = 1;
  std::vector<WaveTotals> snaps_;
  SampledExtra extra_;
};

}  // namespace xpu::gpu
