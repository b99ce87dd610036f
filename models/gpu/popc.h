#pragma once
// Population count of a warp's lane mask.
#include <cstdint>

namespace xpu::gpu {

// SWAR popcount: the portable build has no POPCNT instruction.
inline uint32_t popc(uint32_t x) {
  if (x == ~0u) return 32;  // full warps: the common case
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}

}  // namespace xpu::gpu
