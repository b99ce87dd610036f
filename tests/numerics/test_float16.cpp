// bf16 / fp16 conversions, checked exhaustively, on hand-derived edge cases
// and on random inputs, against both the IEEE rules and Eigen's
// Eigen::bfloat16 / Eigen::half (Eigen 3.4, generic C++ paths on x86-64).
//
// What Eigen does (Eigen/src/Core/arch/Default/BFloat16.h, Half.h):
//  * bfloat16(float): NaN -> canonical 0x7FC0 / 0xFFC0 (sign kept, payload
//    dropped); otherwise adds 0x7FFF + lsb and truncates: correct RNE,
//    including overflow to Inf and fp32 subnormals.
//  * half(float): NaN -> 0x7E00 | sign (payload dropped); |x| >= 2^16 -> Inf;
//    subnormal results via a float add of a magic constant, i.e. correct RNE
//    only under the default rounding mode and with FTZ/DAZ off (ours is
//    integer-only and independent of both).
//  * Both widenings to float are exact and keep NaN payloads bit for bit.
// The only difference from xpu's conversions is the NaN payload on
// narrowing: IEEE 754-2019 6.2.3 says a NaN result *should* carry the input
// payload where representable, which xpu does (top payload bits kept, quiet
// bit set -- what x86 F16C / Arm FCVT do); Eigen's canonical NaN is allowed but
// loses the payload. Both are quiet and keep the sign; the NaN comparisons
// below assert exactly that plus xpu's payload rule.
#include <catch2/catch.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <string>

#include "sim/numerics/bf16.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/fp16.h"

namespace {

using xpu::bf16;
using xpu::bits_to_float;
using xpu::float_to_bits;
using xpu::fp16;

template <typename T>
struct Traits;
template <>
struct Traits<bf16> {
  using Eig = Eigen::bfloat16;
  static constexpr const char* kName = "bf16";
  static constexpr std::uint16_t kMaxBits = 0x7F7F;
};
template <>
struct Traits<fp16> {
  using Eig = Eigen::half;
  static constexpr const char* kName = "fp16";
  static constexpr std::uint16_t kMaxBits = 0x7BFF;
};

template <typename T>
std::uint16_t eigen_from_float(float f) {
  return Eigen::numext::bit_cast<std::uint16_t>(typename Traits<T>::Eig(f));
}

template <typename T>
float eigen_to_float(std::uint16_t b) {
  return static_cast<float>(Eigen::numext::bit_cast<typename Traits<T>::Eig>(b));
}

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, static_cast<unsigned>(v));
  return buf;
}

// The NaN contract of from_float: NaN out, quiet, same sign, and the
// fraction bits below the quiet bit equal the fp32 fraction's bits just below
// its quiet bit (the payload's top bits; fp32 fraction is 23 bits wide).
template <typename T>
bool nan_contract_holds(std::uint32_t in, std::uint16_t out) {
  const T o = T::from_bits(out);
  const std::uint32_t payload_mask = T::kFracMask & ~std::uint32_t{T::kQuietBit};
  const std::uint32_t want_payload = ((in & 0x7FFFFFu) >> (23 - T::kFracBits)) & payload_mask;
  return o.is_quiet_nan() && o.sign_bit() == ((in >> 31) != 0) &&
         (out & payload_mask) == want_payload;
}

// "" when from_float(f) matches Eigen (bit for bit; for NaN: both quiet NaNs
// of the input's sign, and ours obeys the payload rule), else a description.
template <typename T>
std::string mismatch_vs_eigen(float f) {
  const std::uint32_t in = float_to_bits(f);
  const std::uint16_t ours = T::from_float(f).bits;
  const std::uint16_t eig = eigen_from_float<T>(f);
  bool ok;
  if (std::isnan(f)) {
    const T e = T::from_bits(eig);
    ok = nan_contract_holds<T>(in, ours) && e.is_quiet_nan() && e.sign_bit() == ((in >> 31) != 0);
  } else {
    ok = ours == eig;
  }
  if (ok) return "";
  return std::string(Traits<T>::kName) + " from_float(" + hex(in, 8) + "): xpu " + hex(ours, 4) +
         ", Eigen " + hex(eig, 4);
}

