// The xpusim command end to end: exit codes (0 ok, 1 bad input, 2 internal),
// diagnostics that name file:line:col and key, and the reports a run writes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/experiment/common.h"

namespace {

using namespace xt;

// A one-layer experiment on the 8x8 test TPU.
std::string tiny_experiment(const std::string& dir, const std::string& layer) {
  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - " + layer + "\n");
  write(dir + "/exp.yaml", "kind: experiment\nname: tiny\nenergy: " + kSrc +
                               "/configs/energy/horowitz_45nm.yaml\naccelerators:\n  - " + kSrc +
                               "/configs/accelerators/tpu_small.yaml\nworkloads:\n  - w.yaml\n"
                               "precisions: [int8, bf16]\n");
  return dir + "/exp.yaml";
}

}  // namespace

TEST_CASE("validate reports a typo with file:line:col, key path and a suggestion", "[cli]") {
  auto r = xpusim("validate " + kSrc + "/configs/examples/tpu_v1_typo.yaml");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("tpu_v1_typo.yaml:8:3: mxu.colums: unknown key (did you mean 'cols'?)"));
  CHECK_THAT(r.out, Catch::Contains("tpu_v1_typo.yaml:5:12: clock_mhz: expected a finite number, got \"fast\""));
  CHECK_THAT(r.out, Catch::Contains("2 errors found"));
}

TEST_CASE("validate accepts every shipped config, workload and experiment", "[cli]") {
  auto r = xpusim("validate " + kSrc + "/configs/accelerators/tpu_v1.yaml " + kSrc +
                  "/configs/accelerators/tpu_v2_like.yaml " + kSrc + "/configs/accelerators/tpu_small.yaml " +
                  kSrc + "/configs/energy/horowitz_45nm.yaml " + kSrc + "/configs/experiments/default.yaml " +
                  kSrc + "/workloads/gemm/gemm_suite.yaml");
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("a bad override is reported as the command line's fault", "[cli]") {
  auto r = xpusim("validate " + kSrc + "/configs/accelerators/tpu_small.yaml -p mxu.rows=abc");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("command line (-p mxu.rows=abc): mxu.rows: expected a positive integer, got \"abc\""));
}

TEST_CASE("missing and malformed files exit 1 with the file named", "[cli]") {
  auto missing = xpusim("run /nonexistent/exp.yaml");
  CHECK(missing.code == 1);
  CHECK_THAT(missing.out, Catch::Contains("/nonexistent/exp.yaml: no such file"));
  const std::string dir = temp_dir();
  write(dir + "/bad.yaml", "kind: experiment\nname: [unclosed\n");
  auto bad = xpusim("run " + dir + "/bad.yaml");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains(dir + "/bad.yaml:") && Catch::Contains("malformed YAML"));
  auto kind = xpusim("validate " + dir + "/w.yaml");  // does not exist either
  CHECK(kind.code == 1);
}

TEST_CASE("run writes summary, CSV and markdown with bit-exact values", "[cli]") {
  const std::string dir = temp_dir();
  const std::string exp = tiny_experiment(dir, "{name: g, op: gemm, m: 20, n: 12, k: 9}");
  auto r = xpusim("run " + exp + " -q -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  CHECK(j["schema_version"] == 2);  // reports/README.md documents the schema
  REQUIRE(j["runs"].size() == 2);  // int8 and bf16
  for (const auto& run : j["runs"]) {
    CHECK(run["layers"][0]["verified"] == "bit-exact");
    CHECK(run["layers"][0]["macs"] == 20 * 12 * 9);  // m x n x k
    CHECK(run["totals"]["cycles"].get<double>() > 0);
  }
  CHECK(j["manifest"]["input_sha256"].size() == 4);  // experiment, energy table, accelerator, workload
  CHECK_THAT(slurp(dir + "/out/layers.csv"), Catch::Contains(",g,gemm,20x12x9,"));
  CHECK_THAT(slurp(dir + "/out/report.md"), Catch::Contains("| g | 20x12x9 |"));
}

TEST_CASE("a layer that cannot fit names the layer and exits 1 before simulating", "[cli]") {
  const std::string dir = temp_dir();
  // tpu_small has a 64 KiB unified buffer: one 40000-byte int8 input row plus
  // its output row, double-buffered, cannot fit.
  const std::string exp = tiny_experiment(dir, "{name: too_wide, op: gemm, m: 4, n: 8, k: 40000}");
  auto r = xpusim("run " + exp + " -o " + dir + "/out");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("too_wide") && Catch::Contains("unified buffer"));
  CHECK(access((dir + "/out/summary.json").c_str(), F_OK) != 0);  // nothing half-written
}

