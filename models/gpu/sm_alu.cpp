// SmCore: values of the integer, fp32, fp64 and SFU instructions (and
// predicates), per active lane.
#include <algorithm>
#include <cmath>

#include "models/gpu/sm_core.h"

namespace xpu::gpu {

namespace {

inline float f32(uint32_t u) { return bits_to_float(u); }
inline uint32_t u32(float f) { return float_to_bits(f); }
// F2I.S32 with round-to-nearest-even, saturating, NaN -> 0 (PTX
// cvt.rni.sat.s32.f32); rounded explicitly, independent of the host's mode.
inline uint32_t f2i_rne_sat(float f) {
  if (std::isnan(f)) return 0;
  if (f >= 2147483648.0f) return 0x7FFFFFFFu;
  if (f <= -2147483648.0f) return 0x80000000u;
  float r = std::floor(f);
  const float frac = f - r;  // exact
  if (frac > 0.5f || (frac == 0.5f && std::fmod(r, 2.0f) != 0.0f)) r += 1.0f;
  return static_cast<uint32_t>(static_cast<int32_t>(r));
}

// ISETP on sign-extended integers, FSETP on floats (ordered: NaN compares
// false except ne).
template <typename T>
bool compare(Cmp c, T a, T b) {
  switch (c) {
    case Cmp::lt: return a < b;
    case Cmp::le: return a <= b;
    case Cmp::eq: return a == b;
    case Cmp::ne: return a != b;
    case Cmp::ge: return a >= b;
    case Cmp::gt: return a > b;
  }
  return false;
}

}  // namespace

void SmCore::exec_alu(const Instr& in, uint32_t wi, uint32_t mask) {
  Warp& w = warps_[wi];
  const uint32_t* A = reg(wi, in.a);
  const uint32_t* B = in.b_imm ? nullptr : reg(wi, in.b);
  const uint32_t* C = reg(wi, in.c);
  const uint32_t imm = static_cast<uint32_t>(in.imm);
  auto bv = [&](uint32_t l) { return B ? B[l] : imm; };
  const Unit u = unit_of(in.op);
  // Float math only matters for values; integer math also drives addresses
  // and loop counters, so it always runs.
  if (!values_ && (u == Unit::fp32 || u == Unit::fp64 || u == Unit::sfu) && in.op != Op::fsetp) return;
  if (in.op == Op::isetp || in.op == Op::fsetp) {
    uint32_t bits = 0;
    for (uint32_t l = 0; l < 32; ++l) {
      if (!(mask >> l & 1)) continue;
      const bool r = in.op == Op::isetp
                         ? compare(in.cmp, int64_t(int32_t(A[l])), int64_t(int32_t(bv(l))))
                         : (values_ && compare(in.cmp, f32(A[l]), f32(bv(l))));
      bits |= uint32_t(r) << l;
    }
    w.pred[in.dst] = (w.pred[in.dst] & ~mask) | bits;
    return;
  }
  uint32_t* D = wreg(wi, in.dst);
  for (uint32_t l = 0; l < 32; ++l) {
    if (!(mask >> l & 1)) continue;
    const uint32_t a = A[l], b = bv(l);
    uint32_t r = 0;
    switch (in.op) {
      case Op::mov: r = in.b_imm ? imm : a; break;
      case Op::iadd: r = a + b; break;
      case Op::isub: r = a - b; break;
      case Op::imul: r = a * b; break;
      case Op::imad: r = a * b + C[l]; break;
      case Op::shl: r = b >= 32 ? 0 : a << b; break;
      case Op::shr: r = b >= 32 ? 0 : a >> b; break;
      case Op::and_: r = a & b; break;
      case Op::or_: r = a | b; break;
      case Op::xor_: r = a ^ b; break;
      case Op::imin: r = uint32_t(std::min(int32_t(a), int32_t(b))); break;
      case Op::imax: r = uint32_t(std::max(int32_t(a), int32_t(b))); break;
      case Op::sel: r = (w.pred[in.c] >> l & 1) ? a : b; break;
      case Op::s2r: {
        const Slot& s = slots_[w.slot];
        switch (in.sreg) {
          case Special::tid: r = w.index * 32 + l; break;
          case Special::ntid: r = geo_->launch->threads; break;
          case Special::ctaid: r = s.cta; break;
          case Special::nctaid: r = geo_->launch->ctas; break;
          case Special::laneid: r = l; break;
          case Special::warpid: r = w.index; break;
          case Special::clock: r = static_cast<uint32_t>(issue_cycle_); break;
        }
        break;
      }
      case Op::fadd: r = u32(add_fp32(f32(a), f32(b))); break;
      case Op::fmul: r = u32(mul_fp32(f32(a), f32(b))); break;
      // Volta's FFMA is IEEE fused: one rounding (std::fma is exact-then-round).
      case Op::ffma: r = u32(std::fma(f32(a), f32(b), f32(C[l]))); break;
      case Op::fmax: r = u32(std::fmax(f32(a), f32(b))); break;
      case Op::f2h: r = fp16::from_float(f32(a)).bits; break;
      case Op::h2f: r = u32(fp16::from_bits(static_cast<uint16_t>(a)).to_float()); break;
      case Op::i2f: r = u32(static_cast<float>(int32_t(a))); break;  // the host converts RNE
      case Op::f2i: r = f2i_rne_sat(f32(a)); break;
      case Op::dadd: r = u32(float(double(f32(a)) + double(f32(b)))); break;
      // SFU results are correctly rounded host results, not bit-matched to MUFU's approximations.
      case Op::ex2: r = u32(std::exp2(f32(a))); break;
      case Op::rcp: r = u32(1.0f / f32(a)); break;
      case Op::rsq: r = u32(1.0f / std::sqrt(f32(a))); break;
      default: break;
    }
    D[l] = r;
  }
}

}  // namespace xpu::gpu
