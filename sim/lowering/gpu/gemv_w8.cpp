#include "sim/lowering/gpu/gemv_w8.h"

#include <algorithm>
#include <cmath>

#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/gemv.h"
#include "sim/lowering/gpu/llm_kernels.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

constexpr uint32_t kWarps = 8, kThreads = 32 * kWarps;
constexpr uint32_t kChunk = 4;  // 16-byte weight loads per chunk (2 KB a warp)
constexpr uint32_t kStage = 4;  // x staging: 16-byte loads in flight per thread
constexpr uint32_t kSets = 3;   // chunks in flight: the next two load while one is consumed
constexpr uint32_t kRun = 512;  // weights (bytes) of one warp-wide 16-byte load

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

struct Smem {
  uint32_t xs, red, total;
  Smem(uint64_t m, uint64_t kp, uint32_t iters) {
    xs = 0;
    red = static_cast<uint32_t>(m * kp * 4);
    total = red + static_cast<uint32_t>(m) * iters * kWarps * kLaneSumStride * 4;
  }
};

// Rows per warp: the fewest that fit the grid in one wave of two CTAs per
// SM (a last, partial wave would leave SMs idle while the others stream),
// or of one CTA per SM when two do not fit the shared memory (x of several
// rows with a long K); 0 when neither fits.
uint32_t iters_of(const GpuConfig& cfg, uint64_t m, uint64_t kp, uint64_t n) {
  for (uint64_t per_sm = 2; per_sm >= 1; --per_sm) {
    uint32_t i = 1;
    while (i < 128 && (n + uint64_t(kWarps) * i - 1) / (uint64_t(kWarps) * i) > per_sm * cfg.sms) ++i;
    if (uint64_t(i) * kWarps * per_sm * cfg.sms >= n && Smem(m, kp, i).total <= cfg.shared.max_shared_bytes / per_sm)
      return i;
  }
  return 0;
}

}  // namespace

std::string gemv_w8_unsupported(const GpuConfig& cfg, const GemvW8Spec& s) {
  if (s.m == 0 || s.m > 4 || s.n == 0 || s.k == 0 || (s.in != DType::fp16 && s.in != DType::bf16) || s.ep.bias)
    return "int8-weight gemv: 1 to 4 rows of fp16/bf16 activations, no bias";
  const uint64_t kp = round_up(s.k, kRun);
  if (kp > (1u << 20) || iters_of(cfg, s.m, kp, s.n) == 0)
    return "int8-weight gemv: x (" + std::to_string(s.m) + " rows of " + std::to_string(kp) +
           " fp32) and the partial sums exceed the shared memory";
  return {};
}

