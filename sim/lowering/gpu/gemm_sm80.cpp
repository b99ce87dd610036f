#include "sim/lowering/gpu/gemm_sm80.h"

#include <algorithm>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/sm80_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }
uint64_t grid(const GpuGemmSpec& s, uint32_t bm, uint32_t bn) { return ((s.m + bm - 1) / bm) * ((s.n + bn - 1) / bn); }

}  // namespace

bool use_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  return cfg.tensor_core.mma == MmaKind::ampere_mma_sync &&
         (spec.in == DType::fp16 || spec.in == DType::bf16 || spec.in == DType::int8);
}

GemmTiling choose_tiling_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  GemmTiling t;  // 128 x 128, bk 32, 64 x 64 warps
  if (spec.m >= 128 && spec.n >= 256 && grid(spec, 128, 256) >= cfg.sms) {
    t.bn = 256;
    t.bk = spec.k >= 256 ? 64 : 32;  // CUTLASS's 128x256x64: half the barriers per MAC
  } else if (spec.m < 128 || spec.n < 128 || 2 * grid(spec, 128, 128) <= cfg.sms) {
    t.bm = t.bn = 64;
    t.wm = t.wn = 32;
  }
  // int8: K steps of 64 bytes as the 16-bit kernels' 32 elements (CUTLASS's
  // int8 sm80 tiles are 128x256x64, 128x128x64, 64x64x64): two m16n8k32 per step.
  if (spec.in == DType::int8) t.bk = 64;
  return t;
}

void lower_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan, const TcEpilogue& ep,
                     uint32_t stages) {
  check_tc_path(cfg, spec.in, spec.acc, spec.name);
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  const MmaShape& mma = mma_shape(cfg.tensor_core.mma);
  const GemmTiling t = choose_tiling_sm80(cfg, spec);
  plan.tiling = t;
  const bool kmaj = mma.b_k_major(spec.in);
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in)), ce = out_bytes(spec, ep);
  GpuGemmLayout& L = plan.layout;
  L.mp = round_up(spec.m, t.bm);
  L.np = round_up(spec.n, t.bn);
  L.kp = round_up(spec.k, t.bk);
  L.in_bytes = e;
  L.out_bytes = ce;
  L.dot_group = mma.dot_group(spec.in);
  L.b_k_major = kmaj;
  L.lda = L.kp * e;
  L.ldb = kmaj ? L.kp * e : L.np * e;  // K-major B: np rows of kp
  L.ldc = L.np * ce;
  L.a = 0;
  L.b = round_up(L.a + L.mp * L.lda, 256);
  L.c = round_up(L.b + (kmaj ? L.np : L.kp) * L.ldb, 256);
  L.bias = round_up(L.c + L.mp * L.ldc, 256);
  L.bytes = ep.bias ? round_up(L.bias + L.np * 4, 256) : L.bias;
  L.res = L.bytes;
  if (ep.residual) L.bytes = round_up(L.res + L.mp * L.ldc, 256);
  if (L.bytes >= (uint64_t(1) << 32)) throw GpuLoweringError(spec.name + ": operands exceed 4 GiB");

  const uint64_t ktiles = L.kp / t.bk;
  const uint32_t S = sm80_stages(cfg, t, spec.in, kmaj, ktiles, stages);
  const TcKernelDesc d{spec.name + "_sm80", spec.in, spec.acc, t, L.kp, L.ldb, L.ldc, ep, &mma};
  DenseAsyncA src(L.lda, t.bk * e);
  plan.kernel = build_sm80_kernel(d, S, src);
  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  const uint64_t grid_m = L.mp / t.bm, grid_n = L.np / t.bn;
  const uint32_t nb = ep.residual ? 5 : ep.bias ? 4 : 3;
  l.ctas = static_cast<uint32_t>(grid_m * grid_n);
  l.threads = tc_threads(t);
  l.shared_bytes = S * sm80_stage_bytes(t, spec.in, kmaj);
  plan.tiling.stages = S;  // the ring's depth, for the kernel's name in reports
  if (l.shared_bytes > cfg.shared.max_shared_bytes)
    throw GpuLoweringError(spec.name + ": " + std::to_string(S) + " stages of shared memory exceed " + cfg.name + "'s " +
                           std::to_string(cfg.shared.max_shared_bytes) + " bytes");
  l.nbufs = nb;
  l.bases.resize(size_t(l.ctas) * nb);
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t by = c / grid_n, bx = c % grid_n;
    l.bases[c * nb + kTcBufA] = L.a + by * t.bm * L.lda;
    l.bases[c * nb + kTcBufB] = L.b + bx * t.bn * (kmaj ? L.ldb : e);
    l.bases[c * nb + kTcBufC] = L.c + by * t.bm * L.ldc + bx * t.bn * ce;
    if (ep.bias) l.bases[c * nb + kTcBufBias] = L.bias + bx * t.bn * 4;
    if (ep.residual) l.bases[c * nb + kTcBufRes] = L.res + by * t.bm * L.ldc + bx * t.bn * ce;
  }
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(spec.name + ": kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

}  // namespace xpu::lowering::gpu
