// The requantizing int8 epilogue (sim/lowering/gpu/int8_epilogue.h): int8
// GEMMs and implicit-GEMM convolutions on Volta's and Ampere's tensor cores
// write int8 C, bit for bit what the reference computes from the int32
// accumulators (convert, dequantize, bias, activation, requantize with the
// reference executor's round-half-to-even and saturation); and int8
// networks whose convolutions feed convolutions keep those tensors int8 in
// device memory, each kernel computing on its producer's output.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/workload_text.h"
#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/check/values.h"
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

using check::random_values;

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
  const auto bias = random_values(n, 23, -0.5f, 0.5f);
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
  const auto bias = random_values(64, 33, -0.5f, 0.5f);
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

namespace {

// x -> c1 (3x3 conv, batchnorm, relu) -> c2 (3x3 conv, batchnorm) + c1's
// output -> relu -> c3 (1x1 conv): every int8 edge between kernels.
workload::Workload int8_block() {
  return xpu_test::workload_from_text("int8_block",
                   "kind: workload\nname: int8_block\ninputs:\n  - {name: x, shape: [1, 32, 8, 8], dtype: fp32}\n"
                   "layers:\n"
                   "  - {name: c1, op: conv2d, out: 64, kernel: 3, pad: 1, bias: false}\n"
                   "  - {name: bn1, op: batchnorm}\n"
                   "  - {name: r1, op: relu}\n"
                   "  - {name: c2, op: conv2d, out: 64, kernel: 3, pad: 1, bias: false}\n"
                   "  - {name: bn2, op: batchnorm}\n"
                   "  - {name: add, op: add, input: [bn2, r1]}\n"
                   "  - {name: r2, op: relu}\n"
                   "  - {name: c3, op: conv2d, out: 64, kernel: 1, bias: false}\n");
}

void check_int8_network(const char* config) {
  static const energy::EnergyTable table =
      energy::load_energy_table(XPUSIM_SOURCE_DIR "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(test::load(config), table, "gpu");
  const workload::Workload w = int8_block();
  // c3's first output word (int32 C: c3's output is the graph's) as the
  // device holds it after c3 ran; c1's int8 output is corrupted in the
  // second run, after c1 was checked.
  uint32_t out0 = 0;
  bool corrupt = false;
  int8_t c1_0 = 0;
  experiment::set_gpu_after_layer(*be, [&](const std::string& layer, gpu::GlobalMemory& mem, const auto& address) {
    if (layer == "c1") {
      mem.read(address("r1"), &c1_0, 1);
      if (corrupt) {
        // Every channel of c1's first pixel (a 3x3 neighbourhood of c2's
        // outputs and c2's residual read it) set to 127.
        const std::vector<int8_t> sat(64, 127);
        mem.write(address("r1"), sat.data(), 64);
      }
    }
    if (layer == "c3") mem.read(address("c3"), &out0, 4);
  });
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::tile;
  o.verify = true;
  o.seed = 1;
  const auto clean = be->run_workload(w, DType::int8, o);
  const uint32_t clean0 = out0;
  corrupt = true;
  const auto bad = be->run_workload(w, DType::int8, o);
  for (const auto* rs : {&clean, &bad}) {
    // c1 + bn1 + relu, c2 + bn2 + add + relu (the residual r1, int8), c3.
    REQUIRE(rs->size() == 3);
    CHECK((*rs)[0].op == "conv2d+batchnorm+relu [conv_implicit_tc]");
    CHECK((*rs)[1].op == "conv2d+batchnorm+add+relu [conv_implicit_tc]");
    CHECK((*rs)[2].name == "c3");
    for (const auto& r : *rs) {
      INFO(r.name << ": " << r.verdict_detail);
      CHECK(r.verdict == report::Verdict::bit_exact);
      CHECK(r.verdict_detail.find("staged by the host") == std::string::npos);
      CHECK(r.name.find(".relayout") == std::string::npos);
    }
    CHECK((*rs)[0].verdict_detail.find("fused epilogue") != std::string::npos);
  }
  // The clean c1 value differs from the corruption, and c3's first output
  // (a 1x1 conv of r2's first pixel, which c2 computed from c1's first
  // pixel, directly and as its residual) moved with it; both runs still
  // bit-exact: each reference consumed the int8 values its kernel read.
  CHECK(c1_0 != 127);
  CHECK(out0 != clean0);
  // Timing fidelity runs the same stream in the same cycles.
  o.fidelity = Fidelity::timing;
  const auto timing = be->run_workload(w, DType::int8, o);
  REQUIRE(timing.size() == clean.size());
  for (size_t i = 0; i < timing.size(); ++i) CHECK(timing[i].cycles == clean[i].cycles);
}

}  // namespace

TEST_CASE("an int8 network keeps int8 tensors between kernels, values flowing (gpu_small)", "[gpu][int8][values]") {
  check_int8_network("gpu_small.yaml");
}
TEST_CASE("an int8 network keeps int8 tensors between kernels, values flowing (ampere_small)",
          "[gpu][int8][values]") {
  check_int8_network("ampere_small.yaml");
}
