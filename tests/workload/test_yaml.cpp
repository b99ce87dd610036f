// The `kind: workload` YAML format: blocks, repeats, conditional layers,
// expressions, overrides, and its diagnostics (file:line:col: key: message).
#include <catch2/catch.hpp>

#include "sim/config/document.h"
#include "sim/config/reader.h"
#include "sim/workload/workload.h"

using namespace xpu::workload;
namespace config = xpu::config;

namespace {

Workload parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  config::Document doc = config::Document::parse(text, "net.yaml");
  doc.apply_overrides(overrides);
  config::Diagnostics diags;
  Workload w;
  {
    config::Reader root(doc, diags);
    w = parse_workload(root);
  }
  diags.throw_if_any();
  return w;
}

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse(text, overrides);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* kResidual = R"(kind: workload
name: tiny_resnet
params: {batch: 2, size: 8}
inputs:
  - {name: image, shape: [batch, 4, size, size]}
blocks:
  basic:
    params: {out: ~, stride: 1, project: 0}
    layers:
      - {name: conv1, op: conv2d, out: out, kernel: 3, stride: stride, pad: 1, bias: false}
      - {name: relu1, op: relu}
      - {name: conv2, op: conv2d, out: out, kernel: 3, pad: 1, bias: false}
      - {name: down, op: conv2d, input: in, out: out, kernel: 1, stride: stride, bias: false, if: project}
      - {name: add, op: add, input: [conv2, down]}
      - {name: relu2, op: relu}
layers:
  - {name: stage1, block: basic, repeat: 2, args: {out: 4}}
  - {name: stage2, block: basic, repeat: 2, args: {out: 8}, first: {stride: 2, project: 1}}
  - {op: global_avg_pool}
  - {op: flatten}
  - {name: fc, op: gemm, out: 10}
)";

}  // namespace

TEST_CASE("Blocks expand with repeat, first-repetition arguments and conditional layers") {
  const Workload w = parse(kResidual);
  CHECK(w.name == "tiny_resnet");
  CHECK(w.params.at("batch") == 2);
  // stage1.0 and stage1.1 have no projection: 5 layers each; stage2.0 has it.
  CHECK(w.find_layer("stage1.0.conv1"));
  CHECK_FALSE(w.find_layer("stage1.0.down"));
  const Layer* add = w.find_layer("stage1.0.add");
  REQUIRE(add);
  // Without the projection `down` stands for its input: the block's input.
  CHECK(add->inputs == std::vector<std::string>{"stage1.0.conv2", "image"});
  CHECK(w.find_layer("stage1.1.add")->inputs == std::vector<std::string>{"stage1.1.conv2", "stage1.0.relu2"});
  const Layer* down = w.find_layer("stage2.0.down");
  REQUIRE(down);
  CHECK(down->inputs.front() == "stage1.1.relu2");
  CHECK(down->out_shape == Shape{2, 8, 4, 4});
  CHECK(w.find_layer("stage2.0.conv1")->attrs.window.stride_h == 2);
  CHECK(w.find_layer("stage2.1.conv1")->attrs.window.stride_h == 1);
  CHECK_FALSE(w.find_layer("stage2.1.down"));
  // Automatic names: <op>_<index in its list>.
  CHECK(w.find_layer("global_avg_pool_2"));
  CHECK(w.find_layer("flatten_3"));
  CHECK(w.tensor("fc").shape == Shape{2, 10});
  CHECK(w.outputs == std::vector<std::string>{"fc"});
  // Parameters by hand (bias-free convs):
  // stage1: 2 blocks x 2 convs x (4*4*9) = 576; stage2.0: 8*4*9 + 8*8*9 + 8*4 (down) = 896;
  // stage2.1: 2 x 8*8*9 = 1152; fc 8*10 + 10 = 90.
  CHECK(w.param_count() == 576 + 896 + 1152 + 90);
}

