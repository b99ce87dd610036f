#include "sim/lowering/gpu/gemv.h"

#include <algorithm>
#include <cmath>

#include "models/gpu/kernel_builder.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/fp16.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

constexpr uint32_t kThreads = 128, kWarps = 4;
// A warp's 16-byte weight loads (lane l: bytes 16 l of a 512-byte run) go
// through a ring of kRing slots: kRing - 1 are in flight while one is
// consumed (11.5 KB a warp). A small GEMV's whole share of W fits the ring,
// so all of it is requested before the first byte arrives: one DRAM latency
// per kernel, not one per row.
constexpr uint32_t kRing = 24;

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

// Rows per warp: the busiest SM's rows, ceil(CTAs / SMs) x 4 iters, as
// few as the grid allows (whole waves: a last, partial wave of CTAs would
// leave SMs idle while the others stream), then the fewest CTAs (each
// stages x once), counted as a tenth of a row each.
uint32_t iters_of(const GpuConfig& cfg, uint64_t n) {
  uint32_t best = 1;
  double best_cost = 0;
  for (uint32_t i = 1; i <= 128; ++i) {
    const uint64_t ctas = (n + uint64_t(kWarps) * i - 1) / (uint64_t(kWarps) * i);
    const uint64_t per_sm = (ctas + cfg.sms - 1) / cfg.sms;
    const double cost = double(per_sm * i) + 0.1 * double(per_sm);
    if (i == 1 || cost < best_cost) best = i, best_cost = cost;
    if (ctas <= cfg.sms) break;  // more rows per warp only lengthens the one wave
  }
  return best;
}

struct Smem {
  uint32_t xs, red, total;
  Smem(uint64_t m, uint64_t kp, uint32_t iters) {
    xs = 0;
    red = static_cast<uint32_t>(m * kp * 4);
    total = red + static_cast<uint32_t>(m) * iters * kWarps * kLaneSumStride * 4;
  }
};

// Registers the folded norm uses (all free between x's staging and the
// main loop): t the thread, sa its x chunks' shared address, ga and sc
// scratch (addresses), g 32 registers (gamma of up to 4 steps), v 8,
// acc + i the sums of squares of row i (then its inv), q a predicate, nr
// the bf16 rounding's scratch (data: never an address).
struct NormRegs {
  uint8_t t, sa, ga, sc, g, v, acc, q, nr;
};

