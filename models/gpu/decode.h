#pragma once
// Static per-instruction scheduling facts (registers to wait for, pipe,
// issue interval, latency, register-bank conflicts), decoded once per launch.
#include <vector>

#include "models/gpu/gpu_config.h"
#include "models/gpu/sm_core.h"

namespace xpu::gpu {

std::vector<Decoded> decode(const Kernel& k, const GpuConfig& cfg);

}  // namespace xpu::gpu
