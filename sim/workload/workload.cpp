#include "sim/workload/workload.h"

#include <stdexcept>
#include <unordered_set>

#include "sim/workload/infer.h"

namespace xpu::workload {

const char* role_name(TensorRole r) {
  switch (r) {
    case TensorRole::input: return "input";
    case TensorRole::activation: return "activation";
    case TensorRole::weight: return "weight";
    case TensorRole::buffer: return "buffer";
  }
  return "?";
}

std::string Layer::shape() const {
  if (is_matrix_op(op) && m && n && k) {
    const std::string mnk = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
    return gemm_count == 1 ? mnk : std::to_string(gemm_count) + "x(" + mnk + ")";
  }
  return shape_to_string(out_shape);
}

uint64_t Workload::macs() const {
  uint64_t total = 0;
  for (const auto& l : layers) total += l.macs();
  return total;
}

uint64_t Workload::vector_ops() const {
  uint64_t total = 0;
  for (const auto& l : layers) total += l.cost.vector_ops;
  return total;
}

uint64_t Workload::param_count() const {
  uint64_t total = 0;
  for (const auto& t : tensors)
    if (t.role == TensorRole::weight) total += numel(t.shape);
  return total;
}

uint64_t Workload::buffer_count() const {
  uint64_t total = 0;
  for (const auto& t : tensors)
    if (t.role == TensorRole::buffer) total += numel(t.shape);
  return total;
}

const Tensor* Workload::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors[it->second];
}

const Tensor& Workload::tensor(const std::string& name) const {
  const Tensor* t = find_tensor(name);
  if (!t) throw std::out_of_range("workload '" + this->name + "' has no tensor '" + name + "'");
  return *t;
}

