#pragma once
// What running a launch (or a stream of them) on the GPU gives.
#include <cstdint>
#include <string>

#include "models/gpu/memory_system.h"
#include "models/gpu/sm_counters.h"
#include "sim/stats/stats.h"

namespace xpu::gpu {

struct LaunchResult {
  uint64_t cycles = 0;
  uint32_t ctas_per_sm = 0;
  std::string occupancy_limiter;
  SmCounters sm;        // summed over SMs (fast path: including replayed SMs)
  MemCounters mem;
  stats::Snapshot stats;  // gpu.* counters of this launch
  uint64_t simulated_warp_insts = 0;  // actually executed on the host
  // Fast path: SMs replayed from a leader to the end (never simulated), SMs
  // split off a leader at some point, and why the kernel did not qualify
  // ("" when it did or when the fast path was not asked for).
  uint32_t replayed_sms = 0, split_sms = 0;
  std::string fast_path_fallback;
  // Sampling (wave_sampler.h): waves of the grid(s) and how many were
  // simulated (the rest extrapolated; equal when not sampled).
  bool sampled = false;
  uint32_t waves_total = 0, waves_simulated = 0;
  // K-loop sampling (k_loop_sampler.h): the marked loops' real trip counts
  // and the trips simulated instead (T1 + T2), summed over the sampled
  // kernels (0: none sampled).
  uint32_t trips = 0, trips_simulated = 0;
  // Launch reuse (launch_reuse.h): launches that took a donor's result
  // instead of being simulated, and the first one's donor ("" when none).
  uint32_t reused = 0;
  std::string reused_from;
};

}  // namespace xpu::gpu
