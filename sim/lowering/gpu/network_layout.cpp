#include "sim/lowering/gpu/network_layout.h"

#include <algorithm>

#include "sim/common/errors.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/network_internal.h"

namespace xpu::lowering::gpu {

namespace {

TensorLayout mk(DType type, std::string order, uint64_t rows = 1, uint64_t cols = 1, uint64_t pitch = 0,
                uint64_t batches = 1, uint64_t stride = 0) {
  TensorLayout t;
  t.elem = uint32_t(dtype_bytes(type));
  t.type = std::string(dtype_name(type));
  t.order = std::move(order);
  t.rows = rows, t.cols = cols, t.pitch = pitch, t.batches = batches, t.stride = stride;
  return t;
}

// NHWC of a 4-D tensor is its row-major order where H W = 1 or C = 1.
std::string nhwc_order(const workload::Shape& s) {
  if (s.size() != 4 || s[2] * s[3] == 1 || s[1] == 1) return "";
  return "nhwc";
}

bool is_private(const std::string& key) { return key.rfind("t:", 0) != 0; }

DType acc_type(xpu::gpu::AccType a) { return a == xpu::gpu::AccType::s32 ? DType::int32 : DType::fp32; }

}  // namespace

std::string TensorLayout::name() const {
  std::string n = type;
  if (!order.empty()) n += " " + order;
  if (!dense_rows()) n += ", rows of " + std::to_string(cols) + " at pitch " + std::to_string(pitch);
  if (!dense() && batches > 1) n += ", batches at stride " + std::to_string(stride);
  return n;
}

uint64_t TensorLayout::offset(uint64_t i) const {
  if (order == "nhwc") {
    const uint64_t C = uint64_t(shape.at(1)), HW = uint64_t(shape.at(2) * shape.at(3));
    const uint64_t n = i / (C * HW), c = i / HW % C, hw = i % HW;
    const uint64_t p = rows <= 1 || pitch == 0 ? C * elem : pitch;
    return (n * HW + hw) * p + c * elem;
  }
  if (!order.empty()) throw xpu::InternalError("tensor layout '" + name() + "' has no element offsets");
  if (dense()) return i * elem;
  const uint64_t per = rows * cols, b = i / per, j = i % per;
  return b * stride + (j / cols) * (dense_rows() ? cols * elem : pitch) + (j % cols) * elem;
}

bool relayout_converts(const TensorLayout& from, const TensorLayout& to) {
  // The copy kernel moves 2- or 4-byte elements (no 1-byte global access): not int8.
  return from.addressable() && to.addressable() && from.type == to.type && from.elem == to.elem && from.elem >= 2;
}

void lower_relayout(const xpu::gpu::GpuConfig& cfg, const TensorLayout& from, uint64_t src, const TensorLayout& to,
                    uint64_t dst, uint64_t count, NnPlan& plan) {
  if (!relayout_converts(from, to))
    throw xpu::InternalError("relayout from '" + from.name() + "' to '" + to.name() + "': no copy kernel");
  // Both offsets of every element, in `to`'s storage order. A row-major
  // `to` whose rows and batches do not overlap stores the elements in index
  // order: the offsets are computed where they are read rather than held
  // and sorted (16 bytes per element, gigabytes for a score-sized tensor).
  const uint64_t row_bytes = to.dense_rows() ? to.cols * to.elem : to.pitch;
  const bool in_order = to.order.empty() && row_bytes >= to.cols * to.elem &&
                        (to.batches <= 1 || to.stride >= (to.rows - 1) * row_bytes + to.cols * to.elem);
  std::vector<std::pair<uint64_t, uint64_t>> held;  // (to, from)
  if (!in_order) {
    held.resize(count);
    for (uint64_t i = 0; i < count; ++i) held[i] = {to.offset(i), from.offset(i)};
    std::sort(held.begin(), held.end());
  }
  auto at = [&](uint64_t k) { return in_order ? std::make_pair(to.offset(k), from.offset(k)) : held[k]; };
  // The longest row length dividing `count` over which every row is
  // contiguous in `to` and read at one stride in `from` (the map kernel
  // has one stride per operand).
  const uint64_t e = to.elem;
  auto fits = [&](uint64_t n, uint64_t step) {
    for (uint64_t r = 0; r < count; r += n)
      for (uint64_t j = 1; j < n; ++j)
        if (at(r + j).first != at(r).first + j * e || at(r + j).second != at(r).second + j * step) return false;
    return true;
  };
  const uint64_t step = count > 1 && at(1).second > at(0).second ? at(1).second - at(0).second : e;
  const bool strided = step % e == 0 && step / e <= 0xFFFFFFFFull;
  uint64_t n = count;
  while (n > 1 && (count % n != 0 || !strided || !fits(n, step))) --n;
  MapSpec s;
  s.op = MapOp::copy;
  s.io = e == 2 ? DType::fp16 : DType::fp32;  // a copy moves the bits (of any type of that size)
  s.n = n;
  s.rows = count / n;
  s.in.assign(1, {});
  s.stride = {n > 1 ? uint32_t(step / e) : 1u};
  for (uint64_t r = 0; r < count; r += n) {
    s.in[0].push_back(src + at(r).second);
    s.out.push_back(dst + at(r).first);
  }
  split_rows(s, row_cap(cfg, count));
  lower_map(cfg, s, plan);
}

std::vector<TensorAccess> plan_accesses(const workload::Workload& w, size_t index, const GpuLayerPlan& L,
                                        const Fusion&, const std::vector<PlanPiece>& pieces) {
  std::vector<TensorAccess> out;
  if (L.view) return out;
  // The key of the piece starting at local address `at` (the first: a
  // batched GEMM repeats them), and its size (a batch's stride).
  auto piece = [&](uint64_t at) -> const PlanPiece* {
    for (const PlanPiece& p : pieces)
      if (p.local == at) return &p;
    return nullptr;
  };
  auto shape_of = [&](const std::string& key) -> const workload::Shape& { return w.tensor(key.substr(2)).shape; };
  auto add = [&](uint64_t at, bool write, TensorLayout s) {
    const PlanPiece* p = piece(at);
    if (!p || is_private(p->key)) return;
    if (s.batches > 1) s.stride = p->bytes;
    s.shape = shape_of(p->key);
    out.push_back(TensorAccess{p->key, at, write, s});
  };
  const workload::Layer& l = w.layers.at(index);
  if (L.is_conv) {
    const ConvLayout& c = L.conv_plan.layout;
    const ConvSpec& s = L.conv;
    const uint32_t e = c.g.in_bytes;
    const DType in = s.in, ct = s.ep.out16 || s.ep.out8 ? s.in : acc_type(s.acc);  // C's type
    const std::string xo = nhwc_order(w.tensor(l.inputs.at(0)).shape);
    add(c.x, false, mk(in, xo, s.batch * s.h * s.w, s.c, c.cp * e));
    // The weights in the kernel's packing (pre-packed offline, as inference stacks do).
    add(c.g.b, false, mk(in, "packed for " + L.kernel + (c.g.b_k_major ? " (N x K)" : " (K x N)") + ", cp " +
                              std::to_string(c.cp) + ", ldb " + std::to_string(c.g.ldb), 1, 1, 0));
    const std::string yo = nhwc_order(l.out_shape);
    add(c.g.c, true, mk(ct, yo, c.m, c.n, c.g.ldc));
    if (s.ep.residual) add(c.res, false, mk(ct, yo, c.m, c.n, c.g.ldc));
    return out;
  }
  if (L.is_gemm) {
    const GpuGemmLayout& g = L.gemm.layout;
    const DType in = L.spec.in, ct = g.out_bytes < 4 ? L.spec.in : acc_type(L.spec.acc);  // C's type (16-bit, int8)
    const uint64_t m = l.m, n = l.n, k = l.k, b = L.count;
    const bool im2col = l.gemm_form == workload::GemmForm::conv_im2col;
    // A: the layer's input 0 as m x k (its transpose with trans_a; an
    // im2col matrix of a convolution's input, built by the host).
    const std::string ao = im2col ? "im2col" : l.attrs.trans_a ? "T" : "";
    add(g.a, false, mk(in, ao, m, k, g.lda, b, 0));
    if (g.sparse) {
      add(g.b, false, mk(in, "packed 2:4 for " + L.kernel, 1, 1, 0));
    } else {
      // B as k x n rows, or n x k (b_k_major); the tensor is n x k with trans_b.
      const bool t = g.b_k_major != (l.gemm_form == workload::GemmForm::gemm && l.attrs.trans_b);
      const std::string bo = im2col ? "conv weights as B" : t ? "T" : "";
      add(g.b, false, g.b_k_major ? mk(in, bo, n, k, g.ldb, b, 0) : mk(in, bo, k, n, g.ldb, b, 0));
    }
    add(g.c, true, mk(ct, "", m, n, g.ldc, b, 0));
    if (L.ep.residual) add(g.res, false, mk(ct, "", m, n, g.ldc, b, 0));
    return out;
  }
  if (L.is_gemv_w8) {
    const GemvW8Spec& s = L.gemv_w8_spec;
    const GemvW8Layout& g = L.gemv_w8;
    add(g.x, false, mk(s.in, "", s.m, s.k, g.kp * 2));
    add(g.w, false, mk(DType::int8, "packed int8 rows, pitch " + std::to_string(g.kp)));
    add(g.y, true, mk(DType::fp32, "", s.m, s.n, g.np * 4));
    return out;
  }
  if (L.is_gemv) {
    const GemvSpec& s = L.gemv_spec;
    const GemvLayout& g = L.gemv;
    add(g.x, false, mk(s.in, "", s.m, s.k, g.kp * 2));
    if (L.gemv_parts.empty() || s.gated) {
      add(g.w, false, mk(s.in, "T", s.n, s.k, g.kp * 2));
      add(g.y, true, mk(DType::fp32, "", s.m, s.outputs(), g.ldy * 4));
    } else {  // merged GEMVs (one row): each part's weight rows and outputs
      uint64_t row = 0;
      for (const auto& part : L.gemv_parts) {
        add(g.w + row * g.kp * 2, false, mk(s.in, "T", part.rows, s.k, g.kp * 2));
        add(g.y + row * 4, true, mk(DType::fp32, ""));
        row += part.rows;
      }
    }
    if (s.ep.residual) add(g.res, false, mk(s.in, "", s.m, s.n, g.np * 2));
    if (s.norm) add(g.gamma, false, mk(DType::fp32, "", 1, s.k, g.kp * 4));
    return out;
  }
  if (L.is_attention) {
    const FlashSpec& a = L.flash;
    for (uint64_t at : {a.q, a.k, a.v}) add(at, false, mk(a.in, ""));
    add(a.o, true, mk(DType::fp32, ""));
    return out;
  }
  // Map, row and pool kernels: dense tensors (NHWC where L.nhwc); so are
  // the layers in the same launch (L.siblings).
  auto dense = [&](const workload::Layer& l, const GpuLayerPlan& L) {
    for (size_t i = 0; i < l.inputs.size() && i < L.in_addr.size(); ++i) {
      if (l.inputs[i].empty() || (l.op == workload::OpKind::concat && l.attrs.in_place && i == 0)) continue;
      const PlanPiece* p = piece(L.in_addr[i]);
      if (!p || p->key != "t:" + l.inputs[i]) continue;  // a second name of an operand: one buffer
      const DType t = L.in_bytes[i] == 4 ? DType::fp32 : L.io;  // fp32 parameters
      add(L.in_addr[i], false, mk(t, L.nhwc && i == 0 ? nhwc_order(shape_of(p->key)) : ""));
    }
    add(L.out_addr, true, mk(L.io, L.nhwc ? nhwc_order(l.out_shape) : ""));
  };
  dense(l, L);
  for (const auto& sb : L.siblings) dense(w.layers.at(sb.layer), *sb.plan);
  return out;
}

}  // namespace xpu::lowering::gpu
