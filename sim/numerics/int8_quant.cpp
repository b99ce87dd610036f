#include "sim/numerics/int8_quant.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace xpu {

namespace {

void check_scale(float scale) {
  if (!std::isfinite(scale) || !(scale > 0.0f)) {
    throw std::invalid_argument("int8 quantize: scale must be finite and > 0, got " +
                                std::to_string(scale));
  }
}

// Round half to even without consulting the FP environment: r is an fp32
// value widened to double, so floor(r) and r - floor(r) are exact.
double round_half_even(double r) {
  const double fl = std::floor(r);
  const double frac = r - fl;
  if (frac > 0.5) return fl + 1.0;
  if (frac < 0.5) return fl;
  return std::fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;
}

}  // namespace

float scale_for(float max_abs) {
  if (std::isnan(max_abs)) {
    throw std::invalid_argument("int8 scale_for: max_abs is NaN (tensor contains NaN)");
  }
  if (std::isinf(max_abs)) {
    throw std::invalid_argument("int8 scale_for: max_abs is infinite (tensor contains Inf)");
  }
  if (max_abs < 0.0f) {
    throw std::invalid_argument("int8 scale_for: max_abs is negative (" +
                                std::to_string(max_abs) + ")");
  }
  if (max_abs == 0.0f) return 1.0f;
  const float scale = max_abs / 127.0f;
  return scale > 0.0f ? scale : std::numeric_limits<float>::denorm_min();
}

float tensor_max_abs(const float* x, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return x[i];
    m = std::fmax(m, std::fabs(x[i]));
  }
  return m;
}

std::int8_t quantize(float x, float scale) {
  if (std::isnan(x)) throw std::invalid_argument("int8 quantize: input is NaN");
  check_scale(scale);
  const float r = x / scale;
  // Clamping before rounding is equivalent to after (the bounds are
  // integers and rounding is monotonic) and keeps Inf out of the rounding.
  if (r >= 127.0f) return 127;
  if (r <= -128.0f) return -128;
  return static_cast<std::int8_t>(round_half_even(static_cast<double>(r)));
}

float dequantize(std::int8_t q, float scale) { return static_cast<float>(q) * scale; }

void quantize(const float* x, std::size_t n, float scale, std::int8_t* out) {
  check_scale(scale);
  for (std::size_t i = 0; i < n; ++i) out[i] = quantize(x[i], scale);
}

void dequantize(const std::int8_t* q, std::size_t n, float scale, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = dequantize(q[i], scale);
}

std::vector<std::int8_t> quantize(const std::vector<float>& x, float scale) {
  std::vector<std::int8_t> out(x.size());
  quantize(x.data(), x.size(), scale, out.data());
  return out;
}

std::vector<float> dequantize(const std::vector<std::int8_t>& q, float scale) {
  std::vector<float> out(q.size());
  dequantize(q.data(), q.size(), scale, out.data());
  return out;
}

QuantizedTensor quantize_per_tensor(const std::vector<float>& x) {
  QuantizedTensor t;
  t.scale = scale_for(tensor_max_abs(x.data(), x.size()));
  t.values = quantize(x, t.scale);
  return t;
}

}  // namespace xpu
