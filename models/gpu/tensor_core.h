#pragma once
// Values computed by one HMMA step (see fragment.h for the layouts).
//
// Order of accumulation (what makes results bit-exact):
// * Raihan et al. (ISPASS 2019) give the structure: set s (of 4) covers
//   k = 4s..4s+3; each output element receives, per set, one four-element
//   dot product (their FEDP unit: 4 multipliers and an adder tree) added to
//   the accumulator; the sets run in order s = 0..3, chained through the
//   accumulator registers. Consecutive wmma.mma calls continue that chain.
// * Within an FEDP the paper gives no rounding behaviour. We follow the
//   project's MAC semantics (sim/numerics/mac.h): products exact in fp32,
//   then the adder tree in its natural pairing, rounding after every add:
//       dot = (p0 + p1) + (p2 + p3);   acc = acc + dot.
//   (Measurements of real V100s, Fasi et al. 2021, find a single truncating
//   alignment of all five terms instead; that is not modelled.)
// * fp16 accumulation: acc = fp16(float(acc) + dot), one more rounding.
// * int8: exact products, int32 wraparound adds (order-independent).
#include <cstdint>

#include "models/gpu/isa.h"

namespace xpu::gpu {

// regs[r] points at register r's 32 lanes. Reads A (in.a), B (in.b) and
// accumulator (in.c) fragments and writes the step's outputs to in.dst.
void hmma_step(const Instr& in, uint32_t* const* regs);

// Operand registers an HMMA step reads and writes (for the scoreboard and
// register-file statistics).
struct HmmaRegs {
  uint8_t a_first, a_count;  // A registers of this set
  uint8_t b_first, b_count;  // B registers (the whole fragment: steps pick columns)
  uint8_t d_first, d_count;  // accumulator register pair of this step
};
HmmaRegs hmma_regs(const Instr& in);

}  // namespace xpu::gpu
