// Limits on user input are validation errors at the value that crosses them
// (file:line:col: key.path: message), never a crash, a hang or runaway
// memory. One test per defect class the fuzzers target; the same inputs are
// in tests/fuzz/regressions/ and replayed by fuzz_replay.
#include <catch2/catch.hpp>

#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "sim/config/document.h"
#include "sim/config/reader.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/runner.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/sweep.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/workload/expr.h"
#include "sim/workload/onnx/onnx_import.h"
#include "sim/workload/reference_executor.h"
#include "sim/workload/onnx/onnx_tensor.h"
#include "sim/workload/scalesim/scale_config.h"
#include "sim/workload/scalesim/topology.h"
#include "sim/workload/workload.h"
#include "sim/workload/yaml_elaborate.h"
#include "tests/fuzz/onnx_models.h"
#include "tests/tpu_network/net_test_util.h"

using namespace xpu;
using workload::eval_expr;

namespace {

std::string expr_error(const std::string& text) {
  std::string err;
  const auto v = eval_expr(text, [](const std::string&) { return std::nullopt; }, err);
  return v ? "" : err;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string workload_error(const std::string& text) { return error_of([&] { test::parse_net(text); }); }

// A scratch file removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& suffix, const std::string& content = "") {
    path = "/tmp/xpusim_limits_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + suffix;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("INT64_MIN / -1 is an overflow error, not SIGFPE", "[limits][expr]") {
  // -9223372036854775807 - 1 is INT64_MIN; its quotient by -1 is 2^63, which
  // does not fit (x86 traps on it), for '/', '//' and '%' alike.
  const std::string min = "(-9223372036854775807 - 1)";
  CHECK_THAT(expr_error(min + " / -1"), Catch::StartsWith("integer overflow"));
  CHECK_THAT(expr_error(min + " // -1"), Catch::StartsWith("integer overflow"));
  CHECK_THAT(expr_error(min + " % -1"), Catch::StartsWith("integer overflow"));
  // Other divisions of INT64_MIN still work: INT64_MIN / 1 and // 2.
  std::string err;
  CHECK(eval_expr(min + " / 1", [](const std::string&) { return std::nullopt; }, err) == INT64_MIN);
  CHECK(eval_expr(min + " // 2", [](const std::string&) { return std::nullopt; }, err) == INT64_MIN / 2);
}

TEST_CASE("expression nesting has a depth limit", "[limits][expr]") {
  // Each '(' is one level (unary -> primary -> expr), so kMaxExprDepth - 1
  // parentheses around a number are the deepest allowed (the number is the
  // last level).
  const int ok = workload::kMaxExprDepth - 1;
  std::string err;
  CHECK(eval_expr(std::string(size_t(ok), '(') + "7" + std::string(size_t(ok), ')'),
                  [](const std::string&) { return std::nullopt; }, err) == 7);
  const std::string deep = std::string(20000, '(') + "1" + std::string(20000, ')');
  CHECK_THAT(expr_error(deep), Catch::StartsWith("nested more than 200 levels deep at column 201"));
  CHECK_THAT(expr_error(std::string(20000, '-') + "1"), Catch::StartsWith("nested more than 200 levels deep"));
  // The message quotes a bounded excerpt, not 40,000 characters.
  CHECK(expr_error(deep).size() < 300);
}

TEST_CASE("YAML nesting overflow is a located, clear error", "[limits][yaml]") {
  const std::string text = "kind: workload\nx: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  const std::string err = error_of([&] { config::Document::parse(text, "deep.yaml"); });
  // Line 2; yaml-cpp stops at the 500th '[' (column 4 + 500 = 504 give or take its own counting).
  CHECK_THAT(err, Catch::StartsWith("deep.yaml:2:"));
  CHECK_THAT(err, Catch::Contains("collections nested more than 500 levels deep"));
  CHECK_THAT(err, !Catch::Contains("bad file"));
}

TEST_CASE("input files must be regular files of bounded size", "[limits][files]") {
  CHECK(error_of([] { config::read_input_file("/dev/zero"); }) ==
        "/dev/zero: is not a regular file (a device, FIFO or socket cannot be an input)");
  CHECK(error_of([] { config::Document::load("/dev/zero"); }) ==
        "/dev/zero: is not a regular file (a device, FIFO or socket cannot be an input)");
  CHECK_THAT(error_of([] { workload::scalesim::read_topology("/dev/zero"); }), Catch::Contains("not a regular file"));
  CHECK_THAT(error_of([] { workload::import_onnx("/dev/zero"); }), Catch::Contains("not a regular file"));
  // A sparse file one byte over the 16 MiB text limit.
  TempFile big(".yaml");
  REQUIRE(::truncate(big.path.c_str(), off_t(config::kMaxTextFileBytes + 1)) == 0);
  CHECK(error_of([&] { config::Document::load(big.path); }) ==
        big.path + ": is 16777217 bytes, more than the 16 MiB an input file may have");
}

TEST_CASE("repeat has an upper bound", "[limits][workload]") {
  const std::string net = R"(kind: workload
name: r
params: {batch: 8}
inputs:
  - {name: x, shape: [1, 8]}
layers:
  - {op: relu, repeat: batch * 1000000}
)";
  // batch * 1000000 = 8000000 > kMaxRepeat = 10000, reported at the repeat value (line 7, column 24).
  CHECK(workload_error(net) == "net.yaml:7:24: layers[0].repeat: repeat must be <= 10000, got 8000000");
}

