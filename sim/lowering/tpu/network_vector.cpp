// Vector layers of the network lowering (network_vector.h): the dispatch,
// elementwise functions, add / mul (packed or broadcast) and batchnorm.
#include "sim/lowering/tpu/network_vector.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/lowering/tpu/strided_nest.h"

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;
using workload::Shape;

namespace vector_layer {

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  // memcpy from an empty vector's null data() is undefined even for 0 bytes.
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
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

namespace {

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

}  // namespace

void lower_activation(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  auto tile = [&g](uint64_t total, uint64_t cols, uint64_t& rows, uint64_t& n) { g.tile(total, cols, rows, n); };
  const TensorPlace X = b.use(l.inputs[0]);
  const TensorPlace Y = b.produce(out_name, X.nhwc);
  float q0 = 0, q1 = 0;
  const tpu::ActFn fn = act_of(l, q0, q1);
  uint64_t rows, n;
  const Shape ph = physical(X);
  tile(workload::numel(X.shape), ph.empty() ? 1 : ph.back(), rows, n);
  tpu::Instruction in = b.vec(tpu::VectorOp::act, u32(rows), u32(n));
  in.fn = fn;
  in.p0 = q0;
  in.p1 = q1;
  in.ub_addr = X.ub;
  in.ub_stride = n * e;
  in.in_scale = X.scale;
  in.dst_addr = Y.ub;
  in.dst_stride = n * e;
  in.scale = out_scale;
  b.emit(in);
}

void lower_add_mul(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  const tpu::ActFn fused = g.fused;
  const float p0 = g.p0, p1 = g.p1;
  auto tile = [&g](uint64_t total, uint64_t cols, uint64_t& rows, uint64_t& n) { g.tile(total, cols, rows, n); };
  std::string an = l.inputs[0], bn = l.inputs[1];
  const Shape& out = l.out_shape;
  auto full = [&](const std::string& t) { return b.wl().tensor(t).shape == out; };
  auto cst = [&](const std::string& t) { return b.wl().tensor(t).is_constant(); };
  auto image = [&](const std::string& t) { return b.wl().tensor(t).shape.size() == 4 && b.is_nhwc(t); };
  if (!full(an) || cst(an)) std::swap(an, bn);  // commutative
  // One instruction over packed rows when A is an activation of the
  // output's shape and layout and B a constant or another such
  // activation; any other broadcast or layout mix is strided.
  const bool y_image = out.size() == 4 && b.is_nhwc(out_name);
  if (!full(an) || cst(an) || image(an) != y_image || (!cst(bn) && (!full(bn) || image(bn) != y_image))) {
    lower_broadcast(b, l, out_name, fused, p0, p1, out_scale);
    return;
  }
  const TensorPlace A = b.use(an);
  const TensorPlace Y = b.produce(out_name, A.nhwc);
  const Shape ph = physical(A);
  const uint64_t total = workload::numel(out), cols = ph.empty() ? 1 : uint64_t(ph.back());
  tpu::Instruction in = b.vec(l.op == OpKind::add ? tpu::VectorOp::add : tpu::VectorOp::mul, 0, 0);
  in.fn = fused;
  in.p0 = p0;
  in.p1 = p1;
  in.in_scale = A.scale;
  in.scale = out_scale;
  uint64_t rows = 0, n = 0;
  const auto& bt = b.wl().tensor(bn);
  if (bt.is_constant()) {
    std::vector<float> bv;
    if (const auto* v = b.values(bn)) bv = *v;
    const uint64_t bel = workload::numel(bt.shape);
    in.dtype2 = DType::fp32;
    if (bel == 1) {
      tile(total, cols, rows, n);
      in.ub_addr2 = b.constant(f32_bytes({bv.empty() ? 0.0f : bv[0]}), "scalar of '" + l.name + "'");
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
        in.ub_addr2 = b.constant(f32_bytes(std::vector<float>(ex.begin(), ex.begin() + long(cols))),
                               "row operand of '" + l.name + "'");
        in.ub_stride2 = 0;
      } else {
        tile(total, cols, rows, n);
        in.ub_addr2 = b.constant(f32_bytes(ex), "operand of '" + l.name + "'");
        in.ub_stride2 = n * 4;
      }
    }
  } else {
    const TensorPlace B = b.use(bn);
    tile(total, cols, rows, n);
    in.dtype2 = b.dt();
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
  b.emit(in);
}

void lower_batchnorm(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const uint64_t e = g.e;
  const std::string& out_name = g.out_name;
  const float out_scale = g.out_scale;
  const tpu::ActFn fused = g.fused;
  const float p0 = g.p0, p1 = g.p1;
  const TensorPlace X = b.use(l.inputs[0]);
  if (!X.nhwc) b.fail(l, "batchnorm needs an image tensor (NHWC)");
  const TensorPlace Y = b.produce(out_name, true);
  const uint64_t C = X.shape[1];
  std::vector<float> rowsv(2 * C, 0.0f);
  const auto* gamma = b.values(l.inputs[1]);
  const auto* beta = b.values(l.inputs[2]);
  const auto* mu = b.values(l.inputs[3]);
  const auto* var = b.values(l.inputs[4]);
  for (uint64_t c = 0; c < C; ++c) {
    const float f = gamma && var ? (*gamma)[c] / std::sqrt((*var)[c] + l.attrs.epsilon) : 1.0f;
    rowsv[c] = f;
    rowsv[C + c] = (beta ? (*beta)[c] : 0.0f) - (mu ? (*mu)[c] : 0.0f) * f;
  }
  tpu::Instruction in = b.vec(tpu::VectorOp::scale_shift, u32(workload::numel(X.shape) / C), u32(C));
  in.ub_addr = X.ub;
  in.ub_stride = C * e;
  in.in_scale = X.scale;
  in.dtype2 = DType::fp32;
  in.ub_addr2 = b.constant(f32_bytes(rowsv), "batchnorm rows of '" + l.name + "'");
  in.ub_stride2 = C * 4;
  in.dst_addr = Y.ub;
  in.dst_stride = C * e;
  in.scale = out_scale;
  in.fn = fused;
  in.p0 = p0;
  in.p1 = p1;
  b.emit(in);
}

}  // namespace vector_layer

