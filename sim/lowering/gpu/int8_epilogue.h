#pragma once
// The requantizing epilogue of int8 tensor-core GEMMs and implicit-GEMM
// convolutions (TcEpilogue::out8), as int8 inference pipelines (TensorRT,
// cuBLASLt's int8 epilogues) run it: the int32 accumulator is dequantized,
// biased and activated in fp32, requantized to int8 and stored as int8 C
// for the next int8 kernel, so int8 activations flow through device memory
// at a quarter of the int32 bytes.
//
// Per element, in this order (the rounding points):
//   x = float(acc)              I2F.F32.S32, round to nearest even
//   x = x * dq                  FMUL: dequantization, dq = s_in s_w
//   x = x + bias[col]           FADD (fp32 bias, in the output's real units)
//   x = act(x)                  the fp32 epilogue's functions (activation.h)
//   x = x * qs                  FMUL: requantization, qs = 1 / s_out
//   q = sat(rne(x), -128, 127)  F2I.S32 (round to nearest even, NaN -> 0), IMNMX
// The reference executor's int8 quantization (sim/numerics/int8_quant.h)
// rounds half to even and saturates to [-128, 127] the same way, and the
// TPU's Activate step (models/tpu/isa.h) multiplies by 1 / s_out as here;
// unlike the TPU, the bias is fp32 added after the dequantization (as
// TensorRT's int8 kernels keep it), not int32 added before.
//
// The store: C fragments' elements are scattered over the lanes, and a
// lane's int8 elements are not 16-byte runs, so the CTA stages each row of
// fragments through shared memory as CUTLASS's epilogue does: every warp
// stores its fragments of row i (one int32 word per element, the byte in
// the low 8 bits), a barrier, then each thread reads 64 bytes (16
// elements) with LDS.128s, packs them into 4 words (3 IMADs per word, the
// cost of PRMT's byte merges) and stores 16 bytes of int8 C with one
// STG.128.
#include <cstdint>
#include <utility>
#include <vector>

#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

// Shared memory the staged store needs: (bm / wm) warp rows of M rows, each
// bn int32 words at a padded pitch.
uint32_t int8_stage_bytes(const GemmTiling& t, uint32_t mma_m);
// A kernel's shared memory: its main loop's `mainloop` bytes, or the int8
// staging where that is larger (the two are never live together, as
// CUTLASS unions its main loop's and epilogue's shared storage).
uint32_t epilogue_shared(uint32_t mainloop, const GemmTiling& t, const xpu::gpu::MmaShape& mma, const TcEpilogue& ep);
// The per-tensor scales of an int8 layer with `fan_in` products per output
// (no calibration data on the GPU path): activations at s = 2^-5 (int8
// +-127 covers +-4), weights at 2^-(7 + round(log2(fan_in) / 2)) (a trained
// layer's 1 / sqrt(fan_in) range), so a layer's outputs keep the inputs'
// magnitude; powers of two, exact. Returns {dq, qs}.
std::pair<float, float> int8_layer_scales(uint64_t fan_in);
// The epilogue above on the s32 accumulators `accs` (fm x fn fragments per
// warp) and the int8 store of C. Throws GpuLoweringError where the kernel
// cannot stage its tile (shared memory, registers) or the epilogue asks a
// residual (not fused on int8).
void emit_int8_epilogue(xpu::gpu::KernelBuilder& kb, const TcKernelDesc& d, const std::vector<xpu::gpu::Frag>& accs,
                        uint32_t fm, uint32_t fn, const TcEpilogueRegs& r);

}  // namespace xpu::lowering::gpu