template <typename T>
void check_all_encodings() {
  int failures = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const T x = T::from_bits(static_cast<std::uint16_t>(b));
    const float f = x.to_float();
    const float e = eigen_to_float<T>(static_cast<std::uint16_t>(b));
    std::string err;
    // Widening agrees with Eigen: bit-equal, or both NaN.
    if (std::isnan(f) != std::isnan(e) || (!std::isnan(f) && float_to_bits(f) != float_to_bits(e))) {
      err = "to_float differs from Eigen";
    }
    // Classification agrees with the widened value's. "Subnormal" is in the
    // 16-bit format (fp16 subnormals are normal fp32s): 0 < |f| < min_normal.
    const bool sub = f != 0.0f && std::fabs(f) < T::min_normal().to_float();
    if (x.is_nan() != std::isnan(f) || x.is_inf() != std::isinf(f) || x.is_zero() != (f == 0.0f) ||
        x.is_subnormal() != sub) {
      err = "classification disagrees with the fp32 value";
    }
    // Round trip: identical bits for every non-NaN. For NaN (sNaN widens to
    // an fp32 sNaN with the same payload), the only bit allowed to change is
    // the quiet bit, which must end up set: payload and sign fully kept
    // because both 16-bit formats' payloads fit in fp32's.
    const std::uint16_t back = T::from_float(f).bits;
    const std::uint16_t want = x.is_nan() ? static_cast<std::uint16_t>(b | T::kQuietBit)
                                          : static_cast<std::uint16_t>(b);
    if (back != want) err = "round trip gave " + hex(back, 4);
    if (!err.empty()) {
      if (++failures <= 20) FAIL_CHECK(Traits<T>::kName << " " << hex(b, 4) << ": " << err);
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("bf16: all 65536 encodings widen like Eigen and round-trip", "[numerics][bf16]") {
  check_all_encodings<bf16>();
  // Widening is a 16-bit shift, NaN payloads and sNaN-ness included:
  // 0x7F81 (sNaN, payload 1) -> 0x7F810000.
  CHECK(float_to_bits(bf16::from_bits(0x7F81).to_float()) == 0x7F810000u);
}

TEST_CASE("fp16: all 65536 encodings widen like Eigen and round-trip", "[numerics][fp16]") {
  check_all_encodings<fp16>();
  // Independent value check: every finite fp16 equals (-1)^s * sig * 2^(e-25)
  // with sig = 1024 + frac (normal, e = exp) or frac (subnormal, e = 1).
  int failures = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const std::uint32_t exp = (b >> 10) & 0x1F, frac = b & 0x3FF;
    if (exp == 0x1F) continue;
    const double sig = exp ? 1024.0 + frac : double(frac);
    const double v = std::ldexp(sig, int(exp ? exp : 1) - 25) * ((b & 0x8000) ? -1 : 1);
    const float f = fp16::from_bits(static_cast<std::uint16_t>(b)).to_float();
    if (double(f) != v || std::signbit(f) != ((b & 0x8000) != 0)) ++failures;
  }
  CHECK(failures == 0);
  // fp16 NaN widening keeps the payload: 0x7C01 (sNaN, payload 1) ->
  // 0x7F800000 | 1 << 13 = 0x7F802000; 0xFE00 (-qNaN) -> 0xFFC00000.
  CHECK(float_to_bits(fp16::from_bits(0x7C01).to_float()) == 0x7F802000u);
  CHECK(float_to_bits(fp16::from_bits(0xFE00).to_float()) == 0xFFC00000u);
}

struct Case {
  std::uint32_t in;    // fp32 bits
  std::uint16_t want;  // expected 16-bit result
  const char* why;
};

template <typename T>
void check_cases(const Case* cases, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const Case& c = cases[i];
    const float f = bits_to_float(c.in);
    INFO(Traits<T>::kName << " " << c.why << ": in " << hex(c.in, 8) << " want " << hex(c.want, 4));
    CHECK(T::from_float(f).bits == c.want);
    CHECK(mismatch_vs_eigen<T>(f) == "");
    if (std::isnan(f)) {
      CHECK(nan_contract_holds<T>(c.in, c.want));  // the table obeys the rule too
    } else {
      CHECK(eigen_from_float<T>(f) == c.want);
    }
  }
}

