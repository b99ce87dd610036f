// ONNX import: a small ResNet-style model built here with the ONNX protobuf
// API (conv-bn-relu, a residual add, global average pool, gemm), checked by
// ONNX's own checker, then imported; plus the errors for what the IR does
// not model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "sim/workload/onnx/onnx_import.h"
#include "sim/workload/reference_executor.h"

using namespace xpu::workload;

namespace {

void initializer(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                 const std::vector<float>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(int(i % 7) - 3);
  return v;
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                      const std::vector<std::string>& in, const std::vector<std::string>& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void int1(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void str1(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims,
                const std::string& batch_param = "", int elem = onnx::TensorProto::FLOAT) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = shape->add_dim();
    if (i == 0 && !batch_param.empty()) d->set_dim_param(batch_param);
    else d->set_dim_value(dims[i]);
  }
}

// x[N,3,8,8] -> conv(8,3x3,p1)+bias -> bn -> relu -> conv(8,3x3,p1) -> bn
// -> add(relu) -> relu -> global avg pool -> flatten -> gemm(10, transB).
onnx::ModelProto resnet_style() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("xpusim test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("tiny_resnet");
  value_info(g->add_input(), "x", {1, 3, 8, 8}, "N");
  value_info(g->add_output(), "logits", {1, 10}, "N");
  initializer(g, "w1", {8, 3, 3, 3}, ramp(8 * 27, 0.05f));
  initializer(g, "b1", {8}, ramp(8, 0.1f));
  initializer(g, "w2", {8, 8, 3, 3}, ramp(8 * 72, 0.02f));
  for (const char* bn : {"bn1", "bn2"}) {
    initializer(g, std::string(bn) + ".scale", {8}, std::vector<float>(8, 1.5f));
    initializer(g, std::string(bn) + ".bias", {8}, std::vector<float>(8, 0.25f));
    initializer(g, std::string(bn) + ".mean", {8}, std::vector<float>(8, 0.1f));
    initializer(g, std::string(bn) + ".var", {8}, std::vector<float>(8, 2.0f));
  }
  initializer(g, "fc.w", {10, 8}, ramp(80, 0.1f));
  initializer(g, "fc.b", {10}, ramp(10, 0.01f));
  auto* c1 = node(g, "Conv", "conv1", {"x", "w1", "b1"}, {"c1"});
  ints(c1, "pads", {1, 1, 1, 1});
  ints(c1, "kernel_shape", {3, 3});
  node(g, "BatchNormalization", "bn1", {"c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"}, {"n1"});
  node(g, "Relu", "relu1", {"n1"}, {"r1"});
  auto* c2 = node(g, "Conv", "conv2", {"r1", "w2"}, {"c2"});
  ints(c2, "pads", {1, 1, 1, 1});
  node(g, "BatchNormalization", "bn2", {"c2", "bn2.scale", "bn2.bias", "bn2.mean", "bn2.var"}, {"n2"});
  node(g, "Add", "residual", {"n2", "r1"}, {"sum"});
  node(g, "Relu", "relu2", {"sum"}, {"r2"});
  node(g, "GlobalAveragePool", "gap", {"r2"}, {"pooled"});
  node(g, "Flatten", "flatten", {"pooled"}, {"flat"});
  auto* fc = node(g, "Gemm", "fc", {"flat", "fc.w", "fc.b"}, {"logits"});
  int1(fc, "transB", 1);
  return m;
}

std::string bytes(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

std::string import_error(const onnx::ModelProto& m) {
  try {
    import_onnx_bytes(bytes(m), "model.onnx");
  } catch (const xpu::config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("A ResNet-style model built with the ONNX API passes ONNX's checker and imports") {
  const onnx::ModelProto m = resnet_style();
  REQUIRE_NOTHROW(onnx::checker::check_model(m));
  const Workload w = import_onnx_bytes(bytes(m), "tiny.onnx");
  CHECK(w.name == "tiny_resnet");
  REQUIRE(w.layers.size() == 10);
  CHECK(w.layers[0].name == "conv1");
  CHECK(w.layers[0].op == OpKind::conv2d);
  CHECK(w.tensor("c1").shape == Shape{1, 8, 8, 8});
  CHECK(w.layers[7].op == OpKind::global_avg_pool);
  CHECK(w.layers[9].op == OpKind::gemm);
  CHECK(w.tensor("logits").shape == Shape{1, 10});
  CHECK(w.outputs == std::vector<std::string>{"logits"});
  // conv1 8*27 + 8, conv2 8*72, bn 2 x 2*8 (scale, bias), fc 80 + 10;
  // the running statistics are buffers: 2 x 2*8.
  CHECK(w.param_count() == 224 + 576 + 32 + 90);
  CHECK(w.buffer_count() == 32);
  CHECK(w.tensor("bn1.mean").role == TensorRole::buffer);
  // MACs: two convs 8*8*8*27 and 8*8*8*72, fc 8*10.
  CHECK(w.macs() == 64ull * 8 * 27 + 64ull * 8 * 72 + 80);
  // Initializer values are kept.
  REQUIRE(w.tensor("w1").values);
  CHECK(*w.tensor("w1").values == ramp(8 * 27, 0.05f));
  CHECK(w.layers[9].attrs.trans_b);
  CHECK((w.layers[9].m == 1 && w.layers[9].n == 10 && w.layers[9].k == 8));
  // The imported graph runs on the reference executor with only the input fed.
  const auto v = execute(w, {{"x", std::vector<float>(192, 0.5f)}});
  CHECK(v.at("logits").size() == 10);
}

TEST_CASE("The symbolic batch dimension takes the batch option, and load_workload reads .onnx files") {
  const onnx::ModelProto m = resnet_style();
  OnnxImportOptions opts;
  opts.batch = 4;
  const Workload w = import_onnx_bytes(bytes(m), "tiny.onnx", opts);
  CHECK(w.tensor("x").shape == Shape{4, 3, 8, 8});
  CHECK(w.tensor("logits").shape == Shape{4, 10});
  const std::string path = "test_workload_tiny.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes(m);
  }
  const Workload f = load_workload(path, {"batch=2"});
  CHECK(f.tensor("x").shape == Shape{2, 3, 8, 8});
  CHECK(f.macs() == 2 * (64ull * 8 * 27 + 64ull * 8 * 72 + 80));
  CHECK_THROWS_WITH(load_workload(path, {"seq=2"}), Catch::Contains("take only -p workload.params.batch=N"));
  std::remove(path.c_str());
  CHECK_THROWS_WITH(load_workload("no_such.onnx"), Catch::Contains("no_such.onnx"));
}

TEST_CASE("Clip(0, 6) imports as relu6, other bounds as clip") {
  onnx::ModelProto m = resnet_style();
  auto* g = m.mutable_graph();
  initializer(g, "zero", {}, {0.0f});
  initializer(g, "six", {}, {6.0f});
  initializer(g, "one", {}, {1.0f});
  // Replace relu1 by Clip(0, 6) and relu2 by Clip(0, 1).
  for (auto& n : *g->mutable_node()) {
    if (n.name() == "relu1") {
      n.set_op_type("Clip");
      n.add_input("zero");
      n.add_input("six");
    } else if (n.name() == "relu2") {
      n.set_op_type("Clip");
      n.add_input("zero");
      n.add_input("one");
    }
  }
  const Workload w = import_onnx_bytes(bytes(m), "clip.onnx");
  CHECK(w.find_layer("relu1")->op == OpKind::relu6);
  CHECK(w.find_layer("relu2")->op == OpKind::clip);
  CHECK(w.find_layer("relu2")->attrs.clip_max == 1.0f);
  CHECK(w.find_layer("relu2")->inputs.size() == 1);  // the bounds became attributes
}

TEST_CASE("Constant, Identity and Dropout as torch.onnx.export writes them") {
  // torch.onnx.export gives Clip's bounds as Constant nodes, repeats folded
  // weights through Identity nodes and keeps inference Dropout as a node.
  onnx::ModelProto m = resnet_style();
  auto* g = m.mutable_graph();
  auto constant = [&](const std::string& name, float v) {
    auto* n = node(g, "Constant", name, {}, {name + "_out"});
    auto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a->mutable_t()->add_float_data(v);
  };
  // Nodes must come before their users: rebuild the node list.
  auto old_nodes = g->node();
  g->clear_node();
  constant("lo", 0.0f);
  constant("hi", 6.0f);
  node(g, "Identity", "w2_alias", {"w2"}, {"w2b"});
  for (auto n : old_nodes) {
    if (n.name() == "relu1") {
      n.set_op_type("Clip");
      n.add_input("lo_out");
      n.add_input("hi_out");
    }
    if (n.name() == "conv2") n.set_input(1, "w2b");
    if (n.name() == "flatten") n.set_output(0, "flat0");
    *g->add_node() = n;
    if (n.name() == "flatten") node(g, "Dropout", "drop", {"flat0"}, {"flat"});
  }
  const Workload w = import_onnx_bytes(bytes(m), "torch.onnx");
  CHECK(w.find_layer("relu1")->op == OpKind::relu6);  // Clip(Constant 0, Constant 6)
  CHECK(w.find_layer("lo") == nullptr);               // a Constant is no layer
  CHECK(w.find_layer("w2_alias") == nullptr);         // an alias of a weight is no layer either
  REQUIRE(w.find_tensor("w2b"));
  CHECK(w.find_tensor("w2b")->is_constant());
  CHECK(w.find_layer("drop")->op == OpKind::reshape);  // Dropout of an activation: a copy
  // The same values as the model without the extra nodes.
  const Workload plain = import_onnx_bytes(bytes(resnet_style()), "plain.onnx");
  TensorValues feeds{{"x", ramp(3 * 64, 0.5f)}};
  CHECK(execute(w, feeds).at("logits") == execute(plain, feeds).at("logits"));
}

TEST_CASE("GELU written as its erf formula imports as one gelu layer") {
  // torch.onnx.export (opset < 20): x * 0.5 * (1 + erf(x / sqrt 2)) as
  // Div -> Erf -> Add -> Mul(x, .) -> Mul(., 0.5), constants as initializers.
  auto model = [](bool formula) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    auto* g = m.mutable_graph();
    g->set_name("gelu");
    value_info(g->add_input(), "x", {2, 8});
    value_info(g->add_output(), "y", {2, 8});
    if (!formula) {
      // The exact form as the reference: Gelu itself (ONNX opset 20).
      node(g, "Gelu", "act", {"x"}, {"y"});
      return m;
    }
    initializer(g, "sqrt2", {}, {1.41421354f});
    initializer(g, "one", {}, {1.0f});
    initializer(g, "half", {}, {0.5f});
    node(g, "Div", "div", {"x", "sqrt2"}, {"d"});
    node(g, "Erf", "erf", {"d"}, {"e"});
    node(g, "Add", "add", {"e", "one"}, {"a"});
    node(g, "Mul", "mul", {"x", "a"}, {"m"});
    node(g, "Mul", "act", {"m", "half"}, {"y"});
    return m;
  };
  const Workload w = import_onnx_bytes(bytes(model(true)), "gelu.onnx");
  REQUIRE(w.layers.size() == 1);
  CHECK(w.layers[0].op == OpKind::gelu);
  CHECK(w.layers[0].name == "act");
  CHECK(w.layers[0].inputs == std::vector<std::string>{"x"});
  const Workload ref = import_onnx_bytes(bytes(model(false)), "gelu_op.onnx");
  TensorValues feeds{{"x", ramp(16, 0.7f)}};
  CHECK(execute(w, feeds).at("y") == execute(ref, feeds).at("y"));

  // A chain whose intermediate value is read elsewhere stays unfused (and Erf
  // is then an unsupported operator).
  onnx::ModelProto m = model(true);
  value_info(m.mutable_graph()->add_output(), "e", {2, 8});
  CHECK_THAT(import_error(m), Catch::Contains("node 'erf' (Erf): unsupported ONNX operator 'Erf'"));
}

TEST_CASE("Every node of an unsupported operator is listed in one error") {
  onnx::ModelProto m = resnet_style();
  node(m.mutable_graph(), "Shape", "shape0", {"x"}, {"s"});
  node(m.mutable_graph(), "Slice", "slice0", {"s", "s", "s"}, {"g"});
  node(m.mutable_graph(), "Shape", "shape1", {"logits"}, {"s1"});
  const std::string e = import_error(m);
  CHECK_THAT(e, Catch::Contains("model.onnx: node 'shape0' (Shape): unsupported ONNX operator 'Shape'"));
  CHECK_THAT(e, Catch::Contains("model.onnx: node 'slice0' (Slice): unsupported ONNX operator 'Slice'"));
  CHECK_THAT(e, Catch::Contains("model.onnx: node 'shape1' (Shape): unsupported ONNX operator 'Shape'"));
  CHECK_THAT(e, Catch::Contains("3 node(s) use operators xpusim cannot import: Shape x2, Slice x1"));
}

TEST_CASE("Unsupported operators, attributes and dtypes are errors naming the node") {
  onnx::ModelProto m = resnet_style();
  node(m.mutable_graph(), "LSTM", "lstm0", {"logits"}, {"h"});
  CHECK_THAT(import_error(m), Catch::Contains("model.onnx: node 'lstm0' (LSTM): unsupported ONNX operator 'LSTM'"));

  m = resnet_style();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "fc") int1(&n, "mystery", 1);
  CHECK_THAT(import_error(m), Catch::Contains("node 'fc' (Gemm): unsupported attribute 'mystery'"));

  m = resnet_style();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "bn1") int1(&n, "training_mode", 1);
  CHECK_THAT(import_error(m), Catch::Contains("node 'bn1' (BatchNormalization): training_mode = 1 is not supported"));

