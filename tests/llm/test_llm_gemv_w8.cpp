// The weight-only int8 decode GEMV (sim/lowering/gpu/gemv_w8.h) on the GPU
// model with values: bit for bit against its reference order, that
// reference against a double-precision dot product of the dequantized
// weights, and the per-channel quantizer.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "tests/temp_path.h"
#include "models/gpu/fast_path.h"
#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/lowering/gpu/gemv_w8.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/numerics/float_bits.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;
using namespace xpu::lowering::gpu;

namespace {

// Random int8 weights over the whole range (-128 included: the kernel's
// unpacking must take every byte) and per-row scales.
std::vector<int8_t> random_q(uint64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> q(n);
  for (auto& v : q) v = static_cast<int8_t>(d(rng));
  return q;
}

void run_case(const std::string& accel, const GemvW8Spec& s) {
  static gpu::Gpu g("gpu", config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/" + accel));
  GemvW8Layout L;
  NnPlan plan;
  lower_gemv_w8(g.config(), s, L, plan);
  CHECK(L.kp % 512 == 0);
  CHECK(L.np % (8 * L.iters) == 0);
  CHECK(gpu::fast_path_check(plan.kernel).empty());
  const auto x = llm_test::random_half(s.in, s.m * s.k, 1);
  const auto q = random_q(s.n * s.k, 2);
  std::vector<float> scale(s.n);
  for (uint64_t n = 0; n < s.n; ++n) scale[n] = 0.001f * float(n % 7 + 1);
  g.memory().resize(L.bytes);
  for (uint64_t i = 0; i < s.m; ++i) g.memory().write(L.x + i * L.kp * 2, &x[i * s.k], s.k * 2);
  for (uint64_t n = 0; n < s.n; ++n) g.memory().write(L.w + n * L.kp, &q[n * s.k], s.k);
  g.memory().write(L.scale, scale.data(), s.n * 4);
  g.run(plan.launch, gpu::RunOptions{true, false});
  const auto want = reference_gemv_w8(s, x.data(), q.data(), scale.data());
  size_t bad = 0;
  double worst = 0;
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t n = 0; n < s.n; ++n) {
      uint32_t got = 0;
      g.memory().read(L.y + (i * L.np + n) * 4, &got, 4);
      bad += got != want[i * s.n + n];
      if (s.ep.act == Activation::none) {
        double d = 0;
        for (uint64_t k = 0; k < s.k; ++k) d += double(widen_half(s.in, x[i * s.k + k])) * q[n * s.k + k];
        d *= scale[n];
        worst = std::max(worst, std::abs(d - double(bits_to_float(want[i * s.n + n]))));
      }
    }
  CHECK(bad == 0);
  // |sum| of k N(0,1) x U(-128,127) products is ~ 74 sqrt(k); fp32 keeps 24
  // bits: the reference's error stays below 1e-4 of the unscaled sum's size.
  CHECK(worst < 1e-4 * 74 * std::sqrt(double(s.k)) * 0.007);
}

}  // namespace

TEST_CASE("int8-weight gemv: one row, K and N padded, fused SiLU, bit-exact", "[llm][gemv_w8]") {
  // K 700 -> 1024 (two 512-byte runs per weight row, the second partly
  // padding); N 100 -> a multiple of the CTA's 8 rows.
  GemvW8Spec s;
  s.m = 1, s.n = 100, s.k = 700;
  s.ep.act = Activation::silu;
  run_case("a100.yaml", s);
}

TEST_CASE("int8-weight gemv: three rows, bf16, 9 runs per row (two load chunks), bit-exact", "[llm][gemv_w8]") {
  GemvW8Spec s;
  s.m = 3, s.n = 40, s.k = 4608;
  s.in = DType::bf16;
  run_case("a100.yaml", s);
}

