// -p overrides reach the file they name (accelerator configs, workloads, the
// experiment, a SCALE-Sim cfg), an override no file knows is an error with a
// did-you-mean, --scalesim-cfg runs work from any directory, and a run never
// replaces an existing report silently.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/experiment/common.h"

namespace {

using namespace xt;

// One GEMM of rows x 16 x 16 (params.rows, default 16) on the 8x8 test TPU, int8.
std::string param_experiment(const std::string& dir) {
  write(dir + "/w.yaml",
        "kind: workload\nname: w\nparams: {rows: 16}\nlayers:\n  - {name: g, op: gemm, m: rows, n: 16, k: 16}\n");
  write(dir + "/exp.yaml", "kind: experiment\nname: tiny\nenergy: " + kSrc +
                               "/configs/energy/horowitz_45nm.yaml\naccelerators:\n  - " + kSrc +
                               "/configs/accelerators/tpu_small.yaml\nworkloads:\n  - w.yaml\nprecisions: [int8]\n");
  return dir + "/exp.yaml";
}

nlohmann::json summary(const std::string& dir) { return nlohmann::json::parse(slurp(dir + "/summary.json")); }

const std::string kScaleCfg = kSrc + "/workloads/scalesim/scale.cfg";

}  // namespace

TEST_CASE("an override reaches the file it names: accelerator, workload parameter, experiment key", "[cli][overrides]") {
  const std::string dir = temp_dir();
  const std::string exp = param_experiment(dir);
  auto base = xpusim("run " + exp + " -q -o " + dir + "/a");
  auto changed = xpusim("run " + exp + " -q -o " + dir +
                        "/b -p mxu.rows=16 -p mxu.cols=16 -p mxu.weight_load_cycles=16 -p experiment.fidelity=timing");
  auto flag = xpusim("run " + exp + " -q -o " + dir + "/c --fidelity timing -p workload.params.rows=40");
  INFO(base.out << changed.out << flag.out);
  REQUIRE(base.code == 0);
  REQUIRE(changed.code == 0);
  REQUIRE(flag.code == 0);
  const auto a = summary(dir + "/a"), b = summary(dir + "/b"), c = summary(dir + "/c");
  // Accelerator: K = N = 16 on an 8x8 array is 2 x 2 = 4 weight tiles; on 16x16, 1.
  CHECK(a["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 4);
  CHECK(b["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 1);
  // Workload: m = rows, so 16 x 16 x 16 = 4096 MACs, and 40 x 16 x 16 = 10240.
  CHECK(a["runs"][0]["layers"][0]["macs"] == 4096);
  CHECK(c["runs"][0]["layers"][0]["macs"] == 10240);
  CHECK(c["manifest"]["workload_overrides"] == nlohmann::json::array({"workload.params.rows=40"}));
  // Experiment: the fidelity, by -p experiment.fidelity or by --fidelity.
  CHECK(a["manifest"]["fidelity"] == "tile");
  CHECK(b["manifest"]["fidelity"] == "timing");
  CHECK(c["manifest"]["fidelity"] == "timing");
}

TEST_CASE("an override of a key that exists nowhere is an error with a did-you-mean", "[cli][overrides]") {
  const std::string dir = temp_dir();
  const std::string exp = param_experiment(dir);
  const std::string out = " -q -o " + dir + "/out";
  auto acc = xpusim("run " + exp + out + " -p mxu.rowz=16");
  CHECK(acc.code == 1);
  CHECK_THAT(acc.out, Catch::Contains("command line (-p mxu.rowz=16): mxu.rowz: unknown key (did you mean 'rows'?)"));
  auto wl = xpusim("run " + exp + out + " -p workload.params.rosw=4");
  CHECK(wl.code == 1);
  CHECK_THAT(wl.out, Catch::Contains("command line (-p workload.params.rosw=4): params.rosw:") &&
                         Catch::Contains("(did you mean 'rows'?)"));
  auto ex = xpusim("run " + exp + out + " -p experiment.fidelty=pe");
  CHECK(ex.code == 1);
  CHECK_THAT(ex.out,
             Catch::Contains("command line (-p experiment.fidelty=pe): fidelty: unknown key (did you mean 'fidelity'?)"));
  // An experiment key without its prefix: the corrected form, not "unknown key".
  auto bare = xpusim("run " + exp + out + " -p params.rows=4");
  CHECK(bare.code == 1);
  CHECK_THAT(bare.out, Catch::Contains("write -p workload.params.rows=4"));
  // An experiment override given to an accelerator config alone is blamed on
  // the command line, not on a line of the config.
  auto val = xpusim("validate " + kSrc + "/configs/accelerators/v100.yaml -p experiment.fidelity=timing");
  CHECK(val.code == 1);
  CHECK_THAT(val.out, Catch::Contains("command line (-p experiment.fidelity=timing): no experiment or sweep"));
  CHECK_THAT(val.out, !Catch::Contains("unknown key"));
  auto cfg = xpusim("validate " + kScaleCfg + " -p architecture_presets.ArrayHieght=16");
  CHECK(cfg.code == 1);
  CHECK_THAT(cfg.out, Catch::Contains("command line (-p architecture_presets.ArrayHieght=16): "
                                      "architecture_presets.ArrayHieght: unknown key in [architecture_presets] "
                                      "(did you mean 'ArrayHeight'?)"));
  CHECK(xpusim("validate " + kSrc + "/workloads/nets/mlp0.yaml -p workload.params.batch=8").code == 0);
}

TEST_CASE("validate understands SCALE-Sim's own cfg files", "[cli][overrides]") {
  auto r = xpusim("validate " + kScaleCfg + " " + kSrc + "/workloads/scalesim/tpu_v1.cfg");
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("a SCALE-Sim cfg run works outside the source tree, with overrides of the cfg and the topology",
          "[cli][overrides]") {
  const std::string dir = temp_dir();
  // One 64^3 GEMM on scale.cfg's output-stationary array: K > rows, so each
  // block of at most `rows` output rows streams every (K chunk, N tile)
  // weight tile once (the partial sums stay in the PEs over the whole K).
  // 32x32: 2 blocks x 2 chunks x 2 tiles = 8; 16x16 with batch 2 (M = 128):
  // 8 blocks x 4 x 4 = 128.
  write(dir + "/g.csv", "Layer, M, N, K,\nG1, 64, 64, 64,\n");
  // From `dir`, outside the source tree.
  auto from_dir = [&](const std::string& args) { return sh("cd " + dir + " && " + XPUSIM_BINARY + " " + args); };
  auto base = from_dir("run --scalesim-cfg " + kScaleCfg + " --topology g.csv -q");
  INFO(base.out);
  REQUIRE(base.code == 0);
  // The bundled energy table is found from the binary, the report lands under the current directory.
  const std::string out = dir + "/reports/scale_example_run_32x32_os_g";
  const auto a = summary(out);
  CHECK(a["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 8);
  CHECK(a["runs"][0]["fidelity"] == "timing");  // SCALE-Sim's default: no values
  CHECK(access((out + "/manifest.json").c_str(), F_OK) == 0);
  CHECK_THAT(slurp(out + "/report.md"), Catch::Contains("xpusim 0.1.0 (revision"));

  auto small = from_dir("run --scalesim-cfg " + kScaleCfg + " --topology g.csv -q -o small --trace --fidelity tile " +
                        "-p architecture_presets.ArrayHeight=16 -p architecture_presets.ArrayWidth=16 " +
                        "-p workload.params.batch=2");
  INFO(small.out);
  REQUIRE(small.code == 0);
  const auto b = summary(dir + "/small");
  CHECK(b["runs"][0]["layers"][0]["stats"]["tpu"]["mxu"]["weight_tiles"] == 128);
  CHECK(b["runs"][0]["layers"][0]["macs"] == 2 * 64 * 64 * 64);  // batch 2 doubles M
  CHECK(b["runs"][0]["layers"][0]["verified"] != "");            // tile fidelity checks values
  CHECK(b["runs"][0]["overrides"].size() == 2);
  CHECK(access((dir + "/small/trace.json").c_str(), F_OK) == 0);
}

TEST_CASE("a filter SRAM deeper than the weight FIFO is clamped with a warning", "[cli][overrides]") {
  const std::string dir = temp_dir();
  write(dir + "/g.csv", "Layer, M, N, K,\nG1, 8, 8, 8,\n");
  // 4096 KiB over 32 x 32 one-byte weights = 4096 tiles > the FIFO's 64.
  auto r = xpusim("validate " + kScaleCfg + " -p architecture_presets.FilterSramSzkB=4096");
  CHECK(r.code == 0);
  auto run = xpusim("run --scalesim-cfg " + kScaleCfg + " --topology " + dir + "/g.csv -o " + dir +
                    "/out -p architecture_presets.FilterSramSzkB=4096");
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("FilterSramSzkB 4096 holds 4096 weight tiles of 32x32; the weight FIFO is "
                                      "clamped to 64"));
}

TEST_CASE("a run never replaces a report silently", "[cli][overrides]") {
  const std::string dir = temp_dir();
  const std::string exp = param_experiment(dir);
  REQUIRE(xpusim("run " + exp + " -q -o " + dir + "/r").code == 0);
  auto again = xpusim("run " + exp + " -o " + dir + "/r");
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("writing " + dir + "/r-2 instead"));
  CHECK_THAT(again.out, Catch::Contains("report: " + dir + "/r-2/report.md"));
  auto forced = xpusim("run " + exp + " --force -o " + dir + "/r");
  CHECK(forced.code == 0);
  CHECK_THAT(forced.out, Catch::Contains("replacing it (--force)"));
  CHECK(access((dir + "/r-3").c_str(), F_OK) != 0);
}

TEST_CASE("help lists every subcommand with an example", "[cli]") {
  auto h = xpusim("--help");
  CHECK(h.code == 0);
  for (const char* example : {"xpusim run configs/", "xpusim run --scalesim-cfg", "xpusim validate", "xpusim sweep",
                              "docs/CONFIG.md"})
    CHECK_THAT(h.out, Catch::Contains(example));
  // run, validate and sweep explain the override forms.
  for (const char* sub : {"run", "validate", "sweep"}) {
    auto s = xpusim(std::string(sub) + " --help");
    CHECK(s.code == 0);
    CHECK_THAT(s.out, Catch::Contains("-p mxu.rows=128") && Catch::Contains("-p workload.params.batch=16") &&
                          Catch::Contains("-p experiment.fidelity=timing"));
  }
}
