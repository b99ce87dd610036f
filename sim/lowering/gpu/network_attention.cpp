#include <cmath>
#include <limits>

#include "sim/lowering/gpu/network_internal.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering::gpu {

// The decoder graph's attention (sim/workload/llm/llm_graph.h) as one
// flash-attention kernel where the workload asks for it (params.attention
// = 1) and the run is 16-bit. The chain, each tensor read only by the next:
//   decode:  q_cols = q^T, (K q_cols)^T, x scale, softmax, x V
//   prefill: k_t = k^T, q k_t, x scale, + causal mask, softmax, x V
// The leading transpose becomes a view (the kernel reads q and the cache's
// K as they are), the matmul after it the fused kernel, and the layers
// after that its epilogue-like fused rows. The prefill's mask must be the
// causal one the kernel computes itself (checked value by value); a shape
// the kernel does not take runs op by op.
std::optional<AttentionChain> attention_chain(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                              DType dtype) {
  const auto it = w.params.find("attention");
  if (it == w.params.end() || it->second != 1 || (dtype != DType::fp16 && dtype != DType::bf16)) return std::nullopt;
  const auto& ls = w.layers;
  auto is = [&](size_t j, OpKind k) { return j < ls.size() && ls[j].op == k; };
  auto perm = [&](size_t j, std::vector<int64_t> p) { return is(j, OpKind::transpose) && ls[j].attrs.perm == p; };
  auto feeds = [&](size_t j, size_t input) {  // layer j's output is read only by layer j + 1, as its input `input`
    const std::string& t = ls[j].output();
    for (const auto& o : w.outputs)
      if (o == t) return false;
    size_t uses = 0;
    for (const auto& x : ls)
      for (const auto& in : x.inputs) uses += in == t;
    return uses == 1 && j + 1 < ls.size() && ls[j + 1].inputs.size() > input && ls[j + 1].inputs[input] == t;
  };
  auto scalar = [&](const std::string& name, float& v) {
    const workload::Tensor& t = w.tensor(name);
    if (!t.values || t.values->size() != 1) return false;
    v = (*t.values)[0];
    return true;
  };
  for (size_t p = i > 0 ? i - 1 : 0; p <= i; ++p) {
    AttentionChain c;
    c.prefix = p;
    c.first = p + 1;
    c.last = p + 5;
    if (c.last >= ls.size()) continue;
    const bool decode = perm(p, {0, 1, 3, 2}) && is(p + 1, OpKind::matmul) && feeds(p, 1) && feeds(p + 1, 0) &&
                        perm(p + 2, {0, 1, 3, 2}) && feeds(p + 2, 0) && is(p + 3, OpKind::mul) && feeds(p + 3, 0) &&
                        is(p + 4, OpKind::softmax) && feeds(p + 4, 0) && is(p + 5, OpKind::matmul);
    const bool prefill = !decode && perm(p, {0, 2, 3, 1}) && is(p + 1, OpKind::matmul) && feeds(p, 1) &&
                         feeds(p + 1, 0) && is(p + 2, OpKind::mul) && feeds(p + 2, 0) && is(p + 3, OpKind::add) &&
                         feeds(p + 3, 0) && is(p + 4, OpKind::softmax) && feeds(p + 4, 0) && is(p + 5, OpKind::matmul);
    if (!decode && !prefill) continue;
    const size_t sc = decode ? p + 3 : p + 2;
    if (ls[sc].inputs.size() != 2 || !scalar(ls[sc].inputs[1], c.spec.scale)) continue;
    if (ls[p + 4].attrs.axis != -1 && ls[p + 4].attrs.axis != 3) continue;
    c.q = decode ? ls[p].inputs[0] : ls[p + 1].inputs[0];
    c.v = ls[p + 5].inputs[1];
    if (decode) {
      c.k = ls[p + 1].inputs[0];
    } else {
      // The cache layout [B, KV, S, d] of the same k: its transpose {0, 2, 1, 3}.
      for (const auto& x : ls)
        if (x.op == OpKind::transpose && x.attrs.perm == std::vector<int64_t>{0, 2, 1, 3} && x.inputs[0] == ls[p].inputs[0])
          c.k = x.output();
      if (c.k.empty()) continue;
    }
    const Shape &Q = w.tensor(c.q).shape, &K = w.tensor(c.k).shape, &V = w.tensor(c.v).shape;
    if (Q.size() != 4 || K.size() != 4 || K != V || Q[0] != K[0] || Q[1] != K[1] || Q[3] != K[3]) continue;
    const int64_t L = K[2], rows = Q[2];
    c.spec.heads = uint64_t(Q[0] * Q[1]);
    c.spec.rows = uint64_t(rows);
    c.spec.d = uint64_t(Q[3]);
    c.spec.in = dtype;
    if (decode) {
      c.spec.seq = 1;  // no mask: every row sees the whole cache
      c.spec.past = uint64_t(L - 1);
    } else {
      const auto s = w.params.find("seq");
      const int64_t S = s == w.params.end() ? 0 : s->second;
      if (S < 1 || S > L || rows % S != 0) continue;
      c.spec.seq = uint64_t(S);
      c.spec.past = uint64_t(L - S);
      // The mask [rows, L] must be causal: row r (query position past + r % S) sees positions <= it.
      const workload::Tensor& m = w.tensor(ls[p + 3].inputs.size() == 2 ? ls[p + 3].inputs[1] : c.q);
      if (!m.values || m.values->size() != uint64_t(rows * L)) continue;
      bool causal = true;
      for (int64_t r = 0; r < rows && causal; ++r)
        for (int64_t j = 0; j < L && causal; ++j) {
          const float want = j <= L - S + r % S ? 0.0f : -std::numeric_limits<float>::infinity();
          causal = (*m.values)[size_t(r * L + j)] == want;
        }
      if (!causal) continue;
    }
    if (!flash_attention_unsupported(cfg, c.spec).empty()) continue;  // op by op instead
    return c;
  }
  return std::nullopt;
}

// The fused kernel in place of the chain's first matmul: q, K, V staged
// 16-bit, the output fp32 as the context matmul's.
void LayerBuild::attention(const AttentionChain& c) {
  FlashSpec& s = L.flash = c.spec;
  const uint64_t qn = s.heads * s.rows * s.d, kn = s.heads * s.positions() * s.d;
  const FlashPlan p = plan_flash_attention(cfg, s);
  s.q = mem.take(qn * 2);
  s.k = mem.take(kn * 2 + flash_kv_padding(p, s));
  s.v = mem.take(kn * 2 + flash_kv_padding(p, s));
  s.o = L.out_addr = mem.take(qn * 4);
  s.meta = mem.take(uint64_t(p.splits) * s.rows * 4);
  s.ws = mem.take(flash_workspace_bytes(p, s));
  try {
    lower_flash_attention(cfg, s, L.flash_plan, L.nn);
  } catch (const GpuLoweringError& e) {
    unsupported(l, e.what());
  }
  L.is_attention = true;
  L.attn_q = c.q, L.attn_k = c.k, L.attn_v = c.v;
  L.kernel = "flash_attention";
}

}  // namespace xpu::lowering::gpu
