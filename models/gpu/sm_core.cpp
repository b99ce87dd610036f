#include "models/gpu/sm_core.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "models/gpu/fragment.h"
#include "models/gpu/tensor_core.h"

namespace xpu::gpu {

namespace {

constexpr uint16_t kPredBase = 256;
// The MIO queue in front of the SM's shared-memory/L1 data path holds about
// four 128-bit warp accesses (16 cycles of data path); an LD/ST instruction
// does not issue while more is queued (Volta's "MIO throttle" stall).
constexpr uint64_t kMioQueueCycles = 16;

// SWAR popcount: the portable build has no POPCNT instruction.
inline uint32_t popc(uint32_t x) {
  if (x == ~0u) return 32;  // full warps: the common case
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}
inline float f32(uint32_t u) { return bits_to_float(u); }
inline uint32_t u32(float f) { return float_to_bits(f); }

bool compare(Cmp c, int64_t a, int64_t b) {
  switch (c) {
    case Cmp::lt: return a < b;
    case Cmp::le: return a <= b;
    case Cmp::eq: return a == b;
    case Cmp::ne: return a != b;
    case Cmp::ge: return a >= b;
    case Cmp::gt: return a > b;
  }
  return false;
}
bool comparef(Cmp c, float a, float b) {
  switch (c) {
    case Cmp::lt: return a < b;
    case Cmp::le: return a <= b;
    case Cmp::eq: return a == b;
    case Cmp::ne: return a != b;
    case Cmp::ge: return a >= b;
    case Cmp::gt: return a > b;
  }
  return false;
}

}  // namespace

const char* stall_name(Stall s) {
  static const char* const names[] = {"memory_dependency", "execution_dependency", "pipe_busy", "tensor_busy",
                                      "mio_throttle",      "barrier",              "branch",    "idle"};
  return names[static_cast<int>(s)];
}

SmCore::SmCore(const GpuConfig& cfg, uint32_t id, GlobalMemory* gmem) : cfg_(cfg), id_(id), gmem_(gmem) {
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
  rf_.assign(size_t(nwarps) * regs_per_thread_ * 32, 0);
  smem_memo_.assign(kernel_->code.size(), SmemMemo{});
  smem_lane_memo_.assign(kernel_->code.size(), SmemLaneMemo{});
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

uint32_t SmCore::new_record() {
  if (!free_recs_.empty()) {
    const uint32_t r = free_recs_.back();
    free_recs_.pop_back();
    return r;
  }
  recs_.emplace_back();
  return static_cast<uint32_t>(recs_.size() - 1);
}

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
    if (d.exit && w.pending > 0) {
      w.cached_ready = kNever;
      w.cached_why = Stall::memory_dependency;
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
  if (!twins_.empty() && (in.op == Op::ldg || in.op == Op::stg)) split_check(in, wi, mask);

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
        hmma_step(in, regs);
      }
      set_ready(d.dst_first, d.dst_count, ready, false);
      advance(w);
      break;
    }
    case Unit::ldst: {
      ctr_[Ctr::inst_ldst] += 1;
      if (in.op == Op::lds || in.op == Op::sts) {
        const uint64_t done = exec_shared(in, wi, mask, t);
        if (in.op == Op::lds) set_ready(in.dst, in.width / 4, done, true);
      } else {
        const uint64_t done = exec_global(in, wi, mask, t);
        if (in.op == Op::ldg) set_ready(in.dst, in.width / 4, done, true);
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

void SmCore::exec_alu(const Instr& in, uint32_t wi, uint32_t mask) {
  Warp& w = warps_[wi];
  const uint32_t* A = reg(wi, in.a);
  const uint32_t* B = in.b_imm ? nullptr : reg(wi, in.b);
  const uint32_t* C = reg(wi, in.c);
  const uint32_t imm = static_cast<uint32_t>(in.imm);
  auto bv = [&](uint32_t l) { return B ? B[l] : imm; };
  const Unit u = unit_of(in.op);
  // Float math only matters for values; integer math also drives addresses
  // and loop counters, so it always runs.
  if (!values_ && (u == Unit::fp32 || u == Unit::fp64 || u == Unit::sfu) && in.op != Op::fsetp) return;
  if (in.op == Op::isetp || in.op == Op::fsetp) {
    uint32_t bits = 0;
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      const bool r = in.op == Op::isetp
                         ? compare(in.cmp, int64_t(int32_t(A[l])), int64_t(int32_t(bv(l))))
                         : (values_ && comparef(in.cmp, f32(A[l]), f32(bv(l))));
      bits |= uint32_t(r) << l;
    }
    w.pred[in.dst] = (w.pred[in.dst] & ~mask) | bits;
    return;
  }
  uint32_t* D = wreg(wi, in.dst);
  for (uint32_t l = 0; l < 32; ++l) {
    if (!(mask >> l & 1)) continue;
    const uint32_t a = A[l], b = bv(l);
    uint32_t r = 0;
    switch (in.op) {
      case Op::mov: r = in.b_imm ? imm : a; break;
      case Op::iadd: r = a + b; break;
      case Op::isub: r = a - b; break;
      case Op::imul: r = a * b; break;
      case Op::imad: r = a * b + C[l]; break;
      case Op::shl: r = b >= 32 ? 0 : a << b; break;
      case Op::shr: r = b >= 32 ? 0 : a >> b; break;
      case Op::and_: r = a & b; break;
      case Op::or_: r = a | b; break;
      case Op::xor_: r = a ^ b; break;
      case Op::imin: r = uint32_t(std::min(int32_t(a), int32_t(b))); break;
      case Op::imax: r = uint32_t(std::max(int32_t(a), int32_t(b))); break;
      case Op::sel: r = (w.pred[in.c] >> l & 1) ? a : b; break;
      case Op::s2r: {
        const Slot& s = slots_[w.slot];
        switch (in.sreg) {
          case Special::tid: r = w.index * 32 + l; break;
          case Special::ntid: r = geo_->launch->threads; break;
          case Special::ctaid: r = s.cta; break;
          case Special::nctaid: r = geo_->launch->ctas; break;
          case Special::laneid: r = l; break;
          case Special::warpid: r = w.index; break;
          case Special::clock: r = static_cast<uint32_t>(issue_cycle_); break;
        }
        break;
      }
      case Op::fadd: r = u32(add_fp32(f32(a), f32(b))); break;
      case Op::fmul: r = u32(mul_fp32(f32(a), f32(b))); break;
      // Volta's FFMA is IEEE fused: one rounding (std::fma is exact-then-round).
      case Op::ffma: r = u32(std::fma(f32(a), f32(b), f32(C[l]))); break;
      case Op::fmax: r = u32(std::fmax(f32(a), f32(b))); break;
      case Op::f2h: r = fp16::from_float(f32(a)).bits; break;
      case Op::h2f: r = u32(fp16::from_bits(static_cast<uint16_t>(a)).to_float()); break;
      case Op::dadd: r = u32(float(double(f32(a)) + double(f32(b)))); break;
      // SFU results are correctly rounded host results, not bit-matched to MUFU's approximations.
      case Op::ex2: r = u32(std::exp2(f32(a))); break;
      case Op::rcp: r = u32(1.0f / f32(a)); break;
      case Op::rsq: r = u32(1.0f / std::sqrt(f32(a))); break;
      default: break;
    }
    D[l] = r;
  }
}

uint64_t SmCore::lane_addr(const Instr& in, uint32_t wi, uint32_t lane, uint64_t base) const {
  const uint32_t* A = in.a == kRZ ? zero_.data() : &rf_[(size_t(wi) * regs_per_thread_ + in.a) * 32];
  uint64_t addr = base + A[lane] + int64_t(in.imm);
  if (in.frag >= 0) addr += frag_off_[pc_of(in)][lane];
  return addr;
}

uint64_t SmCore::exec_shared(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t) {
  const Slot& s = slots_[warps_[wi].slot];
  const uint32_t width = in.width;
  const uint32_t words = width / 4;
  // Volta serves 128 bytes per cycle: a warp's 4-, 8- and 16-byte accesses
  // are split into 1, 2 or 4 phases of 32/16/8 threads; within a phase,
  // distinct words in one bank serialise (same word: broadcast).
  const uint32_t lanes_per_phase = 32 / words;
  uint64_t wavefronts = 0, phases = 0;
  uint32_t addrs[32];
  const uint32_t banks = cfg_.shared.banks, bank_bytes = cfg_.shared.bank_bytes;
  const bool p2 = (width & (width - 1)) == 0;  // 4, 8 or 16 in practice: no division
  auto bad = [&](uint64_t a) {
    throw std::runtime_error(kernel_->name + ": shared access at " + std::to_string(a) + " (width " +
                             std::to_string(width) + ") misaligned or outside the CTA's " +
                             std::to_string(geo_->smem_per_cta) + " bytes");
  };
  // Memo: when the address register is warp-uniform, lane addresses are
  // base + a fixed per-lane pattern (immediate and fragment offsets), so
  // conflicts depend only on the mask and the base mod (banks x bank_bytes)
  // (translation by whole bank rows keeps every word's bank and every
  // equality), and the bounds check reduces to the pattern's extremes.
  bool uniform = mask != 0;
  uint32_t key = 0;
  uint64_t a_first = 0;
  const uint32_t first = mask ? static_cast<uint32_t>(__builtin_ctz(mask)) : 0;
  if (uniform && in.a != kRZ) {
    const uint32_t* A = reg(wi, in.a);
    const uint32_t a0 = A[first];
    for (uint32_t l = 0; l < 32 && uniform; ++l) uniform = !(mask >> l & 1) || A[l] == a0;
  }
  SmemMemo* memo = nullptr;
  const uint32_t row = banks * bank_bytes;  // a power of two (config): no division
  auto key_of = [&](uint64_t a) {
    return static_cast<uint32_t>((row & (row - 1)) == 0 ? a & (row - 1) : a % row);
  };
  if (uniform) {
    a_first = lane_addr(in, wi, first, 0);
    key = key_of(a_first);
    memo = &smem_memo_[pc_of(in)];
  }
  const bool memo_hit = memo && memo->valid && memo->mask == mask && memo->key == key;
  if (memo_hit) {
    wavefronts = memo->wavefronts;
    phases = memo->phases;
    // Same alignment as when memoised (key); bounds from the extremes.
    if (a_first + memo->lo > a_first || a_first + memo->hi + width > geo_->smem_per_cta) bad(a_first);
    if (values_)
      for (uint32_t l = 0; l < 32; ++l)
        if (mask >> l & 1) addrs[l] = static_cast<uint32_t>(lane_addr(in, wi, l, 0));
  } else {
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      const uint64_t a = lane_addr(in, wi, l, 0);
      if ((p2 ? a & (width - 1) : a % width) != 0 || a + width > geo_->smem_per_cta) bad(a);
      addrs[l] = static_cast<uint32_t>(a);
    }
  }
  // Per-thread addresses (e.g. each thread storing its own staging
  // elements): the same translation argument holds for a whole lane
  // pattern -- conflicts depend only on the mask, the first lane's address
  // mod the bank row and every lane's offset from it -- so the last pattern
  // per pc is memoised too (bounds were checked per lane just above).
  SmemLaneMemo* lmemo = nullptr;
  bool lane_hit = false;
  if (!uniform && mask != 0) {
    a_first = addrs[first];
    key = key_of(a_first);
    lmemo = &smem_lane_memo_[pc_of(in)];
    lane_hit = lmemo->valid && lmemo->mask == mask && lmemo->key == key;
    for (uint32_t l = first; l < 32 && lane_hit; ++l)
      lane_hit = !(mask >> l & 1) || int64_t(addrs[l]) - int64_t(a_first) == lmemo->delta[l];
    if (lane_hit) {
      wavefronts = lmemo->wavefronts;
      phases = lmemo->phases;
    }
  }
  // Per phase: the most distinct words in
  // one bank is the phase's number of wavefronts.
  const uint32_t wpl = width / bank_bytes;
  for (uint32_t p = 0; p < 32 / lanes_per_phase && !memo_hit && !lane_hit; ++p) {
    const bool any = ((mask >> (p * lanes_per_phase)) & (lanes_per_phase >= 32 ? ~0u : (1u << lanes_per_phase) - 1)) != 0;
    if (!any) continue;
    ++phases;
    // Distinct words per bank: the bank's first word by epoch stamp (no
    // clearing), further distinct words in a short overflow list.
    if (++bank_epoch_ == 0) {
      std::fill(std::begin(bank_stamp_), std::end(bank_stamp_), 0u);
      bank_epoch_ = 1;
    }
    uint32_t ov[128];
    uint32_t nov = 0, worst = 0;
    for (uint32_t l = p * lanes_per_phase; l < (p + 1) * lanes_per_phase; ++l) {
      if (!(mask >> l & 1)) continue;
      const uint32_t w0 = addrs[l] / bank_bytes;
      for (uint32_t k = 0; k < wpl; ++k) {
        const uint32_t w = w0 + k, b = w & (banks - 1);  // banks: a power of two (config)
        if (bank_stamp_[b] != bank_epoch_) {
          bank_stamp_[b] = bank_epoch_;
          bank_first_[b] = w;
          bank_count_[b] = 1;
          worst = std::max(worst, 1u);
          continue;
        }
        if (bank_first_[b] == w) continue;
        bool dup = false;
        for (uint32_t i = 0; i < nov && !dup; ++i) dup = ov[i] == w;
        if (dup) continue;
        ov[nov++] = w;
        worst = std::max(worst, ++bank_count_[b]);
      }
    }
    wavefronts += worst;
  }
  if (memo && !memo_hit) {
    *memo = SmemMemo{true, mask, key, static_cast<uint32_t>(wavefronts), static_cast<uint32_t>(phases), 0, 0};
    for (uint32_t l = 0; l < 32; ++l)
      if (mask >> l & 1) {
        const int64_t d = int64_t(addrs[l]) - int64_t(a_first);
        memo->lo = std::min(memo->lo, d);
        memo->hi = std::max(memo->hi, d);
      }
  }
  if (lmemo && !lane_hit) {
    lmemo->valid = true;
    lmemo->mask = mask;
    lmemo->key = key;
    lmemo->wavefronts = static_cast<uint32_t>(wavefronts);
    lmemo->phases = static_cast<uint32_t>(phases);
    for (uint32_t l = 0; l < 32; ++l)
      lmemo->delta[l] = (mask >> l & 1) ? static_cast<int32_t>(int64_t(addrs[l]) - int64_t(a_first)) : 0;
  }
  ctr_[Ctr::smem_accesses] += 1;
  ctr_[Ctr::smem_wavefronts] += wavefronts;
  ctr_[Ctr::smem_bank_conflicts] += wavefronts - phases;
  ctr_[in.op == Op::lds ? Ctr::smem_read_bytes : Ctr::smem_write_bytes] += uint64_t(popc(mask)) * width;
  const uint64_t start = std::max(t, mio_free_);
  mio_free_ = start + wavefronts;
  if (values_) {
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      uint8_t* p = &smem_[s.smem_base + addrs[l]];
      for (uint32_t k = 0; k < words; ++k) {
        if (in.op == Op::lds) std::memcpy(&wreg(wi, static_cast<uint8_t>(in.dst + k))[l], p + 4 * k, 4);
        else std::memcpy(p + 4 * k, &reg(wi, static_cast<uint8_t>(in.c + k))[l], 4);
      }
    }
  }
  return start + cfg_.shared.latency + (wavefronts ? wavefronts - 1 : 0);
}

