#include "sim/lowering/gpu/gemm_sm80.h"

#include <algorithm>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/gemm_grid.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/int8_epilogue.h"
#include "sim/lowering/gpu/sm80_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

GemmTiling tile(uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn, uint32_t bk, uint32_t stages) {
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.bk = bk, t.stages = stages;
  return t;
}

// The table (gemm_sm80.h) in the selection's registry under the Ampere shape.
[[maybe_unused]] const bool kRegistered =
    (register_gemm_candidates(MmaKind::ampere_mma_sync,
                              {tile(128, 256, 64, 64, 64, 3), tile(256, 128, 64, 64, 64, 3), tile(128, 128, 64, 64, 32, 4),
                               tile(128, 128, 64, 64, 64, 3), tile(128, 64, 64, 32, 32, 4), tile(64, 128, 32, 64, 32, 4),
                               tile(64, 64, 32, 32, 32, 5), tile(64, 64, 32, 32, 64, 4), tile(32, 64, 32, 32, 64, 5),
                               tile(16, 256, 16, 64, 64, 4), tile(16, 128, 16, 64, 64, 5), tile(16, 64, 16, 32, 64, 5)}),
     true);

}  // namespace

bool use_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  return cfg.tensor_core.mma == MmaKind::ampere_mma_sync &&
         (spec.in == DType::fp16 || spec.in == DType::bf16 || spec.in == DType::int8);
}

std::vector<GemmTiling> sm80_candidates(DType in) {
  std::vector<GemmTiling> c = gemm_candidates(MmaKind::ampere_mma_sync);
  // int8: K steps of the same bytes, twice the elements.
  if (in == DType::int8)
    for (auto& t : c) t.bk *= 2;
  return c;
}

void lower_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan, const TcEpilogue& ep) {
  check_tc_path(cfg, spec.in, spec.acc, spec.name);
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  const MmaShape& mma = mma_shape(cfg.tensor_core.mma);
  const bool kmaj = mma.b_k_major(spec.in);
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in)), ce = out_bytes(spec, ep);
  // The ring's depth for a split of t: its asked stages, reduced to what
  // fits shared memory and the split's K tiles (sm80_stages).
  const auto prepare = [&](GemmTiling t) {
    t.stages = sm80_stages(cfg, t, spec.in, kmaj, split_slice(spec.k, t) / t.bk, t.stages);
    return t;
  };
  const auto build = [&](const GemmTiling& t, uint64_t kslice, uint64_t lda, uint64_t ldb, uint64_t ldc,
                         const TcEpilogue& kep) {
    TcKernelDesc d{spec.name + "_sm80_" + t.name(), spec.in, spec.acc, t, kslice, ldb, ldc, kep, &mma};
    d.rows = spec.m < t.bm ? static_cast<uint32_t>(spec.m) : 0;  // skinny: only the real rows are stored
    DenseAsyncA src(lda, t.bk * e);
    return build_sm80_kernel(d, t.stages, src);
  };

  GemmTiling t;
  if (spec.tiling) {
    t = *spec.tiling;
    if (t.stages < 3 || t.stages > 5) throw GpuLoweringError(spec.name + ": sm80 kernels have 3 to 5 stages");
    t = prepare(t);
  } else {
    GemmKernelFamily f;
    f.candidates = sm80_candidates(spec.in);
    // M <= 16: only the skinny tiles. A 64-row tile would pad A 4x or more
    // and run as many more mmas and shared-memory traffic, which the model,
    // built for full tiles, charges to the L2 alone.
    if (spec.m <= 16)
      f.candidates.erase(std::remove_if(f.candidates.begin(), f.candidates.end(),
                                        [](const GemmTiling& t) { return t.bm > 32; }),
                         f.candidates.end());
    // Registers per thread do not depend on the pitches or K: a small stand-in layout.
    f.regs = [&](const GemmTiling& c) {
      const uint64_t np = (spec.n + c.bn - 1) / c.bn * c.bn, kp = uint64_t(c.bk) * c.stages;
      return build(c, kp, kp * e, kmaj ? kp * e : np * e, np * ce, c.split_k > 1 ? TcEpilogue{} : ep).regs_per_thread;
    };
    f.shared_bytes = [&](const GemmTiling& c) { return c.stages * sm80_stage_bytes(c, spec.in, kmaj); };
    f.prepare = prepare;
    t = choose_gemm_kernel(cfg, spec, f).t;
  }
  if (t.split_k == 0 || t.group_m == 0) throw GpuLoweringError(spec.name + ": split_k and group_m must be >= 1");
  if (t.split_k > 1 && spec.acc != AccType::f32)
    throw GpuLoweringError(spec.name + ": split-K needs fp32 accumulation");
  plan.tiling = t;
  GpuGemmLayout& L = plan.layout;
  plan_gemm_layout(spec, t, ep, kmaj, mma.dot_group(spec.in), L);
  if (L.bytes >= (uint64_t(1) << 32)) throw GpuLoweringError(spec.name + ": operands exceed 4 GiB");

  // Split-K: the first pass writes raw fp32 partials (no epilogue), the
  // reduction sums them in split order and applies the epilogue.
  plan.kernel = build(t, L.kslice, L.lda, L.ldb, first_pass_ldc(L, t), t.split_k > 1 ? TcEpilogue{} : ep);
  const uint32_t shared = epilogue_shared(t.stages * sm80_stage_bytes(t, spec.in, kmaj), t, mma, ep);
  if (shared > cfg.shared.max_shared_bytes)
    throw GpuLoweringError(spec.name + ": " + std::to_string(t.stages) + " stages of shared memory exceed " + cfg.name +
                           "'s " + std::to_string(cfg.shared.max_shared_bytes) + " bytes");
  build_gemm_launches(spec, ep, shared, plan);
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(spec.name + ": kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

}  // namespace xpu::lowering::gpu
