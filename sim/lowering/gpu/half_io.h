#pragma once
// 16-bit tensors between kernels: a GPU network keeps its activations in the
// run's 16-bit type (fp16 or bf16) and every kernel computes in fp32. These
// are the conversions the kernels emit, and the host's bit-identical
// rounding that references apply at the same points.
//
// Rounding points (fp32 -> 16-bit, round to nearest even):
//   fp16: F2F.F16.F32 (Op::f2h, IEEE); overflow gives +-inf.
//   bf16: Volta has no bf16 conversion instruction, so (as the CUDA
//         __float2bfloat16_rn software path does) four integer ops: add
//         0x7FFF plus the kept LSB and keep the high half. Exact for finite
//         values and infinities; a NaN's payload is not preserved (no
//         kernel of a network produces one from finite inputs).
// Widening (16-bit -> fp32) is exact: Op::h2f, or a shift for bf16.
#include <cstdint>

#include "models/gpu/kernel_builder.h"
#include "sim/numerics/mac.h"

namespace xpu::lowering::gpu {

// True for the 16-bit activation types (fp16, bf16).
inline bool is_act16(DType t) { return t == DType::fp16 || t == DType::bf16; }
// Bytes of one activation element between kernels: 2 for fp16/bf16, else 4.
inline uint32_t act_bytes(DType t) { return is_act16(t) ? 2u : 4u; }

// dst = fp32 of the 16-bit value in the low (high: the upper) half of src.
void emit_widen16(xpu::gpu::KernelBuilder& kb, DType t, uint8_t dst, uint8_t src, bool high = false);
// dst = the 16-bit rounding of fp32 src in the low half, upper half zero.
// `scratch`: a register the bf16 rounding may use (not src or dst).
void emit_narrow16(xpu::gpu::KernelBuilder& kb, DType t, uint8_t dst, uint8_t src, uint8_t scratch);

// Host side, bit-identical to the kernels.
uint16_t narrow16(DType t, float f);
float widen16(DType t, uint16_t bits);
// f rounded to the 16-bit type and back (the value a consumer reads).
inline float round16(DType t, float f) { return widen16(t, narrow16(t, f)); }

}  // namespace xpu::lowering::gpu
