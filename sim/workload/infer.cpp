#include "sim/workload/infer.h"

#include "sim/workload/llm_ops.h"

#include <algorithm>
#include <numeric>

namespace xpu::workload {

namespace {

std::string s(const Shape& sh) { return shape_to_string(sh); }

// Operand access with arity checks.
class Operands {
 public:
  Operands(const Layer& l, const Workload& w) : l_(l), w_(w) {}

  void arity(size_t min, size_t max) const {
    const size_t n = l_.inputs.size();
    if (n < min || n > max) {
      std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
      throw ShapeError("expects " + want + " operands, got " + std::to_string(n));
    }
    if (l_.inputs.empty() || l_.inputs[0].empty()) throw ShapeError("its first operand is missing");
  }
  bool present(size_t i) const { return i < l_.inputs.size() && !l_.inputs[i].empty(); }
  const Tensor& at(size_t i) const {
    const Tensor* t = w_.find_tensor(l_.inputs.at(i));
    if (!t) throw ShapeError("operand '" + l_.inputs[i] + "' is not a known tensor");
    return *t;
  }
  const Shape& shape(size_t i) const { return at(i).shape; }

 private:
  const Layer& l_;
  const Workload& w_;
};

Tensor output_like(const Layer& l, size_t i, const Shape& shape, DType dtype) {
  Tensor t;
  t.name = l.outputs.at(i);
  t.shape = shape;
  t.dtype = dtype;
  t.role = TensorRole::activation;
  t.producer = l.name;
  return t;
}

void require_rank(const Shape& sh, size_t rank, const std::string& what) {
  if (sh.size() != rank)
    throw ShapeError(what + " must have rank " + std::to_string(rank) + ", got " + s(sh));
}

void require_same_dtype(const Operands& ops, size_t a, size_t b) {
  if (ops.at(a).dtype != ops.at(b).dtype)
    throw ShapeError("operands '" + ops.at(a).name + "' (" + std::string(dtype_name(ops.at(a).dtype)) + ") and '" +
                     ops.at(b).name + "' (" + std::string(dtype_name(ops.at(b).dtype)) + ") have different dtypes");
}

// ONNX unidirectional broadcast: `from` can be broadcast to `to`.
bool broadcasts_to(const Shape& from, const Shape& to) {
  Shape r;
  return broadcast_shapes(from, to, r) && r == to;
}

std::vector<Tensor> infer_gemm(Layer& l, const Operands& ops) {
  ops.arity(2, 3);
  const Shape& a = ops.shape(0);
  const Shape& b = ops.shape(1);
  require_rank(a, 2, "A");
  require_rank(b, 2, "B");
  const int64_t m = l.attrs.trans_a ? a[1] : a[0];
  const int64_t ka = l.attrs.trans_a ? a[0] : a[1];
  const int64_t kb = l.attrs.trans_b ? b[1] : b[0];
  const int64_t n = l.attrs.trans_b ? b[0] : b[1];
  if (ka != kb)
    throw ShapeError("mismatched inner dimensions: A" + std::string(l.attrs.trans_a ? "^T" : "") + " is " +
                     std::to_string(m) + "x" + std::to_string(ka) + " but B" + (l.attrs.trans_b ? "^T" : "") +
                     " is " + std::to_string(kb) + "x" + std::to_string(n));
  const Shape out{m, n};
  if (ops.present(2) && !broadcasts_to(ops.shape(2), out))
    throw ShapeError("bias C of shape " + s(ops.shape(2)) + " does not broadcast to the output " + s(out));
  l.gemm_form = GemmForm::gemm;
  l.gemm_count = 1;
  l.m = uint64_t(m);
  l.n = uint64_t(n);
  l.k = uint64_t(ka);
  l.b_is_weight = ops.at(1).is_constant();
  l.has_bias = ops.present(2);
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

std::vector<Tensor> infer_matmul(Layer& l, const Operands& ops) {
  ops.arity(2, 3);
  Shape a = ops.shape(0), b = ops.shape(1);
  if (a.empty() || b.empty()) throw ShapeError("matmul operands must have rank >= 1");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  const int64_t m = a[a.size() - 2], ka = a.back(), kb = b[b.size() - 2], n = b.back();
  if (ka != kb)
    throw ShapeError("mismatched inner dimensions: A is " + s(ops.shape(0)) + " (K = " + std::to_string(ka) +
                     ") but B is " + s(ops.shape(1)) + " (K = " + std::to_string(kb) + ")");
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch;
  if (!broadcast_shapes(a_batch, b_batch, batch))
    throw ShapeError("batch dimensions of A " + s(ops.shape(0)) + " and B " + s(ops.shape(1)) + " do not broadcast");
  Shape out = batch;
  if (!a_vec) out.push_back(m);
  if (!b_vec) out.push_back(n);
  if (ops.present(2)) {
    const Shape& bias = ops.shape(2);
    if (bias != Shape{n}) throw ShapeError("bias must have shape " + std::to_string(n) + ", got " + s(bias));
  }
  l.gemm_form = GemmForm::matmul;
  const uint64_t batch_elems = numel(batch);
  if (b_batch.empty()) {  // one weight matrix for every row of every batch: fold the batch into M
    l.gemm_count = 1;
    l.m = batch_elems * uint64_t(m);
  } else {
    l.gemm_count = batch_elems;
    l.m = uint64_t(m);
  }
  l.n = uint64_t(n);
  l.k = uint64_t(ka);
  l.b_is_weight = ops.at(1).is_constant();
  l.has_bias = ops.present(2);
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

}  // namespace

int64_t window_output(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, AutoPad mode,
                      bool ceil_mode, int64_t& pad_begin, int64_t& pad_end, const char* axis) {
  if (kernel < 1 || stride < 1 || dilation < 1)
    throw ShapeError(std::string("kernel, stride and dilation must be >= 1 along ") + axis);
  // Bounded operands keep every sum and product below 2^63.
  for (const int64_t v : {kernel, stride, dilation, pad_begin, pad_end})
    if (v > kMaxDimension)
      throw ShapeError(std::string("kernel, stride, dilation and pads must be <= ") + std::to_string(kMaxDimension) +
                       " along " + axis + ", got " + std::to_string(v));
  const int64_t extent = (kernel - 1) * dilation + 1;
  if (mode == AutoPad::valid) pad_begin = pad_end = 0;
  if (mode == AutoPad::same_upper || mode == AutoPad::same_lower) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
    const int64_t small = total / 2, large = total - small;
    pad_begin = mode == AutoPad::same_upper ? small : large;
    pad_end = mode == AutoPad::same_upper ? large : small;
  }
  if (pad_begin < 0 || pad_end < 0) throw ShapeError(std::string("negative padding along ") + axis);
  const int64_t padded = in + pad_begin + pad_end;
  if (padded < extent)
    throw ShapeError(std::string("kernel larger than the padded input along ") + axis + ": kernel " +
                     std::to_string(kernel) + (dilation > 1 ? " (dilated extent " + std::to_string(extent) + ")" : "") +
                     " > input " + std::to_string(in) + " + pads " + std::to_string(pad_begin) + "+" +
                     std::to_string(pad_end));
  int64_t out = ceil_mode ? (padded - extent + stride - 1) / stride + 1 : (padded - extent) / stride + 1;
  // ceil_mode: the last window must start inside the input or its leading pad.
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

namespace {

std::vector<Tensor> infer_conv(Layer& l, const Operands& ops) {
  ops.arity(2, 3);
  const Shape& x = ops.shape(0);
  const Shape& w = ops.shape(1);
  require_rank(x, 4, "conv2d input (NCHW)");
  require_rank(w, 4, "conv2d weight [Cout, Cin/groups, Kh, Kw]");
  const int64_t g = l.attrs.groups;
  if (g < 1) throw ShapeError("groups must be >= 1, got " + std::to_string(g));
  const int64_t c = x[1], cout = w[0];
  if (c % g != 0)
    throw ShapeError("input channels " + std::to_string(c) + " not divisible by groups " + std::to_string(g));
  if (cout % g != 0)
    throw ShapeError("output channels " + std::to_string(cout) + " not divisible by groups " + std::to_string(g));
  if (w[1] != c / g)
    throw ShapeError("weight " + s(w) + " expects " + std::to_string(w[1] * g) + " input channels (" +
                     std::to_string(w[1]) + " per group x " + std::to_string(g) + " groups) but the input " + s(x) +
                     " has " + std::to_string(c) + " (shape mismatch between layers)");
  if (ops.present(2) && ops.shape(2) != Shape{cout})
    throw ShapeError("bias must have shape " + std::to_string(cout) + ", got " + s(ops.shape(2)));
  Window2d& win = l.attrs.window;
  win.kernel_h = w[2];
  win.kernel_w = w[3];
  const int64_t ho = window_output(x[2], win.kernel_h, win.stride_h, win.dilation_h, win.auto_pad, false,
                                   win.pad_top, win.pad_bottom, "H");
  const int64_t wo = window_output(x[3], win.kernel_w, win.stride_w, win.dilation_w, win.auto_pad, false,
                                   win.pad_left, win.pad_right, "W");
  win.auto_pad = AutoPad::explicit_pads;
  l.gemm_form = GemmForm::conv_im2col;
  l.gemm_count = uint64_t(g);
  l.m = uint64_t(x[0] * ho * wo);
  l.k = uint64_t(c / g * win.kernel_h * win.kernel_w);
  l.n = uint64_t(cout / g);
  l.b_is_weight = ops.at(1).is_constant();
  l.has_bias = ops.present(2);
  return {output_like(l, 0, {x[0], cout, ho, wo}, ops.at(0).dtype)};
}

std::vector<Tensor> infer_pool(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  const Shape& x = ops.shape(0);
  require_rank(x, 4, "pooling input (NCHW)");
  Window2d& win = l.attrs.window;
  if (l.op == OpKind::avg_pool && (win.dilation_h != 1 || win.dilation_w != 1))
    throw ShapeError("avg_pool does not support dilation");
  const int64_t ho = window_output(x[2], win.kernel_h, win.stride_h, win.dilation_h, win.auto_pad, win.ceil_mode,
                                   win.pad_top, win.pad_bottom, "H");
  const int64_t wo = window_output(x[3], win.kernel_w, win.stride_w, win.dilation_w, win.auto_pad, win.ceil_mode,
                                   win.pad_left, win.pad_right, "W");
  win.auto_pad = AutoPad::explicit_pads;
  return {output_like(l, 0, {x[0], x[1], ho, wo}, ops.at(0).dtype)};
}

std::vector<Tensor> infer_global_pool(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  Shape out = ops.shape(0);
  if (out.size() < 3) throw ShapeError("global_avg_pool input must be N x C x spatial..., got " + s(out));
  std::fill(out.begin() + 2, out.end(), 1);
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

std::vector<Tensor> infer_binary(Layer& l, const Operands& ops) {
  ops.arity(2, 2);
  require_same_dtype(ops, 0, 1);
  Shape out;
  if (!broadcast_shapes(ops.shape(0), ops.shape(1), out))
    throw ShapeError("operands " + s(ops.shape(0)) + " ('" + ops.at(0).name + "') and " + s(ops.shape(1)) + " ('" +
                     ops.at(1).name + "') do not broadcast (shape mismatch between layers)");
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

std::vector<Tensor> infer_softmax(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  const Shape& x = ops.shape(0);
  const int64_t axis = normalize_axis(l.attrs.axis, int64_t(x.size()));
  if (axis < 0) throw ShapeError("axis " + std::to_string(l.attrs.axis) + " out of range for " + s(x));
  l.attrs.axis = axis;
  return {output_like(l, 0, x, ops.at(0).dtype)};
}

std::vector<Tensor> infer_layernorm(Layer& l, const Operands& ops) {
  ops.arity(2, 3);
  const Shape& x = ops.shape(0);
  const int64_t axis = normalize_axis(l.attrs.axis, int64_t(x.size()));
  if (axis < 0) throw ShapeError("axis " + std::to_string(l.attrs.axis) + " out of range for " + s(x));
  l.attrs.axis = axis;
  const Shape norm(x.begin() + axis, x.end());
  for (size_t i = 1; i < 3; ++i)
    if (ops.present(i) && !broadcasts_to(ops.shape(i), norm))
      throw ShapeError(std::string(i == 1 ? "scale" : "bias") + " of shape " + s(ops.shape(i)) +
                       " does not broadcast to the normalized shape " + s(norm));
  if (l.outputs.size() > 3) throw ShapeError("layernorm has at most 3 outputs (Y, Mean, InvStdDev)");
  std::vector<Tensor> outs{output_like(l, 0, x, ops.at(0).dtype)};
  Shape stat = x;
  std::fill(stat.begin() + axis, stat.end(), 1);
  for (size_t i = 1; i < l.outputs.size(); ++i)
    if (!l.outputs[i].empty()) outs.push_back(output_like(l, i, stat, DType::fp32));
  return outs;
}

std::vector<Tensor> infer_batchnorm(Layer& l, const Operands& ops) {
  ops.arity(5, 5);
  const Shape& x = ops.shape(0);
  if (x.size() < 2) throw ShapeError("batchnorm input must be N x C x ..., got " + s(x));
  const char* names[] = {"", "scale", "bias", "mean", "var"};
  for (size_t i = 1; i < 5; ++i)
    if (ops.shape(i) != Shape{x[1]})
      throw ShapeError(std::string(names[i]) + " must have shape " + std::to_string(x[1]) + " (the channels of " +
                       s(x) + "), got " + s(ops.shape(i)) + " (shape mismatch between layers)");
  return {output_like(l, 0, x, ops.at(0).dtype)};
}

std::vector<Tensor> infer_reshape(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  const Shape& x = ops.shape(0);
  Shape out = l.attrs.target_shape;
  int64_t infer_at = -1;
  uint64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !l.attrs.allow_zero) {
      if (i >= x.size()) throw ShapeError("target dimension " + std::to_string(i) + " is 0 (copy) but the input " + s(x) + " has no such dimension");
      out[i] = x[i];
    }
    if (out[i] == -1) {
      if (infer_at >= 0) throw ShapeError("at most one target dimension may be -1");
      infer_at = int64_t(i);
      continue;
    }
    if (out[i] < 0) throw ShapeError("invalid target dimension " + std::to_string(out[i]));
    if (__builtin_mul_overflow(known, uint64_t(out[i]), &known))
      throw ShapeError("target shape " + s(l.attrs.target_shape) + " has more than 2^64 elements");
  }
  const uint64_t total = numel(x);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      throw ShapeError("cannot reshape " + s(x) + " (" + std::to_string(total) + " elements) to " +
                       s(l.attrs.target_shape));
    out[size_t(infer_at)] = int64_t(total / known);
  } else if (known != total) {
    throw ShapeError("cannot reshape " + s(x) + " (" + std::to_string(total) + " elements) to " + s(out) + " (" +
                     std::to_string(known) + " elements)");
  }
  for (int64_t d : out)
    if (d < 1) throw ShapeError("zero-size dimensions are not supported (target " + s(out) + ")");
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

std::vector<Tensor> infer_flatten(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  const Shape& x = ops.shape(0);
  const int64_t r = int64_t(x.size());
  int64_t axis = l.attrs.axis;
  if (axis < -r || axis > r) throw ShapeError("axis " + std::to_string(axis) + " out of range for " + s(x));
  if (axis < 0) axis += r;
  l.attrs.axis = axis;
  const Shape outer(x.begin(), x.begin() + axis), inner(x.begin() + axis, x.end());
  return {output_like(l, 0, {int64_t(numel(outer)), int64_t(numel(inner))}, ops.at(0).dtype)};
}

std::vector<Tensor> infer_transpose(Layer& l, const Operands& ops) {
  ops.arity(1, 1);
  const Shape& x = ops.shape(0);
  auto& perm = l.attrs.perm;
  if (perm.empty())
    for (size_t i = 0; i < x.size(); ++i) perm.push_back(int64_t(x.size() - 1 - i));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(x.size());
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota) throw ShapeError("perm is not a permutation of the " + std::to_string(x.size()) + " axes of " + s(x));
  Shape out;
  for (int64_t p : perm) out.push_back(x[size_t(p)]);
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

std::vector<Tensor> infer_concat(Layer& l, const Operands& ops) {
  if (l.inputs.empty()) throw ShapeError("concat needs at least one operand");
  ops.arity(1, l.inputs.size());
  Shape out = ops.shape(0);
  const int64_t axis = normalize_axis(l.attrs.axis, int64_t(out.size()));
  if (axis < 0) throw ShapeError("axis " + std::to_string(l.attrs.axis) + " out of range for " + s(out));
  l.attrs.axis = axis;
  for (size_t i = 1; i < l.inputs.size(); ++i) {
    const Shape& o = ops.shape(i);
    require_same_dtype(ops, 0, i);
    bool ok = o.size() == out.size();
    for (size_t d = 0; ok && d < o.size(); ++d) ok = int64_t(d) == axis || o[d] == out[d];
    if (!ok)
      throw ShapeError("operand " + std::to_string(i) + " '" + ops.at(i).name + "' has shape " + s(o) +
                       ", which does not match " + s(ops.shape(0)) + " outside axis " + std::to_string(axis));
    out[size_t(axis)] += o[size_t(axis)];
  }
  return {output_like(l, 0, out, ops.at(0).dtype)};
}

}  // namespace

std::vector<Tensor> infer_layer(Layer& l, const Workload& w) {
  const Operands ops(l, w);
  if (l.outputs.empty() || l.outputs[0].empty()) throw ShapeError("has no output tensor name");
  if (l.op != OpKind::layernorm && l.outputs.size() != 1) throw ShapeError("has more than one output");
  l.gemm_form = GemmForm::none;
  l.gemm_count = 1;
  l.m = l.n = l.k = 0;
  l.b_is_weight = l.has_bias = false;
  std::vector<Tensor> outs;
  switch (l.op) {
    case OpKind::gemm: outs = infer_gemm(l, ops); break;
    case OpKind::matmul: outs = infer_matmul(l, ops); break;
    case OpKind::conv2d: outs = infer_conv(l, ops); break;
    case OpKind::max_pool:
    case OpKind::avg_pool: outs = infer_pool(l, ops); break;
    case OpKind::global_avg_pool: outs = infer_global_pool(l, ops); break;
    XPU_ACTIVATION_CASES
      ops.arity(1, 1);
      if (l.op == OpKind::clip && !(l.attrs.clip_min <= l.attrs.clip_max))
        throw ShapeError("clip min " + std::to_string(l.attrs.clip_min) + " > max " + std::to_string(l.attrs.clip_max));
      outs = {output_like(l, 0, ops.shape(0), ops.at(0).dtype)};
      break;
    case OpKind::add:
    case OpKind::mul: outs = infer_binary(l, ops); break;
    case OpKind::softmax: outs = infer_softmax(l, ops); break;
    case OpKind::layernorm: outs = infer_layernorm(l, ops); break;
    case OpKind::batchnorm: outs = infer_batchnorm(l, ops); break;
    case OpKind::reshape: outs = infer_reshape(l, ops); break;
    case OpKind::flatten: outs = infer_flatten(l, ops); break;
    case OpKind::transpose: outs = infer_transpose(l, ops); break;
    case OpKind::concat: outs = infer_concat(l, ops); break;
    case OpKind::rmsnorm:
    case OpKind::rope:
    case OpKind::gather:
    case OpKind::argmax: outs = infer_llm_op(l, w); break;  // llm_ops.cpp
  }
  l.out_shape = outs.front().shape;
  return outs;
}

}  // namespace xpu::workload
