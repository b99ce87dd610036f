#include "sim/lowering/gpu/gemm_tc.h"

#include <algorithm>
#include <cstring>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/lowering/gpu/gemm_grid.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/gemm_sm80.h"
#include "sim/lowering/gpu/gemm_sm80_sparse.h"
#include "sim/lowering/gpu/int8_epilogue.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

// A row-major in memory: each chunk's pointer steps bk elements per K tile.
class DenseA : public ATileSource {
 public:
  DenseA(uint64_t lda, uint32_t step, uint32_t width) : lda_(lda), step_(step), width_(width) {}
  void alloc(KernelBuilder& kb, uint32_t per_thread) override {
    g_.resize(per_thread);
    for (auto& r : g_) r = kb.reg();
    if (width_ == 2) hi_ = kb.reg(4 * per_thread);  // odd halves (narrow_load)
  }
  uint8_t setup_scratch(uint32_t i) const override { return g_[i]; }
  void chunk(KernelBuilder& kb, uint32_t i, uint8_t row, uint8_t col) override {
    kb.alui(Op::imul, g_[i], row, int32_t(lda_));
    kb.alu(Op::iadd, g_[i], g_[i], col);
  }
  void load(KernelBuilder& kb, uint8_t st) override {
    for (size_t i = 0; i < g_.size(); ++i) narrow_load(kb, kTcBufA, g_[i], uint8_t(st + 4 * i), width_, hi(i));
  }
  void pack(KernelBuilder& kb, uint8_t st) override {
    for (size_t i = 0; i < g_.size(); ++i) narrow_pack(kb, uint8_t(st + 4 * i), width_, hi(i));
  }
  void advance(KernelBuilder& kb) override {
    for (auto r : g_) kb.alui(Op::iadd, r, r, int32_t(step_));
  }

 private:
  uint8_t hi(size_t i) const { return hi_ == kRZ ? kRZ : uint8_t(hi_ + 4 * i); }
  uint64_t lda_;
  uint32_t step_, width_;
  std::vector<uint8_t> g_;
  uint8_t hi_ = kRZ;
};

}  // namespace

void check_tc_path(const GpuConfig& cfg, DType in, AccType acc, const std::string& name) {
  const auto& tc = cfg.tensor_core;
  const bool ok = (in == DType::fp16 && tc.fp16) || (in == DType::bf16 && tc.bf16) || (in == DType::int8 && tc.int8);
  if (!ok || cfg.sub_core.tensor_cores == 0)
    throw GpuLoweringError(name + ": " + cfg.name + " has no " + std::string(dtype_name(in)) + " tensor-core path");
  if ((in == DType::int8) != (acc == AccType::s32))
    throw GpuLoweringError(name + ": int8 needs int32 accumulation and only int8 has it");
}

uint32_t out_bytes(const GpuGemmSpec& spec, const TcEpilogue& ep) {
  return spec.acc == AccType::f16 || ep.out16 ? 2 : ep.out8 ? 1 : 4;
}

GemmTiling choose_tiling(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  GemmTiling t;
  const uint64_t grid128 = ((spec.m + 127) / 128) * ((spec.n + 127) / 128);
  if (spec.m < 128 || spec.n < 128 || 2 * grid128 <= cfg.sms) {
    t.bm = t.bn = 64;
    t.wm = t.wn = 32;
  }
  return t;
}

