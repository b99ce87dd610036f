// MAC semantics (mac.h) and the reference GEMMs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "sim/numerics/float_bits.h"
#include "sim/numerics/mac.h"
#include "sim/numerics/reference_gemm.h"

namespace {

using xpu::bf16;
using xpu::DType;
using xpu::fp16;

TEST_CASE("dtype names, sizes and parsing", "[numerics][mac]") {
  CHECK(xpu::dtype_name(DType::int8) == "int8");
  CHECK(xpu::dtype_name(DType::bf16) == "bf16");
  CHECK(xpu::dtype_name(DType::fp16) == "fp16");
  CHECK(xpu::dtype_name(DType::fp32) == "fp32");
  CHECK(xpu::dtype_name(DType::int32) == "int32");
  CHECK(xpu::dtype_bytes(DType::int8) == 1);
  CHECK(xpu::dtype_bytes(DType::bf16) == 2);
  CHECK(xpu::dtype_bytes(DType::fp16) == 2);
  CHECK(xpu::dtype_bytes(DType::fp32) == 4);
  CHECK(xpu::dtype_bytes(DType::int32) == 4);
  for (DType t : {DType::int8, DType::bf16, DType::fp16, DType::fp32, DType::int32}) {
    CHECK(xpu::parse_dtype(xpu::dtype_name(t)) == t);
  }
  CHECK(xpu::parse_dtype("BF16") == DType::bf16);
  CHECK(xpu::parse_dtype("Int8") == DType::int8);
  CHECK_FALSE(xpu::parse_dtype("half").has_value());
  CHECK_FALSE(xpu::parse_dtype("bf16 ").has_value());
  CHECK_FALSE(xpu::parse_dtype("").has_value());
  static_assert(xpu::parse_dtype("fp32") == DType::fp32, "parse_dtype is constexpr");
}

TEST_CASE("host FP environment is what the semantics assume", "[numerics][mac]") {
  CHECK(xpu::host_fp_env_is_ieee());
}

TEST_CASE("fp16 and bf16 products in fp32", "[numerics][mac]") {
  // (1+2^-10)^2 = 1 + 2^-9 + 2^-20: 21 significant bits, exact in fp32.
  const fp16 a = fp16::from_bits(0x3C01);
  CHECK(double(xpu::mul_fp32(a, a)) == 1.0 + std::ldexp(1.0, -9) + std::ldexp(1.0, -20));
  // fp16 subnormal x subnormal: 2^-24 * 2^-24 = 2^-48, a normal fp32.
  CHECK(xpu::mul_fp32(fp16::denorm_min(), fp16::denorm_min()) == std::ldexp(1.0f, -48));
  // 65504^2 = 4290774016 = 0xFFC00400 needs 22 bits: exact.
  CHECK(double(xpu::mul_fp32(fp16::max(), fp16::max())) == 65504.0 * 65504.0);
  // Every fp16 x fp16 product with a fixed operand is exact (random sweep).
  std::mt19937 rng(7);
  int inexact = 0;
  for (int i = 0; i < 100000; ++i) {
    fp16 x = fp16::from_bits(static_cast<std::uint16_t>(rng())), y = fp16::from_bits(static_cast<std::uint16_t>(rng()));
    if (x.is_nan() || y.is_nan() || x.is_inf() || y.is_inf()) continue;
    if (double(xpu::mul_fp32(x, y)) != double(x.to_float()) * double(y.to_float())) ++inexact;
  }
  CHECK(inexact == 0);

  // bf16 within fp32's normal range: exact. (1+2^-7)^2 = 1 + 2^-6 + 2^-14.
  const bf16 b = bf16::from_bits(0x3F81);
  CHECK(double(xpu::mul_fp32(b, b)) == 1.0 + std::ldexp(1.0, -6) + std::ldexp(1.0, -14));
  // bf16 caveats (documented in mac.h): fp32 overflow -> Inf,
  // max^2 = (255*2^120)^2 ~ 2^255.
  CHECK(std::isinf(xpu::mul_fp32(bf16::max(), bf16::max())));
  // Products below 2^-126 round to multiples of 2^-149 (RNE):
  // 2^-133 * 2^-1 = 2^-134: exact (a multiple of 2^-149).
  const bf16 half = bf16::from_float(0.5f);
  CHECK(xpu::mul_fp32(bf16::denorm_min(), half) == std::ldexp(1.0f, -134));
  // 2^-133 * 1.5*2^-16 = 1.5*2^-149: tie between 1 and 2 * 2^-149 -> 2 (even).
  const bf16 c = bf16::from_float(std::ldexp(1.5f, -16));
  CHECK(xpu::mul_fp32(bf16::denorm_min(), c) == std::ldexp(1.0f, -148));
  // 2^-133 * 2^-17 = 2^-150: tie between 0 and 2^-149 -> +0.
  const bf16 d = bf16::from_float(std::ldexp(1.0f, -17));
  const float z = xpu::mul_fp32(bf16::denorm_min(), d);
  CHECK(z == 0.0f);
  CHECK_FALSE(std::signbit(z));
}

TEST_CASE("fp32 MAC rounds twice, never fuses, and specials propagate", "[numerics][mac]") {
  // fp32 inputs a = 1 + 2^-12: a*a = 1 + 2^-11 + 2^-24 exactly. 2^-24 is half
  // of fp32's ulp at 1 (2^-23), a tie, so the product rounds to the even
  // 1 + 2^-11; mac(-(1 + 2^-11), a, a) is then exactly 0, while a fused
  // multiply-add would return the exact 2^-24.
  const float a = 1.0f + std::ldexp(1.0f, -12);
  const float acc = -(1.0f + std::ldexp(1.0f, -11));
  CHECK(xpu::mac_fp32(acc, a, a) == 0.0f);
  CHECK(std::fma(a, a, acc) == std::ldexp(1.0f, -24));  // what fusing would do

  const float inf = std::numeric_limits<float>::infinity();
  CHECK(std::isnan(xpu::mac_fp32(0.0f, bf16::infinity(), bf16::from_float(0.0f))));  // Inf * 0
  CHECK(std::isnan(xpu::add_fp32(inf, -inf)));
  CHECK(xpu::mac_fp32(1.0f, fp16::infinity(), fp16::from_float(2.0f)) == inf);
  CHECK(std::isnan(xpu::mac_fp32(1.0f, fp16::quiet_nan(), fp16::from_float(2.0f))));
  CHECK(std::isnan(xpu::add_fp32(std::numeric_limits<float>::quiet_NaN(), 1.0f)));
  // Signed zeros: -0 + -0 = -0; -0 + +0 = +0 (RNE).
  CHECK(std::signbit(xpu::add_fp32(-0.0f, -0.0f)));
  CHECK_FALSE(std::signbit(xpu::add_fp32(-0.0f, 0.0f)));
}

template <typename T>
void check_chunk_order(T big_a, T big_b) {
  // K = 4, products p = [big_a*big_b = 2^24, 1*1, 1*1, 1*0] in k order, but
  // laid out so that k_chunk = 2 groups them as {2^24, 0} and {1, 1}:
  // A = [big_a, 1, 1, 1], B = [big_b, 0, 1, 1] -> p = [2^24, 0, 1, 1].
  const T one = T::from_float(1.0f), zero = T::from_float(0.0f);
  const std::vector<T> A = {big_a, one, one, one};
  const std::vector<T> B = {big_b, zero, one, one};
  auto run = [&](std::size_t k_chunk, bool accumulate, float c0) {
    float c = c0;
    xpu::ref_gemm_f16<T>(1, 1, 4, A.data(), B.data(), &c, accumulate, k_chunk);
    return c;
  };
  // Sequential (k_chunk 4 or more): ((((0 + 2^24) + 0) + 1) + 1): each +1 is
  // a tie at 2^24 -> even 2^24. Then out = 0 + 2^24.
  CHECK(run(4, false, 0.0f) == 16777216.0f);
  CHECK(run(64, false, 0.0f) == 16777216.0f);
  // k_chunk = 1: out = 2^24, +0, +1 (tie -> 2^24), +1 (tie -> 2^24).
  CHECK(run(1, false, 0.0f) == 16777216.0f);
  // k_chunk = 2: psum0 = 2^24 + 0 = 2^24, psum1 = 1 + 1 = 2 (exact);
  // out = 0 + 2^24, then 2^24 + 2 = 16777218 (representable: ulp is 2).
  CHECK(run(2, false, 0.0f) == 16777218.0f);
  // k_chunk = 3: psum0 = (2^24 + 0) + 1 -> 2^24, psum1 = 1; out 2^24 + 1 -> 2^24.
  CHECK(run(3, false, 0.0f) == 16777216.0f);
  // Accumulating into C = -2^24 (chunk psums are added to the existing C,
  // in chunk order): k_chunk 2: -2^24 + 2^24 = 0, 0 + 2 = 2.
  CHECK(run(2, true, -16777216.0f) == 2.0f);
  // k_chunk 4: psum = 2^24 (the ones were lost), -2^24 + 2^24 = 0.
  CHECK(run(4, true, -16777216.0f) == 0.0f);
  // accumulate = false ignores the old C.
  CHECK(run(2, false, 123.0f) == 16777218.0f);
}

TEST_CASE("ref_gemm_f16 uses the systolic chunk order (bf16)", "[numerics][gemm]") {
  // bf16 2^12 = 0x4580 (exp 127+12 = 139 = 0x8B); 2^12 * 2^12 = 2^24 exact.
  const bf16 big = bf16::from_bits(0x4580);
  REQUIRE(big.to_float() == 4096.0f);
  check_chunk_order<bf16>(big, big);
}

TEST_CASE("ref_gemm_f16 uses the systolic chunk order (fp16)", "[numerics][gemm]") {
  // fp16 4096 = 0x6C00 (exp 15+12 = 27 -> 27 << 10); product 2^24 exact.
  const fp16 big = fp16::from_bits(0x6C00);
  REQUIRE(big.to_float() == 4096.0f);
  check_chunk_order<fp16>(big, big);
}

TEST_CASE("ref_gemm_f16 matches an explicit loop on random data", "[numerics][gemm]") {
  // Same order written out independently; also checks indexing (M != N != K).
  const std::size_t M = 5, N = 7, K = 37, R = 8;
  std::mt19937 rng(99);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<fp16> A(M * K), B(K * N);
  for (auto& v : A) v = fp16::from_float(dist(rng));
  for (auto& v : B) v = fp16::from_float(dist(rng));
  std::vector<float> C(M * N, 1.0f);
  xpu::ref_gemm_f16<fp16>(M, N, K, A.data(), B.data(), C.data(), true, R);
  for (std::size_t m = 0; m < M; ++m) {
    for (std::size_t n = 0; n < N; ++n) {
      float out = 1.0f;
      for (std::size_t k0 = 0; k0 < K; k0 += R) {
        float psum = 0.0f;
        for (std::size_t k = k0; k < std::min(K, k0 + R); ++k) {
          const float p = A[m * K + k].to_float() * B[k * N + n].to_float();
          psum = psum + p;
        }
        out = out + psum;
      }
      CHECK(xpu::float_to_bits(C[m * N + n]) == xpu::float_to_bits(out));
    }
  }
  float c = 0.0f;
  CHECK_THROWS_AS(xpu::ref_gemm_f16<bf16>(1, 1, 1, nullptr, nullptr, &c, false, 0),
                  std::invalid_argument);
}

// int64 sum reduced modulo 2^32 into int32: the wraparound reference.
std::int32_t wrap64(std::int64_t s) {
  const auto u = static_cast<std::uint32_t>(static_cast<std::uint64_t>(s));
  return xpu::int32_from_u32(u);
}

TEST_CASE("ref_gemm_int8 matches a plain loop, including wraparound", "[numerics][gemm]") {
  const std::size_t M = 6, N = 5, K = 300;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dist(-128, 127);
  std::vector<std::int8_t> A(M * K), B(K * N);
  for (auto& v : A) v = static_cast<std::int8_t>(dist(rng));
  for (auto& v : B) v = static_cast<std::int8_t>(dist(rng));
  std::vector<std::int32_t> C(M * N, 0);
  xpu::ref_gemm_int8(M, N, K, A.data(), B.data(), C.data(), false);
  std::vector<std::int32_t> C2(M * N, 1000);
  xpu::ref_gemm_int8(M, N, K, A.data(), B.data(), C2.data(), true);
  for (std::size_t m = 0; m < M; ++m) {
    for (std::size_t n = 0; n < N; ++n) {
      std::int64_t s = 0;
      for (std::size_t k = 0; k < K; ++k) s += std::int64_t{A[m * K + k]} * B[k * N + n];
      CHECK(C[m * N + n] == s);  // |s| <= 300 * 16384: no overflow here
      CHECK(C2[m * N + n] == s + 1000);
    }
  }
  // Overflow: K = 140000 products of (-128)*(-128) = 16384 sum to
  // 2293760000 > INT32_MAX; wrapped: 2293760000 - 2^32 = -2001207296.
  const std::size_t K2 = 140000;
  const std::vector<std::int8_t> a(K2, -128), b(K2, -128);
  std::int32_t c = 0;
  xpu::ref_gemm_int8(1, 1, K2, a.data(), b.data(), &c, false);
  CHECK(c == wrap64(std::int64_t{16384} * 140000));
  CHECK(c == -2001207296);
}

}  // namespace

