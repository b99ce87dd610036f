// A small Llama-family model (GQA, RoPE, RMSNorm, SwiGLU) on the V100
// configuration at tile fidelity, prefill and decode: every kernel's values
// against its reference (bit-exact, or within the row kernels' stated
// tolerances), the way the experiment runner checks them.
#include <catch2/catch.hpp>


#include "tests/temp_path.h"
#include "tests/llm/llm_test_util.h"

using namespace xpu;

namespace {

const char* kTiny = R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 80, "max_position_embeddings": 64,
  "rms_norm_eps": 1e-5})";

void run_checked(int64_t seq, int64_t past) {
  workload::llm::LlmShape s;
  s.batch = 2;
  s.seq = seq;
  s.past = past;
  int checked = 0;
  for (const auto& r : llm_test::run_tile(llm_test::model(xpu_test::tmp_prefix() + "xpusim_test_llm_gpu.json", kTiny, s), "v100.yaml")) {
    INFO(r.name << ": " << r.verified());
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance ||
           r.verdict_detail == "view (no data movement)"));
    checked += r.verdict != report::Verdict::skipped;
  }
  CHECK(checked > 30);  // 2 layers of ~20 kernels plus embedding and head
}

}  // namespace

TEST_CASE("tiny llama on the GPU, prefill of 6 tokens: every kernel checked") { run_checked(6, 0); }
TEST_CASE("tiny llama on the GPU, decode after 9 cached positions: every kernel checked") { run_checked(1, 9); }