TEST_CASE("repeats multiplied through blocks are bounded", "[limits][workload]") {
  // 10^4 x 10^4 x 10^4 = 10^12 instances of an omitted (if: 0) layer: no
  // layer is built, yet unbounded this would run for hours. The instances
  // visited pass kMaxInstances = 10^5 and the error names the repeat being
  // expanded then (the innermost call, line 11).
  const std::string net = R"(kind: workload
name: r
inputs:
  - {name: x, shape: [1, 8]}
blocks:
  inner:
    layers:
      - {op: relu, if: 0}
  middle:
    layers:
      - {block: inner, repeat: 10000}
  outer:
    layers:
      - {block: middle, repeat: 10000}
layers:
  - {block: outer, repeat: 10000}
)";
  CHECK_THAT(workload_error(net), Catch::Contains("more than 100000 layer instances"));
  CHECK_THAT(workload_error(net), Catch::StartsWith("net.yaml:11:"));
}

TEST_CASE("the number of layers is bounded", "[limits][workload]") {
  // Two relus per block call x 5001 calls = 10002 layers > kMaxWorkloadLayers = 10000.
  const std::string net = R"(kind: workload
name: r
inputs:
  - {name: x, shape: [1, 8]}
blocks:
  two:
    layers:
      - {op: relu}
      - {op: relu}
layers:
  - {block: two, repeat: 5001}
)";
  CHECK_THAT(workload_error(net), Catch::Contains("would have more than 10000 layers, the limit"));
}

TEST_CASE("block nesting is bounded", "[limits][workload]") {
  // b0 calls b1 calls ... b99: 100 levels > kMaxBlockDepth = 64.
  std::string net = "kind: workload\nname: n\ninputs:\n  - {name: x, shape: [1, 8]}\nblocks:\n";
  for (int i = 0; i < 100; ++i)
    net += "  b" + std::to_string(i) + ":\n    layers:\n      - " +
           (i == 99 ? std::string("{op: relu}") : "{block: b" + std::to_string(i + 1) + "}") + "\n";
  net += "layers:\n  - {block: b0}\n";
  CHECK_THAT(workload_error(net), Catch::Contains("blocks nested more than 64 deep, the limit"));
}

