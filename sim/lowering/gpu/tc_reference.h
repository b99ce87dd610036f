#pragma once
// Reference GEMMs in the GPU's accumulation orders, written independently of
// the model (no fragments, registers or kernels): plain loops over matrices.
//
// Tensor cores (Volta's wmma m16n16k16, models/gpu/mma_volta_hmma884.h, with
// group = 4): every output element starts at +0 and receives, for k0 = 0, 4,
// 8, ... (ascending over the padded K),
//     acc = acc + ((a[k0] b[k0] + a[k0+1] b[k0+1]) + (a[k0+2] b[k0+2] + a[k0+3] b[k0+3]))
// Ampere's mma.sync (models/gpu/mma_ampere_mma_sync.h) adds groups of 8
// products the same way (group = 8: the pairwise tree over 8, i.e. the sums
// of the two halves of 4 added); MmaShape::dot_group gives a shape's group.
// with exact fp32 products and an fp32 rounding after every add; with fp16
// accumulation acc is rounded to fp16 after each such add. K is padded with
// zeros to `k_padded` (the lowering's tile multiple): each padded group adds
// a +0 dot product, which turns an accumulator of -0 into +0.
// int8: exact int32 products, wraparound adds (order-independent).
//
// SIMT (FFMA): acc = fma(a[k], b[k], acc) for k ascending from acc = +0,
// one rounding per FFMA, as Volta's fused FFMA does.
#include <cstdint>
#include <vector>

#include "models/gpu/isa.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/numerics/mac.h"

namespace xpu::lowering::gpu {

// A (m x k) and B (k x n) row-major raw values of `in`; result m x n raw
// bits (fp32 / int32 words, or fp16 halves widened to 32-bit words).
std::vector<uint32_t> reference_gemm_tc(DType in, xpu::gpu::AccType acc, uint64_t m, uint64_t n, uint64_t k,
                                        uint64_t k_padded, const uint8_t* a, const uint8_t* b, uint32_t group = 4);
// Split-K (gemm_tc.h, splitk_reduce.h): split s (< split) is the GEMM over
// K rows [s kslice, (s + 1) kslice) zero padded to kslice, in the order
// above from +0; C = ((P0 + P1) + P2) + ..., one fp32 rounding per add.
// split = 1 is reference_gemm_tc with k_padded = kslice. fp32 accumulation
// only; `group` as above (each split's products in the shape's groups).
std::vector<uint32_t> reference_gemm_tc_split(DType in, uint64_t m, uint64_t n, uint64_t k, uint64_t kslice,
                                              uint32_t split, const uint8_t* a, const uint8_t* b, uint32_t group = 4);
// The fused epilogue (gemm_tc.h) on fp32 results c (m x n words, in place):
// y = act(c + bias[j]) with one fp32 add, relu = fmax(y, +0), clip(lo, hi) =
// -fmax(-fmax(y, lo), -hi), as the kernel's FADD/FMNMX/FMUL compute them;
// with ep.residual y = act((c + bias[j]) + res[i][j]), two fp32 adds;
// with ep.out16 each y rounded to `in` (fp16/bf16, half_io.h: c then holds
// the 16-bit bits), res being the 16-bit residual's exact fp32 values;
// with ep.out8 the int8 requantization of int8_epilogue.h on int32 c (c
// then holds the int8 bits), res being the int8 residual's values q rs.
void reference_epilogue(const TcEpilogue& ep, uint64_t m, uint64_t n, const float* bias, std::vector<uint32_t>& c,
                        const float* res = nullptr, DType in = DType::fp16);
// k_padded: the lowering's zero-padded K (fma(+0, +0, acc) turns -0 into +0).
std::vector<uint32_t> reference_gemm_ffma(uint64_t m, uint64_t n, uint64_t k, uint64_t k_padded, const float* a,
                                          const float* b);

}  // namespace xpu::lowering::gpu
