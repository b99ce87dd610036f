#include "sim/experiment/gpu_backend.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>

#include "models/gpu/gpu.h"
#include "models/gpu/gpu_energy.h"
#include "models/gpu/mma_shape.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/gemm_data.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/nn_kernels.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/workload/op_table.h"
#include "sim/workload/reference_executor.h"
#include "sim/lowering/lowering_error.h"
#include "sim/config/gpu_config.h"
#include "sim/experiment/machine_registry.h"

namespace xpu::experiment {

namespace {

using lowering::gpu::GpuGemmPlan;
using lowering::gpu::GpuGemmSpec;

GpuGemmSpec gemm_spec(const workload::Layer& layer, DType dtype) {
  GpuGemmSpec s;
  s.name = layer.name;
  s.m = layer.m;
  s.n = layer.n;
  s.k = layer.k;
  s.in = dtype;
  // Raw fp32/int32 accumulators come back so results can be checked bit for bit.
  s.acc = dtype == DType::int8 ? gpu::AccType::s32 : gpu::AccType::f32;
  return s;
}

// ---- Network layers (run_workload): one IR layer at a time ----

using lowering::gpu::MapOp;
using lowering::gpu::MapSpec;
using lowering::gpu::NnPlan;
using lowering::gpu::RowOp;
using lowering::gpu::RowSpec;
using workload::OpKind;
using workload::Shape;

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// A layer lowered on its own: conv2d with groups = 1 on the tensor cores as
// an implicit GEMM (conv_implicit.h; a following batchnorm and relu/relu6/
// clip fused into its epilogue, see fusion_after), other matrix ops as their
// GEMM view (tensor cores, or SIMT FFMA for fp32; grouped convolutions
// batched over gemm_count in one launch); the rest as nn_kernels.h kernels
// on fp32 tensors.
struct NnLayer {
  std::string kernel;  // kernel family, for the report
  bool view = false;   // reshape/flatten: no data moves, no kernel
  bool is_gemm = false;
  bool is_conv = false;  // implicit-GEMM convolution (conv_implicit.h)
  lowering::gpu::ConvSpec conv;
  lowering::gpu::ConvPlan conv_plan;
  GpuGemmSpec spec;
  GpuGemmPlan gemm;
  uint64_t count = 1, batch_bytes = 0;
  NnPlan nn;
  std::vector<uint64_t> in_addr;  // per layer input (0: absent)
  uint64_t out_addr = 0, bytes = 0;
  uint64_t bn_s = 0, bn_t = 0;  // batchnorm: folded per-channel scale and shift
  double tol_abs = 0, tol_rel = 0;  // against the fp32 reference (0, 0: bit-exact)
};

class DeviceAlloc {
 public:
  uint64_t take(uint64_t bytes) {
    const uint64_t a = next_;
    next_ = (next_ + bytes + 255) / 256 * 256;
    return a;
  }
  uint64_t size() const { return next_; }

