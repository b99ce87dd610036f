#include "sim/lowering/gpu/half_io.h"

#include "sim/numerics/bf16.h"
#include "sim/numerics/float_bits.h"
#include "sim/numerics/fp16.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

void emit_widen16(KernelBuilder& kb, DType t, uint8_t dst, uint8_t src, bool high) {
  if (t == DType::bf16) {
    if (high) kb.alui(Op::and_, dst, src, static_cast<int32_t>(0xFFFF0000u));
    else kb.alui(Op::shl, dst, src, 16);
    return;
  }
  if (high) {
    kb.alui(Op::shr, dst, src, 16);
    kb.alu(Op::h2f, dst, dst, kRZ);
  } else {
    kb.alu(Op::h2f, dst, src, kRZ);
  }
}

void emit_narrow16(KernelBuilder& kb, DType t, uint8_t dst, uint8_t src, uint8_t scratch) {
  if (t != DType::bf16) {
    kb.alu(Op::f2h, dst, src, kRZ);
    return;
  }
  kb.alui(Op::shr, scratch, src, 16);
  kb.alui(Op::and_, scratch, scratch, 1);
  kb.alui(Op::iadd, dst, src, 0x7FFF);
  kb.alu(Op::iadd, dst, dst, scratch);
  kb.alui(Op::shr, dst, dst, 16);
}

uint16_t narrow16(DType t, float f) {
  if (t != DType::bf16) return fp16::from_float(f).bits;
  const uint32_t u = float_to_bits(f);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float widen16(DType t, uint16_t bits) {
  return t == DType::bf16 ? bits_to_float(uint32_t{bits} << 16) : fp16::from_bits(bits).to_float();
}

}  // namespace xpu::lowering::gpu