uint32_t SmCore::coalesce(const Instr& in, uint32_t wi, uint32_t mask, uint64_t base, uint64_t* lines,
                          uint32_t* sectors) {
  const uint32_t width = in.width;
  const uint32_t lb = cfg_.l1.line_bytes, sb = cfg_.l1.sector_bytes;
  // The config loader requires powers of two: shifts, not 64-bit divisions
  // (four per lane were a visible share of the host time).
  const bool p2 = (lb & (lb - 1)) == 0 && (sb & (sb - 1)) == 0 && (width & (width - 1)) == 0;
  const uint32_t ls = static_cast<uint32_t>(__builtin_ctz(lb)), ss = static_cast<uint32_t>(__builtin_ctz(sb));
  uint32_t nl = 0;
  for (uint32_t l = 0; l < 32; ++l) {
    if (!(mask >> l & 1)) continue;
    const uint64_t a = lane_addr(in, wi, l, base);
    if (p2 ? (a & (width - 1)) != 0 : a % width != 0)
      throw std::runtime_error(kernel_->name + ": misaligned global access at " + std::to_string(a));
    uint64_t line;
    uint32_t first, last;
    if (p2) {
      line = a >> ls;
      const uint32_t off = static_cast<uint32_t>(a & (lb - 1));
      first = off >> ss;
      last = (off + width - 1) >> ss;
    } else {
      line = a / lb;
      first = static_cast<uint32_t>((a % lb) / sb);
      last = static_cast<uint32_t>((a % lb + width - 1) / sb);
    }
    uint32_t m = 0;
    for (uint32_t k = first; k <= last; ++k) m |= 1u << k;
    uint32_t i = 0;
    while (i < nl && lines[i] != line) ++i;
    if (i == nl) {
      lines[nl] = line;
      sectors[nl++] = 0;
    }
    sectors[i] |= m;
  }
  return nl;
}

