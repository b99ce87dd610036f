// Cycle accounting (sim/experiment/cycle_accounting.h): on every layer of
// every bundled network, the causes the report lists plus the cycles the
// array streams (tpu.mxu.busy_cycles, the mxu_compute cause) add up to the
// layer's cycles exactly. (The runner also checks the sum itself and stops
// with an internal error if it ever differs.)
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common.h"

namespace {

const std::string kSrc = XPUSIM_SOURCE_DIR;

void check_summary(const std::string& dir, size_t min_layers) {
  std::ifstream in(dir + "/summary.json");
  const auto j = nlohmann::json::parse(in);
  size_t layers = 0;
  for (const auto& run : j["runs"])
    for (const auto& l : run["layers"]) {
      INFO(run["workload"].get<std::string>() << " / " << l["name"].get<std::string>());
      double causes = 0;
      for (const auto& [cause, c] : l["stall_cycles"].items()) causes += c.get<double>();
      CHECK(l["stall_cycles"].size() == 8);  // every cause but mxu_compute, listed even when 0
      CHECK(causes + l["stats"]["tpu"]["mxu"]["busy_cycles"].get<double>() == l["cycles"].get<double>());
      ++layers;
    }
  CHECK(layers >= min_layers);
}

}  // namespace

TEST_CASE("cycle accounting sums to every layer's cycles on every bundled network", "[accounting]") {
  const std::string dir = xt::temp_dir();
  std::string wl;
  size_t nets = 0;
  for (const auto& e : std::filesystem::directory_iterator(kSrc + "/workloads/nets")) {
    if (e.path().extension() != ".yaml") continue;
    wl += (wl.empty() ? "" : ", ") + e.path().string();
    ++nets;
  }
  REQUIRE(nets >= 10);
  xt::write(dir + "/exp.yaml", "kind: experiment\nname: accounting\nenergy: " + kSrc +
                                   "/configs/energy/horowitz_45nm.yaml\nfidelity: timing\naccelerators: [" + kSrc +
                                   "/configs/accelerators/tpu_v1.yaml]\nworkloads: [" + wl +
                                   "]\nprecisions: [int8]\n");
  const auto r = xt::xpusim("run -q " + dir + "/exp.yaml -o " + dir + "/out --force");
  INFO(r.out);
  REQUIRE(r.code == 0);
  check_summary(dir + "/out", 300);
}

TEST_CASE("cycle accounting on SCALE-Sim topologies (streamed layers, depthwise)", "[accounting]") {
  const std::string dir = xt::temp_dir();
  for (const char* topo : {"mobilenet_v2_block2.csv", "mlp0_gemm.csv"}) {
    const auto r = xt::xpusim("run -q --scalesim-cfg " + kSrc + "/workloads/scalesim/scale.cfg --topology " + kSrc +
                              "/workloads/scalesim/" + topo + " -o " + dir + "/" + topo + " --force");
    INFO(r.out);
    REQUIRE(r.code == 0);
    check_summary(dir + "/" + topo, 5);
  }
}