  m = resnet_style();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::UINT8);
  CHECK_THAT(import_error(m), Catch::Contains("graph input 'x' has element type uint8"));

  m = resnet_style();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "conv2") ints(&n, "kernel_shape", {5, 5});
  CHECK_THAT(import_error(m), Catch::Contains("node 'conv2' (Conv): kernel_shape 5x5 disagrees with the weight"));

  // Shape errors from the IR also name the node.
  m = resnet_style();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "residual") n.set_input(1, "x");
  CHECK_THAT(import_error(m), Catch::Contains("node 'residual' (Add): layer 'residual' (add): operands 1x8x8x8 ('n2') and 1x3x8x8 ('x') do not broadcast"));

  CHECK_THAT(([] {
               try {
                 import_onnx_bytes("not a model", "junk.onnx");
               } catch (const xpu::config::ConfigError& e) {
                 return std::string(e.what());
               }
               return std::string();
             })(),
             Catch::Contains("junk.onnx: not a serialized ONNX ModelProto"));
}

TEST_CASE("The IR's shape inference agrees with ONNX's own on strided, padded and pooled shapes") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("shapes");
  value_info(g->add_input(), "x", {2, 3, 19, 14});
  value_info(g->add_output(), "y", {});
  auto* out_shape = g->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  out_shape->add_dim();  // rank 2, sizes left to inference
  out_shape->add_dim();
  initializer(g, "w", {6, 3, 3, 2}, ramp(108, 0.1f));
  initializer(g, "wd", {6, 1, 3, 3}, ramp(54, 0.1f));
  auto* c = node(g, "Conv", "conv", {"x", "w"}, {"c"});
  ints(c, "strides", {2, 3});
  ints(c, "pads", {0, 1, 2, 0});
  ints(c, "dilations", {2, 1});
  auto* dw = node(g, "Conv", "dw", {"c", "wd"}, {"d"});
  int1(dw, "group", 6);
  str1(dw, "auto_pad", "SAME_LOWER");
  auto* mp = node(g, "MaxPool", "mp", {"d"}, {"p"});
  ints(mp, "kernel_shape", {3, 3});
  ints(mp, "strides", {2, 2});
  ints(mp, "pads", {1, 1, 1, 1});
  int1(mp, "ceil_mode", 1);
  auto* ap = node(g, "AveragePool", "ap", {"p"}, {"a"});
  ints(ap, "kernel_shape", {2, 2});
  str1(ap, "auto_pad", "SAME_UPPER");
  auto* tr = node(g, "Transpose", "tr", {"a"}, {"t"});
  ints(tr, "perm", {0, 2, 3, 1});
  auto* fl = node(g, "Flatten", "fl", {"t"}, {"f"});
  int1(fl, "axis", 2);
  node(g, "Softmax", "sm", {"f"}, {"y"});
  REQUIRE_NOTHROW(onnx::checker::check_model(m));
  const Workload w = import_onnx_bytes(bytes(m), "shapes.onnx");
  onnx::shape_inference::InferShapes(m);
  size_t compared = 0;
  auto compare = [&](const onnx::ValueInfoProto& vi) {
    const auto& shape = vi.type().tensor_type().shape();
    Shape want;
    for (const auto& d : shape.dim()) want.push_back(d.dim_value());
    INFO(vi.name());
    CHECK(w.tensor(vi.name()).shape == want);
    ++compared;
  };
  for (const auto& vi : m.graph().value_info()) compare(vi);
  for (const auto& vi : m.graph().output()) compare(vi);
  CHECK(compared == 7);
}

