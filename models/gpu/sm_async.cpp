// SmCore: Ampere's asynchronous copies and matrix loads.
//
// cp.async (Op::ldgsts): a global load through the L1 whose data goes to
// shared memory instead of registers. Each copy belongs to the warp's open
// group; cp.async.commit_group (Op::cp_commit) closes it; cp.async.wait_group
// N (Op::cp_wait, imm = N) lets the warp issue only once every committed
// group but the newest N has landed. Timing follows the load's L1/L2/DRAM
// path; values are copied when the instruction issues, which equals the
// hardware's result for programs that read the destination only after the
// wait and a barrier (the CUDA contract; the fast path's functional pass
// relies on the same).
//
// ldmatrix (Op::ldsm): lanes 8i..8i+7 give the row addresses of 8x8 matrix i
// of 16-bit elements (16 bytes a row); lane l receives in register dst + i
// the 32-bit word (row l / 4, elements 2 (l % 4), +1) of matrix i, or with
// .trans the elements (rows 2 (l % 4) and 2 (l % 4) + 1, column l / 4).
#include <algorithm>
#include <cstring>
#include <string>

#include "models/gpu/sm_core.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

void SmCore::cp_commit(Warp& w) {
  w.cp_groups.push_back(w.cp_open);
  w.cp_open = Warp::CpGroup{};
  w.cp_open.id = w.cp_groups.back().id + 1;
  // Complete groups at the front only matter through their latest landing.
  while (!w.cp_groups.empty() && w.cp_groups.front().outstanding == 0) {
    w.cp_floor = std::max(w.cp_floor, w.cp_groups.front().done);
    w.cp_groups.erase(w.cp_groups.begin());
  }
}

uint64_t SmCore::cp_wait_ready(const Warp& w, uint32_t allowed) const {
  uint64_t ready = w.cp_floor;
  const size_t n = w.cp_groups.size();
  for (size_t i = 0; i + allowed < n; ++i) {
    if (w.cp_groups[i].outstanding > 0) return kNever;
    ready = std::max(ready, w.cp_groups[i].done);
  }
  return ready;
}

void SmCore::cp_complete(Warp& w, uint64_t group, uint64_t done) {
  Warp::CpGroup* g = w.cp_open.id == group ? &w.cp_open : nullptr;
  for (size_t i = 0; !g && i < w.cp_groups.size(); ++i)
    if (w.cp_groups[i].id == group) g = &w.cp_groups[i];
  if (!g || g->outstanding == 0) throw InternalError(kernel_->name + ": cp.async completion of an unknown group");
  --g->outstanding;
  g->done = std::max(g->done, done);
}

void SmCore::cp_copy_values(const Instr& in, uint32_t wi, uint32_t mask) {
  const Slot& s = slots_[warps_[wi].slot];
  const uint64_t base = in.buf == kAbsolute ? 0 : geo_->launch->base(s.cta, in.buf);
  const uint32_t* C = reg(wi, in.c);
  for (uint32_t l = 0; l < 32; ++l) {
    if (!(mask >> l & 1)) continue;
    const uint64_t src = lane_addr(in, wi, l, base);
    const uint64_t dst = uint64_t(C[l]) + int64_t(in.imm2);
    if (dst % in.width != 0 || dst + in.width > geo_->smem_per_cta)
      throw InternalError(kernel_->name + ": cp.async to shared address " + std::to_string(dst) +
                          " misaligned or outside the CTA's " + std::to_string(geo_->smem_per_cta) + " bytes");
    gmem_->read(src, &smem_[s.smem_base + dst], in.width);
  }
}

void SmCore::ldsm_values(const Instr& in, uint32_t wi, uint32_t smem_base, const uint32_t* addrs) {
  for (uint32_t i = 0; i < in.ldsm_n; ++i) {
    uint16_t m[8][8];  // matrix i, 16-bit elements
    for (uint32_t r = 0; r < 8; ++r) std::memcpy(m[r], &smem_[smem_base + addrs[8 * i + r]], 16);
    uint32_t* d = wreg(wi, static_cast<uint8_t>(in.dst + i));
    for (uint32_t l = 0; l < 32; ++l) {
      const uint32_t g = l / 4, t = l % 4;
      const uint16_t lo = in.ldsm_trans ? m[2 * t][g] : m[g][2 * t];
      const uint16_t hi = in.ldsm_trans ? m[2 * t + 1][g] : m[g][2 * t + 1];
      d[l] = uint32_t(lo) | uint32_t(hi) << 16;
    }
  }
}

}  // namespace xpu::gpu
