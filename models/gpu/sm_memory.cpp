// SmCore: the memory path -- lane addresses, shared memory with bank
// conflicts (memoised per pc), coalescing into L1 lines and sectors, global
// loads and stores through the L1, and the completion of load records when
// the memory system answers.
#include <algorithm>
#include <cstring>
#include <string>

#include "models/gpu/popc.h"
#include "models/gpu/sm_core.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

uint32_t SmCore::new_record() {
  if (!free_recs_.empty()) {
    const uint32_t r = free_recs_.back();
    free_recs_.pop_back();
    return r;
  }
  recs_.emplace_back();
  return static_cast<uint32_t>(recs_.size() - 1);
}

uint64_t SmCore::lane_addr(const Instr& in, uint32_t wi, uint32_t lane, uint64_t base) const {
  const uint32_t* A = in.a == kRZ ? zero_.data() : &rf_[(size_t(wi) * regs_per_thread_ + in.a) * 32];
  uint64_t addr = base + A[lane] + int64_t(in.imm);
  if (in.frag >= 0) addr += frag_off_[pc_of(in)][lane];
  return addr;
}

uint64_t SmCore::exec_shared(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t) {
  const Slot& s = slots_[warps_[wi].slot];
  // ldmatrix: lanes 8i..8i+7 give matrix i's row addresses, each row 16
  // bytes -- as an LDS.128 by those lanes (8 rows per 128-byte phase).
  const bool ldsm = in.op == Op::ldsm;
  if (ldsm) {
    const uint32_t need = in.ldsm_n >= 4 ? ~0u : (1u << (8 * in.ldsm_n)) - 1;
    if ((mask & need) != need) throw InternalError(kernel_->name + ": ldmatrix with inactive address lanes");
    mask = need;
  }
  const uint32_t width = ldsm ? 16 : in.width;
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
    throw InternalError(kernel_->name + ": shared access at " + std::to_string(a) + " (width " +
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
    memo = &smem_memo_[pc_of(in) & memo_mask_];
  }
  const bool memo_hit =
      memo && memo->epoch == memo_epoch_ && memo->pc == pc_of(in) && memo->mask == mask && memo->key == key;
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
    lmemo = &smem_lane_memo_[pc_of(in) & memo_mask_];
    lane_hit = lmemo->epoch == memo_epoch_ && lmemo->pc == pc_of(in) && lmemo->mask == mask && lmemo->key == key;
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
    *memo = SmemMemo{memo_epoch_, pc_of(in), mask, key, static_cast<uint32_t>(wavefronts), static_cast<uint32_t>(phases), 0, 0};
    for (uint32_t l = 0; l < 32; ++l)
      if (mask >> l & 1) {
        const int64_t d = int64_t(addrs[l]) - int64_t(a_first);
        memo->lo = std::min(memo->lo, d);
        memo->hi = std::max(memo->hi, d);
      }
  }
  if (lmemo && !lane_hit) {
    lmemo->epoch = memo_epoch_;
    lmemo->pc = pc_of(in);
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
  ctr_[in.op == Op::sts ? Ctr::smem_write_bytes : Ctr::smem_read_bytes] += uint64_t(popc(mask)) * width;
  const uint64_t start = std::max(t, mio_free_);
  mio_free_ = start + wavefronts;
  if (values_ && ldsm) {
    ldsm_values(in, wi, s.smem_base, addrs);
  } else if (values_) {
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
      throw InternalError(kernel_->name + ": misaligned global access at " + std::to_string(a));
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

void SmCore::global_copy(const Instr& in, uint32_t wi, uint32_t l, uint64_t a) {
  if (in.width < 4) {
    if (in.op == Op::ldg) {
      uint32_t v = 0;
      gmem_->read(a, &v, in.width);
      wreg(wi, in.dst)[l] = v;
    } else {
      gmem_->write(a, &reg(wi, in.c)[l], in.width);
    }
    return;
  }
  for (uint32_t k = 0; k < in.width / 4u; ++k) {
    if (in.op == Op::ldg) gmem_->read(a + 4 * k, &wreg(wi, static_cast<uint8_t>(in.dst + k))[l], 4);
    else gmem_->write(a + 4 * k, &reg(wi, static_cast<uint8_t>(in.c + k))[l], 4);
  }
}

uint64_t SmCore::exec_global(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t) {
  Warp& w = warps_[wi];
  const Slot& s = slots_[w.slot];
  const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(s.cta, in.buf);
  const uint32_t words = mem_regs(in);
  const uint32_t sb = cfg_.l1.sector_bytes;
  const uint32_t cls = in.buf == kAbsolute ? kAbsClass : s.gen * kMaxBufs + in.buf;
  // Coalesce the warp's accesses into lines with sector masks.
  uint64_t lines[64];
  uint32_t sectors[64];
  const uint32_t nl = coalesce(in, wi, mask, base, lines, sectors);
  if (in.op == Op::ldgsts) {
    if (values_) cp_copy_values(in, wi, mask);
  } else if (values_) {
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      global_copy(in, wi, l, lane_addr(in, wi, l, base));
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
  const bool cp = in.op == Op::ldgsts;
  if (cp) ctr_[Ctr::smem_write_bytes] += uint64_t(popc(mask)) * in.width;
  const uint32_t rec = new_record();
  Pending& p = recs_[rec];
  p = Pending{};
  p.warp = wi;
  p.dst = cp ? kRZ : in.dst;
  p.nregs = cp ? 0 : static_cast<uint8_t>(words);
  p.cp_group = cp ? w.cp_open.id : 0;
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
    if (cp) w.cp_open.done = std::max(w.cp_open.done, done);
    return done;
  }
  if (cp) ++w.cp_open.outstanding;
  ++w.pending;
  return kNever;
}

void SmCore::complete(uint32_t rec, uint64_t t) {
  Pending& p = recs_[rec];
  p.done = std::max(p.done, t);
  if (--p.outstanding != 0) return;
  Warp& w = warps_[p.warp];
  if (p.cp_group) cp_complete(w, p.cp_group, p.done);
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

}  // namespace xpu::gpu
