#include "sim/lowering/gpu/sm80_mainloop.h"

#include <algorithm>
#include <string>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

// Shared-memory geometry of one stage: A is bm rows of bk elements; B is bk
// rows of bn (row-major) or bn rows of bk (K-major); every row padded by 16
// bytes.
struct StageGeom {
  uint32_t sa, sb, a_bytes, bytes;
};
StageGeom stage_geom(const GemmTiling& t, DType in, bool kmaj) {
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(in));
  const uint32_t sa = t.bk * e + 16, sb = kmaj ? t.bk * e + 16 : t.bn * e + 16;
  const uint32_t a_bytes = t.bm * sa;
  return {sa, sb, a_bytes, a_bytes + (kmaj ? t.bn : t.bk) * sb};
}

}  // namespace

void DenseAsyncA::alloc(KernelBuilder& kb, uint32_t per_thread) {
  g_.resize(per_thread);
  for (auto& r : g_) r = kb.reg();
}
void DenseAsyncA::chunk(KernelBuilder& kb, uint32_t i, uint8_t row, uint8_t col) {
  kb.alui(Op::imul, g_[i], row, int32_t(lda_));
  kb.alu(Op::iadd, g_[i], g_[i], col);
}
void DenseAsyncA::load(KernelBuilder&, uint8_t) { throw InternalError("cp.async A tiles are not staged in registers"); }
void DenseAsyncA::copy_async(KernelBuilder& kb, uint32_t i, uint8_t dst, uint8_t) {
  kb.ldgsts(kTcBufA, g_[i], 0, dst, 0, 16);
}
void DenseAsyncA::advance(KernelBuilder& kb) {
  for (auto r : g_) kb.alui(Op::iadd, r, r, int32_t(step_));
}

void emit_chunk_row_col(KernelBuilder& kb, uint8_t tid, uint8_t row, uint8_t col, uint32_t i, uint32_t threads,
                        uint32_t per_row) {
  kb.alui(Op::iadd, row, tid, int32_t(i * threads));
  kb.alui(Op::and_, col, row, int32_t(per_row - 1));
  kb.alui(Op::shl, col, col, 4);
  kb.alui(Op::shr, row, row, int32_t(__builtin_ctz(per_row)));
}

void emit_shared_at(KernelBuilder& kb, uint8_t s, uint8_t row, uint8_t col, uint32_t pitch, uint32_t base) {
  kb.alui(Op::imul, s, row, int32_t(pitch));
  kb.alu(Op::iadd, s, s, col);
  if (base) kb.alui(Op::iadd, s, s, int32_t(base));
}

void emit_ring(KernelBuilder& kb, uint64_t ktiles, uint32_t S, uint8_t cnt, uint8_t p,
               const std::function<void()>& issue_tile, const std::function<void()>& next_tile,
               const std::function<void(bool, bool)>& tile) {
  // Prologue: tiles 0 .. S-2, one group each (empty past the last tile),
  // then tile 0's first fragments.
  for (uint32_t s = 0; s + 1 < S; ++s) {
    if (s < ktiles) issue_tile();
    kb.cp_commit();
  }
  next_tile();
  const uint64_t tail = std::min<uint64_t>(ktiles, S - 1), main_iters = ktiles - tail;
  if (main_iters > 0) {
    kb.mov(cnt, int32_t(main_iters));
    kb.mark_trip_count();
    const int loop = kb.label(), after = kb.label();
    kb.bind(loop);
    tile(true, true);
    kb.alui(Op::iadd, cnt, cnt, -1);
    kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
    kb.bra(loop, after, p);
    kb.bind(after);
  }
  for (uint64_t s = 0; s < tail; ++s) tile(false, s + 1 < tail);
}

uint32_t sm80_stage_bytes(const GemmTiling& t, DType in, bool b_k_major) {
  return stage_geom(t, in, b_k_major).bytes;
}

