// int8 symmetric quantization and int32 accumulation.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "sim/numerics/int32_acc.h"
#include "sim/numerics/int8_quant.h"

namespace {

constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

TEST_CASE("int8 quantize: round half to even", "[numerics][int8]") {
  // scale 1: x / 1 is exact, so these are pure rounding checks.
  CHECK(xpu::quantize(0.5f, 1.0f) == 0);    // tie between 0 (even) and 1
  CHECK(xpu::quantize(1.5f, 1.0f) == 2);    // tie between 1 and 2 (even)
  CHECK(xpu::quantize(2.5f, 1.0f) == 2);    // tie between 2 (even) and 3
  CHECK(xpu::quantize(-0.5f, 1.0f) == 0);   // tie between -1 and 0 (even)
  CHECK(xpu::quantize(-1.5f, 1.0f) == -2);  // tie between -2 (even) and -1
  CHECK(xpu::quantize(-2.5f, 1.0f) == -2);  // tie between -3 and -2 (even)
  CHECK(xpu::quantize(0.49999997f, 1.0f) == 0);  // largest float below 0.5
  CHECK(xpu::quantize(0.50000006f, 1.0f) == 1);  // smallest float above 0.5
  CHECK(xpu::quantize(-0.0f, 1.0f) == 0);
  CHECK(xpu::quantize(126.5f, 1.0f) == 126);  // tie, 126 even
  // scale 0.5: x / 0.5 = 2x exactly; 0.75 -> 1.5 -> 2, 1.25 -> 2.5 -> 2.
  CHECK(xpu::quantize(0.75f, 0.5f) == 2);
  CHECK(xpu::quantize(1.25f, 0.5f) == 2);
}

TEST_CASE("int8 quantize: saturation", "[numerics][int8]") {
  CHECK(xpu::quantize(200.0f, 1.0f) == 127);
  CHECK(xpu::quantize(-1000.0f, 1.0f) == -128);
  CHECK(xpu::quantize(127.5f, 1.0f) == 127);    // would round to 128 (even): clamps
  CHECK(xpu::quantize(127.49f, 1.0f) == 127);   // rounds to 127 itself
  CHECK(xpu::quantize(-128.5f, 1.0f) == -128);  // would round to -128 anyway
  CHECK(xpu::quantize(-129.0f, 1.0f) == -128);
  CHECK(xpu::quantize(kInf, 1.0f) == 127);  // +-Inf saturate (documented)
  CHECK(xpu::quantize(-kInf, 1.0f) == -128);
  // x / scale overflowing fp32 to Inf still saturates: 1e30 / 1e-30 = Inf.
  CHECK(xpu::quantize(1e30f, 1e-30f) == 127);
}

TEST_CASE("int8 quantize: NaN and bad scales throw", "[numerics][int8]") {
  CHECK_THROWS_AS(xpu::quantize(kNaN, 1.0f), std::invalid_argument);
  CHECK_THROWS_WITH(xpu::quantize(-kNaN, 1.0f), Catch::Contains("NaN"));
  CHECK_THROWS_AS(xpu::quantize(1.0f, 0.0f), std::invalid_argument);
  CHECK_THROWS_AS(xpu::quantize(1.0f, -1.0f), std::invalid_argument);
  CHECK_THROWS_AS(xpu::quantize(1.0f, kInf), std::invalid_argument);
  CHECK_THROWS_AS(xpu::quantize(1.0f, kNaN), std::invalid_argument);
  const std::vector<float> v = {1.0f, kNaN, 2.0f};
  CHECK_THROWS_AS(xpu::quantize(v, 1.0f), std::invalid_argument);
  CHECK_THROWS_AS(xpu::quantize_per_tensor(v), std::invalid_argument);
}

TEST_CASE("int8 scale_for", "[numerics][int8]") {
  CHECK(xpu::scale_for(127.0f) == 1.0f);  // 127 / 127
  CHECK(xpu::scale_for(254.0f) == 2.0f);
  CHECK(xpu::scale_for(0.0f) == 1.0f);    // documented: all-zero tensor -> 1
  // denorm_min / 127 underflows to 0 -> documented fallback denorm_min.
  CHECK(xpu::scale_for(std::numeric_limits<float>::denorm_min()) ==
        std::numeric_limits<float>::denorm_min());
  CHECK_THROWS_WITH(xpu::scale_for(kNaN), Catch::Contains("NaN"));
  CHECK_THROWS_WITH(xpu::scale_for(kInf), Catch::Contains("infinite"));
  CHECK_THROWS_WITH(xpu::scale_for(-1.0f), Catch::Contains("negative"));
  // max_abs maps to exactly +-127 for any scale_for-derived scale.
  for (float m : {0.1f, 1.0f, 3.3f, 1e-20f, 1e20f, 65504.0f}) {
    CHECK(xpu::quantize(m, xpu::scale_for(m)) == 127);
    CHECK(xpu::quantize(-m, xpu::scale_for(m)) == -127);
  }
}

TEST_CASE("int8 vector helpers and dequantize", "[numerics][int8]") {
  // max_abs 254 -> scale 2: -254/2 = -127; 3/2 = 1.5 -> 2 (even);
  // 127/2 = 63.5 -> 64 (even); 254/2 = 127; 0 -> 0.
  const std::vector<float> x = {-254.0f, 3.0f, 127.0f, 254.0f, 0.0f};
  const xpu::QuantizedTensor t = xpu::quantize_per_tensor(x);
  CHECK(t.scale == 2.0f);
  CHECK(t.values == std::vector<std::int8_t>{-127, 2, 64, 127, 0});
  // q * 2: exact.
  CHECK(xpu::dequantize(t.values, t.scale) == std::vector<float>{-254.0f, 4.0f, 128.0f, 254.0f, 0.0f});
  CHECK(xpu::dequantize(std::int8_t{-128}, 0.5f) == -64.0f);
  CHECK(xpu::tensor_max_abs(x.data(), x.size()) == 254.0f);
  CHECK(xpu::tensor_max_abs(nullptr, 0) == 0.0f);
  const std::vector<float> with_nan = {1.0f, kNaN};
  CHECK(std::isnan(xpu::tensor_max_abs(with_nan.data(), with_nan.size())));
  const xpu::QuantizedTensor zeros = xpu::quantize_per_tensor({0.0f, -0.0f});
  CHECK(zeros.scale == 1.0f);
  CHECK(zeros.values == std::vector<std::int8_t>{0, 0});
}

TEST_CASE("int32 wraparound and saturating accumulation", "[numerics][int32]") {
  static_assert(xpu::wrap_add(kMax, 1) == kMin, "INT32_MAX + 1 wraps to INT32_MIN");
  CHECK(xpu::wrap_add(kMax, 1) == kMin);
  CHECK(xpu::wrap_add(kMin, -1) == kMax);
  CHECK(xpu::wrap_add(kMax, kMax) == -2);  // 2^32 - 2 mod 2^32 = -2
  CHECK(xpu::wrap_add(kMin, kMin) == 0);   // -2^32 mod 2^32 = 0
  CHECK(xpu::wrap_add(-5, 3) == -2);
  CHECK(xpu::sat_add(kMax, 1) == kMax);
  CHECK(xpu::sat_add(kMin, -1) == kMin);
  CHECK(xpu::sat_add(kMin, kMin) == kMin);
  CHECK(xpu::sat_add(-5, 3) == -2);
  CHECK(xpu::add_int32(kMax, 1, xpu::Int32Overflow::wrap) == kMin);
  CHECK(xpu::add_int32(kMax, 1, xpu::Int32Overflow::saturate) == kMax);

  // (-128) * (-128) = 16384 is the largest int8 product.
  CHECK(xpu::mul_int8(-128, -128) == 16384);
  CHECK(xpu::mul_int8(-128, 127) == -16256);
  CHECK(xpu::mac_int8(10, 3, -4) == -2);
  // (INT32_MAX - 16383) + 16384 = INT32_MAX + 1 -> wraps / saturates.
  CHECK(xpu::mac_int8(kMax - 16383, -128, -128) == kMin);
  CHECK(xpu::mac_int8(kMax - 16383, -128, -128, xpu::Int32Overflow::saturate) == kMax);
  CHECK(xpu::mac_int8(kMax - 16384, -128, -128, xpu::Int32Overflow::saturate) == kMax);
  CHECK(xpu::mac_int8(kMin, 127, -128) == kMax - 16255);  // -2^31 - 16256 + 2^32
}

}  // namespace
