#include "sim/lowering/gpu/gemm_sm80.h"

#include <algorithm>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }
uint64_t grid(const GpuGemmSpec& s, uint32_t bm, uint32_t bn) { return ((s.m + bm - 1) / bm) * ((s.n + bn - 1) / bn); }

struct Sm80Desc {
  TcKernelDesc d;
  uint32_t stages = 4;
  uint64_t lda = 0;
};

Kernel build_sm80(const Sm80Desc& sd) {
  const TcKernelDesc& d = sd.d;
  const GemmTiling& t = d.t;
  const MmaShape& mma = *d.mma;
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(d.in)), ce = d.acc == AccType::f16 ? 2 : 4;
  const uint32_t M = mma.m(), N = mma.n(), K = mma.k_of(d.in);
  const uint32_t run = bias_run(mma, d.in);
  if (d.ep.active() && d.acc != AccType::f32)
    throw GpuLoweringError(d.name + ": the fused epilogue needs fp32 accumulation");
  if (d.ep.bias && run == 0) throw GpuLoweringError(d.name + ": no bias epilogue for shape " + mma.name());
  if (t.wm % M || t.wn % N || t.bk % K) throw GpuLoweringError(d.name + ": warp tiles do not divide into mma tiles");
  const uint32_t warps_n = t.bn / t.wn, threads = tc_threads(t);
  const uint32_t fm = t.wm / M, fn = t.wn / N;
  const uint32_t sa = t.bk * e + 16, sb = t.bn * e + 16;  // padded rows: conflict-free ldmatrix phases
  const uint32_t a_bytes = t.bm * sa, stage = a_bytes + t.bk * sb;
  const uint32_t a_row = t.bk * e / 16, b_row = t.bn * e / 16;  // 16-byte chunks per row
  const uint32_t a_per = t.bm * a_row / threads, b_per = t.bk * b_row / threads;
  if (a_per == 0 || b_per == 0 || t.bm * a_row % threads || t.bk * b_row % threads)
    throw GpuLoweringError(d.name + ": tile copies do not divide over the CTA's threads");
  const uint64_t ktiles = d.kp / t.bk;
  const uint32_t S = static_cast<uint32_t>(std::max<uint64_t>(2, std::min<uint64_t>(sd.stages, ktiles + 1)));
  const int32_t ring = int32_t(S * stage);

  KernelBuilder kb(d.name, &mma);
  std::vector<Frag> accs(fm * fn);
  for (auto& f : accs) f = kb.frag(FragKind::c, d.in, d.acc);
  const Frag fa[2] = {kb.frag(FragKind::a, d.in, d.acc), kb.frag(FragKind::a, d.in, d.acc)};
  std::vector<Frag> fb(2 * fn);  // two sets: the next k slice's load under this one's mmas
  for (auto& f : fb) f = kb.frag(FragKind::b, d.in, d.acc);
  std::vector<uint8_t> gA(a_per), gB(b_per), sA(a_per), sB(b_per), dst(a_per + b_per);
  for (auto* v : {&gA, &gB, &sA, &sB, &dst})
    for (auto& r : *v) r = kb.reg();
  const uint8_t tid = kb.reg(), tmp = kb.reg(), tmp2 = kb.reg(), rA = kb.reg(), rB = kb.reg(), rC = kb.reg();
  const uint8_t rd = kb.reg(), rw = kb.reg(), rAs = kb.reg(), rBs = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  const uint8_t rBias = d.ep.bias ? kb.reg() : kRZ, bias = d.ep.bias ? kb.reg(run * fn) : kRZ;

  // Per-thread chunk addresses: chunk c = tid + i threads is row c / per_row,
  // byte column 16 (c % per_row) of the tile.
  kb.s2r(tid, Special::tid);
  auto chunk = [&](uint32_t i, uint32_t per_row, uint8_t g, uint8_t s, uint64_t ld, uint32_t pitch, uint32_t base) {
    kb.alui(Op::iadd, tmp, tid, int32_t(i * threads));
    kb.alui(Op::and_, tmp2, tmp, int32_t(per_row - 1));
    kb.alui(Op::shl, tmp2, tmp2, 4);
    kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(per_row)));
    kb.alui(Op::imul, g, tmp, int32_t(ld));
    kb.alu(Op::iadd, g, g, tmp2);
    kb.alui(Op::imul, s, tmp, int32_t(pitch));
    kb.alu(Op::iadd, s, s, tmp2);
    if (base) kb.alui(Op::iadd, s, s, int32_t(base));
  };
  for (uint32_t i = 0; i < a_per; ++i) chunk(i, a_row, gA[i], sA[i], sd.lda, sa, 0);
  for (uint32_t i = 0; i < b_per; ++i) chunk(i, b_row, gB[i], sB[i], d.ldb, sb, a_bytes);
  // Warp w -> (w / warps_n, w % warps_n).
  kb.alui(Op::shr, tmp, tid, 5);
  kb.alui(Op::and_, tmp2, tmp, int32_t(warps_n - 1));
  kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(warps_n)));
  kb.alui(Op::imul, rA, tmp, int32_t(t.wm * sa));
  kb.alui(Op::imul, rC, tmp, int32_t(uint64_t(t.wm) * d.ldc));
  kb.alui(Op::imul, rB, tmp2, int32_t(t.wn * e));
  kb.alui(Op::iadd, rB, rB, int32_t(a_bytes));
  kb.alui(Op::imul, tmp2, tmp2, int32_t(t.wn * ce));
  kb.alu(Op::iadd, rC, rC, tmp2);
  if (d.ep.bias) {
    // Lane l's columns of a fragment start at 2 (l % 4) (bias_run 2): 8 (l % 4) bytes, + the warp column.
    kb.alui(Op::and_, rBias, tid, 3);
    kb.alui(Op::shl, rBias, rBias, 3);
    kb.alu(Op::iadd, rBias, rBias, tmp2);
    if (ce != 4) throw InternalError(d.name + ": bias with a non-fp32 C");
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
      kb.ldgsts(kTcBufA, gA[c], 0, dst[c], 0, 16);
    } else {
      kb.alu(Op::iadd, dst[c], sB[c - a_per], rw);
      kb.ldgsts(kTcBufB, gB[c - a_per], 0, dst[c], 0, 16);
    }
  };
  auto copies_done = [&]() {
    for (auto r : gA) kb.alui(Op::iadd, r, r, int32_t(t.bk * e));
    for (auto r : gB) kb.alui(Op::iadd, r, r, int32_t(uint64_t(t.bk) * d.ldb));
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
    for (uint32_t j = 0; j < fn; ++j)
      kb.wmma_load(fb[(kk % 2) * fn + j], Space::shared, rBs, int32_t(kk * K * sb + j * N * e), sb);
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
    if (nb < 2 || fm % 2) throw InternalError(d.name + ": the fragment pipeline needs an even fm");
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
    const int loop = kb.label(), after = kb.label();
    kb.bind(loop);
    tile(true, true);
    kb.alui(Op::iadd, cnt, cnt, -1);
    kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
    kb.bra(loop, after, p);
    kb.bind(after);
  }
  for (uint64_t s = 0; s < tail; ++s) tile(false, s + 1 < tail);
  for (uint32_t j = 0; j < fn && d.ep.bias; ++j)
    kb.ldg(uint8_t(bias + run * j), kTcBufBias, rBias, int32_t(j * N * 4), uint8_t(run * 4));
  emit_tc_epilogue(kb, d, accs, fm, fn, TcEpilogueRegs{bias, run, rC, tmp, tmp2, cnt, p});
  return kb.finish();
}

}  // namespace

