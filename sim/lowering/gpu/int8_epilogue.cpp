#include "sim/lowering/gpu/int8_epilogue.h"

#include <algorithm>
#include <cmath>

#include "sim/lowering/gpu/activation.h"
#include "sim/numerics/float_bits.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

int32_t fimm(float f) { return static_cast<int32_t>(float_to_bits(f)); }
uint32_t stage_pitch(const GemmTiling& t) { return t.bn * 4 + 16; }  // padded: fewer bank conflicts

}  // namespace

uint32_t int8_stage_bytes(const GemmTiling& t, uint32_t mma_m) { return (t.bm / t.wm) * mma_m * stage_pitch(t); }

uint32_t epilogue_shared(uint32_t mainloop, const GemmTiling& t, const MmaShape& mma, const TcEpilogue& ep) {
  return ep.out8 ? std::max(mainloop, int8_stage_bytes(t, mma.m())) : mainloop;
}

std::pair<float, float> int8_layer_scales(uint64_t fan_in) {
  const int e = fan_in < 2 ? 0 : int(std::lround(0.5 * std::log2(double(fan_in))));
  const float s_act = 0x1p-5f, s_w = std::ldexp(1.0f, -7 - e);
  return {s_act * s_w, 1.0f / s_act};
}

void emit_int8_epilogue(KernelBuilder& kb, const TcKernelDesc& d, const std::vector<Frag>& accs, uint32_t fm,
                        uint32_t fn, const TcEpilogueRegs& r) {
  const GemmTiling& t = d.t;
  const uint32_t M = d.mma->m(), N = d.mma->n();
  if (d.acc != AccType::s32 || d.in != DType::int8)
    throw GpuLoweringError(d.name + ": int8 C needs int8 inputs and int32 accumulation");
  const uint32_t P = stage_pitch(t), rows = (t.bm / t.wm) * M, chunks_row = t.bn / 16;
  if (t.bn % 16 || (chunks_row & (chunks_row - 1)) || (M & (M - 1)) || d.ldc % 16)
    throw GpuLoweringError(d.name + ": the int8 C tile cannot be staged through shared memory");
  const uint32_t regs = accs[0].regs() * fn;  // a row of fragments' registers, free once staged
  if (regs < 8) throw GpuLoweringError(d.name + ": too few registers to pack int8 C");
  for (uint32_t j = 1; j < fn; ++j)
    if (accs[j].reg != accs[0].reg + j * accs[0].regs()) throw InternalError(d.name + ": C fragments not contiguous");
  // The residual's registers: fragment slots (free A/B fragment registers),
  // the first 8 of them (one slot, or two of 4) also the staging's.
  const uint32_t slots = static_cast<uint32_t>(r.res.size());
  uint8_t rv = kRZ, rw = kRZ;
  if (d.ep.residual) {
    if (slots == 0) throw GpuLoweringError(d.name + ": no registers for the int8 residual");
    if (accs[0].regs() >= 8) rv = r.res[0], rw = uint8_t(r.res[0] + 4);
    else if (slots >= 2 && accs[0].regs() >= 4) rv = r.res[0], rw = r.res[1];
    else throw GpuLoweringError(d.name + ": no registers to stage the int8 residual");
  }
  const ActNeeds needs = activation_needs(d.ep.act);
  const uint32_t warps_n = t.bn / t.wn, threads = tc_threads(t), chunks = rows * chunks_row;
  const bool guarded = chunks % threads != 0;
  // Chunk c = tid + q threads of a row of fragments' staging rows: staging
  // row c / chunks_row, 16 bytes of int8 (64 of staged words) at column
  // c % chunks_row; the row is tile row (row / M) wm + i M + row % M.
  // Leaves the staging row in tmp, the column in tmp2, the guard in p.
  const auto chunk = [&](uint32_t q) {
    kb.s2r(r.tmp, Special::tid);
    if (q) kb.alui(Op::iadd, r.tmp, r.tmp, int32_t(q * threads));
    if (guarded) kb.setpi(Op::isetp, r.p, Cmp::lt, r.tmp, int32_t(chunks));
    kb.alui(Op::and_, r.tmp2, r.tmp, int32_t(chunks_row - 1));
    kb.alui(Op::shr, r.tmp, r.tmp, int32_t(__builtin_ctz(chunks_row)));
  };
  // The chunk's byte offset in C (or the residual) from the tile's origin,
  // less the row of fragments' i M ldc (an immediate), into g.
  const auto global_at = [&](uint8_t g, uint8_t scratch) {
    kb.alui(Op::shr, g, r.tmp, int32_t(__builtin_ctz(M)));
    kb.alui(Op::imul, g, g, int32_t(uint64_t(t.wm) * d.ldc));
    kb.alui(Op::and_, scratch, r.tmp, int32_t(M - 1));
    kb.alui(Op::imad, g, scratch, int32_t(d.ldc), g);
    kb.alui(Op::imad, g, r.tmp2, 16, g);
  };
  const auto shared_at = [&](uint8_t s) {
    kb.alui(Op::imul, s, r.tmp, int32_t(P));
    kb.alui(Op::imad, s, r.tmp2, 64, s);
  };
  const auto guard = [&](Instr& in) {
    if (guarded) in.guard = r.p;
  };

  // The warp's origin in the staging rows: (w / warps_n) M rows, (w % warps_n) wn words.
  const uint8_t origin = r.rC;  // C's row pointer is not used: stores address from the tile's base
  kb.s2r(r.tmp, Special::tid);
  kb.alui(Op::shr, r.tmp, r.tmp, 5);
  kb.alui(Op::and_, r.tmp2, r.tmp, int32_t(warps_n - 1));
  kb.alui(Op::shr, r.tmp, r.tmp, int32_t(__builtin_ctz(warps_n)));
  kb.alui(Op::imul, origin, r.tmp, int32_t(M * P));
  kb.alui(Op::imul, r.tmp2, r.tmp2, int32_t(t.wn * 4));
  kb.alu(Op::iadd, origin, origin, r.tmp2);
  for (uint32_t i = 0; i < fm; ++i) {
    kb.bar();  // the main loop's (or the previous row's) reads of shared memory are done
    if (d.ep.residual) {
      // The residual's int8 rows of this row of fragments into the staging
      // rows as fp32 (q s_res, exact): LDG.128 of 16 bytes, each byte
      // sign-extended ((b ^ 0x80) - 0x80), converted and scaled, 4 STS.128.
      for (uint32_t q = 0; q * threads < chunks; ++q) {
        chunk(q);
        global_at(rw, uint8_t(rw + 1));
        guard(kb.ldg(rv, kTcBufRes, rw, int32_t(uint64_t(i) * M * d.ldc), 16));
        shared_at(r.cnt);
        for (uint32_t w = 0; w < 4; ++w) {
          for (uint32_t b = 0; b < 4; ++b) {
            const uint8_t x = uint8_t(rw + b), src = uint8_t(rv + w);
            if (b) kb.alui(Op::shr, x, src, int32_t(8 * b));
            kb.alui(Op::and_, x, b ? x : src, 0xFF);
            kb.alui(Op::xor_, x, x, 0x80);
            kb.alui(Op::iadd, x, x, -0x80);
            kb.alu(Op::i2f, x, x, kRZ);
            kb.alui(Op::fmul, x, x, fimm(d.ep.rs));
          }
          guard(kb.sts(r.cnt, int32_t(16 * w), rw, 16));
        }
      }
      kb.bar();
    }
    // The arithmetic of this row's fragments (the rounding points: int8_epilogue.h).
    if (needs.minus_one) kb.mov(r.cnt, fimm(-1.0f));
    for (uint32_t j = 0; j < fn; ++j) {
      if (d.ep.residual && j % slots == 0)
        for (uint32_t g = j; g < fn && g < j + slots; ++g) {
          Frag rf = accs[i * fn + g];
          rf.reg = r.res[g - j];
          kb.wmma_load(rf, Space::shared, origin, int32_t(g * N * 4), P);
        }
      const Frag& c = accs[i * fn + j];
      for (uint8_t e = 0; e < c.regs(); ++e) {
        const uint8_t x = uint8_t(c.reg + e);
        kb.alu(Op::i2f, x, x, kRZ);
        kb.alui(Op::fmul, x, x, fimm(d.ep.dq));
        if (d.ep.bias) kb.alu(Op::fadd, x, x, uint8_t(r.bias + r.run * j + e % r.run));
        if (d.ep.residual) kb.alu(Op::fadd, x, x, uint8_t(r.res[j % slots] + e));
        if (d.ep.act != Activation::none)
          emit_activation(kb, d.ep.act, d.ep.p0, d.ep.p1, x, x,
                          ActScratch{needs.scratch ? r.tmp : x, r.tmp2, r.cnt, r.p});
        kb.alui(Op::fmul, x, x, fimm(d.ep.qs));
        kb.alu(Op::f2i, x, x, kRZ);
        kb.alui(Op::imax, x, x, -128);
        kb.alui(Op::imin, x, x, 127);
        kb.alui(Op::and_, x, x, 0xFF);
      }
    }
    if (d.ep.residual) kb.bar();  // every warp has its residual fragments
    for (uint32_t j = 0; j < fn; ++j) kb.wmma_store(accs[i * fn + j], Space::shared, origin, int32_t(j * N * 4), P);
    kb.bar();
    // Free now: this row's fragment registers (v: 4 loaded words, o: 4 packed).
    const uint8_t v = accs[i * fn].reg, o = uint8_t(v + 4);
    for (uint32_t q = 0; q * threads < chunks; ++q) {
      chunk(q);
      shared_at(r.cnt);
      for (uint32_t w = 0; w < 4; ++w) {
        guard(kb.lds(v, r.cnt, int32_t(16 * w), 16));
        const uint8_t out = uint8_t(o + w);
        kb.alui(Op::imad, out, uint8_t(v + 1), 1 << 8, v);
        kb.alui(Op::imad, out, uint8_t(v + 2), 1 << 16, out);
        kb.alui(Op::imad, out, uint8_t(v + 3), 1 << 24, out);
      }
      global_at(r.cnt, v);
      guard(kb.stg(kTcBufC, r.cnt, int32_t(uint64_t(i) * M * d.ldc), o, 16));
    }
  }
  kb.exit();
}

}  // namespace xpu::lowering::gpu
