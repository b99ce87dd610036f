#pragma once
// The vector layers of the TPU network lowering (network.h), in three files
// along their families: elementwise functions, add / mul and batchnorm
// (network_vector.cpp), row operations and pooling (network_vector_rows.cpp),
// layout changes (network_vector_layout.cpp). NetBuilder::lower_vector picks
// one; each emits the activation unit's vector instructions, unified buffer
// to unified buffer.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/lowering/tpu/network_builder.h"

namespace xpu::lowering::detail::vector_layer {

inline uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }
std::vector<uint8_t> f32_bytes(const std::vector<float>& v);
// Physical shape: NHWC for image tensors, the logical shape otherwise.
workload::Shape physical(const TensorPlace& p);
// Row-major element strides of a shape.
std::vector<uint64_t> strides(const workload::Shape& s);
// Values of a constant broadcast to `place`'s (logical) shape, laid out like `place`.
std::vector<float> expand(const std::vector<float>& v, const workload::Shape& vs, const TensorPlace& place);
// Element distance between consecutive indices of each logical dim in the
// tensor's UB layout (NHWC images: n HWC, c 1, h WC, w C).
std::vector<uint64_t> layout_strides(const TensorPlace& p);
// Logical dims in the order the UB stores them, outermost first.
std::vector<size_t> storage_order(const TensorPlace& p);

// What the layers of one group share: its first layer, the output (the last
// layer's) and its int8 scale, and the function fused after the layer
// (none when it is alone).
struct VectorGroup {
  const workload::Layer& l;
  std::string out_name;
  uint64_t e = 0, lanes = 0;  // element bytes, activation-unit lanes
  tpu::ActFn fused = tpu::ActFn::none;
  float p0 = 0, p1 = 0;
  float out_scale = 1.0f;
  // Rows x n covering a dense tensor of `total` elements whose rows are `cols` wide.
  void tile(uint64_t total, uint64_t cols, uint64_t& rows, uint64_t& n) const {
    n = cols;
    if (cols < lanes && total % lanes == 0) n = lanes;
    rows = total / n;
  }
};

void lower_activation(NetBuilder& b, const VectorGroup& g);  // the XPU_ACTIVATION_OPS
void lower_add_mul(NetBuilder& b, const VectorGroup& g);
void lower_batchnorm(NetBuilder& b, const VectorGroup& g);
void lower_softmax_layernorm(NetBuilder& b, const VectorGroup& g);  // network_vector_rows.cpp
void lower_pooling(NetBuilder& b, const VectorGroup& g);            // max, avg, global avg
void lower_transpose(NetBuilder& b, const VectorGroup& g);          // network_vector_layout.cpp
void lower_reshape(NetBuilder& b, const VectorGroup& g);            // reshape, flatten
void lower_concat(NetBuilder& b, const VectorGroup& g);
void lower_llm(NetBuilder& b, const VectorGroup& g);  // rmsnorm, rope, gather, argmax: network_llm.cpp
// add / mul of an activation and an operand of its trailing dims (a causal
// mask, learned positions) that does not fit: row blocks (network_llm.cpp).
// False: not such a case.
bool lower_masked_streamed(NetBuilder& b, const VectorGroup& g);

}  // namespace xpu::lowering::detail::vector_layer
