// GEMM values: the lowered kernels on the model against the references of
// sim/lowering/gpu/tc_reference.h, bit for bit.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

struct GemmRun {
  std::vector<uint32_t> got, want;
  LaunchResult result;
};

GemmRun run_gemm(Gpu& gpu, const GpuGemmSpec& spec, uint64_t seed) {
  GpuGemmPlan plan;
  if (spec.in == DType::fp32) lower_gemm_simt(gpu.config(), spec, plan);
  else lower_gemm_tc(gpu.config(), test::classic(gpu.config(), spec), plan);
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, seed);
  const auto b = test::random_matrix(spec.in, spec.k, spec.n, seed + 1);
  stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
  GemmRun r;
  r.result = gpu.run(plan.launch, RunOptions{true, false});
  const auto raw = read_output(plan.layout, spec, gpu.memory());
  const uint32_t ob = plan.layout.out_bytes;
  r.got.resize(spec.m * spec.n);
  for (size_t i = 0; i < r.got.size(); ++i) {
    uint32_t v = 0;
    std::memcpy(&v, &raw[i * ob], ob);
    r.got[i] = v;
  }
  r.want = spec.in == DType::fp32
               ? reference_gemm_ffma(spec.m, spec.n, spec.k, plan.layout.kp, reinterpret_cast<const float*>(a.data()),
                                     reinterpret_cast<const float*>(b.data()))
               : reference_gemm_tc(spec.in, spec.acc, spec.m, spec.n, spec.k, plan.layout.kp, a.data(), b.data(),
                                   plan.layout.dot_group);
  return r;
}

size_t mismatches(const GemmRun& r) {
  size_t bad = 0;
  for (size_t i = 0; i < r.got.size(); ++i) bad += r.got[i] != r.want[i];
  return bad;
}

}  // namespace

TEST_CASE("fp16 tensor-core GEMM is bit-exact (fp32 and fp16 accumulation)", "[gpu][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // 96 x 80 x 72: every dimension padded (64-tiles, K to 96), several CTAs
  // per SM, 3 K tiles (the loop's pair plus the odd tail).
  for (AccType acc : {AccType::f32, AccType::f16}) {
    GpuGemmSpec s{"g", 96, 80, 72, DType::fp16, acc};
    const GemmRun r = run_gemm(gpu, s, 11);
    CHECK(mismatches(r) == 0);
    // 72 -> 96 padded K: 2 x 2 CTAs x (64 x 64 x 96) MACs = 1,572,864.
    CHECK(r.result.sm[Ctr::mac_fp16] + r.result.sm[Ctr::mac_fp16_acc16] == 4ull * 64 * 64 * 96);
  }
  // The 128 x 128 tiling with 8 warps, 4 K tiles (two loop pairs... one pair + even tail).
  GpuGemmSpec s{"g", 256, 128, 128, DType::fp16, AccType::f32};
  const GemmRun r = run_gemm(gpu, s, 12);
  CHECK(mismatches(r) == 0);
  // The reference order matters: a plain sequential fp32 dot product differs somewhere.
  size_t seq_diff = 0;
  {
    const auto a = test::random_matrix(DType::fp16, 256, 128, 12), b = test::random_matrix(DType::fp16, 128, 128, 13);
    for (uint64_t i = 0; i < 256; ++i)
      for (uint64_t j = 0; j < 128; ++j) {
        float acc = 0;
        for (uint64_t k = 0; k < 128; ++k) {
          uint16_t x, y;
          std::memcpy(&x, &a[2 * (i * 128 + k)], 2);
          std::memcpy(&y, &b[2 * (k * 128 + j)], 2);
          acc = acc + fp16::from_bits(x).to_float() * fp16::from_bits(y).to_float();
        }
        seq_diff += float_to_bits(acc) != r.want[i * 128 + j];
      }
  }
  CHECK(seq_diff > 0);
}

