// Decode-step fusions of the GPU lowering: sibling GEMVs merged into one
// (q, k and v as vLLM's QKVParallelLinear; gate and up with the SiLU-and-mul
// in the epilogue), the residual add in the GEMV's epilogue, and what they
// leave of a Llama decoder layer's kernels.
#include <catch2/catch.hpp>

#include "tests/temp_path.h"
#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemv.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/network.h"
#include "sim/numerics/float_bits.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;
using namespace xpu::lowering::gpu;

namespace {

gpu::Gpu& v100() {
  static gpu::Gpu g("gpu", config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml"));
  return g;
}

// y of GEMV s over x and w (w [n, k] rows), res [m, n] 16-bit bits when s.ep.residual.
std::vector<uint32_t> run_gemv(const GemvSpec& s, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w,
                               const std::vector<uint16_t>& res = {}) {
  gpu::Gpu& g = v100();
  GemvLayout L;
  NnPlan plan;
  lower_gemv(g.config(), s, L, plan);
  g.memory().resize(L.bytes);
  for (uint64_t i = 0; i < s.m; ++i) g.memory().write(L.x + i * L.kp * 2, &x[i * s.k], s.k * 2);
  for (uint64_t n = 0; n < s.n; ++n) g.memory().write(L.w + L.row(n) * L.kp * 2, &w[n * s.k], s.k * 2);
  for (uint64_t i = 0; i < s.m && s.ep.residual; ++i) g.memory().write(L.res + i * L.np * 2, &res[i * s.n], s.n * 2);
  g.run(plan.launch, gpu::RunOptions{true, false});
  const uint64_t n = s.outputs();
  std::vector<uint32_t> y(s.m * n);
  for (uint64_t i = 0; i < s.m; ++i) g.memory().read(L.y + i * L.ldy * 4, &y[i * n], n * 4);
  return y;
}

}  // namespace

TEST_CASE("gemv: q, k and v merged into one GEMV give the unmerged GEMVs' bits", "[llm][gemv]") {
  // Three parts of 96, 32 and 32 rows (a GQA layer's q, k, v shape, small)
  // over K = 640 (three 512-byte runs per row, the last half padding).
  const uint64_t k = 640, rows[3] = {96, 32, 32};
  const auto x = llm_test::random_half(DType::fp16, k, 1);
  std::vector<uint16_t> all;
  std::vector<std::vector<uint16_t>> part;
  for (int p = 0; p < 3; ++p) {
    part.push_back(llm_test::random_half(DType::fp16, rows[p] * k, 10 + uint64_t(p)));
    all.insert(all.end(), part.back().begin(), part.back().end());
  }
  GemvSpec merged;
  merged.n = 160, merged.k = k;
  const auto y = run_gemv(merged, x, all);
  // Each output row keeps its own lanes' order, whatever rows sit beside
  // it: part p's slice equals the part run alone, on the GPU and in the
  // reference, bit for bit.
  uint64_t row = 0;
  for (int p = 0; p < 3; ++p) {
    GemvSpec s;
    s.n = rows[p], s.k = k;
    const auto alone = run_gemv(s, x, part[size_t(p)]);
    const auto want = reference_gemv(s, x.data(), part[size_t(p)].data());
    CHECK(alone == want);
    CHECK(std::vector<uint32_t>(y.begin() + long(row), y.begin() + long(row + rows[p])) == want);
    row += rows[p];
  }
}

TEST_CASE("gemv: gate and up merged with SiLU-and-mul in the epilogue give the unmerged bits", "[llm][gemv]") {
  // F = 100 outputs (the CTA blocks' gate halves padded), K = 300, two x
  // rows, fp16 and bf16: act(gate) x up where the unmerged kernels computed
  // the gate GEMV with SiLU fused, the up GEMV, then an fp32 product.
  for (DType t : {DType::fp16, DType::bf16}) {
    GemvSpec s;
    s.m = 2, s.n = 200, s.k = 300, s.in = t;
    s.gated = true;
    s.ep.act = Activation::silu;
    const auto x = llm_test::random_half(t, s.m * s.k, 1), w = llm_test::random_half(t, s.n * s.k, 2);
    const auto got = run_gemv(s, x, w);
    CHECK(got == reference_gemv(s, x.data(), w.data()));
    GemvSpec gate;
    gate.m = 2, gate.n = 100, gate.k = 300, gate.in = t;
    gate.ep.act = Activation::silu;
    GemvSpec up = gate;
    up.ep.act = Activation::none;
    const std::vector<uint16_t> wg(w.begin(), w.begin() + 100 * 300), wu(w.begin() + 100 * 300, w.end());
    const auto g = run_gemv(gate, x, wg), u = run_gemv(up, x, wu);
    REQUIRE(got.size() == g.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == float_to_bits(bits_to_float(g[i]) * bits_to_float(u[i])));
  }
}

TEST_CASE("gemv: a residual add in the epilogue, two rows, bit-exact", "[llm][gemv]") {
  // y = (lane-order sum) + widen(res): the fp32 add a separate add kernel
  // does on the same 16-bit residual; N = 100 pads to the CTA's rows.
  GemvSpec s;
  s.m = 2, s.n = 100, s.k = 300;
  s.ep.residual = true;
  const auto x = llm_test::random_half(DType::fp16, s.m * s.k, 1), w = llm_test::random_half(DType::fp16, s.n * s.k, 2),
             res = llm_test::random_half(DType::fp16, s.m * s.n, 3);
  std::vector<float> rf;
  for (uint16_t h : res) rf.push_back(widen16(DType::fp16, h));
  const auto got = run_gemv(s, x, w, res);
  CHECK(got == reference_gemv(s, x.data(), w.data(), nullptr, rf.data()));
  GemvSpec plain = s;
  plain.ep.residual = false;
  const auto sum = reference_gemv(plain, x.data(), w.data());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == float_to_bits(bits_to_float(sum[i]) + rf[i]));
}

