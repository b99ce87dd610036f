// Symmetric per-tensor int8 quantization: q = clamp(rne(x / scale), -128, 127),
// x ~= q * scale, scale = max_abs / 127.
//
// All arithmetic is fp32 (x / scale is one correctly rounded fp32 division),
// and the rounding to an integer is done explicitly, so results do not depend
// on the host's current rounding mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xpu {

// scale = max_abs / 127 (fp32 division), so +-max_abs maps to +-127.
// * max_abs == 0 (an all-zero tensor): returns 1.0f. Any positive scale
//   quantizes zeros to 0; 1.0f avoids a zero scale that would divide by zero.
// * 0 < max_abs so small that max_abs / 127 underflows to 0: returns the
//   smallest positive float, so the scale stays usable (the tensor then uses
//   less than the full int8 range).
// * NaN, +-Inf or negative max_abs: throws std::invalid_argument naming the
//   problem -- a scale derived from them would silently corrupt the tensor.
float scale_for(float max_abs);

// Largest |x| over x[0..n). NaN if any element is NaN (so that scale_for
// rejects it rather than ignoring it); 0 for n == 0.
float tensor_max_abs(const float* x, std::size_t n);

// round-half-to-even(x / scale), saturated to [-128, 127]. +-Inf saturates.
// Throws std::invalid_argument if x is NaN (a quantizer must never map NaN to
// a number) or if scale is not finite and > 0.
std::int8_t quantize(float x, float scale);

// q * scale in fp32 (one rounding).
float dequantize(std::int8_t q, float scale);

// Span helpers: out must have room for n elements. quantize throws on the
// first NaN (out is then partially written).
void quantize(const float* x, std::size_t n, float scale, std::int8_t* out);
void dequantize(const std::int8_t* q, std::size_t n, float scale, float* out);

std::vector<std::int8_t> quantize(const std::vector<float>& x, float scale);
std::vector<float> dequantize(const std::vector<std::int8_t>& q, float scale);

struct QuantizedTensor {
  float scale = 1.0f;
  std::vector<std::int8_t> values;
};

// scale_for(tensor_max_abs(x)), then quantize every element.
QuantizedTensor quantize_per_tensor(const std::vector<float>& x);

}  // namespace xpu