// bf16 keeps the top 16 fp32 bits; the dropped 16 bits are compared with
// 0x8000 (half an ulp). Ties go to the even kept value.
const Case kBf16Cases[] = {
    {0x3F800000, 0x3F80, "1.0 exact"},
    {0x3F808000, 0x3F80, "1+2^-8: tie between 0x3F80 (even) and 0x3F81 -> down"},
    {0x3F818000, 0x3F82, "tie between 0x3F81 (odd) and 0x3F82 -> up"},
    {0x3F807FFF, 0x3F80, "just below a tie -> down"},
    {0x3F808001, 0x3F81, "just above a tie -> up"},
    {0x3F817FFF, 0x3F81, "just below a tie, odd lsb -> down"},
    {0xBF818000, 0xBF82, "negative tie, odd -> away from zero (even)"},
    {0xBF808000, 0xBF80, "negative tie, even -> toward zero"},
    {0x3FFF8000, 0x4000, "tie carries into the exponent: 1.9921875+ -> 2.0"},
    {0x7F7F0000, 0x7F7F, "max bf16 (2-2^-7)*2^127 exact"},
    {0x7F7F7FFF, 0x7F7F, "largest fp32 that does not overflow (just below max + ulp/2)"},
    {0x7F7F8000, 0x7F80, "max + ulp/2: tie, 0x7F7F odd -> Inf (IEEE overflow)"},
    {0x7F7FFFFF, 0x7F80, "FLT_MAX -> +Inf"},
    {0xFF7F8000, 0xFF80, "-(max + ulp/2) -> -Inf"},
    {0xFF7F7FFF, 0xFF7F, "-largest non-overflowing -> lowest"},
    {0x7F800000, 0x7F80, "+Inf"},
    {0xFF800000, 0xFF80, "-Inf"},
    {0x00000000, 0x0000, "+0"},
    {0x80000000, 0x8000, "-0 keeps its sign"},
    {0x00000001, 0x0000, "fp32 denorm_min 2^-149 < half of bf16 denorm_min -> +0"},
    {0x80000001, 0x8000, "-2^-149 -> -0"},
    {0x00010000, 0x0001, "bf16 denorm_min 2^-133 exact"},
    {0x00008000, 0x0000, "2^-134 = half of denorm_min: tie to even 0"},
    {0x00008001, 0x0001, "just above half of denorm_min -> denorm_min"},
    {0x80008001, 0x8001, "negative of the above"},
    {0x00018000, 0x0002, "1.5 * denorm_min: tie, odd -> 2 * denorm_min"},
    {0x007F0000, 0x007F, "largest bf16 subnormal 127*2^-133 exact"},
    {0x007F7FFF, 0x007F, "just below halfway to min normal"},
    {0x007F8000, 0x0080, "halfway largest subnormal/min normal: tie, odd -> min normal"},
    {0x007FFFFF, 0x0080, "largest fp32 subnormal -> bf16 min normal 2^-126"},
    {0x00800000, 0x0080, "fp32 min normal 2^-126 exact"},
    {0x7FC00000, 0x7FC0, "canonical qNaN"},
    {0xFFC00000, 0xFFC0, "negative qNaN keeps sign"},
    {0x7F800001, 0x7FC0, "sNaN, payload only in dropped bits: quiet bit set, never Inf"},
    {0x7FA00000, 0x7FE0, "sNaN payload 0x200000 kept (0x20) + quiet bit; Eigen gives 0x7FC0"},
    {0xFF812345, 0xFFC1, "negative sNaN: top payload bits 0x01 kept; Eigen gives 0xFFC0"},
    {0x7FFFFFFF, 0x7FFF, "qNaN all-ones payload truncated to 0x3F; Eigen gives 0x7FC0"},
};