uint64_t SmCore::exec_global(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t) {
  Warp& w = warps_[wi];
  const Slot& s = slots_[w.slot];
  const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(s.cta, in.buf);
  const uint32_t words = in.width / 4;
  const uint32_t sb = cfg_.l1.sector_bytes;
  const uint32_t cls = in.buf == kAbsolute ? kAbsClass : s.gen * kMaxBufs + in.buf;
  // Coalesce the warp's accesses into lines with sector masks.
  uint64_t lines[64];
  uint32_t sectors[64];
  const uint32_t nl = coalesce(in, wi, mask, base, lines, sectors);
  if (values_) {
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      const uint64_t a = lane_addr(in, wi, l, base);
      for (uint32_t k = 0; k < words; ++k) {
        if (in.op == Op::ldg) gmem_->read(a + 4 * k, &wreg(wi, static_cast<uint8_t>(in.dst + k))[l], 4);
        else gmem_->write(a + 4 * k, &reg(wi, static_cast<uint8_t>(in.c + k))[l], 4);
      }
    }
  }
  // The L1/shared data path moves one line's sectors per cycle.
  const uint64_t start = std::max(t, mio_free_);
  mio_free_ = start + nl;
  if (in.op == Op::stg) {
    for (uint32_t i = 0; i < nl; ++i) {
      l1_.store(lines[i], sectors[i]);
      ctr_[Ctr::gmem_write_bytes] += uint64_t(popc(sectors[i])) * sb;
      MemReq r;
      r.time = t;
      r.line = lines[i];
      r.sectors = sectors[i];
      r.sm = id_;
      r.seq = seq_++;
      r.cls = cls;
      r.write = true;
      reqs_.push_back(r);
    }
    return t;
  }
  const uint32_t rec = new_record();
  Pending& p = recs_[rec];
  p = Pending{};
  p.warp = wi;
  p.dst = in.dst;
  p.nregs = static_cast<uint8_t>(words);
  p.done = start + cfg_.l1.latency + (nl ? nl - 1 : 0);
  for (uint32_t i = 0; i < nl; ++i) {
    ctr_[Ctr::l1_read_bytes] += uint64_t(popc(sectors[i])) * sb;
    const L1Cache::Result res = l1_.load(lines[i], sectors[i], t, cls);
    if (res.outcome == L1Cache::Outcome::hit) {
      ctr_[Ctr::l1_hits] += 1;
      p.done = std::max(p.done, l1_.line(res.line).ready);
      continue;
    }
    ++p.outstanding;
    if (res.outcome == L1Cache::Outcome::hit_pending) {
      ctr_[Ctr::l1_hits] += 1;
      l1_.line(res.line).waiters.push_back(rec);
      continue;
    }
    ctr_[Ctr::l1_misses] += 1;
    if (res.line != ~0u) l1_.line(res.line).waiters.push_back(rec);
    MemReq r;
    r.time = t;
    r.line = lines[i];
    r.sectors = res.missing;
    r.sm = id_;
    r.l1_line = res.line;
    r.rec = rec;
    r.seq = seq_++;
    r.cls = cls;
    reqs_.push_back(r);
  }
  if (p.outstanding == 0) {
    const uint64_t done = p.done;
    free_recs_.push_back(rec);
    return done;
  }
  ++w.pending;
  return kNever;
}