TEST_CASE("Parameters are overridable with -p and scale the batch") {
  const Workload w = parse(kResidual, {"params.batch=16", "params.size=16"});
  CHECK(w.tensor("image").shape == Shape{16, 4, 16, 16});
  CHECK(w.find_layer("fc")->m == 16);
  const std::string e = error_of(kResidual, {"params.bacth=4"});
  CHECK_THAT(e, Catch::StartsWith("command line (-p params.bacth=4): params.bacth: parameter 'bacth' is set on the command line but never used"));
  CHECK_THAT(e, Catch::Contains("(did you mean 'batch'?)"));  // kResidual declares batch
}

TEST_CASE("Unknown keys, ops and names get did-you-mean diagnostics with file:line:col") {
  std::string e = error_of(R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 3, 8, 8]}]
layers:
  - {name: c, op: conv2d, out: 4, kernal: 3}
)");
  CHECK_THAT(e, Catch::Contains("net.yaml:5:35: layers[0].kernal: unknown key (did you mean 'kernel'?)"));
  e = error_of(R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 3, 8, 8]}]
layers:
  - {name: c, op: conv2, out: 4, kernel: 3}
)");
  CHECK_THAT(e, Catch::Contains("net.yaml:5:19: layers[0].op: expected one of"));
  CHECK_THAT(e, Catch::Contains("(did you mean 'conv2d'?)"));
  CHECK_THAT(e, !Catch::Contains("kernel"));  // an unknown op's keys are not reported too
  e = error_of(R"(kind: workload
name: n
params: {batch: 1}
inputs: [{name: x, shape: [bach, 3, 8, 8]}]
layers:
  - {op: relu}
)");
  CHECK_THAT(e, Catch::Contains("net.yaml:4:28: inputs[0].shape[0]: unknown name 'bach'"));
  CHECK_THAT(e, Catch::Contains("(did you mean 'batch'?)"));
  e = error_of(R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 8]}]
layers:
  - {name: a, op: relu}
  - {name: b, op: add, input: [a, xx]}
)");
  CHECK_THAT(e, Catch::Contains("net.yaml:6:31: layers[1].input: unknown tensor or layer 'xx' (did you mean 'x'?)"));
}

TEST_CASE("Shape errors inside a block name the instance, the block line and the call site") {
  const std::string text = R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 3, 4, 4]}]
blocks:
  b:
    params: {k: 3}
    layers:
      - {name: conv, op: conv2d, out: 8, kernel: k}
layers:
  - {name: ok, block: b}
  - {name: bad, block: b, args: {k: 9}}
)";
  const std::string e = error_of(text);
  CHECK_THAT(e, Catch::StartsWith("net.yaml:8:16: blocks.b.layers[0]: layer 'bad.conv' (conv2d): kernel larger than the padded input along H"));
  CHECK_THAT(e, Catch::Contains("in block 'b' as 'bad', called at layers[1], line 11"));
}

TEST_CASE("Block argument errors: missing, unknown, recursive") {
  const std::string head = R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 3, 4, 4]}]
blocks:
  b:
    params: {width: ~}
    layers:
      - {op: conv2d, out: width, kernel: 1}
)";
  CHECK_THAT(error_of(head + "layers:\n  - {block: b}\n"), Catch::Contains("block 'b' needs argument 'width'"));
  CHECK_THAT(error_of(head + "layers:\n  - {block: b, args: {widht: 3}}\n"),
             Catch::Contains("block 'b' has no parameter 'widht' (did you mean 'width'?)"));
  CHECK_THAT(error_of(head + "layers:\n  - {block: c}\n"), Catch::Contains("unknown block 'c'"));
  CHECK_THAT(error_of(head + "layers:\n  - {block: b, op: relu, args: {width: 3}}\n"),
             Catch::Contains("exactly one of 'op' or 'block'"));
  const std::string rec = R"(kind: workload
name: n
inputs: [{name: x, shape: [1, 3, 4, 4]}]
blocks:
  a:
    layers:
      - {block: a}
