#include <numeric>

#include "sim/lowering/gpu/network_internal.h"

namespace xpu::lowering::gpu {

namespace {

// A matrix product the merged GEMV can take a part of: one row, one
// product, a 16-bit constant weight (int8 weights run as their own kernel),
// no bias.
bool one_row_product(const workload::Workload& w, const workload::Layer& l) {
  if ((l.op != OpKind::matmul && l.op != OpKind::gemm) || l.gemm_form == workload::GemmForm::none ||
      l.gemm_count != 1 || l.m != 1 || l.n == 0 || l.k == 0 || l.inputs.size() != 2 || l.inputs[1].empty())
    return false;
  const workload::Tensor& b = w.tensor(l.inputs[1]);
  return b.is_constant() && b.dtype != DType::int8;
}

// Tensor t is read by exactly one layer and is no workload output.
bool single_use(const workload::Workload& w, const std::string& t) {
  for (const auto& o : w.outputs)
    if (o == t) return false;
  size_t uses = 0;
  for (const auto& l : w.layers)
    for (const auto& in : l.inputs) uses += in == t;
  return uses == 1;
}

}  // namespace

std::optional<GemvGroup> gemv_group(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                    DType dtype) {
  const auto it = w.params.find("gemv");
  if (it == w.params.end() || it->second != 1 || (dtype != DType::fp16 && dtype != DType::bf16)) return std::nullopt;
  const workload::Layer& a = w.layers.at(i);
  if (!one_row_product(w, a)) return std::nullopt;
  GemvGroup g;
  g.first = g.last = i;
  g.members = {i};
  g.parts = {{a.n, a.inputs[1], a.output()}};
  for (size_t j = i + 1; j < w.layers.size(); ++j) {
    const workload::Layer& l = w.layers[j];
    if (one_row_product(w, l) && l.inputs[0] == a.inputs[0] && l.k == a.k) {
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
  GemvSpec s;
  s.m = 1;
  s.k = a.k;
  s.in = dtype;
  s.n = std::accumulate(g.parts.begin(), g.parts.end(), uint64_t(0),
                        [](uint64_t n, const GpuLayerPlan::GemvPart& p) { return n + p.rows; });
  if (!gemv_unsupported(cfg, s).empty()) return std::nullopt;
  return g;
}

// One GEMV over the parts' weight rows in order: part p's rows follow the
// rows of the parts before it, in W and in y (one row of x, so y is one
// contiguous row and each part's outputs are contiguous too).
void LayerBuild::gemv_merged(DType dtype, const GemvGroup& g) {
  GemvSpec& s = L.gemv_spec;
  s = GemvSpec{};
  s.m = 1;
  s.k = l.k;
  s.in = dtype;
  for (const auto& p : g.parts) s.n += p.rows;
  try {
    lower_gemv(cfg, s, L.gemv, L.nn);
  } catch (const GpuLoweringError& e) {
    unsupported(l, e.what());
  }
  L.is_gemv = true;
  L.kernel = "gemv";
  L.gemv_parts = g.parts;
  L.out_addr = L.gemv.y;
  L.bytes = L.gemv.bytes;
}

}  // namespace xpu::lowering::gpu