void SmCore::complete(uint32_t rec, uint64_t t) {
  Pending& p = recs_[rec];
  p.done = std::max(p.done, t);
  if (--p.outstanding != 0) return;
  Warp& w = warps_[p.warp];
  for (uint32_t i = 0; i < p.nregs; ++i) {
    if (p.dst + i == kRZ) break;
    w.sb[p.dst + i] = p.done << 1 | 1;
  }
  --w.pending;
  w.cached_pc = -1;
  w.lb = 0;
  free_recs_.push_back(rec);
}

void SmCore::respond(const MemReq& r) {
  if (r.write) return;
  if (r.l1_line == ~0u) {
    complete(r.rec, r.done);
    return;
  }
  if (!l1_.fill(r.l1_line, r.done)) return;
  // complete() touches no L1 line; clearing in place keeps the capacity
  // (a swap-out cost a heap allocation per miss).
  L1Cache::Line& line = l1_.line(r.l1_line);
  for (uint32_t rec : line.waiters) complete(rec, line.ready);
  line.waiters.clear();
}

// ---- Fast path (fast_path.h) ----

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
    if (!progress) throw std::runtime_error(kernel_->name + ": CTA deadlocks at a barrier");
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
      hmma_step(in, regs);
      advance(w);
      break;
    }
    case Unit::ldst:
      if (in.op == Op::lds || in.op == Op::sts) {
        exec_shared(in, wi, mask, 0);
      } else {
        const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(slots_[w.slot].cta, in.buf);
        for (uint32_t l = 0; l < 32; ++l) {
          if (!(mask >> l & 1)) continue;
          const uint64_t a = lane_addr(in, wi, l, base);
          if (a % in.width != 0)
            throw std::runtime_error(kernel_->name + ": misaligned global access at " + std::to_string(a));
          for (uint32_t k = 0; k < in.width / 4u; ++k) {
            if (in.op == Op::ldg) gmem_->read(a + 4 * k, &wreg(wi, static_cast<uint8_t>(in.dst + k))[l], 4);
            else gmem_->write(a + 4 * k, &reg(wi, static_cast<uint8_t>(in.c + k))[l], 4);
          }
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
