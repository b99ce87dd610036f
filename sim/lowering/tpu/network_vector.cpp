// Vector layers of the network lowering (network.h): they run on the
// activation unit's vector opcode, unified buffer to unified buffer.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "sim/lowering/tpu/network_builder.h"
#include "sim/lowering/tpu/strided_nest.h"

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;
using workload::Shape;

namespace {

uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Physical shape: NHWC for image tensors, the logical shape otherwise.
Shape physical(const TensorPlace& p) {
  if (p.nhwc) return {p.shape[0], p.shape[2], p.shape[3], p.shape[1]};
  return p.shape;
}

std::vector<uint64_t> strides(const Shape& s) {
  std::vector<uint64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * uint64_t(s[i]);
  return st;
}

// Values of a constant broadcast to `out` (logical), laid out like `place`.
std::vector<float> expand(const std::vector<float>& v, const Shape& vs, const TensorPlace& place) {
  const Shape& out = place.shape;
  const auto ost = strides(out);
  const size_t r = out.size();
  std::vector<uint64_t> vst(r, 0);
  {
    const auto s = strides(vs);
    for (size_t i = 0; i < vs.size(); ++i) {
      const size_t d = r - vs.size() + i;
      vst[d] = vs[i] == 1 ? 0 : s[i];
    }
  }
  const uint64_t total = workload::numel(out);
  std::vector<float> logical(total);
  for (uint64_t o = 0; o < total; ++o) {
    uint64_t rem = o, src = 0;
    for (size_t d = 0; d < r; ++d) {
      const uint64_t idx = rem / ost[d];
      rem %= ost[d];
      src += idx * vst[d];
    }
    logical[o] = v.empty() ? 0.0f : v[src];
  }
  if (!place.nhwc) return logical;
  const uint64_t N = out[0], C = out[1], HW = uint64_t(out[2] * out[3]);
  std::vector<float> phys(total);
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t c = 0; c < C; ++c)
      for (uint64_t p = 0; p < HW; ++p) phys[(n * HW + p) * C + c] = logical[(n * C + c) * HW + p];
  return phys;
}

tpu::ActFn fn_of(const Layer& l, float& p0, float& p1) {
  switch (l.op) {
    case OpKind::relu: return tpu::ActFn::relu;
    case OpKind::relu6: return tpu::ActFn::relu6;
    case OpKind::clip:
      p0 = l.attrs.clip_min;
      p1 = l.attrs.clip_max;
      return tpu::ActFn::clip;
    case OpKind::sigmoid: return tpu::ActFn::sigmoid;
    case OpKind::tanh: return tpu::ActFn::tanh;
    case OpKind::gelu: return l.attrs.gelu_tanh ? tpu::ActFn::gelu_tanh : tpu::ActFn::gelu;
    default: return tpu::ActFn::none;
  }
}

// Element distance between consecutive indices of each logical dim in the
// tensor's UB layout (NHWC images: n HWC, c 1, h WC, w C).
std::vector<uint64_t> layout_strides(const TensorPlace& p) {
  const auto ps = strides(physical(p));
  if (!p.nhwc) return ps;
  return {ps[0], ps[3], ps[1], ps[2]};
}

// Logical dims in the order the UB stores them, outermost first.
std::vector<size_t> storage_order(const TensorPlace& p) {
  if (p.nhwc) return {0, 2, 3, 1};
  std::vector<size_t> o(p.shape.size());
  for (size_t i = 0; i < o.size(); ++i) o[i] = i;
  return o;
}

// An operand of a broadcast elementwise op: where it is and, per output dim,
// its element stride (0 where numpy broadcasting repeats it).
struct Operand {
  uint64_t ub = 0;
  DType dtype = DType::fp32;
  float scale = 1.0f;
  std::vector<uint64_t> stride;
};

