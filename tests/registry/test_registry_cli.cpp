// The xpusim binary on inputs that once crashed, recursed, hid behind an
// internal error or were accepted by one subcommand and rejected by another:
// each is a located exit-1 error (or, where the input is fine, a run).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/experiment/common.h"

namespace {

using xt::exists;
using xt::kSrc;
using xt::slurp;
using xt::temp_dir;

// `timeout`: a recursion or hang fails the test instead of stalling it.
xt::Result xpusim(const std::string& args) { return xt::sh("timeout 120 " + std::string(XPUSIM_BINARY) + " " + args); }

std::string write(const std::string& path, const std::string& text) {
  xt::write(path, text);
  return path;
}

const std::string kEnergy = kSrc + "/configs/energy/horowitz_45nm.yaml";

// An experiment in `dir` running a 16^3 int8 GEMM on `acc` (a path).
std::string experiment(const std::string& dir, const std::string& acc, const std::string& extra = "") {
  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - {name: g, op: gemm, m: 16, n: 16, k: 16}\n");
  return write(dir + "/exp.yaml", "kind: experiment\nname: e\nenergy: " + kEnergy + "\naccelerators: [" + acc +
                                      "]\nworkloads: [w.yaml]\n" + extra);
}

// tpu_small.yaml without the lines containing any of `drop`, or without the
// block starting at a line equal to one of them (a top-level section).
std::string tpu_small_without(const std::string& path, const std::vector<std::string>& drop) {
  std::istringstream in(slurp(kSrc + "/configs/accelerators/tpu_small.yaml"));
  std::string out, line;
  bool skipping = false;
  while (std::getline(in, line)) {
    if (skipping && !line.empty() && line[0] != ' ' && line[0] != '#') skipping = false;
    bool drop_line = false;
    for (const auto& d : drop) {
      if (line == d) skipping = true;
      if (line.find(d) != std::string::npos) drop_line = true;
    }
    if (!skipping && !drop_line) out += line + "\n";
  }
  return write(path, out);
}

}  // namespace

TEST_CASE("registry cli: validate and run agree on upper-case extensions", "[registry][cli]") {
  const std::string dir = temp_dir();
  write(dir + "/ALEXNET.CSV", slurp(kSrc + "/workloads/scalesim/alexnet.csv"));
  auto r = xpusim("validate " + dir + "/ALEXNET.CSV");
  INFO(r.out);
  CHECK(r.code == 0);
  // An unknown extension names the known ones.
  r = xpusim("validate " + write(dir + "/net.txt", "Layer, M, N, K,\n"));
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("net.txt: unknown file extension \".txt\": expected one of .yaml, .yml, .onnx, "
                                    ".csv, .json, .cfg"));
}

TEST_CASE("registry cli: validate understands SCALE-Sim's own cfg", "[registry][cli]") {
  auto r = xpusim("validate " + kSrc + "/workloads/scalesim/scale.cfg");
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("registry cli: a file without kind is a located exit-1 error in validate, run and sweep",
          "[registry][cli]") {
  const std::string dir = temp_dir();
  const std::string acc = tpu_small_without(dir + "/acc.yaml", {"kind: tpu"});
  auto v = xpusim("validate " + acc);
  CHECK(v.code == 1);
  CHECK_THAT(v.out, Catch::Contains("acc.yaml:1:1: kind: missing 'kind'"));
  const std::string exp = experiment(dir, "acc.yaml");
  auto r = xpusim("run -q -o " + dir + "/out " + exp);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("exp.yaml:4:16: accelerators[0]: "));
  CHECK_THAT(r.out, Catch::Contains("acc.yaml has no 'kind': not an accelerator config (machine kinds: gpu, tpu)"));
  const std::string sweep = write(dir + "/sweep.yaml", "kind: sweep\nname: s\nenergy: " + kEnergy +
                                                           "\naccelerators: [acc.yaml]\nworkloads: [w.yaml]\n"
                                                           "sweep:\n  grid:\n    mxu.rows: [8]\n");
  auto s = xpusim("sweep -q -j 1 -o " + dir + "/sw " + sweep);
  CHECK(s.code == 1);
  CHECK_THAT(s.out, Catch::Contains("accelerators[0]"));
}

TEST_CASE("registry cli: an experiment listing itself is rejected by validate and run, without recursing",
          "[registry][cli]") {
  const std::string dir = temp_dir();
  const std::string self = write(dir + "/self.yaml", "kind: experiment\nname: self\nenergy: " + kEnergy +
                                                         "\naccelerators: [self.yaml]\nworkloads:\n  - self.yaml\n");
  for (const char* cmd : {"validate ", "run -q -o /tmp/xpusim_never "}) {
    auto r = xpusim(cmd + self);
    INFO(cmd << r.out);
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains("self.yaml:4:16: accelerators[0]: lists the experiment itself"));
    CHECK_THAT(r.out, Catch::Contains("self.yaml:6:5: workloads[0]: lists the experiment itself"));
  }
}

