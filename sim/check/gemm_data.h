#pragma once
// Deterministic GEMM operands and the reference result for a layer, so that
// every run's values can be checked bit for bit.
#include <cstdint>
#include <vector>

#include "sim/numerics/mac.h"

namespace xpu::check {

struct GemmData {
  DType dtype = DType::int8;
  uint64_t m = 0, n = 0, k = 0;
  std::vector<uint8_t> a;  // row-major m x k, dtype
  std::vector<uint8_t> b;  // row-major k x n, dtype
};

// int8: uniform over [-128, 127]; bf16/fp16: N(0, 1) rounded to nearest even.
GemmData make_gemm_data(DType dtype, uint64_t m, uint64_t n, uint64_t k, uint64_t seed);

// Reference C (int32 or fp32 bits, row-major m x n) accumulating K in chunks
// of `k_chunk` rows, the order of a weight-stationary array of that height.
std::vector<uint32_t> reference_gemm(const GemmData& d, uint64_t k_chunk);

}  // namespace xpu::check
