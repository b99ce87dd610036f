#pragma once
// The second pass of a split-K GEMM (gemm_tc.h): C = act(((P0 + P1) + P2)
// + ... + bias) over the split_k fp32 partial products, summed in split
// order with one fp32 rounding per FADD, then the fused epilogue exactly as
// the GEMM's (bias FADD, activation; activation.h). SIMT: a CTA covers
// `rows` rows x bn columns of C (one GEMM tile column band), each thread
// 16-byte chunks (LDG.128 per split, four FADDs each, STG.128), 32 to 128
// threads; only the rows up to M are reduced (a GEMV's padding rows are
// not). Buffers: 0 the partials (split s at + s x split_bytes), 1 C, 2 bias,
// 3 a fused residual (ep.residual: C's type and pitch, added after the bias
// as the GEMM's epilogue does: act((sum + bias) + res)).
#include <cstdint>
#include <string>

#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

constexpr uint8_t kRedBufP = 0, kRedBufC = 1, kRedBufBias = 2, kRedBufRes = 3;

struct ReduceDesc {
  std::string name;
  uint32_t split = 2;
  uint32_t bn = 128;         // columns per CTA
  uint32_t rows = 16;        // rows per CTA: a power of two dividing the tile height, rows x bn >= 128
  uint64_t ld = 0;           // row pitch of partials and C, bytes (fp32)
  uint64_t split_bytes = 0;  // between two partials
  TcEpilogue ep;
  // ep.out16: C's row pitch (16-bit C) and its type; each thread's four
  // results rounded (half_io.h) and stored as one STG.64.
  uint64_t ldc = 0;
  DType in = DType::fp16;
};

xpu::gpu::Kernel build_splitk_reduce(const ReduceDesc& d);
uint32_t splitk_reduce_threads(uint32_t rows, uint32_t bn);
// Rows per reduction CTA for an M-row GEMM on tiles of bm x bn: M rounded up
// to a power of two, at most 16 and bm, at least 128 / bn (a whole warp).
uint32_t splitk_reduce_rows(uint64_t m, uint32_t bm, uint32_t bn);

}  // namespace xpu::lowering::gpu
