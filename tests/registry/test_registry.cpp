// Machine kinds and input formats are looked up in registries: a kind
// registered from this binary only (dummy_machine.cpp) is found by
// make_backend, `validate` and experiments; unknown kinds and extensions are
// errors that name the known ones.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "sim/cli/validate.h"
#include "sim/common/errors.h"
#include "sim/config/document.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/backend.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/runner.h"
#include "sim/workload/input_format.h"
#include "sim/workload/workload.h"

using namespace xpu;
using Catch::Matchers::Contains;

namespace {

const std::string kSrc = XPUSIM_SOURCE_DIR;

std::string temp_dir() {
  char tmpl[] = "/tmp/xpusim_registry_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

energy::EnergyTable table() {
  return energy::EnergyTable::from_document(config::Document::load(kSrc + "/configs/energy/horowitz_45nm.yaml"));
}

std::string all_messages(const std::vector<config::Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.to_string() + "\n";
  return s;
}

const char* kDummy = "kind: dummy\nname: toy\nclock_mhz: 500\nmacs_per_cycle: 100\ndram_gbps: 12.5\n";

}  // namespace

TEST_CASE("registry: tpu, gpu and the test-only dummy kind are registered", "[registry]") {
  const auto kinds = experiment::machine_kinds();
  CHECK(kinds == std::vector<std::string>{"dummy", "gpu", "tpu"});
  REQUIRE(experiment::find_machine("dummy") != nullptr);
  CHECK(experiment::find_machine("npu") == nullptr);
}

TEST_CASE("registry: registering a kind twice is an internal error", "[registry]") {
  const experiment::MachineKind copy = *experiment::find_machine("dummy");
  CHECK_THROWS_AS(experiment::register_machine(copy), InternalError);
}

TEST_CASE("registry: make_backend finds a kind registered from the test binary", "[registry]") {
  const std::string dir = temp_dir();
  const std::string file = write(dir + "/toy.yaml", kDummy);
  auto be = experiment::make_backend(file, {"macs_per_cycle=64"}, table(), "acc0");
  CHECK(be->kind() == "dummy");
  CHECK(be->name() == "toy");
  CHECK(be->peak_macs_per_cycle(DType::int8) == 64);  // the -p override
  CHECK(be->dram_gbps() == 12.5);
  // 2 ops per MAC x 64 MACs/cycle x 500 MHz = 64e9 ops/s.
  CHECK(be->peak_ops_per_second(DType::bf16) == 64e9);
  CHECK(be->matrix_unit().cols == 64);
  CHECK_FALSE(be->matrix_unit().pe_waveforms);
}

TEST_CASE("registry: validate and experiments accept the dummy kind and type-check its config", "[registry]") {
  const std::string dir = temp_dir();
  const std::string good = write(dir + "/toy.yaml", kDummy);
  CHECK(cli::validate_file(good, {}).empty());
  const std::string bad = write(dir + "/bad.yaml", "kind: dummy\nname: toy\nclock_mhz: 500\nmacs_per_cycel: 100\n");
  const std::string msgs = all_messages(cli::validate_file(bad, {}));
  CHECK_THAT(msgs, Contains("bad.yaml:4:1: macs_per_cycel: unknown key (did you mean 'macs_per_cycle'?)"));

  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - {name: g, op: gemm, m: 10, n: 20, k: 30}\n");
  const std::string exp = write(dir + "/exp.yaml", "kind: experiment\nname: toy_exp\nenergy: " + kSrc +
                                                       "/configs/energy/horowitz_45nm.yaml\n"
                                                       "accelerators: [toy.yaml]\nworkloads: [w.yaml]\n");
  INFO(all_messages(cli::validate_file(exp, {})));
  CHECK(cli::validate_file(exp, {}).empty());

  // And the runner runs it: 10 x 20 x 30 = 6000 MACs at 100 per cycle = 60 cycles.
  experiment::RunOptions ro;
  ro.quiet = true;
  const auto result = experiment::run_experiment_results(experiment::load_experiment(exp), ro);
  REQUIRE(result.runs.size() == 1);
  CHECK(result.runs[0].peak_dram_gbps == 12.5);
  CHECK(result.runs[0].peak_macs_per_cycle == 100);
  REQUIRE(result.runs[0].layers.size() == 1);
  CHECK(result.runs[0].layers[0].cycles == 60);
}

TEST_CASE("registry: an unknown kind names the known ones, with a suggestion", "[registry]") {
  const std::string dir = temp_dir();
  const std::string file = write(dir + "/acc.yaml", "name: x\nkind: tpuu\n");
  try {
    experiment::make_backend(file, {}, table(), "acc0");
    FAIL("no error");
  } catch (const config::ConfigError& e) {
    CHECK_THAT(e.what(), Contains("acc.yaml:2:7: kind: expected an accelerator config, got kind \"tpuu\" "
                                  "(did you mean 'tpu'?); known kinds: dummy, gpu, tpu"));
  }
  // validate knows the file kinds besides machines as well.
  CHECK_THAT(all_messages(cli::validate_file(file, {})),
             Contains("unknown kind \"tpuu\" (did you mean 'tpu'?); known kinds: dummy, gpu, tpu, energy_table, "
                      "workload, experiment, sweep"));
}

TEST_CASE("registry: a file without kind is a located config error, not a yaml-cpp exception", "[registry]") {
  const std::string dir = temp_dir();
  const std::string file = write(dir + "/acc.yaml", "name: x\nmxu: {rows: 8}\n");
  CHECK_THROWS_WITH(experiment::make_backend(file, {}, table(), "acc0"),
                    Contains("acc.yaml:1:1: kind: missing 'kind' (one of dummy, gpu, tpu)"));
  CHECK_THAT(all_messages(cli::validate_file(file, {})), Contains("acc.yaml:1:1: kind: missing 'kind'"));
  const std::string list = write(dir + "/list.yaml", "kind: [tpu]\nname: x\n");
  CHECK_THROWS_WITH(experiment::make_backend(list, {}, table(), "acc0"),
                    Contains("list.yaml:1:7: kind: expected a kind name"));
}

TEST_CASE("registry: backends answer what the runner needs without YAML", "[registry]") {
  auto tpu = experiment::make_backend(kSrc + "/configs/accelerators/tpu_small.yaml", {}, table(), "acc0");
  CHECK(tpu->dram_gbps() == 16);  // tpu_small.yaml dram.bandwidth_gbps
  CHECK(tpu->matrix_unit().rows == 8);
  CHECK(tpu->matrix_unit().cols == 8);
  CHECK(tpu->matrix_unit().pe_waveforms);
  // The 8x8 array at one int8 step per cycle: 64 MACs/cycle, x 2 ops x 1000 MHz.
  CHECK(tpu->peak_ops_per_second(DType::int8) == 128e9);
}

TEST_CASE("registry: input formats by extension, case-insensitive, unknown ones named", "[registry]") {
  using workload::find_input_format;
  REQUIRE(find_input_format("a/alexnet.CSV") != nullptr);
  CHECK(find_input_format("a/alexnet.CSV")->name == "SCALE-Sim topology");
  CHECK(find_input_format("m.OnNx")->name == "ONNX model");
  CHECK(find_input_format("x.YML")->yaml);
  CHECK(find_input_format("scale.Cfg")->name == "SCALE-Sim config");
  CHECK(find_input_format("dir.csv/file") == nullptr);  // the dot is in a directory name
  CHECK_THROWS_WITH(workload::input_format_of("net.txt"),
                    Contains("net.txt: unknown file extension \".txt\": expected one of .yaml, .yml, .onnx, .csv, .json, .cfg"));
  CHECK_THROWS_WITH(workload::load_workload(kSrc + "/workloads/scalesim/scale.cfg"),
                    Contains("not a workload: a SCALE-Sim config describes a machine"));

  // An upper-case copy loads like the original (5 FC layers of 200 x 2000 x 2000).
  const std::string dir = temp_dir();
  std::ifstream in(kSrc + "/workloads/scalesim/mlp0_gemm.csv");
  std::ofstream(dir + "/MLP0.CSV") << in.rdbuf();
  CHECK(workload::load_workload(dir + "/MLP0.CSV").macs() == 5ull * 200 * 2000 * 2000);
  CHECK(cli::validate_file(dir + "/MLP0.CSV", {}).empty());
}

TEST_CASE("registry: validate understands SCALE-Sim cfg files", "[registry]") {
  CHECK(cli::validate_file(kSrc + "/workloads/scalesim/scale.cfg", {}).empty());
  CHECK(cli::validate_file(kSrc + "/workloads/scalesim/tpu_v1.cfg", {}).empty());
  const std::string dir = temp_dir();
  const std::string bad = write(dir + "/bad.CFG", "[architecture_presets]\nArrayHeigth: 32\n");
  CHECK_THAT(all_messages(cli::validate_file(bad, {})), Contains("bad.CFG:2"));
  // -p on a cfg names its section.Key; an accelerator config key is not one.
  CHECK_THAT(all_messages(cli::validate_file(kSrc + "/workloads/scalesim/scale.cfg", {"mxu.rows=8"})),
             Contains("command line (-p mxu.rows=8): mxu: unknown section [mxu]") &&
                 Contains("architecture_presets.ArrayHeight=64"));
  CHECK(cli::validate_file(kSrc + "/workloads/scalesim/scale.cfg", {"architecture_presets.ArrayHeight=64"}).empty());
}

TEST_CASE("registry: the GPU backend answers from its typed config", "[registry]") {
  auto gpu = experiment::make_backend(kSrc + "/configs/accelerators/gpu_small.yaml", {}, table(), "acc0");
  CHECK(gpu->kind() == "gpu");
  CHECK(gpu->dram_gbps() == 22.5);  // gpu_small.yaml dram.bandwidth_gbps (pin rate, before efficiency)
  // Volta's wmma m16n16k16 (tensor_core.mma: volta_hmma884).
  const auto unit = gpu->matrix_unit();
  CHECK(unit.rows == 16);
  CHECK(unit.cols == 16);
  CHECK(unit.depth == 16);
  CHECK_FALSE(unit.pe_waveforms);
}
