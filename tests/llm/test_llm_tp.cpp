// Tensor parallelism: a shard holds 1/N of the decoder weights, and the
// all-reduce model's closed forms.
#include <catch2/catch.hpp>

#include "sim/experiment/interconnect.h"
#include "sim/workload/llm/llm_graph.h"

using namespace xpu;

TEST_CASE("Megatron shard of llama-3-8b over 4 devices: a quarter of each decoder layer") {
  const auto c = workload::llm::read_hf_config(std::string(XPUSIM_SOURCE_DIR) + "/workloads/llm/llama-3-8b.json");
  workload::llm::LlmShape one, two;
  one.layers = 1;
  one.tp = 4;
  two = one;
  two.layers = 2;
  const auto w1 = workload::llm::build_llm(c, one), w2 = workload::llm::build_llm(c, two);
  // Per layer and device: q and o 4096 x 1024 each, k and v 4096 x 256 (8 KV
  // heads / 4 = 2 of 128), gate/up/down 4096 x 3584, two replicated norms:
  // 2 x 4,194,304 + 2 x 1,048,576 + 3 x 14,680,064 + 8192 = 54,534,144
  // = (218,112,000 - 8192) / 4 + 8192.
  CHECK(w2.param_count() - w1.param_count() == 54534144ull);
  CHECK((c.layer_params() - 8192) / 4 + 8192 == 54534144ull);
  CHECK(w1.tensor("h0.k.weight").shape == workload::Shape{4096, 256});
  CHECK(w1.tensor("lm_head.weight").shape == workload::Shape{128256 / 4, 4096});
  // 8 KV heads over 16 devices: one replicated KV head per device.
  one.tp = 16;
  CHECK(workload::llm::build_llm(c, one).tensor("h0.v.weight").shape == workload::Shape{4096, 128});
  one.tp = 3;
  CHECK_THROWS_WITH(workload::llm::build_llm(c, one), Catch::Contains("params.tp"));
}

TEST_CASE("all-reduce: ring and 2D torus closed forms") {
  experiment::Interconnect ring{"ring", 2, 100.0, 1.0};
  // 4 devices, 8 MB: 2 x 3/4 x 8e6 / (2 x 100e9) = 60 us, plus 6 steps x 1 us.
  CHECK(experiment::allreduce_seconds(ring, 4, 8e6) == Approx(66e-6));
  CHECK(experiment::allreduce_seconds(ring, 1, 8e6) == 0.0);
  experiment::Interconnect torus{"torus2d", 4, 100.0, 1.0};
  // 16 devices as 4 x 4, 2 links per dimension (200 GB/s): 2 x 3/4 x 16e6 /
  // 200e9 = 120 us along X, 2 x 3/4 x 4e6 / 200e9 = 30 us along Y, 12 steps.
  CHECK(experiment::allreduce_seconds(torus, 16, 16e6) == Approx(162e-6));
}
