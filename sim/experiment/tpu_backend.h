#pragma once
#include <memory>

#include "models/tpu/tpu_config.h"
#include "sim/experiment/backend.h"

namespace xpu::experiment {

// GEMM layers lowered by sim/lowering/tpu/gemm and run on models/tpu.
std::unique_ptr<Backend> make_tpu_backend(const tpu::TpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance);

}  // namespace xpu::experiment
