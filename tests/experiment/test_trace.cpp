// --trace: Chrome/Perfetto trace events consistent with the model's own
// counters, and VCD waveforms from the PE-level array.
#include <catch2/catch.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "tests/experiment/common.h"

using namespace xt;

namespace {

std::string experiment(const std::string& dir, const std::string& acc, const std::string& fidelity,
                       const std::string& precision) {
  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - {name: g1, op: gemm, m: 20, n: 12, k: 9}\n"
                         "  - {name: g2, op: gemm, m: 16, n: 16, k: 16}\n");
  write(dir + "/e.yaml", "kind: experiment\nname: t\nenergy: " + kSrc + "/configs/energy/horowitz_45nm.yaml\n"
                         "fidelity: " + fidelity + "\nio: host\naccelerators:\n  - " + kSrc + "/configs/accelerators/" + acc +
                         "\nworkloads:\n  - w.yaml\nprecisions: [" + precision + "]\n");
  return dir + "/e.yaml";
}

}  // namespace

TEST_CASE("trace: TPU unit activity whose MXU busy time equals the busy counter", "[trace]") {
  const std::string dir = temp_dir();
  auto r = xpusim("run " + experiment(dir, "tpu_small.yaml", "tile", "int8") + " -q --trace -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto t = nlohmann::json::parse(slurp(dir + "/out/trace.json"));
  auto s = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  std::map<int, std::string> tracks;
  std::map<std::string, double> busy;  // cycles per track
  std::map<std::string, int> count;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") tracks[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] != "X") continue;
    const std::string track = tracks.at(e["tid"].get<int>());
    const double b = e["args"]["begin_cycle"], en = e["args"]["end_cycle"];
    REQUIRE(en >= b);
    REQUIRE(e["dur"].get<double>() >= 0);
    busy[track] += en - b;
    count[track]++;
  }
  for (const char* unit : {"program", "mxu", "weight_fetch", "weight_shift", "dma_in", "dma_out", "activation"}) {
    INFO(unit);
    CHECK(count[unit] > 0);
  }
  double mxu_busy = 0, cycles = 0, dma_in_busy = 0;
  for (const auto& l : s["runs"][0]["layers"]) {
    mxu_busy += l["stats"]["tpu"]["mxu"]["busy_cycles"].get<double>();
    cycles += l["cycles"].get<double>();
  }
  CHECK(busy["mxu"] == mxu_busy);        // the spans are exactly the counted busy cycles
  CHECK(busy["program"] == cycles);      // one program span per layer, covering its cycles
  CHECK(count["program"] == 2);
  (void)dma_in_busy;
}

TEST_CASE("trace: GPU CTAs occupying SM slots match the CTA counter", "[trace]") {
  const std::string dir = temp_dir();
  auto r = xpusim("run " + experiment(dir, "gpu_small.yaml", "tile", "fp16") + " -q --trace -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto t = nlohmann::json::parse(slurp(dir + "/out/trace.json"));
  auto s = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  std::map<int, std::string> tracks;
  int ctas = 0, programs = 0;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") tracks[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] != "X") continue;
    const std::string track = tracks.at(e["tid"].get<int>());
    if (track.rfind("sm", 0) == 0) ++ctas;
    if (track == "program") ++programs;
  }
  double want = 0;
  for (const auto& l : s["runs"][0]["layers"]) want += l["stats"]["gpu"]["sm"]["ctas"].get<double>();
  CHECK(ctas == want);
  CHECK(ctas > 0);
  CHECK(programs == 2);
}

TEST_CASE("trace: pe fidelity writes a VCD of the array registers", "[trace][vcd]") {
  const std::string dir = temp_dir();
  auto r = xpusim("run " + experiment(dir, "tpu_small.yaml", "pe", "int8") + " -q --trace -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string vcd = slurp(dir + "/out/vcd/tpu_small_w_int8.vcd");
  REQUIRE(!vcd.empty());
  CHECK_THAT(vcd, Catch::Contains("$timescale 1ps $end"));
  CHECK_THAT(vcd, Catch::Contains("$scope module pe_r7_c7 $end"));
  CHECK_THAT(vcd, Catch::Contains("$enddefinitions $end"));
  // Values really move: many timestamps, and results still bit-exact.
  size_t stamps = 0;
  for (size_t p = vcd.find("\n#"); p != std::string::npos; p = vcd.find("\n#", p + 1)) ++stamps;
  CHECK(stamps > 40);
  auto s = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  for (const auto& l : s["runs"][0]["layers"]) CHECK(l["verified"] == "bit-exact");
  // Tracing does not change timing: the same run without --trace.
  auto plain = xpusim("run " + dir + "/e.yaml -q -o " + dir + "/plain");
  REQUIRE(plain.code == 0);
  auto p = nlohmann::json::parse(slurp(dir + "/plain/summary.json"));
  CHECK(p["runs"][0]["totals"]["cycles"] == s["runs"][0]["totals"]["cycles"]);
}
