#pragma once
// Kernel launch cost on one stream (GpuConfig::launch): what a sequence of
// kernels pays between and before their CTAs.
//
// Without a CUDA graph the host enqueues kernel i (0-based) when its launch
// call returns, at (i + 1) x host_launch_us (it issues asynchronously, as
// fast as it can); the GPU starts kernel i at
//     max(end of kernel i-1 + dependent_gap_us, enqueue_i + grid_latency_us)
// (kernel 0: enqueue_0 + grid_latency_us). So short kernels run at the
// host's launch rate, long ones only pay the dependency gap. With a CUDA
// graph the host launches the graph once (host_launch_us + grid_latency_us
// before kernel 0) and kernels follow each other graph_gap_us apart.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "models/gpu/gpu_config.h"

namespace xpu::gpu {

inline uint64_t us_to_cycles(const GpuConfig& cfg, double us) {
  return static_cast<uint64_t>(std::llround(us * cfg.clock_mhz));
}

// The gap between two dependent kernels of a stream, in cycles.
inline uint64_t kernel_gap_cycles(const GpuConfig& cfg) {
  return us_to_cycles(cfg, cfg.launch.cuda_graph ? cfg.launch.graph_gap_us : cfg.launch.dependent_gap_us);
}

class StreamClock {
 public:
  explicit StreamClock(const GpuConfig& cfg) : cfg_(cfg) {}
  // Kernel `cycles` long appended to the stream: returns the cycles between
  // the previous kernel's end (or the stream's start) and its first CTA.
  uint64_t add(uint64_t cycles) {
    const auto& l = cfg_.launch;
    const uint64_t host = us_to_cycles(cfg_, l.host_launch_us), grid = us_to_cycles(cfg_, l.grid_latency_us);
    uint64_t start;
    if (kernels_ == 0) start = host + grid;
    else if (l.cuda_graph) start = end_ + kernel_gap_cycles(cfg_);
    else start = std::max(end_ + kernel_gap_cycles(cfg_), (kernels_ + 1) * host + grid);
    const uint64_t wait = start - end_;
    launch_cycles_ += wait;
    end_ = start + cycles;
    ++kernels_;
    return wait;
  }
  uint64_t end() const { return end_; }                     // the stream's last kernel end
  uint64_t launch_cycles() const { return launch_cycles_; }  // summed waits
  uint64_t kernels() const { return kernels_; }

 private:
  const GpuConfig& cfg_;
  uint64_t end_ = 0, launch_cycles_ = 0, kernels_ = 0;
};

}  // namespace xpu::gpu