TEST_CASE("a conv pad of 10^8 is a tensor-size error, not 3 GB of memory", "[limits][workload]") {
  const std::string net = R"(kind: workload
name: p
inputs:
  - {name: x, shape: [1, 3, 8, 8]}
layers:
  - {op: conv2d, out: 4, kernel: 3, pad: 100000000}
)";
  // Output 1 x 4 x (8 + 2e8 - 2) x (8 + 2e8 - 2) fp32 = 6.4e17 bytes, far
  // above the 1 TiB that any fidelity builds.
  CHECK_THAT(workload_error(net),
             Catch::StartsWith("net.yaml:6:10: layers[0]: layer 'conv2d_0' (conv2d): tensor 'conv2d_0' "
                               "(1x4x200000006x200000006, fp32) would bring the workload's tensors past 1 TiB, "
                               "the limit at any fidelity"));
  // A pad beyond kMaxDimension = 2^31 cannot even be added to the input size safely.
  const std::string huge = R"(kind: workload
name: p
inputs:
  - {name: x, shape: [1, 3, 8, 8]}
layers:
  - {op: conv2d, out: 4, kernel: 3, pad: 4611686018427387904}
)";
  CHECK_THAT(workload_error(huge), Catch::Contains("pads must be <= 2147483647 along H, got 4611686018427387904"));
}

TEST_CASE("total tensor bytes are bounded: 1 TiB to build, 4 GiB where values are held", "[limits][workload]") {
  // One relu on an input of the given shape (fp32); the relu sits on line 6.
  auto relu_on = [](const std::string& shape) {
    return "kind: workload\nname: t\ninputs:\n  - {name: x, shape: [" + shape + "]}\nlayers:\n  - {op: relu}\n";
  };
  // x: 2^19 x 2^19 fp32 = 2^40 bytes, exactly kMaxWorkloadTensorBytes:
  // allowed (no memory is allocated to build or validate it). The relu's
  // output would add 1 TiB more.
  const std::string net = relu_on("524288, 524288");
  CHECK_THAT(workload_error(net), Catch::StartsWith("net.yaml:6:10: layers[0]: layer 'relu_0' (relu): tensor 'relu_0' "
                                                    "(524288x524288, fp32) would bring the workload's tensors past "
                                                    "1 TiB, the limit at any fidelity"));
  // 1024^3 fp32 = 4 GiB in + 4 GiB out = 8 GiB: built (timing fidelity
  // holds no values), but past kMaxValueTensorBytes = 4 GiB at the relu.
  const std::string big = relu_on("1024, 1024, 1024");
  const workload::Workload w = test::parse_net(big);
  CHECK(w.tensor_bytes() == uint64_t(8) << 30);
  CHECK(w.values_limit_tensor() == "relu_0");
  CHECK(w.values_limit_layer() == 0);
  CHECK(error_of([&] { workload::check_values_fit(w); }) ==
        "net.yaml:6:10: layers[0]: layer 'relu_0' (relu): tensor 'relu_0' (1024x1024x1024, fp32) brings the "
        "workload's tensors past 4 GiB (8192 MiB in all), the limit where every tensor's values are held (tile and "
        "pe fidelity, the reference executor); fidelity: timing holds none");
  // The reference executor refuses it before allocating anything.
  CHECK_THROWS_AS(workload::execute(w, {}), config::ConfigError);
  // 2 GiB in + 2 GiB out = 4 GiB: at the values limit, accepted.
  const std::string fits = relu_on("1024, 1024, 512");
  const workload::Workload f = test::parse_net(fits);
  CHECK(f.tensor_bytes() == workload::kMaxValueTensorBytes);
  CHECK(f.values_limit_tensor().empty());
  CHECK_NOTHROW(workload::check_values_fit(f));
  // An input alone past 4 GiB: 1024 x 1024 x 1025 fp32 = 4 GiB + 4 MiB.
  const std::string input = relu_on("1024, 1024, 1025");
  CHECK(error_of([&] { workload::check_values_fit(test::parse_net(input)); }) ==
        "net.yaml: inputs: tensor 'x' (1024x1024x1025, fp32) brings the workload's tensors past 4 GiB (8200 MiB in "
        "all), the limit where every tensor's values are held (tile and pe fidelity, the reference executor); "
        "fidelity: timing holds none");
}

