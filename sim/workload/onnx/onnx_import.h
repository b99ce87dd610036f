#pragma once
// ONNX -> workload IR, with the official ONNX protobuf library (Debian's
// libonnx-dev). One node becomes one layer; initializers become constant
// tensors that keep their values (Tensor::values); shapes are inferred by the
// IR (workload.h), not by ONNX. Supported operators (domain ai.onnx):
//   Conv (2-D), Gemm, MatMul, the activations with an ONNX name in
//   op_table.cpp (Relu, Sigmoid, Tanh, ...), Gelu, Add, Mul, MaxPool,
//   AveragePool (2-D), GlobalAveragePool, Flatten, Reshape, Transpose,
//   Softmax, BatchNormalization (inference), LayerNormalization, Concat,
//   Clip (Clip(0, 6) becomes relu6), Constant (an initializer), Identity and
//   inference Dropout (an alias of a constant, else a copy), and GELU
//   written as its erf formula (Div, Erf, Add, Mul, Mul: fused into one
//   Gelu): the operators torch.onnx.export writes for torchvision's CNNs and
//   transformer blocks.
// Anything else -- an operator, an attribute value or an element type the
// IR does not model -- is a config::ConfigError naming the node and its type;
// every node of an unknown operator is listed in one error.
#include <cstdint>
#include <map>
#include <string>

#include "sim/workload/onnx/onnx_tensor.h"
#include "sim/workload/workload.h"

namespace xpu::workload {

struct OnnxImportOptions {
  // Value of a symbolic or unknown first dimension of a graph input.
  int64_t batch = 1;
  // Values of other symbolic dimensions, by dim_param name ("seq": 128).
  std::map<std::string, int64_t> dims;
  // Graph inputs whose values are known: used where the IR needs a constant
  // (Reshape's shape, Clip's min/max) -- the backend node tests feed those as
  // inputs. Elsewhere such inputs stay run-time inputs.
  std::map<std::string, TensorData> known_inputs;
};

Workload import_onnx(const std::string& path, const OnnxImportOptions& opts = {});
// A serialized ModelProto; `name` names it in diagnostics.
Workload import_onnx_bytes(const std::string& bytes, const std::string& name, const OnnxImportOptions& opts = {});

}  // namespace xpu::workload
