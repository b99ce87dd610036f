#pragma once
// Ampere's tensor-core shape (MmaKind::ampere_mma_sync): PTX mma.sync.aligned
// with one SASS instruction per operation (HMMA.16816 / IMMA.16832 /
// HMMA.1688.F32.TF32), after the PTX ISA's "Matrix fragments for mma.m16n8k*"
// tables (PTX ISA 7.0+, section "Warp-level matrix multiply-accumulate"):
//
//   fp16 / bf16 -> f32 or f16 accumulation: m16n8k16
//   tf32 (fp32 registers, DType::fp32)     -> f32: m16n8k8
//   int8                                   -> s32: m16n8k32
//
// One operation is one instruction (sets 1, steps 1). With g = lane / 4
// (groupID) and t = lane % 4 (threadID_in_group), register r of a lane holds
//   A (16 x k, row-major): row g + 8 (r % 2), the 4 bytes at byte column
//       4t + 16 (r / 2) of that row (fp16/bf16: 2 elements, int8: 4, tf32: 1);
//   B (k x 8): column g, rows (k) 2t, 2t+1 + 8r (16-bit), 4t..4t+3 + 16r
//       (int8), t + 4r (tf32);
//   C/D (16 x 8): element i (i < 4) is row g + 8 (i / 2), column 2t + i % 2;
//       f32/s32 one register each, f16 two per register.
//
// Shared-memory fragment loads use ldmatrix (the way CUTLASS's sm80 kernels
// feed mma.sync): A as ldmatrix.x4 (the four 8x8 blocks of 16-bit words,
// rows 0-7 / 8-15 by bytes 0-15 / 16-31 -- the same for every input type,
// since the layout above is the same in bytes), 16-bit B as
// ldmatrix.x2.trans over row-major K x N (rows k 0-7 and 8-15). int8 B
// cannot be transposed by ldmatrix (it moves 16-bit elements), so the int8
// path wants B K-major (N x K, "TN" like CUTLASS's int8 kernels):
// b_k_major(int8) says so; tf32 B loads as four-byte pieces.
//
// Values, in the order the model fixes (sim/numerics/mac.h, "Tensor-core
// accumulation order"): per output element, for K groups of dot_group(in)
// consecutive k (8 for fp16/bf16, 4 for tf32) in ascending order, the
// group's exact fp32 products are summed by a pairwise tree rounding after
// every add, and the sum is added to the accumulator (one more rounding;
// with fp16 accumulation the accumulator is then rounded to fp16). tf32
// operands are the fp32 register bits with the low 13 mantissa bits cleared
// (a NaN stays a NaN). int8: exact products, wrapping int32 adds.
//
// 2:4 sparsity (Instr::sparse, mma.sp m16n8k32 for fp16/bf16): A's stored
// fragment is the dense m16n8k16 A (the two kept values of each group of 4
// along K, in k order), B is k32 (register r: rows 2t, 2t+1 + 8r), and the
// metadata register `meta` holds per lane, in bits 4r..4r+3, the positions
// (0..3, lower first) of A register r's two values in their group. (PTX
// spreads the same 2-bit indices over thread pairs chosen by a sparsity
// selector; the model keeps each lane's own, which changes no timing.) One
// instruction does 2048 real MACs, 4096 dense-equivalent, in the dense
// m16n8k16's issue interval: twice the math rate. Values: the 16 kept
// products per output in k order, 2 groups of 8, as the dense shape.
// int8 (mma.sp m16n8k64 .s8): A's stored fragment is the dense m16n8k32 A,
// B is k64 (register r: rows 4t..4t+3 + 16r), the metadata bits 8r + 2i
// hold the position of byte i of A register r (in general: bits 2e of A
// element e); 4096 real MACs, 8192 dense-equivalent, in ii_int8; exact
// products and wrapping int32 adds.
#include "models/gpu/mma_shape.h"

namespace xpu::gpu {

class AmpereMmaSync final : public MmaShape {
 public:
  AmpereMmaSync() : MmaShape(MmaKind::ampere_mma_sync, 16, 8, 16, 1) {}

  uint32_t k_of(DType in) const override { return in == DType::int8 ? 32 : in == DType::fp32 ? 8 : 16; }
  uint32_t dot_group(DType in) const override { return in == DType::fp32 ? 4 : 8; }
  uint32_t steps(AccType) const override { return 1; }
  // 16-bit inputs: A 8 elements, B 4, C 4.
  uint32_t frag_elems(FragKind kind) const override { return kind == FragKind::a ? 8 : 4; }
  uint32_t frag_elems_of(FragKind kind, DType in) const override;
  FragElem frag_elem(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t e) const override;
  uint32_t frag_part_bytes(FragKind kind, DType in, AccType acc) const override {
    return kind == FragKind::c ? 2 * elem_bytes(kind, in, acc) : 4;
  }
  // Ordinary loads/stores: A and C from row-major tiles; B only for tf32
  // (row-major) and int8 (K-major, b_k_major); 16-bit B loads by ldmatrix.
  uint32_t frag_lane_offset(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t part,
                            uint32_t ldm) const override;
  LdMatrix ldmatrix(FragKind kind, DType in) const override;
  uint32_t ldmatrix_lane_offset(FragKind kind, DType in, uint32_t lane, uint32_t ldm) const override;
  bool b_k_major(DType in) const override { return in == DType::int8; }
  MmaStepRegs step_regs(const Instr& in) const override;
  MmaStepTraffic step_rf(const Instr& in) const override;
  void step(const Instr& in, uint32_t* const* regs) const override;

  // tf32 operand of an fp32 register (low 13 mantissa bits cleared; NaN kept).
  static float tf32(uint32_t bits);
};

}  // namespace xpu::gpu
