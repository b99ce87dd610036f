// Row operations and pooling of the network lowering (network_vector.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/lowering/tpu/network_vector.h"
#include "sim/lowering/tpu/strided_nest.h"

namespace xpu::lowering::detail::vector_layer {

using workload::Layer;
using workload::OpKind;
using workload::Shape;

namespace {

// Softmax along `axis` (the IR's single-axis semantics, opset 13) of any
// layout: one row per index of the other dims, its elements `axis`'s stride
// apart (isa.h element strides), in and out.
void lower_strided_softmax(NetBuilder& b, const Layer& l, const TensorPlace& X, size_t axis, float out_scale) {
  const TensorPlace Y = b.produce(l.output(), false);
  const auto sx = layout_strides(X), sy = layout_strides(Y);
  std::vector<StridedDim> rest;
  for (size_t d : storage_order(Y))
    if (d != axis) rest.push_back({uint64_t(X.shape[d]), {sx[d], sy[d]}});
  const StridedNest nest = make_nest({uint64_t(X.shape[axis]), {sx[axis], sy[axis]}}, merge_dims(rest, 2), 2);
  const uint64_t e = b.eb();
  for (uint64_t i = 0; i < nest.instructions(); ++i) {
    const auto off = nest.offsets(i);
    tpu::Instruction in = b.vec(tpu::VectorOp::softmax, u32(nest.row.size), u32(nest.elem.size));
    in.ub_addr = X.ub + off[0] * e;
    in.ub_stride = nest.row.stride[0] * e;
    in.elem_stride = u32(nest.elem.stride[0]);
    in.in_scale = X.scale;
    in.dst_addr = Y.ub + off[1] * e;
    in.dst_stride = nest.row.stride[1] * e;
    in.dst_elem_stride = u32(nest.elem.stride[1]);
    in.scale = out_scale;
    b.emit(in);
  }
}

// LayerNormalization's optional Mean / InvStdDev outputs: the moments vop
// writes both per row into an fp32 scratch, one copy per requested output
// converts them to its own type and (int8) scale.
void lower_moments(NetBuilder& b, const Layer& l, const TensorPlace& X, uint64_t rows, uint64_t n) {
  const bool want[2] = {l.outputs.size() > 1 && !l.outputs[1].empty(), l.outputs.size() > 2 && !l.outputs[2].empty()};
  if (!want[0] && !want[1]) return;
  const uint64_t S = b.scratch(rows * 8, "the moments of '" + l.name + "'");
  tpu::Instruction m = b.vec(tpu::VectorOp::moments, u32(rows), u32(n));
  m.ub_addr = X.ub;
  m.ub_stride = n * b.eb();
  m.in_scale = X.scale;
  m.p0 = l.attrs.epsilon;
  m.out_dtype = DType::fp32;
  m.dst_addr = S;
  m.dst_stride = 8;
  b.emit(m);
  for (size_t k = 0; k < 2; ++k) {
    if (!want[k]) continue;
    const std::string& name = l.outputs[k + 1];
    const TensorPlace T = b.produce(name, false);
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, 1, u32(rows));
    c.dtype = DType::fp32;
    c.ub_addr = S + k * 4;
    c.elem_stride = 2;
    c.dst_addr = T.ub;
    c.scale = b.int8() ? 1.0f / b.scale_of(name) : 1.0f;
    b.emit(c);
  }
}

}  // namespace

void lower_softmax_layernorm(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  const TensorPlace X = b.use(l.inputs[0]);
  const Shape& xs = X.shape;
  const int64_t axis = workload::normalize_axis(l.attrs.axis, int64_t(xs.size()));
  if (l.op == OpKind::softmax && (X.nhwc || axis != int64_t(xs.size()) - 1)) {
    lower_strided_softmax(b, l, X, size_t(axis), out_scale);
    return;
  }
  if (X.nhwc) b.fail(l, "layernorm of an NHWC image is not supported by the TPU lowering (needs a row-major tensor)");
  const uint64_t n = workload::numel(Shape(xs.begin() + axis, xs.end())), rows = workload::numel(xs) / n;
  const TensorPlace Y = b.produce(out_name, false);
  tpu::Instruction in = b.vec(l.op == OpKind::softmax ? tpu::VectorOp::softmax : tpu::VectorOp::layernorm,
                            u32(rows), u32(n));
  in.ub_addr = X.ub;
  in.ub_stride = n * e;
  in.in_scale = X.scale;
  in.dst_addr = Y.ub;
  in.dst_stride = n * e;
  in.scale = out_scale;
  if (l.op == OpKind::layernorm) {
    in.p0 = l.attrs.epsilon;
    const Shape norm(xs.begin() + axis, xs.end());
    TensorPlace np;
    np.shape = norm;
    std::vector<float> sc, bi;
    if (const auto* v = b.values(l.inputs[1])) sc = *v;
    sc = expand(sc.empty() ? std::vector<float>{1.0f} : sc, sc.empty() ? Shape{1} : b.wl().tensor(l.inputs[1]).shape, np);
    if (l.inputs.size() > 2 && !l.inputs[2].empty())
      if (const auto* v = b.values(l.inputs[2])) bi = expand(*v, b.wl().tensor(l.inputs[2]).shape, np);
    if (bi.empty()) bi.assign(n, 0.0f);
    sc.insert(sc.end(), bi.begin(), bi.end());
    in.bias = true;
    in.dtype2 = DType::fp32;
    in.ub_addr2 = b.constant(f32_bytes(sc), "layernorm rows of '" + l.name + "'");
    in.ub_stride2 = n * 4;
  }
  b.emit(in);
  if (l.op == OpKind::layernorm) lower_moments(b, l, X, rows, n);
}

