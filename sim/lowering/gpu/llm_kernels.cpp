#include "sim/lowering/gpu/llm_kernels.h"

#include <limits>

#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/fp16.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

void emit_widen_pair(KernelBuilder& kb, DType in, uint8_t lo, uint8_t hi, uint8_t x) {
  if (in == DType::bf16) {
    kb.alui(Op::shl, lo, x, 16);
    kb.alui(Op::and_, hi, x, static_cast<int32_t>(0xFFFF0000u));
  } else {
    kb.alu(Op::h2f, lo, x, kRZ);
    kb.alui(Op::shr, hi, x, 16);
    kb.alu(Op::h2f, hi, hi, kRZ);
  }
}

float widen_half(DType in, uint16_t h) {
  return in == DType::bf16 ? bits_to_float(uint32_t(h) << 16) : fp16::from_bits(h).to_float();
}

void lower_rope(const GpuConfig&, const RopeSpec& s, NnPlan& plan) {
  const uint64_t h = s.d / 2;
  if (s.rows == 0 || s.heads == 0 || h == 0 || (h & (h - 1)) != 0 || s.x.size() != s.rows || s.y.size() != s.rows ||
      s.cos.size() != s.rows || s.sin.size() != s.rows || s.rows > 0xFFFFFFFFull || s.heads * s.d > 0x7FFFFFFFull)
    throw GpuLoweringError("rope kernel: malformed spec (d/2 must be a power of two)");
  const uint64_t pairs = s.heads * h;
  const uint32_t T = pairs >= 256 ? 256 : static_cast<uint32_t>((pairs + 31) / 32 * 32);
  const uint64_t iters = (pairs + T - 1) / T;
  KernelBuilder kb("rope");
  const uint8_t e = kb.reg(), k = kb.reg(), j = kb.reg(), xa = kb.reg(), cj = kb.reg();
  const uint8_t a = kb.reg(), b = kb.reg(), c = kb.reg(), sn = kb.reg(), t0 = kb.reg(), t1 = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred();
  kb.s2r(e, Special::tid);
  loop(kb, k, q, iters, [&] {
    kb.setpi(Op::isetp, p, Cmp::lt, e, static_cast<int32_t>(pairs));
    kb.alui(Op::and_, j, e, static_cast<int32_t>(h - 1));
    kb.alui(Op::shl, xa, e, 1);
    kb.alu(Op::isub, xa, xa, j);  // element of a: (e / h) d + j = 2e - j
    kb.alui(Op::shl, xa, xa, 2);
    kb.alui(Op::shl, cj, j, 2);
    kb.ldg(a, 0, xa, 0).guard = p;
    kb.ldg(b, 0, xa, static_cast<int32_t>(h * 4)).guard = p;
    kb.ldg(c, 2, cj, 0).guard = p;
    kb.ldg(sn, 3, cj, 0).guard = p;
    kb.alu(Op::fmul, t0, a, c);
    kb.alui(Op::fmul, t1, sn, static_cast<int32_t>(float_to_bits(-1.0f)));
    kb.alu(Op::fmul, t1, b, t1);
    kb.alu(Op::fadd, t0, t0, t1);
    kb.stg(1, xa, 0, t0).guard = p;
    kb.alu(Op::fmul, t0, b, c);
    kb.alu(Op::fmul, t1, a, sn);
    kb.alu(Op::fadd, t0, t0, t1);
    kb.stg(1, xa, static_cast<int32_t>(h * 4), t0).guard = p;
    kb.alui(Op::iadd, e, e, static_cast<int32_t>(T));
  });
  Launch& l = plan.finish(kb, T, 0);
  set_bases(l, static_cast<uint32_t>(s.rows), 4, {&s.x, &s.y, &s.cos, &s.sin}, {});
}

bool rmsnorm_vectorizes(uint64_t n) { return n % 512 == 0 && n <= 12288; }

