#include "sim/lowering/gpu/network_stream.h"

#include <algorithm>
#include <set>

#include "sim/common/errors.h"

namespace xpu::lowering::gpu {

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

struct Start {
  uint64_t at;
  std::string key;
};

// Starts (one batch's, [0, span)) to pieces: each runs to the next start;
// `count` batches span apart, batch g at g x span locally and at g x (the
// piece's size) in its buffer. A key named twice in a layer (matmul [x, x])
// is one tensor in two layouts: the second gets a buffer of its own, so no
// two pieces of a layer overlap in the device memory.
std::vector<PlanPiece> to_pieces(std::vector<Start> s, uint64_t span, uint64_t count, const std::string& own) {
  std::stable_sort(s.begin(), s.end(), [](const Start& a, const Start& b) { return a.at < b.at; });
  if (s.empty() || s.front().at != 0) s.insert(s.begin(), Start{0, own + "head"});
  std::vector<PlanPiece> one;
  std::set<std::string> seen;
  for (size_t i = 0; i < s.size(); ++i) {
    const uint64_t end = i + 1 < s.size() ? s[i + 1].at : span;
    if (end <= s[i].at) continue;  // empty (a later start at the same address owns it)
    std::string key = s[i].key;
    if (!seen.insert(key).second) key = own + std::to_string(i);
    one.push_back(PlanPiece{s[i].at, end - s[i].at, key, 0});
  }
  std::vector<PlanPiece> out;
  for (uint64_t g = 0; g < count; ++g)
    for (const PlanPiece& p : one) out.push_back(PlanPiece{g * span + p.local, p.bytes, p.key, g * p.bytes});
  return out;
}

}  // namespace

std::string fused_output(const workload::Workload& w, size_t index, const Fusion& f) {
  return f.layers.empty() ? w.layers.at(index).output() : w.layers.at(f.layers.back()).output();
}

std::vector<PlanPiece> plan_pieces(const workload::Workload& w, size_t index, const GpuLayerPlan& L, const Fusion& f) {
  if (L.view) return {};
  const std::string out = fused_output(w, index, f);
  const workload::Layer& l = w.layers.at(index);
  const std::string own = "l" + std::to_string(index) + ".";
  auto in = [&](size_t i) {
    return i < l.inputs.size() && !l.inputs[i].empty() ? "t:" + l.inputs[i] : own + "in" + std::to_string(i);
  };
  const std::string y = "t:" + out;
  std::vector<Start> s;
  if (L.is_conv) {
    const ConvLayout& c = L.conv_plan.layout;
    s = {{c.x, in(0)}, {c.g.b, in(1)}, {c.g.c, y}};
    if (L.conv.ep.bias) s.push_back({c.g.bias, own + "bias"});  // conv bias and folded batchnorm
    if (L.conv.ep.residual) s.push_back({c.res, "t:" + f.residual});
    return to_pieces(std::move(s), L.bytes, 1, own);
  }
  if (L.is_gemm) {
    const GpuGemmLayout& g = L.gemm.layout;
    s = {{g.a, in(0)}, {g.b, in(1)}, {g.c, y}};
    if (g.bias > g.c) s.push_back({g.bias, own + "bias"});
    if (L.ep.residual) s.push_back({g.res, "t:" + f.residual});
    if (L.gemm.split() && g.work > g.c) s.push_back({g.work, own + "work"});
    return to_pieces(std::move(s), L.batch_bytes, L.count, own);
  }
  if (L.is_gemv_w8) {
    const GemvW8Layout& g = L.gemv_w8;
    return to_pieces({{g.x, in(0)}, {g.w, in(1)}, {g.scale, own + "scale"}, {g.y, y}}, L.bytes, 1, own);
  }
  if (L.is_gemv && L.gemv_spec.gated) {  // gate and up rows packed per CTA block: one weight of its own
    s = {{L.gemv.x, in(0)}, {L.gemv.w, own + "w_gated"}, {L.gemv.y, "t:" + L.gemv_parts.at(0).output}};
    if (L.gemv_spec.norm) s.push_back({L.gemv.gamma, in(1)});  // the folded norm's scale (x: its input)
    return to_pieces(std::move(s), L.bytes, 1, own);
  }
  if (L.is_gemv && !L.gemv_parts.empty()) {  // merged GEMVs: each part's weight rows and outputs
    s = {{L.gemv.x, in(0)}};
    uint64_t row = 0;
    for (const auto& part : L.gemv_parts) {
      s.push_back({L.gemv.w + row * L.gemv.kp * 2, "t:" + part.weight});
      s.push_back({L.gemv.y + row * 4, "t:" + part.output});
      row += part.rows;
    }
    if (L.gemv_spec.ep.bias) s.push_back({L.gemv.bias, own + "bias"});
    if (L.gemv_spec.norm) s.push_back({L.gemv.gamma, in(1)});
    return to_pieces(std::move(s), L.bytes, 1, own);
  }
  if (L.is_gemv) {
    s = {{L.gemv.x, in(0)}, {L.gemv.w, in(1)}, {L.gemv.y, y}};
    if (L.gemv_spec.ep.bias) s.push_back({L.gemv.bias, own + "bias"});
    if (L.gemv_spec.ep.residual) s.push_back({L.gemv.res, "t:" + f.residual});
    return to_pieces(std::move(s), L.bytes, 1, own);
  }
  if (L.is_attention) {  // the chain's q, K and V tensors (network_attention.cpp)
    const FlashSpec& a = L.flash;
    s = {{a.q, "t:" + L.attn_q}, {a.k, "t:" + L.attn_k}, {a.v, "t:" + L.attn_v}, {a.o, y}, {a.meta, own + "meta"}};
    if (L.flash_plan.splits > 1) s.push_back({a.ws, own + "ws"});
    return to_pieces(std::move(s), L.bytes, 1, own);
  }
  // Map, row and pool kernels: the buffers LayerBuild took (network_internal.h).
  s.push_back({L.out_addr, L.siblings.empty() ? y : "t:" + l.output()});
  std::set<uint64_t> taken = {L.out_addr};
  for (size_t i = 0; i < l.inputs.size() && i < L.in_addr.size(); ++i)
    if (!l.inputs[i].empty() && taken.insert(L.in_addr[i]).second) s.push_back({L.in_addr[i], in(i)});
  for (const auto& sb : L.siblings) {  // layers in the same launch: their buffers (shared operands are L's)
    const workload::Layer& sl = w.layers.at(sb.layer);
    const GpuLayerPlan& P = *sb.plan;
    if (taken.insert(P.out_addr).second) s.push_back({P.out_addr, "t:" + sl.output()});
    for (size_t i = 0; i < sl.inputs.size() && i < P.in_addr.size(); ++i)
      if (!sl.inputs[i].empty() && taken.insert(P.in_addr[i]).second) s.push_back({P.in_addr[i], "t:" + sl.inputs[i]});
  }
  if (l.op == workload::OpKind::batchnorm) {
    s.push_back({L.bn_s, own + "scale"});
    s.push_back({L.bn_t, own + "shift"});
  }
  return to_pieces(std::move(s), L.bytes, 1, own);
}

