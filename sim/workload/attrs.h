#pragma once
// Operator attributes. One struct for every op; each field says which ops
// read it. Defaults are ONNX's defaults.
#include <cstdint>
#include <vector>

#include "sim/workload/shape.h"

namespace xpu::workload {

// How conv2d / pooling pad the input. `explicit_pads` uses the four pads
// below; the others are ONNX auto_pad modes, resolved into pads by shape
// inference (SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the
// beginning; VALID is no padding).
enum class AutoPad { explicit_pads, same_upper, same_lower, valid };

// A 2-D sliding window over NCHW: conv2d, max_pool, avg_pool.
struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;  // conv2d: taken from the weight shape
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  AutoPad auto_pad = AutoPad::explicit_pads;
  bool ceil_mode = false;  // pooling only: output size rounds up (ONNX ceil_mode)
};

struct Attrs {
  Window2d window;                 // conv2d, max_pool, avg_pool
  int64_t groups = 1;              // conv2d (Cin and Cout divisible by groups; depthwise: groups = Cin)
  bool count_include_pad = false;  // avg_pool: padded zeros count in the divisor
  float alpha = 1.0f, beta = 1.0f; // gemm: Y = alpha * A'B' + beta * C
  bool trans_a = false, trans_b = false;  // gemm
  int64_t axis = 0;                // softmax (-1), layernorm (-1), flatten (1), concat; set by the builder
  float epsilon = 1e-5f;           // layernorm, batchnorm
  float clip_min = 0.0f, clip_max = 6.0f;  // clip
  bool gelu_tanh = false;          // gelu: tanh approximation instead of the erf form
  float leaky_alpha = 0.01f;       // leaky_relu: slope for x < 0 (ONNX LeakyRelu alpha)
  Shape target_shape;              // reshape: ONNX shape input (0 copies, -1 infers)
  bool allow_zero = false;         // reshape: ONNX allowzero (0 means a zero-size dimension)
  std::vector<int64_t> perm;       // transpose: output axis i is input axis perm[i]; empty = reverse
  // concat: operand 0 already lies in the output buffer (a KV cache appended
  // in place): machines write only the other operands. Values unchanged.
  bool in_place = false;
};

}  // namespace xpu::workload