TEST_CASE("registry cli: an energy table is not an accelerator", "[registry][cli]") {
  const std::string dir = temp_dir();
  auto r = xpusim("validate " + experiment(dir, kEnergy));
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("accelerators[0]: " + kEnergy +
                                    " is not an accelerator config (kind \"energy_table\"; machine kinds: gpu, tpu)"));
}

TEST_CASE("registry cli: run given a sweep, a topology or a cfg says what to do instead", "[registry][cli]") {
  auto r = xpusim("run " + kSrc + "/configs/experiments/sweep_mxu.yaml");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("sweep_mxu.yaml:7:7: kind: expected experiment, got \"sweep\": this is a sweep: "
                                    "run it with xpusim sweep"));
  r = xpusim("run " + kSrc + "/workloads/scalesim/scale.cfg");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("run it with xpusim run --scalesim-cfg"));
  r = xpusim("run " + kSrc + "/workloads/scalesim/alexnet.csv");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("list it under workloads: in an experiment"));
}

TEST_CASE("registry cli: an unwritable report directory is an I/O error found before simulating",
          "[registry][cli]") {
  const std::string dir = temp_dir();
  const std::string exp = experiment(dir, kSrc + "/configs/accelerators/tpu_small.yaml");
  const std::string file = write(dir + "/a_file", "");
  auto r = xpusim("run -o " + file + " " + exp);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("error: " + file + ": exists and is not a directory"));
  CHECK_THAT(r.out, !Catch::Contains("layers)"));  // the run log's first line: nothing was simulated
  r = xpusim("run -o " + file + "/sub " + exp);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("cannot write reports here"));
  r = xpusim("run --scalesim-cfg " + kSrc + "/workloads/scalesim/scale.cfg --topology " + kSrc +
             "/workloads/scalesim/mlp0_gemm.csv --energy " + kEnergy + " -o " + file);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("exists and is not a directory"));
}

TEST_CASE("registry cli: an accelerator without a dram section runs at the default bandwidth", "[registry][cli]") {
  const std::string dir = temp_dir();
  tpu_small_without(dir + "/acc.yaml", {"dram:"});
  REQUIRE(slurp(dir + "/acc.yaml").find("dram") == std::string::npos);
  const std::string exp = experiment(dir, "acc.yaml");
  REQUIRE(xpusim("validate " + exp).code == 0);
  auto r = xpusim("run -q -o " + dir + "/out " + exp);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto s = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  // TpuConfig's default DRAM (TPU v1's 34 GB/s, models/tpu/tpu_config.h).
  CHECK(s["runs"][0]["peak_dram_gbps"] == 34.0);
}

TEST_CASE("registry cli: --trace at pe fidelity with the array shape defaulted", "[registry][cli]") {
  const std::string dir = temp_dir();
  tpu_small_without(dir + "/acc.yaml", {"  rows: 8", "  cols: 8"});
  const std::string exp = experiment(dir, "acc.yaml", "fidelity: pe\n");
  auto r = xpusim("run -q --trace -o " + dir + "/out " + exp);
  INFO(r.out);
  REQUIRE(r.code == 0);
  // The default 256 x 256 array (TPU v1) exceeds the 32 x 32 PEs of a VCD.
  CHECK_THAT(r.out, Catch::Contains("no VCD for tpu_small: 256x256 array exceeds 1024 PEs"));
  CHECK(exists(dir + "/out/trace.json"));
  CHECK_FALSE(exists(dir + "/out/vcd"));
}

TEST_CASE("registry cli: validate checks every point of a sweep", "[registry][cli]") {
  const std::string dir = temp_dir();
  experiment(dir, kSrc + "/configs/accelerators/tpu_small.yaml");
  const std::string sweep = write(dir + "/sweep.yaml", "kind: sweep\nname: s\nenergy: " + kEnergy +
                                                           "\naccelerators: [" + kSrc +
                                                           "/configs/accelerators/tpu_small.yaml]\n"
                                                           "workloads: [w.yaml]\nsweep:\n  grid:\n"
                                                           "    mxu.rows: [8, 0]\n");
  auto r = xpusim("validate " + sweep);
  CHECK(r.code == 1);
  // Point 1 (mxu.rows = 0) breaks the range of mxu.rows; point 0 is fine.
  CHECK_THAT(r.out, Catch::Contains("mxu.rows"));
  CHECK_THAT(r.out, Catch::Contains("(sweep point 1 "));
  CHECK_THAT(r.out, !Catch::Contains("(sweep point 0 "));
}
