#include "sim/workload/graph_builder.h"

#include <stdexcept>

namespace xpu::workload::build {

namespace {

[[noreturn]] void layer_error(const Workload& w, const Layer& l, const std::string& m) {
  throw_layer_error(w, l, m);
}

Layer make(const std::string& name, OpKind op, std::vector<std::string> inputs, const Attrs& attrs,
           const SourceLocation& loc) {
  Layer l;
  l.name = name;
  l.op = op;
  l.inputs = std::move(inputs);
  l.outputs = {name};
  l.attrs = attrs;
  l.loc = loc;
  return l;
}

const Tensor& operand(const Workload& w, const Layer& l, const std::string& x) {
  const Tensor* t = w.find_tensor(x);
  if (!t) layer_error(w, l, "operand '" + x + "' is not a known tensor");
  return *t;
}

void constant(Workload& w, const Layer& l, const std::string& name, const Shape& shape, TensorRole role,
              std::shared_ptr<const std::vector<float>> values = nullptr) {
  try {
    w.add_constant(name, shape, w.dtype, role, std::move(values));
  } catch (const std::invalid_argument& e) {
    layer_error(w, l, e.what());
  }
}

}  // namespace

std::string conv2d(Workload& w, const std::string& name, const std::string& x, int64_t out_channels, int64_t kh,
                   int64_t kw, const Attrs& attrs, bool bias, const SourceLocation& loc) {
  Layer l = make(name, OpKind::conv2d, {x, name + ".weight"}, attrs, loc);
  const Shape xs = operand(w, l, x).shape;  // a copy: adding tensors moves them
  if (xs.size() != 4) layer_error(w, l, "conv2d input must be NCHW, got " + shape_to_string(xs));
  if (attrs.groups < 1 || xs[1] % attrs.groups != 0)
    layer_error(w, l, "input channels " + std::to_string(xs[1]) + " not divisible by groups " +
                          std::to_string(attrs.groups));
  constant(w, l, name + ".weight", {out_channels, xs[1] / attrs.groups, kh, kw}, TensorRole::weight);
  if (bias) {
    constant(w, l, name + ".bias", {out_channels}, TensorRole::weight);
    l.inputs.push_back(name + ".bias");
  }
  return w.add_layer(std::move(l)).output();
}

std::string linear(Workload& w, const std::string& name, const std::string& x, int64_t out, bool bias, OpKind op,
                   const SourceLocation& loc) {
  Layer l = make(name, op, {x, name + ".weight"}, Attrs{}, loc);
  const Shape xs = operand(w, l, x).shape;  // a copy: adding tensors moves them
  if (xs.empty()) layer_error(w, l, "input must have rank >= 1");
  if (op == OpKind::gemm && xs.size() != 2)
    layer_error(w, l, "gemm input must be 2-D [M, K], got " + shape_to_string(xs) +
                          " (flatten first, or use matmul for batched inputs)");
  constant(w, l, name + ".weight", {xs.back(), out}, TensorRole::weight);
  if (bias) {
    constant(w, l, name + ".bias", {out}, TensorRole::weight);
    l.inputs.push_back(name + ".bias");
  }
  return w.add_layer(std::move(l)).output();
}

std::string standalone_gemm(Workload& w, const std::string& name, int64_t m, int64_t n, int64_t k,
                            const SourceLocation& loc) {
  Layer l = make(name, OpKind::gemm, {name + ".a", name + ".b"}, Attrs{}, loc);
  try {
    w.add_input(name + ".a", {m, k}, w.dtype);
  } catch (const std::invalid_argument& e) {
    layer_error(w, l, e.what());
  }
  constant(w, l, name + ".b", {k, n}, TensorRole::weight);
  return w.add_layer(std::move(l)).output();
}

std::string batchnorm(Workload& w, const std::string& name, const std::string& x, float epsilon,
                      const SourceLocation& loc) {
  Attrs a;
  a.epsilon = epsilon;
  Layer l = make(name, OpKind::batchnorm, {x, name + ".scale", name + ".bias", name + ".mean", name + ".var"}, a, loc);
  const Shape xs = operand(w, l, x).shape;  // a copy: adding tensors moves them
  if (xs.size() < 2) layer_error(w, l, "batchnorm input must be N x C x ..., got " + shape_to_string(xs));
  constant(w, l, name + ".scale", {xs[1]}, TensorRole::weight);
  constant(w, l, name + ".bias", {xs[1]}, TensorRole::weight);
  constant(w, l, name + ".mean", {xs[1]}, TensorRole::buffer);
  constant(w, l, name + ".var", {xs[1]}, TensorRole::buffer);
  return w.add_layer(std::move(l)).output();
}

namespace {
// layernorm and rmsnorm: a scale (and bias) of the normalized shape.
std::string norm_layer(Workload& w, OpKind op, const std::string& name, const std::string& x, int64_t axis,
                       float epsilon, bool bias, const SourceLocation& loc) {
  Attrs a;
  a.axis = axis;
  a.epsilon = epsilon;
  Layer l = make(name, op, {x, name + ".scale"}, a, loc);
  const Shape xs = operand(w, l, x).shape;  // a copy: adding tensors moves them
  const int64_t ax = normalize_axis(axis, int64_t(xs.size()));
  if (ax < 0) layer_error(w, l, "axis " + std::to_string(axis) + " out of range for " + shape_to_string(xs));
  const Shape norm(xs.begin() + ax, xs.end());
  constant(w, l, name + ".scale", norm, TensorRole::weight);
  if (bias) {
    constant(w, l, name + ".bias", norm, TensorRole::weight);
    l.inputs.push_back(name + ".bias");
  }
  return w.add_layer(std::move(l)).output();
}
}  // namespace

std::string layernorm(Workload& w, const std::string& name, const std::string& x, int64_t axis, float epsilon,
                      bool bias, const SourceLocation& loc) {
  return norm_layer(w, OpKind::layernorm, name, x, axis, epsilon, bias, loc);
}

std::string rmsnorm(Workload& w, const std::string& name, const std::string& x, int64_t axis, float epsilon,
                    const SourceLocation& loc) {
  return norm_layer(w, OpKind::rmsnorm, name, x, axis, epsilon, false, loc);
}

std::string scalar_binary(Workload& w, const std::string& name, OpKind op, const std::string& x, float value,
                          const SourceLocation& loc) {
  Layer l = make(name, op, {x, name + ".scalar"}, Attrs{}, loc);
  const DType dt = operand(w, l, x).dtype;
  try {
    w.add_constant(name + ".scalar", {}, dt, TensorRole::buffer, std::make_shared<const std::vector<float>>(1, value));
  } catch (const std::invalid_argument& e) {
    layer_error(w, l, e.what());
  }
  return w.add_layer(std::move(l)).output();
}

std::string op(Workload& w, const std::string& name, OpKind op, const std::vector<std::string>& inputs,
               const Attrs& attrs, const SourceLocation& loc) {
  Layer l = make(name, op, inputs, attrs, loc);
  for (const auto& x : inputs)
    if (!x.empty()) operand(w, l, x);
  return w.add_layer(std::move(l)).output();
}

}  // namespace xpu::workload::build