TEST_CASE("bf16 and int8 tensor-core GEMMs are bit-exact where configured", "[gpu][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  CHECK(mismatches(run_gemm(gpu, GpuGemmSpec{"g", 64, 128, 64, DType::bf16, AccType::f32}, 21)) == 0);
  const GemmRun r = run_gemm(gpu, GpuGemmSpec{"g", 128, 64, 96, DType::int8, AccType::s32}, 22);
  CHECK(mismatches(r) == 0);
  CHECK(r.result.sm[Ctr::mac_int8] == 2ull * 64 * 64 * 96);
  // v100.yaml has neither path: lowering refuses instead of running something else.
  GpuGemmPlan plan;
  CHECK_THROWS_AS(lower_gemm_tc(test::load("v100.yaml"), GpuGemmSpec{"g", 64, 64, 64, DType::bf16, AccType::f32}, plan),
                  GpuLoweringError);
  CHECK_THROWS_AS(lower_gemm_tc(test::load("v100.yaml"), GpuGemmSpec{"g", 64, 64, 64, DType::int8, AccType::s32}, plan),
                  GpuLoweringError);
}

TEST_CASE("SIMT FFMA GEMM is bit-exact with fused multiply-adds", "[gpu][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  const GemmRun r = run_gemm(gpu, GpuGemmSpec{"g", 100, 70, 40, DType::fp32, AccType::f32}, 31);
  CHECK(mismatches(r) == 0);
  // 2 x 2 CTAs x 64 x 64 x 48 (K padded to 16s) FMAs, 2 flops each.
  CHECK(r.result.sm[Ctr::fp32_flops] == 2ull * 4 * 64 * 64 * 48);
}

TEST_CASE("unaligned leading dimensions: the same values through narrower loads and stores", "[gpu][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // 96 x 35 x 72 fp16 -> fp32 on the classic 64 x 64 x 32 tile (4 warps,
  // 128 threads): mp 128, np 64, kp 96, so 2 CTAs x 4 warps = 8 warps, each
  // running 3 K tiles. A tile: 64 rows x 64 bytes = 256 16-byte chunks, B
  // tile: 32 rows x 128 bytes = 256 chunks: 2 of each per thread per K tile.
  const GpuGemmSpec packed{"g", 96, 35, 72, DType::fp16, AccType::f32};
  const GemmRun p = run_gemm(gpu, packed, 21);
  CHECK(mismatches(p) == 0);

  // ldb = ldc = 35 (DeepBench's column-major M = 35): B rows 70 bytes apart
  // are only 2-byte aligned, C rows 140 bytes apart 4-byte aligned.
  GpuGemmSpec odd = packed;
  odd.ldb = odd.ldc = 35;
  GpuGemmPlan plan;
  lower_gemm_tc(gpu.config(), test::classic(gpu.config(), odd), plan);
  CHECK(plan.layout.a_width == 16);
  CHECK(plan.layout.b_width == 2);
  CHECK(plan.layout.c_width == 4);
  CHECK(plan.layout.ldb % 16 == 70 % 16);  // the padded row keeps the caller's alignment
  const GemmRun r = run_gemm(gpu, odd, 21);
  CHECK(mismatches(r) == 0);
  CHECK(r.got == p.got);
  // Extra memory instructions, per warp:
  //   B: each chunk's LDG.128 becomes 8 LDG.U16: 7 more x 2 chunks x 3 K tiles = 42;
  //   C: each fp32 fragment's 2 STG.128 become 8 STG.32: 6 more x (2 x 2) fragments = 24;
  // x 8 warps = (42 + 24) x 8 = 528.
  CHECK(r.result.sm[Ctr::inst_ldst] - p.result.sm[Ctr::inst_ldst] == 528);
  // Packing the halves: one IMAD per staging register, 4 x 2 chunks x 3 K tiles x 8 warps = 192.
  CHECK(r.result.sm[Ctr::inst_int32] - p.result.sm[Ctr::inst_int32] == 192);
  CHECK(r.result.cycles > p.result.cycles);

  // lda = 76: A rows 152 bytes apart, 8-byte aligned: each A chunk's LDG.128
  // becomes 2 LDG.64: 1 more x 2 chunks x 3 K tiles x 8 warps = 48, no packing.
  GpuGemmSpec a8 = packed;
  a8.lda = 76;
  const GemmRun q = run_gemm(gpu, a8, 21);
  CHECK(q.got == p.got);
  CHECK(q.result.sm[Ctr::inst_ldst] - p.result.sm[Ctr::inst_ldst] == 48);
  CHECK(q.result.sm[Ctr::inst_int32] == p.result.sm[Ctr::inst_int32]);

  // A leading dimension shorter than its row is bad input.
  GpuGemmSpec bad = packed;
  bad.ldb = 34;
  CHECK_THROWS_AS(lower_gemm_tc(gpu.config(), bad, plan), GpuLoweringError);
}
