#include "sim/lowering/gpu/network_internal.h"

#include <cmath>

#include "sim/common/errors.h"
#include "sim/lowering/gpu/llm_kernels.h"

namespace xpu::lowering::gpu {

namespace {

// Layers i and i + 1 could share a launch (launch_sibling's conditions).
bool sibling_pair(const workload::Workload& w, size_t i, DType dtype) {
  if ((dtype != DType::fp16 && dtype != DType::bf16) || i + 1 >= w.layers.size()) return false;
  const auto seq = w.params.find("seq");
  if (seq == w.params.end() || seq->second != 1) return false;
  const workload::Layer &a = w.layers[i], &b = w.layers[i + 1];
  if (a.op != b.op || a.inputs.empty() || a.inputs.size() != b.inputs.size()) return false;
  for (const auto& in : b.inputs)
    if (in == a.output()) return false;
  auto shape = [&](const std::string& t) -> const Shape& { return w.tensor(t).shape; };
  if (a.op == OpKind::rope) {
    const Shape &xa = shape(a.inputs[0]), &xb = shape(b.inputs[0]);
    return a.inputs.size() == 3 && a.inputs[1] == b.inputs[1] && a.inputs[2] == b.inputs[2] && xa.size() >= 3 &&
           xa.size() == xb.size() && xa.back() == xb.back() && xa[xa.size() - 3] == xb[xb.size() - 3];
  }
  return a.op == OpKind::concat && a.attrs.in_place && b.attrs.in_place && a.inputs.size() == 2 &&
         a.attrs.axis == b.attrs.axis && a.out_shape == b.out_shape && shape(a.inputs[1]) == shape(b.inputs[1]);
}

bool same_code(const xpu::gpu::Kernel& a, const xpu::gpu::Kernel& b) {
  if (a.code.size() != b.code.size() || a.regs_per_thread != b.regs_per_thread || a.reads_ctaid != b.reads_ctaid)
    return false;
  for (size_t i = 0; i < a.code.size(); ++i)
    if (!xpu::gpu::same_instr(a.code[i], b.code[i])) return false;
  return true;
}

}  // namespace

std::optional<size_t> launch_sibling(const workload::Workload& w, size_t i, DType dtype) {
  // Pairs only: a layer that is itself the second of a pair starts none.
  if (!sibling_pair(w, i, dtype) || (i > 0 && sibling_pair(w, i - 1, dtype))) return std::nullopt;
  return i + 1;
}

void lower_sibling(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t j, DType dtype,
                   GpuLayerPlan& L) {
  const workload::Layer& first = w.layers.at(j - 1);
  const workload::Layer& l = w.layers.at(j);
  auto sib = std::make_unique<GpuLayerPlan>();
  lower_layer(cfg, w, l, dtype, *sib);
  xpu::gpu::Launch &a = L.nn.launch, &b = sib->nn.launch;
  if (!same_code(L.nn.kernel, sib->nn.kernel) || a.threads != b.threads || a.shared_bytes != b.shared_bytes ||
      a.nbufs != b.nbufs)
    throw InternalError("layer '" + l.name + "': its kernel differs from its launch sibling's");
  // Its buffers after L's; an operand both layers read is L's buffer.
  const uint64_t off = L.bytes;
  struct Shared {
    uint64_t at, bytes, to;
  };
  std::vector<Shared> shared;
  for (size_t k = 0; k < l.inputs.size(); ++k)
    for (size_t m = 0; m < first.inputs.size(); ++m)
      if (!l.inputs[k].empty() && l.inputs[k] == first.inputs[m] && sib->in_bytes[k] == L.in_bytes[m])
        shared.push_back({sib->in_addr[k], workload::numel(w.tensor(l.inputs[k]).shape) * sib->in_bytes[k], L.in_addr[m]});
  auto move = [&](uint64_t at) {
    for (const Shared& s : shared)
      if (at >= s.at && at < s.at + s.bytes) return s.to + (at - s.at);
    return at + off;
  };
  for (uint64_t& base : b.bases) base = move(base);
  for (uint64_t& at : sib->in_addr) at = move(at);
  sib->out_addr = move(sib->out_addr);
  a.bases.insert(a.bases.end(), b.bases.begin(), b.bases.end());
  a.ctas += b.ctas;
  L.bytes = off + sib->bytes;
  L.siblings.push_back({j, std::move(sib)});
}

// The decoder-LLM ops on fp32 tensors: rmsnorm and argmax as row kernels
// over the last axis, rope as its own kernel, gather as a copy map whose row
// sources are the constant indices' rows (an index that only exists at run
// time cannot be lowered here: its rows' addresses are baked into the map).
void LayerBuild::llm_op() {
  switch (l.op) {
    case OpKind::rmsnorm:
    case OpKind::argmax: {
      const Shape& X = in_shape(0);
      if (size_t(l.attrs.axis) != X.size() - 1) unsupported(l, "only the last axis");
      const uint64_t n = uint64_t(X.back()), rows = workload::numel(X) / n;
      RowSpec s;
      s.op = l.op == OpKind::rmsnorm ? RowOp::rmsnorm : RowOp::argmax;
      s.rows = rows;
      s.n = n;
      s.eps = l.attrs.epsilon;
      const uint64_t x = input(0);
      if (l.op == OpKind::rmsnorm) {
        s.scale = input(1);
        L.tol_abs = 1e-4;  // tree sum and rsq, as layernorm
        L.kernel = "row_rmsnorm";
      } else {
        L.kernel = "row_argmax";  // bit-exact
      }
      L.out_addr = mem.take(count * 4);
      const uint64_t per_row = count / rows;
      for (uint64_t r = 0; r < rows; ++r) {
        s.x.push_back(x + r * n * 4);
        s.y.push_back(L.out_addr + r * per_row * 4);
      }
      if (l.op == OpKind::rmsnorm && rmsnorm_vectorizes(n)) {
        L.kernel = "row_rmsnorm_vec";
        lower_rmsnorm_vec(cfg, s, L.nn);
      } else if (l.op == OpKind::argmax && argmax_vectorizes(cfg, n)) {
        L.kernel = "row_argmax_vec";
        lower_argmax_vec(cfg, s, L.nn);
      } else {
        lower_rows(cfg, s, L.nn);
      }
      break;
    }
    case OpKind::rope: {
      const Shape& X = in_shape(0);
      const uint64_t d = uint64_t(X.back()), H = uint64_t(X[X.size() - 2]), S = uint64_t(X[X.size() - 3]);
      const uint64_t rows = workload::numel(X) / (H * d);
      const uint64_t x = input(0), c = input(1), sn = input(2);
      L.out_addr = mem.take(count * 4);
      // A CTA per (position, head): a decode step's few positions still
      // spread over many SMs, and each thread loads its pair once.
      RopeSpec s;
      s.rows = rows * H;
      s.heads = 1;
      s.d = d;
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t h = 0; h < H; ++h) {
          s.x.push_back(x + (r * H + h) * d * 4);
          s.y.push_back(L.out_addr + (r * H + h) * d * 4);
          s.cos.push_back(c + (r % S) * (d / 2) * 4);
          s.sin.push_back(sn + (r % S) * (d / 2) * 4);
        }
      L.kernel = "rope";
      try {
        lower_rope(cfg, s, L.nn);
      } catch (const GpuLoweringError& e) {
        unsupported(l, e.what());
      }
      break;
    }
    case OpKind::gather: {
      const workload::Tensor& idx = w.tensor(l.inputs[1]);
      if (!idx.values) unsupported(l, "gather indices must be constants with values");
      const Shape& X = in_shape(0);
      const size_t axis = size_t(l.attrs.axis);
      const uint64_t outer = workload::numel(Shape(X.begin(), X.begin() + long(axis))), len = uint64_t(X[axis]),
                     inner = workload::numel(Shape(X.begin() + long(axis) + 1, X.end()));
      const uint64_t x = input(0);
      input(1);
      L.out_addr = mem.take(count * 4);
      MapSpec s;
      s.op = MapOp::copy;
      s.n = inner;
      s.in.assign(1, {});
      s.stride = {1};
      const auto& ids = *idx.values;
      for (uint64_t o = 0; o < outer; ++o)
        for (uint64_t k = 0; k < ids.size(); ++k) {
          const float f = ids[k];
          if (!(f == std::floor(f)) || f < -float(len) || f >= float(len))
            unsupported(l, "index " + std::to_string(f) + " out of range");
          const uint64_t at = uint64_t(f < 0 ? int64_t(f) + int64_t(len) : int64_t(f));
          s.in[0].push_back(x + (o * len + at) * inner * 4);
          s.out.push_back(L.out_addr + (o * ids.size() + k) * inner * 4);
        }
      s.rows = s.out.size();
      split_rows(s, row_cap(cfg, count));
      L.kernel = "gather_copy";
      lower_map(cfg, s, L.nn);
      break;
    }
    default: throw InternalError("layer '" + l.name + "': no LLM kernel for " + workload::op_name(l.op));
  }
}

}  // namespace xpu::lowering::gpu
