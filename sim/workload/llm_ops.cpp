#include "sim/workload/llm_ops.h"

#include <cmath>
#include <stdexcept>

#include "sim/common/errors.h"
#include "sim/workload/infer.h"

namespace xpu::workload {

namespace {

std::string s(const Shape& sh) { return shape_to_string(sh); }

const Tensor& operand(const Layer& l, const Workload& w, size_t i) {
  if (i >= l.inputs.size() || l.inputs[i].empty()) throw ShapeError("operand " + std::to_string(i) + " is missing");
  const Tensor* t = w.find_tensor(l.inputs[i]);
  if (!t) throw ShapeError("operand '" + l.inputs[i] + "' is not a known tensor");
  return *t;
}

void arity(const Layer& l, size_t n) {
  if (l.inputs.size() != n)
    throw ShapeError("expects " + std::to_string(n) + " operands, got " + std::to_string(l.inputs.size()));
}

Tensor result(const Layer& l, const Shape& shape, DType dtype) {
  Tensor t;
  t.name = l.outputs.at(0);
  t.shape = shape;
  t.dtype = dtype;
  t.role = TensorRole::activation;
  t.producer = l.name;
  return t;
}

int64_t axis_of(Layer& l, const Shape& x) {
  const int64_t axis = normalize_axis(l.attrs.axis, int64_t(x.size()));
  if (axis < 0) throw ShapeError("axis " + std::to_string(l.attrs.axis) + " out of range for " + s(x));
  return l.attrs.axis = axis;
}

}  // namespace

std::vector<Tensor> infer_llm_op(Layer& l, const Workload& w) {
  const Tensor& x = operand(l, w, 0);
  switch (l.op) {
    case OpKind::rmsnorm: {
      arity(l, 2);
      const int64_t axis = axis_of(l, x.shape);
      const Shape norm(x.shape.begin() + axis, x.shape.end());
      if (operand(l, w, 1).shape != norm)
        throw ShapeError("scale must have the normalized shape " + s(norm) + ", got " + s(operand(l, w, 1).shape));
      return {result(l, x.shape, x.dtype)};
    }
    case OpKind::rope: {
      arity(l, 3);
      if (x.shape.size() < 3) throw ShapeError("rope input must be [..., S, H, d], got " + s(x.shape));
      const int64_t d = x.shape.back(), S = x.shape[x.shape.size() - 3];
      if (d % 2 != 0) throw ShapeError("rope head dimension must be even, got " + std::to_string(d));
      for (size_t i = 1; i < 3; ++i)
        if (operand(l, w, i).shape != Shape{S, d / 2})
          throw ShapeError(std::string(i == 1 ? "cos" : "sin") + " table must have shape " + s(Shape{S, d / 2}) +
                           ", got " + s(operand(l, w, i).shape));
      return {result(l, x.shape, x.dtype)};
    }
    case OpKind::gather: {
      arity(l, 2);
      const int64_t axis = axis_of(l, x.shape);
      const Shape& idx = operand(l, w, 1).shape;
      Shape out(x.shape.begin(), x.shape.begin() + axis);
      out.insert(out.end(), idx.begin(), idx.end());
      out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
      return {result(l, out, x.dtype)};
    }
    case OpKind::argmax: {
      arity(l, 1);
      Shape out = x.shape;
      out[size_t(axis_of(l, x.shape))] = 1;
      return {result(l, out, DType::fp32)};
    }
    default: break;
  }
  throw InternalError(std::string("infer_llm_op: not an LLM op: ") + op_name(l.op));
}

uint64_t llm_op_vector_ops(const Layer& l, const Workload& w) {
  const uint64_t out = numel(l.out_shape);
  switch (l.op) {
    case OpKind::rmsnorm: return 4 * out;  // square, sum, x inv, x scale
    case OpKind::rope: return 3 * out;     // two multiplies and an add
    case OpKind::gather: return 0;         // data movement only
    case OpKind::argmax: return numel(w.tensor(l.inputs[0]).shape);  // one comparison per input element
    default: break;
  }
  return 0;
}

void reference_llm_op(const Layer& l, const std::vector<const std::vector<float>*>& in,
                      const std::vector<Shape>& shapes, std::vector<float>& y) {
  const std::vector<float>& x = *in.at(0);
  const Shape& xs = shapes.at(0);
  switch (l.op) {
    case OpKind::rmsnorm: {
      const uint64_t n = numel(Shape(xs.begin() + l.attrs.axis, xs.end())), rows = x.size() / n;
      const std::vector<float>& scale = *in.at(1);
      for (uint64_t r = 0; r < rows; ++r) {
        const float* X = x.data() + r * n;
        float ss = 0.0f;
        for (uint64_t i = 0; i < n; ++i) {
          const float sq = X[i] * X[i];
          ss = ss + sq;
        }
        const float ms = ss / float(n);
        const float inv = 1.0f / std::sqrt(ms + l.attrs.epsilon);
        for (uint64_t i = 0; i < n; ++i) {
          const float normed = X[i] * inv;
          y[r * n + i] = normed * scale[i];
        }
      }
      return;
    }
    case OpKind::rope: {
      const uint64_t d = uint64_t(xs.back()), h = d / 2, H = uint64_t(xs[xs.size() - 2]),
                     S = uint64_t(xs[xs.size() - 3]);
      const std::vector<float>& cos = *in.at(1);
      const std::vector<float>& sin = *in.at(2);
      for (uint64_t v = 0; v < x.size() / d; ++v) {
        const uint64_t pos = v / H % S;
        const float* X = x.data() + v * d;
        float* Y = y.data() + v * d;
        for (uint64_t j = 0; j < h; ++j) {
          const float c = cos[pos * h + j], sn = sin[pos * h + j];
          const float ac = X[j] * c, bs = X[j + h] * sn, bc = X[j + h] * c, as = X[j] * sn;
          Y[j] = ac - bs;
          Y[j + h] = bc + as;
        }
      }
      return;
    }
    case OpKind::gather: {
      const std::vector<float>& idx = *in.at(1);
      const uint64_t axis = uint64_t(l.attrs.axis);
      const uint64_t outer = numel(Shape(xs.begin(), xs.begin() + int64_t(axis))), len = uint64_t(xs[axis]),
                     inner = numel(Shape(xs.begin() + int64_t(axis) + 1, xs.end()));
      for (uint64_t o = 0; o < outer; ++o)
        for (uint64_t k = 0; k < idx.size(); ++k) {
          const float f = idx[k];
          if (!(f == std::floor(f)) || f < -float(len) || f >= float(len))
            throw std::invalid_argument("gather '" + l.name + "': index " + std::to_string(f) + " out of [-" +
                                        std::to_string(len) + ", " + std::to_string(len) + ")");
          const uint64_t at = uint64_t(f < 0 ? int64_t(f) + int64_t(len) : int64_t(f));
          for (uint64_t i = 0; i < inner; ++i) y[(o * idx.size() + k) * inner + i] = x[(o * len + at) * inner + i];
        }
      return;
    }
    case OpKind::argmax: {
      const uint64_t axis = uint64_t(l.attrs.axis);
      const uint64_t outer = numel(Shape(xs.begin(), xs.begin() + int64_t(axis))), len = uint64_t(xs[axis]),
                     inner = numel(Shape(xs.begin() + int64_t(axis) + 1, xs.end()));
      for (uint64_t o = 0; o < outer; ++o)
        for (uint64_t i = 0; i < inner; ++i) {
          uint64_t best = 0;
          for (uint64_t k = 1; k < len; ++k) {
            const float v = x[(o * len + k) * inner + i], b = x[(o * len + best) * inner + i];
            if (v > b || (std::isnan(b) && !std::isnan(v))) best = k;
          }
          y[o * inner + i] = float(best);
        }
      return;
    }
    default: break;
  }
  throw InternalError(std::string("reference_llm_op: not an LLM op: ") + op_name(l.op));
}

}  // namespace xpu::workload
