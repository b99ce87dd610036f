#pragma once
// Register layout of wmma m16n16k16 fragments, after the octet structure of
// Raihan et al. (ISPASS 2019): lane l is in threadgroup g = l / 4; octet
// o = g % 4 pairs threadgroups o and o + 4 and owns the 8x8 output subtile at
// (8 (o / 2), 8 (o % 2)); q = l % 4 + 4 (g / 4) numbers the octet's 8 lanes.
// The CUDA API leaves fragment layouts opaque; this one keeps Volta's
// structure (A and B elements are held by two octets each, every HMMA step
// writes one accumulator register pair in every lane) so register counts,
// shared-memory access patterns and HMMA dependences are the hardware's.
//
//   A (16x16, row-major in memory): lane holds row 8 (o/2) + q, k = 0..15
//       fp16/bf16: 8 regs, reg r = k {2r, 2r+1};  int8: 4 regs, reg r = k 4r..4r+3
//   B (16x16, row-major, k rows): lane holds rows k = 2q, 2q+1, cols 8 (o%2) + 0..7
//       16-bit: reg r<4 = row 2q cols {2r, 2r+1}; r>=4 = row 2q+1 cols {2(r-4), +1}
//       int8:   reg 0,1 = row 2q cols 4r..4r+3; reg 2,3 = row 2q+1
//   C/D (16x16, row-major): lane holds row 8 (o/2) + q, cols 8 (o%2) + 0..7
//       f32/s32: 8 regs, reg r = col r;  f16: 4 regs, reg r = cols {2r, 2r+1}
#include <cstdint>

#include "models/gpu/isa.h"
#include "sim/numerics/mac.h"

namespace xpu::gpu {

enum class FragKind : int8_t { a = 0, b = 1, c = 2 };

struct LaneCoord {
  uint32_t octet, q, row0, col0;
};

inline LaneCoord lane_coord(uint32_t lane) {
  const uint32_t g = lane / 4, o = g % 4;
  return {o, lane % 4 + 4 * (g / 4), 8 * (o / 2), 8 * (o % 2)};
}
// The lane holding octet o's local index q.
inline uint32_t lane_of(uint32_t octet, uint32_t q) { return 4 * (octet + 4 * (q / 4)) + q % 4; }

inline uint32_t elem_bytes(FragKind k, DType in, AccType acc) {
  if (k == FragKind::c) return acc == AccType::f16 ? 2 : 4;
  return in == DType::int8 ? 1 : 2;
}
// Elements per lane: A 16 (one row), B 16 (two half rows), C 8 (half a row).
inline uint32_t frag_elems(FragKind k) { return k == FragKind::c ? 8 : 16; }
// Registers per lane.
inline uint32_t frag_regs(FragKind k, DType in, AccType acc) { return frag_elems(k) * elem_bytes(k, in, acc) / 4; }

// Memory parts per lane (one LDS/LDG/STS/STG each) and their width in bytes:
// A and C move 16-byte pieces of one row; B moves one 8-element row piece each.
inline uint32_t frag_part_bytes(FragKind k, DType in, AccType acc) {
  return k == FragKind::b ? 8 * elem_bytes(k, in, acc) : 16;
}
inline uint32_t frag_parts(FragKind k, DType in, AccType acc) {
  return frag_elems(k) * elem_bytes(k, in, acc) / frag_part_bytes(k, in, acc);
}

// Byte offset, from the tile's top-left element, of a lane's memory part.
inline uint32_t frag_lane_offset(FragKind k, DType in, AccType acc, uint32_t lane, uint32_t part, uint32_t ldm) {
  const LaneCoord c = lane_coord(lane);
  const uint32_t e = elem_bytes(k, in, acc);
  switch (k) {
    case FragKind::a: return (c.row0 + c.q) * ldm + part * 16;
    case FragKind::b: return (2 * c.q + part) * ldm + c.col0 * e;
    case FragKind::c: return (c.row0 + c.q) * ldm + c.col0 * e + part * 16;
  }
  return 0;
}

}  // namespace xpu::gpu