void lower_rmsnorm_vec(const GpuConfig&, const RowSpec& s, NnPlan& plan) {
  constexpr uint32_t T = 128;
  if (s.op != RowOp::rmsnorm || !rmsnorm_vectorizes(s.n) || s.rows == 0 || s.x.size() != s.rows ||
      s.y.size() != s.rows || s.rows > 0xFFFFFFFFull)
    throw GpuLoweringError("rmsnorm kernel: malformed spec");
  const uint32_t per = static_cast<uint32_t>(s.n / (4 * T));  // 16-byte loads per thread
  KernelBuilder kb("row_rmsnorm_vec");
  const uint8_t tid = kb.reg(), off = kb.reg(), soff = kb.reg(), acc = kb.reg(), a = kb.reg(), b = kb.reg();
  const uint8_t x = kb.reg(4 * per), sc = kb.reg(4 * per);
  const uint8_t q = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, off, tid, 4);
  kb.alui(Op::shl, soff, tid, 2);
  for (uint32_t i = 0; i < per; ++i) kb.ldg(static_cast<uint8_t>(x + 4 * i), 0, off, static_cast<int32_t>(i * T * 16), 16);
  for (uint32_t i = 0; i < per; ++i)
    kb.ldg(static_cast<uint8_t>(sc + 4 * i), 2, off, static_cast<int32_t>(i * T * 16), 16);
  kb.mov(acc, 0);
  for (uint32_t e = 0; e < 4 * per; ++e) kb.alu(Op::ffma, acc, static_cast<uint8_t>(x + e), static_cast<uint8_t>(x + e), acc);
  emit_cta_reduce(kb, acc, Op::fadd, T, tid, soff, a, b, q, false);
  kb.alui(Op::fmul, acc, acc, static_cast<int32_t>(float_to_bits(1.0f / float(s.n))));
  kb.alui(Op::fadd, acc, acc, static_cast<int32_t>(float_to_bits(s.eps)));
  kb.alu(Op::rsq, acc, acc, kRZ);
  for (uint32_t e = 0; e < 4 * per; ++e) {
    kb.alu(Op::fmul, static_cast<uint8_t>(x + e), static_cast<uint8_t>(x + e), acc);
    kb.alu(Op::fmul, static_cast<uint8_t>(x + e), static_cast<uint8_t>(x + e), static_cast<uint8_t>(sc + e));
  }
  for (uint32_t i = 0; i < per; ++i) kb.stg(1, off, static_cast<int32_t>(i * T * 16), static_cast<uint8_t>(x + 4 * i), 16);
  Launch& l = plan.finish(kb, T, T * 4);
  set_bases(l, static_cast<uint32_t>(s.rows), 3, {&s.x, &s.y}, {0, 0, s.scale});
}

namespace {

// Threads and 16-byte loads per thread of the argmax kernel: the most
// threads (all loads of the row in flight at once) whose registers fit the
// SM; 0 threads when none does.
struct ArgmaxShape {
  uint32_t threads = 0, per = 0;
};
ArgmaxShape argmax_shape(const GpuConfig& cfg, uint64_t n) {
  if (n == 0 || n % 4 != 0 || n >= (1u << 23)) return {};  // indices exact as floats below 2^23
  uint32_t first = 32;  // a power of two (the tree), no more than the row needs
  while (first < 1024 && first < n / 4) first *= 2;
  for (uint32_t t = first; t >= 32; t /= 2) {
    const uint64_t per = (n / 4 + t - 1) / t;
    const uint64_t regs = 4 * per + 12;
    if (regs <= cfg.occupancy.max_registers_per_thread && t * regs <= cfg.occupancy.max_registers &&
        t <= cfg.occupancy.max_threads)
      return {t, static_cast<uint32_t>(per)};
  }
  return {};
}

}  // namespace

bool argmax_vectorizes(const GpuConfig& cfg, uint64_t n) { return argmax_shape(cfg, n).threads != 0; }