uint32_t sm80_stages(const GpuConfig& cfg, const GemmTiling& t, DType in, bool b_k_major, uint64_t ktiles,
                     uint32_t asked) {
  if (asked < 3 || asked > 5) throw InternalError("sm80 pipelines have 3 to 5 stages");
  const uint32_t bytes = sm80_stage_bytes(t, in, b_k_major);
  while (asked > 3 && uint64_t(asked) * bytes > cfg.shared.max_shared_bytes) --asked;
  return static_cast<uint32_t>(std::max<uint64_t>(2, std::min<uint64_t>(asked, ktiles + 1)));
}

Kernel build_sm80_kernel(const TcKernelDesc& d, uint32_t S, ATileSource& src) {
  const GemmTiling& t = d.t;
  if (!d.mma) throw InternalError(d.name + ": no tensor-core shape");
  const MmaShape& mma = *d.mma;
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(d.in)), ce = d.acc == AccType::f16 ? 2 : 4;
  const uint32_t M = mma.m(), N = mma.n(), K = mma.k_of(d.in);
  const bool kmaj = mma.b_k_major(d.in);
  const uint32_t run = bias_run(mma, d.in);
  if (d.ep.active() && d.acc != AccType::f32 && !d.ep.out8)
    throw GpuLoweringError(d.name + ": the fused epilogue needs fp32 accumulation");
  if (d.ep.bias && run == 0) throw GpuLoweringError(d.name + ": no bias epilogue for shape " + mma.name());
  if (t.wm % M || t.wn % N || t.bk % K) throw GpuLoweringError(d.name + ": warp tiles do not divide into mma tiles");
  const uint32_t warps_n = t.bn / t.wn, threads = tc_threads(t);
  const uint32_t fm = t.wm / M, fn = t.wn / N;
  const StageGeom sg = stage_geom(t, d.in, kmaj);
  const uint32_t sa = sg.sa, sb = sg.sb, a_bytes = sg.a_bytes, stage = sg.bytes;
  // 16-byte chunks: A rows of bk elements; B rows of bn (row-major) or of bk (K-major).
  const uint32_t a_row = t.bk * e / 16, b_row = (kmaj ? t.bk : t.bn) * e / 16, b_rows = kmaj ? t.bn : t.bk;
  const uint32_t a_per = t.bm * a_row / threads, b_per = b_rows * b_row / threads;
  if (a_per == 0 || b_per == 0 || t.bm * a_row % threads || b_rows * b_row % threads || threads % a_row)
    throw GpuLoweringError(d.name + ": tile copies do not divide over the CTA's threads");
  const uint64_t ktiles = d.kp / t.bk;
  if (S < 2) throw InternalError(d.name + ": a cp.async ring of fewer than 2 stages");
  const int32_t ring = int32_t(S * stage);
  // B's global step per K tile.
  const int32_t b_step = int32_t(kmaj ? uint64_t(t.bk) * e : uint64_t(t.bk) * d.ldb);

  KernelBuilder kb(d.name, &mma);
  std::vector<Frag> accs(fm * fn);
  for (auto& f : accs) f = kb.frag(FragKind::c, d.in, d.acc);
  const Frag fa[2] = {kb.frag(FragKind::a, d.in, d.acc), kb.frag(FragKind::a, d.in, d.acc)};
  std::vector<Frag> fb(2 * fn);  // two sets: the next k slice's load under this one's mmas
  for (auto& f : fb) f = kb.frag(FragKind::b, d.in, d.acc);
  src.alloc(kb, a_per);
  std::vector<uint8_t> gB(b_per), sA(a_per), sB(b_per), dst(a_per + b_per);
  for (auto* v : {&gB, &sA, &sB, &dst})
    for (auto& r : *v) r = kb.reg();
  const uint8_t tid = kb.reg(), tmp = kb.reg(), tmp2 = kb.reg(), rA = kb.reg(), rB = kb.reg(), rC = kb.reg();
  const uint8_t rd = kb.reg(), rw = kb.reg(), rAs = kb.reg(), rBs = kb.reg(), cnt = kb.reg();
  const uint8_t zero = src.zero_fills() ? kb.reg(4) : kRZ;  // zero fill of predicated-off A chunks
  const uint8_t p = kb.pred();
  const uint8_t rBias = d.ep.bias ? kb.reg() : kRZ, bias = d.ep.bias ? kb.reg(run * fn) : kRZ;
  // Residual: C-fragment slots in the A- and B-fragment registers (free
  // after the main loop), as the double-buffered kernel carves them.
  const std::vector<uint8_t> res = d.ep.residual ? residual_slots(d, accs[0].regs(), {{fa[0], fa[1]}, fb}) : std::vector<uint8_t>{};

  // Chunk c = tid + i threads is row c / per_row, byte column 16 (c % per_row)
  // of its tile: leaves the row in tmp, the byte column in tmp2.
  kb.s2r(tid, Special::tid);
  src.begin(kb, tid);
  auto row_col = [&](uint32_t i, uint32_t per_row) { emit_chunk_row_col(kb, tid, tmp, tmp2, i, threads, per_row); };
  auto shared_at = [&](uint8_t s, uint32_t pitch, uint32_t base) { emit_shared_at(kb, s, tmp, tmp2, pitch, base); };
  for (uint32_t i = 0; i < a_per; ++i) {
    row_col(i, a_row);
    src.chunk(kb, i, tmp, tmp2);
    shared_at(sA[i], sa, 0);
  }
  for (uint32_t i = 0; i < b_per; ++i) {
    row_col(i, b_row);
    kb.alui(Op::imul, gB[i], tmp, int32_t(d.ldb));
    kb.alu(Op::iadd, gB[i], gB[i], tmp2);
    shared_at(sB[i], sb, a_bytes);
  }
  for (uint32_t w = 0; w < 4 && zero != kRZ; ++w) kb.mov(uint8_t(zero + w), 0);
  // Warp w -> (w / warps_n, w % warps_n).
  kb.alui(Op::shr, tmp, tid, 5);
  kb.alui(Op::and_, tmp2, tmp, int32_t(warps_n - 1));
  kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(warps_n)));
  kb.alui(Op::imul, rA, tmp, int32_t(t.wm * sa));
  kb.alui(Op::imul, rC, tmp, int32_t(uint64_t(t.wm) * d.ldc));
  kb.alui(Op::imul, rB, tmp2, int32_t(kmaj ? t.wn * sb : t.wn * e));
  kb.alui(Op::iadd, rB, rB, int32_t(a_bytes));
  kb.alui(Op::imul, tmp2, tmp2, int32_t(t.wn * ce));
  if (d.ep.out16) {
    // 16-bit C (tc_mainloop.h): half the column bytes; tmp2 stays the fp32 bias offset.
    kb.alui(Op::shr, tmp, tmp2, 1);
    kb.alu(Op::iadd, rC, rC, tmp);
  } else {
    kb.alu(Op::iadd, rC, rC, tmp2);
  }
  if (d.ep.bias) {
    // Lane l's columns of a fragment start at 2 (l % 4) (bias_run 2): 8 (l % 4) bytes, + the warp column.
    if (run != 2 || ce != 4) throw InternalError(d.name + ": the sm80 bias epilogue assumes mma.sync's C layout");
    kb.alui(Op::and_, rBias, tid, 3);
    kb.alui(Op::shl, rBias, rBias, 3);
    kb.alu(Op::iadd, rBias, rBias, tmp2);
  }
  for (auto& f : accs) kb.wmma_fill_zero(f);
  kb.mov(rd, 0);
  kb.mov(rw, 0);

  auto wrap = [&](uint8_t r) {  // r += stage, modulo the ring
    kb.alui(Op::iadd, r, r, int32_t(stage));
    kb.setpi(Op::isetp, p, Cmp::ge, r, ring);
    kb.alui(Op::iadd, r, r, -ring).guard = p;
  };
  // The next tile's copies: `copy(c)` issues chunk c of a_per + b_per;
  // `copies_done` moves the pointers on. In the main loop they are spread
  // over the mma batches (as CUTLASS interleaves its global->shared
  // iterations with the warp's mmas), so they do not queue in front of the
  // fragment loads on the SM's shared-memory/L1 data path.
  auto copy = [&](uint32_t c) {
    if (c < a_per) {
      kb.alu(Op::iadd, dst[c], sA[c], rw);
      src.copy_async(kb, c, dst[c], zero);
    } else {
      kb.alu(Op::iadd, dst[c], sB[c - a_per], rw);
      kb.ldgsts(kTcBufB, gB[c - a_per], 0, dst[c], 0, 16);
    }
  };
  auto copies_done = [&]() {
    src.advance(kb);
    for (auto r : gB) kb.alui(Op::iadd, r, r, b_step);
    wrap(rw);
  };
  auto issue_tile = [&]() {
    for (uint32_t c = 0; c < a_per + b_per; ++c) copy(c);
    copies_done();
  };
  // Fragments are loaded one step ahead of the mmas that use them (as the
  // compiler schedules CUTLASS's warp-level loop): A in two alternating
  // fragments, B in two sets by k slice, so ldmatrix latency hides under
  // the tensor cores' work on the previous fragments. Across K tiles too:
  // before a tile's last mma batch the warp commits its copies, waits for
  // the next tile, passes the barrier and loads that tile's first fragments.
  const uint32_t nk = t.bk / K, nb = nk * fm, nc = a_per + b_per;
  auto load_b = [&](uint32_t kk) {
    for (uint32_t j = 0; j < fn; ++j) {
      const uint32_t off = kmaj ? j * N * sb + kk * K * e : kk * K * sb + j * N * e;
      kb.wmma_load(fb[(kk % 2) * fn + j], Space::shared, rBs, int32_t(off), sb);
    }
  };
  auto load_a = [&](uint32_t kk, uint32_t i) {
    kb.wmma_load(fa[(kk * fm + i) % 2], Space::shared, rAs, int32_t(i * M * sa + kk * K * e), sa);
  };
  auto next_tile = [&]() {  // wait for the next tile's stage, then its first fragments
    kb.cp_wait(S - 2);
    kb.bar();
    kb.alu(Op::iadd, rAs, rA, rd);
    kb.alu(Op::iadd, rBs, rB, rd);
    load_b(0);
    load_a(0, 0);
  };
  // One K tile; `copies`: issue tile t + S - 1 meanwhile; `next`: prefetch
  // into the next tile at the end (else just commit).
  auto tile = [&](bool copies, bool next) {
    // A fragments alternate by mma batch, B sets by k slice; a tile's last
    // batch prefetches into the next tile's first, which must differ.
    if (nb % 2 || nk % 2) throw InternalError(d.name + ": the fragment pipeline needs even batch and k-slice counts");
    for (uint32_t kk = 0; kk < nk; ++kk)
      for (uint32_t i = 0; i < fm; ++i) {
        const uint32_t b = kk * fm + i;
        for (uint32_t c = b * nc / nb; copies && c < (b + 1) * nc / nb; ++c) copy(c);
        if (i + 1 < fm) {
          load_a(kk, i + 1);
        } else if (kk + 1 < nk) {
          load_b(kk + 1);
          load_a(kk + 1, 0);
        } else {
          if (copies) copies_done();
          kb.cp_commit();
          wrap(rd);
          if (next) next_tile();
        }
        const Frag& a = fa[b % 2];
        std::vector<WmmaOp> batch;
        for (uint32_t j = 0; j < fn; ++j) batch.push_back({accs[i * fn + j], a, fb[(kk % 2) * fn + j], accs[i * fn + j]});
        kb.wmma_mma_batch(batch);
      }
  };

  emit_ring(kb, ktiles, S, cnt, p, issue_tile, next_tile, tile);
  // The skinny store (d.rows) stages C in shared memory over the ring:
  // every warp's last fragment loads must be done first.
  if (d.rows > 0) kb.bar();
  for (uint32_t j = 0; j < fn && d.ep.bias; ++j)
    kb.ldg(uint8_t(bias + run * j), kTcBufBias, rBias, int32_t(j * N * 4), uint8_t(run * 4));
  emit_tc_epilogue(kb, d, accs, fm, fn, TcEpilogueRegs{bias, run, rC, tmp, tmp2, cnt, p, res});
  return kb.finish();
}

}  // namespace xpu::lowering::gpu
