#include "sim/lowering/gpu/network_internal.h"

#include <algorithm>

#include "sim/lowering/lowering_error.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering::gpu {

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

uint64_t chunk_of(uint64_t n, uint64_t cap) {
  if (n <= cap) return n;
  for (uint64_t d = cap; d >= 256; --d)
    if (n % d == 0) return d;
  return n;  // no usable divisor: one long row per CTA
}

// Rows longer than 8192 elements are cut into equal contiguous parts (one
// CTA each): operands with stride 0 keep their base.
// `cap` keeps several CTAs per SM on small tensors.
uint64_t row_cap(const xpu::gpu::GpuConfig& cfg, uint64_t count) {
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
      for (size_t o = 0; o < s.in.size(); ++o) t.in[o].push_back(s.in[o][r] + j * nc * s.stride[o] * s.in_bytes(o));
      t.out.push_back(s.out[r] + j * nc * act_bytes(s.io));
    }
  s = std::move(t);
}

std::string GpuLayerPlan::kernel_config() const {
  if (is_gemm && kernel == "gemm_tc") return kernel + " " + gemm.tiling.name();
  if (is_conv) return kernel + " " + conv_plan.tiling.name();
  if (is_gemv && !gemv_parts.empty())
    return kernel + " (" + std::to_string(gemv_parts.size()) + " merged" + (gemv_spec.gated ? ", gated)" : ")");
  return kernel;
}

bool single_use(const workload::Workload& w, const std::string& t) {
  for (const auto& o : w.outputs)
    if (o == t) return false;
  size_t uses = 0;
  for (const auto& l : w.layers)
    for (const auto& in : l.inputs) uses += in == t;
  return uses == 1;
}

[[noreturn]] void unsupported(const workload::Layer& l, const std::string& why) {
  throw lowering::LoweringError("layer '" + l.name + "' (" + workload::op_name(l.op) + "): " + why +
                                " on the GPU backend");
}

uint64_t LayerBuild::input(size_t i, uint32_t bytes) {
  if (l.inputs[i].empty()) return uint64_t(0);
  L.in_bytes[i] = bytes ? bytes : eb();
  for (size_t j = 0; j < i; ++j)
    if (l.inputs[j] == l.inputs[i]) return L.in_addr[i] = L.in_addr[j];
  return L.in_addr[i] = mem.take(workload::numel(in_shape(i)) * L.in_bytes[i]);
}

void LayerBuild::contiguous_map(const GpuActivation& a) {
  const uint64_t x = input(0);
  output();
  const uint64_t n = chunk_of(count, row_cap(cfg, count)), rows = count / n;
  MapSpec s;
  s.op = MapOp::act;
  s.act = a.act;
  s.p0 = a.p0;
  s.p1 = a.p1;
  s.io = L.io;
  s.rows = rows;
  s.n = n;
  s.in.assign(1, {});
  s.stride = {1};
  for (uint64_t r = 0; r < rows; ++r) {
    s.in[0].push_back(x + r * n * eb());
    s.out.push_back(L.out_addr + r * n * eb());
  }
  split_rows(s, row_cap(cfg, count));
  lower_map(cfg, s, L.nn);
}

void lower_layer(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, const workload::Layer& l, DType dtype,
                 GpuLayerPlan& L, const TcEpilogue& ep) {
  LayerBuild b(cfg, w, l, L);
  // Activations between the SIMT kernels in the run's 16-bit type (the
  // decoder's own row kernels, network_llm.cpp, keep fp32).
  const bool llm = l.op == OpKind::rmsnorm || l.op == OpKind::rope || l.op == OpKind::gather || l.op == OpKind::argmax;
  if (is_act16(dtype) && !llm) L.io = dtype;
  const size_t at = size_t(&l - w.layers.data());
  if (at < w.layers.size() && &w.layers[at] == &l)
    if (const auto c = attention_chain(cfg, w, at, dtype); c && (c->prefix == at || c->first == at)) {
      if (c->prefix == at) L.view = true, L.kernel = "view";  // the fused kernel reads its input as it is
      else b.attention(*c);
      L.bytes = b.mem.size();
      return;
    }
  if (at < w.layers.size() && &w.layers[at] == &l)
    if (const auto g = gemv_group(cfg, w, at, dtype)) {
      b.gemv_merged(dtype, *g);
      return;
    }
  // Depthwise convs run on the SIMT pipes (row_op), not as GEMM views.
  if (b.gemv(dtype, ep)) return;
  if (!depthwise(b) && b.matrix(dtype, ep)) return;
  switch (l.op) {
    XPU_ACTIVATION_CASES
    case OpKind::add:
    case OpKind::mul:
    case OpKind::batchnorm:
    case OpKind::concat:
    case OpKind::reshape:
    case OpKind::flatten:
    case OpKind::transpose: b.map_op(); break;
    case OpKind::softmax:
    case OpKind::layernorm:
    case OpKind::global_avg_pool:
    case OpKind::max_pool:
    case OpKind::avg_pool: b.row_op(); break;
    case OpKind::conv2d:
      if (depthwise(b)) {
        b.row_op();
        break;
      }
      unsupported(l, "no kernel for this op");
    case OpKind::rmsnorm:
    case OpKind::rope:
    case OpKind::gather:
    case OpKind::argmax: b.llm_op(); break;
    case OpKind::gemm:
    case OpKind::matmul: unsupported(l, "no kernel for this op");  // matrix() takes every GEMM view
  }
  L.bytes = b.mem.size();
  if (at < w.layers.size() && &w.layers[at] == &l)
    if (const auto j = launch_sibling(w, at, dtype)) lower_sibling(cfg, w, *j, dtype, L);
}

}  // namespace xpu::lowering::gpu