TEST_CASE("ref_gemm_f16 overwrite keeps a -0 partial sum", "[numerics][gemm]") {
  // accumulate=false replaces C with the first chunk's partial sum (the
  // accumulator's overwrite mode) instead of adding it to anything.
  const bf16 a = bf16::from_float(2.0f), b = bf16::from_float(3.0f);
  float c = 100.0f;
  xpu::ref_gemm_f16<bf16>(1, 1, 1, &a, &b, &c, false, 1);
  CHECK(c == 6.0f);  // C replaced by 2*3, not 100 + 6
  xpu::ref_gemm_f16<bf16>(1, 1, 1, &a, &b, &c, true, 1);
  CHECK(c == 12.0f);  // 6 + 2*3
  // Two chunks (K = 2, k_chunk = 1): the second chunk adds to the first.
  const bf16 a2[2] = {bf16::from_float(1.0f), bf16::from_float(1.0f)};
  const bf16 b2[2] = {bf16::from_float(-0.0f), bf16::from_float(-0.0f)};
  float z = 5.0f;
  xpu::ref_gemm_f16<bf16>(1, 1, 2, a2, b2, &z, false, 1);
  // chunk 0: psum = +0 + (1 * -0) = +0; out = psum = +0; chunk 1: +0 + +0 = +0.
  CHECK(z == 0.0f);
  CHECK_FALSE(std::signbit(z));
}