TEST_CASE("int8-weight gemv: limits and the per-channel quantizer", "[llm][gemv_w8]") {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/a100.yaml");
  GemvW8Spec s;
  s.m = 1, s.n = 4096, s.k = 4096;
  GemvW8Layout L;
  NnPlan plan;
  lower_gemv_w8(cfg, s, L, plan);
  // 4096 rows, 8 warps a CTA, two CTAs on each of 108 SMs: the fewest rows
  // per warp with at most 216 CTAs is 3 (ceil(4096 / 24) = 171 CTAs; 2 would
  // need 256).
  CHECK(L.iters == 3);
  CHECK(plan.launch.ctas == 171);
  // Weights take one byte each: np = 171 x 24 = 4104 padded rows of 4096
  // after x (8 KB) and before the scales.
  CHECK(L.np == 4104);
  CHECK(L.scale - L.w == 4104ull * 4096);
  s.m = 5;
  CHECK(!gemv_w8_unsupported(cfg, s).empty());
  s.m = 1;
  s.ep.bias = true;
  CHECK(!gemv_w8_unsupported(cfg, s).empty());
  // Row 0: max |w| 2.54 -> scale 0.02, 2.54 -> 127, -1.0 -> -50, 0.01 -> 0.5
  // -> 0 (to even); row 1 all zero: scale 1, q 0.
  const float w[6] = {2.54f, -1.0f, 0.01f, 0.0f, 0.0f, 0.0f};
  int8_t q[6];
  float sc[2];
  quantize_rows_int8(2, 3, w, q, sc);
  CHECK(sc[0] == Approx(0.02f));
  CHECK(q[0] == 127);
  CHECK(q[1] == -50);
  CHECK(q[2] == 0);
  CHECK(sc[1] == 1.0f);
  CHECK(q[3] == 0);
}

namespace {

workload::Workload tiny_w8(int64_t batch) {
  // Hidden 512, MLP 640, head dimension 128: q/k/v/o, gate/up/down are
  // `batch`-row matrix products over int8 weights.
  workload::llm::LlmShape s;
  s.batch = batch;
  s.seq = 1;
  s.past = 20;
  s.weight_bits = 8;
  return llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_gemv_w8.json", R"({"model_type": "llama",
    "hidden_size": 512, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 640, "vocab_size": 96, "max_position_embeddings": 64, "rms_norm_eps": 1e-5})", s);
}

}  // namespace

TEST_CASE("weight-only int8 decode step in a decoder: every int8-weight GEMV checked bit for bit", "[llm][gemv_w8]") {
  const workload::Workload w = tiny_w8(2);
  // The seven projection weights of the layer are int8; the embedding, the
  // norms and the LM head stay 16-bit.
  int int8_weights = 0;
  for (const auto& t : w.tensors) int8_weights += t.role == workload::TensorRole::weight && t.dtype == DType::int8;
  CHECK(int8_weights == 7);
  int w8 = 0, gemv16 = 0;
  for (const auto& r : llm_test::run_tile(w, "a100.yaml")) {
    INFO(r.name << " " << r.op << ": " << r.verified());
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance ||
           r.verdict_detail == "view (no data movement)"));
    if (r.op.find("[gemv_w8]") != std::string::npos) {
      ++w8;
      CHECK(r.verdict == report::Verdict::bit_exact);
    }
    gemv16 += r.op.find("[gemv]") != std::string::npos;
  }
  CHECK(w8 == 7);      // q, k, v, o, gate (+ SiLU), up, down
  CHECK(gemv16 == 1);  // the 16-bit LM head
}

TEST_CASE("weight-only int8: more than 4 rows on the GPU and any on the TPU are errors naming the layer", "[llm][gemv_w8]") {
  const workload::Workload w = tiny_w8(8);
  const auto table = energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto gpu_be = experiment::make_gpu_backend(
      config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/a100.yaml"), table, "gpu");
  try {
    gpu_be->check_workload(w, DType::fp16);
    FAIL("8 rows over int8 weights lowered on the GPU");
  } catch (const std::exception& e) {
    CHECK_THAT(e.what(), Catch::Contains("h0.q") && Catch::Contains("at most 4 rows"));
  }
  auto tpu_be = experiment::make_tpu_backend(
      config::load_tpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/tpu_v4.yaml"), table, "tpu");
  try {
    tpu_be->check_workload(tiny_w8(1), DType::bf16);
    FAIL("int8 weights with bf16 activations lowered on the TPU");
  } catch (const std::exception& e) {
    CHECK_THAT(e.what(), Catch::Contains("h0.q") && Catch::Contains("not supported on the TPU"));
  }
}
