// The decode GEMV kernel (sim/lowering/gpu/gemv.h) on the GPU model with
// values: bit for bit against its reference order, that reference against
// a double-precision dot product, and the lowering's padding and limits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "tests/temp_path.h"
#include "models/gpu/fast_path.h"
#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemv.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/numerics/float_bits.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;
using namespace xpu::lowering::gpu;

namespace {

using llm_test::random_half;
float widen(DType t, uint16_t h) { return widen_half(t, h); }

void run_case(const GemvSpec& s) {
  static gpu::Gpu g("gpu", config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml"));
  GemvLayout L;
  NnPlan plan;
  lower_gemv(g.config(), s, L, plan);
  if (s.n == 12800) CHECK(L.iters == 40);
  CHECK(L.kp % 256 == 0);
  CHECK(L.np % (4 * L.iters) == 0);
  CHECK(gpu::fast_path_check(plan.kernel).empty());
  const auto x = random_half(s.in, s.m * s.k, 1), w = random_half(s.in, s.n * s.k, 2);
  g.memory().resize(L.bytes);
  for (uint64_t i = 0; i < s.m; ++i) g.memory().write(L.x + i * L.kp * 2, &x[i * s.k], s.k * 2);
  for (uint64_t n = 0; n < s.n; ++n) g.memory().write(L.w + n * L.kp * 2, &w[n * s.k], s.k * 2);
  std::vector<float> bias;
  if (s.ep.bias) {
    for (uint64_t n = 0; n < s.n; ++n) bias.push_back(widen(s.in, random_half(s.in, 1, 3 + n)[0]));
    g.memory().write(L.bias, bias.data(), s.n * 4);
  }
  g.run(plan.launch, gpu::RunOptions{true, false});
  const auto want = reference_gemv(s, x.data(), w.data(), s.ep.bias ? bias.data() : nullptr);
  size_t bad = 0;
  double worst = 0;
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t n = 0; n < s.n; ++n) {
      uint32_t got = 0;
      g.memory().read(L.y + (i * L.np + n) * 4, &got, 4);
      bad += got != want[i * s.n + n];
      if (s.ep.act == Activation::none) {
        double d = s.ep.bias ? bias[n] : 0;
        for (uint64_t k = 0; k < s.k; ++k) d += double(widen(s.in, x[i * s.k + k])) * widen(s.in, w[n * s.k + k]);
        worst = std::max(worst, std::abs(d - double(bits_to_float(want[i * s.n + n]))));
      }
    }
  CHECK(bad == 0);
  CHECK(worst < 1e-3);  // fp32 sums of a few hundred to a few thousand N(0,1) products
}

}  // namespace

TEST_CASE("gemv: one row, K and N padded, fused SiLU, bit-exact", "[llm][gemv]") {
  // K 300 -> 512 (two 512-byte runs per weight row, the second mostly
  // padding); N 100 -> a multiple of the CTA's 4 rows.
  GemvSpec s;
  s.m = 1, s.n = 100, s.k = 300;
  s.ep.act = Activation::silu;
  run_case(s);
}

TEST_CASE("gemv: three rows, bf16, 9 runs per row, bit-exact", "[llm][gemv]") {
  GemvSpec s;
  s.m = 3, s.n = 40, s.k = 2304;
  s.in = DType::bf16;
  run_case(s);
}

TEST_CASE("gemv: one row with a bias, GPT-2's 768 x 768 projection, bit-exact", "[llm][gemv]") {
  // K 768 = 3 runs of 512 bytes; N 768 -> 64 CTAs of 12 rows (3 per warp):
  // all 9 of a warp's 16-byte loads in flight at once; y = sum + bias[n].
  GemvSpec s;
  s.m = 1, s.n = 768, s.k = 768;
  s.ep.bias = true;
  run_case(s);
}