std::vector<uint64_t> broadcast_strides(const Shape& s, const std::vector<uint64_t>& st, size_t out_rank) {
  std::vector<uint64_t> r(out_rank, 0);
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1) r[out_rank - s.size() + i] = st[i];
  return r;
}

// add / mul with numpy broadcasting of either operand, in any layout:
// strided instructions (strided_nest.h) over the output's storage order.
// Constants are staged in fp32 in their own shape, not expanded.
void lower_broadcast(NetBuilder& b, const Layer& l, const std::string& out_name, tpu::ActFn fused, float p0, float p1,
                     float out_scale) {
  const Shape& out = l.out_shape;
  const size_t r = out.size();
  if (b.wl().tensor(l.inputs[0]).is_constant() && b.wl().tensor(l.inputs[1]).is_constant())
    b.fail(l, "both operands are constants");
  Operand ops[3];  // A, B, Y
  for (size_t k = 0; k < 2; ++k) {
    const std::string& name = l.inputs[k];
    const auto& t = b.wl().tensor(name);
    Operand& o = ops[k];
    if (t.is_constant()) {
      std::vector<float> v(workload::numel(t.shape), 0.0f);
      if (const auto* x = b.values(name)) v = *x;
      o.ub = b.constant(f32_bytes(v), "operand " + std::to_string(k + 1) + " of '" + l.name + "'");
      o.stride = broadcast_strides(t.shape, strides(t.shape), r);
    } else {
      const TensorPlace P = b.use(name);
      o.ub = P.ub;
      o.dtype = P.dtype;
      o.scale = P.scale;
      o.stride = broadcast_strides(P.shape, layout_strides(P), r);
    }
  }
  const TensorPlace Y = b.produce(out_name, r == 4 && b.is_nhwc(out_name));
  ops[2].ub = Y.ub;
  ops[2].dtype = Y.dtype;
  ops[2].stride = layout_strides(Y);

  std::vector<StridedDim> dims;
  for (size_t d : storage_order(Y))
    dims.push_back({uint64_t(out[d]), {ops[0].stride[d], ops[1].stride[d], ops[2].stride[d]}});
  std::vector<StridedDim> merged = merge_dims(dims, 3);
  StridedDim elem{1, {0, 0, 0}};
  if (!merged.empty()) {
    elem = merged.back();
    merged.pop_back();
  }
  StridedNest nest = make_nest(elem, merged, 3);
  // The commutative op reads B once where B repeats (activation_unit.h), so
  // the operand that repeats more is B.
  auto b_bytes = [&](size_t k) {
    const uint64_t per_row = (nest.elem.stride[k] == 0 ? 1 : nest.elem.size) * dtype_bytes(ops[k].dtype);
    return nest.row.stride[k] == 0 ? per_row : nest.row.size * per_row;
  };
  const size_t ia = b_bytes(0) < b_bytes(1) ? 1 : 0, ib = 1 - ia;
  const Operand &A = ops[ia], &B = ops[ib];
  const uint64_t ea = dtype_bytes(A.dtype), eb2 = dtype_bytes(B.dtype), ey = dtype_bytes(Y.dtype);
  for (uint64_t i = 0; i < nest.instructions(); ++i) {
    const auto off = nest.offsets(i);
    tpu::Instruction in = b.vec(l.op == OpKind::add ? tpu::VectorOp::add : tpu::VectorOp::mul, u32(nest.row.size),
                                u32(nest.elem.size));
    in.fn = fused;
    in.p0 = p0;
    in.p1 = p1;
    in.dtype = A.dtype;
    in.in_scale = A.scale;
    in.ub_addr = A.ub + off[ia] * ea;
    in.ub_stride = nest.row.stride[ia] * ea;
    in.elem_stride = u32(nest.elem.stride[ia]);
    in.dtype2 = B.dtype;
    in.in_scale2 = B.scale;
    in.ub_addr2 = B.ub + off[ib] * eb2;
    in.ub_stride2 = nest.row.stride[ib] * eb2;
    in.elem_stride2 = u32(nest.elem.stride[ib]);
    in.dst_addr = Y.ub + off[2] * ey;
    in.dst_stride = nest.row.stride[2] * ey;
    in.dst_elem_stride = u32(nest.elem.stride[2]);
    in.scale = out_scale;
    b.emit(in);
  }
}

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