bool use_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  return cfg.tensor_core.mma == MmaKind::ampere_mma_sync && (spec.in == DType::fp16 || spec.in == DType::bf16);
}

GemmTiling choose_tiling_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  GemmTiling t;  // 128 x 128, bk 32, 64 x 64 warps
  if (spec.m >= 128 && spec.n >= 256 && grid(spec, 128, 256) >= cfg.sms) {
    t.bn = 256;
    t.bk = spec.k >= 256 ? 64 : 32;  // CUTLASS's 128x256x64: half the barriers per MAC
  } else if (spec.m < 128 || spec.n < 128 || 2 * grid(spec, 128, 128) <= cfg.sms) {
    t.bm = t.bn = 64;
    t.wm = t.wn = 32;
  }
  return t;
}

void lower_gemm_sm80(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan, const TcEpilogue& ep,
                     uint32_t stages) {
  check_tc_path(cfg, spec.in, spec.acc, spec.name);
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  if (stages < 3 || stages > 5) throw InternalError(spec.name + ": sm80 pipelines have 3 to 5 stages");
  const MmaShape& mma = mma_shape(cfg.tensor_core.mma);
  const GemmTiling t = choose_tiling_sm80(cfg, spec);
  plan.tiling = t;
  // As many stages as asked that fit the shared-memory carve-out (at least 3).
  const uint32_t stage_bytes = t.bm * (t.bk * uint32_t(dtype_bytes(spec.in)) + 16) +
                               t.bk * (t.bn * uint32_t(dtype_bytes(spec.in)) + 16);
  while (stages > 3 && uint64_t(stages) * stage_bytes > cfg.shared.max_shared_bytes) --stages;
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in)), ce = out_bytes(spec);
  GpuGemmLayout& L = plan.layout;
  L.mp = round_up(spec.m, t.bm);
  L.np = round_up(spec.n, t.bn);
  L.kp = round_up(spec.k, t.bk);
  L.in_bytes = e;
  L.out_bytes = ce;
  L.dot_group = mma.dot_group(spec.in);
  L.lda = L.kp * e;
  L.ldb = L.np * e;
  L.ldc = L.np * ce;
  L.a = 0;
  L.b = round_up(L.a + L.mp * L.lda, 256);
  L.c = round_up(L.b + L.kp * L.ldb, 256);
  L.bias = round_up(L.c + L.mp * L.ldc, 256);
  L.bytes = ep.bias ? round_up(L.bias + L.np * 4, 256) : L.bias;
  if (L.bytes >= (uint64_t(1) << 32)) throw GpuLoweringError(spec.name + ": operands exceed 4 GiB");

  const TcKernelDesc d{spec.name + "_sm80", spec.in, spec.acc, t, L.kp, L.ldb, L.ldc, ep, &mma};
  plan.kernel = build_sm80(Sm80Desc{d, stages, L.lda});
  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  const uint64_t grid_m = L.mp / t.bm, grid_n = L.np / t.bn;
  const uint32_t nb = ep.bias ? 4 : 3;
  l.ctas = static_cast<uint32_t>(grid_m * grid_n);
  l.threads = tc_threads(t);
  const uint64_t ktiles = L.kp / t.bk;
  const uint32_t S = static_cast<uint32_t>(std::max<uint64_t>(2, std::min<uint64_t>(stages, ktiles + 1)));
  l.shared_bytes = S * (t.bm * (t.bk * e + 16) + t.bk * (t.bn * e + 16));
  plan.tiling.stages = S;  // the ring's depth, for the kernel's name in reports
  if (l.shared_bytes > cfg.shared.max_shared_bytes)
    throw GpuLoweringError(spec.name + ": " + std::to_string(S) + " stages of shared memory exceed " + cfg.name + "'s " +
                           std::to_string(cfg.shared.max_shared_bytes) + " bytes");
  l.nbufs = nb;
  l.bases.resize(size_t(l.ctas) * nb);
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t by = c / grid_n, bx = c % grid_n;
    l.bases[c * nb + kTcBufA] = L.a + by * t.bm * L.lda;
    l.bases[c * nb + kTcBufB] = L.b + bx * t.bn * e;
    l.bases[c * nb + kTcBufC] = L.c + by * t.bm * L.ldc + bx * t.bn * ce;
    if (ep.bias) l.bases[c * nb + kTcBufBias] = L.bias + bx * t.bn * 4;
  }
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(spec.name + ": kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

}  // namespace xpu::lowering::gpu