void lower_gemv_w8(const GpuConfig& cfg, const GemvW8Spec& s, GemvW8Layout& L, NnPlan& plan) {
  if (const std::string why = gemv_w8_unsupported(cfg, s); !why.empty()) throw GpuLoweringError(why);
  const uint32_t M = static_cast<uint32_t>(s.m);
  L.kp = round_up(s.k, kRun);
  L.iters = iters_of(cfg, s.m, L.kp, s.n);
  const uint32_t rows_cta = kWarps * L.iters;
  L.np = round_up(s.n, rows_cta);
  L.x = 0;
  L.w = round_up(s.m * L.kp * 2, 256);
  L.scale = round_up(L.w + L.np * L.kp, 256);
  L.y = round_up(L.scale + L.np * 4, 256);
  L.bytes = round_up(L.y + s.m * L.np * 4, 256);
  const Smem sm(s.m, L.kp, L.iters);
  const uint32_t runs = static_cast<uint32_t>(L.kp / kRun);
  const int32_t row_bytes = static_cast<int32_t>(L.kp);

  KernelBuilder kb("gemv_w8");
  const uint8_t t = kb.reg(), lane = kb.reg(), warp = kb.reg(), wa = kb.reg(), xa = kb.reg(), ra = kb.reg(), tmp = kb.reg();
  const uint8_t wr = kb.reg(kSets * kChunk * 4);  // a ring of chunks of 16-byte loads
  const uint8_t xv = kb.reg(16), wf = kb.reg(16), u4 = kb.reg(4), acc = kb.reg(M), a = kb.reg(), b = kb.reg(), xr = kb.reg(4 * kStage);
  const uint8_t u = kb.reg(), m1 = kb.reg(), sc = kb.reg(), two126 = kb.reg(), minus128 = kb.reg();
  const uint8_t p = kb.pred(), ap = activation_needs(s.ep.act).predicate ? kb.pred() : kPT;
  kb.s2r(t, Special::tid);
  kb.alui(Op::and_, lane, t, 31);
  kb.alui(Op::shr, warp, t, 5);
  // Lane l reads bytes 16 l of each 512-byte run: Q at row (warp + 8 it), x at float 4 l (interleaved below).
  kb.mov(tmp, row_bytes);
  kb.alu(Op::imul, wa, warp, tmp);
  kb.alui(Op::shl, tmp, lane, 4);
  kb.alu(Op::iadd, wa, wa, tmp);
  kb.alui(Op::shl, xa, lane, 4);
  // ra: where this lane parks its row sums, word (warp + 8 it) kLaneSumStride
  // + lane of [m][rows][kLaneSumStride] (gemv.h).
  kb.mov(tmp, static_cast<int32_t>(kLaneSumStride));
  kb.alu(Op::imul, ra, warp, tmp);
  kb.alu(Op::iadd, ra, ra, lane);
  kb.alui(Op::shl, ra, ra, 2);
  if (activation_needs(s.ep.act).minus_one) kb.mov(m1, static_cast<int32_t>(float_to_bits(-1.0f)));

  const uint32_t chunks_per_row = (runs + kChunk - 1) / kChunk;
  const uint32_t total = L.iters * chunks_per_row;
  auto issue = [&](uint32_t q) {
    const uint32_t it = q / chunks_per_row, c0 = (q % chunks_per_row) * kChunk;
    const uint8_t set = static_cast<uint8_t>(wr + (q % kSets) * kChunk * 4);
    for (uint32_t c = c0; c < std::min(runs, c0 + kChunk); ++c)
      kb.ldg(static_cast<uint8_t>(set + (c - c0) * 4), 1, wa,
             static_cast<int32_t>(it * kWarps) * row_bytes + static_cast<int32_t>(c * kRun), 16);
  };
  for (uint32_t q = 0; q + 1 < kSets && q < total; ++q) issue(q);
  // x [m, kp] widened into shared memory, 8 elements (16 bytes) per thread
  // and step, each 512-element run interleaved so that a warp's 16-byte
  // reads are contiguous: element 16 l + 4 v + e of a run (lane l's v-th
  // group of four) at float 128 v + 4 l + e. Thread t's two groups 2t, 2t + 1
  // go to run t / 64, floats 4 (32 (2 (t % 2)) + (t % 64) / 2) and 128 on.
  const uint64_t xchunks = s.m * L.kp / 8, xsteps = (xchunks + kThreads - 1) / kThreads;
  kb.alui(Op::shl, tmp, t, 4);
  kb.alui(Op::shr, a, t, 6);
  kb.alui(Op::shl, a, a, 11);
  kb.alui(Op::and_, b, t, 1);
  kb.alui(Op::shl, b, b, 10);
  kb.alu(Op::iadd, a, a, b);
  kb.alui(Op::and_, b, t, 63);
  kb.alui(Op::shr, b, b, 1);
  kb.alui(Op::shl, b, b, 4);
  kb.alu(Op::iadd, a, a, b);
  for (uint64_t i0 = 0; i0 < xsteps; i0 += kStage) {
    const uint64_t i1 = std::min<uint64_t>(xsteps, i0 + kStage);
    for (uint64_t i = i0; i < i1; ++i) {
      kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(xchunks - i * kThreads));
      kb.ldg(static_cast<uint8_t>(xr + 4 * (i - i0)), 0, tmp, static_cast<int32_t>(i * kThreads * 16), 16).guard = p;
    }
    for (uint64_t i = i0; i < i1; ++i) {
      const uint8_t xi = static_cast<uint8_t>(xr + 4 * (i - i0));
      for (uint32_t e = 0; e < 4; ++e) emit_widen_pair(kb, s.in, xv + 2 * e, xv + 2 * e + 1, xi + e);
      kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(xchunks - i * kThreads));
      kb.sts(a, static_cast<int32_t>(sm.xs + i * kThreads * 32), xv, 16).guard = p;
      kb.sts(a, static_cast<int32_t>(sm.xs + i * kThreads * 32 + 512), xv + 4, 16).guard = p;
    }
  }
  kb.bar();
  // fp16 x: q 2^-23 = ffma(b 2^-149, 2^126, -128 2^-23) (b's bits read as a
  // float are the denormal b 2^-149); bf16 x reaches 2^-133, where x q 2^-23
  // could underflow: q itself, from bits(2^23 + b) - (2^23 + 128).
  const bool scaled = s.in == DType::fp16;
  kb.mov(two126, static_cast<int32_t>(float_to_bits(0x1p126f)));
  kb.mov(minus128, static_cast<int32_t>(float_to_bits(-0x1p-16f)));
  for (uint32_t q = 0; q < total; ++q) {
    const uint32_t it = q / chunks_per_row, c0 = (q % chunks_per_row) * kChunk;
    if (c0 == 0)
      for (uint32_t i = 0; i < M; ++i) kb.mov(acc + i, 0);
    if (q + kSets - 1 < total) issue(q + kSets - 1);
    const uint8_t set = static_cast<uint8_t>(wr + (q % kSets) * kChunk * 4);
    for (uint32_t c = c0; c < std::min(runs, c0 + kChunk); ++c) {
      // The run's 16 weights k = 512 c + 16 l + 4 word + e to exact fp32,
      // step by step over all 16 (independent instructions back to back,
      // as a compiler schedules them: a warp issues in order).
      const uint8_t w4 = static_cast<uint8_t>(set + (c - c0) * 4);
      auto f = [&](uint32_t word, uint32_t e) { return static_cast<uint8_t>(wf + 4 * word + e); };
      for (uint32_t word = 0; word < 4; ++word)
        kb.alui(Op::xor_, static_cast<uint8_t>(u4 + word), static_cast<uint8_t>(w4 + word), static_cast<int32_t>(0x80808080u));
      for (uint32_t e = 1; e < 4; ++e)
        for (uint32_t word = 0; word < 4; ++word) kb.alui(Op::shr, f(word, e), static_cast<uint8_t>(u4 + word), static_cast<int32_t>(8 * e));
      for (uint32_t word = 0; word < 4; ++word) {
        kb.alui(Op::and_, f(word, 0), static_cast<uint8_t>(u4 + word), 0xFF);
        kb.alui(Op::and_, f(word, 1), f(word, 1), 0xFF);
        kb.alui(Op::and_, f(word, 2), f(word, 2), 0xFF);
      }
      for (uint32_t e = 0; e < 16; ++e) {
        const uint8_t fe = static_cast<uint8_t>(wf + e);
        if (scaled) {
          kb.alu(Op::ffma, fe, fe, two126, minus128);
        } else {
          kb.alui(Op::or_, fe, fe, 0x4B000000);  // 2^23 + b
          kb.alui(Op::fadd, fe, fe, static_cast<int32_t>(float_to_bits(-8388736.0f)));  // - (2^23 + 128)
        }
      }
      for (uint32_t i = 0; i < M; ++i) {
        const int32_t xo = static_cast<int32_t>(sm.xs + (i * L.kp + c * kRun) * 4);
        for (uint32_t v = 0; v < 4; ++v) kb.lds(static_cast<uint8_t>(xv + 4 * v), xa, xo + static_cast<int32_t>(512 * v), 16);
        for (uint32_t e = 0; e < 16; ++e)
          kb.alu(Op::ffma, acc + i, static_cast<uint8_t>(xv + e), static_cast<uint8_t>(wf + e), acc + i);
      }
    }
    if (c0 + kChunk >= runs)  // the row is done: park the lanes' sums
      for (uint32_t i = 0; i < M; ++i)
        kb.sts(ra, static_cast<int32_t>(sm.red + ((i * rows_cta + it * kWarps) * kLaneSumStride) * 4), acc + i);
  }
  kb.bar();
  // Thread r (the CTA's row r = 8 it + warp) sums the row's 32 lane sums in
  // lane order, scales, applies the activation and stores y[i][r].
  for (uint32_t base = 0; base < rows_cta; base += kThreads) {
    kb.setpi(Op::isetp, p, Cmp::lt, t, static_cast<int32_t>(std::min(kThreads, rows_cta - base)));
    kb.if_(p, false, [&] {
      kb.alui(Op::iadd, a, t, static_cast<int32_t>(base));  // r
      kb.alui(Op::shl, b, a, 2);
      kb.ldg(sc, 2, b, 0);  // the row's scale
      kb.mov(b, static_cast<int32_t>(kLaneSumStride * 4));
      kb.alu(Op::imul, tmp, a, b);  // the row's lane sums: r kLaneSumStride 4 bytes
      kb.alui(Op::shl, a, a, 2);      // y byte of row r
      for (uint32_t i = 0; i < M; ++i) {
        const int32_t blk = static_cast<int32_t>(sm.red + i * rows_cta * kLaneSumStride * 4);
        emit_lane_order_sum(kb, acc, tmp, blk, xv);
        if (scaled) kb.alui(Op::fmul, acc, acc, static_cast<int32_t>(float_to_bits(0x1p23f)));  // exact: the sum over q
        kb.alu(Op::fmul, acc, acc, sc);
        if (s.ep.act != Activation::none)
          emit_activation(kb, s.ep.act, s.ep.p0, s.ep.p1, acc, acc,
                          ActScratch{activation_needs(s.ep.act).scratch ? wf : acc, u, m1, ap});
        kb.stg(3, a, static_cast<int32_t>(i * L.np * 4), acc);
      }
    });
  }
  Launch& ln = plan.finish(kb, kThreads, sm.total);
  const uint64_t ctas = L.np / rows_cta;
  std::vector<uint64_t> wb, sb, yb;
  for (uint64_t c = 0; c < ctas; ++c) {
    wb.push_back(L.w + c * rows_cta * L.kp);
    sb.push_back(L.scale + c * rows_cta * 4);
    yb.push_back(L.y + c * rows_cta * 4);
  }
  set_bases(ln, static_cast<uint32_t>(ctas), 4, {nullptr, &wb, &sb, &yb}, {L.x, 0, 0, 0});
}

