#pragma once
// The GEMM view of a conv2d as data: for group g, the im2col (Toeplitz)
// matrix A[m, k] and the weight matrix B[k, n] whose product is that group's
// output channels. Index mapping (Ho, Wo output size, Cg = Cin/groups input
// channels and Ng = Cout/groups output channels per group):
//   row    m = (n * Ho + oh) * Wo + ow
//   column k = (c * Kh + kh) * Kw + kw,  c in [0, Cg)
//   A[m, k] = X[n, g*Cg + c, oh*sh - pad_top + kh*dh, ow*sw - pad_left + kw*dw]
//             (0 where that position is in the padding)
//   B[k, j] = W[g*Ng + j, c, kh, kw]
//   Y[n, g*Ng + j, oh, ow] = sum_k A[m, k] B[k, j] (+ bias[g*Ng + j])
// A lowering may build A implicitly; these functions are its specification
// and let tests check a lowering against the reference executor.
#include <cstdint>
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload {

// x: the layer's input values (row-major NCHW). Returns A, m x k row-major.
std::vector<float> im2col(const Workload& w, const Layer& conv, const std::vector<float>& x, uint64_t group);
// weights: the layer's weight values [Cout, Cin/groups, Kh, Kw]. Returns B, k x n row-major.
std::vector<float> conv_weight_matrix(const Workload& w, const Layer& conv, const std::vector<float>& weights,
                                      uint64_t group);

}  // namespace xpu::workload
