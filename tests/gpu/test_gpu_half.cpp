// 16-bit tensors between kernels (sim/lowering/gpu/half_io.h): the rounding
// points of the tensor-core epilogue (conv, GEMM, split-K reduction, the
// sm80 kernel), bit for bit (the single-pass row kernels over 16-bit rows:
// test_gpu_rows16.cpp). The rule checked throughout: a kernel with 16-bit
// output computes exactly what its fp32-output form computes, then rounds
// each result once (round to nearest even).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "tests/workload_text.h"
#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/nn_kernels.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/numerics/float_bits.h"
#include "sim/workload/workload.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

std::vector<float> randoms(uint64_t n, uint64_t seed, DType round_to = DType::fp32) {
  return test::random_floats(n, seed, round_to);
}

// A workload written inline (a temporary file, removed once loaded) and a
// GPU backend on `config` that runs it.
std::unique_ptr<experiment::Backend> backend_on(const std::string& config) {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  return experiment::make_gpu_backend(test::load(config), table, "gpu");
}

// The conv's output with 16-bit C and with fp32 C, same operands.
struct ConvPair {
  std::vector<uint32_t> c16, c32, want16;
  uint64_t ldc16 = 0;
};

ConvPair run_conv_pair(Gpu& gpu, ConvSpec s, uint64_t seed) {
  const auto x = test::random_matrix(s.in, s.batch * s.h * s.w, s.c, seed);
  const auto w = test::random_matrix(s.in, s.k * s.r * s.s, s.c, seed + 1);
  const auto bias = randoms(s.k, seed + 2);
  ConvPair out;
  for (bool h : {true, false}) {
    s.ep.out16 = h;
    ConvPlan plan;
    lower_conv_implicit(gpu.config(), s, plan);
    const auto res = randoms(plan.layout.m * plan.layout.n, seed + 3, s.in);  // a 16-bit tensor's values
    stage_conv_inputs(plan.layout, s, x.data(), w.data(), bias.data(), gpu.memory());
    stage_conv_residual(plan.layout, s, res.data(), gpu.memory());
    gpu.run(plan.launch, RunOptions{true, false});
    (h ? out.c16 : out.c32) = read_conv_output(plan.layout, s, gpu.memory());
    if (h) {
      out.want16 = reference_conv_tc(plan.layout, s, x.data(), w.data(), bias.data(), res.data());
      out.ldc16 = plan.layout.g.ldc;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("16-bit rounding: round to nearest even on the host as in the kernels", "[gpu][half]") {
  // fp16 has 10 fraction bits: 1 + 2^-11 is halfway between 1 (0x3C00, even)
  // and 1 + 2^-10 (0x3C01): to even, 0x3C00. 1 + 3 2^-11 is halfway between
  // 0x3C01 and 0x3C02 (even): 0x3C02. 65520 = 65504 + 16, halfway to 2^16,
  // rounds up past the largest finite value: +inf (0x7C00).
  CHECK(narrow16(DType::fp16, 1.0f + 0x1p-11f) == 0x3C00);
  CHECK(narrow16(DType::fp16, 1.0f + 3 * 0x1p-11f) == 0x3C02);
  CHECK(narrow16(DType::fp16, 65520.0f) == 0x7C00);
  // bf16 keeps 7 fraction bits: 1 + 2^-8 ties to 0x3F80, 1 + 3 2^-8 to 0x3F82;
  // -0 keeps its sign (0x8000); widening is exact: 0x3F81 = 1 + 2^-7.
  CHECK(narrow16(DType::bf16, 1.0f + 0x1p-8f) == 0x3F80);
  CHECK(narrow16(DType::bf16, 1.0f + 3 * 0x1p-8f) == 0x3F82);
  CHECK(narrow16(DType::bf16, -0.0f) == 0x8000);
  CHECK(widen16(DType::bf16, 0x3F81) == 1.0f + 0x1p-7f);
  CHECK(round16(DType::fp16, 0.1f) == 0.0999755859375f);  // 0x2E66 = 1638 x 2^-14
}

TEST_CASE("16-bit epilogue: conv + bias + residual + relu rounds once, fp16 and bf16", "[gpu][half][conv]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  for (DType t : {DType::fp16, DType::bf16}) {
    INFO(dtype_name(t));
    ConvSpec s;
    s.batch = 2, s.c = 64, s.h = s.w = 8, s.k = 48, s.r = s.s = 3;
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
    s.in = t;
    s.ep.bias = true;
    s.ep.residual = true;
    s.ep.act = Activation::relu;
    const ConvPair r = run_conv_pair(gpu, s, 31);
    // C rows are 2-byte elements: np = 48 rounded up to the 64-wide tile, 128 bytes.
    CHECK(r.ldc16 == 64 * 2);
    REQUIRE(r.c16.size() == r.c32.size());
    size_t bad_ref = 0, bad_round = 0, zeros = 0;
    for (size_t i = 0; i < r.c16.size(); ++i) {
      bad_ref += r.c16[i] != r.want16[i];
      // The same fp32 epilogue result, rounded once.
      bad_round += r.c16[i] != narrow16(t, bits_to_float(r.c32[i]));
      zeros += r.c16[i] == 0;
    }
    CHECK(bad_ref == 0);
    CHECK(bad_round == 0);
    // relu zeroes about half of the outputs (symmetric random values): the
    // activation ran before the rounding.
    CHECK(zeros > r.c16.size() / 4);
    CHECK(zeros < 3 * r.c16.size() / 4);
  }
}

namespace {

// A GEMM with a fused bias (+ residual) + relu, 16-bit and fp32 C, on the
// given tiling: the 16-bit C is the fp32 C rounded once, and (16-bit) the
// reference of the same accumulation order with the epilogue.
void check_gemm_out16(Gpu& gpu, DType t, uint64_t m, uint64_t n, uint64_t k, const GemmTiling* tiling,
                      bool residual = false) {
  GpuGemmSpec s{"g", m, n, k, t, AccType::f32};
  if (tiling) s.tiling = *tiling;
  const auto a = test::random_matrix(t, m, k, 11), b = test::random_matrix(t, k, n, 12);
  const auto bias = randoms(n, 13);
  const auto res = randoms(m * n, 14, t);  // a 16-bit tensor's values
  std::vector<uint32_t> c16, c32, want;
  GemmTiling used;
  for (bool h : {true, false}) {
    TcEpilogue ep;
    ep.bias = true;
    ep.residual = residual;
    ep.act = Activation::relu;
    ep.out16 = h;
    GpuGemmPlan plan;
    lower_gemm_tc(gpu.config(), s, plan, ep);
    used = plan.tiling;
    stage_inputs(plan.layout, s, a.data(), b.data(), gpu.memory());
    stage_bias(plan.layout, n, bias.data(), gpu.memory());
    const GpuGemmLayout& L = plan.layout;
    for (uint64_t i = 0; i < m && residual; ++i)
      for (uint64_t j = 0; j < n; ++j) {
        const uint16_t r16 = narrow16(t, res[i * n + j]);
        if (h) gpu.memory().write(L.res + i * L.ldc + 2 * j, &r16, 2);
        else gpu.memory().write(L.res + i * L.ldc + 4 * j, &res[i * n + j], 4);
      }
    if (h) {
      want = plan.split() ? reference_gemm_tc_split(t, m, n, k, L.kslice, plan.tiling.split_k, a.data(), b.data())
                          : reference_gemm_tc(t, s.acc, m, n, k, L.kp, a.data(), b.data(), L.dot_group);
      reference_epilogue(ep, m, n, bias.data(), want, residual ? res.data() : nullptr, t);
    }
    gpu.run_stream(plan.launches(), RunOptions{true, false});
    CHECK(plan.layout.out_bytes == (h ? 2u : 4u));
    const auto raw = read_output(plan.layout, s, gpu.memory());
    auto& c = h ? c16 : c32;
    c.resize(m * n);
    for (uint64_t i = 0; i < m * n; ++i) {
      if (h) {
        uint16_t v;
        std::memcpy(&v, &raw[2 * i], 2);
        c[i] = v;
      } else {
        std::memcpy(&c[i], &raw[4 * i], 4);
      }
    }
  }
  if (tiling) CHECK(used.split_k == tiling->split_k);
  size_t bad = 0, bad_ref = 0;
  for (size_t i = 0; i < c16.size(); ++i) {
    bad += c16[i] != narrow16(t, bits_to_float(c32[i]));
    bad_ref += c16[i] != want[i];
  }
  CHECK(bad == 0);
  CHECK(bad_ref == 0);
}

}  // namespace

TEST_CASE("16-bit epilogue: GEMM and its split-K reduction round once", "[gpu][half][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // The classic 64x64 tile (fused epilogue in the GEMM kernel), and the same
  // tile split 2 ways along K (the reduction kernel applies the epilogue and
  // stores four 16-bit results per STG.64).
  GemmTiling t = choose_tiling(gpu.config(), GpuGemmSpec{"g", 70, 96, 256, DType::fp16, AccType::f32});
  for (DType d : {DType::fp16, DType::bf16}) {
    INFO(dtype_name(d));
    check_gemm_out16(gpu, d, 70, 96, 256, &t);
    GemmTiling split = t;
    split.split_k = 2;
    check_gemm_out16(gpu, d, 70, 96, 256, &split);
  }
}

TEST_CASE("GEMM + bias + residual + relu fused in the epilogue, bit-exact (tile, split-K, sm80)", "[gpu][half][gemm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // act((acc + bias) + res), then the one rounding: in the GEMM kernel's
  // epilogue, and under split-K in the reduction (residual read with the partials).
  GemmTiling t = choose_tiling(gpu.config(), GpuGemmSpec{"g", 70, 96, 256, DType::fp16, AccType::f32});
  for (DType d : {DType::fp16, DType::bf16}) {
    INFO(dtype_name(d));
    check_gemm_out16(gpu, d, 70, 96, 256, &t, true);
    GemmTiling split = t;
    split.split_k = 4;
    check_gemm_out16(gpu, d, 70, 96, 256, &split, true);
  }
}

TEST_CASE("16-bit epilogue: the sm80 kernel shares it", "[gpu][half][gemm][ampere]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  for (DType d : {DType::fp16, DType::bf16}) {
    INFO(dtype_name(d));
    check_gemm_out16(gpu, d, 100, 128, 96, nullptr);
    check_gemm_out16(gpu, d, 100, 128, 96, nullptr, true);  // with the fused residual
  }
}

TEST_CASE("a transformer block's GEMM absorbs its residual add, 16-bit rows between kernels", "[gpu][half][nn]") {
  auto be = backend_on("gpu_small.yaml");
  const workload::Workload w = xpu_test::workload_from_text("block", R"(kind: workload
name: block
inputs:
  - {name: x, shape: [1, 40, 96], dtype: fp32}
layers:
  - {name: proj, op: matmul, out: 96}
  - {name: res, op: add, input: [proj, x]}
  - {name: norm, op: layernorm, epsilon: 1e-5}
  - {name: probs, op: softmax, axis: -1}
)");
  for (DType d : {DType::fp16, DType::bf16}) {
    INFO(dtype_name(d));
    experiment::LayerRunOptions o;
    o.fidelity = Fidelity::tile;
    o.seed = 3;
    const auto rs = gpu::test::layer_rows(be->run_workload(w, d, o));
    // The add is the GEMM's epilogue (one result row naming both layers).
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].op == "matmul+add [gemm_tc]");
    CHECK(rs[0].verified() == "bit-exact (GEMM view, fused epilogue, 16-bit C)");
    // layernorm and softmax: single-pass 16-bit rows, the reference rounded
    // where the kernel rounds (equal, or one 16-bit step apart).
    for (size_t i = 1; i < 3; ++i) {
      INFO(rs[i].name << ": " << rs[i].verified());
      CHECK(rs[i].verdict != report::Verdict::mismatch);
      CHECK(rs[i].verified().find("(16-bit output)") != std::string::npos);
    }
    // 16-bit traffic: the layernorm reads 40 rows of 96 x 2 bytes (6 sectors
    // each) plus the fp32 scale and bias (12 sectors each), and writes 40 x 6
    // sectors: the kernel's own bytes, whatever the L2 holds.
    CHECK(rs[1].bytes.at("l2_read") <= 40 * (6 + 12 + 12) * 32);
  }
}

