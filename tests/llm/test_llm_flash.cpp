// The fused flash-attention kernel (sim/lowering/gpu/flash_attention.h) on
// the GPU model with values: bit for bit against its reference in the
// kernel's accumulation order, and that reference against plain attention
// in double precision (softmax(q K^T scale + causal mask) V).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "tests/temp_path.h"
#include "models/gpu/fast_path.h"
#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/flash_attention.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/lowering/gpu/network.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;
using namespace xpu::lowering::gpu;

namespace {

using llm_test::random_half;
float widen(DType t, uint16_t h) { return widen_half(t, h); }

// softmax over visible positions j <= past + i % seq, in double.
std::vector<double> plain_attention(const FlashSpec& s, const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                                    const std::vector<uint16_t>& v) {
  const uint64_t d = s.d, L = s.positions();
  std::vector<double> out(s.heads * s.rows * d, 0.0);
  for (uint64_t h = 0; h < s.heads; ++h)
    for (uint64_t i = 0; i < s.rows; ++i) {
      const uint64_t qpos = s.past + i % s.seq;
      std::vector<double> sc(qpos + 1);
      double mx = -1e300, sum = 0;
      for (uint64_t j = 0; j <= qpos; ++j) {
        double a = 0;
        for (uint64_t c = 0; c < d; ++c)
          a += double(widen(s.in, q[(h * s.rows + i) * d + c])) * widen(s.in, k[(h * L + j) * d + c]);
        sc[j] = a * s.scale;
        mx = std::max(mx, sc[j]);
      }
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (uint64_t c = 0; c < d; ++c) {
        double a = 0;
        for (uint64_t j = 0; j <= qpos; ++j) a += sc[j] * widen(s.in, v[(h * L + j) * d + c]);
        out[(h * s.rows + i) * d + c] = a / sum;
      }
    }
  return out;
}

struct Case {
  const char* what;
  uint64_t heads, rows, seq, past, d;
  DType in;
  uint32_t r;       // rows per CTA the lowering should pick,
  uint32_t bc, g;   // positions per tile, threads per score
  uint32_t splits;  // and KV splits (V100: 80 SMs)
};

void run_case(const Case& c) {
  INFO(c.what);
  // One SystemC module per process: the V100 model shared by the cases.
  static gpu::Gpu g("gpu", config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml"));
  const gpu::GpuConfig& cfg = g.config();
  FlashSpec s;
  s.heads = c.heads, s.rows = c.rows, s.seq = c.seq, s.past = c.past, s.d = c.d, s.in = c.in;
  s.scale = 1.0f / std::sqrt(float(c.d));
  const uint64_t L = s.positions(), qn = s.heads * s.rows * s.d, kn = s.heads * L * s.d;
  const FlashPlan p = plan_flash_attention(cfg, s);
  auto up = [](uint64_t b) { return (b + 255) / 256 * 256; };
  s.q = 0;
  s.k = up(qn * 2);
  s.v = s.k + up(kn * 2 + flash_kv_padding(p, s));
  s.o = s.v + up(kn * 2 + flash_kv_padding(p, s));
  s.meta = s.o + up(qn * 4);
  s.ws = s.meta + up(uint64_t(p.splits) * s.rows * 4);
  FlashPlan plan;
  NnPlan nn;
  lower_flash_attention(cfg, s, plan, nn);
  CHECK(plan.splits == c.splits);
  CHECK(plan.r == c.r);
  CHECK(plan.bc == c.bc);
  CHECK(plan.g == c.g);
  CHECK(gpu::fast_path_check(nn.kernel).empty());  // data-oblivious: identical CTAs replay
  const auto q = random_half(c.in, qn, 1), k = random_half(c.in, kn, 2), v = random_half(c.in, kn, 3);
  g.memory().resize(s.ws + flash_workspace_bytes(plan, s));
  g.memory().write(s.q, q.data(), qn * 2);
  g.memory().write(s.k, k.data(), kn * 2);
  g.memory().write(s.v, v.data(), kn * 2);
  g.memory().write(s.meta, plan.meta.data(), plan.meta_bytes());
  const gpu::LaunchResult run = g.run(nn.launch, gpu::RunOptions{true, false});
  if (plan.splits > 1) {
    CHECK(gpu::fast_path_check(plan.combine.kernel).empty());
    g.run(plan.combine.launch, gpu::RunOptions{true, false});
  }
  CHECK(run.cycles > 0);
  std::vector<float> got(qn);
  g.memory().read(s.o, got.data(), qn * 4);
  const auto want = reference_flash_attention(s, plan, q.data(), k.data(), v.data());
  size_t bad = 0;
  for (size_t i = 0; i < qn; ++i) bad += std::memcmp(&got[i], &want[i], 4) != 0;
  CHECK(bad == 0);
  // The reference is attention: fp32 accumulation of O(d + L) terms of
  // magnitude ~1 stays within 1e-5 of the exact result.
  const auto exact = plain_attention(s, q, k, v);
  double worst = 0;
  for (size_t i = 0; i < qn; ++i) worst = std::max(worst, std::abs(double(want[i]) - exact[i]));
  CHECK(worst < 1e-5);
}

}  // namespace

TEST_CASE("flash attention: decode step, grouped-query (4 query heads per KV head), partial last tile",
          "[llm][flash]") {
  // 71 positions in tiles of 32: 3 tiles, the last with 7 positions.
  // 2 (head, row block) CTAs on 80 SMs: split-KV, one tile per split (3 splits);
  // 4 rows x 32 positions already fill the 128 threads: one thread per score.
  run_case({"gqa decode", 2, 4, 1, 70, 64, DType::fp16, 4, 32, 1, 3});
}

TEST_CASE("flash attention: causal prefill after a cached prefix, bf16, head dimension 128", "[llm][flash]") {
  // 2 KV heads x (group 2 x 6 new positions) = 12 rows per head in blocks
  // of 4; query position 5 + i % 6 sees positions <= it.
  run_case({"causal prefill", 2, 12, 6, 5, 128, DType::bf16, 4, 32, 1, 1});  // causal: no split
}

TEST_CASE("flash attention: multi-head decode, one row per CTA, 32-position tiles scored by 4 threads each, split-KV",
          "[llm][flash]") {
  // A split decode tiles by 32 positions; one row per CTA leaves 128 / 32 =
  // 4 threads per score, each a chain over 128 / 4 = 32 elements.
  // 200 positions: ceil(200 / 32) = 7 tiles, 3 CTAs on 80 SMs: 7 splits of
  // one tile (min(16, 7, ceil(2 x 80 / 3) = 54)), the last 200 - 6 x 32 = 8 positions long.
  run_case({"mha decode", 3, 1, 1, 199, 128, DType::fp16, 1, 32, 4, 7});
  // Two rows per CTA: 128 / (2 x 32) = 2 parts of 64 / 2 = 32 elements;
  // 101 positions: 4 tiles, 4 splits of one (bf16).
  run_case({"two-row decode", 2, 2, 1, 100, 64, DType::bf16, 2, 32, 2, 4});
  // Two rows of d = 32: 2 parts of 16 elements, 256 / 32 = 8 position groups
  // of 32 / 8 = 4 positions; 41 positions: 2 tiles, 2 splits of one.
  run_case({"two-row decode, d 32", 1, 2, 1, 40, 32, DType::fp16, 2, 32, 2, 2});
  // d = 32 cannot part 4 ways (16 elements a part at least): 128-position tiles.
  run_case({"mha decode, d 32", 3, 1, 1, 150, 32, DType::fp16, 1, 128, 1, 2});
  // A causal prefill is not split: 128-position tiles, one thread per score.
  run_case({"causal prefill, odd rows", 1, 3, 3, 0, 32, DType::fp16, 1, 128, 1, 1});
}

TEST_CASE("flash attention: shapes the kernel does not take are errors", "[llm][flash]") {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml");
  FlashSpec s;
  s.heads = 1, s.rows = 1, s.d = 96;
  FlashPlan plan;
  NnPlan nn;
  CHECK_THROWS(lower_flash_attention(cfg, s, plan, nn));  // d not a power of two
  s.d = 64;
  s.in = DType::fp32;
  CHECK_THROWS(lower_flash_attention(cfg, s, plan, nn));  // 16-bit elements only
}

namespace {

// A small Llama-family model with head dimension 32 (hidden 128, 4 query
// heads over 2 KV heads) through the GPU backend at tile fidelity.
workload::Workload tiny(int64_t seq, int64_t past, int64_t attention) {
  workload::llm::LlmShape s;
  s.batch = 2;
  s.seq = seq;
  s.past = past;
  s.attention = attention;
  return llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_flash.json", R"({"model_type": "llama", "hidden_size": 128,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 160,
    "vocab_size": 80, "max_position_embeddings": 64, "rms_norm_eps": 1e-5})", s);
}

std::vector<report::LayerResult> run_tiny(int64_t seq, int64_t past, int64_t attention) {
  return llm_test::run_tile(tiny(seq, past, attention), "v100.yaml");
}

// The kernel layer `name` lowers to (without running it).
std::string kernel_of(const workload::Workload& w, const std::string& name) {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml");
  for (const auto& l : w.layers)
    if (l.name == name) {
      GpuLayerPlan L;
      lower_layer(cfg, w, l, DType::fp16, L);
      return L.kernel;
    }
  return "";
}

const report::LayerResult* fused_row(const std::vector<report::LayerResult>& rs) {
  for (const auto& r : rs)
    if (r.op.find("[flash_attention]") != std::string::npos) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("flash attention in a decoder: decode steps fuse by default, bit-exact in the network", "[llm][flash]") {
  const auto rs = run_tiny(1, 9, -1);
  const report::LayerResult* f = fused_row(rs);
  REQUIRE(f != nullptr);
  CHECK(f->name == "h0.scores_t");
  CHECK(f->fused == std::vector<std::string>{"h0.scores_t", "h0.scores", "h0.scale", "h0.probs", "h0.context"});
  CHECK(f->verdict == report::Verdict::bit_exact);
  // Both matmuls' MACs: 2 batches x 2 KV heads x 2 rows (group 2) x 10 positions x 32, twice = 5120.
  CHECK(f->macs == 5120);
  for (const auto& r : rs) CHECK(r.name != "h0.probs");  // no softmax row of its own
}

TEST_CASE("flash attention in a decoder: a prefill fuses when asked, op by op otherwise", "[llm][flash]") {
  const auto fused = run_tiny(6, 0, 1);
  const report::LayerResult* f = fused_row(fused);
  REQUIRE(f != nullptr);
  CHECK(f->name == "h0.scores");
  CHECK(f->fused.size() == 5);  // scores, scale, mask, probs, context
  CHECK(f->verdict == report::Verdict::bit_exact);
  CHECK(kernel_of(tiny(6, 0, 1), "h0.scores") == "flash_attention");
  CHECK(kernel_of(tiny(6, 0, -1), "h0.scores") == "gemm_tc");  // auto: the prefill runs op by op (tensor-core matmuls)
  CHECK(kernel_of(tiny(1, 9, 0), "h0.scores_t") == "gemm_tc");
  CHECK(kernel_of(tiny(1, 9, 0), "h0.q_cols") == "map_copy");
}


