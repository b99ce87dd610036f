// SmCore construction, launch preparation and CTA start. The rest of the SM
// is split by what it does: sm_issue.cpp (scheduling, issue, control flow),
// sm_alu.cpp (integer/float/SFU values), sm_memory.cpp (shared memory, L1,
// global accesses), sm_fast_path.cpp (twins and the functional values pass).
#include "models/gpu/sm_core.h"

#include <algorithm>

namespace xpu::gpu {

const char* stall_name(Stall s) {
  static const char* const names[] = {"memory_dependency", "execution_dependency", "pipe_busy", "tensor_busy",
                                      "mio_throttle",      "barrier",              "branch",    "idle"};
  return names[static_cast<int>(s)];
}

SmCore::SmCore(const GpuConfig& cfg, uint32_t id, GlobalMemory* gmem) : cfg_(cfg), mma_(&mma_shape(cfg.tensor_core.mma)), id_(id), gmem_(gmem) {
  subs_.resize(cfg.sub_cores);
}

void SmCore::prepare(const LaunchGeometry* g, bool values, uint64_t now) {
  geo_ = g;
  kernel_ = g->launch->kernel;
  dec_ = g->decoded.data();
  code_ = kernel_->code.data();
  values_ = values;
  regs_per_thread_ = kernel_->regs_per_thread;
  const uint32_t nwarps = g->slots * g->warps_per_cta;
  warps_.assign(nwarps, Warp{});
  slots_.assign(g->slots, Slot{});
  for (uint32_t s = 0; s < g->slots; ++s) slots_[s].smem_base = s * g->smem_per_cta;
  for (auto& sc : subs_) sc = SubCore{};
  for (uint32_t w = 0; w < nwarps; ++w) subs_[w % subs_.size()].warps.push_back(w);
  // Registers start at zero; a slot's are zeroed at its first CTA
  // (start_cta), so slots that never run a CTA cost nothing.
  rf_.resize(size_t(nwarps) * regs_per_thread_ * 32);
  if (++memo_epoch_ == 0) {  // wrapped: old entries could look valid
    smem_memo_.assign(smem_memo_.size(), SmemMemo{});
    smem_lane_memo_.assign(smem_lane_memo_.size(), SmemLaneMemo{});
    memo_epoch_ = 1;
  }
  uint32_t memo_slots = 1;
  while (memo_slots < kernel_->code.size() && memo_slots < kMaxMemoSlots) memo_slots <<= 1;
  memo_mask_ = memo_slots - 1;
  if (smem_memo_.size() < memo_slots) smem_memo_.resize(memo_slots);
  if (smem_lane_memo_.size() < memo_slots) smem_lane_memo_.resize(memo_slots);
  frag_off_ = g->frag_off.data();
  smem_.assign(values ? size_t(g->slots) * g->smem_per_cta : 0, 0);
  l1_.configure(g->l1_bytes, cfg_.l1.line_bytes, cfg_.l1.assoc);
  recs_.clear();
  free_recs_.clear();
  reqs_.clear();
  finished_.clear();
  now_ = now;
  mio_free_ = now;
  resident_ = 0;
  seq_ = 0;
  last_retire_ = now;
  gen_ = 0;
  twins_.clear();
  leader_ = nullptr;
  split_now_.clear();
  resume_ = false;
  inherited_insts_ = 0;
}

void SmCore::start_cta(uint32_t slot, uint32_t cta, uint64_t t) {
  Slot& s = slots_[slot];
  s.busy = true;
  s.cta = cta;
  s.live = geo_->warps_per_cta;
  s.at_bar = 0;
  s.gen = gen_++;
  if (!s.rf_zeroed) {
    const size_t per_slot = size_t(geo_->warps_per_cta) * regs_per_thread_ * 32;
    std::fill(rf_.begin() + long(slot * per_slot), rf_.begin() + long((slot + 1) * per_slot), 0u);
    s.rf_zeroed = true;
  }
  ++resident_;
  // An SM that sat idle was not run; its clock catches up here.
  now_ = std::max(now_, t);
  const uint32_t threads = geo_->launch->threads;
  for (uint32_t i = 0; i < geo_->warps_per_cta; ++i) {
    const uint32_t wi = slot * geo_->warps_per_cta + i;
    Warp& w = warps_[wi];
    w.live = true;
    w.at_bar = false;
    w.slot = slot;
    w.index = i;
    w.age = ++age_;
    w.next_issue = t;
    w.pending = 0;
    w.cp_open = Warp::CpGroup{};
    w.cp_open.id = 1;  // 0 marks a register load's record
    w.cp_groups.clear();
    w.cp_floor = 0;
    w.cached_pc = -1;
    w.lb = 0;
    const uint32_t lanes = std::min(32u, threads - i * 32);
    w.stack.assign(1, SimtEntry{0, -1, lanes == 32 ? ~0u : ((1u << lanes) - 1)});
    std::fill(std::begin(w.pred), std::end(w.pred), 0u);
    w.pred[kPT] = ~0u;
    w.sb.fill(0);
    if (values_) std::fill(&rf_[size_t(wi) * regs_per_thread_ * 32], &rf_[size_t(wi + 1) * regs_per_thread_ * 32], 0u);
  }
  if (values_) std::fill(smem_.begin() + s.smem_base, smem_.begin() + s.smem_base + geo_->smem_per_cta, 0);
  // Oldest first, for GTO's "oldest" and LRR's rotation.
  for (auto& sc : subs_) {
    std::sort(sc.warps.begin(), sc.warps.end(), [&](uint32_t a, uint32_t b) { return warps_[a].age < warps_[b].age; });
    sc.last = -1;
    sc.next = std::min(sc.next, t);
  }
  ctr_[Ctr::ctas] += 1;
}

}  // namespace xpu::gpu
