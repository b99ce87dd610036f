#pragma once
// Static per-instruction scheduling facts (registers to wait for, pipe,
// issue interval, latency, register-bank conflicts), decoded once per launch.
#include <array>
#include <cstdint>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "models/gpu/mma_shape.h"
#include "models/gpu/sm_core.h"

namespace xpu::gpu {

// Throws InternalError when the kernel was built for another tensor-core
// shape than cfg's.
std::vector<Decoded> decode(const Kernel& k, const GpuConfig& cfg);
// Per pc: lane byte offsets of fragment memory ops (zeros elsewhere).
std::vector<std::array<uint32_t, 32>> fragment_offsets(const Kernel& k, const MmaShape& mma);

}  // namespace xpu::gpu