// fp16 (normal range) keeps fp32 fraction bits 22..13; the dropped 13 bits
// are compared with 0x1000. 1.0 = 0x3C00, ulp(1) = 2^-10; max 65504 =
// 0x7BFF with ulp 32, so max + ulp/2 = 65520; subnormals are k * 2^-24.
const Case kFp16Cases[] = {
    {0x3F800000, 0x3C00, "1.0 exact"},
    {0x3F801000, 0x3C00, "1+2^-11: tie, 0x3C00 even -> down"},
    {0x3F803000, 0x3C02, "1+3*2^-11: tie, 0x3C01 odd -> up"},
    {0x3F800FFF, 0x3C00, "just below a tie -> down"},
    {0x3F801001, 0x3C01, "just above a tie -> up"},
    {0xBF803000, 0xBC02, "negative tie, odd -> away from zero"},
    {0x3FFFF000, 0x4000, "tie carries into the exponent -> 2.0"},
    {0x477FE000, 0x7BFF, "65504 (max) exact"},
    {0x477FEFFF, 0x7BFF, "largest fp32 below 65520: does not overflow"},
    {0x477FF000, 0x7C00, "65520 = max + ulp/2: tie, 0x7BFF odd -> Inf"},
    {0x477FF001, 0x7C00, "just above 65520 -> Inf"},
    {0x47800000, 0x7C00, "65536 -> Inf"},
    {0x7F7FFFFF, 0x7C00, "FLT_MAX -> Inf"},
    {0xC77FF000, 0xFC00, "-65520 -> -Inf"},
    {0xC77FEFFF, 0xFBFF, "-(largest non-overflowing) -> lowest"},
    {0x7F800000, 0x7C00, "+Inf"},
    {0xFF800000, 0xFC00, "-Inf"},
    {0x00000000, 0x0000, "+0"},
    {0x80000000, 0x8000, "-0"},
    {0x38800000, 0x0400, "2^-14 min normal exact"},
    {0x387FC000, 0x03FF, "largest subnormal 1023*2^-24 exact"},
    {0x387FDFFF, 0x03FF, "just below halfway to min normal"},
    {0x387FE000, 0x0400, "1023.5*2^-24: tie, 0x03FF odd -> min normal"},
    {0x387FE001, 0x0400, "just above that tie"},
    {0x33800000, 0x0001, "2^-24 denorm_min exact"},
    {0x33000000, 0x0000, "2^-25 = half of denorm_min: tie to even 0"},
    {0xB3000000, 0x8000, "-2^-25 -> -0"},
    {0x32FFFFFF, 0x0000, "just below half of denorm_min -> 0"},
    {0x33000001, 0x0001, "just above half of denorm_min -> denorm_min"},
    {0x33C00000, 0x0002, "1.5*2^-24: tie, 1 odd -> 2"},
    {0x34200000, 0x0002, "2.5*2^-24: tie, 2 even -> 2"},
    {0x34600000, 0x0004, "3.5*2^-24: tie, 3 odd -> 4"},
    {0x33FFFFFF, 0x0002, "just below 2^-23 -> 2*2^-24"},
    {0x38000000, 0x0200, "2^-15 = 512*2^-24 exact subnormal"},
    {0x38001000, 0x0200, "2^-15*(1+2^-11): below ulp/2 of 2^-24 (which is 2^-25) -> 512"},
    {0x00000001, 0x0000, "fp32 subnormal -> +0"},
    {0x807FFFFF, 0x8000, "largest negative fp32 subnormal -> -0"},
    {0x7FC00000, 0x7E00, "canonical qNaN"},
    {0xFFC00000, 0xFE00, "negative qNaN keeps sign"},
    {0x7F800001, 0x7E00, "sNaN, payload only in dropped bits: quiet, never Inf"},
    {0x7F802000, 0x7E01, "sNaN payload bit 13 kept -> 0x7E01; Eigen gives 0x7E00"},
    {0x7FA00000, 0x7F00, "sNaN payload 0x200000 -> frac 0x100 + quiet; Eigen gives 0x7E00"},
    {0xFFFFFFFF, 0xFFFF, "negative qNaN all-ones payload; Eigen gives 0xFE00"},
};