TEST_CASE("a layer's multiply-accumulates are bounded", "[limits][workload]") {
  // 2^17 x 2^17 x 2^17 = 2^51 MACs > kMaxLayerMacs = 2^50, on tensors of
  // 32 GiB each (fp16 A, B and C: 96 GiB, within the 1 TiB build limit).
  const std::string net = R"(kind: workload
name: g
dtype: fp16
layers:
  - {name: g, op: gemm, m: 131072, n: 131072, k: 131072}
)";
  CHECK_THAT(workload_error(net), Catch::StartsWith("net.yaml:5:12: layers[0]: layer 'g' (gemm): more than 2^50 "
                                                    "multiply-accumulates (131072x131072x131072), the limit"));
}

TEST_CASE("a workload past 4 GiB runs at timing fidelity and is refused where values are held",
          "[limits][workload][experiment]") {
  const std::string root = XPUSIM_SOURCE_DIR;
  // 1024^3 fp16 = 2 GiB per tensor: x, its two flattens = 6 GiB; the
  // second flatten takes the total past 4 GiB. Both are views on the GPU
  // (no data moves), so the timing run is instant and allocates nothing.
  TempFile net(".yaml", R"(kind: workload
name: views
dtype: fp16
inputs:
  - {name: x, shape: [1024, 1024, 1024]}
layers:
  - {name: f1, op: flatten}
  - {name: f2, op: flatten}
)");
  TempFile exp(".yaml", "kind: experiment\nname: big\nenergy: " + root + "/configs/energy/horowitz_45nm.yaml\n"
                        "fidelity: timing\naccelerators:\n  - {file: " + root + "/configs/accelerators/v100.yaml, "
                        "precisions: [fp16]}\nworkloads: [" + net.path + "]\n");
  experiment::RunOptions ro;
  ro.quiet = true;
  const auto timing = experiment::run_experiment_results(experiment::load_experiment(exp.path), ro);
  REQUIRE(timing.runs.size() == 1);
  CHECK(timing.runs[0].layers.size() == 2);
  // At tile fidelity: refused before anything is simulated, at the layer.
  const std::string err = error_of(
      [&] { experiment::run_experiment_results(experiment::load_experiment(exp.path, {"experiment.fidelity=tile"}), ro); });
  CHECK_THAT(err, Catch::StartsWith(net.path + ":8:12: layers[1]: layer 'f2' (flatten): tensor 'f2' (1024x1048576, "
                                    "fp16) brings the workload's tensors past 4 GiB (6144 MiB in all)"));
  CHECK_THAT(err, Catch::Contains("fidelity: timing holds none"));
}

TEST_CASE("SCALE-Sim cfg array and SRAM sizes are capped like the YAML config", "[limits][scalesim]") {
  std::ifstream in(std::string(XPUSIM_SOURCE_DIR) + "/workloads/scalesim/scale.cfg");
  std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(cfg.find("ArrayWidth:     32") != std::string::npos);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string c = cfg;
    c.replace(c.find(from), from.size(), to);
    return c;
  };
  // 4096 is the YAML config's mxu.cols maximum: accepted.
  CHECK(workload::scalesim::parse_scale_config(with("ArrayWidth:     32", "ArrayWidth: 4096"), "s.cfg").array_cols == 4096);
  CHECK(error_of([&] { workload::scalesim::parse_scale_config(with("ArrayWidth:     32", "ArrayWidth: 16777216"), "s.cfg"); }) ==
        "s.cfg:9: architecture_presets.ArrayWidth: must be <= 4096, got 16777216");
  // 2 GiB per SRAM keeps the mapped unified buffer (ifmap + ofmap) within 4 GiB.
  CHECK_THAT(error_of([&] { workload::scalesim::parse_scale_config(with("IfmapSramSzkB:  64", "IfmapSramSzkB: 4194304"), "s.cfg"); }),
             Catch::Contains("architecture_presets.IfmapSramSzkB: must be <= 2097152, got 4194304"));
}

