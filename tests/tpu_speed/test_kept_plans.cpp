// The TPU backend keeps the plan its check lowered (tpu_backend_plans.h) and
// the timing run of that workload takes it instead of lowering again. A
// plan is found by the workload's structure: another workload -- even one
// with the same name, layer names and shapes -- never runs it.
#include <catch2/catch.hpp>

#include "../tpu_network/net_test_util.h"
#include "sim/experiment/tpu_backend_plans.h"

using namespace xpu;

namespace {

// The same network twice, but the conv is padded symmetrically in one and
// only at the top / left in the other: the same output shape (9 + 2 - 3 + 1
// = 9), other im2col copies.
std::string net(const std::string& pad) {
  return R"(
kind: workload
name: kept
inputs:
  - {name: x, shape: [1, 8, 9, 9]}
layers:
  - {name: conv, op: conv2d, out: 16, kernel: 3, pad: )" +
         pad + R"(}
  - {name: act, op: relu}
  - {name: flat, op: flatten}
  - {name: fc, op: gemm, out: 10}
)";
}

uint64_t cycles(const std::vector<report::LayerResult>& ls) {
  uint64_t c = 0;
  for (const auto& l : ls) c += l.cycles;
  return c;
}

}  // namespace

TEST_CASE("a kept plan runs only for the workload it was lowered for") {
  auto b = test::tpu_backend("tpu_small");
  const auto sym = test::parse_net(net("1")), top = test::parse_net(net("[2, 2, 0, 0]"));
  REQUIRE(experiment::plan_key(sym, DType::int8, false) != experiment::plan_key(top, DType::int8, false));
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  const uint64_t fresh_top = cycles(b->run_workload(top, DType::int8, o));  // nothing kept: lowered by the run
  const uint64_t fresh_sym = cycles(b->run_workload(sym, DType::int8, o));
  REQUIRE(fresh_top != fresh_sym);  // the two plans differ in cycles, so a wrong one would show

  b->check_workload(sym, DType::int8);  // keeps sym's plan
  CHECK(cycles(b->run_workload(top, DType::int8, o)) == fresh_top);
  CHECK(cycles(b->run_workload(sym, DType::int8, o)) == fresh_sym);  // takes its own
  b->check_workload(top, DType::int8);
  CHECK(cycles(b->run_workload(top, DType::int8, o)) == fresh_top);
}

TEST_CASE("kept plans: taken once, the first kept whatever its size, more only within the budget") {
  experiment::KeptPlans kept;
  auto plan_of = [](size_t instructions) {
    lowering::NetworkPlan p;
    p.layers.emplace_back();
    p.layers.back().steps.emplace_back();
    p.layers.back().steps.back().program.code.resize(instructions);
    return p;
  };
  const size_t cap = experiment::KeptPlans::kMaxKeptInstructions;
  kept.keep("big", plan_of(cap + 1));  // alone: kept
  kept.keep("small", plan_of(1));      // over the budget with "big": not kept
  CHECK_FALSE(kept.take("small"));
  REQUIRE(kept.take("big"));
  CHECK_FALSE(kept.take("big"));  // taken once
  kept.keep("a", plan_of(cap / 2));
  kept.keep("b", plan_of(cap / 2));  // together exactly the budget: both kept
  CHECK(kept.take("a"));
  CHECK(kept.take("b"));
}
