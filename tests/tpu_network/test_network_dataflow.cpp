// Networks on output- and input-stationary arrays: the same lowered programs
// run on every dataflow (the MXU folds each matmul into passes of at most R
// (OS) or C (IS) vectors, mxu.h), every GEMM stays bit-exact in hardware order
// (all three dataflows accumulate K chunks of R the same way, mxu_array.h),
// and only the timing differs.
#include <catch2/catch.hpp>

#include "net_test_util.h"

using namespace xpu;

namespace {

experiment::LayerRunOptions tile_opts() {
  experiment::LayerRunOptions o;
  o.fidelity = xpu::Fidelity::tile;
  return o;
}

const char* const kNet = R"(
kind: workload
name: df
inputs:
  - {name: x, shape: [1, 4, 9, 9]}
layers:
  - {name: conv, op: conv2d, out: 12, kernel: 3, pad: 1}
  - {name: act, op: relu}
  - {name: strided, op: conv2d, out: 8, kernel: 3, stride: 2}
  - {name: depthwise, op: conv2d, out: 8, kernel: 3, groups: 8, pad: 1}
  - {name: flat, op: flatten}
  - {name: fc, op: gemm, out: 10}
)";

struct Run {
  std::vector<report::LayerResult> layers;
  uint64_t cycles = 0;
};

Run run(experiment::Backend& b, DType t) {
  Run r;
  r.layers = b.run_workload(test::parse_net(kNet), t, tile_opts());
  for (const auto& l : r.layers) r.cycles += l.cycles;
  return r;
}

}  // namespace

TEST_CASE("a network runs bit-exact on ws os and is arrays", "[tpu_network]") {
  // Every SystemC module is elaborated before the first run.
  const auto table =
      energy::EnergyTable::from_document(config::Document::load(test::src("configs/energy/horowitz_45nm.yaml")));
  auto backend = [&](const std::string& df) {
    return experiment::make_tpu_backend(
        config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"), {"mxu.dataflow=" + df}), table, df);
  };
  auto bws = backend("ws"), bos = backend("os"), bis = backend("is");
  for (DType t : {DType::int8, DType::bf16}) {
    const Run ws = run(*bws, t), os = run(*bos, t), is = run(*bis, t);
    for (const Run* r : {&ws, &os, &is}) {
      REQUIRE(r->layers.size() == ws.layers.size());
      size_t gemms = 0;
      for (const auto& l : r->layers) {
        INFO(l.name << ": " << l.verified());
        CHECK_FALSE(test::has(l.verified(), "MISMATCH"));
        CHECK_FALSE(test::has(l.verified(), "skipped"));
        if (test::has(l.verified(), "gemm bit-exact")) ++gemms;
      }
      // conv, strided, depthwise (one GEMM per channel, counted once per layer) and fc.
      CHECK(gemms == 4);
    }
    // Same work, different schedules.
    for (size_t i = 0; i < ws.layers.size(); ++i) {
      CHECK(os.layers[i].macs == ws.layers[i].macs);
      CHECK(is.layers[i].macs == ws.layers[i].macs);
    }
    CHECK(os.cycles != ws.cycles);
    CHECK(is.cycles != ws.cycles);
  }
}
