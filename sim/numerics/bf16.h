// bfloat16: 1 sign, 8 exponent (bias 127), 7 fraction bits -- the top half of
// an IEEE binary32, so it has fp32's exponent range including subnormals.
//
// Conversions are pure integer arithmetic: they do not depend on the host's
// rounding mode, FTZ/DAZ flags or conversion instructions.
#pragma once

#include <cstdint>

#include "sim/numerics/float_bits.h"

namespace xpu {

struct bf16 {
  std::uint16_t bits = 0;

  static constexpr std::uint16_t kSignMask = 0x8000;
  static constexpr std::uint16_t kExpMask = 0x7F80;
  static constexpr std::uint16_t kFracMask = 0x007F;
  static constexpr std::uint16_t kQuietBit = 0x0040;  // fraction MSB
  static constexpr int kFracBits = 7;

  static constexpr bf16 from_bits(std::uint16_t b) { return bf16{b}; }

  // fp32 -> bf16, round to nearest, ties to even, on the 16 dropped bits.
  // Overflow follows IEEE RNE: only values that round past max() become Inf
  // (>= 0x7F7F8000 in magnitude, i.e. max + half an ulp, ties to the even
  // Inf). fp32 subnormals round into bf16 subnormals (same exponent range).
  // NaN: keeps sign and the payload's top 6 bits, and sets the quiet bit so a
  // payload living only in the dropped bits cannot turn the NaN into Inf.
  static bf16 from_float(float f) {
    const std::uint32_t u = float_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
      return from_bits(static_cast<std::uint16_t>((u >> 16) | kQuietBit));
    }
    // Adding 0x7FFF (+1 when the kept LSB is odd) carries into the kept bits
    // exactly when the dropped part is above half, or at half with odd LSB.
    // A carry out of the fraction bumps the exponent, which is also right
    // (max + carry = Inf, max subnormal + carry = min normal). It never
    // reaches the sign bit: non-NaN magnitudes are <= 0x7F800000.
    const std::uint32_t lsb = (u >> 16) & 1u;
    return from_bits(static_cast<std::uint16_t>((u + 0x7FFFu + lsb) >> 16));
  }

  // Exact: every bf16 value (NaN payloads and sNaN-ness included) is an fp32.
  float to_float() const { return bits_to_float(std::uint32_t{bits} << 16); }

  constexpr bool is_nan() const { return (bits & 0x7FFF) > kExpMask; }
  constexpr bool is_inf() const { return (bits & 0x7FFF) == kExpMask; }
  constexpr bool is_zero() const { return (bits & 0x7FFF) == 0; }
  constexpr bool is_subnormal() const {
    return (bits & kExpMask) == 0 && (bits & kFracMask) != 0;
  }
  constexpr bool is_quiet_nan() const { return is_nan() && (bits & kQuietBit) != 0; }
  constexpr bool sign_bit() const { return (bits & kSignMask) != 0; }

  // numeric_limits-style constants.
  static constexpr bf16 max() { return from_bits(0x7F7F); }         // (2-2^-7)*2^127
  static constexpr bf16 lowest() { return from_bits(0xFF7F); }      // -max()
  static constexpr bf16 min_normal() { return from_bits(0x0080); }  // 2^-126
  static constexpr bf16 denorm_min() { return from_bits(0x0001); }  // 2^-133
  static constexpr bf16 epsilon() { return from_bits(0x3C00); }     // 2^-7
  static constexpr bf16 infinity() { return from_bits(0x7F80); }
  static constexpr bf16 quiet_nan() { return from_bits(0x7FC0); }
};

// Bit equality, so -0 != +0 and a NaN equals itself: these are storage
// comparisons, not IEEE value comparisons (use to_float() for those).
constexpr bool operator==(bf16 a, bf16 b) { return a.bits == b.bits; }
constexpr bool operator!=(bf16 a, bf16 b) { return a.bits != b.bits; }

}  // namespace xpu
