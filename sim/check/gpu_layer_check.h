#pragma once
// Values for one GPU layer (sim/lowering/gpu/network.h): its operands read
// from device memory where earlier kernels left them (a network's values
// flow from kernel to kernel), the rest drawn from a seed and staged before
// its launch; the output checked after it against a reference that
// consumes the same operands:
// - implicit-GEMM convs: NHWC input, KRSC weights and a per-channel bias,
//   bit for bit against the im2col reference in the kernel's K order (with
//   the fused epilogue, a fused residual add's operand drawn like the rest);
// - GEMM views: every batch bit for bit against the tensor-core (or FFMA)
//   order reference, a fused per-column bias and activation replayed;
// - other kernels: fp32 operands through the fp32 reference executor,
//   within the kernel's tolerance (GpuLayerPlan::tol_abs / tol_rel).
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/gpu/global_memory.h"
#include "sim/check/compare.h"
#include "sim/lowering/gpu/network.h"
#include "sim/workload/reference_executor.h"

namespace xpu::check {

class GpuLayerValues {
 public:
  // Says whether the operand at a local address already holds its values
  // (written by an earlier kernel, or by the host for an earlier layer).
  using Holds = std::function<bool(uint64_t local)>;
  // The operands of layer `l` (planned as `plan`, epilogue `ep`) in `mem`,
  // which must hold plan.bytes: those `holds` names are read from it (in the
  // layout the kernel reads them), the others drawn from `seed` and written
  // to it. Without `holds`, every operand is drawn.
  GpuLayerValues(const workload::Workload& w, const workload::Layer& l, const lowering::gpu::GpuLayerPlan& plan,
                 const lowering::gpu::TcEpilogue& ep, DType dtype, uint64_t seed, xpu::gpu::GlobalMemory& mem,
                 const Holds& holds = {});
  // Compares the layer's output in `mem` with the reference (and those of
  // the layers in its launch, plan.siblings: the worst verdict).
  Outcome check(const xpu::gpu::GlobalMemory& mem) const;

 private:
  Outcome check_one(const xpu::gpu::GlobalMemory& mem) const;
  Outcome check_conv(const xpu::gpu::GlobalMemory& mem) const;
  Outcome check_gemm(const xpu::gpu::GlobalMemory& mem) const;
  Outcome check_kernel(const xpu::gpu::GlobalMemory& mem) const;

  const workload::Workload& w_;
  const workload::Layer& l_;
  const lowering::gpu::GpuLayerPlan& plan_;
  lowering::gpu::TcEpilogue ep_;
  DType dtype_;
  std::vector<std::vector<uint8_t>> a_, b_;  // conv: x, w; GEMM view: per batch
  std::vector<float> bias_;
  std::vector<float> res_;  // conv, GEMM: a fused residual add's operand
  std::vector<float> gamma_;  // GEMV with a folded rmsnorm: its scale
  workload::TensorValues feeds_;  // other kernels
  std::vector<std::unique_ptr<GpuLayerValues>> siblings_;  // plan.siblings' values, staged the same way
};

}  // namespace xpu::check
