#pragma once
// Workload IR: a graph of NN operators over named tensors, ops in topological
// order, every shape inferred and checked when the op is added. Sources: the
// YAML format of workloads/README.md, ONNX models (onnx_import.h) and
// SCALE-Sim topology CSVs (scalesim/topology.h).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/config/reader.h"
#include "sim/numerics/mac.h"
#include "sim/workload/layer.h"
#include "sim/workload/shape.h"

namespace xpu::workload {

enum class TensorRole {
  input,       // fed at run time (graph input)
  activation,  // produced by a layer
  weight,      // trainable constant (counted as a parameter)
  buffer,      // non-trainable constant (BN running statistics, scalars)
};
const char* role_name(TensorRole r);

struct Tensor {
  std::string name;
  Shape shape;
  DType dtype = DType::fp32;
  TensorRole role = TensorRole::activation;
  // Constant values, row-major, when known (ONNX initializers, YAML scalar
  // constants); empty for weights that only have a shape. Stored as fp32:
  // exact for fp32/bf16/fp16/int8 and for int32 up to 2^24.
  std::shared_ptr<const std::vector<float>> values;
  std::string producer;  // layer name for activations
  bool is_constant() const { return role == TensorRole::weight || role == TensorRole::buffer; }
};

// Limits that keep a workload simulable on one machine; crossing one is an
// error at the layer or input that does. Tensor bytes are summed over every
// tensor (inputs, weights, activations) at its dtype's size.
// kMaxWorkloadTensorBytes bounds what may be built at all: it keeps byte
// and element counts far inside 64 bits (1 TiB is ~7x the largest
// accelerator memory, an H200's 141 GB). kMaxValueTensorBytes bounds what
// may run where values are held (tile and pe fidelity, the reference
// executor: every tensor's values at once, check_values_fit); timing
// fidelity holds none, so there only kMaxWorkloadTensorBytes applies. The
// largest bundled network needs well under 1 GiB (VGG-16 at batch 1:
// 0.67 GB); a GPT-3 layer shard's prefill at batch 8 about 9 GB.
inline constexpr uint64_t kMaxWorkloadTensorBytes = uint64_t(1) << 40;
inline constexpr uint64_t kMaxValueTensorBytes = uint64_t(4) << 30;
// A layer's multiply-accumulates: with 10,000 layers the workload's total
// stays inside 64 bits (2^50 is ~450x a batch-8 GPT-3 FFN GEMM shard).
inline constexpr uint64_t kMaxLayerMacs = uint64_t(1) << 50;
inline constexpr size_t kMaxWorkloadLayers = 10000;
// Every dimension, kernel, stride, dilation and pad.
inline constexpr int64_t kMaxDimension = INT32_MAX;

struct Workload {
  std::string name;
  std::string source_file;
  DType dtype = DType::fp32;               // default dtype of inputs and weights
  std::map<std::string, int64_t> params;   // resolved parameters (batch, seq, ...)
  std::vector<Layer> layers;               // topological order
  std::vector<Tensor> tensors;             // every tensor, in creation order
  std::vector<std::string> inputs;         // graph inputs (role input)
  std::vector<std::string> outputs;        // graph outputs
  // "2:4": weights pruned 2:4 along K and run on sparse matrix units (the
  // workload's `sparsity`, or an experiment's); "" dense. sparsity_at
  // locates the key that set it ("file:line:col"), for errors.
  std::string sparsity, sparsity_at;

  // Totals over layers; parameters over distinct constant tensors.
  uint64_t macs() const;
  uint64_t vector_ops() const;
  uint64_t param_count() const;   // elements of weight tensors
  uint64_t buffer_count() const;  // elements of buffer tensors

  const Tensor* find_tensor(const std::string& name) const;
  const Tensor& tensor(const std::string& name) const;  // throws std::out_of_range
  const Layer* find_layer(const std::string& name) const;
  // Adds a tensor; throws std::invalid_argument if the name is taken, a
  // dimension is out of [1, kMaxDimension] or the workload's tensors would
  // exceed kMaxWorkloadTensorBytes. Records the first tensor that takes
  // them past kMaxValueTensorBytes (check_values_fit).
  const Tensor& add_tensor(Tensor t);
  // Adds an input / a constant tensor (role input, weight or buffer).
  const Tensor& add_input(const std::string& name, const Shape& shape, DType dtype);
  const Tensor& add_constant(const std::string& name, const Shape& shape, DType dtype, TensorRole role,
                             std::shared_ptr<const std::vector<float>> values = nullptr);
  // Checks the layer's operands, infers its outputs (creating the output
  // tensors), its GEMM view and its costs, and appends it. Throws
  // config::ConfigError at layer.loc naming the layer for impossible shapes
  // and for crossing a limit above (kMaxValueTensorBytes excepted).
  const Layer& add_layer(Layer layer);
  uint64_t tensor_bytes() const { return tensor_bytes_; }
  // The tensor whose addition took the tensors past kMaxValueTensorBytes
  // ("" if they are within it), and the layer that made it (-1 for an
  // input or constant).
  const std::string& values_limit_tensor() const { return values_limit_tensor_; }
  int64_t values_limit_layer() const { return values_limit_layer_; }

 private:
  uint64_t tensor_bytes_ = 0;
  std::string values_limit_tensor_;
  int64_t values_limit_layer_ = -1;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Throws config::ConfigError at the layer's source location:
// "file:line:col: key.path: layer 'name' (op): message".
[[noreturn]] void throw_layer_error(const Workload& w, const Layer& l, const std::string& message);

// Where values are held (tile and pe fidelity, the reference executor):
// throws config::ConfigError if the workload's tensors exceed
// kMaxValueTensorBytes, at the layer whose output crosses it ("layer 'x'
// (op): tensor ... past 4 GiB ..."), or naming the input or constant that
// does. Timing fidelity never calls it.
void check_values_fit(const Workload& w);

// Legacy name: a workload made of standalone GEMM layers is the same graph.
using Graph = Workload;

// Loads a workload by its file extension (input_format.h, case-insensitive):
// ".onnx" (ONNX import, batch from the `batch` override), ".csv" (SCALE-Sim
// topology), ".yaml"/".yml" (a `kind: workload` file); any other extension
// is an error naming the known ones. `overrides` are -p assignments: YAML
// key paths (params.batch=8); for ONNX and CSV files only `batch=N` is
// accepted. Throws config::ConfigError with every problem.
Workload load_workload(const std::string& path, const std::vector<std::string>& overrides = {});
// Reads a `kind: workload` YAML document (workloads/README.md). Problems are
// recorded in root's Diagnostics; throws config::ConfigError only for
// problems that stop reading (the returned workload is then incomplete).
Workload parse_workload(config::Reader& root);

}  // namespace xpu::workload
