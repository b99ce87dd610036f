// SmCore side of the fast path (fast_path.h): twins that follow a leader,
// the split check before each global access, splitting a twin off as the
// leader's translated state, and the functional values pass.
#include <string>

#include "models/gpu/sm_core.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

void SmCore::add_twin(SmCore* twin, std::vector<int64_t> delta) {
  twin->leader_ = this;
  twins_.push_back(Twin{twin, std::move(delta)});
}

void SmCore::split_check(const Instr& in, uint32_t wi, uint32_t mask) {
  // Before the leader's access: for each twin, is T well defined and
  // injective on the L1 sets the access touches? (fast_path.h, point 2.)
  const Slot& s = slots_[warps_[wi].slot];
  const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(s.cta, in.buf);
  const uint32_t cls = in.buf == kAbsolute ? kAbsClass : s.gen * kMaxBufs + in.buf;
  uint64_t lines[64];
  uint32_t sectors[64];
  const uint32_t nl = coalesce(in, wi, mask, base, lines, sectors);
  const uint32_t assoc = l1_.assoc();
  for (size_t k = twins_.size(); k-- > 0;) {
    const Twin& tw = twins_[k];
    const int64_t dx = tw.of(cls);
    bool ok = true;
    // All lines of one instruction share a class, so their images are distinct.
    for (uint32_t i = 0; i < nl && ok; ++i) {
      const uint64_t img = lines[i] + uint64_t(dx);
      const L1Cache::Line* set = l1_.set_lines(lines[i]);
      for (uint32_t w = 0; w < assoc && ok; ++w) {
        const L1Cache::Line& p = set[w];
        if (!p.valid) continue;
        if (p.tag == lines[i]) ok = tw.of(p.cls) == dx;
        else ok = p.tag + uint64_t(tw.of(p.cls)) != img;
      }
    }
    if (!ok) split_twin(k, true);
  }
}

SmCore::Twin SmCore::detach_twin(size_t i) {
  Twin tw = std::move(twins_[i]);
  twins_.erase(twins_.begin() + static_cast<std::ptrdiff_t>(i));
  tw.sm->leader_ = nullptr;
  return tw;
}

void SmCore::split_twin(size_t i, bool mid_quantum) {
  const Twin tw = twins_[i];
  twins_.erase(twins_.begin() + static_cast<std::ptrdiff_t>(i));
  tw.sm->become_copy(*this, tw);
  if (mid_quantum) {
    tw.sm->resume_ = true;
    split_now_.push_back(tw.sm);
  }
}

void SmCore::become_copy(const SmCore& L, const Twin& map) {
  // T(S_leader): the leader's state with this SM's identity, CTA ids and
  // translated line addresses.
  std::vector<uint32_t> ctas(slots_.size());
  for (size_t s = 0; s < slots_.size(); ++s) ctas[s] = slots_[s].cta;
  const uint32_t id = id_;
  geo_ = L.geo_;
  kernel_ = L.kernel_;
  dec_ = L.dec_;
  code_ = L.code_;
  frag_off_ = L.frag_off_;
  values_ = L.values_;
  regs_per_thread_ = L.regs_per_thread_;
  now_ = L.now_;
  age_ = L.age_;
  mio_free_ = L.mio_free_;
  issue_cycle_ = L.issue_cycle_;
  resident_ = L.resident_;
  seq_ = L.seq_;
  last_retire_ = L.last_retire_;
  warps_ = L.warps_;
  slots_ = L.slots_;
  subs_ = L.subs_;
  rf_ = L.rf_;
  smem_ = L.smem_;
  l1_ = L.l1_;
  recs_ = L.recs_;
  free_recs_ = L.free_recs_;
  reqs_ = L.reqs_;
  finished_ = L.finished_;
  ctr_ = L.ctr_;
  gen_ = L.gen_;
  inherited_insts_ = ctr_[Ctr::warp_insts];
  for (size_t s = 0; s < slots_.size(); ++s) slots_[s].cta = ctas[s];
  l1_.retag([&](uint32_t cls) { return map.of(cls); });
  for (MemReq& r : reqs_) {
    r.line += uint64_t(map.of(r.cls));
    r.sm = id;
  }
  twins_.clear();
  leader_ = nullptr;
  split_now_.clear();
  resume_ = false;
}

void SmCore::run_functional(uint32_t cta) {
  start_cta(0, cta, 0);
  const uint32_t nw = geo_->warps_per_cta;
  while (slots_[0].busy) {
    bool progress = false;
    for (uint32_t wi = 0; wi < nw; ++wi) {
      while (warps_[wi].live && !warps_[wi].at_bar) {
        exec_functional(wi);
        progress = true;
      }
    }
    if (!progress) throw InternalError(kernel_->name + ": CTA deadlocks at a barrier");
  }
  finished_.clear();
}

void SmCore::exec_functional(uint32_t wi) {
  Warp& w = warps_[wi];
  const int32_t pc = w.stack.back().pc;
  const Instr& in = kernel_->code[pc];
  uint32_t gmask = w.pred[in.guard];
  if (in.guard_neg) gmask = ~gmask;
  const uint32_t mask = w.stack.back().mask & gmask;
  switch (unit_of(in.op)) {
    case Unit::int32: case Unit::fp32: case Unit::fp64: case Unit::sfu:
      exec_alu(in, wi, mask);
      advance(w);
      break;
    case Unit::tensor: {
      uint32_t* regs[256];
      for (uint32_t r = 0; r < regs_per_thread_; ++r) regs[r] = reg(wi, static_cast<uint8_t>(r));
      mma_->step(in, regs);
      advance(w);
      break;
    }
    case Unit::ldst:
      if (in.op == Op::lds || in.op == Op::sts || in.op == Op::ldsm) {
        exec_shared(in, wi, mask, 0);
      } else if (in.op == Op::ldgsts) {
        cp_copy_values(in, wi, mask);
      } else {
        const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(slots_[w.slot].cta, in.buf);
        for (uint32_t l = 0; l < 32; ++l) {
          if (!(mask >> l & 1)) continue;
          const uint64_t a = lane_addr(in, wi, l, base);
          if (a % in.width != 0)
            throw InternalError(kernel_->name + ": misaligned global access at " + std::to_string(a));
          global_copy(in, wi, l, a);
        }
      }
      advance(w);
      break;
    case Unit::branch:
      if (in.op == Op::bra) {
        exec_branch(in, w, mask);
      } else if (in.op == Op::bar) {
        advance(w);
        exec_bar(wi, 0);
      } else {
        w.pending = 0;
        exec_exit(w, mask, 0);
      }
      break;
    case Unit::none:
      advance(w);
      break;
  }
}

}  // namespace xpu::gpu
