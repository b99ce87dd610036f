// The decode GEMV with the preceding RMSNorm folded in (gemv.h, norm): each
// CTA normalizes the staged x row itself. Bit for bit against the reference
// in the kernel's order, that order's norm against a double-precision
// RMSNorm, and plain / gated / multi-row cases.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/gpu/fast_path.h"
#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemv.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/lowering/gpu/network.h"
#include "sim/workload/llm/llm_graph.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;
using namespace xpu::lowering::gpu;

namespace {

std::vector<float> random_gamma(uint64_t k, uint64_t seed) {
  std::vector<float> g;
  for (uint16_t h : llm_test::random_half(DType::fp16, k, seed)) g.push_back(1.0f + 0.25f * widen_half(DType::fp16, h));
  return g;
}

// Runs s (s.norm set) on the V100 model and returns the mismatching outputs.
size_t run_norm_case(const GemvSpec& s) {
  static gpu::Gpu g("gpu", config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml"));
  GemvLayout L;
  NnPlan plan;
  lower_gemv(g.config(), s, L, plan);
  CHECK(L.kp % 1024 == 0);  // whole 8-element chunks of every thread in each row
  INFO(gpu::fast_path_check(plan.kernel));
  CHECK(gpu::fast_path_check(plan.kernel).empty());
  // x: the residual stream, N(0, 1) x 4 so the norm has something to scale down.
  auto x = llm_test::random_half(s.in, s.m * s.k, 11);
  for (auto& h : x) h = narrow16(s.in, 4.0f * widen_half(s.in, h));
  const auto w = llm_test::random_half(s.in, s.n * s.k, 12);
  const auto gamma = random_gamma(s.k, 13);
  g.memory().resize(L.bytes);
  for (uint64_t i = 0; i < s.m; ++i) g.memory().write(L.x + i * L.kp * 2, &x[i * s.k], s.k * 2);
  for (uint64_t n = 0; n < s.n; ++n) g.memory().write(L.w + L.row(n) * L.kp * 2, &w[n * s.k], s.k * 2);
  g.memory().write(L.gamma, gamma.data(), s.k * 4);
  g.run(plan.launch, gpu::RunOptions{true, false});
  const auto want = reference_gemv(s, x.data(), w.data(), nullptr, nullptr, gamma.data());
  const uint64_t n = s.outputs();
  size_t bad = 0;
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      uint32_t got = 0;
      g.memory().read(L.y + (i * L.ldy + j) * 4, &got, 4);
      bad += got != want[i * n + j];
    }
  // The reference's norm against RMSNorm in double precision: its 16-bit
  // output within one rounding (2^-10 relative for fp16, 2^-7 for bf16)
  // plus the fp32 sum's error (a few ulps of 2^-24, far below).
  const auto xn = reference_gemv_norm(s, x.data(), gamma.data());
  double worst = 0;
  for (uint64_t i = 0; i < s.m; ++i) {
    double ss = 0;
    for (uint64_t k = 0; k < s.k; ++k) ss += std::pow(double(widen_half(s.in, x[i * s.k + k])), 2);
    const double inv = 1.0 / std::sqrt(ss / double(s.k) + double(s.eps));
    for (uint64_t k = 0; k < s.k; ++k) {
      const double d = double(widen_half(s.in, x[i * s.k + k])) * inv * gamma[k];
      worst = std::max(worst, std::abs(double(widen_half(s.in, xn[i * s.k + k])) - d) / std::max(std::abs(d), 1e-3));
    }
  }
  CHECK(worst <= (s.in == DType::bf16 ? 0x1p-8 : 0x1p-11) * 1.01);  // half a 16-bit step, relative
  return bad;
}

}  // namespace

TEST_CASE("gemv with rmsnorm folded in: one row, K 2048, bit-exact against its order", "[llm][gemv][norm]") {
  GemvSpec s;
  s.m = 1, s.n = 96, s.k = 2048;  // two 1024-element steps per thread
  s.norm = true;
  CHECK(run_norm_case(s) == 0);
}

TEST_CASE("gemv with rmsnorm folded in: three bf16 rows, K 1000 padded to 1024", "[llm][gemv][norm]") {
  GemvSpec s;
  s.m = 3, s.n = 40, s.k = 1000;  // 24 padded elements per row: zero x, zero gamma
  s.in = DType::bf16;
  s.norm = true;
  s.eps = 1e-6f;
  CHECK(run_norm_case(s) == 0);
}

TEST_CASE("gemv with rmsnorm folded in: gated gate/up with SiLU-and-mul, K 5120 (two gamma groups)", "[llm][gemv][norm]") {
  GemvSpec s;
  s.m = 1, s.n = 2 * 24, s.k = 5120;  // 5 steps: gamma of steps 0-3, then of step 4
  s.gated = true;
  s.ep.act = Activation::silu;
  s.norm = true;
  CHECK(run_norm_case(s) == 0);
}

TEST_CASE("the rmsnorm is folded only into batch-1 decode GEMV groups of 16-bit runs", "[llm][gemv][norm]") {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/a100.yaml");
  // Layers absorbed by h0.norm_1's row (fusion_after), for a run's params.
  auto absorbed = [&](std::vector<std::string> params, DType dtype) {
    params.push_back("workload.params.layers=1");
    const auto w =
        workload::llm::load_hf_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/llm/llama-2-7b.json", params);
    for (size_t i = 0; i < w.layers.size(); ++i)
      if (w.layers[i].name == "h0.norm_1") return fusion_after(cfg, w, i, dtype).layers.size();
    return size_t(99);
  };
  // Decode at batch 1: q, q_heads, k, k_heads, v, v_heads (the merged
  // GEMV's members and the views of their outputs) join the norm's row.
  CHECK(absorbed({"workload.params.seq=1", "workload.params.past=16"}, DType::fp16) == 6);
  CHECK(absorbed({"workload.params.seq=1", "workload.params.past=16"}, DType::bf16) == 6);
  // GEMVs off, a prefill (GEMMs), fp32 runs: the norm keeps its own kernel.
  CHECK(absorbed({"workload.params.seq=1", "workload.params.past=16", "workload.params.gemv=0"}, DType::fp16) == 0);
  CHECK(absorbed({"workload.params.seq=4", "workload.params.past=16"}, DType::fp16) == 0);
  CHECK(absorbed({"workload.params.seq=1", "workload.params.past=16"}, DType::fp32) == 0);
}