// The folded rmsnorm (gemv.h's order): the tree over the CTA's 128 sums of
// squares per row in 512 bytes each at `red`, inv per row, then every
// thread rescales its own chunks in shared memory (the addresses it staged
// them at) by inv and gamma, rounding each to the 16-bit type.
void emit_norm(KernelBuilder& kb, const GemvSpec& s, const GemvLayout& L, uint32_t xs, uint32_t red, const NormRegs& r) {
  const uint32_t M = static_cast<uint32_t>(s.m), S = static_cast<uint32_t>(L.kp / 1024);
  const uint8_t gbuf = static_cast<uint8_t>(3 + (s.ep.bias ? 1 : 0) + (s.ep.residual ? 1 : 0));
  // Gamma of steps s0 .. s0 + 3: thread t's 8 floats of step s at byte 32 (128 s + t).
  kb.alui(Op::shl, r.ga, r.t, 5);
  const auto load_gamma = [&](uint32_t s0) {
    for (uint32_t st = s0; st < std::min(S, s0 + 4); ++st)
      for (uint32_t h = 0; h < 2; ++h)
        kb.ldg(static_cast<uint8_t>(r.g + 8 * (st - s0) + 4 * h), gbuf, r.ga, static_cast<int32_t>(st * 4096 + 16 * h), 16);
  };
  load_gamma(0);  // in flight during the tree
  kb.alui(Op::shl, r.sc, r.t, 2);
  const auto row_at = [&](uint32_t i) { return static_cast<int32_t>(red + i * 512); };
  for (uint32_t i = 0; i < M; ++i) kb.sts(r.sc, row_at(i), static_cast<uint8_t>(r.acc + i));
  kb.bar();
  for (uint32_t st = kThreads / 2; st >= 1; st /= 2) {
    kb.setpi(Op::isetp, r.q, Cmp::lt, r.t, static_cast<int32_t>(st));
    for (uint32_t i = 0; i < M; ++i) {
      kb.lds(r.v, r.sc, row_at(i)).guard = r.q;
      kb.lds(r.v + 1, r.sc, row_at(i) + static_cast<int32_t>(4 * st)).guard = r.q;
      kb.alu(Op::fadd, r.v, r.v, r.v + 1).guard = r.q;
      kb.sts(r.sc, row_at(i), r.v).guard = r.q;
    }
    kb.bar();
  }
  for (uint32_t i = 0; i < M; ++i) {
    const uint8_t inv = static_cast<uint8_t>(r.acc + i);
    kb.lds(inv, kRZ, row_at(i));
    kb.alui(Op::fmul, inv, inv, static_cast<int32_t>(float_to_bits(1.0f / float(s.k))));
    kb.alui(Op::fadd, inv, inv, static_cast<int32_t>(float_to_bits(s.eps)));
    kb.alu(Op::rsq, inv, inv, kRZ);
  }
  for (uint32_t s0 = 0; s0 < S; s0 += 4) {
    if (s0 > 0) load_gamma(s0);
    for (uint32_t i = 0; i < M; ++i)
      for (uint32_t st = s0; st < std::min(S, s0 + 4); ++st) {
        const int32_t at = static_cast<int32_t>(xs + (i * S + st) * kThreads * 32);
        kb.lds(r.v, r.sa, at, 16);
        kb.lds(r.v + 4, r.sa, at + 512, 16);
        for (uint32_t e = 0; e < 8; ++e) {
          const uint8_t v = static_cast<uint8_t>(r.v + e);
          kb.alu(Op::fmul, v, v, static_cast<uint8_t>(r.acc + i));
          kb.alu(Op::fmul, v, v, static_cast<uint8_t>(r.g + 8 * (st - s0) + e));
          emit_narrow16(kb, s.in, v, v, r.nr);
          emit_widen16(kb, s.in, v, v);
        }
        kb.sts(r.sa, at, r.v, 16);
        kb.sts(r.sa, at + 512, r.v + 4, 16);
      }
  }
}

}  // namespace

uint64_t gemv_kp(const GemvSpec& s) { return round_up(s.k, s.norm ? 1024 : 256); }

std::string gemv_unsupported(const GpuConfig& cfg, const GemvSpec& s) {
  if (s.m == 0 || s.m > 4 || s.n == 0 || s.k == 0 || (s.in != DType::fp16 && s.in != DType::bf16))
    return "gemv: 1 to 4 rows of fp16/bf16";
  if (s.gated && (s.n % 2 != 0 || s.ep.bias || s.ep.residual)) return "gemv: a gated GEMV has gate and up rows, no bias or residual";
  const uint64_t kp = gemv_kp(s);
  const uint32_t iters = iters_of(cfg, s.n);
  if (iters > 128 || kp > (1u << 20) || Smem(s.m, kp, iters).total > cfg.shared.max_shared_bytes / 2)
    return "gemv: x and the partial sums exceed half the shared memory";
  return {};
}

void emit_lane_order_sum(KernelBuilder& kb, uint8_t acc, uint8_t tmp, int32_t blk, uint8_t xv) {
  kb.lds(acc, tmp, blk);
  for (uint32_t l = 1; l < 32; l += 8) {
    for (uint32_t v = 0; v < 8 && l + v < 32; ++v) kb.lds(xv + v, tmp, blk + static_cast<int32_t>(4 * (l + v)));
    for (uint32_t v = 0; v < 8 && l + v < 32; ++v) kb.alu(Op::fadd, acc, acc, xv + v);
  }
}

