// Typed access to one ONNX node's attributes, and the error about a node
// that the importer turns into a ConfigError naming the file and the node.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/workload/onnx/onnx_tensor_proto.h"

namespace xpu::workload::onnx_import {

// An error about one node; converted to a ConfigError naming file and node.
struct NodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Attribute access with type checks; every attribute must be consumed.
class Attributes {
 public:
  explicit Attributes(const onnx::NodeProto& n) {
    for (const auto& a : n.attribute()) by_name_[a.name()] = &a;
  }
  std::optional<int64_t> i(const std::string& name) { return get(name, onnx::AttributeProto::INT, [](auto* a) { return a->i(); }); }
  std::optional<float> f(const std::string& name) { return get(name, onnx::AttributeProto::FLOAT, [](auto* a) { return a->f(); }); }
  std::optional<std::string> s(const std::string& name) {
    return get(name, onnx::AttributeProto::STRING, [](auto* a) { return a->s(); });
  }
  std::optional<std::vector<int64_t>> ints(const std::string& name) {
    return get(name, onnx::AttributeProto::INTS,
               [](auto* a) { return std::vector<int64_t>(a->ints().begin(), a->ints().end()); });
  }
  // Attributes the importer never asked for: an error, so nothing is silently ignored.
  void finish() const {
    for (const auto& [name, a] : by_name_)
      if (!used_.count(name)) throw NodeError("unsupported attribute '" + name + "'");
  }

 private:
  template <typename F>
  auto get(const std::string& name, onnx::AttributeProto::AttributeType type, F f)
      -> std::optional<decltype(f(static_cast<const onnx::AttributeProto*>(nullptr)))> {
    used_.insert(name);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    if (it->second->type() != type && !(it->second->type() == onnx::AttributeProto::UNDEFINED))
      throw NodeError("attribute '" + name + "' has the wrong type");
    return f(it->second);
  }
  std::map<std::string, const onnx::AttributeProto*> by_name_;
  std::set<std::string> used_;
};

}  // namespace xpu::workload::onnx_import
