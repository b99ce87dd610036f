// int32 accumulation with defined overflow behaviour.
//
// Signed overflow is UB in C++, but a 32-bit hardware adder simply wraps, so
// the default here is two's-complement wraparound computed in uint32_t (whose
// overflow is defined modulo 2^32). Saturation is offered for models whose
// hardware clamps instead.
#pragma once

#include <cstdint>
#include <limits>

namespace xpu {

enum class Int32Overflow { wrap, saturate };

// Maps a value modulo 2^32 back to int32 without relying on the
// implementation-defined out-of-range unsigned->signed conversion (pre-C++20).
constexpr std::int32_t int32_from_u32(std::uint32_t u) {
  return u <= 0x7FFFFFFFu
             ? static_cast<std::int32_t>(u)
             : static_cast<std::int32_t>(u - 0x80000000u) + std::numeric_limits<std::int32_t>::min();
}

// a + b modulo 2^32: INT32_MAX + 1 == INT32_MIN, like the hardware adder.
constexpr std::int32_t wrap_add(std::int32_t a, std::int32_t b) {
  return int32_from_u32(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

// a + b clamped to [INT32_MIN, INT32_MAX]; the exact sum fits in int64.
constexpr std::int32_t sat_add(std::int32_t a, std::int32_t b) {
  const std::int64_t s = std::int64_t{a} + std::int64_t{b};
  if (s > std::numeric_limits<std::int32_t>::max()) return std::numeric_limits<std::int32_t>::max();
  if (s < std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(s);
}

constexpr std::int32_t add_int32(std::int32_t a, std::int32_t b, Int32Overflow mode) {
  return mode == Int32Overflow::wrap ? wrap_add(a, b) : sat_add(a, b);
}

// int8 x int8 is exact in int32 (|a*b| <= 128*128 = 16384); only the
// accumulation can overflow.
constexpr std::int32_t mul_int8(std::int8_t a, std::int8_t b) {
  return std::int32_t{a} * std::int32_t{b};
}

// acc + a*b with wraparound: the default int8 MAC.
constexpr std::int32_t mac_int8(std::int32_t acc, std::int8_t a, std::int8_t b) {
  return wrap_add(acc, mul_int8(a, b));
}

constexpr std::int32_t mac_int8(std::int32_t acc, std::int8_t a, std::int8_t b,
                                Int32Overflow mode) {
  return add_int32(acc, mul_int8(a, b), mode);
}

}  // namespace xpu
