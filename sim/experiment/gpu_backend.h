#pragma once
#include <memory>

#include "models/gpu/gpu_config.h"
#include "sim/experiment/backend.h"

namespace xpu::experiment {

// GEMM layers lowered by sim/lowering/gpu (tensor cores for fp16/bf16/int8,
// SIMT FFMA for fp32) and run on models/gpu. Fidelity `timing` runs without
// values; `tile` and `pe` compute values and check them bit for bit against
// the GPU-order references (sim/lowering/gpu/tc_reference.h).
//
// Networks (run_workload): each layer on its own with fresh operands from
// the workload's seed. Matrix ops (gemm, matmul incl. attention's batched
// activation x activation products, conv2d) run as their GEMM view
// (workloads/README.md): gemm_count batches in one launch, conv through its
// explicit im2col matrix (A materialised in device memory, not an implicit-
// GEMM address generator); bias adds and gemm alpha/beta are not simulated;
// values bit-exact per batch. Every other op but concat runs an nn_kernels.h
// kernel on fp32 tensors, values checked against the fp32 reference
// executor within the tolerances documented there; reshape/flatten are
// views (0 cycles). Launches use the fast path (exact by construction).
std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance);

}  // namespace xpu::experiment