TEST_CASE("Llama-2-7B decode layer on the A100: 8 launches instead of 22", "[llm][gemv]") {
  // One decoder layer at batch 1, KV 513, planned as the GPU backend plans
  // a network (fusion_after, then lower_layer with the fused epilogue).
  // Unfused it launched 22 kernels: norm_1, q, k, v, 2 ropes, 3 transposes
  // (q_t, k_new, v_new), 2 KV appends, flash attention + its split-KV
  // merge, context_t, o, the residual add, norm_2, gate (+ SiLU), up, the
  // gating mul, down, the residual add. Now: q, k and v are one GEMV (-2),
  // the transposes move only extent-1 axes and are views (-4), the two
  // residual adds run in the o and down epilogues (-2), gate and up are one
  // gated GEMV with the mul in its epilogue (-2), the ropes of q and k are
  // one launch (-1) and so are the cache appends of k and v (-1), and the
  // two RMSNorms are folded into the GEMVs that read them (-2: norm_1 into
  // q/k/v, norm_2 into gate/up): 8 launches in 7 kernel rows (the
  // attention's merge is its row's second launch).
  const auto w = workload::llm::load_hf_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/llm/llama-2-7b.json",
                                                 {"workload.params.seq=1", "workload.params.past=512",
                                                  "workload.params.layers=1"});
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/a100.yaml");
  size_t rows = 0, launches = 0, gemvs = 0;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const Fusion f = fusion_after(cfg, w, i, DType::fp16);
    GpuLayerPlan L;
    lower_layer(cfg, w, w.layers[i], DType::fp16, L, f.ep);
    if (!L.view && w.layers[i].name.rfind("h0.", 0) == 0) {
      ++rows;
      launches += L.launches().size();
      gemvs += L.is_gemv;
      CHECK(L.kernel != "row_rmsnorm_vec");  // each norm starts its GEMV's row, no kernel of its own
      if (w.layers[i].name == "h0.norm_1") {
        CHECK(L.gemv_parts.size() == 3);
        CHECK(L.gemv_spec.n == 3 * 4096);  // 32 q heads + 32 K + 32 V heads of 128
        CHECK(L.gemv_spec.norm);
        CHECK(L.kernel_config() == "rmsnorm+gemv (3 merged)");
        CHECK(w.layers[f.layers.front()].name == "h0.q");
      }
      if (w.layers[i].name == "h0.o" || w.layers[i].name == "h0.down") CHECK(L.gemv_spec.ep.residual);
      if (w.layers[i].name == "h0.q_rope" || w.layers[i].name == "h0.present_k") {
        // A CTA per (position, head) of q and of k (32 each), or per new K and
        // V row of 128 elements (32 KV heads each): 2 x 32 CTAs in one grid.
        REQUIRE(L.siblings.size() == 1);
        CHECK(w.layers[L.siblings[0].layer].name == (w.layers[i].name == "h0.q_rope" ? "h0.k_rope" : "h0.present_v"));
        CHECK(L.launch().ctas == 2 * 32);
        CHECK(f.layers == std::vector<size_t>{i + 1});
      }
      if (w.layers[i].name == "h0.norm_2") {
        CHECK(L.gemv_spec.gated);
        CHECK(L.gemv_spec.norm);
        CHECK(L.gemv_spec.n == 2 * 11008);
        CHECK(f.layers.size() == 4);  // gate, act, up, gated
      }
    }
    i += f.layers.size();
  }
  CHECK(rows == 7);
  CHECK(launches == 8);
  CHECK(gemvs == 4);  // qkv, o, gate-up, down
}

