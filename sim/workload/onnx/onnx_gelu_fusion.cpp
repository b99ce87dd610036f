#include "sim/workload/onnx/onnx_gelu_fusion.h"

#include <cmath>
#include <map>
#include <set>

namespace xpu::workload::onnx_import {

std::vector<onnx::NodeProto> fuse_erf_gelu_chains(std::vector<onnx::NodeProto> nodes, const onnx::GraphProto& graph,
                                                  const ScalarConstant& scalar_constant) {
  std::map<std::string, size_t> producer;
  std::map<std::string, int> readers;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& o : nodes[i].output()) producer[o] = i;
    for (const auto& in : nodes[i].input()) ++readers[in];
  }
  for (const auto& o : graph.output()) ++readers[o.name()];
  auto sole_reader = [&](const std::string& value, const char* op) -> const onnx::NodeProto* {
    if (readers[value] != 1) return nullptr;
    for (const auto& n : nodes)
      for (const auto& in : n.input())
        if (in == value) return n.op_type() == op && n.output_size() == 1 ? &n : nullptr;
    return nullptr;
  };
  auto near = [&](const std::string& name, float want) {
    const auto v = scalar_constant(name);
    return v && std::fabs(*v - want) <= 1e-5f * want;
  };
  // The operand of a binary node that is not `value`, and whether `value` is one.
  auto other = [](const onnx::NodeProto& n, const std::string& value) -> std::optional<std::string> {
    if (n.input_size() != 2) return std::nullopt;
    if (n.input(0) == value) return n.input(1);
    if (n.input(1) == value) return n.input(0);
    return std::nullopt;
  };
  std::set<const onnx::NodeProto*> removed;
  std::map<const onnx::NodeProto*, onnx::NodeProto> replaced;
  for (const auto& erf : nodes) {
    if (erf.op_type() != "Erf" || erf.input_size() != 1 || erf.output_size() != 1 || erf.attribute_size()) continue;
    const auto pd = producer.find(erf.input(0));
    if (pd == producer.end()) continue;
    const onnx::NodeProto& div = nodes[pd->second];
    if (div.op_type() != "Div" || div.input_size() != 2 || readers[div.output(0)] != 1 ||
        !near(div.input(1), float(std::sqrt(2.0))))
      continue;
    const std::string x = div.input(0);
    const onnx::NodeProto* add = sole_reader(erf.output(0), "Add");
    const auto one = add ? other(*add, erf.output(0)) : std::nullopt;
    if (!one || !near(*one, 1.0f)) continue;
    const onnx::NodeProto* mul = sole_reader(add->output(0), "Mul");
    const auto mx = mul ? other(*mul, add->output(0)) : std::nullopt;
    if (!mx || *mx != x) continue;
    const onnx::NodeProto* half = sole_reader(mul->output(0), "Mul");
    const auto h = half ? other(*half, mul->output(0)) : std::nullopt;
    if (!h || !near(*h, 0.5f)) continue;
    onnx::NodeProto gelu;
    gelu.set_op_type("Gelu");
    gelu.set_name(half->name());
    gelu.add_input(x);
    gelu.add_output(half->output(0));
    for (const auto* n : {&div, &erf, add, mul}) removed.insert(n);
    replaced[half] = gelu;
  }
  if (removed.empty()) return nodes;
  std::vector<onnx::NodeProto> kept;
  for (const auto& n : nodes) {
    if (removed.count(&n)) continue;
    const auto r = replaced.find(&n);
    kept.push_back(r == replaced.end() ? n : r->second);
  }
  return kept;
}

}  // namespace xpu::workload::onnx_import
