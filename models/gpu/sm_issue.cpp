// SmCore: warp scheduling (GTO / loose round-robin), issue with the
// scoreboard, pipes and MIO throttle, and control flow (SIMT stack, exit,
// barriers).
#include <algorithm>

#include "models/gpu/popc.h"
#include "models/gpu/sm_core.h"

namespace xpu::gpu {

namespace {

constexpr uint16_t kPredBase = 256;
// The MIO queue in front of the SM's shared-memory/L1 data path holds about
// four 128-bit warp accesses (16 cycles of data path); an LD/ST instruction
// does not issue while more is queued (Volta's "MIO throttle" stall).
constexpr uint64_t kMioQueueCycles = 16;

}  // namespace

inline uint64_t SmCore::earliest(uint32_t wi, uint64_t, SubCore& sc, Stall& why) {
  Warp& w = warps_[wi];
  if (w.at_bar) {
    why = Stall::barrier;
    return kNever;
  }
  const int32_t pc = w.stack.back().pc;
  const Decoded& d = dec_[pc];
  if (w.cached_pc != pc) {
    // Branch-free maximum of the operands' packed ready cycles (two
    // chains); the stall cause -- the first operand with the latest ready
    // cycle -- only when it is asked for.
    uint64_t m0 = 0, m1 = 0;
    const uint16_t* regs = d.regs.data();
    uint32_t i = 0;
    for (; i + 1 < d.nregs; i += 2) {
      m0 = std::max(m0, w.sb[regs[i]]);
      m1 = std::max(m1, w.sb[regs[i + 1]]);
    }
    if (i < d.nregs) m0 = std::max(m0, w.sb[regs[i]]);
    w.cached_ready = std::max(m0, m1) >> 1;
    w.cached_why = Stall::count;  // not yet known
    if (d.ctl == kCtlExit && w.pending > 0) {
      w.cached_ready = kNever;
      w.cached_why = Stall::memory_dependency;
    } else if (d.ctl == kCtlCpWait) {
      // cp.async.wait_group: every group but the newest imm complete.
      const uint64_t r = cp_wait_ready(w, static_cast<uint32_t>(code_[pc].imm));
      if (r > w.cached_ready) {
        w.cached_ready = r;
        w.cached_why = Stall::memory_dependency;
      }
    }
    w.cached_pc = pc;
  }
  uint64_t e = w.next_issue;
  why = Stall::branch;
  if (w.cached_ready > e) {
    e = w.cached_ready;
    if (w.cached_why == Stall::count) {
      uint32_t i = 0;
      while (i + 1 < d.nregs && (w.sb[d.regs[i]] >> 1) != e) ++i;
      w.cached_why = (w.sb[d.regs[i]] & 1) ? Stall::memory_dependency : Stall::execution_dependency;
    }
    why = w.cached_why;
  }
  if (e >= kNever) return kNever;
  const uint64_t u = sc.unit_free[static_cast<int>(d.unit)];
  if (u > e) {
    e = u;
    why = d.unit == Unit::tensor ? Stall::tensor_busy : Stall::pipe_busy;
  }
  if (d.unit == Unit::ldst && mio_free_ > e + kMioQueueCycles) {
    e = mio_free_ - kMioQueueCycles;
    why = Stall::mio_throttle;
  }
  return e;
}

void SmCore::try_issue(uint32_t s, uint64_t t, uint64_t end) {
  SubCore& sc = subs_[s];
  const size_t n = sc.warps.size();
  uint64_t best = kNever;
  Stall why_first = Stall::idle;
  bool have_why = false;
  auto consider = [&](size_t k) -> bool {
    const uint32_t wi = sc.warps[k];
    Warp& w = warps_[wi];
    if (!w.live) return false;
    Stall why;
    uint64_t e;
    if (w.lb > t) {
      e = w.lb;
      why = w.lb_why;
    } else {
      e = earliest(wi, t, sc, why);
      w.lb = e;
      w.lb_why = why;
    }
    if (e <= t) {
      issue(wi, s, t);
      sc.last = static_cast<int>(k);
      return true;
    }
    if (!have_why) {
      why_first = why;  // the stall of the warp the policy prefers
      have_why = true;
    }
    best = std::min(best, e);
    return false;
  };
  bool issued = false;
  if (cfg_.sub_core.scheduler == SchedPolicy::gto) {
    // Greedy: stay on the last warp while it can issue; then oldest first.
    if (sc.last >= 0 && consider(size_t(sc.last))) issued = true;
    for (size_t k = 0; !issued && k < n; ++k)
      if (int(k) != sc.last && consider(k)) issued = true;
  } else {
    // Loose round-robin: start after the last issuer.
    const size_t start = sc.last < 0 ? 0 : size_t(sc.last + 1);
    for (size_t i = 0; !issued && i < n; ++i)
      if (consider((start + i) % n)) issued = true;
  }
  if (issued) return;
  sc.next = best;
  const uint64_t until = std::min(best, end);
  ctr_.stall[static_cast<int>(why_first)] += until - t;
}

void SmCore::trim_idle_after(uint64_t end) {
  if (now_ <= end) return;
  uint64_t& idle = ctr_.stall[static_cast<int>(Stall::idle)];
  idle -= std::min<uint64_t>(idle, (now_ - end) * subs_.size());
}

void SmCore::run_until(uint64_t end) {
  // Responses may have arrived at the barrier: look at every sub-core again
  // (not when resuming a split inside a cycle: sub-cores already done with
  // the cycle must not issue in it twice).
  if (!resume_)
    for (auto& sc : subs_) sc.next = std::min(sc.next, now_);
  resume_ = false;
  while (now_ < end) {
    const uint64_t t = now_;
    uint64_t next = kNever;
    for (uint32_t s = 0; s < subs_.size(); ++s) {
      SubCore& sc = subs_[s];
      if (sc.next <= t) try_issue(s, t, end);
      next = std::min(next, sc.next);
    }
    now_ = next <= t ? t + 1 : std::min(next, end);
  }
}

void SmCore::issue(uint32_t wi, uint32_t s, uint64_t t) {
  Warp& w = warps_[wi];
  SubCore& sc = subs_[s];
  const int32_t pc = w.stack.back().pc;
  const Instr& in = code_[pc];
  const Decoded& d = dec_[pc];
  const uint32_t active = w.stack.back().mask;
  uint32_t gmask = w.pred[d.guard];
  if (d.guard_neg) gmask = ~gmask;
  const uint32_t mask = active & gmask;
  if (!twins_.empty() && (in.op == Op::ldg || in.op == Op::stg || in.op == Op::ldgsts)) split_check(in, wi, mask);

  issue_cycle_ = t;
  w.cached_pc = -1;
  w.lb = 0;
  ctr_[Ctr::warp_insts] += 1;
  ctr_[Ctr::thread_insts] += popc(mask);
  ctr_[Ctr::issue_cycles] += 1;
  sc.next = t + 1 + d.bank_extra;
  w.next_issue = t + 1;
  ctr_[Ctr::rf_bank_conflicts] += d.bank_extra;
  sc.unit_free[static_cast<int>(d.unit)] = t + d.issue + d.bank_extra;
  if (d.unit != Unit::tensor) {
    ctr_[Ctr::rf_reads] += uint64_t(d.rf_reads) * popc(mask);
    ctr_[Ctr::rf_writes] += uint64_t(d.rf_writes) * popc(mask);
  } else {
    ctr_[Ctr::rf_reads] += d.rf_reads;
    ctr_[Ctr::rf_writes] += d.rf_writes;
  }

  const uint64_t ready = t + d.latency + d.bank_extra;
  auto set_ready = [&](uint8_t r, uint32_t count, uint64_t when, bool mem) {
    if (r == kRZ) return;
    for (uint32_t i = 0; i < count; ++i) w.sb[r + i] = when << 1 | uint64_t(mem);
  };

  switch (d.unit) {
    case Unit::int32:
    case Unit::fp32:
    case Unit::fp64:
    case Unit::sfu: {
      ctr_[d.unit == Unit::int32 ? Ctr::inst_int32
           : d.unit == Unit::fp32 ? Ctr::inst_fp32
           : d.unit == Unit::fp64 ? Ctr::inst_fp64
                                  : Ctr::inst_sfu] += 1;
      if (in.op == Op::ffma) {
        ctr_[Ctr::fp32_flops] += 2ull * popc(mask);
        ctr_[Ctr::fp32_adds] += popc(mask);
        ctr_[Ctr::fp32_mults] += popc(mask);
      } else if (in.op == Op::fadd || in.op == Op::fmul) {
        ctr_[Ctr::fp32_flops] += popc(mask);
        ctr_[in.op == Op::fadd ? Ctr::fp32_adds : Ctr::fp32_mults] += popc(mask);
      }
      exec_alu(in, wi, mask);
      if (in.op == Op::isetp || in.op == Op::fsetp) {
        w.sb[kPredBase + in.dst] = ready << 1;
      } else {
        set_ready(in.dst, 1, ready, false);
      }
      advance(w);
      break;
    }
    case Unit::tensor: {
      ctr_[Ctr::inst_tensor] += 1;
      ctr_[Ctr::hmma_steps] += 1;
      ctr_[d.mac_ctr] += uint64_t(1) << d.mac_log2;  // decoded: the Instr stays out of the host cache
      if (values_) {
        uint32_t* regs[256];
        for (uint32_t r = 0; r < regs_per_thread_; ++r) regs[r] = reg(wi, static_cast<uint8_t>(r));
        mma_->step(in, regs);
      }
      set_ready(d.dst_first, d.dst_count, ready, false);
      advance(w);
      break;
    }
    case Unit::ldst: {
      ctr_[Ctr::inst_ldst] += 1;
      if (in.op == Op::lds || in.op == Op::sts || in.op == Op::ldsm) {
        const uint64_t done = exec_shared(in, wi, mask, t);
        if (in.op == Op::lds) set_ready(in.dst, in.width / 4, done, true);
        if (in.op == Op::ldsm) set_ready(in.dst, in.ldsm_n, done, true);
      } else {
        const uint64_t done = exec_global(in, wi, mask, t);
        if (in.op == Op::ldg) set_ready(in.dst, mem_regs(in), done, true);
      }
      advance(w);
      break;
    }
    case Unit::branch: {
      ctr_[Ctr::inst_branch] += 1;
      if (in.op == Op::bra) {
        exec_branch(in, w, mask);
        w.next_issue = t + cfg_.sub_core.branch_latency;
      } else if (in.op == Op::bar) {
        advance(w);
        exec_bar(wi, t);
      } else {
        exec_exit(w, mask, t);
      }
      break;
    }
    case Unit::none:
      if (in.op == Op::cp_commit) cp_commit(w);
      advance(w);
      break;
  }
}

void SmCore::advance(Warp& w) {
  ++w.stack.back().pc;
  while (w.stack.size() > 1 && w.stack.back().pc == w.stack.back().rpc) w.stack.pop_back();
}

void SmCore::exec_branch(const Instr& in, Warp& w, uint32_t mask) {
  SimtEntry& top = w.stack.back();
  const uint32_t active = top.mask;
  const uint32_t taken = mask, fall = active & ~mask;
  const int32_t pc = top.pc;
  if (fall == 0) {
    top.pc = in.target;
  } else if (taken == 0) {
    top.pc = pc + 1;
  } else {
    // Diverge: the current entry waits at the reconvergence point; the
    // fall-through path runs after the taken one (PDOM stack order).
    ctr_[Ctr::divergent_branches] += 1;
    top.pc = in.reconv;
    w.stack.push_back(SimtEntry{pc + 1, in.reconv, fall});
    w.stack.push_back(SimtEntry{in.target, in.reconv, taken});
  }
  while (w.stack.size() > 1 && w.stack.back().pc == w.stack.back().rpc) w.stack.pop_back();
}

void SmCore::exec_exit(Warp& w, uint32_t mask, uint64_t t) {
  for (auto& e : w.stack) e.mask &= ~mask;
  if (w.stack.back().mask != 0) {
    advance(w);
    return;
  }
  while (!w.stack.empty() && w.stack.back().mask == 0) w.stack.pop_back();
  if (!w.stack.empty()) {
    while (w.stack.size() > 1 && w.stack.back().pc == w.stack.back().rpc) w.stack.pop_back();
    return;
  }
  // Whole warp done.
  w.live = false;
  Slot& s = slots_[w.slot];
  --s.live;
  if (s.live > 0 && s.at_bar == s.live) {
    // The others were only waiting for this warp at a barrier.
    exec_bar(~0u, t);
  }
  if (s.live == 0) {
    s.busy = false;
    --resident_;
    last_retire_ = t + 1;
    finished_.emplace_back(t + 1, w.slot);
  }
  (void)t;
}

void SmCore::exec_bar(uint32_t wi, uint64_t t) {
  uint32_t slot;
  if (wi != ~0u) {
    Warp& w = warps_[wi];
    w.at_bar = true;
    slot = w.slot;
    ++slots_[slot].at_bar;
    ctr_[Ctr::barriers] += 1;
  } else {
    // Re-check after a warp exited: find the slot with all live warps waiting.
    slot = ~0u;
    for (uint32_t s = 0; s < slots_.size(); ++s)
      if (slots_[s].busy && slots_[s].live > 0 && slots_[s].at_bar == slots_[s].live) slot = s;
    if (slot == ~0u) return;
  }
  Slot& s = slots_[slot];
  if (s.at_bar < s.live) return;
  s.at_bar = 0;
  const uint64_t go = t + cfg_.sim.barrier_latency;
  for (uint32_t i = 0; i < geo_->warps_per_cta; ++i) {
    Warp& w = warps_[slot * geo_->warps_per_cta + i];
    if (!w.live) continue;
    w.at_bar = false;
    w.next_issue = std::max(w.next_issue, go);
    w.lb = 0;
  }
  for (auto& sc : subs_) sc.next = std::min(sc.next, go);
}

}  // namespace xpu::gpu
