// Reference GEMMs: the bit-exact results a model's datapath must reproduce.
// All matrices are dense row-major: A is MxK, B is KxN, C is MxN.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sim/numerics/bf16.h"
#include "sim/numerics/fp16.h"

namespace xpu {

// C = (accumulate ? C : 0) + A*B with int8 x int8 -> int32 exact products and
// int32 wraparound accumulation (mac_int8). Wrapping addition is associative,
// so the order of the k loop does not affect the result.
void ref_gemm_int8(std::size_t M, std::size_t N, std::size_t K, const std::int8_t* A,
                   const std::int8_t* B, std::int32_t* C, bool accumulate);

// bf16/fp16 inputs, fp32 products and fp32 accumulation (mac.h), in the order
// a weight-stationary systolic array with k_chunk rows produces. For every
// output element (m, n):
//
//   for each K-chunk c = 0, 1, ... (rows k in [c*k_chunk, min(K, (c+1)*k_chunk))):
//     psum = 0.0f
//     for k in the chunk, ascending:  psum = add_fp32(psum, mul_fp32(A[m][k], B[k][n]))
//     out = (c == 0 && !accumulate) ? psum             -- accumulator overwritten
//                                   : add_fp32(out, psum)  -- accumulator += psum
//   C[m][n] = out
//
// The first chunk without `accumulate` replaces the accumulator, as the
// hardware's overwrite mode does: a -0 partial sum stays -0 (0 + -0 would be +0).
//
// Every add rounds to fp32 (never fused). k_chunk >= K gives a single chunk,
// i.e. a plain sequential dot product then one add into the accumulator:
// the order of an output-stationary array, whose PEs keep each output's
// partial sum over the whole K (WS and IS arrays use k_chunk = rows).
// Throws std::invalid_argument if k_chunk == 0. Instantiated for bf16, fp16.
template <typename T>
void ref_gemm_f16(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, float* C,
                  bool accumulate, std::size_t k_chunk);

extern template void ref_gemm_f16<bf16>(std::size_t, std::size_t, std::size_t, const bf16*,
                                        const bf16*, float*, bool, std::size_t);
extern template void ref_gemm_f16<fp16>(std::size_t, std::size_t, std::size_t, const fp16*,
                                        const fp16*, float*, bool, std::size_t);

}  // namespace xpu
