// Generations on the V100 model (timing fidelity) of a small Llama-family
// model: interpolated decode steps against every step simulated (the
// measured error the report states), and tensor-parallel all-reduce rows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "tests/temp_path.h"
#include "sim/config/gpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/generation.h"
#include "sim/experiment/gpu_backend.h"

using namespace xpu;

namespace {

std::string tiny() {
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_llm_generation.json";
  std::ofstream(path) << R"({"model_type": "llama", "hidden_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 256, "vocab_size": 96,
    "max_position_embeddings": 512, "rms_norm_eps": 1e-5})";
  return path;
}

std::unique_ptr<experiment::Backend> v100() {
  const auto table = energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  return experiment::make_gpu_backend(
      config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml"), table, "gpu");
}

}  // namespace

TEST_CASE("decode interpolation against every step simulated") {
  auto be = v100();
  experiment::LayerRunOptions lo;
  lo.fidelity = Fidelity::timing;
  experiment::GenerationSpec g;
  g.batches = {1};
  g.prompt_len = 64;
  g.gen_len = 14;  // 13 decode steps, KV 65 .. 77
  g.decode_samples = 0;
  const auto all = experiment::run_generation(*be, "v100", tiny(), DType::fp16, 1, g, lo, true).result;
  g.decode_samples = 3;  // steps 1, 7, 13 simulated; 4 and 10 held out
  const auto some = experiment::run_generation(*be, "v100", tiny(), DType::fp16, 1, g, lo, true).result;
  REQUIRE(all.steps.size() == 13);
  REQUIRE(some.steps.size() == 13);
  CHECK(some.held_out == 2);
  double worst = 0;
  for (size_t i = 0; i < 13; ++i) {
    CHECK(all.steps[i].simulated);
    worst = std::max(worst, std::abs(some.steps[i].seconds - all.steps[i].seconds) / all.steps[i].seconds);
  }
  WARN("largest relative error of interpolated decode steps (every step simulated): " << worst
       << ", held-out estimate " << some.interpolation_max_error);
  // The steps differ only in the attention's KV length: the interpolation
  // is within a few percent; the held-out points see at most the true error.
  CHECK(worst < 0.05);
  CHECK(some.interpolation_max_error <= worst + 1e-12);
  // The same prefill in both; TPOT grows with the KV length.
  CHECK(some.ttft_s == all.ttft_s);
  CHECK(all.steps.back().bound_seconds > all.steps.front().bound_seconds);
}

TEST_CASE("tensor parallel generation: two all-reduces per layer and one for the greedy token") {
  auto be = v100();
  experiment::LayerRunOptions lo;
  lo.fidelity = Fidelity::timing;
  experiment::GenerationSpec g;
  g.batches = {2};
  g.prompt_len = 8;
  g.gen_len = 2;
  g.tp = 2;
  g.interconnect = experiment::Interconnect{"ring", 1, 10.0, 1.0};
  const auto r = experiment::run_generation(*be, "v100", tiny(), DType::fp16, 2, g, lo, true);
  REQUIRE(r.runs.size() == 2);  // prefill and the one decode step
  int reduces = 0;
  for (const auto& l : r.runs[1].layers)
    if (l.op.rfind("all_reduce", 0) == 0) {
      ++reduces;
      // Decode: batch 2 x 1 token x hidden 128 x 2 bytes = 512 bytes per
      // layer all-reduce: 2 x 1/2 x 512 / 10 GB/s + 2 x 1 us = 2.0512 us;
      // the token's: 2 x 2 values x 4 bytes = 16 bytes.
      const double want = l.name == "lm_head.allreduce" ? 2 * 0.5 * 16 / 10e9 + 2e-6 : 2 * 0.5 * 512 / 10e9 + 2e-6;
      CHECK(l.seconds == Approx(want));
    }
  CHECK(reduces == 2 * 2 + 1);
  CHECK(r.result.devices == 2);
}