 private:
  uint64_t next_ = 0;
};

// Largest divisor of n that is <= cap (rows of a contiguous map).
uint64_t chunk_of(uint64_t n, uint64_t cap) {
  if (n <= cap) return n;
  for (uint64_t d = cap; d >= 256; --d)
    if (n % d == 0) return d;
  return n;  // no usable divisor: one long row per CTA
}

// Rows longer than 8192 elements are cut into equal contiguous parts (one
// CTA each): operands with stride 0 keep their base.
// `cap` keeps several CTAs per SM on small tensors.
uint64_t row_cap(const gpu::GpuConfig& cfg, uint64_t count) {
  return std::min<uint64_t>(8192, std::max<uint64_t>(1024, count / (4ull * cfg.sms)));
}

void split_rows(MapSpec& s, uint64_t cap) {
  if (s.n <= cap) return;
  const uint64_t nc = chunk_of(s.n, cap), parts = s.n / nc;
  if (parts == 1) return;
  MapSpec t = s;
  t.n = nc;
  t.rows = s.rows * parts;
  for (auto& v : t.in) v.clear();
  t.out.clear();
  for (uint64_t r = 0; r < s.rows; ++r)
    for (uint64_t j = 0; j < parts; ++j) {
      for (size_t o = 0; o < s.in.size(); ++o) t.in[o].push_back(s.in[o][r] + j * nc * s.stride[o] * 4);
      t.out.push_back(s.out[r] + j * nc * 4);
    }
  s = std::move(t);
}

[[noreturn]] void unsupported(const workload::Layer& l, const std::string& why) {
  throw lowering::LoweringError("layer '" + l.name + "' (" + workload::op_name(l.op) + "): " + why +
                                " on the GPU backend");
}

lowering::gpu::ConvSpec conv_spec(const workload::Workload& w, const workload::Layer& l, DType dtype) {
  const Shape& X = w.tensor(l.inputs.at(0)).shape;
  const auto& wd = l.attrs.window;
  lowering::gpu::ConvSpec s;
  s.name = l.name;
  s.batch = uint64_t(X[0]), s.c = uint64_t(X[1]), s.h = uint64_t(X[2]), s.w = uint64_t(X[3]);
  s.k = uint64_t(l.out_shape.at(1));
  s.r = uint32_t(wd.kernel_h), s.s = uint32_t(wd.kernel_w);
  s.stride_h = uint32_t(wd.stride_h), s.stride_w = uint32_t(wd.stride_w);
  s.dil_h = uint32_t(wd.dilation_h), s.dil_w = uint32_t(wd.dilation_w);
  s.pad_t = uint32_t(wd.pad_top), s.pad_l = uint32_t(wd.pad_left);
  s.pad_b = uint32_t(wd.pad_bottom), s.pad_r = uint32_t(wd.pad_right);
  s.in = dtype;
  s.acc = dtype == DType::int8 ? gpu::AccType::s32 : gpu::AccType::f32;
  return s;
}

// A conv2d with groups = 1 on the tensor cores runs as an implicit GEMM
// where the kernel supports its shape (else as its GEMM view).
bool implicit_conv(const gpu::GpuConfig& cfg, const workload::Workload& w, const workload::Layer& l, DType dtype) {
  if (l.op != OpKind::conv2d || l.attrs.groups != 1 || dtype == DType::fp32) return false;
  lowering::gpu::ConvPlan plan;
  try {
    lowering::gpu::lower_conv_implicit(cfg, conv_spec(w, l, dtype), plan);
  } catch (const lowering::gpu::GpuLoweringError&) {
    return false;
  }
  return true;
}

// What the tensor-core epilogue of layer i absorbs: a convolution's bias, a
// following batchnorm (folded into the weights and a per-channel bias, as
// inference engines do), then a relu/relu6/clip, each the only consumer of
// the tensor before it; a single GEMM's per-column bias and the activation
// after it.
struct Fusion {
  std::vector<size_t> layers;  // indexes after i
  lowering::gpu::TcEpilogue ep;
};

Fusion fusion_after(const gpu::GpuConfig& cfg, const workload::Workload& w, size_t i, DType dtype) {
  Fusion f;
  const workload::Layer& l = w.layers[i];
  if (dtype != DType::fp16 && dtype != DType::bf16) return f;  // the epilogue needs fp32 accumulators
  const bool has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
  const bool gemm = (l.op == OpKind::gemm || l.op == OpKind::matmul) && l.gemm_form != workload::GemmForm::none &&
                    l.gemm_count == 1 && l.m > 0 && l.n > 0;
  if (!gemm && !implicit_conv(cfg, w, l, dtype)) return f;
  if (gemm && has_bias && workload::numel(w.tensor(l.inputs[2]).shape) != l.n) return f;  // not per column
  f.ep.bias = has_bias;
  auto sole_consumer = [&](const std::string& t, size_t j) {
    if (j >= w.layers.size() || w.layers[j].inputs.empty() || w.layers[j].inputs[0] != t) return false;
    for (const auto& o : w.outputs)
      if (o == t) return false;
    size_t uses = 0;
    for (const auto& x : w.layers)
      for (const auto& in : x.inputs) uses += in == t;
    return uses == 1;
  };
  std::string t = l.output();
  size_t j = i + 1;
  if (!gemm && sole_consumer(t, j) && w.layers[j].op == OpKind::batchnorm) {
    f.ep.bias = true;
    f.layers.push_back(j);
    t = w.layers[j++].output();
  }
  if (sole_consumer(t, j) && workload::fuses_into(w.layers[j].op, workload::fuse_gpu_tc_epilogue)) {
    const auto a = lowering::gpu::gpu_activation(w.layers[j]);  // op_table.cpp, activation.cpp
    f.ep.act = a.act;
    f.ep.p0 = a.p0;
    f.ep.p1 = a.p1;
    f.layers.push_back(j);
  }
  return f;
}

void lower_nn(const gpu::GpuConfig& cfg, const workload::Workload& w, const workload::Layer& l, DType dtype,
              NnLayer& L, const lowering::gpu::TcEpilogue& ep = {}) {
  DeviceAlloc mem;
  const Shape& out = l.out_shape;
  const uint64_t count = workload::numel(out);
  auto in_shape = [&](size_t i) -> const Shape& { return w.tensor(l.inputs.at(i)).shape; };
  if (l.op == OpKind::conv2d && l.attrs.groups > 1 && l.attrs.groups == in_shape(0).at(1) && out.at(1) == in_shape(0).at(1)) {
    // Depthwise: one filter per channel, FFMA on the SIMT pipes (what GPU
    // libraries do: a GEMM view would have n = 1).
    const Shape& X = in_shape(0);
    const auto& wd = l.attrs.window;
    lowering::gpu::PoolSpec s;
    s.depthwise = true;
    s.max = false;
    s.planes = uint64_t(X[0]) * uint64_t(X[1]);
    s.channels = uint64_t(X[1]);
    s.h = X[2], s.w = X[3], s.ho = out[2], s.wo = out[3];
    s.kh = wd.kernel_h, s.kw = wd.kernel_w, s.sh = wd.stride_h, s.sw = wd.stride_w;
    s.dh = wd.dilation_h, s.dw = wd.dilation_w;
    s.pt = wd.pad_top, s.pl = wd.pad_left, s.pb = wd.pad_bottom, s.pr = wd.pad_right;
    L.in_addr.assign(l.inputs.size(), 0);
    for (size_t i = 0; i < l.inputs.size(); ++i)
      if (!l.inputs[i].empty()) L.in_addr[i] = mem.take(workload::numel(in_shape(i)) * 4);
    s.x = L.in_addr[0];
    s.w_addr = L.in_addr[1];
    s.has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
    s.bias = s.has_bias ? L.in_addr[2] : 0;
    s.y = L.out_addr = mem.take(count * 4);
    L.kernel = "dwconv_ffma";
    L.tol_rel = 1e-5;
    L.tol_abs = 1e-6;
    try {
      lowering::gpu::lower_pool(cfg, s, L.nn);
    } catch (const lowering::gpu::GpuLoweringError& e) {
      unsupported(l, e.what());
    }
    L.bytes = mem.size();
    return;
  }
  if (implicit_conv(cfg, w, l, dtype)) {
    auto& s = L.conv;
    s = conv_spec(w, l, dtype);
    s.ep = ep;
    try {
      lowering::gpu::lower_conv_implicit(cfg, s, L.conv_plan);
    } catch (const lowering::gpu::GpuLoweringError& e) {
      unsupported(l, e.what());
    }
    L.is_conv = true;
    L.kernel = "conv_implicit_tc";
    L.bytes = L.conv_plan.layout.g.bytes;
    return;
  }
  if (l.gemm_form != workload::GemmForm::none) {
    L.is_gemm = true;
    L.count = l.gemm_count;
    L.spec = gemm_spec(l, dtype);
    try {
      if (dtype == DType::fp32) lowering::gpu::lower_gemm_simt(cfg, L.spec, L.gemm);
      else lowering::gpu::lower_gemm_tc(cfg, L.spec, L.gemm, ep);
    } catch (const lowering::gpu::GpuLoweringError& e) {
      throw lowering::LoweringError(e.what());
    }
    L.kernel = dtype == DType::fp32 ? "gemm_ffma" : "gemm_tc";
    // Batch: gemm_count copies of the layout, one launch.
    L.batch_bytes = L.gemm.layout.bytes;
    auto& ln = L.gemm.launch;
    const uint32_t per = ln.ctas;
    if (uint64_t(per) * L.count > 0xFFFFFFFFull) unsupported(l, "grid too large");
    std::vector<uint64_t> bases = ln.bases;
    ln.bases.resize(size_t(per) * L.count * ln.nbufs);
    for (uint64_t b = 1; b < L.count; ++b)
      for (size_t i = 0; i < bases.size(); ++i) ln.bases[b * bases.size() + i] = bases[i] + b * L.batch_bytes;
    ln.ctas = static_cast<uint32_t>(per * L.count);
    L.bytes = L.batch_bytes * L.count;
    return;
  }
  L.in_addr.assign(l.inputs.size(), 0);
  auto input = [&](size_t i) {
    if (l.inputs[i].empty()) return uint64_t(0);
    // An operand named twice (add [x, x], concat [a, a]) is one buffer:
    // the host stages each distinct tensor once.
    for (size_t j = 0; j < i; ++j)
      if (l.inputs[j] == l.inputs[i]) return L.in_addr[i] = L.in_addr[j];
    return L.in_addr[i] = mem.take(workload::numel(in_shape(i)) * 4);
  };
  auto contiguous_map = [&](const lowering::gpu::GpuActivation& a) {
    const uint64_t x = input(0);
    L.out_addr = mem.take(count * 4);
    const uint64_t n = chunk_of(count, row_cap(cfg, count)), rows = count / n;
    MapSpec s;
    s.op = MapOp::act;
    s.act = a.act;
    s.p0 = a.p0;
    s.p1 = a.p1;
    s.rows = rows;
    s.n = n;
    s.in.assign(1, {});
    s.stride = {1};
    for (uint64_t r = 0; r < rows; ++r) {
      s.in[0].push_back(x + r * n * 4);
      s.out.push_back(L.out_addr + r * n * 4);
    }
    split_rows(s, row_cap(cfg, count));
      lowering::gpu::lower_map(cfg, s, L.nn);
  };
  switch (l.op) {
    XPU_ACTIVATION_CASES {
      const auto a = lowering::gpu::gpu_activation(l);  // op_table.cpp, activation.cpp
      L.kernel = std::string("map_") + lowering::gpu::activation_name(a.act);
      L.tol_rel = a.tol_rel;
      L.tol_abs = a.tol_abs;
      contiguous_map(a);
      break;
    }
    case OpKind::add:
    case OpKind::mul: {
      L.kernel = l.op == OpKind::add ? "map_add" : "map_mul";
      const uint64_t a = input(0), b = input(1);
      L.out_addr = mem.take(count * 4);
      // Align both operands to the output's rank; a row is the longest
      // suffix over which each operand is either whole or broadcast.
      const size_t r = out.size();
      Shape sa(r, 1), sb(r, 1);
      const Shape &A = in_shape(0), &B = in_shape(1);
      std::copy(A.begin(), A.end(), sa.begin() + long(r - A.size()));
      std::copy(B.begin(), B.end(), sb.begin() + long(r - B.size()));
      auto kind = [&](const Shape& s, size_t d) { return s[d] == out[d] ? (out[d] == 1 ? 2 : 1) : 0; };  // 1 whole, 0 broadcast, 2 either
      size_t first = r;
      int ka = 2, kb2 = 2;
      while (first > 0) {
        const int x = kind(sa, first - 1), y = kind(sb, first - 1);
        const int nka = ka == 2 ? x : (x == 2 || x == ka ? ka : -1), nkb = kb2 == 2 ? y : (y == 2 || y == kb2 ? kb2 : -1);
        if (nka < 0 || nkb < 0) break;
        ka = nka, kb2 = nkb, --first;
      }
      uint64_t n = 1;
      for (size_t d = first; d < r; ++d) n *= uint64_t(out[d]);
      if (first == r) n = 1;
      const uint64_t rows = count / n;
      const auto sta = strides_of(sa), stb = strides_of(sb), sto = strides_of(out);
      MapSpec s;
      s.op = l.op == OpKind::add ? MapOp::add : MapOp::mul;
      s.rows = rows;
      s.n = n;
      s.in.assign(2, {});
      s.stride = {ka == 0 ? 0u : 1u, kb2 == 0 ? 0u : 1u};
      for (uint64_t row = 0; row < rows; ++row) {
        uint64_t rem = row * n, oa = 0, ob = 0;
        for (size_t d = 0; d < first; ++d) {
          const uint64_t idx = rem / uint64_t(sto[d]);
          rem %= uint64_t(sto[d]);
          if (sa[d] != 1) oa += idx * uint64_t(sta[d]);
          if (sb[d] != 1) ob += idx * uint64_t(stb[d]);
        }
        s.in[0].push_back(a + oa * 4);
        s.in[1].push_back(b + ob * 4);
        s.out.push_back(L.out_addr + row * n * 4);
      }
      split_rows(s, row_cap(cfg, count));
      lowering::gpu::lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::batchnorm: {
      L.kernel = "map_affine";
      L.tol_rel = 1e-5;
      L.tol_abs = 1e-6;
      const Shape& X = in_shape(0);
      if (X.size() < 2) unsupported(l, "batchnorm needs [N, C, ...]");
      const uint64_t x = input(0);
      for (size_t i = 1; i < l.inputs.size(); ++i) input(i);
      const uint64_t C = uint64_t(X[1]), N = uint64_t(X[0]), plane = count / (N * C);
      L.bn_s = mem.take(C * 4);
      L.bn_t = mem.take(C * 4);
      L.out_addr = mem.take(count * 4);
      MapSpec s;
      s.op = MapOp::affine;
      s.rows = N * C;
      s.n = plane;
      s.in.assign(3, {});
      s.stride = {1, 0, 0};
      for (uint64_t r = 0; r < N * C; ++r) {
        s.in[0].push_back(x + r * plane * 4);
        s.in[1].push_back(L.bn_s + (r % C) * 4);
        s.in[2].push_back(L.bn_t + (r % C) * 4);
        s.out.push_back(L.out_addr + r * plane * 4);
      }
      split_rows(s, row_cap(cfg, count));
      lowering::gpu::lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::softmax:
    case OpKind::layernorm: {
      const Shape& X = in_shape(0);
      const int64_t axis = workload::normalize_axis(l.attrs.axis, int64_t(X.size()));
      uint64_t n = 1;
      for (size_t d = size_t(axis); d < X.size(); ++d) n *= uint64_t(X[d]);
      if (l.op == OpKind::softmax && size_t(axis) != X.size() - 1) unsupported(l, "softmax over a non-last axis");
      RowSpec s;
      s.op = l.op == OpKind::softmax ? RowOp::softmax : RowOp::layernorm;
      s.rows = count / n;
      s.n = n;
      s.eps = l.attrs.epsilon;
      const uint64_t x = input(0);
      if (l.op == OpKind::layernorm) {
        if (workload::numel(in_shape(1)) != n) unsupported(l, "layernorm scale must cover the normalized axes");
        s.scale = input(1);
        s.has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
        if (s.has_bias) {
          if (workload::numel(in_shape(2)) != n) unsupported(l, "layernorm bias must cover the normalized axes");
          s.bias = input(2);
        }
        L.tol_abs = 1e-4;
      } else {
        L.tol_rel = 1e-5;
        L.tol_abs = 1e-7;
      }
      L.kernel = l.op == OpKind::softmax ? "row_softmax" : "row_layernorm";
      L.out_addr = mem.take(count * 4);
      for (uint64_t r = 0; r < s.rows; ++r) {
        s.x.push_back(x + r * n * 4);
        s.y.push_back(L.out_addr + r * n * 4);
      }
      lowering::gpu::lower_rows(cfg, s, L.nn);
      break;
    }
    case OpKind::global_avg_pool: {
      const Shape& X = in_shape(0);
      const uint64_t planes = uint64_t(X[0]) * uint64_t(X[1]), n = workload::numel(X) / planes;
      const uint64_t x = input(0);
      L.out_addr = mem.take(count * 4);
      RowSpec s;
      s.op = RowOp::mean;
      s.rows = planes;
      s.n = n;
      for (uint64_t r = 0; r < planes; ++r) {
        s.x.push_back(x + r * n * 4);
        s.y.push_back(L.out_addr + r * 4);
      }
      L.kernel = "row_mean";
      L.tol_rel = 1e-5;
      L.tol_abs = 1e-6;
      lowering::gpu::lower_rows(cfg, s, L.nn);
      break;
    }
    case OpKind::max_pool:
    case OpKind::avg_pool: {
      const Shape& X = in_shape(0);
      if (X.size() != 4) unsupported(l, "pooling needs NCHW");
      const auto& wd = l.attrs.window;
      lowering::gpu::PoolSpec s;
      s.max = l.op == OpKind::max_pool;
      s.count_include_pad = l.attrs.count_include_pad;
      s.planes = uint64_t(X[0]) * uint64_t(X[1]);
      s.h = X[2], s.w = X[3], s.ho = out[2], s.wo = out[3];
      s.kh = wd.kernel_h, s.kw = wd.kernel_w, s.sh = wd.stride_h, s.sw = wd.stride_w;
      s.dh = s.max ? wd.dilation_h : 1, s.dw = s.max ? wd.dilation_w : 1;
      s.pt = wd.pad_top, s.pl = wd.pad_left, s.pb = wd.pad_bottom, s.pr = wd.pad_right;
      s.x = input(0);
      s.y = L.out_addr = mem.take(count * 4);
      L.kernel = s.max ? "max_pool" : "avg_pool";
      if (!s.max) L.tol_rel = 1e-6, L.tol_abs = 1e-7;
      try {
        lowering::gpu::lower_pool(cfg, s, L.nn);
      } catch (const lowering::gpu::GpuLoweringError& e) {
        unsupported(l, e.what());
      }
      break;
    }
    case OpKind::concat: {
      // Copies into the output's slices, all operands in one launch: operand
      // t is `outer` contiguous blocks of len_t x inner elements, block o
      // landing at (o len + offset_t) inner. Rows are cut to the largest
      // length g dividing every block, so one map kernel of g-element rows
      // (per-row bases) moves them all; bit-exact like any copy.
      L.kernel = "map_copy";
      const int64_t rank = int64_t(out.size());
      const size_t axis = size_t(workload::normalize_axis(l.attrs.axis, rank));
      uint64_t outer = 1, inner = 1;
      for (size_t d = 0; d < axis; ++d) outer *= uint64_t(out[d]);
      for (size_t d = axis + 1; d < out.size(); ++d) inner *= uint64_t(out[d]);
      const uint64_t len = uint64_t(out[axis]);
      uint64_t g = 0;
      std::vector<uint64_t> base(l.inputs.size());
      for (size_t t = 0; t < l.inputs.size(); ++t) {
        if (l.inputs[t].empty()) unsupported(l, "absent concat operand");
        base[t] = input(t);
        g = std::gcd(g, uint64_t(in_shape(t).at(axis)) * inner);
      }
      L.out_addr = mem.take(count * 4);
      if (g == 0) unsupported(l, "empty concat");
      MapSpec s;
      s.op = MapOp::copy;
      s.n = g;
      s.in.assign(1, {});
      s.stride = {1};
      uint64_t offset = 0;
      for (size_t t = 0; t < l.inputs.size(); ++t) {
        const uint64_t tl = uint64_t(in_shape(t).at(axis)), block = tl * inner;
        for (uint64_t o = 0; o < outer; ++o)
          for (uint64_t j = 0; j < block; j += g) {
            s.in[0].push_back(base[t] + (o * block + j) * 4);
            s.out.push_back(L.out_addr + ((o * len + offset) * inner + j) * 4);
          }
        offset += tl;
      }
      s.rows = s.out.size();
      split_rows(s, row_cap(cfg, count));
      lowering::gpu::lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::reshape:
    case OpKind::flatten:
      L.view = true;
      L.kernel = "view";
      input(0);
      L.out_addr = L.in_addr[0];
      break;
    case OpKind::transpose: {
      L.kernel = "map_copy";
      const Shape& X = in_shape(0);
      const uint64_t x = input(0);
      L.out_addr = mem.take(count * 4);
      std::vector<int64_t> perm = l.attrs.perm;
      if (perm.empty())
        for (size_t d = X.size(); d-- > 0;) perm.push_back(int64_t(d));
      const auto sx = strides_of(X), so = strides_of(out);
      const size_t r = out.size();
      const uint64_t n = uint64_t(out[r - 1]), rows = count / n;
      MapSpec s;
      s.op = MapOp::copy;
      s.rows = rows;
      s.n = n;
      s.in.assign(1, {});
      s.stride = {static_cast<uint32_t>(sx[size_t(perm[r - 1])])};
      for (uint64_t row = 0; row < rows; ++row) {
        uint64_t rem = row * n, off = 0;
        for (size_t d = 0; d + 1 < r; ++d) {
          const uint64_t idx = rem / uint64_t(so[d]);
          rem %= uint64_t(so[d]);
          off += idx * uint64_t(sx[size_t(perm[d])]);
        }
        s.in[0].push_back(x + off * 4);
        s.out.push_back(L.out_addr + row * n * 4);
      }
      split_rows(s, row_cap(cfg, count));
      lowering::gpu::lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::gemm:
    case OpKind::matmul:
    case OpKind::conv2d: unsupported(l, "no kernel for this op");  // the GEMM paths above take them
  }
  L.bytes = mem.size();
}

std::vector<float> random_values(uint64_t count, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = d(rng);
  return v;
}

// "within tolerance (max |err| ...)" or "MISMATCH ...".
std::string compare_tol(const std::vector<float>& got, const std::vector<float>& want, double abs_tol, double rel_tol) {
  double worst = 0;
  size_t bad = 0, first = 0;
  bool exact = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], e = want[i], err = std::fabs(g - e);
    exact &= float_to_bits(got[i]) == float_to_bits(want[i]) || (g == 0 && e == 0);
    const bool ok = (std::isnan(g) && std::isnan(e)) || err <= abs_tol + rel_tol * std::fabs(e);
    if (!ok && bad++ == 0) first = i;
    if (!std::isnan(err)) worst = std::max(worst, err);
  }
  std::ostringstream os;
  if (bad) {
    os << "MISMATCH: " << bad << " of " << got.size() << " outside |err| <= " << abs_tol << " + " << rel_tol
       << " |ref| (first at " << first << ": " << got[first] << " vs " << want[first] << ")";
  } else if (exact) {
    os << "bit-exact vs fp32 reference";
  } else {
    os << "within tolerance vs fp32 reference (max |err| " << worst << "; allowed " << abs_tol << " + " << rel_tol
       << " |ref|)";
  }
  return os.str();
}

class GpuBackend : public Backend {
 public:
  GpuBackend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table, const std::string& instance)
      : cfg_(cfg), model_(table), terms_(gpu::gpu_energy_terms(cfg, table)),
        gpu_(std::make_unique<gpu::Gpu>(instance.c_str(), cfg)) {}

  std::string kind() const override { return "gpu"; }
  std::string name() const override { return cfg_.name; }
  double clock_mhz() const override { return cfg_.clock_mhz; }

  double peak_macs_per_cycle(DType dtype) const override {
    const auto& tc = cfg_.tensor_core;
    const double tensor = cfg_.tensor_macs_per_cycle();
    switch (dtype) {
      case DType::fp16: return tc.fp16 ? tensor : 0;
      case DType::bf16: return tc.bf16 ? tensor : 0;
      // An int8 HMMA step does the fp32-accumulate step's MACs in ii_int8 cycles.
      case DType::int8: return tc.int8 ? tensor * tc.ii_f32_acc / tc.ii_int8 : 0;
      case DType::fp32: return cfg_.fp32_macs_per_cycle();
      default: return 0;
    }
  }

  // The pin bandwidth, as configured (the model sustains `efficiency` of it).
  double dram_gbps() const override { return cfg_.dram.bandwidth_gbps; }

  // The configured tensor-core instruction shape (m x n x k).
  MatrixUnit matrix_unit() const override {
    const gpu::MmaShape& mma = gpu::mma_shape(cfg_.tensor_core.mma);
    return MatrixUnit{std::string("tensor core (") + gpu::mma_kind_name(cfg_.tensor_core.mma) + ")", mma.m(), mma.n(),
                      mma.k(), false};
  }

  void check_layer(const workload::Layer& layer, DType dtype) const override {
    require_plain_gemm(layer, "GPU");
    GpuGemmPlan plan;
    lower(layer, dtype, plan);
  }

  // Networks: every layer on its own (fresh operands from the workload's
  // seed, like the default), now with every op of workloads/README.md
  // lowered (lower_nn), except the layers a convolution's epilogue
  // absorbs (one result row, `fused` naming them). Workloads of plain GEMMs
  // keep run_layer.
  void check_workload(const workload::Workload& w, DType dtype) const override {
    if (plain_gemms(w)) return Backend::check_workload(w, dtype);
    for (const auto& l : w.layers) {
      NnLayer L;
      lower_nn(cfg_, w, l, dtype, L);
      try {
        if (L.is_conv) gpu_->occupancy(L.conv_plan.launch);
        else if (L.is_gemm) gpu_->occupancy(L.gemm.launch);
        else if (!L.view) gpu_->occupancy(L.nn.launch);
      } catch (const std::invalid_argument& e) {
        unsupported(l, e.what());
      }
    }
  }

  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                const LayerRunOptions& opts) override {
    if (plain_gemms(w)) return Backend::run_workload(w, dtype, opts);
    std::vector<report::LayerResult> out;
    for (size_t i = 0; i < w.layers.size(); ++i) {
      const Fusion f = fusion_after(cfg_, w, i, dtype);
      out.push_back(run_nn_layer(w, w.layers[i], dtype, opts, opts.seed * 1000003 + i, f));
      i += f.layers.size();  // fused layers are contiguous after i
    }
    return out;
  }

  report::LayerResult run_layer(const workload::Layer& layer, DType dtype, const LayerRunOptions& opts) override {
    const GpuGemmSpec spec = gemm_spec(layer, dtype);
    GpuGemmPlan plan;
    lower(layer, dtype, plan);
    const bool values = opts.fidelity != Fidelity::timing;
    std::vector<uint8_t> a, b;
    if (values) {
      if (dtype == DType::fp32) {
        a = random_fp32(layer.m * layer.k, opts.seed);
        b = random_fp32(layer.k * layer.n, opts.seed + 1);
      } else {
        GemmData d = make_gemm_data(dtype, layer.m, layer.n, layer.k, opts.seed);
        a = std::move(d.a);
        b = std::move(d.b);
      }
      lowering::gpu::stage_inputs(plan.layout, spec, a.data(), b.data(), gpu_->memory());
    }
    const gpu::LaunchResult run = gpu_->run(plan.launch, gpu::RunOptions{values, true});

    report::LayerResult r;
    r.name = layer.name;
    r.op = "gemm";
    r.shape = layer.shape();
    r.macs = layer.macs();
    r.cycles = run.cycles;
    r.seconds = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double peak = peak_macs_per_cycle(dtype);
    r.utilization = r.cycles && peak > 0 ? double(r.macs) / (peak * double(r.cycles)) : 0;
    r.stats = run.stats;
    double worst = 0;
    for (int i = 0; i < static_cast<int>(gpu::Stall::count); ++i) {
      const char* cause = gpu::stall_name(static_cast<gpu::Stall>(i));
      const double c = double(run.sm.stall[i]);
      r.stalls[cause] = c;
      if (c > worst) {
        worst = c;
        r.stall_cause = cause;
      }
    }
    r.energy = model_.evaluate(run.stats, terms_);
    if (!values) {
      r.verified = "skipped (timing fidelity)";
    } else if (!opts.verify) {
      r.verified = "not checked";
    } else {
      const auto raw = lowering::gpu::read_output(plan.layout, spec, gpu_->memory());
      std::vector<uint32_t> got(layer.m * layer.n);
      std::memcpy(got.data(), raw.data(), got.size() * 4);
      const auto want =
          dtype == DType::fp32
              ? lowering::gpu::reference_gemm_ffma(layer.m, layer.n, layer.k, plan.layout.kp,
                                                   reinterpret_cast<const float*>(a.data()),
                                                   reinterpret_cast<const float*>(b.data()))
              : lowering::gpu::reference_gemm_tc(dtype, spec.acc, layer.m, layer.n, layer.k, plan.layout.kp,
                                                 a.data(), b.data());
      r.verified = compare_bits(got, want, layer.n);
    }
    return r;
  }

 private:
  static bool plain_gemms(const workload::Workload& w) {
    for (const auto& l : w.layers)
      if (l.op != OpKind::gemm || l.gemm_form != workload::GemmForm::gemm || l.gemm_count != 1 || l.attrs.trans_a ||
          l.attrs.trans_b || l.has_bias)
        return false;
    return true;
  }

  void fill(report::LayerResult& r, const workload::Layer& l, const gpu::LaunchResult& run, DType dtype) {
    r.cycles = run.cycles;
    r.seconds = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double peak = peak_macs_per_cycle(dtype);
    r.utilization = r.cycles && peak > 0 ? double(l.macs()) / (peak * double(r.cycles)) : 0;
    r.stats = run.stats;
    double worst = 0;
    for (int i = 0; i < static_cast<int>(gpu::Stall::count); ++i) {
      const char* cause = gpu::stall_name(static_cast<gpu::Stall>(i));
      // Per sub-core on average (the counters sum over every sub-core).
      const double c = double(run.sm.stall[i]) / (double(cfg_.sms) * cfg_.sub_cores);
      r.stalls[cause] = c;
      if (c > worst) {
        worst = c;
        r.stall_cause = cause;
      }
    }
    r.energy = model_.evaluate(run.stats, terms_);
    r.bytes["dram_read"] = double(run.mem.dram_read_bytes);
    r.bytes["dram_write"] = double(run.mem.dram_write_bytes);
    r.bytes["l2_read"] = double(run.mem.l2_read_bytes);
  }

  report::LayerResult run_nn_layer(const workload::Workload& w, const workload::Layer& l, DType dtype,
                                   const LayerRunOptions& opts, uint64_t seed, const Fusion& fusion = {}) {
    NnLayer L;
    lower_nn(cfg_, w, l, dtype, L, fusion.ep);
    report::LayerResult r;
    r.name = l.name;
    std::string ops = workload::op_name(l.op);
    for (size_t j : fusion.layers) ops += std::string("+") + workload::op_name(w.layers[j].op);
    r.op = ops + " [" + L.kernel + "]";
    if (!fusion.layers.empty()) {
      r.fused.push_back(l.name);
      for (size_t j : fusion.layers) r.fused.push_back(w.layers[j].name);
    }
    r.shape = l.shape();
    r.macs = l.macs();
    r.io = "resident";
    const bool values = opts.fidelity != Fidelity::timing;
    if (L.view) {
      r.verified = "view (no data movement)";
      return r;
    }
    gpu_->memory().resize(values ? L.bytes : 0);
    if (L.is_conv) {
      // Random NHWC input, KRSC weights (batchnorm's scale folded in) and
      // per-channel bias (its shift, or the conv's bias); the output bit for
      // bit against the im2col reference in the kernel's K order.
      const auto& s = L.conv;
      const auto& lay = L.conv_plan.layout;
      std::vector<uint8_t> x, wt;
      std::vector<float> bias(s.k, 0.0f);
      if (values) {
        x = make_gemm_data(dtype, s.batch * s.h * s.w, 1, s.c, seed).a;
        wt = make_gemm_data(dtype, s.k, 1, uint64_t(s.r) * s.s * s.c, seed + 1).a;
        if (s.ep.bias) bias = random_values(s.k, seed + 2, -3.0f, 3.0f);
        lowering::gpu::stage_conv_inputs(lay, s, x.data(), wt.data(), bias.data(), gpu_->memory());
      }
      const gpu::LaunchResult run = gpu_->run(L.conv_plan.launch, gpu::RunOptions{values, true});
      fill(r, l, run, dtype);
      if (!values) {
        r.verified = "skipped (timing fidelity)";
      } else if (!opts.verify) {
        r.verified = "not checked";
      } else {
        r.verified = compare_bits(lowering::gpu::read_conv_output(lay, s, gpu_->memory()),
                                  lowering::gpu::reference_conv_tc(lay, s, x.data(), wt.data(), bias.data()), lay.n) +
                     " (implicit GEMM" + std::string(s.ep.active() ? ", fused epilogue" : "") + ")";
      }
      return r;
    }
    if (L.is_gemm) {
      // The GEMM view, gemm_count batches in one launch; values bit for bit
      // against the tensor-core (or FFMA) order reference per batch.
      std::vector<std::vector<uint8_t>> as, bs;
      const auto& lay = L.gemm.layout;
      if (values) {
        for (uint64_t b = 0; b < L.count; ++b) {
          std::vector<uint8_t> a, bb;
          if (dtype == DType::fp32) {
            a = random_fp32(l.m * l.k, seed + 2 * b);
            bb = random_fp32(l.k * l.n, seed + 2 * b + 1);
          } else {
            GemmData d = make_gemm_data(dtype, l.m, l.n, l.k, seed + b);
            a = std::move(d.a);
            bb = std::move(d.b);
          }
          const uint64_t e = lay.in_bytes, off = b * L.batch_bytes;
          for (uint64_t i = 0; i < l.m; ++i) gpu_->memory().write(off + lay.a + i * lay.lda, &a[i * l.k * e], l.k * e);
          for (uint64_t k = 0; k < l.k; ++k) gpu_->memory().write(off + lay.b + k * lay.ldb, &bb[k * l.n * e], l.n * e);
          as.push_back(std::move(a));
          bs.push_back(std::move(bb));
        }
      }
      // A fused per-column bias (gemm_count 1): random values through the epilogue.
      std::vector<float> bias;
      if (values && fusion.ep.bias) {
        bias = random_values(l.n, seed + 2, -3.0f, 3.0f);
        lowering::gpu::stage_bias(lay, l.n, bias.data(), gpu_->memory());
      }
      const gpu::LaunchResult run = gpu_->run(L.gemm.launch, gpu::RunOptions{values, true});
      fill(r, l, run, dtype);
      if (!values) {
        r.verified = "skipped (timing fidelity)";
      } else if (!opts.verify) {
        r.verified = "not checked";
      } else {
        r.verified = "bit-exact";
        for (uint64_t b = 0; b < L.count && r.verified == "bit-exact"; ++b) {
          std::vector<uint32_t> got(l.m * l.n);
          for (uint64_t i = 0; i < l.m; ++i)
            gpu_->memory().read(b * L.batch_bytes + lay.c + i * lay.ldc, &got[i * l.n], l.n * 4);
          auto want =
              dtype == DType::fp32
                  ? lowering::gpu::reference_gemm_ffma(l.m, l.n, l.k, lay.kp, reinterpret_cast<const float*>(as[b].data()),
                                                       reinterpret_cast<const float*>(bs[b].data()))
                  : lowering::gpu::reference_gemm_tc(dtype, L.spec.acc, l.m, l.n, l.k, lay.kp, as[b].data(),
                                                     bs[b].data());
          lowering::gpu::reference_epilogue(fusion.ep, l.m, l.n, bias.data(), want);
          r.verified = compare_bits(got, want, l.n);
        }
        r.verified += " (GEMM view" + std::string(L.count > 1 ? ", every batch" : "") +
                      std::string(fusion.ep.active() ? ", fused epilogue" : "") + ")";
      }
      return r;
    }
    // Non-matrix layer: random fp32 operands through the layer's kernel and
    // through the reference executor.
    workload::TensorValues feeds;
    workload::Workload one;
    one.name = l.name;
    if (values) {
      for (size_t i = 0; i < l.inputs.size(); ++i) {
        const std::string& name = l.inputs[i];
        if (name.empty() || feeds.count(name)) continue;
        const workload::Tensor& t = w.tensor(name);
        const uint64_t n = workload::numel(t.shape);
        const bool variance = l.op == OpKind::batchnorm && i == 4;
        feeds[name] = variance ? random_values(n, seed + i, 0.5f, 1.5f) : random_values(n, seed + i, -3.0f, 3.0f);
        if (t.is_constant()) one.add_constant(name, t.shape, DType::fp32, t.role);
        else one.add_input(name, t.shape, DType::fp32);
        gpu_->memory().write(L.in_addr[i], feeds[name].data(), n * 4);
      }
      if (l.op == OpKind::batchnorm) {
        // Folded per channel as inference engines do: s = scale / sqrtf(var + eps), t = bias - mean s.
        const auto &sc = feeds[l.inputs[1]], &bi = feeds[l.inputs[2]], &mu = feeds[l.inputs[3]],
                   &var = feeds[l.inputs[4]];
        std::vector<float> fs(sc.size()), ft(sc.size());
        for (size_t c = 0; c < sc.size(); ++c) {
          fs[c] = sc[c] / std::sqrt(var[c] + l.attrs.epsilon);
          ft[c] = bi[c] - mu[c] * fs[c];
        }
        gpu_->memory().write(L.bn_s, fs.data(), fs.size() * 4);
        gpu_->memory().write(L.bn_t, ft.data(), ft.size() * 4);
      }
    }
    const gpu::LaunchResult run = gpu_->run(L.nn.launch, gpu::RunOptions{values, true});
    fill(r, l, run, dtype);
    if (!values) {
      r.verified = "skipped (timing fidelity)";
    } else if (!opts.verify) {
      r.verified = "not checked";
    } else {
      workload::Layer copy = l;
      one.add_layer(copy);
      const auto ref = workload::execute(one, feeds);
      const std::vector<float>& want = ref.at(l.output());
      std::vector<float> got(want.size());
      gpu_->memory().read(L.out_addr, got.data(), got.size() * 4);
      r.verified = compare_tol(got, want, L.tol_abs, L.tol_rel);
    }
    return r;
  }

  void lower(const workload::Layer& layer, DType dtype, GpuGemmPlan& plan) const {
    try {
      if (dtype == DType::fp32) lowering::gpu::lower_gemm_simt(cfg_, gemm_spec(layer, dtype), plan);
      else lowering::gpu::lower_gemm_tc(cfg_, gemm_spec(layer, dtype), plan);
      gpu_->occupancy(plan.launch);
    } catch (const lowering::gpu::GpuLoweringError& e) {
      throw lowering::LoweringError(e.what());
    } catch (const std::invalid_argument& e) {
      throw lowering::LoweringError(e.what());
    }
  }

  static std::vector<uint8_t> random_fp32(uint64_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<uint8_t> v(count * 4);
    for (uint64_t i = 0; i < count; ++i) {
      const float f = nd(rng);
      std::memcpy(&v[4 * i], &f, 4);
    }
    return v;
  }

  gpu::GpuConfig cfg_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<gpu::Gpu> gpu_;
};

}  // namespace

std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<GpuBackend>(cfg, table, instance);
}

XPUSIM_REGISTER_MACHINE(gpu, config::load_gpu_config, make_gpu_backend);

}  // namespace xpu::experiment