TEST_CASE("Llama-2-7B on the A100: the rope and cache-append pairs share a launch in decode steps only", "[llm][gemv]") {
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/a100.yaml");
  auto absorbed = [&](const char* seq, DType dtype, const std::string& name) {
    const auto w = workload::llm::load_hf_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/llm/llama-2-7b.json",
                                                   {std::string("workload.params.seq=") + seq, "workload.params.past=16",
                                                    "workload.params.layers=1"});
    for (size_t i = 0; i < w.layers.size(); ++i)
      if (w.layers[i].name == name) return fusion_after(cfg, w, i, dtype).layers.size();
    return size_t(99);
  };
  CHECK(absorbed("1", DType::fp16, "h0.q_rope") == 1);     // k_rope joins q_rope's launch
  CHECK(absorbed("1", DType::bf16, "h0.present_k") == 1);  // present_v joins present_k's
  CHECK(absorbed("1", DType::fp16, "h0.k_rope") == 0);     // the second of a pair starts none
  CHECK(absorbed("4", DType::fp16, "h0.q_rope") == 0);     // a prefill keeps its launches
  CHECK(absorbed("4", DType::fp16, "h0.present_k") == 0);
  CHECK(absorbed("1", DType::fp32, "h0.q_rope") == 0);     // 16-bit runs only
}

TEST_CASE("tiny llama at batch 1 on the GPU, a decode step: the merged, gated and residual GEMVs checked", "[llm][gemv]") {
  // Batch 1 (the merge takes one row of x): every kernel at tile fidelity
  // against its reference; the q/k/v row is one GEMV of 64 + 32 + 32 rows.
  const char* tiny = R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 80, "max_position_embeddings": 64,
    "rms_norm_eps": 1e-5})";
  workload::llm::LlmShape s;
  s.seq = 1, s.past = 9;
  int merged = 0, gated = 0, residual = 0, siblings = 0, norms = 0;
  for (const auto& r : llm_test::run_tile(llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_merge.json", tiny, s), "v100.yaml")) {
    INFO(r.name << ": " << r.verified());
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance ||
           r.verdict_detail == "view (no data movement)"));
    // Each layer's two norms are folded into the GEMVs reading them: no norm
    // row of their own, the GEMVs checked against the folded order.
    if (r.kernel.find("rmsnorm+gemv (3 merged)") == 0) {
      ++merged;
      CHECK(r.verdict == report::Verdict::bit_exact);
      CHECK(r.verdict_detail.find("rmsnorm folded in") != std::string::npos);
      CHECK(r.macs == 64 * 128);  // 1 x (64 + 32 + 32) x 64
    }
    if (r.kernel.find("rmsnorm+gemv (2 merged, gated)") == 0) {
      ++gated;
      CHECK(r.verdict == report::Verdict::bit_exact);
      CHECK(r.verdict_detail.find("rmsnorm folded in") != std::string::npos);
      CHECK(r.macs == 2 * 96 * 64);  // gate and up: 1 x 96 x 64 each
    }
    if (r.op.find("matmul+add [gemv]") == 0) residual += r.verdict == report::Verdict::bit_exact;
    norms += r.op.find("[row_rmsnorm") != std::string::npos;
    // rope of q and k in one launch, the cache appends of k and v in one:
    // each layer's values checked (a copy and rope's exact arithmetic).
    if (r.op == "rope+rope [rope]" || r.op == "concat+concat [map_copy (in place)]") {
      ++siblings;
      CHECK(r.verdict == report::Verdict::bit_exact);
      CHECK(r.verdict_detail.find(r.op[0] == 'r' ? "k_rope (same launch): bit-exact" : "present_v (same launch): bit-exact") !=
            std::string::npos);
    }
  }
  CHECK(merged == 2);    // one per layer
  CHECK(siblings == 4);  // two rows per layer
  CHECK(gated == 2);
  CHECK(residual == 4);  // o and down of each layer
  CHECK(norms == 1);     // the final norm (its LM head is a single GEMV: not folded)
}

TEST_CASE("tiny GPT-2 at batch 1 on the GPU, a decode step: q, k and v merged with their biases", "[llm][gemv]") {
  // GPT-2's projections carry biases: the merged GEMV adds the three
  // biases in row order (one bias vector of 3 x 64), bit-exact at tile
  // fidelity; the o and MLP-out projections add bias and residual.
  const char* tiny = R"({"model_type": "gpt2", "n_embd": 64, "n_layer": 1, "n_head": 4, "n_positions": 64,
    "vocab_size": 80, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5})";
  workload::llm::LlmShape s;
  s.seq = 1, s.past = 9;
  int merged = 0, residual = 0;
  for (const auto& r : llm_test::run_tile(llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_merge_gpt2.json", tiny, s), "v100.yaml")) {
    INFO(r.name << ": " << r.verified());
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance ||
           r.verdict_detail == "view (no data movement)"));
    if (r.kernel.find("gemv (3 merged)") == 0) merged += r.verdict == report::Verdict::bit_exact;
    if (r.op.find("matmul+add [gemv]") == 0) residual += r.verdict == report::Verdict::bit_exact;
  }
  CHECK(merged == 1);
  CHECK(residual == 2);  // o and the MLP's output projection
}
