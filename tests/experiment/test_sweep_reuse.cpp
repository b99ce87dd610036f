// Sweep points that differ only in values the lowering does not read share
// one lowering (tpu_prelowered.h). These tests check the premise (the TPU
// lowering reads nothing outside tpu_lowering_key) and the outcome (a sweep
// that shares lowerings gives the results of points run alone).
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "models/tpu/assembler.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/tpu_prelowered.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/workload.h"
#include "tests/experiment/common.h"

using namespace xt;
using namespace xpu;

namespace {

// Every TPU config value outside tpu_lowering_key, changed from tpu_v1's.
const std::vector<std::string> kTimingOnly = {
    "clock_mhz=940",  "dram.bandwidth_gbps=900",    "dram.latency_ns=7",     "dram.channels=2",
    "dram.burst_bytes=32", "dram.interleave_bytes=512", "host.bandwidth_gbps=3",
    "host.latency_ns=9", "controller.pipeline_stages=6", "controller.unit_queue_depth=2",
    "weight_fifo.depth_tiles=2", "unified_buffer.read_bytes_per_cycle=64",
    "unified_buffer.write_bytes_per_cycle=32", "unified_buffer.banks=4", "activation.latency_cycles=3",
    "activation.passes_exp=8", "activation.passes_reciprocal=3", "activation.passes_rsqrt=5",
    "activation.passes_erf=6"};

// A plan as text: every program in assembly, and the sizes of what the
// runner stages around it.
std::string plan_text(const lowering::NetworkPlan& plan) {
  std::string s;
  for (const auto& l : plan.layers) {
    s += "layer " + l.name + " " + l.op + " " + l.shape + " " + l.io + "\n";
    for (const auto& st : l.steps)
      s += tpu::to_assembly(st.program) + "weights " + std::to_string(st.weight_image.size()) + " inputs " +
           std::to_string(st.host_inputs.size()) + " constants " + std::to_string(st.host_constants.size()) +
           " preloads " + std::to_string(st.ub_preloads.size()) + " copies " + std::to_string(st.copies_before.size()) +
           "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("the TPU lowering reads no config value outside tpu_lowering_key", "[sweep][reuse]") {
  const std::string v1 = kSrc + "/configs/accelerators/tpu_v1.yaml";
  const tpu::TpuConfig a = config::load_tpu_config(v1, {"mxu.rows=128", "mxu.cols=128"});
  std::vector<std::string> ov = kTimingOnly;
  ov.insert(ov.end(), {"mxu.rows=128", "mxu.cols=128"});
  const tpu::TpuConfig b = config::load_tpu_config(v1, ov);
  REQUIRE(a.dram.bandwidth_gbps != b.dram.bandwidth_gbps);  // the overrides took
  REQUIRE(a.activation.passes_erf != b.activation.passes_erf);
  CHECK(experiment::tpu_lowering_key(a) == experiment::tpu_lowering_key(b));
  // A value the lowering reads changes the key.
  CHECK(experiment::tpu_lowering_key(a) !=
        experiment::tpu_lowering_key(config::load_tpu_config(v1, {"mxu.rows=128", "mxu.cols=64"})));
  // Fold overlap picks the input-stationary loop order (input- or weight-major).
  CHECK(experiment::tpu_lowering_key(a) !=
        experiment::tpu_lowering_key(
            config::load_tpu_config(v1, {"mxu.rows=128", "mxu.cols=128", "mxu.fold_overlap=false"})));
  // Where the DMA engines reach HBM, standalone GEMMs may stream A (lowering/tpu/gemm.h, prefer_streamed).
  CHECK(experiment::tpu_lowering_key(a) !=
        experiment::tpu_lowering_key(config::load_tpu_config(v1, {"mxu.rows=128", "mxu.cols=128", "host.path=dram"})));

  // Networks with convolutions, depthwise layers, attention (vector ops:
  // exp, reciprocal square root, erf) and a GEMM suite.
  for (const char* net : {"workloads/nets/resnet50.yaml", "workloads/nets/mobilenet_v2.yaml",
                          "workloads/nets/bert_base_layer.yaml", "workloads/gemm/gemm_suite.yaml"}) {
    INFO(net);
    const workload::Workload w = workload::load_workload(kSrc + "/" + net);
    for (DType t : {DType::int8, DType::bf16}) {
      if (lowering::standalone_gemms(w)) {
        for (bool resident : {true, false})
          CHECK(plan_text(lowering::lower_standalone_gemms(a, w, t, resident, nullptr)) ==
                plan_text(lowering::lower_standalone_gemms(b, w, t, resident, nullptr)));
        continue;
      }
      lowering::NetworkOptions lo;
      lo.dtype = t;
      const std::string pa = plan_text(lowering::lower_network(a, w, lo));
      CHECK(pa.size() > 1000);  // a real program
      CHECK(pa == plan_text(lowering::lower_network(b, w, lo)));
    }
  }

  // What one config lowered ahead serves the other, and no config that
  // lowers differently.
  const workload::Workload g = workload::load_workload(kSrc + "/workloads/gemm/gemm_suite.yaml");
  experiment::prelower_tpu(a, {g}, {DType::int8}, true);
  const auto ahead = experiment::prelowered_plan(b, g, DType::int8, true, true);
  REQUIRE(ahead != nullptr);
  CHECK(plan_text(*ahead) == plan_text(lowering::lower_standalone_gemms(b, g, DType::int8, true, nullptr)));
  CHECK(experiment::prelowered_plan(b, g, DType::int8, true, false) == nullptr);  // io: host lowers differently
  CHECK(experiment::prelowered_plan(b, g, DType::bf16, true, true) == nullptr);
  CHECK_FALSE(experiment::prelowered(config::load_tpu_config(v1, {"mxu.rows=64"}), g, DType::int8));
}

TEST_CASE("a sweep that shares lowerings gives the results of its points run alone", "[sweep][reuse]") {
  const std::string dir = temp_dir();
  // A small convolutional network on the 8x8 test TPU: 2 arrays x 3 DRAM
  // bandwidths, so each array's program serves 3 points.
  write(dir + "/net.yaml", "kind: workload\nname: net\ninputs:\n  - {name: x, shape: [1, 3, 12, 12]}\n"
                           "layers:\n  - {name: c1, op: conv2d, out: 8, kernel: 3, pad: 1}\n"
                           "  - {name: r1, op: relu}\n  - {name: c2, op: conv2d, out: 16, kernel: 3, stride: 2}\n"
                           "  - {name: p, op: global_avg_pool}\n  - {name: f, op: flatten}\n"
                           "  - {name: fc, op: gemm, out: 10}\n");
  write(dir + "/s.yaml", "kind: sweep\nname: s\nenergy: " + kSrc + "/configs/energy/horowitz_45nm.yaml\n"
                         "fidelity: timing\naccelerators:\n  - " + kSrc + "/configs/accelerators/tpu_small.yaml\n"
                         "workloads:\n  - net.yaml\nprecisions: [int8]\nsweep:\n  grid:\n"
                         "    mxu.rows: [4, 8]\n    dram.bandwidth_gbps: [1, 4, 16]\n");
  auto r = xpusim("sweep " + dir + "/s.yaml -j 2 -q -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto sweep = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  REQUIRE(sweep["points"].size() == 6);
  std::set<double> cycles;
  for (const auto& p : sweep["points"]) {
    const std::string id = p["id"];
    INFO(id);
    // `sweep-point` runs the point in a process of its own, lowering it there.
    const std::string alone = dir + "/" + id + ".json";
    auto one = xpusim("sweep-point " + dir + "/s.yaml --index " + p["index"].dump() + " --id " + id + " --out " + alone);
    REQUIRE(one.code == 0);
    CHECK(slurp(alone) == slurp(dir + "/out/points/" + id + ".json"));
    cycles.insert(p["runs"][0]["totals"]["cycles"].get<double>());
  }
  // The bandwidth reached the model: the points do not all take as long.
  CHECK(cycles.size() > 2);
}
