#include "sim/numerics/reference_gemm.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "sim/numerics/int32_acc.h"
#include "sim/numerics/mac.h"

namespace xpu {

void ref_gemm_int8(std::size_t M, std::size_t N, std::size_t K, const std::int8_t* A,
                   const std::int8_t* B, std::int32_t* C, bool accumulate) {
  // Row by row of B (contiguous), in uint32: the sum modulo 2^32 that
  // mac_int8's wrapping adds give in any order.
  std::vector<std::uint32_t> acc(N);
  for (std::size_t m = 0; m < M; ++m) {
    for (std::size_t n = 0; n < N; ++n) acc[n] = accumulate ? static_cast<std::uint32_t>(C[m * N + n]) : 0u;
    for (std::size_t k = 0; k < K; ++k) {
      const std::int32_t a = A[m * K + k];
      const std::int8_t* b = B + k * N;
      for (std::size_t n = 0; n < N; ++n) acc[n] += static_cast<std::uint32_t>(a * std::int32_t{b[n]});
    }
    for (std::size_t n = 0; n < N; ++n) C[m * N + n] = int32_from_u32(acc[n]);
  }
}

template <typename T>
void ref_gemm_f16(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, float* C,
                  bool accumulate, std::size_t k_chunk) {
  if (k_chunk == 0) throw std::invalid_argument("ref_gemm_f16: k_chunk must be > 0");
  for (std::size_t m = 0; m < M; ++m) {
    for (std::size_t n = 0; n < N; ++n) {
      float out = accumulate ? C[m * N + n] : 0.0f;
      bool overwrite = !accumulate;
      for (std::size_t k0 = 0; k0 < K; k0 += k_chunk) {
        const std::size_t k1 = std::min(K, k0 + k_chunk);
        float psum = 0.0f;
        for (std::size_t k = k0; k < k1; ++k) {
          psum = mac_fp32(psum, A[m * K + k], B[k * N + n]);
        }
        out = overwrite ? psum : add_fp32(out, psum);
        overwrite = false;
      }
      C[m * N + n] = out;
    }
  }
}

template void ref_gemm_f16<bf16>(std::size_t, std::size_t, std::size_t, const bf16*, const bf16*,
                                 float*, bool, std::size_t);
template void ref_gemm_f16<fp16>(std::size_t, std::size_t, std::size_t, const fp16*, const fp16*,
                                 float*, bool, std::size_t);

}  // namespace xpu
