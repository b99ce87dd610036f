// A graph rewrite before import: GELU written out as its erf formula
// becomes one Gelu node.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/workload/onnx/onnx_tensor_proto.h"

namespace xpu::workload::onnx_import {

// The value of a scalar constant by name (nullopt when it is not one).
using ScalarConstant = std::function<std::optional<float>(const std::string&)>;

// Exporters without a Gelu operator (ONNX before opset 20; PyTorch's
// exporter) write GELU as its formula x * 0.5 * (1 + erf(x / sqrt 2)):
//   Div(x, sqrt2) -> Erf -> Add(., 1) -> Mul(x, .) -> Mul(., 0.5)
// Such a chain, whose intermediate values nothing else reads, becomes one
// Gelu node named after the last Mul (its output keeps its name).
// Returns the nodes with every such chain replaced, in order.
std::vector<onnx::NodeProto> fuse_erf_gelu_chains(std::vector<onnx::NodeProto> nodes, const onnx::GraphProto& graph,
                                                  const ScalarConstant& scalar_constant);

}  // namespace xpu::workload::onnx_import
