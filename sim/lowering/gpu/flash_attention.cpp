#include "sim/lowering/gpu/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/gpu/kernel_builder.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/fp16.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

constexpr uint32_t kThreads = 128;
constexpr uint32_t kChunk = 8;  // independent loads issued ahead of their uses
constexpr uint32_t kMinTile = 32;  // positions per tile of a split decode
constexpr float kLog2e = 1.4426950408889634f;
const float kNegInf = -std::numeric_limits<float>::infinity();

int32_t fbits(float f) { return static_cast<int32_t>(float_to_bits(f)); }


uint32_t rows_per_cta(uint64_t rows) { return rows % 4 == 0 ? 4 : rows % 2 == 0 ? 2 : 1; }

// Shared-memory layout (bytes). K rows are padded by 8 bytes so the
// scoring threads' 8-byte reads (one position each) of a half-warp hit
// distinct banks.
struct Smem {
  uint32_t ks, kv, vs, qs, qpad, qpart, ss, m8, ms, as, ps, total;
  Smem(uint32_t d, uint32_t r, uint32_t bc, uint32_t g) {
    ks = 2 * d + 8;
    kv = 0;
    vs = kv + bc * ks;
    qs = vs + bc * 2 * d;
    // With g parts, q's parts are 16 bytes apart beyond their length, so a
    // warp's 16-byte q reads (one address per part) hit distinct banks.
    qpad = g > 1 ? 16 : 0;
    qpart = 4 * (d / g) + qpad;
    ss = qs + r * g * qpart;
    m8 = ss + r * bc * 4;
    ms = m8 + r * (bc / 8) * 4;
    as = ms + r * 4;
    ps = (as + r * 4 + 15) / 16 * 16;  // g > 1: the dot products' parts (16-byte reads)
    total = ps + (g > 1 ? kThreads * 4 : 0);
  }
};

}  // namespace

std::string flash_attention_unsupported(const GpuConfig& cfg, const FlashSpec& s) {
  const uint64_t d = s.d, L = s.positions();
  if (s.heads == 0 || s.rows == 0 || s.seq == 0 || d < 32 || d > 128 || (d & (d - 1)) != 0 ||
      (s.in != DType::fp16 && s.in != DType::bf16) || s.heads * s.rows > 0xFFFFFFFFull || L > 0x7FFFFFFFull / (2 * d))
    return "flash attention: head dimension must be a power of two in [32, 128], elements fp16/bf16";
  const uint32_t R = rows_per_cta(s.rows);
  if (Smem(static_cast<uint32_t>(d), R, kThreads / R, 1).total > cfg.shared.max_shared_bytes)
    return "flash attention: tiles exceed shared memory";
  return {};
}

FlashPlan plan_flash_attention(const GpuConfig& cfg, const FlashSpec& s) {
  FlashPlan p;
  p.r = rows_per_cta(s.rows);
  p.bc = kThreads / p.r;
  const uint64_t base = s.heads * (s.rows / p.r);
  // Split only without a causal mask inside the step (every split then
  // starts at a visible position), and up to two CTAs per SM.
  const bool split = s.seq == 1 && base < cfg.sms;
  // A split decode streams tiles of 32 positions, each score the sum of g
  // parts of its dot product (g threads per score: all 128 threads score):
  // a CTA's first tiles arrive while the rest stream, and their arithmetic
  // overlaps that instead of following the whole split's bytes (one
  // 128-position tile per split left every CTA's math after its last byte).
  if (split && p.bc > kMinTile && s.d / 16 >= p.bc / kMinTile) {
    p.g = p.bc / kMinTile;
    p.bc = kMinTile;
    p.pv_groups = 2 * kThreads / static_cast<uint32_t>(s.d);
  }
  const uint64_t tiles = (s.positions() + p.bc - 1) / p.bc;
  uint64_t want = split ? std::min<uint64_t>({uint64_t(16), tiles, (2 * uint64_t(cfg.sms) + base - 1) / base}) : 1;
  p.tps = static_cast<uint32_t>((tiles + want - 1) / want);
  p.splits = static_cast<uint32_t>((tiles + p.tps - 1) / p.tps);
  return p;
}

// The last split reads up to tps tiles from its first position (and one tile of margin).
uint64_t flash_kv_padding(const FlashPlan& p, const FlashSpec& s) { return uint64_t(p.tps + 1) * p.bc * s.d * 2; }
uint64_t flash_workspace_bytes(const FlashPlan& p, const FlashSpec& s) {
  return p.splits > 1 ? uint64_t(p.splits) * s.heads * s.rows * (s.d + 2) * 4 : 0;
}