void NetBuilder::lower_vector(const std::vector<const Layer*>& group) {
  if (lower_vector_streamed(group)) return;  // elementwise operands too large: row blocks (network_stream.cpp)
  if (lower_rows_streamed(group)) return;    // pooling, softmax, ... too large: row blocks (network_stream_rows.cpp)
  const Layer& l = *group[0];
  const uint64_t e = eb(), lanes = cfg_.activation.elements_per_cycle;
  float p0 = 0, p1 = 0;
  const tpu::ActFn fused = group.size() > 1 ? fn_of(*group.back(), p0, p1) : tpu::ActFn::none;
  const std::string& out_name = group.back()->output();
  const float sy = scale_of(out_name);
  const float out_scale = int8() ? 1.0f / sy : 1.0f;

  // Rows x n covering a dense tensor of `total` elements whose rows are `cols` wide.
  auto tile = [&](uint64_t total, uint64_t cols, uint64_t& rows, uint64_t& n) {
    n = cols;
    if (cols < lanes && total % lanes == 0) n = lanes;
    rows = total / n;
  };

  switch (l.op) {
    case OpKind::relu:
    case OpKind::relu6:
    case OpKind::clip:
    case OpKind::sigmoid:
    case OpKind::tanh:
    case OpKind::gelu: {
      const TensorPlace X = use(l.inputs[0]);
      const TensorPlace Y = produce(out_name, X.nhwc);
      float q0 = 0, q1 = 0;
      const tpu::ActFn fn = fn_of(l, q0, q1);
      uint64_t rows, n;
      const Shape ph = physical(X);
      tile(workload::numel(X.shape), ph.empty() ? 1 : ph.back(), rows, n);
      tpu::Instruction in = vec(tpu::VectorOp::act, u32(rows), u32(n));
      in.fn = fn;
      in.p0 = q0;
      in.p1 = q1;
      in.ub_addr = X.ub;
      in.ub_stride = n * e;
      in.in_scale = X.scale;
      in.dst_addr = Y.ub;
      in.dst_stride = n * e;
      in.scale = out_scale;
      emit(in);
      return;
    }
    case OpKind::add:
    case OpKind::mul: {
      std::string an = l.inputs[0], bn = l.inputs[1];
      const Shape& out = l.out_shape;
      auto full = [&](const std::string& t) { return wl().tensor(t).shape == out; };
      auto cst = [&](const std::string& t) { return wl().tensor(t).is_constant(); };
      auto image = [&](const std::string& t) { return wl().tensor(t).shape.size() == 4 && is_nhwc(t); };
      if (!full(an) || cst(an)) std::swap(an, bn);  // commutative
      // One instruction over packed rows when A is an activation of the
      // output's shape and layout and B a constant or another such
      // activation; any other broadcast or layout mix is strided.
      const bool y_image = out.size() == 4 && is_nhwc(out_name);
      if (!full(an) || cst(an) || image(an) != y_image || (!cst(bn) && (!full(bn) || image(bn) != y_image))) {
        lower_broadcast(*this, l, out_name, fused, p0, p1, out_scale);
        return;
      }
      const TensorPlace A = use(an);
      const TensorPlace Y = produce(out_name, A.nhwc);
      const Shape ph = physical(A);
      const uint64_t total = workload::numel(out), cols = ph.empty() ? 1 : uint64_t(ph.back());
      tpu::Instruction in = vec(l.op == OpKind::add ? tpu::VectorOp::add : tpu::VectorOp::mul, 0, 0);
      in.fn = fused;
      in.p0 = p0;
      in.p1 = p1;
      in.in_scale = A.scale;
      in.scale = out_scale;
      uint64_t rows = 0, n = 0;
      const auto& bt = wl().tensor(bn);
      if (bt.is_constant()) {
        std::vector<float> bv;
        if (const auto* v = values(bn)) bv = *v;
        const uint64_t bel = workload::numel(bt.shape);
        in.dtype2 = DType::fp32;
        if (bel == 1) {
          tile(total, cols, rows, n);
          in.ub_addr2 = constant(f32_bytes({bv.empty() ? 0.0f : bv[0]}), "scalar of '" + l.name + "'");
          in.ub_stride2 = 0;
          in.elem_stride2 = 0;
        } else {
          // Broadcast along rows when it varies only along the physical last axis; else expanded.
          const std::vector<float> ex = expand(bv, bt.shape, A);
          bool row_bcast = true;
          for (uint64_t i = 0; i < total && row_bcast; ++i) row_bcast = ex[i] == ex[i % cols];
          if (row_bcast && !bv.empty()) {
            rows = total / cols;
            n = cols;
            in.ub_addr2 = constant(f32_bytes(std::vector<float>(ex.begin(), ex.begin() + long(cols))),
                                   "row operand of '" + l.name + "'");
            in.ub_stride2 = 0;
          } else {
            tile(total, cols, rows, n);
            in.ub_addr2 = constant(f32_bytes(ex), "operand of '" + l.name + "'");
            in.ub_stride2 = n * 4;
          }
        }
      } else {
        const TensorPlace B = use(bn);
        tile(total, cols, rows, n);
        in.dtype2 = dt();
        in.ub_addr2 = B.ub;
        in.ub_stride2 = n * e;
        in.in_scale2 = B.scale;
      }
      in.rows = u32(rows);
      in.n = u32(n);
      in.ub_addr = A.ub;
      in.ub_stride = n * e;
      in.dst_addr = Y.ub;
      in.dst_stride = n * e;
      emit(in);
      return;
    }
    case OpKind::batchnorm: {
      const TensorPlace X = use(l.inputs[0]);
      if (!X.nhwc) fail(l, "batchnorm needs an image tensor (NHWC)");
      const TensorPlace Y = produce(out_name, true);
      const uint64_t C = X.shape[1];
      std::vector<float> rowsv(2 * C, 0.0f);
      const auto* g = values(l.inputs[1]);
      const auto* b = values(l.inputs[2]);
      const auto* mu = values(l.inputs[3]);
      const auto* var = values(l.inputs[4]);
      for (uint64_t c = 0; c < C; ++c) {
        const float f = g && var ? (*g)[c] / std::sqrt((*var)[c] + l.attrs.epsilon) : 1.0f;
        rowsv[c] = f;
        rowsv[C + c] = (b ? (*b)[c] : 0.0f) - (mu ? (*mu)[c] : 0.0f) * f;
      }
      tpu::Instruction in = vec(tpu::VectorOp::scale_shift, u32(workload::numel(X.shape) / C), u32(C));
      in.ub_addr = X.ub;
      in.ub_stride = C * e;
      in.in_scale = X.scale;
      in.dtype2 = DType::fp32;
      in.ub_addr2 = constant(f32_bytes(rowsv), "batchnorm rows of '" + l.name + "'");
      in.ub_stride2 = C * 4;
      in.dst_addr = Y.ub;
      in.dst_stride = C * e;
      in.scale = out_scale;
      in.fn = fused;
      in.p0 = p0;
      in.p1 = p1;
      emit(in);
      return;
    }
    case OpKind::softmax:
    case OpKind::layernorm: {
      const TensorPlace X = use(l.inputs[0]);
      const Shape& xs = X.shape;
      const int64_t axis = workload::normalize_axis(l.attrs.axis, int64_t(xs.size()));
      if (l.op == OpKind::softmax && (X.nhwc || axis != int64_t(xs.size()) - 1)) {
        lower_strided_softmax(*this, l, X, size_t(axis), out_scale);
        return;
      }
      if (X.nhwc) fail(l, "layernorm of an NHWC image is not supported by the TPU lowering (needs a row-major tensor)");
      const uint64_t n = workload::numel(Shape(xs.begin() + axis, xs.end())), rows = workload::numel(xs) / n;
      const TensorPlace Y = produce(out_name, false);
      tpu::Instruction in = vec(l.op == OpKind::softmax ? tpu::VectorOp::softmax : tpu::VectorOp::layernorm,
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
        if (const auto* v = values(l.inputs[1])) sc = *v;
        sc = expand(sc.empty() ? std::vector<float>{1.0f} : sc, sc.empty() ? Shape{1} : wl().tensor(l.inputs[1]).shape, np);
        if (l.inputs.size() > 2 && !l.inputs[2].empty())
          if (const auto* v = values(l.inputs[2])) bi = expand(*v, wl().tensor(l.inputs[2]).shape, np);
        if (bi.empty()) bi.assign(n, 0.0f);
        sc.insert(sc.end(), bi.begin(), bi.end());
        in.bias = true;
        in.dtype2 = DType::fp32;
        in.ub_addr2 = constant(f32_bytes(sc), "layernorm rows of '" + l.name + "'");
        in.ub_stride2 = n * 4;
      }
      emit(in);
      if (l.op == OpKind::layernorm) lower_moments(*this, l, X, rows, n);
      return;
    }
    case OpKind::max_pool:
    case OpKind::avg_pool:
    case OpKind::global_avg_pool: {
      const TensorPlace X = use(l.inputs[0]);
      if (!X.nhwc) fail(l, "pooling needs an image tensor (NHWC)");
      const bool is_max = l.op == OpKind::max_pool;
      const Shape& xs = X.shape;
      const uint64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
      const uint64_t Ho = l.out_shape[2], Wo = l.out_shape[3];
      const TensorPlace Y = produce(out_name, true);
      // Running max in the input's own type and scale (exact); sums in fp32.
      const DType st = is_max ? dt() : DType::fp32;
      const uint64_t se = dtype_bytes(st);
      const float s_in = is_max ? X.scale : 1.0f;
      const uint64_t S = scratch(N * Ho * Wo * C * se, "the pooling scratch of '" + l.name + "'");
      tpu::Instruction f = vec(tpu::VectorOp::fill, u32(N * Ho * Wo), u32(C));
      f.out_dtype = st;
      f.scale = is_max && int8() ? 1.0f / s_in : 1.0f;
      f.p0 = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
      f.dst_addr = S;
      f.dst_stride = C * se;
      emit(f);
      auto tap = [&](uint64_t a_row, uint32_t rows, uint64_t x_px, uint64_t x_stride_px) {
        tpu::Instruction t = vec(is_max ? tpu::VectorOp::max : tpu::VectorOp::add, rows, u32(C));
        t.dtype = st;
        t.out_dtype = st;
        t.in_scale = s_in;
        t.scale = is_max && int8() ? 1.0f / s_in : 1.0f;
        t.ub_addr = S + a_row * C * se;
        t.ub_stride = C * se;
        t.dst_addr = t.ub_addr;
        t.dst_stride = C * se;
        t.dtype2 = dt();
        t.in_scale2 = X.scale;
        t.ub_addr2 = X.ub + x_px * C * e;
        t.ub_stride2 = x_stride_px * C * e;
        emit(t);
      };
      auto finish = [&](uint64_t row, uint32_t rows, float divisor) {
        tpu::Instruction c = vec(tpu::VectorOp::copy, rows, u32(C));
        c.dtype = st;
        c.in_scale = s_in;
        c.ub_addr = S + row * C * se;
        c.ub_stride = C * se;
        c.dst_addr = Y.ub + row * C * e;
        c.dst_stride = C * e;
        c.scale = divisor == 1.0f ? out_scale : out_scale / divisor;
        emit(c);
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
      return;
    }
    case OpKind::transpose: {
      const TensorPlace X = use(l.inputs[0]);
      if (X.nhwc) fail(l, "transposing an NHWC image is not supported by the TPU lowering");
      const TensorPlace Y = produce(out_name, false);
      const Shape& xs = X.shape;
      const size_t r = xs.size();
      std::vector<int64_t> perm = l.attrs.perm;
      if (perm.empty())
        for (size_t i = 0; i < r; ++i) perm.push_back(int64_t(r - 1 - i));
      const auto ist = strides(xs);
      const Shape& os = l.out_shape;
      if (r < 2) {
        tpu::Instruction c = vec(tpu::VectorOp::copy, 1, u32(workload::numel(xs)));
        c.ub_addr = X.ub;
        c.in_scale = X.scale;
        c.scale = out_scale;
        c.dst_addr = Y.ub;
        emit(c);
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
        tpu::Instruction c = vec(tpu::VectorOp::copy, u32(rows), u32(n));
        c.ub_addr = X.ub + src * e;
        c.ub_stride = ist[size_t(perm[r - 2])] * e;
        c.elem_stride = u32(ist[size_t(perm[r - 1])]);
        c.in_scale = X.scale;
        c.scale = out_scale;
        c.dst_addr = Y.ub + o * rows * n * e;
        c.dst_stride = n * e;
        emit(c);
      }
      return;
    }
    case OpKind::reshape:
    case OpKind::flatten: {
      // Not a view: an NHWC image becomes row-major NCHW first (per image a
      // transpose); a row-major tensor (here only when the result is a graph
      // output, which needs its own place) is copied.
      const TensorPlace X = use(l.inputs[0]);
      const TensorPlace Y = produce(out_name, false);
      if (!X.nhwc) {
        // One copy, rows of the last dim.
        const uint64_t n = uint64_t(X.shape.empty() ? 1 : X.shape.back());
        const uint64_t rows = workload::numel(X.shape) / std::max<uint64_t>(n, 1);
        tpu::Instruction c = vec(tpu::VectorOp::copy, u32(rows), u32(n));
        c.ub_addr = X.ub;
        c.ub_stride = n * e;
        c.in_scale = X.scale;
        c.scale = out_scale;
        c.dst_addr = Y.ub;
        c.dst_stride = n * e;
        emit(c);
        return;
      }
      const uint64_t N = X.shape[0], C = X.shape[1], HW = uint64_t(X.shape[2] * X.shape[3]);
      for (uint64_t n = 0; n < N; ++n) {
        tpu::Instruction t = vec(tpu::VectorOp::transpose, u32(HW), u32(C));
        t.ub_addr = X.ub + n * HW * C * e;
        t.ub_stride = C * e;
        t.dst_addr = Y.ub + n * C * HW * e;
        t.dst_stride = HW * e;
        t.dst_elem_stride = 1;
        t.in_scale = X.scale;
        t.scale = out_scale;
        emit(t);
      }
      return;
    }
    case OpKind::concat: {
      std::vector<TensorPlace> xs;
      for (const auto& in : l.inputs) xs.push_back(use(in));
      const bool nhwc = xs[0].nhwc;
      for (const auto& x : xs)
        if (x.nhwc != nhwc) fail(l, "its operands have different layouts (NHWC image and row-major)");
      const TensorPlace Y = produce(out_name, nhwc);
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
        tpu::Instruction c = vec(tpu::VectorOp::copy, u32(outer), u32(inner));
        c.ub_addr = x.ub;
        c.ub_stride = inner * e;
        c.in_scale = x.scale;
        c.scale = out_scale;
        c.dst_addr = Y.ub + off * e;
        c.dst_stride = inner_y * e;
        emit(c);
        off += inner;
      }
      return;
    }
    default:
      fail(l, "operator not supported by the TPU lowering");
  }
}

}  // namespace xpu::lowering::detail