TEST_CASE("SCALE-Sim topology products are checked", "[limits][scalesim]") {
  // Each field is within 2^24, but the gemm's A operand is 2^48 int8 bytes.
  workload::scalesim::TopologyOptions opts;
  const std::string err = error_of([&] {
    workload::scalesim::parse_topology("Layer, M, N, K,\nfc1, 16777216, 16777216, 16777216,\n", "t.csv", opts);
  });
  CHECK_THAT(err, Catch::StartsWith("t.csv:2:1: fc1: layer 'fc1' (gemm): tensor 'fc1.a' (16777216x16777216"));
  // A conv whose ifmap alone is too large: 2^24 x 2^24 x 1 channel.
  const std::string conv =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
      "c1, 16777216, 16777216, 3, 3, 1, 1, 1,\n";
  CHECK_THAT(error_of([&] { workload::scalesim::parse_topology(conv, "c.csv", opts); }),
             Catch::StartsWith("c.csv:2: c1: tensor 'c1.ifmap' (1x1x16777216x16777216, int8) would bring"));
}

TEST_CASE("ONNX: a dimension of 2^31, NaN weights and nested graphs are located errors", "[limits][onnx]") {
  // 2^31 > kMaxDimension = 2^31 - 1.
  CHECK(error_of([] { workload::import_onnx_bytes(fuzz::onnx_big_input(int64_t(1) << 31), "big.onnx"); }) ==
        "big.onnx: tensor 'x' has a dimension > 2147483647: 1x2147483648");
  // 2^31 - 2^20 floats is within every dimension limit: 8 GiB in and out
  // builds (timing fidelity), but the input alone is past the 4 GiB where
  // values are held.
  const workload::Workload big =
      workload::import_onnx_bytes(fuzz::onnx_big_input((int64_t(1) << 31) - (1 << 20)), "big.onnx");
  CHECK(big.tensor_bytes() == 2 * 4 * ((uint64_t(1) << 31) - (1 << 20)));
  CHECK_THAT(error_of([&] { workload::check_values_fit(big); }),
             Catch::StartsWith("big.onnx: inputs: tensor 'x' (1x2146435072, fp32) brings the workload's tensors past "
                               "4 GiB"));
  // NaN: named by file and initializer, instead of "int8 scale_for: max_abs is NaN" at run time.
  CHECK(error_of([] { workload::import_onnx_bytes(fuzz::onnx_gemm(std::nanf("")), "nan.onnx"); }) ==
        "nan.onnx: initializer 'w': element 0 is NaN: tensor values must be finite");
  CHECK(error_of([] { workload::import_onnx_bytes(fuzz::onnx_gemm(INFINITY), "inf.onnx"); }) ==
        "inf.onnx: initializer 'w': element 0 is infinite: tensor values must be finite");
  // protobuf stops parsing at 100 nested messages: graphs in attributes are bounded there.
  CHECK(error_of([] { workload::import_onnx_bytes(fuzz::onnx_nested_graphs(200), "deep.onnx"); }) ==
        "deep.onnx: not a serialized ONNX ModelProto");
  // A node without operands: a located error, not std::out_of_range.
  CHECK(error_of([] { workload::import_onnx_bytes(fuzz::onnx_node_without_input(), "c.onnx"); }) ==
        "c.onnx: node 'y' (Conv): has no (first) input");
  // The valid model imports.
  CHECK(workload::import_onnx_bytes(fuzz::onnx_gemm(), "ok.onnx").layers.size() == 1);
}

