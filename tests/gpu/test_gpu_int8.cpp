// The requantizing int8 epilogue (sim/lowering/gpu/int8_epilogue.h): int8
// GEMMs and implicit-GEMM convolutions on Volta's and Ampere's tensor cores
// write int8 C, bit for bit what the reference computes from the int32
// accumulators (convert, dequantize, bias, activation, requantize with the
// reference executor's round-half-to-even and saturation); and int8
// networks whose convolutions feed convolutions keep those tensors int8 in
// device memory, each kernel computing on its producer's output.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "tests/temp_path.h"
#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/int8_epilogue.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/numerics/int8_quant.h"
#include "sim/workload/workload.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

std::vector<float> uniform(uint64_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

// The int8 C of a GEMM (epilogue ep, out8) and its int32 C without epilogue,
// same operands; the int8 one checked bit for bit against the reference, and
// against the int32 one requantized on the host. Returns the int8 values.
std::vector<int8_t> check_gemm_int8(Gpu& gpu, uint64_t m, uint64_t n, uint64_t k, TcEpilogue ep) {
  // The kernel the heuristic picks, without split-K (its reduction has no
  // int8 epilogue).
  GpuGemmSpec s{"g", m, n, k, DType::int8, AccType::s32};
  {
    GpuGemmPlan chosen;
    lower_gemm_tc(gpu.config(), s, chosen);
    s.tiling = chosen.tiling;
    s.tiling->split_k = 1;
  }
  const auto a = test::random_matrix(DType::int8, m, k, 21), b = test::random_matrix(DType::int8, k, n, 22);
  const auto bias = uniform(n, 23, -0.5f, 0.5f);
  std::tie(ep.dq, ep.qs) = int8_layer_scales(k);
  std::vector<uint8_t> c8;
  std::vector<int32_t> c32(m * n);
  std::vector<uint32_t> want;
  for (bool q : {true, false}) {
    TcEpilogue e = q ? ep : TcEpilogue{};
    e.out8 = q;
    GpuGemmPlan plan;
    lower_gemm_tc(gpu.config(), s, plan, e);
    stage_inputs(plan.layout, s, a.data(), b.data(), gpu.memory());
    if (e.bias) stage_bias(plan.layout, n, bias.data(), gpu.memory());
    gpu.run_stream(plan.launches(), RunOptions{true, false});
    CHECK(plan.layout.out_bytes == (q ? 1u : 4u));
    const auto raw = read_output(plan.layout, s, gpu.memory());
    if (q) {
      c8 = raw;
      want = reference_gemm_tc(DType::int8, AccType::s32, m, n, k, plan.layout.kp, a.data(), b.data(),
                               plan.layout.dot_group);
      reference_epilogue(e, m, n, bias.data(), want);
    } else {
      std::memcpy(c32.data(), raw.data(), m * n * 4);
    }
  }
  size_t bad_ref = 0, bad_host = 0;
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      const size_t x = i * n + j;
      bad_ref += c8[x] != want[x];
      // The host's requantization of the raw accumulator, written out here.
      float y = mul_fp32(static_cast<float>(c32[x]), ep.dq);
      if (ep.bias) y = add_fp32(y, bias[j]);
      if (ep.act == Activation::relu) y = std::fmax(y, 0.0f);
      bad_host += int8_t(c8[x]) != quantize(mul_fp32(y, ep.qs), 1.0f);
    }
  CHECK(bad_ref == 0);
  CHECK(bad_host == 0);
  std::vector<int8_t> v(c8.size());
  std::memcpy(v.data(), c8.data(), c8.size());
  return v;
}

void check_gemms(const char* config) {
  Gpu gpu("gpu", test::load(config));
  TcEpilogue ep;
  ep.bias = true;
  ep.act = Activation::relu;
  // 70 x 96 x 256 (partial tiles in M) and 128 x 256 x 512 (full tiles):
  // with the scales of int8_layer_scales the outputs spread over the int8
  // range: relu zeroes about half, and few saturate at 127.
  for (const auto& [m, n, k] : {std::tuple<uint64_t, uint64_t, uint64_t>{70, 96, 256}, {128, 256, 512}}) {
    INFO(m << " x " << n << " x " << k);
    const auto q = check_gemm_int8(gpu, m, n, k, ep);
    size_t zeros = 0, sat = 0, neg = 0;
    for (int8_t v : q) zeros += v == 0, sat += v == 127, neg += v < 0;
    CHECK(neg == 0);  // relu
    CHECK(zeros > q.size() / 4);
    CHECK(zeros < 3 * q.size() / 4);
    CHECK(sat < q.size() / 10);
  }
  // No activation, no bias: negative values too, saturated at -128.
  const auto q = check_gemm_int8(gpu, 64, 64, 1024, TcEpilogue{});
  size_t neg = 0;
  for (int8_t v : q) neg += v < 0;
  CHECK(neg > q.size() / 4);
}