const Layer* Workload::find_layer(const std::string& name) const {
  for (const auto& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

namespace {

std::string tensor_label(const Tensor& t) {
  return "tensor '" + t.name + "' (" + shape_to_string(t.shape) + ", " + std::string(dtype_name(t.dtype)) + ")";
}

}  // namespace

const Tensor& Workload::add_tensor(Tensor t) {
  if (t.name.empty()) throw std::invalid_argument("a tensor needs a name");
  if (tensor_index_.count(t.name)) throw std::invalid_argument("duplicate tensor name '" + t.name + "'");
  // Bounded tensors keep every count (MACs included) far inside 64 bits.
  uint64_t elems = 1, bytes = 0;
  const auto too_large = [&] {
    return std::invalid_argument(tensor_label(t) + " would bring the workload's tensors past " +
                                 std::to_string(kMaxWorkloadTensorBytes >> 40) + " TiB, the limit at any fidelity");
  };
  for (int64_t d : t.shape) {
    if (d < 1) throw std::invalid_argument("tensor '" + t.name + "' has a dimension < 1: " + shape_to_string(t.shape));
    if (d > kMaxDimension)
      throw std::invalid_argument("tensor '" + t.name + "' has a dimension > " + std::to_string(kMaxDimension) + ": " +
                                  shape_to_string(t.shape));
    if (__builtin_mul_overflow(elems, uint64_t(d), &elems) || elems > kMaxWorkloadTensorBytes) throw too_large();
  }
  bytes = elems * dtype_bytes(t.dtype);
  if (tensor_bytes_ + bytes > kMaxWorkloadTensorBytes) throw too_large();
  if (t.values && t.values->size() != elems)
    throw std::invalid_argument("tensor '" + t.name + "' has " + std::to_string(t.values->size()) +
                                " values for shape " + shape_to_string(t.shape));
  tensor_index_[t.name] = tensors.size();
  if (tensor_bytes_ <= kMaxValueTensorBytes && tensor_bytes_ + bytes > kMaxValueTensorBytes) {
    values_limit_tensor_ = t.name;
    values_limit_layer_ = t.role == TensorRole::activation ? int64_t(layers.size()) : -1;
  }
  tensor_bytes_ += bytes;
  tensors.push_back(std::move(t));
  return tensors.back();
}

const Tensor& Workload::add_input(const std::string& name, const Shape& shape, DType dtype) {
  Tensor t;
  t.name = name;
  t.shape = shape;
  t.dtype = dtype;
  t.role = TensorRole::input;
  const Tensor& r = add_tensor(std::move(t));
  inputs.push_back(name);
  return r;
}

const Tensor& Workload::add_constant(const std::string& name, const Shape& shape, DType dtype, TensorRole role,
                                     std::shared_ptr<const std::vector<float>> values) {
  if (role != TensorRole::weight && role != TensorRole::buffer)
    throw std::invalid_argument("tensor '" + name + "': a constant is a weight or a buffer");
  Tensor t;
  t.name = name;
  t.shape = shape;
  t.dtype = dtype;
  t.role = role;
  t.values = std::move(values);
  return add_tensor(std::move(t));
}

void check_values_fit(const Workload& w) {
  if (w.values_limit_tensor().empty()) return;
  const Tensor& t = w.tensor(w.values_limit_tensor());
  const std::string msg = tensor_label(t) + " brings the workload's tensors past " +
                          std::to_string(kMaxValueTensorBytes >> 30) + " GiB (" +
                          std::to_string(w.tensor_bytes() >> 20) +
                          " MiB in all), the limit where every tensor's values are held (tile and pe fidelity, the "
                          "reference executor); fidelity: timing holds none";
  if (w.values_limit_layer() >= 0) throw_layer_error(w, w.layers.at(size_t(w.values_limit_layer())), msg);
  throw config::ConfigError(config::Diagnostic{w.source_file.empty() ? w.name : w.source_file, 0, 0,
                                               std::string(role_name(t.role)) + "s", msg});
}

void throw_layer_error(const Workload& w, const Layer& l, const std::string& message) {
  config::Diagnostic d;
  d.file = l.loc.file.empty() ? (w.source_file.empty() ? w.name : w.source_file) : l.loc.file;
  d.line = l.loc.line;
  d.column = l.loc.column;
  d.key_path = l.loc.key_path;
  d.message = "layer '" + l.name + "' (" + op_name(l.op) + "): " + message;
  throw config::ConfigError(d);
}

const Layer& Workload::add_layer(Layer layer) {
  auto fail = [&](const std::string& msg) { throw_layer_error(*this, layer, msg); };
  if (layer.name.empty()) fail("a layer needs a name");
  if (find_layer(layer.name)) fail("duplicate layer name");
  if (layers.size() >= kMaxWorkloadLayers)
    fail("the workload would have more than " + std::to_string(kMaxWorkloadLayers) + " layers, the limit");
  std::vector<Tensor> outs;
  try {
    outs = infer_layer(layer, *this);
  } catch (const ShapeError& e) {
    fail(e.what());
  }
  std::unordered_set<std::string> seen;
  for (const auto& t : outs) {
    if (find_tensor(t.name) || !seen.insert(t.name).second)
      fail("output tensor '" + t.name + "' already exists");
  }
  for (auto& t : outs) {
    try {
      add_tensor(std::move(t));
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }
  if (layer.gemm_count && layer.m && layer.n && layer.k) {
    uint64_t macs = 0;
    if (__builtin_mul_overflow(layer.gemm_count, layer.m, &macs) || __builtin_mul_overflow(macs, layer.n, &macs) ||
        __builtin_mul_overflow(macs, layer.k, &macs) || macs > kMaxLayerMacs)
      fail("more than 2^" + std::to_string(__builtin_ctzll(kMaxLayerMacs)) + " multiply-accumulates (" +
           layer.shape() + "), the limit");
  }
  layer.cost = compute_cost(layer, *this);
  layers.push_back(std::move(layer));
  return layers.back();
}

}  // namespace xpu::workload
