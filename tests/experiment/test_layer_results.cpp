// One result path per machine: the same GEMM gives the same report row
// whether the workload is a plain GEMM list or a one-layer network, and stall
// shares are fractions of the layer's cycles on both machines.
#include <catch2/catch.hpp>


#include "tests/workload_text.h"
#include "sim/common/errors.h"
#include "sim/config/gpu_config.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/experiment/layer_result.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

// The same 256 x 256 x 256 product as a plain GEMM layer and as a matmul of
// a graph input with a weight constant (a one-layer network).
workload::Workload plain() {
  return xpu_test::workload_from_text("plain", "kind: workload\nname: plain\nlayers:\n  - {name: g, op: gemm, m: 256, n: 256, k: 256}\n");
}
workload::Workload network() {
  return xpu_test::workload_from_text("net", "kind: workload\nname: net\ninputs:\n  - {name: x, shape: [256, 256], dtype: fp32}\n"
                          "layers:\n  - {name: g, op: matmul, input: x, out: 256, bias: false}\n");
}

energy::EnergyTable table() {
  return energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
}

std::vector<report::LayerResult> run(experiment::Backend& be, const workload::Workload& w, DType t) {
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  be.check_workload(w, t);
  return be.run_workload(w, t, o);
}

void check_shares(const report::LayerResult& r) {
  INFO(r.name << ": " << r.cycles << " cycles, main stall " << r.stall_cause);
  REQUIRE(r.cycles > 0);
  for (const auto& [cause, c] : r.stalls) {
    CHECK(r.stall_share(cause) >= 0.0);
    CHECK(r.stall_share(cause) <= 1.0);
  }
}

}  // namespace

TEST_CASE("v100 256^3 fp16 GEMM: the same stall shares as a plain GEMM and as a one-layer network", "[experiment][stall]") {
  auto be = experiment::make_gpu_backend(config::load_gpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/v100.yaml"),
                                         table(), "gpu");
  const auto a = run(*be, plain(), DType::fp16);
  const auto b = run(*be, network(), DType::fp16);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  check_shares(a[0]);
  check_shares(b[0]);
  // One execution path: the same kernel, so the same cycles and stalls. (The
  // plain-GEMM path used to report the stall counters summed over 80 SMs x 4
  // sub-cores: memory_dependency at 1616.8 % of the cycles, 5.3 % here.)
  CHECK(a[0].cycles == b[0].cycles);
  CHECK(a[0].stall_cause == b[0].stall_cause);
  CHECK(a[0].stalls == b[0].stalls);
  CHECK(!a[0].stall_cause.empty());
  // The first kernel of a stream waits for the host launch and the grid
  // latency (v100.yaml: 3.0 + 3.7 us = 10,251 cycles), longer than this small
  // GEMM runs: "launch" leads; the sub-core causes are averages, each < 50 %.
  CHECK(a[0].stalls.at("launch") == 10251);
  for (const auto& [cause, c] : a[0].stalls)
    if (cause != "launch") CHECK(a[0].stall_share(cause) < 0.5);
  CHECK(a[0].verdict == report::Verdict::unchecked);
  CHECK(a[0].verified() == "values not computed (timing fidelity)");
}

TEST_CASE("TPU stall shares of a plain GEMM and a one-layer network are fractions of the cycles", "[experiment][stall]") {
  auto be = experiment::make_tpu_backend(config::load_tpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/tpu_v1.yaml"),
                                         table(), "tpu");
  for (const auto& r : run(*be, plain(), DType::int8)) check_shares(r);
  for (const auto& r : run(*be, network(), DType::int8)) check_shares(r);
}

TEST_CASE("a stall count above the layer's cycles is an internal error", "[experiment][stall]") {
  // 120 stall cycles in a 100-cycle layer can only mean the machine summed
  // several units' counters.
  const energy::EnergyModel model(table());
  const std::vector<energy::EnergyTerm> terms;
  report::LayerResult r;
  r.name = "l";
  r.macs = 100;
  experiment::LayerRun run;
  run.cycles = 100;
  run.stalls = {{"a", 20}, {"b", 60}};
  experiment::fill_layer_result(r, run, {1.0, 2.0, &model, &terms});
  CHECK(r.stall_cause == "b");
  CHECK(r.stall_share("b") == Approx(0.6));  // 60 / 100
  CHECK(r.utilization == Approx(0.5));       // 100 MACs / (2 per cycle x 100 cycles)
  run.stalls = {{"a", 120}};
  CHECK_THROWS_AS(experiment::fill_layer_result(r, run, {1.0, 2.0, &model, &terms}), InternalError);
}