void check_conv(const char* config) {
  Gpu gpu("gpu", test::load(config));
  // 3x3, pad 1, 32 -> 64 channels on 8x8, bias and relu6 (clip 0, 6).
  ConvSpec s;
  s.batch = 1, s.c = 32, s.h = 8, s.w = 8, s.k = 64, s.r = 3, s.s = 3, s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
  s.in = DType::int8, s.acc = AccType::s32;
  s.ep.bias = true, s.ep.act = Activation::clip, s.ep.p0 = 0, s.ep.p1 = 6, s.ep.out8 = true;
  std::tie(s.ep.dq, s.ep.qs) = int8_layer_scales(9 * 32);
  const auto x = test::random_matrix(DType::int8, 64, 32, 31), w = test::random_matrix(DType::int8, 64 * 9, 32, 32);
  const auto bias = uniform(64, 33, -0.5f, 0.5f);
  ConvPlan plan;
  lower_conv_implicit(gpu.config(), s, plan);
  CHECK(plan.layout.g.out_bytes == 1);
  stage_conv_inputs(plan.layout, s, x.data(), w.data(), bias.data(), gpu.memory());
  gpu.run(plan.launch, RunOptions{true, false});
  const auto got = read_conv_output(plan.layout, s, gpu.memory());
  const auto want = reference_conv_tc(plan.layout, s, x.data(), w.data(), bias.data(), nullptr);
  size_t bad = 0, at127 = 0, high = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i], at127 += got[i] == 127, high += got[i] > 127;
  CHECK(bad == 0);
  // clip(0, 6) at qs = 32 reaches 6 x 32 = 192, past int8's 127: those
  // saturate at 127 (outputs above 127 / 32 ~ 3.97 do), none wraps to a
  // negative byte (> 127 as zero-extended bits).
  CHECK(at127 > 0);
  CHECK(high == 0);
}

}  // namespace

TEST_CASE("int8 requantization: round half to even and saturation as the reference quantizer",
          "[gpu][int8]") {
  // quantize(y, 1): 2.5 -> 2 and 3.5 -> 4 (ties to even), -2.5 -> -2,
  // 127.5 -> 128 saturated to 127, -200 -> -128.
  TcEpilogue ep;
  ep.out8 = true;
  ep.dq = 0.5f, ep.qs = 1.0f;
  std::vector<uint32_t> c = {5, 7, uint32_t(-5), 255, uint32_t(-400)};  // x dq = 2.5, 3.5, -2.5, 127.5, -200
  reference_epilogue(ep, 1, 5, nullptr, c);
  CHECK(c == std::vector<uint32_t>{2, 4, 0xFE, 0x7F, 0x80});
  // The scales: fan-in 256 -> weights at 2^-(7 + 4), activations at 2^-5.
  const auto [dq, qs] = int8_layer_scales(256);
  CHECK(dq == 0x1p-16f);
  CHECK(qs == 32.0f);
}

// (One Gpu per test case: SystemC elaborates once per process.)
TEST_CASE("int8 GEMM with the requantizing epilogue is bit-exact (gpu_small, Volta)", "[gpu][int8]") {
  check_gemms("gpu_small.yaml");
}
TEST_CASE("int8 GEMM with the requantizing epilogue is bit-exact (ampere_small)", "[gpu][int8]") {
  check_gemms("ampere_small.yaml");
}
TEST_CASE("int8 implicit-GEMM conv with the requantizing epilogue is bit-exact (gpu_small)", "[gpu][int8]") {
  check_conv("gpu_small.yaml");
}
TEST_CASE("int8 implicit-GEMM conv with the requantizing epilogue is bit-exact (ampere_small)", "[gpu][int8]") {
  check_conv("ampere_small.yaml");
}
