#pragma once
// Volta's tensor-core shape (MmaKind::volta_hmma884): wmma m16n16k16 as the
// HMMA.884 instructions Volta runs, after Raihan, Goli, Aamodt, "Modeling
// Deep Learning Accelerator Enabled GPUs", ISPASS 2019 (arXiv:1811.08309).
//
// Decomposition: 4 sets (set s covers k = 4s..4s+3) of 4 steps with fp32 or
// int32 accumulation (16 HMMA.884 per wmma) or 2 steps with fp16
// accumulation (8 HMMA.884); step t of a set writes one accumulator register
// pair in every lane (fp32: columns 2t, 2t+1 of the lane's 8; fp16: 4t..4t+3).
// Steps of a set chain on the accumulators the same step of the previous set wrote.
//
// Fragments, after the paper's octet structure: lane l is in threadgroup
// g = l / 4; octet o = g % 4 pairs threadgroups o and o + 4 and owns the
// 8x8 output subtile at (8 (o / 2), 8 (o % 2)); q = l % 4 + 4 (g / 4)
// numbers the octet's 8 lanes. The CUDA API leaves fragment layouts opaque;
// this one keeps Volta's structure (A and B elements are held by two octets
// each, every HMMA step writes one accumulator register pair in every lane)
// so register counts, shared-memory access patterns and HMMA dependences are
// the hardware's.
//
//   A (16x16, row-major in memory): lane holds row 8 (o/2) + q, element e = k e
//       fp16/bf16: 8 regs, reg r = k {2r, 2r+1};  int8: 4 regs, reg r = k 4r..4r+3
//   B (16x16, row-major, k rows): lane holds rows k = 2q, 2q+1, cols 8 (o%2) + 0..7;
//       element e = (row 2q + e / 8, col 8 (o%2) + e % 8)
//       16-bit: reg r<4 = row 2q cols {2r, 2r+1}; r>=4 = row 2q+1 cols {2(r-4), +1}
//       int8:   reg 0,1 = row 2q cols 4r..4r+3; reg 2,3 = row 2q+1
//   C/D (16x16, row-major): lane holds row 8 (o/2) + q, cols 8 (o%2) + e, e < 8
//       f32/s32: 8 regs, reg r = col r;  f16: 4 regs, reg r = cols {2r, 2r+1}
//   Memory parts per lane: A and C move 16-byte pieces of their row; B moves
//   one 8-element row piece each (rows 2q and 2q + 1).
//
// Values, in the order that makes results bit-exact:
// * Raihan et al. give the structure: each output element receives, per set,
//   one four-element dot product (their FEDP unit: 4 multipliers and an adder
//   tree) added to the accumulator; the sets run in order s = 0..3, chained
//   through the accumulator registers. Consecutive wmma.mma calls continue
//   that chain.
// * Within an FEDP the paper gives no rounding behaviour. We follow the
//   project's MAC semantics (sim/numerics/mac.h): products exact in fp32,
//   then the adder tree in its natural pairing, rounding after every add:
//       dot = (p0 + p1) + (p2 + p3);   acc = acc + dot.
//   (Measurements of real V100s, Fasi et al. 2021, find a single truncating
//   alignment of all five terms instead; that is not modelled.)
// * fp16 accumulation: acc = fp16(float(acc) + dot), one more rounding.
// * int8: exact products, int32 wraparound adds (order-independent).
#include "models/gpu/mma_shape.h"

namespace xpu::gpu {

class VoltaHmma884 final : public MmaShape {
 public:
  VoltaHmma884() : MmaShape(MmaKind::volta_hmma884, 16, 16, 16, 4) {}

  uint32_t steps(AccType acc) const override { return acc == AccType::f16 ? 2 : 4; }
  // A 16 (one row), B 16 (two half rows), C 8 (half a row).
  uint32_t frag_elems(FragKind kind) const override { return kind == FragKind::c ? 8 : 16; }
  FragElem frag_elem(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t e) const override;
  uint32_t frag_part_bytes(FragKind kind, DType in, AccType acc) const override {
    return kind == FragKind::b ? 8 * elem_bytes(kind, in, acc) : 16;
  }
  uint32_t frag_lane_offset(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t part,
                            uint32_t ldm) const override;
  MmaStepRegs step_regs(const Instr& in) const override;
  MmaStepTraffic step_rf(const Instr& in) const override;
  void step(const Instr& in, uint32_t* const* regs) const override;

  // Octet structure: a lane's octet, its index q in the octet, and the
  // octet's output subtile origin.
  struct LaneCoord {
    uint32_t octet, q, row0, col0;
  };
  static LaneCoord lane_coord(uint32_t lane) {
    const uint32_t g = lane / 4, o = g % 4;
    return {o, lane % 4 + 4 * (g / 4), 8 * (o / 2), 8 * (o % 2)};
  }
  // The lane holding octet o's local index q.
  static uint32_t lane_of(uint32_t octet, uint32_t q) { return 4 * (octet + 4 * (q / 4)) + q % 4; }
};

}  // namespace xpu::gpu