void lower_gemv(const GpuConfig& cfg, const GemvSpec& s, GemvLayout& L, NnPlan& plan) {
  if (const std::string why = gemv_unsupported(cfg, s); !why.empty()) throw GpuLoweringError(why);
  const uint32_t M = static_cast<uint32_t>(s.m);
  L.kp = gemv_kp(s);
  L.iters = iters_of(cfg, s.n);
  const uint32_t rows_cta = kWarps * L.iters;
  L.np = round_up(s.n, rows_cta);
  L.ldy = L.np;
  L.half = L.gate_rows = 0;
  if (s.gated) {  // each CTA block: half gate rows, then their up rows
    L.half = rows_cta / 2;
    L.gate_rows = s.n / 2;
    L.ldy = round_up(s.n / 2, L.half);
    L.np = 2 * L.ldy;
  }
  const uint32_t out_cta = s.gated ? rows_cta / 2 : rows_cta;  // outputs of a CTA per x row
  L.x = 0;
  L.w = round_up(s.m * L.kp * 2, 256);
  L.y = round_up(L.w + L.np * L.kp * 2, 256);
  L.bias = s.ep.bias ? round_up(L.y + s.m * L.ldy * 4, 256) : 0;
  const uint64_t end = s.ep.bias ? L.bias + L.np * 4 : L.y + s.m * L.ldy * 4;
  L.res = s.ep.residual ? round_up(end, 256) : 0;
  const uint64_t end2 = round_up(s.ep.residual ? L.res + s.m * L.np * 2 : end, 256);
  L.gamma = s.norm ? end2 : 0;
  L.bytes = s.norm ? round_up(L.gamma + L.kp * 4, 256) : end2;
  const Smem sm(s.m, L.kp, L.iters);
  const uint32_t runs = static_cast<uint32_t>(L.kp / 256);  // 512-byte runs per weight row
  const int32_t row_bytes = static_cast<int32_t>(L.kp * 2);

  KernelBuilder kb(s.norm ? "rmsnorm_gemv" : "gemv");
  const uint8_t t = kb.reg(), lane = kb.reg(), warp = kb.reg(), wa = kb.reg(), xa = kb.reg(), ra = kb.reg(), tmp = kb.reg();
  const uint8_t wr = kb.reg(kRing * 4);  // the ring of 16-byte loads
  const uint32_t bias_regs = s.ep.bias ? (rows_cta + kThreads - 1) / kThreads : 0;
  const uint8_t bv = bias_regs ? kb.reg(bias_regs) : 0;
  // The residual of each (row block, x row), loaded with the bias.
  const uint32_t res_regs = s.ep.residual ? (rows_cta + kThreads - 1) / kThreads * M : 0;
  const uint8_t rv = res_regs ? kb.reg(res_regs) : 0, rb = res_regs ? kb.reg() : 0;
  const uint8_t xv = kb.reg(8), wv = kb.reg(8), acc = kb.reg(M), a = kb.reg(), b = kb.reg(), xr = kb.reg(32);
  const uint8_t u = kb.reg(), m1 = kb.reg();
  const uint8_t nr = s.norm ? kb.reg() : 0;
  const uint8_t up_sum = s.gated ? kb.reg() : 0, up_at = s.gated ? kb.reg() : 0, up_row = s.gated ? kb.reg() : 0;
  const uint8_t p = kb.pred(), ap = activation_needs(s.ep.act).predicate ? kb.pred() : kPT;
  kb.s2r(t, Special::tid);
  kb.alui(Op::and_, lane, t, 31);
  kb.alui(Op::shr, warp, t, 5);
  // Lane l reads bytes 16 l of each 512-byte run: W at row (warp + 4 it);
  // x's elements 8 l .. 8 l + 7 of the run, widened, at floats 4 l and 128 + 4 l
  // of the run's 256 (each 16-byte read of a warp one contiguous 512 bytes:
  // no bank conflicts; 8 floats a lane in a row put lanes l and l + 4 in one bank).
  kb.mov(tmp, row_bytes);
  kb.alu(Op::imul, wa, warp, tmp);
  kb.alui(Op::shl, tmp, lane, 4);
  kb.alu(Op::iadd, wa, wa, tmp);
  kb.alui(Op::shl, xa, lane, 4);
  kb.alui(Op::shl, ra, t, 2);  // the bias of row t
  if (activation_needs(s.ep.act).minus_one) kb.mov(m1, static_cast<int32_t>(float_to_bits(-1.0f)));
  // Thread r loads the bias of the CTA's row r (and r + 128, ...) now, so
  // its latency passes while the weights stream.
  for (uint32_t base = 0, i = 0; base < rows_cta && bias_regs; base += kThreads, ++i) {
    kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(std::min(kThreads, rows_cta - base)));
    kb.ldg(static_cast<uint8_t>(bv + i), 3, ra, static_cast<int32_t>(base * 4), 4).guard = p;
  }
  const uint8_t res_buf = s.ep.bias ? 4 : 3;
  if (res_regs) kb.alui(Op::shl, rb, t, 1);
  for (uint32_t base = 0, bi = 0; base < rows_cta && res_regs; base += kThreads, ++bi) {
    kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(std::min(kThreads, rows_cta - base)));
    for (uint32_t i = 0; i < M; ++i)
      kb.ldg(static_cast<uint8_t>(rv + bi * M + i), res_buf, rb, static_cast<int32_t>((base + i * L.np) * 2), 2).guard = p;
  }

  // From here ra is where this lane parks its row sums: word
  // (warp + 4 it) kLaneSumStride + lane of [m][rows][kLaneSumStride].
  kb.mov(tmp, static_cast<int32_t>(kLaneSumStride));
  kb.alu(Op::imul, ra, warp, tmp);
  kb.alu(Op::iadd, ra, ra, lane);
  kb.alui(Op::shl, ra, ra, 2);

  // Every (row iteration, run) in one software-pipelined sequence: load
  // j = it runs + c is consumed while loads j + 1 .. j + kRing - 1 are in flight.
  const uint32_t total = L.iters * runs;
  const auto slot = [&](uint32_t j) { return static_cast<uint8_t>(wr + (j % kRing) * 4); };
  auto issue = [&](uint32_t j) {
    const uint32_t it = j / runs, c = j % runs;
    kb.ldg(slot(j), 1, wa, static_cast<int32_t>(it * kWarps) * row_bytes + static_cast<int32_t>(c * 512), 16);
  };
  // x [m, kp] widened into shared memory, 8 elements (16 bytes) per thread
  // and step, the loads of up to 8 steps in flight together. Every FFMA
  // waits for x, so x's first loads go out before the weights' (which do
  // not need it): behind them, x would arrive with the last weight bytes.
  const uint64_t xchunks = s.m * L.kp / 8, xsteps = (xchunks + kThreads - 1) / kThreads;
  kb.alui(Op::shl, tmp, t, 4);
  // Thread t's chunk i 128 + t is lane t's of run 4 i + warp (kp: whole runs).
  kb.alui(Op::shl, a, warp, 10);
  kb.alui(Op::shl, b, lane, 4);
  kb.alu(Op::iadd, a, a, b);
  const auto load_x = [&](uint64_t i0) {
    for (uint64_t i = i0; i < std::min<uint64_t>(xsteps, i0 + 8); ++i) {
      kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(xchunks - i * kThreads));
      kb.ldg(static_cast<uint8_t>(xr + 4 * (i - i0)), 0, tmp, static_cast<int32_t>(i * kThreads * 16), 16).guard = p;
    }
  };
  load_x(0);
  for (uint32_t j = 0; j + 1 < kRing && j < total; ++j) issue(j);
  // Folded norm: acc + i sums the squares of thread t's chunks of row i
  // (every step whole: kp a multiple of 1024, so step i is row i / S's).
  const uint64_t S = L.kp / 1024;
  if (s.norm)
    for (uint32_t i = 0; i < M; ++i) kb.mov(acc + i, 0);
  for (uint64_t i0 = 0; i0 < xsteps; i0 += 8) {
    if (i0 > 0) load_x(i0);
    for (uint64_t i = i0; i < std::min<uint64_t>(xsteps, i0 + 8); ++i) {
      const uint8_t xi = static_cast<uint8_t>(xr + 4 * (i - i0));
      for (uint32_t e = 0; e < 4; ++e) emit_widen_pair(kb, s.in, wv + 2 * e, wv + 2 * e + 1, xi + e);
      kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(xchunks - i * kThreads));
      kb.sts(a, static_cast<int32_t>(sm.xs + i * kThreads * 32), wv, 16).guard = p;
      kb.sts(a, static_cast<int32_t>(sm.xs + i * kThreads * 32 + 512), wv + 4, 16).guard = p;
      if (s.norm)
        for (uint32_t e = 0; e < 8; ++e)
          kb.alu(Op::ffma, static_cast<uint8_t>(acc + i / S), wv + e, wv + e, static_cast<uint8_t>(acc + i / S));
    }
  }
  if (s.norm) emit_norm(kb, s, L, sm.xs, sm.red, NormRegs{t, a, b, u, xr, wv, acc, p, nr});
  kb.bar();
  for (uint32_t j = 0; j < total; ++j) {
    const uint32_t it = j / runs, c = j % runs;
    if (c == 0)
      for (uint32_t i = 0; i < M; ++i) kb.mov(acc + i, 0);
    if (j + kRing - 1 < total) issue(j + kRing - 1);
    for (uint32_t e = 0; e < 4; ++e) emit_widen_pair(kb, s.in, wv + 2 * e, wv + 2 * e + 1, slot(j) + e);
    for (uint32_t i = 0; i < M; ++i) {
      const int32_t xo = static_cast<int32_t>(sm.xs + (i * L.kp + c * 256) * 4);
      kb.lds(xv, xa, xo, 16);
      kb.lds(xv + 4, xa, xo + 512, 16);
      for (uint32_t e = 0; e < 8; ++e) kb.alu(Op::ffma, acc + i, xv + e, wv + e, acc + i);
    }
    if (c + 1 == runs)  // the row is done: park the lanes' sums
      for (uint32_t i = 0; i < M; ++i)
        kb.sts(ra, static_cast<int32_t>(sm.red + ((i * rows_cta + it * kWarps) * kLaneSumStride) * 4), acc + i);
  }
  kb.bar();
  // Thread r < 4 iters (the CTA's row r = 4 it + warp) sums the row's 32
  // lane sums in lane order, applies the epilogue and stores y[i][r]
  // (gated: r < 2 iters, its gate row r and up row r + 2 iters).
  // at = the lane sums of CTA row `row` (another register): row kLaneSumStride 4 bytes.
  const auto sums_at = [&](uint8_t at, uint8_t row) {
    kb.mov(b, static_cast<int32_t>(kLaneSumStride * 4));
    kb.alu(Op::imul, at, row, b);
  };
  for (uint32_t base = 0, bi = 0; base < out_cta; base += kThreads, ++bi) {
    kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(std::min(kThreads, out_cta - base)));
    kb.if_(p, false, [&] {
      kb.alui(Op::iadd, a, t, static_cast<int32_t>(base));  // r
      sums_at(tmp, a);
      if (s.gated) {
        kb.alui(Op::iadd, up_row, a, static_cast<int32_t>(L.half));
        sums_at(up_at, up_row);
      }
      kb.alui(Op::shl, a, a, 2);  // y byte of output r
      for (uint32_t i = 0; i < M; ++i) {
        const int32_t blk = static_cast<int32_t>(sm.red + i * rows_cta * kLaneSumStride * 4);
        emit_lane_order_sum(kb, acc, tmp, blk, xv);
        if (s.ep.bias) kb.alu(Op::fadd, acc, acc, static_cast<uint8_t>(bv + bi));
        if (res_regs) {
          const uint8_t r16 = static_cast<uint8_t>(rv + bi * M + i);
          emit_widen16(kb, s.in, r16, r16);
          kb.alu(Op::fadd, acc, acc, r16);
        }
        if (s.ep.act != Activation::none)
          emit_activation(kb, s.ep.act, s.ep.p0, s.ep.p1, acc, acc,
                          ActScratch{activation_needs(s.ep.act).scratch ? wv : acc, u, m1, ap});
        if (s.gated) {
          emit_lane_order_sum(kb, up_sum, up_at, blk, xv);
          kb.alu(Op::fmul, acc, acc, up_sum);
        }
        kb.stg(2, a, static_cast<int32_t>(i * L.ldy * 4), acc);
      }
    });
  }
  Launch& ln = plan.finish(kb, kThreads, sm.total);
  const uint64_t ctas = L.np / rows_cta;
  std::vector<uint64_t> wb, yb, bb, rsb;
  for (uint64_t c = 0; c < ctas; ++c) {
    wb.push_back(L.w + c * rows_cta * L.kp * 2);
    yb.push_back(L.y + c * out_cta * 4);
    bb.push_back(L.bias + c * rows_cta * 4);
    rsb.push_back(L.res + c * rows_cta * 2);
  }
  std::vector<const std::vector<uint64_t>*> per = {nullptr, &wb, &yb};
  std::vector<uint64_t> fixed = {L.x, 0, 0};
  if (s.ep.bias) per.push_back(&bb), fixed.push_back(0);
  if (s.ep.residual) per.push_back(&rsb), fixed.push_back(0);
  if (s.norm) per.push_back(nullptr), fixed.push_back(L.gamma);
  set_bases(ln, static_cast<uint32_t>(ctas), static_cast<uint32_t>(per.size()), per, fixed);
}

