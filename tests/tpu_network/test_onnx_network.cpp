// An ONNX ResNet-style model (built here with the ONNX protobuf API: conv +
// bias -> bn -> relu -> conv -> bn -> residual add -> relu -> global average
// pool -> flatten -> gemm(transB)) imports and runs on the TPU as a network,
// values checked against the fp32 reference executor.
#include <catch2/catch.hpp>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "net_test_util.h"
#include "sim/workload/onnx/onnx_import.h"

using namespace xpu;

namespace {

void init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims, float scale) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i) t->add_float_data(scale * float(int((i * 7) % 11) - 5));
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                      const std::vector<std::string>& in, const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void io(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

std::string resnet_style() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("onnx_resnet_block");
  io(g->add_input(), "x", {1, 3, 8, 8});
  io(g->add_output(), "logits", {1, 10});
  init(g, "w1", {8, 3, 3, 3}, 0.05f);
  init(g, "b1", {8}, 0.02f);
  init(g, "w2", {8, 8, 3, 3}, 0.03f);
  for (const char* bn : {"bn1", "bn2"}) {
    init(g, std::string(bn) + ".scale", {8}, 0.1f);
    init(g, std::string(bn) + ".bias", {8}, 0.05f);
    init(g, std::string(bn) + ".mean", {8}, 0.01f);
    auto* v = g->add_initializer();
    v->set_name(std::string(bn) + ".var");
    v->set_data_type(onnx::TensorProto::FLOAT);
    v->add_dims(8);
    for (int i = 0; i < 8; ++i) v->add_float_data(1.0f + 0.1f * float(i));
  }
  init(g, "fc.w", {10, 8}, 0.1f);
  init(g, "fc.b", {10}, 0.01f);
  ints(node(g, "Conv", "conv1", {"x", "w1", "b1"}, "c1"), "pads", {1, 1, 1, 1});
  node(g, "BatchNormalization", "bn1", {"c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"}, "n1");
  node(g, "Relu", "relu1", {"n1"}, "r1");
  ints(node(g, "Conv", "conv2", {"r1", "w2"}, "c2"), "pads", {1, 1, 1, 1});
  node(g, "BatchNormalization", "bn2", {"c2", "bn2.scale", "bn2.bias", "bn2.mean", "bn2.var"}, "n2");
  node(g, "Add", "residual", {"n2", "r1"}, "sum");
  node(g, "Relu", "relu2", {"sum"}, "r2");
  node(g, "GlobalAveragePool", "gap", {"r2"}, "pooled");
  node(g, "Flatten", "flatten", {"pooled"}, "flat");
  auto* fc = node(g, "Gemm", "fc", {"flat", "fc.w", "fc.b"}, "logits");
  auto* a = fc->add_attribute();
  a->set_name("transB");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  onnx::checker::check_model(m);
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace

TEST_CASE("an ONNX ResNet-style model imports and runs on the TPU (int8 tpu_small, bf16 tpu_v1)", "[tpu_network][onnx]") {
  const auto w = workload::import_onnx_bytes(resnet_style(), "resnet_block.onnx");
  auto small = test::tpu_backend("tpu_small");
  experiment::LayerRunOptions o;
  for (DType t : {DType::int8, DType::bf16}) {
    const auto ls = small->run_workload(w, t, o);
    std::vector<std::string> ops;
    for (const auto& l : ls) {
      INFO(l.name << " " << l.op << ": " << l.verified());
      CHECK_FALSE(test::has(l.verified(), "MISMATCH"));
      ops.push_back(l.op);
    }
    // conv1 + bn1 + relu1 fused (BN folded); conv2 + bn2; add + relu2.
    CHECK(std::find(ops.begin(), ops.end(), "conv2d+batchnorm+relu") != ops.end());
    CHECK(std::find(ops.begin(), ops.end(), "add+relu") != ops.end());
    CHECK(test::has(ls.back().verified(), "argmax equal"));
  }
}
