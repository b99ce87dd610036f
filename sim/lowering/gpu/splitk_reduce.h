#pragma once
// The second pass of a split-K GEMM (gemm_tc.h): C = act(((P0 + P1) + P2)
// + ... + bias) over the split_k fp32 partial products, summed in split
// order with one fp32 rounding per FADD, then the fused epilogue exactly as
// the GEMM's (bias FADD, activation; activation.h). SIMT: a CTA covers 16
// rows x bn columns of C (one GEMM tile column band), each thread 16-byte
// chunks (LDG.128 per split, four FADDs each, STG.128), 128 threads or
// fewer. Buffers: 0 the partials (split s at + s x split_bytes), 1 C, 2 bias.
#include <cstdint>
#include <string>

#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

constexpr uint8_t kRedBufP = 0, kRedBufC = 1, kRedBufBias = 2;
constexpr uint32_t kReduceRows = 16;  // rows per CTA (every tile height is a multiple)

struct ReduceDesc {
  std::string name;
  uint32_t split = 2;
  uint32_t bn = 128;         // columns per CTA
  uint64_t ld = 0;           // row pitch of partials and C, bytes (fp32)
  uint64_t split_bytes = 0;  // between two partials
  TcEpilogue ep;
};

xpu::gpu::Kernel build_splitk_reduce(const ReduceDesc& d);
uint32_t splitk_reduce_threads(uint32_t bn);

}  // namespace xpu::lowering::gpu
