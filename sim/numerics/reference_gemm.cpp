#include "sim/numerics/reference_gemm.h"

#include <algorithm>
#include <stdexcept>

#include "sim/numerics/int32_acc.h"
#include "sim/numerics/mac.h"

namespace xpu {

void ref_gemm_int8(std::size_t M, std::size_t N, std::size_t K, const std::int8_t* A,
                   const std::int8_t* B, std::int32_t* C, bool accumulate) {
  for (std::size_t m = 0; m < M; ++m) {
    for (std::size_t n = 0; n < N; ++n) {
      std::int32_t acc = accumulate ? C[m * N + n] : 0;
      for (std::size_t k = 0; k < K; ++k) acc = mac_int8(acc, A[m * K + k], B[k * N + n]);
      C[m * N + n] = acc;
    }
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
