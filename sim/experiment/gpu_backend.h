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
// the workload's seed, every launch starting with cold caches (Gpu::run).
// conv2d with groups = 1 runs as an implicit GEMM on the tensor cores
// (sim/lowering/gpu/conv_implicit.h) with a following batchnorm (folded
// into a per-channel bias) and relu/relu6/clip fused into its epilogue;
// gemm/matmul (incl. attention's batched activation x activation products,
// gemm_count batches in one launch) and grouped convs run as their GEMM
// view, a per-column bias and activation fused into the epilogue; values
// bit-exact per batch. Every other op runs an nn_kernels.h kernel on fp32
// tensors (concat: one copy kernel into the output's slices), values checked
// against the fp32 reference executor within the tolerances documented
// there; reshape/flatten are views (0 cycles). GEMM launches use the fast
// path (exact by construction); the implicit-GEMM conv reads %ctaid and is
// simulated in full.
std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance);

}  // namespace xpu::experiment
