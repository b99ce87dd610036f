#include "sim/lowering/gpu/splitk_reduce.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/half_io.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

uint32_t splitk_reduce_threads(uint32_t rows, uint32_t bn) { return std::min<uint32_t>(128, rows * bn / 4); }

uint32_t splitk_reduce_rows(uint64_t m, uint32_t bm, uint32_t bn) {
  uint32_t r = 1;
  while (r < m && r < 16 && r < bm) r *= 2;
  while (r * bn < 128 && r < bm) r *= 2;
  return r;
}

Kernel build_splitk_reduce(const ReduceDesc& d) {
  const uint32_t cpr = d.bn / 4;  // 16-byte chunks per row
  const uint32_t threads = splitk_reduce_threads(d.rows, d.bn);
  if (d.bn % 4 || (cpr & (cpr - 1)) || threads % 32 || threads < cpr || d.split < 2 || (d.rows & (d.rows - 1)))
    throw GpuLoweringError(d.name + ": split-K reduction needs a power-of-two tile width of 128 bytes or more");
  if (d.split_bytes * (d.split - 1) + d.rows * d.ld >= (uint64_t(1) << 31))
    throw GpuLoweringError(d.name + ": split-K partials beyond 32-bit offsets");
  const uint32_t rows_per_pass = threads / cpr, passes = d.rows / rows_per_pass;
  // Passes loaded together: all their partials in flight before the adds.
  const uint32_t batch = std::max<uint32_t>(1, std::min<uint32_t>(passes, 32 / d.split));

  KernelBuilder kb(d.name);
  const uint8_t tid = kb.reg(), off = kb.reg(), q = kb.reg();
  const uint8_t vals = kb.reg(4 * d.split * batch);
  const uint8_t bias = d.ep.bias ? kb.reg(4) : kRZ;
  const uint8_t t = kb.reg(), u = kb.reg(), m1 = kb.reg();
  const uint8_t offc = d.ep.out16 ? kb.reg() : off;  // C's offset (16-bit C: half the byte column)
  const uint8_t res = d.ep.residual ? kb.reg(4 * batch) : kRZ;  // per pass: 4 residual values
  const uint8_t p = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::and_, q, tid, int32_t(cpr - 1));
  kb.alui(Op::shl, q, q, 4);  // byte column
  kb.alui(Op::shr, off, tid, int32_t(__builtin_ctz(cpr)));
  kb.alui(Op::imul, off, off, int32_t(d.ld));
  if (d.ep.out16) {
    kb.alui(Op::shr, offc, tid, int32_t(__builtin_ctz(cpr)));
    kb.alui(Op::imul, offc, offc, int32_t(d.ldc));
    kb.alui(Op::shr, u, q, 1);
    kb.alu(Op::iadd, offc, offc, u);
  }
  kb.alu(Op::iadd, off, off, q);
  if (d.ep.bias) kb.ldg(bias, kRedBufBias, q, 0, 16);
  const ActNeeds needs = activation_needs(d.ep.act);
  if (needs.minus_one) {
    const float minus_one = -1.0f;
    int32_t bits;
    std::memcpy(&bits, &minus_one, 4);
    kb.mov(m1, bits);
  }
  for (uint32_t p0 = 0; p0 < passes; p0 += batch) {
    const uint32_t nb = std::min(batch, passes - p0);
    for (uint32_t j = 0; j < nb; ++j) {
      const int32_t row_off = int32_t(uint64_t(p0 + j) * rows_per_pass * d.ld);
      for (uint32_t s = 0; s < d.split; ++s)
        kb.ldg(uint8_t(vals + 4 * (j * d.split + s)), kRedBufP, off, row_off + int32_t(s * d.split_bytes), 16);
      // The residual, in flight with the partials (16-bit: 4 values in an LDG.64).
      if (d.ep.residual)
        kb.ldg(uint8_t(res + 4 * j), kRedBufRes, offc, int32_t(uint64_t(p0 + j) * rows_per_pass * (d.ep.out16 ? d.ldc : d.ld)),
               d.ep.out16 ? 8 : 16);
    }
    for (uint32_t j = 0; j < nb; ++j) {
      const uint8_t acc = uint8_t(vals + 4 * j * d.split);
      for (uint32_t s = 1; s < d.split; ++s)
        for (uint8_t r = 0; r < 4; ++r) kb.alu(Op::fadd, uint8_t(acc + r), uint8_t(acc + r), uint8_t(acc + 4 * s + r));
      for (uint8_t r = 0; r < 4 && d.ep.active(); ++r) {
        const uint8_t x = uint8_t(acc + r);
        if (d.ep.bias) kb.alu(Op::fadd, x, x, uint8_t(bias + r));
        if (d.ep.residual && d.ep.out16) {
          emit_widen16(kb, d.in, u, uint8_t(res + 4 * j + r / 2), r % 2 == 1);
          kb.alu(Op::fadd, x, x, u);
        } else if (d.ep.residual) {
          kb.alu(Op::fadd, x, x, uint8_t(res + 4 * j + r));
        }
        if (d.ep.act != Activation::none)
          emit_activation(kb, d.ep.act, d.ep.p0, d.ep.p1, x, x, ActScratch{needs.scratch ? t : x, u, m1, p});
      }
      if (!d.ep.out16) {
        kb.stg(kRedBufC, off, int32_t(uint64_t(p0 + j) * rows_per_pass * d.ld), acc, 16);
        continue;
      }
      // The rounding point: four results to 16 bits, packed into two registers.
      for (uint8_t h = 0; h < 2; ++h) {
        const uint8_t lo = uint8_t(acc + 2 * h), hi = uint8_t(lo + 1);
        emit_narrow16(kb, d.in, lo, lo, t);
        emit_narrow16(kb, d.in, hi, hi, t);
        kb.alui(Op::shl, hi, hi, 16);
        kb.alu(Op::or_, uint8_t(acc + h), lo, hi);
      }
      kb.stg(kRedBufC, offc, int32_t(uint64_t(p0 + j) * rows_per_pass * d.ldc), acc, 8);
    }
  }
  kb.exit();
  return kb.finish();
}

}  // namespace xpu::lowering::gpu
