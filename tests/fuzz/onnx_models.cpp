#include "tests/fuzz/onnx_models.h"

#include <onnx/onnx_pb.h>

namespace xpu::fuzz {

namespace {

onnx::ModelProto model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("xpusim fuzz corpus");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  m.mutable_graph()->set_name("g");
  return m;
}

void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                      const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out);
  for (const auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

std::string bytes(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace

std::string onnx_gemm(float w_value) {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  value_info(g->add_input(), "x", {1, 4});
  value_info(g->add_output(), "y", {1, 3});
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->add_dims(3);
  w->add_float_data(w_value);
  for (int i = 1; i < 12; ++i) w->add_float_data(0.25f * float(i % 5) - 0.5f);
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(3);
  for (int i = 0; i < 3; ++i) b->add_float_data(0.125f * float(i));
  node(g, "Gemm", {"x", "w", "b"}, "y");
  return bytes(m);
}

std::string onnx_big_input(int64_t dim) {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  value_info(g->add_input(), "x", {1, dim});
  value_info(g->add_output(), "y", {1, dim});
  node(g, "Relu", {"x"}, "y");
  return bytes(m);
}

std::string onnx_node_without_input() {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  value_info(g->add_input(), "x", {1, 1, 4, 4});
  value_info(g->add_output(), "y", {1, 1, 4, 4});
  node(g, "Conv", {}, "y");
  return bytes(m);
}

std::string onnx_nested_graphs(int depth) {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  value_info(g->add_input(), "x", {1, 4});
  value_info(g->add_output(), "y", {1, 4});
  onnx::NodeProto* n = node(g, "Relu", {"x"}, "y");
  for (int i = 0; i < depth; ++i) {
    auto* a = n->add_attribute();
    a->set_name("body");
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* sub = a->mutable_g();
    sub->set_name("level" + std::to_string(i));
    n = node(sub, "Relu", {"x"}, "y");
  }
  return bytes(m);
}

}  // namespace xpu::fuzz
