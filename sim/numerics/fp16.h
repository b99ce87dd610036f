// fp16 (IEEE 754 binary16): 1 sign, 5 exponent (bias 15), 10 fraction bits.
// max 65504, min normal 2^-14, min subnormal 2^-24.
//
// Conversions are pure integer arithmetic: they do not depend on the host's
// rounding mode, FTZ/DAZ flags or F16C instructions.
#pragma once

#include <cstdint>

#include "sim/numerics/float_bits.h"

namespace xpu {

struct fp16 {
  std::uint16_t bits = 0;

  static constexpr std::uint16_t kSignMask = 0x8000;
  static constexpr std::uint16_t kExpMask = 0x7C00;
  static constexpr std::uint16_t kFracMask = 0x03FF;
  static constexpr std::uint16_t kQuietBit = 0x0200;  // fraction MSB
  static constexpr int kFracBits = 10;

  static constexpr fp16 from_bits(std::uint16_t b) { return fp16{b}; }

  // fp32 -> fp16, round to nearest, ties to even, with the IEEE semantics:
  //  * |x| >= 65520 (= max + half an ulp; the tie goes to the even Inf) -> Inf;
  //  * results below 2^-14 round to a multiple of 2^-24 (subnormal), with
  //    ties to even at that granularity; |x| <= 2^-25 (half of denorm_min,
  //    tie to even 0) underflows to signed zero; fp32 subnormals become +-0;
  //  * NaN keeps sign and the payload's top 9 bits, and the quiet bit is set
  //    (as x86 F16C and Arm FCVT do), so it can never become Inf.
  static fp16 from_float(float f) {
    const std::uint32_t u = float_to_bits(f);
    const auto sign = static_cast<std::uint16_t>((u >> 16) & kSignMask);
    const std::uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) {  // NaN
      return from_bits(static_cast<std::uint16_t>(sign | kExpMask | kQuietBit |
                                                  ((a >> 13) & kFracMask)));
    }
    if (a >= 0x47800000u) {  // >= 2^16 (includes Inf): beyond any rounding
      return from_bits(static_cast<std::uint16_t>(sign | kExpMask));
    }
    if (a >= 0x38800000u) {  // >= 2^-14: normal fp16 range before rounding
      // Rebias the exponent (127 -> 15), then round the 13 dropped bits with
      // the same carry trick as bf16; a carry out of the fraction bumps the
      // exponent, so [65520, 65536) correctly lands on Inf (0x7C00).
      const std::uint32_t m = a - (112u << 23);
      const std::uint32_t lsb = (m >> 13) & 1u;
      return from_bits(static_cast<std::uint16_t>(sign | ((m + 0xFFFu + lsb) >> 13)));
    }
    if (a <= 0x33000000u) {  // <= 2^-25: rounds to zero (2^-25 is a tie -> even 0)
      return from_bits(sign);
    }
    // Subnormal result: count k = |x| / 2^-24 with RNE. |x| = sig * 2^(e-150)
    // with e in [102, 112], so k = sig >> (126 - e), shift in [14, 24].
    const std::uint32_t e = a >> 23;
    const std::uint32_t sig = (a & 0x7FFFFFu) | 0x800000u;
    const std::uint32_t shift = 126u - e;
    std::uint32_t k = sig >> shift;
    const std::uint32_t rem = sig & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (k & 1u) != 0)) ++k;  // k == 1024 is min normal
    return from_bits(static_cast<std::uint16_t>(sign | k));
  }

  // Exact: every fp16 value (NaN payloads and sNaN-ness included) is an fp32.
  float to_float() const {
    const std::uint32_t sign = (std::uint32_t{bits} & kSignMask) << 16;
    const std::uint32_t exp = (bits & kExpMask) >> 10;
    std::uint32_t frac = bits & kFracMask;
    if (exp == 0x1F) return bits_to_float(sign | 0x7F800000u | (frac << 13));
    if (exp != 0) return bits_to_float(sign | ((exp + 112u) << 23) | (frac << 13));
    if (frac == 0) return bits_to_float(sign);
    // Subnormal frac * 2^-24: normalise so the leading one becomes implicit.
    std::uint32_t e = 127u - 14u;  // biased fp32 exponent of 2^-14
    while ((frac & 0x400u) == 0) {
      frac <<= 1;
      --e;
    }
    return bits_to_float(sign | (e << 23) | ((frac & kFracMask) << 13));
  }

  constexpr bool is_nan() const { return (bits & 0x7FFF) > kExpMask; }
  constexpr bool is_inf() const { return (bits & 0x7FFF) == kExpMask; }
  constexpr bool is_zero() const { return (bits & 0x7FFF) == 0; }
  constexpr bool is_subnormal() const {
    return (bits & kExpMask) == 0 && (bits & kFracMask) != 0;
  }
  constexpr bool is_quiet_nan() const { return is_nan() && (bits & kQuietBit) != 0; }
  constexpr bool sign_bit() const { return (bits & kSignMask) != 0; }

  // numeric_limits-style constants.
  static constexpr fp16 max() { return from_bits(0x7BFF); }         // 65504
  static constexpr fp16 lowest() { return from_bits(0xFBFF); }      // -65504
  static constexpr fp16 min_normal() { return from_bits(0x0400); }  // 2^-14
  static constexpr fp16 denorm_min() { return from_bits(0x0001); }  // 2^-24
  static constexpr fp16 epsilon() { return from_bits(0x1400); }     // 2^-10
  static constexpr fp16 infinity() { return from_bits(0x7C00); }
  static constexpr fp16 quiet_nan() { return from_bits(0x7E00); }
};

// Bit equality (storage comparison): -0 != +0, a NaN equals itself.
constexpr bool operator==(fp16 a, fp16 b) { return a.bits == b.bits; }
constexpr bool operator!=(fp16 a, fp16 b) { return a.bits != b.bits; }

}  // namespace xpu