void lower_pooling(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  const TensorPlace X = b.use(l.inputs[0]);
  if (!X.nhwc) b.fail(l, "pooling needs an image tensor (NHWC)");
  const bool is_max = l.op == OpKind::max_pool;
  const Shape& xs = X.shape;
  const uint64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const uint64_t Ho = l.out_shape[2], Wo = l.out_shape[3];
  const TensorPlace Y = b.produce(out_name, true);
  // Running max in the input's own type and scale (exact); sums in fp32.
  const DType st = is_max ? b.dt() : DType::fp32;
  const uint64_t se = dtype_bytes(st);
  const float s_in = is_max ? X.scale : 1.0f;
  const uint64_t S = b.scratch(N * Ho * Wo * C * se, "the pooling scratch of '" + l.name + "'");
  tpu::Instruction f = b.vec(tpu::VectorOp::fill, u32(N * Ho * Wo), u32(C));
  f.out_dtype = st;
  f.scale = is_max && b.int8() ? 1.0f / s_in : 1.0f;
  f.p0 = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
  f.dst_addr = S;
  f.dst_stride = C * se;
  b.emit(f);
  auto tap = [&](uint64_t a_row, uint32_t rows, uint64_t x_px, uint64_t x_stride_px) {
    tpu::Instruction t = b.vec(is_max ? tpu::VectorOp::max : tpu::VectorOp::add, rows, u32(C));
    t.dtype = st;
    t.out_dtype = st;
    t.in_scale = s_in;
    t.scale = is_max && b.int8() ? 1.0f / s_in : 1.0f;
    t.ub_addr = S + a_row * C * se;
    t.ub_stride = C * se;
    t.dst_addr = t.ub_addr;
    t.dst_stride = C * se;
    t.dtype2 = b.dt();
    t.in_scale2 = X.scale;
    t.ub_addr2 = X.ub + x_px * C * e;
    t.ub_stride2 = x_stride_px * C * e;
    b.emit(t);
  };
  auto finish = [&](uint64_t row, uint32_t rows, float divisor) {
    tpu::Instruction c = b.vec(tpu::VectorOp::copy, rows, u32(C));
    c.dtype = st;
    c.in_scale = s_in;
    c.ub_addr = S + row * C * se;
    c.ub_stride = C * se;
    c.dst_addr = Y.ub + row * C * e;
    c.dst_stride = C * e;
    c.scale = divisor == 1.0f ? out_scale : out_scale / divisor;
    b.emit(c);
  };
  if (l.op == OpKind::global_avg_pool) {
    for (uint64_t n = 0; n < N; ++n)
      for (uint64_t p = 0; p < H * W; ++p) tap(n, 1, n * H * W + p, 0);
    finish(0, u32(N), float(H * W));
    return;
  }
  const auto& win = l.attrs.window;
  const int64_t sw = win.stride_w, sh = win.stride_h;
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t oh = 0; oh < Ho; ++oh)
      for (int64_t kh = 0; kh < win.kernel_h; ++kh) {
        const int64_t ih = int64_t(oh) * sh - win.pad_top + kh * win.dilation_h;
        if (ih < 0 || ih >= int64_t(H)) continue;
        for (int64_t kw = 0; kw < win.kernel_w; ++kw) {
          const int64_t base = kw * win.dilation_w - win.pad_left;
          int64_t lo = base >= 0 ? 0 : (-base + sw - 1) / sw;
          int64_t hi = (int64_t(W) - 1 - base) < 0 ? -1 : (int64_t(W) - 1 - base) / sw;
          hi = std::min<int64_t>(hi, int64_t(Wo) - 1);
          if (lo > hi) continue;
          tap((n * Ho + oh) * Wo + uint64_t(lo), u32(hi - lo + 1), (n * H + uint64_t(ih)) * W + uint64_t(lo * sw + base),
              uint64_t(sw));
        }
      }
  if (is_max) {
    finish(0, u32(N * Ho * Wo), 1.0f);
    return;
  }
  // Average: divisor per output position (reference_executor.h), runs of equal divisors.
  auto count = [&](int64_t o, int64_t stride, int64_t k, int64_t pad_lo, int64_t pad_hi, int64_t size) {
    int64_t c = 0;
    for (int64_t t = 0; t < k; ++t) {
      const int64_t i = o * stride - pad_lo + t;
      c += l.attrs.count_include_pad ? (i >= -pad_lo && i < size + pad_hi) : (i >= 0 && i < size);
    }
    return c;
  };
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t oh = 0; oh < Ho; ++oh) {
      const int64_t ch = count(int64_t(oh), sh, win.kernel_h, win.pad_top, win.pad_bottom, int64_t(H));
      uint64_t run0 = 0;
      int64_t prev = -1;
      for (uint64_t ow = 0; ow <= Wo; ++ow) {
        const int64_t cw = ow < Wo ? count(int64_t(ow), sw, win.kernel_w, win.pad_left, win.pad_right, int64_t(W)) : -2;
        if (cw != prev) {
          if (prev >= 0 && ow > run0) finish((n * Ho + oh) * Wo + run0, u32(ow - run0), float(ch * prev));
          run0 = ow;
          prev = cw;
        }
      }
    }
}

}  // namespace xpu::lowering::detail::vector_layer
