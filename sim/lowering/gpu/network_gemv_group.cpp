#include <numeric>

#include "sim/workload/op_table.h"

#include "sim/lowering/gpu/network_internal.h"

namespace xpu::lowering::gpu {

namespace {

bool has_bias(const workload::Layer& l) { return l.inputs.size() > 2 && !l.inputs[2].empty(); }

// A matrix product the merged GEMV can take a part of: one row, one
// product, a 16-bit constant weight (int8 weights run as their own kernel),
// at most a per-column bias.
bool one_row_product(const workload::Workload& w, const workload::Layer& l) {
  if ((l.op != OpKind::matmul && l.op != OpKind::gemm) || l.gemm_form == workload::GemmForm::none ||
      l.gemm_count != 1 || l.m != 1 || l.n == 0 || l.k == 0 || l.inputs.size() < 2 || l.inputs.size() > 3 ||
      l.inputs[1].empty())
    return false;
  if (has_bias(l) && workload::numel(w.tensor(l.inputs[2]).shape) != l.n) return false;
  const workload::Tensor& b = w.tensor(l.inputs[1]);
  return b.is_constant() && b.dtype != DType::int8;
}

// Layers i..i+3 as gate, act(gate), up, act x up (gemv.h's gated GEMV).
std::optional<GemvGroup> gated_group(const workload::Workload& w, size_t i) {
  if (i + 3 >= w.layers.size()) return std::nullopt;
  const workload::Layer &gate = w.layers[i], &act = w.layers[i + 1], &up = w.layers[i + 2], &mul = w.layers[i + 3];
  if (!one_row_product(w, up) || up.inputs[0] != gate.inputs[0] || up.k != gate.k || up.n != gate.n || has_bias(gate) ||
      has_bias(up))
    return std::nullopt;
  if (!workload::fuses_into(act.op, workload::fuse_gpu_tc_epilogue) || act.inputs.size() != 1 ||
      act.inputs[0] != gate.output() || !single_use(w, gate.output()))
    return std::nullopt;
  if (mul.op != OpKind::mul || mul.inputs.size() != 2 || !single_use(w, act.output()) || !single_use(w, up.output()) ||
      !((mul.inputs[0] == act.output() && mul.inputs[1] == up.output()) ||
        (mul.inputs[1] == act.output() && mul.inputs[0] == up.output())))
    return std::nullopt;
  GemvGroup g;
  try {
    g.act = gpu_activation(act);
  } catch (const GpuLoweringError&) {
    return std::nullopt;
  }
  g.first = i;
  g.last = i + 3;
  g.members = {i, i + 2};
  g.parts = {{gate.n, gate.inputs[1], mul.output()}, {up.n, up.inputs[1], ""}};
  g.gated = true;
  return g;
}

// Layer i an RMSNorm of one row over the last axis whose output only the
// group at i + 1 reads (its x): the norm folded into that GEMV (gemv.h,
// norm). The residual stream reads the norm's input, not its output, so
// in a decoder nothing else waits for the normalized row.
std::optional<GemvGroup> norm_group(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                    DType dtype) {
  const workload::Layer& n = w.layers[i];
  if (n.inputs.size() != 2 || n.inputs[1].empty() || i + 1 >= w.layers.size()) return std::nullopt;
  const workload::Shape& x = w.tensor(n.inputs[0]).shape;
  if (x.empty() || size_t(n.attrs.axis) != x.size() - 1 || workload::numel(x) != uint64_t(x.back()) ||
      !w.tensor(n.inputs[1]).is_constant())
    return std::nullopt;
  auto g = gemv_group(cfg, w, i + 1, dtype);
  if (!g) return std::nullopt;
  const std::string& y = n.output();
  for (const auto& o : w.outputs)
    if (o == y) return std::nullopt;
  size_t uses = 0;
  for (const auto& l : w.layers)
    for (const auto& in : l.inputs) uses += in == y;
  for (size_t m : g->members)
    if (w.layers[m].inputs[0] != y || w.layers[m].k != uint64_t(x.back())) return std::nullopt;
  if (uses != g->members.size()) return std::nullopt;
  GemvSpec s;
  s.k = w.layers[g->members[0]].k;
  s.in = dtype;
  s.gated = g->gated;
  s.ep.bias = g->bias;
  s.ep.act = g->act.act;
  for (const auto& p : g->parts) s.n += p.rows;
  s.norm = true;
  if (!gemv_unsupported(cfg, s).empty()) return std::nullopt;
  g->first = i;
  g->norm = true;
  g->eps = n.attrs.epsilon;
  return g;
}

}  // namespace

std::optional<GemvGroup> gemv_group(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                    DType dtype) {
  const auto it = w.params.find("gemv");
  if (it == w.params.end() || it->second != 1 || (dtype != DType::fp16 && dtype != DType::bf16)) return std::nullopt;
  const workload::Layer& a = w.layers.at(i);
  if (a.op == OpKind::rmsnorm) return norm_group(cfg, w, i, dtype);
  if (!one_row_product(w, a)) return std::nullopt;
  if (auto gg = gated_group(w, i)) {
    GemvSpec s;
    s.k = a.k;
    s.in = dtype;
    s.n = 2 * a.n;
    s.gated = true;
    s.ep.act = gg->act.act;
    if (gemv_unsupported(cfg, s).empty()) return gg;
    return std::nullopt;
  }
  GemvGroup g;
  g.first = g.last = i;
  g.members = {i};
  g.parts = {{a.n, a.inputs[1], a.output()}};
  for (size_t j = i + 1; j < w.layers.size(); ++j) {
    const workload::Layer& l = w.layers[j];
    if (one_row_product(w, l) && l.inputs[0] == a.inputs[0] && l.k == a.k && has_bias(l) == has_bias(a)) {
      g.members.push_back(j);
      g.parts.push_back({l.n, l.inputs[1], l.output()});
      g.last = j;
      continue;
    }
    // A reshape of a part's output, its only reader: the part's rows are
    // written where the reshape's readers look (a view moves no data).
    if (l.op == OpKind::reshape || l.op == OpKind::flatten) {
      auto p = std::find_if(g.parts.begin(), g.parts.end(),
                            [&](const GpuLayerPlan::GemvPart& q) { return !l.inputs.empty() && q.output == l.inputs[0]; });
      if (p != g.parts.end() && single_use(w, p->output)) {
        p->output = l.output();
        g.last = j;
        continue;
      }
    }
    break;
  }
  if (g.members.size() < 2) return std::nullopt;
  g.bias = has_bias(a);
  GemvSpec s;
  s.m = 1;
  s.k = a.k;
  s.in = dtype;
  s.ep.bias = g.bias;
  s.n = std::accumulate(g.parts.begin(), g.parts.end(), uint64_t(0),
                        [](uint64_t n, const GpuLayerPlan::GemvPart& p) { return n + p.rows; });
  if (!gemv_unsupported(cfg, s).empty()) return std::nullopt;
  return g;
}

// One GEMV over the parts' weight rows in order: part p's rows follow the
// rows of the parts before it, in W and in y (one row of x, so y is one
// contiguous row and each part's outputs are contiguous too). Gated: W's
// rows interleaved per CTA block (gemv.h), one output row. A folded norm
// (the group starts at it): x is its input, its scale the kernel's gamma.
void LayerBuild::gemv_merged(DType dtype, const GemvGroup& g) {
  GemvSpec& s = L.gemv_spec;
  s = GemvSpec{};
  s.m = 1;
  s.k = w.layers.at(g.members.at(0)).k;  // l: the first member, or the norm folded into it
  s.in = dtype;
  for (const auto& p : g.parts) s.n += p.rows;
  s.gated = g.gated;
  s.norm = g.norm;
  s.eps = g.eps;
  s.ep.bias = g.bias;  // the parts' biases in row order
  s.ep.act = g.act.act, s.ep.p0 = g.act.p0, s.ep.p1 = g.act.p1;
  L.gemv_parts = g.parts;
  gemv_kernel();
}

}  // namespace xpu::lowering::gpu