TEST_CASE("overrides given with -p reach every accelerator of a run", "[cli]") {
  const std::string dir = temp_dir();
  const std::string exp = tiny_experiment(dir, "{name: g, op: gemm, m: 16, n: 16, k: 16}");
  auto base = xpusim("run " + exp + " -q -o " + dir + "/a");
  auto wide = xpusim("run " + exp + " -q -o " + dir + "/b -p mxu.rows=16 -p mxu.cols=16 -p mxu.weight_load_cycles=16");
  REQUIRE(base.code == 0);
  REQUIRE(wide.code == 0);
  auto a = nlohmann::json::parse(slurp(dir + "/a/summary.json"));
  auto b = nlohmann::json::parse(slurp(dir + "/b/summary.json"));
  // 16x16x16 on an 8x8 array: 2 K chunks x 2 N tiles = 4 weight tiles; on 16x16: 1.
  CHECK(a["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 4);
  CHECK(b["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 1);
  CHECK(b["runs"][0]["overrides"].size() == 3);
}

TEST_CASE("version and help", "[cli]") {
  auto v = xpusim("--version");
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Catch::StartsWith("xpusim 0.1.0"));
  auto h = xpusim("--help");
  CHECK(h.code == 0);
  CHECK_THAT(h.out, Catch::Contains("validate"));
  auto none = xpusim("");
  CHECK(none.code == 1);  // a subcommand is required
}

TEST_CASE("the run log counts the report's layers (fused layers share a row)", "[cli]") {
  const std::string dir = temp_dir();
  tiny_experiment(dir, "{name: g, op: gemm, m: 4, n: 4, k: 4}");
  // conv + relu fuse into one row on the TPU; the network also stages its
  // input and output, so the report's row count differs from the IR's 2.
  write(dir + "/w.yaml", "kind: workload\nname: w\ninputs:\n  - {name: x, shape: [1, 4, 6, 6], dtype: fp32}\n"
                         "layers:\n  - {name: c, op: conv2d, out: 8, kernel: 3, pad: 1}\n  - {name: r, op: relu}\n");
  auto r = xpusim("run " + dir + "/exp.yaml -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  const size_t rows = j["runs"][0]["layers"].size();
  CHECK(rows != 2);
  CHECK_THAT(r.out, Catch::Contains("(2 IR layers)"));
  CHECK_THAT(r.out, Catch::Contains("  " + std::to_string(rows) + " layers in the report"));
}

TEST_CASE("sparsity 2:4 runs pruned weights bit-exact on mma.sp and is a located error elsewhere", "[cli][sparse]") {
  const std::string dir = temp_dir();
  write(dir + "/w.yaml",
        "kind: workload\nname: w\nsparsity: \"2:4\"\nlayers:\n  - {name: g, op: gemm, m: 40, n: 24, k: 72}\n");
  write(dir + "/exp.yaml", "kind: experiment\nname: sp\nenergy: " + kSrc +
                               "/configs/energy/horowitz_45nm.yaml\naccelerators:\n  - " + kSrc +
                               "/configs/accelerators/ampere_small.yaml\nworkloads:\n  - w.yaml\n"
                               "precisions: [fp16, int8]\n");
  auto r = xpusim("run " + dir + "/exp.yaml -q -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  REQUIRE(j["runs"].size() == 2);
  for (const auto& run : j["runs"]) {
    CHECK(run["sparsity"] == "2:4");
    CHECK(run["layers"][0]["verified"] == "bit-exact (GEMM view, 2:4 pruned weights)");
    // Dense-equivalent 40 x 24 x 72 MACs; the sparse tensor cores do half.
    CHECK(run["totals"]["macs"] == 40 * 24 * 72);
    CHECK(run["totals"]["effective_macs"] == 40 * 24 * 72 / 2);
  }
  CHECK_THAT(slurp(dir + "/out/report.md"), Catch::Contains("effective GMAC"));
  // The same workload on the TPU: the workload's key, located, exit 1.
  write(dir + "/tpu.yaml", "kind: experiment\nname: sp\nenergy: " + kSrc +
                               "/configs/energy/horowitz_45nm.yaml\naccelerators:\n  - " + kSrc +
                               "/configs/accelerators/tpu_small.yaml\nworkloads:\n  - w.yaml\nprecisions: [int8]\n");
  auto t = xpusim("run " + dir + "/tpu.yaml -q -o " + dir + "/out2");
  CHECK(t.code == 1);
  CHECK_THAT(t.out, Catch::Contains(dir + "/w.yaml:3:11: sparsity: tpu_small") &&
                        Catch::Contains("has no 2:4 sparse matrix path"));
}