TEST_CASE("a split-K GEMM on the sm80 kernel is checked in its split order, residual fused, 16-bit C", "[gpu][half][ampere][splitk]") {
  // BERT's FFN-out shape on a100: 128 x 768 x 3072 gives 12 tiles of 64 x 128
  // on 108 SMs, so the selector splits K and the reduction applies bias and
  // the residual add. The layer check must sum the products in the sm80
  // mma's dot groups and the splits in their order: with the Volta group
  // of 4 it flagged ~0.2 % of the outputs one 16-bit step off.
  auto be = backend_on("a100.yaml");
  const workload::Workload w = xpu_test::workload_from_text("splitk", R"(kind: workload
name: ffn_out
inputs:
  - {name: x, shape: [1, 128, 3072], dtype: fp32}
  - {name: r, shape: [1, 128, 768], dtype: fp32}
layers:
  - {name: proj, op: matmul, input: x, out: 768}
  - {name: res, op: add, input: [proj, r]}
)");
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::tile;
  o.seed = 5;
  const auto rs = be->run_workload(w, DType::fp16, o);
  REQUIRE(rs.size() == 1);
  INFO(rs[0].kernel);
  CHECK(rs[0].op == "matmul+add [gemm_tc]");
  CHECK(rs[0].kernel.find("splitk") != std::string::npos);
  CHECK(rs[0].verified() == "bit-exact (GEMM view, fused epilogue, 16-bit C)");
}