const std::string& StreamPlacement::resolve(const std::string& key) const {
  const std::string* k = &key;
  for (auto it = alias_.find(*k); it != alias_.end(); it = alias_.find(*k)) k = &it->second;
  return *k;
}

void StreamPlacement::alias(const std::string& view, const std::string& of) {
  if (done_) throw xpu::InternalError("stream placement: alias after finish");
  if (resolve(of) == view) return;  // a view of itself: nothing to do
  alias_[view] = of;
}

void StreamPlacement::need(const std::vector<PlanPiece>& pieces) {
  if (done_) throw xpu::InternalError("stream placement: need after finish");
  for (const PlanPiece& p : pieces) {
    const std::string& k = resolve(p.key);
    auto [it, fresh] = size_.emplace(k, 0);
    if (fresh) order_.push_back(k);
    it->second = std::max(it->second, p.offset + p.bytes);
  }
}

void StreamPlacement::finish() {
  bytes_ = 0;
  for (const std::string& k : order_) {
    addr_[k] = bytes_;
    bytes_ = round_up(bytes_ + size_.at(k), 256);
  }
  done_ = true;
}

uint64_t StreamPlacement::address(const std::string& key) const {
  const auto it = addr_.find(resolve(key));
  if (!done_ || it == addr_.end()) throw xpu::InternalError("stream placement: no buffer for '" + key + "'");
  return it->second;
}

void relocate(GpuLayerPlan& L, const std::vector<PlanPiece>& pieces, const StreamPlacement& p) {
  if (pieces.empty()) throw xpu::InternalError("relocate: a layer without buffers");
  std::vector<uint64_t> at;
  for (const PlanPiece& q : pieces) at.push_back(q.local);
  if (!std::is_sorted(at.begin(), at.end()) || at.front() != 0)
    throw xpu::InternalError("relocate: pieces out of order");
  std::vector<xpu::gpu::Launch*> launches;
  if (L.is_conv) launches = {&L.conv_plan.launch};
  else if (L.is_gemm) launches = L.gemm.split() ? std::vector<xpu::gpu::Launch*>{&L.gemm.launch, &L.gemm.reduce}
                                                : std::vector<xpu::gpu::Launch*>{&L.gemm.launch};
  else launches = {&L.nn.launch};
  for (xpu::gpu::Launch* ln : launches)
    for (uint64_t& b : ln->bases) {
      // The piece holding b (the last starting at or before it: a base at a
      // piece's end is the next piece's start).
      const size_t i = size_t(std::upper_bound(at.begin(), at.end(), b) - at.begin()) - 1;
      const PlanPiece& q = pieces[i];
      b = p.address(q.key) + q.offset + (b - q.local);
    }
}

void copy_in(const std::vector<PlanPiece>& pieces, const StreamPlacement& p, const xpu::gpu::GlobalMemory& local,
             xpu::gpu::GlobalMemory& device) {
  for (const PlanPiece& q : pieces)
    local.read(q.local, device.at(p.address(q.key) + q.offset, q.bytes), q.bytes);
}

void copy_out(const std::vector<PlanPiece>& pieces, const StreamPlacement& p, const xpu::gpu::GlobalMemory& device,
              xpu::gpu::GlobalMemory& local) {
  for (const PlanPiece& q : pieces)
    device.read(p.address(q.key) + q.offset, local.at(q.local, q.bytes), q.bytes);
}

}  // namespace xpu::lowering::gpu