std::vector<uint32_t> reference_gemv_w8(const GemvW8Spec& s, const uint16_t* x, const int8_t* q, const float* scale) {
  const uint64_t kp = round_up(s.k, kRun);
  std::vector<uint32_t> y(s.m * s.n);
  float part[32];
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t n = 0; n < s.n; ++n) {
      for (uint32_t l = 0; l < 32; ++l) {
        float acc = 0.0f;
        for (uint64_t c = 0; c < kp / kRun; ++c)
          for (uint32_t e = 0; e < 16; ++e) {
            const uint64_t k = kRun * c + 16 * l + e;
            acc = k < s.k ? std::fma(widen_half(s.in, x[i * s.k + k]), float(q[n * s.k + k]), acc)
                          : std::fma(0.0f, 0.0f, acc);
          }
        part[l] = acc;
      }
      float sum = part[0];
      for (uint32_t l = 1; l < 32; ++l) sum = add_fp32(sum, part[l]);
      y[i * s.n + n] = float_to_bits(sum * scale[n]);
    }
  reference_epilogue(s.ep, s.m, s.n, nullptr, y);
  return y;
}

void quantize_rows_int8(uint64_t n, uint64_t k, const float* w, int8_t* q, float* scale) {
  for (uint64_t r = 0; r < n; ++r) {
    scale[r] = scale_for(tensor_max_abs(w + r * k, k));
    quantize(w + r * k, k, scale[r], q + r * k);
  }
}

}  // namespace xpu::lowering::gpu