layers:
  - {block: a}
)";
  CHECK_THAT(error_of(rec), Catch::Contains("block 'a' calls itself"));
}

TEST_CASE("Values: exact division, pads, lists and bad types") {
  const std::string head = "kind: workload\nname: n\ninputs: [{name: x, shape: [1, 3, 8, 8]}]\nlayers:\n";
  CHECK_THAT(error_of(head + "  - {op: reshape, shape: [1, 3, 64 / 3]}\n"), Catch::Contains("is not exact"));
  CHECK_THAT(error_of(head + "  - {op: conv2d, out: 2, kernel: [3, 3, 3]}\n"),
             Catch::Contains("kernel must be one integer or a list of 2"));
  CHECK_THAT(error_of(head + "  - {op: conv2d, out: 2, kernel: 3, bias: maybe}\n"),
             Catch::Contains("expected true or false"));
  CHECK_THAT(error_of(head + "  - {op: conv2d, out: 0, kernel: 3}\n"), Catch::Contains("out must be >= 1, got 0"));
  CHECK_THAT(error_of(head + "  - {op: conv2d, kernel: 3}\n"), Catch::Contains("missing required key 'out'"));
  CHECK_THAT(error_of(head + "  - {op: add}\n"), Catch::Contains("op add takes 2 input(s), got 1"));
  CHECK_THAT(error_of(head + "  - {op: relu, repeat: 0}\n"), Catch::Contains("repeat must be >= 1"));
  const Workload w = parse(head + "  - {name: c, op: conv2d, out: 2, kernel: [3, 1], pad: [1, 0, 0, 0]}\n"
                                  "  - {name: s, op: conv2d, out: 2, kernel: 3, stride: 2, pad: same}\n");
  CHECK(w.tensor("c").shape == Shape{1, 2, 7, 8});  // H: 8 + 1 - 3 + 1, W: 8 - 1 + 1
  CHECK(w.tensor("s").shape == Shape{1, 2, 4, 4});
}

TEST_CASE("Standalone GEMM layers (the original format) still load") {
  const Workload w = load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/gemm/gemm_suite.yaml");
  REQUIRE(w.layers.size() == 3);
  CHECK(w.layers[1].name == "gemm_1024");
  CHECK((w.layers[1].m == 1024 && w.layers[1].n == 1024 && w.layers[1].k == 1024));
  CHECK(w.layers[1].macs() == 1024ull * 1024 * 1024);
  CHECK(w.layers[0].shape() == "256x256x256");
  CHECK(w.outputs.size() == 3);  // three independent GEMMs
  CHECK(w.tensor("gemm_256.a").role == TensorRole::input);
  CHECK(w.tensor("gemm_256.b").role == TensorRole::weight);
  CHECK_THAT(error_of("kind: workload\nname: g\nlayers:\n  - {name: a, op: gemm, m: 4, n: 0, k: 4}\n"),
             Catch::Contains("n must be >= 1"));
  CHECK_THAT(error_of("kind: workload\nname: g\nlayers:\n  - {name: a, op: gemm, m: 4, n: 4, k: 4}\n"
                      "  - {name: a, op: gemm, m: 4, n: 4, k: 4}\n"),
             Catch::Contains("duplicate layer name 'a'"));
}

TEST_CASE("Every shipped YAML workload validates") {
  for (const char* f : {"nets/resnet18.yaml", "nets/resnet50.yaml", "nets/vgg16.yaml", "nets/alexnet.yaml",
                        "nets/mobilenet_v2.yaml", "nets/lenet5.yaml", "nets/mlp0.yaml", "nets/bert_base_layer.yaml",
                        "nets/gpt2_layer_prefill.yaml", "nets/gpt2_layer_decode.yaml", "ops/single_ops.yaml"}) {
    INFO(f);
    CHECK_NOTHROW(load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/" + f));
  }
}
