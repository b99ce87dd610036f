// Layout changes of the network lowering (network_vector.h): transpose,
// reshape / flatten (NHWC images to row-major) and concat.
#include <algorithm>

#include "sim/lowering/tpu/network_vector.h"

namespace xpu::lowering::detail::vector_layer {

using workload::Layer;
using workload::Shape;

void lower_transpose(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  const TensorPlace X = b.use(l.inputs[0]);
  if (X.nhwc) b.fail(l, "transposing an NHWC image is not supported by the TPU lowering");
  const TensorPlace Y = b.produce(out_name, false);
  const Shape& xs = X.shape;
  const size_t r = xs.size();
  std::vector<int64_t> perm = l.attrs.perm;
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(int64_t(r - 1 - i));
  const auto ist = strides(xs);
  const Shape& os = l.out_shape;
  if (r < 2) {
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, 1, u32(workload::numel(xs)));
    c.ub_addr = X.ub;
    c.in_scale = X.scale;
    c.scale = out_scale;
    c.dst_addr = Y.ub;
    b.emit(c);
    return;
  }
  const uint64_t rows = os[r - 2], n = os[r - 1];
  const uint64_t outer = workload::numel(Shape(os.begin(), os.end() - 2));
  const auto ost = strides(Shape(os.begin(), os.end() - 2));
  for (uint64_t o = 0; o < outer; ++o) {
    uint64_t rem = o, src = 0;
    for (size_t d = 0; d + 2 < r; ++d) {
      const uint64_t idx = rem / ost[d];
      rem %= ost[d];
      src += idx * ist[size_t(perm[d])];
    }
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, u32(rows), u32(n));
    c.ub_addr = X.ub + src * e;
    c.ub_stride = ist[size_t(perm[r - 2])] * e;
    c.elem_stride = u32(ist[size_t(perm[r - 1])]);
    c.in_scale = X.scale;
    c.scale = out_scale;
    c.dst_addr = Y.ub + o * rows * n * e;
    c.dst_stride = n * e;
    b.emit(c);
  }
}

void lower_reshape(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  // Not a view: an NHWC image becomes row-major NCHW first (per image a
  // transpose); a row-major tensor (here only when the result is a graph
  // output, which needs its own place) is copied.
  const TensorPlace X = b.use(l.inputs[0]);
  const TensorPlace Y = b.produce(out_name, false);
  if (!X.nhwc) {
    // One copy, rows of the last dim.
    const uint64_t n = uint64_t(X.shape.empty() ? 1 : X.shape.back());
    const uint64_t rows = workload::numel(X.shape) / std::max<uint64_t>(n, 1);
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, u32(rows), u32(n));
    c.ub_addr = X.ub;
    c.ub_stride = n * e;
    c.in_scale = X.scale;
    c.scale = out_scale;
    c.dst_addr = Y.ub;
    c.dst_stride = n * e;
    b.emit(c);
    return;
  }
  const uint64_t N = X.shape[0], C = X.shape[1], HW = uint64_t(X.shape[2] * X.shape[3]);
  for (uint64_t n = 0; n < N; ++n) {
    tpu::Instruction t = b.vec(tpu::VectorOp::transpose, u32(HW), u32(C));
    t.ub_addr = X.ub + n * HW * C * e;
    t.ub_stride = C * e;
    t.dst_addr = Y.ub + n * C * HW * e;
    t.dst_stride = HW * e;
    t.dst_elem_stride = 1;
    t.in_scale = X.scale;
    t.scale = out_scale;
    b.emit(t);
  }
}

void lower_concat(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  std::vector<TensorPlace> xs;
  for (const auto& in : l.inputs) xs.push_back(b.use(in));
  const bool nhwc = xs[0].nhwc;
  for (const auto& x : xs)
    if (x.nhwc != nhwc) b.fail(l, "its operands have different layouts (NHWC image and row-major)");
  const TensorPlace Y = b.produce(out_name, nhwc);
  const int64_t r = int64_t(l.out_shape.size());
  int64_t ax = workload::normalize_axis(l.attrs.axis, r);
  if (nhwc) ax = ax == 0 ? 0 : ax == 1 ? 3 : ax - 1;
  const Shape yp = physical(Y);
  const uint64_t outer = workload::numel(Shape(yp.begin(), yp.begin() + ax));
  const uint64_t inner_y = workload::numel(Shape(yp.begin() + ax, yp.end()));
  uint64_t off = 0;
  for (const auto& x : xs) {
    const Shape xp = physical(x);
    const uint64_t inner = workload::numel(Shape(xp.begin() + ax, xp.end()));
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, u32(outer), u32(inner));
    c.ub_addr = x.ub;
    c.ub_stride = inner * e;
    c.in_scale = x.scale;
    c.scale = out_scale;
    c.dst_addr = Y.ub + off * e;
    c.dst_stride = inner_y * e;
    b.emit(c);
    off += inner;
  }
}

}  // namespace xpu::lowering::detail::vector_layer