void NetBuilder::lower_vector(const std::vector<const Layer*>& group) {
  if (group.size() == 1 && lower_concat_in_place(*group[0])) return;  // a cache append (network_llm.cpp)
  if (lower_vector_streamed(group)) return;  // elementwise operands too large: row blocks (network_stream.cpp)
  if (lower_rows_streamed(group)) return;    // pooling, softmax, ... too large: row blocks (network_stream_rows.cpp)
  const Layer& l = *group[0];
  vector_layer::VectorGroup g{l, group.back()->output()};
  g.e = eb();
  g.lanes = cfg_.activation.elements_per_cycle;
  if (group.size() > 1) g.fused = act_of(*group.back(), g.p0, g.p1);
  g.out_scale = int8() ? 1.0f / scale_of(g.out_name) : 1.0f;
  if (vector_layer::lower_masked_streamed(*this, g)) return;
  switch (l.op) {
    XPU_ACTIVATION_CASES return vector_layer::lower_activation(*this, g);
    case OpKind::add:
    case OpKind::mul: return vector_layer::lower_add_mul(*this, g);
    case OpKind::batchnorm: return vector_layer::lower_batchnorm(*this, g);
    case OpKind::softmax:
    case OpKind::layernorm: return vector_layer::lower_softmax_layernorm(*this, g);
    case OpKind::max_pool:
    case OpKind::avg_pool:
    case OpKind::global_avg_pool: return vector_layer::lower_pooling(*this, g);
    case OpKind::transpose: return vector_layer::lower_transpose(*this, g);
    case OpKind::reshape:
    case OpKind::flatten: return vector_layer::lower_reshape(*this, g);
    case OpKind::concat: return vector_layer::lower_concat(*this, g);
    case OpKind::gemm:
    case OpKind::matmul:
    case OpKind::conv2d: break;  // matrix layers: lower_dense / lower_conv
    case OpKind::rmsnorm:
    case OpKind::rope:
    case OpKind::gather:
    case OpKind::argmax: return vector_layer::lower_llm(*this, g);
  }
  fail(l, "operator not supported by the TPU lowering");
}

}  // namespace xpu::lowering::detail