TEST_CASE("a sweep grid has a point limit", "[limits][sweep]") {
  // 8 axes x 10 values = 10^8 points > kMaxSweepPoints = 10^5.
  experiment::ExperimentConfig s;
  s.kind = "sweep";
  s.source_file = "s.yaml";
  for (int i = 0; i < 8; ++i)
    s.grid.push_back({"experiment.k" + std::to_string(i), {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {}});
  CHECK(experiment::sweep_point_count(s) == 100000000);
  CHECK(error_of([&] { experiment::expand_sweep(s); }) == "s.yaml: sweep: more than 100000 points, the limit");
  // Saturates instead of wrapping: 64 axes of 10 values.
  for (int i = 8; i < 64; ++i) s.grid.push_back({"experiment.k" + std::to_string(i), s.grid[0].values, {}});
  CHECK(experiment::sweep_point_count(s) == UINT64_MAX);
  // load_experiment reports it at the grid key, before anything is expanded.
  const std::string root = XPUSIM_SOURCE_DIR;
  std::string yaml = "kind: sweep\nname: s\nenergy: " + root + "/configs/energy/horowitz_45nm.yaml\n"
                     "accelerators: [" + root + "/configs/accelerators/tpu_small.yaml]\n"
                     "workloads: [" + root + "/workloads/gemm/gemm_suite.yaml]\nsweep:\n  grid:\n";
  for (int i = 0; i < 8; ++i) yaml += "    mxu.k" + std::to_string(i) + ": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
  TempFile f(".yaml", yaml);
  CHECK_THAT(error_of([&] { experiment::load_experiment(f.path, {}, {"sweep"}); }),
             Catch::Contains(f.path + ":8:5: sweep.grid: the sweep has more than 100000 points, the limit"));
}

TEST_CASE("values from an experiment's set: map are blamed on its line", "[limits][overrides]") {
  const std::string root = XPUSIM_SOURCE_DIR;
  TempFile f(".yaml", "kind: experiment\nname: e\nenergy: " + root + "/configs/energy/horowitz_45nm.yaml\n"
                      "accelerators:\n  - file: " + root + "/configs/accelerators/tpu_small.yaml\n"
                      "    set: {mxu.rows: abc}\nworkloads: [" + root + "/workloads/gemm/gemm_suite.yaml]\n");
  const auto e = experiment::load_experiment(f.path);
  REQUIRE(e.accelerators.size() == 1);
  // "abc" is on line 6, column 21 of the experiment file, not on the command line.
  CHECK(error_of([&] { config::load_tpu_config(e.accelerators[0].file, e.accelerators[0].overrides); }) ==
        f.path + ":6:21: mxu.rows: expected a positive integer, got \"abc\" (set for " + e.accelerators[0].file + ")");
  // Reports show the plain assignment.
  CHECK(config::plain_override(e.accelerators[0].overrides[0]) == "mxu.rows=abc");
  // A real -p is still the command line's fault.
  CHECK(error_of([&] { config::load_tpu_config(e.accelerators[0].file, {"mxu.rows=abc"}); }) ==
        "command line (-p mxu.rows=abc): mxu.rows: expected a positive integer, got \"abc\"");
}

TEST_CASE("an invalid sweep grid value is blamed on its line", "[limits][overrides]") {
  const std::string root = XPUSIM_SOURCE_DIR;
  TempFile f(".yaml", "kind: sweep\nname: s\nenergy: " + root + "/configs/energy/horowitz_45nm.yaml\n"
                      "accelerators: [" + root + "/configs/accelerators/tpu_small.yaml]\n"
                      "workloads: [" + root + "/workloads/gemm/gemm_suite.yaml]\n"
                      "sweep:\n  grid:\n    mxu.rows: [16, abc]\n");
  experiment::SweepOptions opts;
  // "abc" is the second value on line 8 (column 20); the point is named too.
  CHECK_THAT(error_of([&] { experiment::detail::plan_sweep(f.path, opts); }),
             Catch::StartsWith(f.path + ":8:20: mxu.rows: expected a positive integer, got \"abc\" (set for " + root +
                               "/configs/accelerators/tpu_small.yaml) (sweep point 1 "));
}