void lower_gemm_tc(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan, const TcEpilogue& ep) {
  const bool own_ld = spec.lda || spec.ldb || spec.ldc;
  if (own_ld && (spec.sparse || use_gemm_sm80(cfg, spec)))
    throw GpuLoweringError(spec.name + ": leading dimensions are modelled on the double-buffered tensor-core kernel only");
  if ((spec.lda && spec.lda < spec.k) || (spec.ldb && spec.ldb < spec.n) || (spec.ldc && spec.ldc < spec.n))
    throw GpuLoweringError(spec.name + ": a leading dimension shorter than its row");
  if (spec.sparse) return lower_gemm_sm80_sparse(cfg, spec, plan, ep);  // 2:4 weights on mma.sp
  if (use_gemm_sm80(cfg, spec)) return lower_gemm_sm80(cfg, spec, plan, ep);  // Ampere: cp.async multistage
  check_tc_path(cfg, spec.in, spec.acc, spec.name);
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in));
  const uint32_t ce = out_bytes(spec, ep);
  const MmaShape* mma = &mma_shape(cfg.tensor_core.mma);
  // The widest accesses the caller's leading dimensions allow (16: the own layout).
  const uint32_t aw = row_access_width(spec.lda * e), bw = row_access_width(spec.ldb * e);
  const uint32_t cw = row_access_width(spec.ldc * ce);
  if (cw < 4)
    throw GpuLoweringError(spec.name + ": C rows only 2-byte aligned (ldc " + std::to_string(spec.ldc) +
                           "): the kernel stores 4-byte register pieces at least");
  const auto check_split_c = [&](const GemmTiling& t) {
    if (t.split_k > 1 && cw < 16)
      throw GpuLoweringError(spec.name + ": split-K's reduction stores 16-byte pieces of C, which ldc " +
                             std::to_string(spec.ldc) + " does not align");
  };
  auto build = [&](const GemmTiling& t, uint64_t kslice, uint64_t lda, uint64_t ldb, uint64_t ldc,
                   const TcEpilogue& kep) {
    DenseA src(lda, t.bk * e, aw);
    TcKernelDesc desc{spec.name + "_tc_" + t.name(), spec.in, spec.acc, t, kslice, ldb, ldc, kep, mma};
    desc.b_width = bw;
    desc.c_width = cw;
    desc.rows = spec.m < t.bm ? static_cast<uint32_t>(spec.m) : 0;  // a GEMV: only its rows are stored
    return build_tc_kernel(desc, src);
  };

  GemmTiling t;
  if (spec.tiling) {
    t = *spec.tiling;
  } else {
    // Registers per thread do not depend on the pitches or K: a small stand-in layout.
    const auto regs = [&](const GemmTiling& c) {
      check_split_c(c);  // a candidate that cannot store C does not build
      const uint64_t np = round_up(spec.n, c.bn);
      return build(c, uint64_t(c.bk) * 4, pitch_of(uint64_t(c.bk) * 4 * e, spec.lda, e), pitch_of(np * e, spec.ldb, e),
                   pitch_of(np * ce, spec.ldc, ce), c.split_k > 1 ? TcEpilogue{} : ep)
          .regs_per_thread;
    };
    t = choose_gemm_kernel(cfg, spec, regs).t;
  }
  if (t.split_k == 0 || t.group_m == 0 || t.stages != 2)
    throw GpuLoweringError(spec.name + ": split_k and group_m must be >= 1 and the main loop has 2 stages");
  if (t.split_k > 1 && spec.acc != AccType::f32)
    throw GpuLoweringError(spec.name + ": split-K needs fp32 accumulation");
  check_split_c(t);
  plan.tiling = t;
  const bool split = t.split_k > 1;
  GpuGemmLayout& L = plan.layout;
  plan_gemm_layout(spec, t, ep, false, mma_shape(cfg.tensor_core.mma).dot_group(spec.in), L);
  L.a_width = aw;
  L.b_width = bw;
  L.c_width = cw;

  // Split-K: the first pass writes raw fp32 partials (no epilogue), the
  // second sums them in split order and applies the epilogue.
  plan.kernel = build(t, L.kslice, L.lda, L.ldb, first_pass_ldc(L, t), split ? TcEpilogue{} : ep);
  build_gemm_launches(spec, ep, epilogue_shared(tc_shared_bytes(t, spec.in), t, *mma, ep), plan);
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(spec.name + ": kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

void stage_inputs(const GpuGemmLayout& l, const GpuGemmSpec& spec, const uint8_t* a, const uint8_t* b,
                  GlobalMemory& mem) {
  mem.resize(l.bytes);
  const uint64_t e = l.in_bytes;
  for (uint64_t i = 0; i < spec.m; ++i) mem.write(l.a + i * l.lda, a + i * spec.k * e, spec.k * e);
  stage_b(l, spec.k, spec.n, b, mem);
}

void stage_b(const GpuGemmLayout& l, uint64_t k, uint64_t n, const uint8_t* b, GlobalMemory& mem, uint64_t off) {
  if (l.sparse) return stage_sparse_b(l, k, n, b, mem, off);
  const uint64_t e = l.in_bytes;
  if (!l.b_k_major) {
    for (uint64_t r = 0; r < k; ++r) mem.write(off + l.b + r * l.ldb, b + r * n * e, n * e);
    return;
  }
  std::vector<uint8_t> row(k * e);
  for (uint64_t c = 0; c < n; ++c) {
    for (uint64_t r = 0; r < k; ++r) std::memcpy(&row[r * e], b + (r * n + c) * e, e);
    mem.write(off + l.b + c * l.ldb, row.data(), row.size());
  }
}

std::vector<uint8_t> read_output(const GpuGemmLayout& l, const GpuGemmSpec& spec, const GlobalMemory& mem) {
  std::vector<uint8_t> c(spec.m * spec.n * l.out_bytes);
  for (uint64_t i = 0; i < spec.m; ++i)
    mem.read(l.c + i * l.ldc, c.data() + i * spec.n * l.out_bytes, spec.n * l.out_bytes);
  return c;
}

void stage_bias(const GpuGemmLayout& l, uint64_t n, const float* bias, GlobalMemory& mem) {
  mem.write(l.bias, bias, n * 4);
}

}  // namespace xpu::lowering::gpu