TEST_CASE("bf16: fp32 -> bf16 edge cases are IEEE RNE and match Eigen", "[numerics][bf16]") {
  check_cases<bf16>(kBf16Cases, std::size(kBf16Cases));
}

TEST_CASE("fp16: fp32 -> fp16 edge cases are IEEE RNE and match Eigen", "[numerics][fp16]") {
  check_cases<fp16>(kFp16Cases, std::size(kFp16Cases));
}

// For every finite magnitude m (0 .. max), the exact midpoint to the next
// encoding (m + 1; for max that is Inf, with the virtual next value
// max + ulp) must round to the even one of m and m + 1, and the fp32 values
// one ulp below / above the midpoint to m / m + 1. Midpoints need one bit more
// than the 16-bit format, so they are exact fp32 values.
template <typename T>
void check_all_ties() {
  int failures = 0;
  auto check = [&](float f, std::uint16_t want) {
    const std::uint16_t got = T::from_float(f).bits;
    const std::string err = mismatch_vs_eigen<T>(f);
    if (got != want || !err.empty()) {
      if (++failures <= 20) {
        FAIL_CHECK(Traits<T>::kName << " in " << hex(float_to_bits(f), 8) << " want " << hex(want, 4)
                                    << " got " << hex(got, 4) << " " << err);
      }
    }
  };
  for (std::uint32_t m = 0; m <= Traits<T>::kMaxBits; ++m) {
    const double lo = T::from_bits(static_cast<std::uint16_t>(m)).to_float();
    const double hi = m < Traits<T>::kMaxBits
                          ? double(T::from_bits(static_cast<std::uint16_t>(m + 1)).to_float())
                          : 2.0 * lo - double(T::from_bits(static_cast<std::uint16_t>(m - 1)).to_float());
    const float mid = static_cast<float>((lo + hi) / 2.0);
    REQUIRE(double(mid) == (lo + hi) / 2.0);
    const float below = std::nextafter(mid, 0.0f);
    const float above = std::nextafter(mid, std::numeric_limits<float>::infinity());
    const std::uint32_t even = (m & 1u) ? m + 1 : m;
    for (std::uint32_t sign : {0u, 0x8000u}) {
      const float s = sign ? -1.0f : 1.0f;
      check(s * mid, static_cast<std::uint16_t>(sign | even));
      check(s * below, static_cast<std::uint16_t>(sign | m));
      check(s * above, static_cast<std::uint16_t>(sign | (m + 1)));
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("bf16: every tie and its fp32 neighbours round to nearest even", "[numerics][bf16]") {
  check_all_ties<bf16>();
}

TEST_CASE("fp16: every tie and its fp32 neighbours round to nearest even", "[numerics][fp16]") {
  check_all_ties<fp16>();
}

// Random inputs, fixed seed: 2^21 random fp32 bit patterns (all classes,
// ~0.4% NaN) and 2^20 random values log-uniform over each format's range
// (subnormal to overflow), random sign. 4 * 2^20 > 10^6 per format.
template <typename T>
void check_random(int min_exp, int max_exp) {
  std::mt19937 rng(20240601u);
  int failures = 0;
  auto check = [&](float f) {
    const std::string err = mismatch_vs_eigen<T>(f);
    if (!err.empty() && ++failures <= 20) FAIL_CHECK(err);
  };
  for (int i = 0; i < (1 << 21); ++i) check(bits_to_float(static_cast<std::uint32_t>(rng())));
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> exp(min_exp, max_exp);
  for (int i = 0; i < (1 << 20); ++i) {
    const float v = std::ldexp(mant(rng), exp(rng));
    check((rng() & 1u) ? -v : v);
  }
  CHECK(failures == 0);
}

TEST_CASE("bf16: 3 x 2^20 random floats match Eigen bit for bit", "[numerics][bf16]") {
  // 2^-134 (below half of denorm_min) .. 2^127 (up to overflow)
  check_random<bf16>(-134, 127);
}

TEST_CASE("fp16: 3 x 2^20 random floats match Eigen bit for bit", "[numerics][fp16]") {
  // 2^-26 (underflows to 0) .. 2^16 (overflows)
  check_random<fp16>(-26, 16);
}

TEST_CASE("bf16/fp16: numeric constants", "[numerics][bf16][fp16]") {
  using LB = std::numeric_limits<Eigen::bfloat16>;
  using LH = std::numeric_limits<Eigen::half>;
  auto eb = [](Eigen::bfloat16 v) { return Eigen::numext::bit_cast<std::uint16_t>(v); };
  auto eh = [](Eigen::half v) { return Eigen::numext::bit_cast<std::uint16_t>(v); };
  CHECK(bf16::max().bits == eb(LB::max()));
  CHECK(bf16::lowest().bits == eb(LB::lowest()));
  CHECK(bf16::min_normal().bits == eb(LB::min()));
  CHECK(bf16::denorm_min().bits == eb(LB::denorm_min()));
  CHECK(bf16::epsilon().bits == eb(LB::epsilon()));
  CHECK(bf16::infinity().bits == eb(LB::infinity()));
  CHECK(bf16::quiet_nan().bits == eb(LB::quiet_NaN()));
  CHECK(fp16::max().bits == eh(LH::max()));
  CHECK(fp16::lowest().bits == eh(LH::lowest()));
  CHECK(fp16::min_normal().bits == eh(LH::min()));
  CHECK(fp16::denorm_min().bits == eh(LH::denorm_min()));
  // Not compared with Eigen: Eigen 3.4.0 returns 0x0800 (2^-13) for
  // numeric_limits<half>::epsilon(); the machine epsilon of binary16 is
  // 2^-10 = 0x1400 (checked by value below).
  CHECK(fp16::infinity().bits == eh(LH::infinity()));
  CHECK(fp16::quiet_nan().bits == eh(LH::quiet_NaN()));

  // Values from the format definitions.
  CHECK(bf16::max().to_float() == std::ldexp(255.0f, 120));  // (2-2^-7)*2^127 = 255*2^120
  CHECK(bf16::lowest().to_float() == -std::ldexp(255.0f, 120));
  CHECK(bf16::min_normal().to_float() == std::ldexp(1.0f, -126));
  CHECK(bf16::denorm_min().to_float() == std::ldexp(1.0f, -133));  // 2^-126 * 2^-7
  CHECK(bf16::epsilon().to_float() == std::ldexp(1.0f, -7));
  CHECK(fp16::max().to_float() == 65504.0f);  // (2-2^-10)*2^15
  CHECK(fp16::min_normal().to_float() == std::ldexp(1.0f, -14));
  CHECK(fp16::denorm_min().to_float() == std::ldexp(1.0f, -24));  // 2^-14 * 2^-10
  CHECK(fp16::epsilon().to_float() == std::ldexp(1.0f, -10));
  CHECK(std::isinf(bf16::infinity().to_float()));
  CHECK(fp16::quiet_nan().is_quiet_nan());
  CHECK(bf16::quiet_nan().is_quiet_nan());

  // == is on bits: +0 and -0 differ, a NaN equals itself.
  CHECK(bf16::from_float(0.0f) != bf16::from_float(-0.0f));
  CHECK(fp16::quiet_nan() == fp16::quiet_nan());
  static_assert(bf16::from_bits(0x3F80) == bf16::from_bits(0x3F80), "constexpr ==");
  static_assert(fp16::infinity().is_inf() && !fp16::max().is_inf(), "constexpr classification");
}

}  // namespace