void lower_flash_attention(const GpuConfig& cfg, const FlashSpec& s, FlashPlan& plan, NnPlan& nn) {
  if (const std::string why = flash_attention_unsupported(cfg, s); !why.empty()) throw GpuLoweringError(why);
  const uint64_t d = s.d, L = s.positions();
  {
    FlashPlan p = plan_flash_attention(cfg, s);
    plan.r = p.r, plan.bc = p.bc, plan.g = p.g, plan.pv_groups = p.pv_groups, plan.splits = p.splits, plan.tps = p.tps;
  }
  const uint32_t R = plan.r, Bc = plan.bc, G = plan.g, D = static_cast<uint32_t>(d), S = plan.splits;
  const uint32_t H = plan.pv_groups, P = Bc / H;  // PV: position groups, positions a group (H > 1: column pairs)
  const Smem sm(D, R, Bc, G);
  const uint64_t blocks = s.rows / R, ctas = s.heads * blocks * S, tiles = plan.tps;
  const uint64_t rows_all = s.heads * s.rows, ws_ml = s.ws + uint64_t(S) * rows_all * d * 4;
  const bool bf = s.in == DType::bf16;
  plan.meta.clear();
  for (uint32_t sp = 0; sp < S; ++sp)
    for (uint64_t b = 0; b < blocks; ++b)
      for (uint32_t r = 0; r < R; ++r)
        plan.meta.push_back(static_cast<int32_t>(s.past + (b * R + r) % s.seq) -
                            static_cast<int32_t>(uint64_t(sp) * plan.tps * Bc));

  KernelBuilder kb("flash_attention");
  const uint8_t t = kb.reg(), tmp = kb.reg(), jb = kb.reg(), goff = kb.reg(), cnt = kb.reg(), qpos = kb.reg();
  const uint8_t ld_row = kb.reg(), ld_col = kb.reg(), sk = kb.reg(), sv = kb.reg(), sc = kb.reg();
  const uint8_t ksa = kb.reg(), qsa = kb.reg(), sst = kb.reg(), vsa = kb.reg(), hsh = kb.reg(), msa = kb.reg();
  const uint8_t m_run = kb.reg(), m_new = kb.reg(), alpha = kb.reg(), acc = kb.reg(), sval = kb.reg();
  const uint8_t o = kb.reg(H > 1 ? 2 * R : R), l = kb.reg(R), al = kb.reg(R);
  const uint8_t w = kb.reg(kChunk), q0 = kb.reg(2 * kChunk), k0 = kb.reg(2 * kChunk);  // q0, k0: 4 groups of 4
  const uint8_t pv = kb.reg(kChunk * R);
  const uint8_t jn = kb.reg(), stage = kb.reg(8 * (Bc * 2 * D / 16 / kThreads));  // the tile in flight: its first position, its K/V chunks
  const uint8_t p_row = kb.pred(), p_col = kb.pred(), p_ld = kb.pred(), p_vis = kb.pred(), p_m8 = kb.pred(),
                p_loop = kb.pred(), p_sc = kb.pred();
  kb.s2r(t, Special::tid);
  // Loader geometry: 16-byte chunk t of a tile is row t / (d/8), byte (t % (d/8)) 16.
  const uint32_t cpr = D / 8, ld_iters = Bc * 2 * D / 16 / kThreads;
  kb.alui(Op::shr, ld_row, t, __builtin_ctz(cpr));
  kb.alui(Op::and_, ld_col, t, static_cast<int32_t>(cpr - 1));
  kb.alui(Op::shl, ld_col, ld_col, 4);
  kb.mov(tmp, static_cast<int32_t>(sm.ks));
  kb.alu(Op::imul, sk, ld_row, tmp);
  kb.alu(Op::iadd, sk, sk, ld_col);  // shared K byte of this thread's chunk
  kb.alui(Op::shl, sv, ld_row, __builtin_ctz(2 * D));
  kb.alu(Op::iadd, sv, sv, ld_col);  // shared V byte
  kb.alui(Op::shl, goff, ld_row, __builtin_ctz(2 * D));
  kb.alu(Op::iadd, goff, goff, ld_col);  // global byte of the chunk in tile 0
  // Scoring role: row r = t / Bc, position j = t % Bc.
  kb.alui(Op::shr, tmp, t, __builtin_ctz(Bc));  // r
  kb.alui(Op::and_, tmp, tmp, static_cast<int32_t>(R - 1));  // threads past R Bc: idle while scoring
  kb.alui(Op::shl, msa, tmp, 2);
  kb.ldg(qpos, 4, msa, 0);  // the row's query position (data: used only by the mask's select)
  kb.alui(Op::and_, sc, t, static_cast<int32_t>(Bc - 1));  // j
  kb.setpi(Op::isetp, p_sc, Cmp::lt, t, static_cast<int32_t>(R * Bc));
  kb.alui(Op::and_, tmp, t, 7);
  kb.mov(cnt, 1);  // (cnt: a free integer register until the loop)
  kb.alu(Op::sel, tmp, tmp, cnt, p_sc);  // threads past R Bc: no partial maximum
  kb.setpi(Op::isetp, p_m8, Cmp::eq, tmp, 0);

  kb.alui(Op::shl, sst, t, 2);  // S[r][j] at ss + 4 t
  // Part role: thread t computes part t % G (elements [D/G part, D/G (part
  // + 1))) of score t / G's dot product.
  const uint32_t DG = D / G;
  kb.alui(Op::shr, tmp, t, __builtin_ctz(G * Bc));
  kb.alui(Op::and_, tmp, tmp, static_cast<int32_t>(R - 1));
  kb.mov(ksa, static_cast<int32_t>(G * sm.qpart));
  kb.alu(Op::imul, qsa, tmp, ksa);
  kb.alui(Op::and_, tmp, t, static_cast<int32_t>(G - 1));
  kb.mov(ksa, static_cast<int32_t>(sm.qpart));
  kb.alu(Op::imul, ksa, tmp, ksa);
  kb.alu(Op::iadd, qsa, qsa, ksa);
  kb.alui(Op::iadd, qsa, qsa, static_cast<int32_t>(sm.qs));
  kb.alui(Op::shl, vsa, tmp, __builtin_ctz(2 * DG));  // (vsa: scratch until the PV role's)
  kb.alui(Op::shr, tmp, t, __builtin_ctz(G));
  kb.alui(Op::and_, tmp, tmp, static_cast<int32_t>(Bc - 1));
  kb.mov(ksa, static_cast<int32_t>(sm.ks));
  kb.alu(Op::imul, ksa, tmp, ksa);
  kb.alu(Op::iadd, ksa, ksa, vsa);
  kb.setpi(Op::isetp, p_row, Cmp::lt, t, static_cast<int32_t>(R));
  kb.setpi(Op::isetp, p_col, Cmp::lt, t, static_cast<int32_t>(D));
  // PV role: column c = t holds the 16-bit V element at byte 2c.
  if (H == 1) {
    kb.alui(Op::shr, vsa, t, 1);
    kb.alui(Op::shl, vsa, vsa, 2);
    kb.alui(Op::and_, hsh, t, 1);
    kb.alui(Op::shl, hsh, hsh, 4);
  } else {
    // Column pair cp = t % (D/2) (the 32-bit word 4 cp of a V row), group
    // h = t / (D/2): positions [h P, (h + 1) P) of each tile. vsa: the
    // word in the group's first row; hsh: the group's first probability.
    kb.alui(Op::shr, tmp, t, __builtin_ctz(D / 2));
    kb.alui(Op::shl, hsh, tmp, __builtin_ctz(4 * P));
    kb.alui(Op::shl, vsa, tmp, __builtin_ctz(P * 2 * D));
    kb.alui(Op::and_, tmp, t, static_cast<int32_t>(D / 2 - 1));
    kb.alui(Op::shl, tmp, tmp, 2);
    kb.alu(Op::iadd, vsa, vsa, tmp);
  }

  // K and V of a tile go through registers: the next tile's loads are in
  // flight while this tile computes (positions past the end are masked).
  auto fetch = [&] {
    for (uint32_t i = 0; i < ld_iters; ++i) {
      const int32_t row_step = static_cast<int32_t>(i * kThreads / cpr);
      const uint8_t kr = stage + 8 * i, vr = kr + 4;
      const int32_t gimm = row_step * static_cast<int32_t>(2 * D);
      kb.ldg(kr, 1, goff, gimm, 16);
      kb.ldg(vr, 2, goff, gimm, 16);
    }
  };
  auto store = [&] {
    for (uint32_t i = 0; i < ld_iters; ++i) {
      const int32_t row_step = static_cast<int32_t>(i * kThreads / cpr);
      const uint8_t kr = stage + 8 * i, vr = kr + 4;
      for (uint32_t u = 0; u < 2; ++u)
        kb.sts(sk, static_cast<int32_t>(sm.kv + row_step * sm.ks + 8 * u), kr + 2 * u, 8);
      kb.sts(sv, static_cast<int32_t>(sm.vs) + row_step * static_cast<int32_t>(2 * D), vr, 16);
    }
  };
  // The first tile's loads go out before q's: the q round trip then
  // overlaps them instead of delaying them.
  kb.mov(jn, 0);
  fetch();
  // Resident q: R x d elements widened to fp32 (pairs e = t + i T).
  const uint32_t pairs = R * D / 2;
  for (uint32_t i = 0; i * kThreads < pairs; ++i) {
    const int32_t e0 = static_cast<int32_t>(i * kThreads);
    kb.setpi(Op::isetp, p_ld, Cmp::lt, t, static_cast<int32_t>(pairs) - e0);
    kb.alui(Op::shl, tmp, t, 2);
    kb.mov(w, 0);
    kb.ldg(w, 0, tmp, e0 * 4).guard = p_ld;
    emit_widen_pair(kb, s.in, q0, q0 + 1, w);
    kb.alui(Op::shl, tmp, t, 3);
    if (G > 1) {  // pair e's part (2e / (D/G)) padding
      kb.alui(Op::iadd, cnt, t, e0);
      kb.alui(Op::shr, cnt, cnt, __builtin_ctz(DG / 2));
      kb.alui(Op::shl, cnt, cnt, __builtin_ctz(sm.qpad));
      kb.alu(Op::iadd, tmp, tmp, cnt);
    }
    kb.sts(tmp, static_cast<int32_t>(sm.qs) + e0 * 8, q0).guard = p_ld;
    kb.sts(tmp, static_cast<int32_t>(sm.qs) + e0 * 8 + 4, q0 + 1).guard = p_ld;
  }
  kb.mov(m_run, fbits(kNegInf));
  for (uint32_t r = 0; r < R; ++r) kb.mov(l + r, 0);
  for (uint32_t r = 0; r < (H > 1 ? 2 * R : R); ++r) kb.mov(o + r, 0);
  kb.mov(jb, 0);
  kb.bar();

  kb.mov(cnt, static_cast<int32_t>(tiles));
  const int top = kb.label(), done = kb.label();
  kb.bind(top);
  store();
  kb.bar();
  kb.alui(Op::iadd, jn, jn, static_cast<int32_t>(Bc));
  kb.alui(Op::iadd, goff, goff, static_cast<int32_t>(Bc * 2 * D));
  // The next tile's loads, unless this is the last trip (they would only
  // cost L2 and DRAM bandwidth while other CTAs still stream).
  kb.setpi(Op::isetp, p_loop, Cmp::gt, cnt, 1);
  kb.if_(p_loop, false, fetch);
  // 1. Scores.
  // 8-byte K reads (4 elements), 16-byte q reads (4 fp32, a warp's rows
  // are one row: broadcast); each part's chain stays in k order.
  auto dot_part = [&] {
    kb.mov(acc, 0);
    for (uint32_t k0p = 0; k0p < DG; k0p += 16) {
      for (uint32_t u = 0; u < 4; ++u) {
        const int32_t kk = static_cast<int32_t>(k0p + 4 * u);
        kb.lds(w + 2 * u, ksa, static_cast<int32_t>(sm.kv) + 2 * kk, 8);
        kb.lds(q0 + 4 * u, qsa, 4 * kk, 16);
      }
      for (uint32_t u = 0; u < 4; ++u) {
        for (uint32_t h = 0; h < 2; ++h) {
          emit_widen_pair(kb, s.in, k0 + 4 * u + 2 * h, k0 + 4 * u + 2 * h + 1, w + 2 * u + h);
        }
        for (uint32_t e = 0; e < 4; ++e) kb.alu(Op::ffma, acc, q0 + 4 * u + e, k0 + 4 * u + e, acc);
      }
    }
  };
  if (G > 1) {
    // Every thread a part; then score t = fadd chain of its G parts in order.
    dot_part();
    kb.sts(sst, static_cast<int32_t>(sm.ps), acc);
    kb.bar();
  }
  kb.if_(p_sc, false, [&] {
    if (G == 1) {
      dot_part();
    } else {
      kb.alui(Op::shl, tmp, t, __builtin_ctz(4 * G));
      kb.lds(w, tmp, static_cast<int32_t>(sm.ps), static_cast<uint8_t>(4 * G));
      kb.mov_r(acc, w);
      for (uint32_t u = 1; u < G; ++u) kb.alu(Op::fadd, acc, acc, w + u);
    }
    kb.alui(Op::fmul, sval, acc, fbits(s.scale));
    kb.alu(Op::iadd, tmp, jb, sc);
    kb.setp(Op::isetp, p_vis, Cmp::le, tmp, qpos);
    kb.mov(acc, fbits(kNegInf));
    kb.alu(Op::sel, sval, sval, acc, p_vis);
    kb.sts(sst, static_cast<int32_t>(sm.ss), sval);
  });
  kb.bar();
  // 2. Partial maxima of 8 positions.
  kb.if_(p_m8, false, [&] {
    kb.lds(acc, sst, static_cast<int32_t>(sm.ss));
    for (int32_t u = 1; u < 8; ++u) kb.lds(w + u, sst, static_cast<int32_t>(sm.ss) + 4 * u);
    for (int32_t u = 1; u < 8; ++u) kb.alu(Op::fmax, acc, acc, w + u);
    kb.alui(Op::shr, tmp, sst, 3);
    kb.sts(tmp, static_cast<int32_t>(sm.m8), acc);
  });
  kb.bar();
  // 3. Row statistics (thread r).
  kb.if_(p_row, false, [&] {
    const uint32_t parts = Bc / 8;
    kb.alui(Op::shl, tmp, t, __builtin_ctz(4 * parts));
    kb.mov_r(m_new, m_run);
    for (uint32_t u0 = 0; u0 < parts; u0 += kChunk) {
      for (uint32_t u = 0; u < kChunk && u0 + u < parts; ++u)
        kb.lds(w + u, tmp, static_cast<int32_t>(sm.m8 + 4 * (u0 + u)));
      for (uint32_t u = 0; u < kChunk && u0 + u < parts; ++u) kb.alu(Op::fmax, m_new, m_new, w + u);
    }
    kb.alui(Op::fmul, acc, m_new, fbits(-1.0f));
    kb.alu(Op::fadd, alpha, m_run, acc);
    kb.alui(Op::fmul, alpha, alpha, fbits(kLog2e));
    kb.alu(Op::ex2, alpha, alpha, kRZ);
    kb.alui(Op::shl, tmp, t, 2);
    kb.sts(tmp, static_cast<int32_t>(sm.ms), m_new);
    kb.sts(tmp, static_cast<int32_t>(sm.as), alpha);
    kb.mov_r(m_run, m_new);
  });
  kb.bar();
  // 4. Probabilities (unnormalized) over the scores.
  kb.if_(p_sc, false, [&] {
    kb.lds(acc, msa, static_cast<int32_t>(sm.ms));
    kb.alui(Op::fmul, acc, acc, fbits(-1.0f));
    kb.alu(Op::fadd, sval, sval, acc);
    kb.alui(Op::fmul, sval, sval, fbits(kLog2e));
    kb.alu(Op::ex2, sval, sval, kRZ);
    kb.sts(sst, static_cast<int32_t>(sm.ss), sval);
  });
  kb.bar();
  // 5. o = o alpha + P V and l = l alpha + sum p, column c = t.
  if (H == 1) kb.if_(p_col, false, [&] {
    for (uint32_t r = 0; r < R; ++r) {
      kb.lds(al + r, kRZ, static_cast<int32_t>(sm.as + 4 * r));
      kb.alu(Op::fmul, o + r, o + r, al + r);
      kb.alu(Op::fmul, l + r, l + r, al + r);
    }
    for (uint32_t j0 = 0; j0 < Bc; j0 += kChunk) {
      for (uint32_t u = 0; u < kChunk; ++u) kb.lds(w + u, vsa, static_cast<int32_t>(sm.vs + (j0 + u) * 2 * D));
      for (uint32_t r = 0; r < R; ++r)  // 4 probabilities per 16-byte (broadcast) read
        for (uint32_t h = 0; h < kChunk; h += 4)
          kb.lds(pv + r * kChunk + h, kRZ, static_cast<int32_t>(sm.ss + 4 * (r * Bc + j0 + h)), 16);
      for (uint32_t u = 0; u < kChunk; ++u) {
        kb.alu(Op::shr, k0 + u, w + u, hsh);
        if (bf) kb.alui(Op::shl, k0 + u, k0 + u, 16);
        else kb.alu(Op::h2f, k0 + u, k0 + u, kRZ);
        for (uint32_t r = 0; r < R; ++r) {
          kb.alu(Op::ffma, o + r, pv + r * kChunk + u, k0 + u, o + r);
          kb.alu(Op::fadd, l + r, l + r, pv + r * kChunk + u);
        }
      }
    }
  });
  else {  // column pair cp, positions of group h: 2 outputs a V word, one l a position
    const uint32_t C = std::min(kChunk, P);
    for (uint32_t r = 0; r < R; ++r) {
      kb.lds(al + r, kRZ, static_cast<int32_t>(sm.as + 4 * r));
      kb.alu(Op::fmul, o + 2 * r, o + 2 * r, al + r);
      kb.alu(Op::fmul, o + 2 * r + 1, o + 2 * r + 1, al + r);
      kb.alu(Op::fmul, l + r, l + r, al + r);
    }
    for (uint32_t j0 = 0; j0 < P; j0 += C) {
      for (uint32_t u = 0; u < C; ++u) kb.lds(w + u, vsa, static_cast<int32_t>(sm.vs + (j0 + u) * 2 * D));
      for (uint32_t r = 0; r < R; ++r)
        for (uint32_t h = 0; h < C; h += 4)
          kb.lds(pv + r * kChunk + h, hsh, static_cast<int32_t>(sm.ss + 4 * (r * Bc + j0 + h)), 16);
      for (uint32_t u = 0; u < C; ++u) {
        emit_widen_pair(kb, s.in, k0 + 2 * u, k0 + 2 * u + 1, w + u);
        for (uint32_t r = 0; r < R; ++r) {
          kb.alu(Op::ffma, o + 2 * r, pv + r * kChunk + u, k0 + 2 * u, o + 2 * r);
          kb.alu(Op::ffma, o + 2 * r + 1, pv + r * kChunk + u, k0 + 2 * u + 1, o + 2 * r + 1);
          kb.alu(Op::fadd, l + r, l + r, pv + r * kChunk + u);
        }
      }
    }
  }
  kb.bar();
  kb.alui(Op::iadd, jb, jb, static_cast<int32_t>(Bc));
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p_loop, Cmp::gt, cnt, 0);
  kb.bra(top, done, p_loop);
  kb.bind(done);
  if (H > 1) {
    // The groups' o and l through shared memory (the K tile's, free now):
    // O[h][r] at kv + ((h R + r) D + 2 cp) 4, L[h][r] after them; group 0
    // adds the others in h order: o = o_0 + o_1 + ..., l = l_0 + l_1 + ....
    const int32_t lbase = static_cast<int32_t>(sm.kv + H * R * D * 4);
    if (H * R * (D + 1) * 4 > Bc * sm.ks) throw InternalError("flash attention: the groups' sums exceed the K tile");
    // (sk, sv: the loader's registers, free after the loop)
    kb.alui(Op::shr, tmp, t, __builtin_ctz(D / 2));
    kb.alui(Op::shl, sk, tmp, __builtin_ctz(R * D * 4));
    kb.alui(Op::shl, tmp, tmp, __builtin_ctz(4 * R));
    kb.alui(Op::and_, sv, t, static_cast<int32_t>(D / 2 - 1));
    kb.setpi(Op::isetp, p_ld, Cmp::eq, sv, 0);
    kb.alui(Op::shl, sv, sv, 3);
    kb.alu(Op::iadd, sk, sk, sv);
    for (uint32_t r = 0; r < R; ++r) {
      kb.sts(sk, static_cast<int32_t>(sm.kv + r * D * 4), o + 2 * r, 8);
      kb.sts(tmp, lbase + static_cast<int32_t>(4 * r), l + r).guard = p_ld;
    }
    kb.bar();
    kb.setpi(Op::isetp, p_col, Cmp::lt, t, static_cast<int32_t>(D / 2));
    kb.if_(p_col, false, [&] {
      for (uint32_t h = 1; h < H; ++h)
        for (uint32_t r = 0; r < R; ++r) {
          kb.lds(w, sv, static_cast<int32_t>(sm.kv + ((h * R + r) * D) * 4), 8);
          kb.lds(w + 2, kRZ, lbase + static_cast<int32_t>(4 * (h * R + r)));
          kb.alu(Op::fadd, o + 2 * r, o + 2 * r, w);
          kb.alu(Op::fadd, o + 2 * r + 1, o + 2 * r + 1, w + 1);
          kb.alu(Op::fadd, l + r, l + r, w + 2);
        }
      kb.alui(Op::shl, tmp, t, 3);
      for (uint32_t r = 0; r < R; ++r) {
        if (S == 1) {
          kb.alu(Op::rcp, acc, l + r, kRZ);
          kb.alu(Op::fmul, k0, o + 2 * r, acc);
          kb.alu(Op::fmul, k0 + 1, o + 2 * r + 1, acc);
          kb.stg(3, tmp, static_cast<int32_t>(r * D * 4), k0, 8);
        } else {
          kb.stg(3, tmp, static_cast<int32_t>(r * D * 4), o + 2 * r, 8);
        }
      }
    });
  }
  // o / l, fp32 out; with splits, o, m and l to the workspace.
  if (H == 1) kb.if_(p_col, false, [&] {
    kb.alui(Op::shl, tmp, t, 2);
    for (uint32_t r = 0; r < R; ++r) {
      if (S == 1) {
        kb.alu(Op::rcp, acc, l + r, kRZ);
        kb.alu(Op::fmul, acc, o + r, acc);
        kb.stg(3, tmp, static_cast<int32_t>(r * D * 4), acc);
      } else {
        kb.stg(3, tmp, static_cast<int32_t>(r * D * 4), o + r);
      }
    }
  });
  if (S > 1) {
    kb.if_(p_row, false, [&] {
      kb.alui(Op::shl, tmp, t, 3);
      kb.stg(5, tmp, 0, m_run);
    });
    kb.setpi(Op::isetp, p_ld, Cmp::eq, t, 0);
    kb.if_(p_ld, false, [&] {
      for (uint32_t r = 0; r < R; ++r) kb.stg(5, kRZ, static_cast<int32_t>(8 * r + 4), l + r);
    });
  }
  kb.exit();
  nn.kernel = kb.finish();

  Launch& ln = nn.launch;
  ln.kernel = &nn.kernel;
  ln.threads = kThreads;
  ln.shared_bytes = sm.total;
  std::vector<uint64_t> qb, kbase, vb, ob, mb, lb;
  for (uint64_t h = 0; h < s.heads; ++h)
    for (uint64_t b = 0; b < blocks; ++b)
      for (uint32_t sp = 0; sp < S; ++sp) {
        const uint64_t row0 = h * s.rows + b * R, first = uint64_t(sp) * plan.tps * Bc;
        qb.push_back(s.q + row0 * d * 2);
        kbase.push_back(s.k + (h * L + first) * d * 2);
        vb.push_back(s.v + (h * L + first) * d * 2);
        ob.push_back(S == 1 ? s.o + row0 * d * 4 : s.ws + (sp * rows_all + row0) * d * 4);
        mb.push_back(s.meta + (sp * blocks + b) * R * 4);
        lb.push_back(ws_ml + (sp * rows_all + row0) * 8);
      }
  set_bases(ln, static_cast<uint32_t>(ctas), 6, {&qb, &kbase, &vb, &ob, &mb, &lb}, {});
  if (S == 1) return;

  // The merge: a CTA per row, thread c its output element.
  KernelBuilder kc("flash_attention_merge");
  const uint8_t c = kc.reg(), off = kc.reg(), mx = kc.reg(), f = kc.reg(), big_o = kc.reg(), big_l = kc.reg(),
                neg = kc.reg();
  const uint8_t ms = kc.reg(S), ls = kc.reg(S), os = kc.reg(S);
  kc.s2r(c, Special::tid);
  kc.alui(Op::shl, off, c, 2);
  const int32_t o_step = static_cast<int32_t>(rows_all * d * 4), ml_step = static_cast<int32_t>(rows_all * 8);
  for (uint32_t sp = 0; sp < S; ++sp) {
    kc.ldg(static_cast<uint8_t>(ms + sp), 1, kRZ, static_cast<int32_t>(sp) * ml_step);
    kc.ldg(static_cast<uint8_t>(ls + sp), 1, kRZ, static_cast<int32_t>(sp) * ml_step + 4);
    kc.ldg(static_cast<uint8_t>(os + sp), 0, off, static_cast<int32_t>(sp) * o_step);
  }
  kc.mov_r(mx, ms);
  for (uint32_t sp = 1; sp < S; ++sp) kc.alu(Op::fmax, mx, mx, static_cast<uint8_t>(ms + sp));
  kc.alui(Op::fmul, neg, mx, fbits(-1.0f));
  kc.mov(big_o, 0);
  kc.mov(big_l, 0);
  for (uint32_t sp = 0; sp < S; ++sp) {
    kc.alu(Op::fadd, f, static_cast<uint8_t>(ms + sp), neg);
    kc.alui(Op::fmul, f, f, fbits(kLog2e));
    kc.alu(Op::ex2, f, f, kRZ);
    kc.alu(Op::ffma, big_o, static_cast<uint8_t>(os + sp), f, big_o);
    kc.alu(Op::ffma, big_l, static_cast<uint8_t>(ls + sp), f, big_l);
  }
  kc.alu(Op::rcp, big_l, big_l, kRZ);
  kc.alu(Op::fmul, big_o, big_o, big_l);
  kc.stg(2, off, 0, big_o);
  kc.exit();
  plan.combine.kernel = kc.finish();
  Launch& lc = plan.combine.launch;
  lc.kernel = &plan.combine.kernel;
  lc.threads = D;
  std::vector<uint64_t> wo, wml, out;
  for (uint64_t row = 0; row < rows_all; ++row) {
    wo.push_back(s.ws + row * d * 4);
    wml.push_back(ws_ml + row * 8);
    out.push_back(s.o + row * d * 4);
  }
  set_bases(lc, static_cast<uint32_t>(rows_all), 3, {&wo, &wml, &out}, {});
}

