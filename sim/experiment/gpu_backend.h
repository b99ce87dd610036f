#pragma once
#include <memory>

#include "models/gpu/gpu_config.h"
#include "sim/experiment/backend.h"

namespace xpu::experiment {

// GEMM layers lowered by sim/lowering/gpu (tensor cores for fp16/bf16/int8,
// SIMT FFMA for fp32) and run on models/gpu. Fidelity `timing` runs without
// values; `tile` and `pe` compute values and check them bit for bit against
// the GPU-order references (sim/lowering/gpu/tc_reference.h).
std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance);

}  // namespace xpu::experiment