std::vector<uint16_t> reference_gemv_norm(const GemvSpec& s, const uint16_t* x, const float* gamma) {
  const uint64_t S = gemv_kp(s) / 1024;
  const float inv_k = 1.0f / float(s.k);
  std::vector<uint16_t> out(s.m * s.k);
  float q[kThreads];
  for (uint64_t i = 0; i < s.m; ++i) {
    const uint16_t* xi = x + i * s.k;
    const auto xv = [&](uint64_t k) { return k < s.k ? widen_half(s.in, xi[k]) : 0.0f; };
    for (uint32_t t = 0; t < kThreads; ++t) {
      float acc = 0.0f;
      for (uint64_t st = 0; st < S; ++st)
        for (uint32_t e = 0; e < 8; ++e) {
          const float v = xv(8 * (128 * st + t) + e);
          acc = std::fma(v, v, acc);
        }
      q[t] = acc;
    }
    for (uint32_t st = kThreads / 2; st >= 1; st /= 2)
      for (uint32_t t = 0; t < st; ++t) q[t] = add_fp32(q[t], q[t + st]);
    const float mean = add_fp32(mul_fp32(q[0], inv_k), s.eps);
    const float inv = 1.0f / std::sqrt(mean);
    for (uint64_t k = 0; k < s.k; ++k)
      out[i * s.k + k] = narrow16(s.in, mul_fp32(mul_fp32(xv(k), inv), gamma[k]));
  }
  return out;
}