TEST_CASE("LLM ops: Gather embedding, SimplifiedLayerNormalization, SiLU as Sigmoid x Mul and ArgMax import") {
  // ids (int64 [1, 4]) -> Gather(embed [16, 64]) + x -> RMSNorm (com.microsoft,
  // eps 1e-6) -> MatMul [64, 96] -> SiLU written as x * Sigmoid(x), as
  // exporters emit it -> MatMul [96, 16] -> ArgMax(axis -1): the greedy token
  // of a one-layer toy decoder with onnx 1.12's operators (opset 17 has no
  // RMSNormalization, RotaryEmbedding or Attention).
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("xpusim test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* ms = m.add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("toy_decoder");
  value_info(g->add_input(), "x", {1, 4, 64});
  value_info(g->add_output(), "logits", {1, 4, 16});
  value_info(g->add_output(), "token", {1, 4, 1}, "", onnx::TensorProto::INT64);
  auto* ids = g->add_initializer();
  ids->set_name("ids");
  ids->set_data_type(onnx::TensorProto::INT64);
  ids->add_dims(1);
  ids->add_dims(4);
  for (int64_t v : {3, 15, 0, 7}) ids->add_int64_data(v);
  initializer(g, "embed", {16, 64}, ramp(16 * 64, 0.25f));
  initializer(g, "norm.scale", {64}, ramp(64, 0.5f));
  initializer(g, "w1", {64, 96}, ramp(64 * 96, 0.03f));
  initializer(g, "w2", {96, 16}, ramp(96 * 16, 0.05f));
  node(g, "Gather", "embed_lookup", {"embed", "ids"}, {"e"});
  node(g, "Add", "add_x", {"e", "x"}, {"h"});
  auto* rn = node(g, "SimplifiedLayerNormalization", "norm", {"h", "norm.scale"}, {"n"});
  rn->set_domain("com.microsoft");
  int1(rn, "axis", -1);
  auto* eps = rn->add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(1e-6f);
  node(g, "MatMul", "fc1", {"n", "w1"}, {"a"});
  node(g, "Sigmoid", "sig", {"a"}, {"s"});
  node(g, "Mul", "silu", {"a", "s"}, {"m"});
  node(g, "MatMul", "fc2", {"m", "w2"}, {"logits"});
  auto* am = node(g, "ArgMax", "greedy", {"logits"}, {"token"});
  int1(am, "axis", -1);
  const Workload w = import_onnx_bytes(bytes(m), "toy.onnx");
  REQUIRE(w.layers.size() == 8);
  CHECK(w.layers[0].op == OpKind::gather);
  CHECK(w.tensor("e").shape == Shape{1, 4, 64});
  CHECK(w.layers[2].op == OpKind::rmsnorm);
  CHECK(w.layers[2].attrs.epsilon == 1e-6f);
  CHECK(w.layers[7].op == OpKind::argmax);
  CHECK(w.tensor("token").shape == Shape{1, 4, 1});
  // The same graph written directly in the IR (the ops' reference
  // arithmetic: llm_ops.h): the imported one computes the same bits.
  Workload d;
  d.name = "direct";
  d.add_input("x", {1, 4, 64}, xpu::DType::fp32);
  for (const char* c : {"embed", "norm.scale", "w1", "w2"})
    d.add_constant(c, w.tensor(c).shape, xpu::DType::fp32, TensorRole::weight, w.tensor(c).values);
  d.add_constant("ids", {1, 4}, xpu::DType::fp32, TensorRole::buffer,
                 std::make_shared<const std::vector<float>>(std::vector<float>{3, 15, 0, 7}));
  auto layer = [&](const std::string& name, OpKind k, std::vector<std::string> in, const std::string& out,
                   int64_t axis = 0, float eps = 0) {
    Layer l;
    l.name = name;
    l.op = k;
    l.inputs = std::move(in);
    l.outputs = {out};
    l.attrs.axis = axis;
    l.attrs.epsilon = eps;
    d.add_layer(std::move(l));
  };
  layer("embed_lookup", OpKind::gather, {"embed", "ids"}, "e");
  layer("add_x", OpKind::add, {"e", "x"}, "h");
  layer("norm", OpKind::rmsnorm, {"h", "norm.scale"}, "n", -1, 1e-6f);
  layer("fc1", OpKind::matmul, {"n", "w1"}, "a");
  layer("sig", OpKind::sigmoid, {"a"}, "s");
  layer("silu", OpKind::mul, {"a", "s"}, "m");
  layer("fc2", OpKind::matmul, {"m", "w2"}, "logits");
  layer("greedy", OpKind::argmax, {"logits"}, "token", -1);
  const std::vector<float> x = ramp(4 * 64, 0.125f);
  const auto got = execute(w, {{"x", x}}), want = execute(d, {{"x", x}});
  for (const char* t : {"e", "n", "m", "logits", "token"}) {
    INFO(t);
    REQUIRE(got.at(t).size() == want.at(t).size());
    CHECK(std::memcmp(got.at(t).data(), want.at(t).data(), got.at(t).size() * 4) == 0);
  }
  // Against the formulas in double precision: row 1 is embedding row 15 + x.
  const auto& n = got.at("n");
  const auto& emb = *w.tensor("embed").values;
  const auto& sc = *w.tensor("norm.scale").values;
  double ss = 0;
  for (int k = 0; k < 64; ++k) ss += double(emb[15 * 64 + k] + x[64 + k]) * (emb[15 * 64 + k] + x[64 + k]);
  const double inv = 1.0 / std::sqrt(ss / 64 + 1e-6);
  for (int k = 0; k < 64; ++k) CHECK(n[64 + k] == Approx((emb[15 * 64 + k] + x[64 + k]) * inv * sc[k]).epsilon(1e-5));
  // The greedy token is the first maximum of each row's logits.
  const auto& lg = got.at("logits");
  for (int r = 0; r < 4; ++r) {
    int best = 0;
    for (int v = 1; v < 16; ++v)
      if (lg[r * 16 + v] > lg[r * 16 + best]) best = v;
    CHECK(got.at("token")[r] == float(best));
  }
}

TEST_CASE("LLM ops: ArgMax keepdims 0, Gather over run-time indices and other domains' operators are errors") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("bad");
  value_info(g->add_input(), "x", {2, 8});
  value_info(g->add_input(), "ids", {3}, "", onnx::TensorProto::INT32);
  value_info(g->add_output(), "y", {2});
  auto* am = node(g, "ArgMax", "greedy", {"x"}, {"y"});
  int1(am, "keepdims", 0);
  CHECK_THAT(import_error(m), Catch::Contains("greedy") && Catch::Contains("keepdims = 0"));
  g->clear_node();
  node(g, "Gather", "lookup", {"x", "ids"}, {"y"});
  CHECK_THAT(import_error(m), Catch::Contains("lookup") && Catch::Contains("run-time indices"));
  g->clear_node();
  node(g, "SkipLayerNormalization", "sln", {"x", "x"}, {"y"})->set_domain("com.microsoft");
  CHECK_THAT(import_error(m), Catch::Contains("sln") && Catch::Contains("com.microsoft"));
}
