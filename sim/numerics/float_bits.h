// Bit-level access to IEEE binary32 values, shared by the 16-bit formats.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace xpu {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4,
              "xpusim numerics assume IEEE 754 binary32 floats");

// memcpy is the defined way to reinterpret bits before C++20's std::bit_cast;
// compilers lower it to a register move.
inline std::uint32_t float_to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace xpu