void lower_argmax_vec(const GpuConfig& cfg, const RowSpec& s, NnPlan& plan) {
  const ArgmaxShape sh = argmax_shape(cfg, s.n);
  if (s.op != RowOp::argmax || sh.threads == 0 || s.rows == 0 || s.x.size() != s.rows || s.y.size() != s.rows ||
      s.rows > 0xFFFFFFFFull)
    throw GpuLoweringError("argmax kernel: malformed spec");
  const uint32_t T = sh.threads, per = sh.per;
  const uint64_t vecs = s.n / 4;
  const int32_t ninf = static_cast<int32_t>(float_to_bits(-std::numeric_limits<float>::infinity()));
  KernelBuilder kb("row_argmax_vec");
  const uint8_t tid = kb.reg(), off = kb.reg(), soff = kb.reg(), acc = kb.reg(), v = kb.reg(), nb = kb.reg(),
                w = kb.reg(), a = kb.reg(), b = kb.reg();
  const uint8_t x = kb.reg(4 * per);
  const uint8_t p = kb.pred(), q = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, off, tid, 4);
  kb.alui(Op::shl, soff, tid, 2);
  for (uint32_t i = 0; i < per; ++i) {
    const uint8_t xi = static_cast<uint8_t>(x + 4 * i);
    if (uint64_t(T) * (i + 1) > vecs) {  // lanes past the row hold NaN: ignored by fmax, never equal
      for (uint32_t e = 0; e < 4; ++e)
        kb.mov(static_cast<uint8_t>(xi + e), static_cast<int32_t>(float_to_bits(std::numeric_limits<float>::quiet_NaN())));
      kb.setpi(Op::isetp, p, Cmp::lt, tid, static_cast<int32_t>(vecs - uint64_t(T) * i));
      kb.ldg(xi, 0, off, static_cast<int32_t>(i * T * 16), 16).guard = p;
    } else {
      kb.ldg(xi, 0, off, static_cast<int32_t>(i * T * 16), 16);
    }
  }
  kb.mov(acc, ninf);
  for (uint32_t e = 0; e < 4 * per; ++e) kb.alu(Op::fmax, acc, acc, static_cast<uint8_t>(x + e));
  emit_cta_reduce(kb, acc, Op::fmax, T, tid, soff, a, b, q, true);
  kb.mov_r(v, acc);
  // nb = -float(4 tid): float(k) = bits(0x4B000000 | k) - 2^23, exact below 2^23.
  kb.alui(Op::shl, nb, tid, 2);
  kb.alui(Op::or_, nb, nb, 0x4B000000);
  kb.alui(Op::fadd, nb, nb, static_cast<int32_t>(float_to_bits(-8388608.0f)));
  kb.alui(Op::fmul, nb, nb, static_cast<int32_t>(float_to_bits(-1.0f)));
  kb.mov(acc, ninf);
  for (uint32_t i = 0; i < per; ++i)
    for (uint32_t e = 0; e < 4; ++e) {
      const uint8_t xe = static_cast<uint8_t>(x + 4 * i + e);
      kb.setp(Op::fsetp, q, Cmp::eq, xe, v);
      kb.alui(Op::fadd, w, nb, static_cast<int32_t>(float_to_bits(-float(4ull * T * i + e))));  // -index
      kb.alu(Op::fmax, acc, acc, w).guard = q;
    }
  emit_cta_reduce(kb, acc, Op::fmax, T, tid, soff, a, b, q, false);
  kb.alui(Op::fmul, acc, acc, static_cast<int32_t>(float_to_bits(-1.0f)));
  kb.setpi(Op::isetp, q, Cmp::eq, tid, 0);
  kb.stg(1, kRZ, 0, acc).guard = q;
  Launch& l = plan.finish(kb, T, T * 4);
  set_bases(l, static_cast<uint32_t>(s.rows), 2, {&s.x, &s.y}, {});
}

}  // namespace xpu::lowering::gpu