std::vector<uint32_t> reference_gemv(const GemvSpec& s, const uint16_t* x, const uint16_t* w, const float* bias,
                                     const float* res, const float* gamma) {
  if (s.norm) {
    if (!gamma) throw xpu::InternalError("gemv reference: the folded norm's gamma missing");
    const std::vector<uint16_t> xn = reference_gemv_norm(s, x, gamma);
    GemvSpec plain = s;
    plain.norm = false;
    return reference_gemv(plain, xn.data(), w, bias, res);
  }
  if (s.gated) {
    // The gate and up rows as one plain GEMV, then act(gate) x up.
    GemvSpec plain = s;
    plain.gated = false;
    plain.ep = TcEpilogue{};
    const std::vector<uint32_t> all = reference_gemv(plain, x, w);
    const uint64_t f = s.n / 2;
    std::vector<uint32_t> g(s.m * f);
    for (uint64_t i = 0; i < s.m; ++i)
      for (uint64_t j = 0; j < f; ++j) g[i * f + j] = all[i * s.n + j];
    TcEpilogue act;
    act.act = s.ep.act, act.p0 = s.ep.p0, act.p1 = s.ep.p1;
    reference_epilogue(act, s.m, f, nullptr, g, nullptr, s.in);
    for (uint64_t i = 0; i < s.m; ++i)
      for (uint64_t j = 0; j < f; ++j)
        g[i * f + j] = float_to_bits(mul_fp32(bits_to_float(g[i * f + j]), bits_to_float(all[i * s.n + f + j])));
    return g;
  }
  const uint64_t kp = round_up(s.k, 256);  // the padding past k adds fma(0, 0, acc): any multiple of 256 alike
  std::vector<uint32_t> y(s.m * s.n);
  float part[32];
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t n = 0; n < s.n; ++n) {
      for (uint32_t l = 0; l < 32; ++l) {
        float acc = 0.0f;
        for (uint64_t c = 0; c < kp / 256; ++c)
          for (uint32_t e = 0; e < 8; ++e) {
            const uint64_t k = 256 * c + 8 * l + e;
            acc = k < s.k ? std::fma(widen_half(s.in, x[i * s.k + k]), widen_half(s.in, w[n * s.k + k]), acc)
                          : std::fma(0.0f, 0.0f, acc);
          }
        part[l] = acc;
      }
      float sum = part[0];
      for (uint32_t l = 1; l < 32; ++l) sum = add_fp32(sum, part[l]);
      y[i * s.n + n] = float_to_bits(sum);
    }
  if (s.ep.bias && !bias) throw xpu::InternalError("gemv reference: bias values missing");
  TcEpilogue ep = s.ep;
  ep.out16 = false;  // y is fp32
  reference_epilogue(ep, s.m, s.n, bias, y, res, s.in);
  return y;
}

}  // namespace xpu::lowering::gpu