TEST_CASE("gemv: two rows, bias and GELU, 160 rows per CTA (two bias registers per thread), bit-exact",
          "[llm][gemv]") {
  // N 12800: 40 rows per warp give 80 CTAs, one per SM (cost 40.1 rows; 20
  // rows: 160 CTAs, 2 per SM, 40.2), so a CTA has 160 rows and threads
  // 0..31 add the bias of a second row (r + 128).
  GemvSpec s;
  s.m = 2, s.n = 12800, s.k = 256;
  s.ep.bias = true;
  s.ep.act = Activation::gelu;
  run_case(s);
}

TEST_CASE("gemv: rows per warp grow with N, more than 4 rows or a gated residual is not a GEMV", "[llm][gemv]") {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml");
  GemvSpec s;
  s.m = 1, s.n = 4096, s.k = 4096;
  GemvLayout L;
  NnPlan plan;
  lower_gemv(cfg, s, L, plan);
  // 4096 rows over 80 SMs: the busiest SM's rows ceil(ceil(4096 / 4i) / 80) 4i
  // are fewest (52) at i = 13 (79 CTAs of 52 rows, one wave; i = 1: 13 CTAs
  // on some SMs, 52 rows too but 13 stagings of x; i = 4: 64 rows).
  CHECK(L.iters == 13);
  CHECK(plan.launch.ctas == 79);
  s.m = 5;
  CHECK(!gemv_unsupported(cfg, s).empty());
  s.m = 1;
  s.ep.bias = true;
  CHECK(gemv_unsupported(cfg, s).empty());
  // The epilogue adds a 16-bit residual after the bias (o- and down-projections).
  s.ep.residual = true;
  CHECK(gemv_unsupported(cfg, s).empty());
  // A gated GEMV's thread holds a gate and an up sum: no bias or residual.
  s.gated = true;
  s.n = 2 * 4096;
  CHECK(!gemv_unsupported(cfg, s).empty());
  s.ep.bias = s.ep.residual = false;
  CHECK(gemv_unsupported(cfg, s).empty());
}

namespace {

struct DecoderCounts {
  int gemvs = 0, norms = 0, flash = 0;
};

// One decode step (batch 2, KV 21) of a one-layer llama-shaped decoder with
// hidden 512 (the vectorized rmsnorm's 16-byte loads over 128 threads) and
// head dimension 128, tile fidelity on a100.yaml: every op's values checked.
DecoderCounts run_decoder(const std::string& extra) {
  workload::llm::LlmShape s;
  s.batch = 2;
  s.seq = 1;
  s.past = 20;
  const workload::Workload w = llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_gemv.json", R"({"model_type": "llama",
    "hidden_size": 512, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 640, "vocab_size": 96, "max_position_embeddings": 64, )" + extra + R"("rms_norm_eps": 1e-5})", s);
  DecoderCounts c;
  for (const auto& r : llm_test::run_tile(w, "a100.yaml")) {
    INFO(r.name << " " << r.op << ": " << r.verified());
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance ||
           r.verdict_detail == "view (no data movement)"));
    c.gemvs += r.op.find("[gemv]") != std::string::npos;
    c.norms += r.op.find("[row_rmsnorm_vec]") != std::string::npos;
    c.flash += r.op.find("[flash_attention]") != std::string::npos;
  }
  return c;
}

}  // namespace

TEST_CASE("decode-step kernels in a decoder: GEMVs, vectorized rmsnorm and fused attention all checked", "[llm][gemv]") {
  // Batch 2: q/k/v/o, gate/up/down and the LM head are 2-row GEMVs.
  const DecoderCounts c = run_decoder("");
  CHECK(c.gemvs == 8);  // q, k, v, o, gate, up, down, LM head
  CHECK(c.norms == 3);  // two per layer and the final norm
  CHECK(c.flash == 1);
}

TEST_CASE("decode-step GEMVs with biased projections add the bias in the kernel, checked bit for bit",
          "[llm][gemv]") {
  // attention_bias and mlp_bias: every projection has a bias, fused into the
  // GEMV's epilogue (and staged by the stream); still 8 GEMVs.
  const DecoderCounts c = run_decoder(R"("attention_bias": true, "mlp_bias": true, )");
  CHECK(c.gemvs == 8);
}