std::vector<float> reference_flash_attention(const FlashSpec& s, const FlashPlan& fp, const uint16_t* q,
                                             const uint16_t* k, const uint16_t* v) {
  const uint64_t d = s.d, L = s.positions(), bc = fp.bc, end = s.heads * L * d;
  // Unguarded reads: flat index past the last head reads the zero padding.
  auto at = [&](const uint16_t* x, uint64_t i) { return i < end ? widen_half(s.in, x[i]) : 0.0f; };
  std::vector<float> out(s.heads * s.rows * d);
  const uint32_t H = fp.pv_groups, P = fp.bc / H;
  std::vector<float> sc(bc), p(bc), o(d), qf(d), oh(uint64_t(H) * d), lh(H);
  std::vector<float> ms(fp.splits), ls(fp.splits), os(uint64_t(fp.splits) * d);
  for (uint64_t h = 0; h < s.heads; ++h)
    for (uint64_t i = 0; i < s.rows; ++i) {
      const uint64_t qpos = s.past + i % s.seq;
      const uint16_t* qi = q + (h * s.rows + i) * d;
      for (uint64_t c = 0; c < d; ++c) qf[c] = widen_half(s.in, qi[c]);
      for (uint32_t sp = 0; sp < fp.splits; ++sp) {
        float m = kNegInf;
        std::fill(oh.begin(), oh.end(), 0.0f);
        std::fill(lh.begin(), lh.end(), 0.0f);
        for (uint64_t tl = uint64_t(sp) * fp.tps; tl < uint64_t(sp + 1) * fp.tps; ++tl) {
          for (uint32_t j = 0; j < bc; ++j) {
            const uint64_t jg = tl * bc + j;
            float acc = 0.0f;
            for (uint32_t g = 0; g < fp.g; ++g) {
              float part = 0.0f;
              for (uint64_t c = g * d / fp.g; c < (g + 1) * d / fp.g; ++c)
                part = std::fma(qf[c], at(k, (h * L + jg) * d + c), part);
              acc = g == 0 ? part : add_fp32(acc, part);
            }
            acc = mul_fp32(acc, s.scale);
            sc[j] = jg <= qpos ? acc : kNegInf;
          }
          float mn = m;
          for (uint32_t j8 = 0; j8 < bc; j8 += 8) {
            float m8 = sc[j8];
            for (uint32_t u = 1; u < 8; ++u) m8 = std::fmax(m8, sc[j8 + u]);
            mn = std::fmax(mn, m8);
          }
          const float alpha = std::exp2(mul_fp32(add_fp32(m, mul_fp32(mn, -1.0f)), kLog2e));
          m = mn;
          for (uint32_t j = 0; j < bc; ++j) p[j] = std::exp2(mul_fp32(add_fp32(sc[j], mul_fp32(mn, -1.0f)), kLog2e));
          // Position group g (the kernel's threads t / (d/2) = g when H > 1)
          // sums positions [g P, (g + 1) P) of the tile.
          for (uint32_t g = 0; g < H; ++g) {
            lh[g] = mul_fp32(lh[g], alpha);
            for (uint32_t j = g * P; j < (g + 1) * P; ++j) lh[g] = add_fp32(lh[g], p[j]);
            for (uint64_t c = 0; c < d; ++c) {
              float a = mul_fp32(oh[g * d + c], alpha);
              for (uint32_t j = g * P; j < (g + 1) * P; ++j) a = std::fma(p[j], at(v, (h * L + tl * bc + j) * d + c), a);
              oh[g * d + c] = a;
            }
          }
        }
        float l = lh[0];
        for (uint64_t c = 0; c < d; ++c) o[c] = oh[c];
        for (uint32_t g = 1; g < H; ++g) {
          l = add_fp32(l, lh[g]);
          for (uint64_t c = 0; c < d; ++c) o[c] = add_fp32(o[c], oh[g * d + c]);
        }
        ms[sp] = m, ls[sp] = l;
        std::copy(o.begin(), o.end(), os.begin() + long(sp * d));
      }
      float* y = &out[(h * s.rows + i) * d];
      if (fp.splits == 1) {
        const float inv = 1.0f / ls[0];
        for (uint64_t c = 0; c < d; ++c) y[c] = mul_fp32(os[c], inv);
        continue;
      }
      float mx = ms[0];
      for (uint32_t sp = 1; sp < fp.splits; ++sp) mx = std::fmax(mx, ms[sp]);
      for (uint64_t c = 0; c < d; ++c) {
        float big_o = 0.0f, big_l = 0.0f;
        for (uint32_t sp = 0; sp < fp.splits; ++sp) {
          const float f = std::exp2(mul_fp32(add_fp32(ms[sp], mul_fp32(mx, -1.0f)), kLog2e));
          big_o = std::fma(os[sp * d + c], f, big_o);
          big_l = std::fma(ls[sp], f, big_l);
        }
        y[c] = mul_fp32(big_o, 1.0f / big_l);
      }
    }
  return out;
}

}  // namespace xpu::lowering::gpu
