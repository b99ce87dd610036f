#include "sim/lowering/gpu/tc_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/common/errors.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::lowering::gpu {

namespace {

template <typename T>
float at(const uint8_t* p, uint64_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return T::from_bits(h).to_float();
}

template <typename T>
std::vector<uint32_t> tc_float(xpu::gpu::AccType acc, uint64_t m, uint64_t n, uint64_t k, uint64_t kp,
                               const uint8_t* a, const uint8_t* b, uint32_t group) {
  std::vector<uint32_t> c(m * n);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (uint64_t k0 = 0; k0 < kp; k0 += group) {
        float p[8];
        for (uint64_t t = 0; t < group; ++t) {
          const uint64_t kk = k0 + t;
          // Padding is +0 in A and B, so its products are +0.
          p[t] = kk < k ? mul_fp32(at<T>(a, i * k + kk), at<T>(b, kk * n + j)) : 0.0f;
        }
        // Pairwise: (p0 + p1) + (p2 + p3), and for 8 the two halves' sums added.
        for (uint32_t w = group; w > 1; w /= 2)
          for (uint32_t t = 0; t < w / 2; ++t) p[t] = add_fp32(p[2 * t], p[2 * t + 1]);
        const float dot = p[0];
        s = add_fp32(s, dot);
        if (acc == xpu::gpu::AccType::f16) s = fp16::from_float(s).to_float();
      }
      c[i * n + j] = acc == xpu::gpu::AccType::f16 ? fp16::from_float(s).bits : float_to_bits(s);
    }
  return c;
}

}  // namespace

std::vector<uint32_t> reference_gemm_tc(DType in, xpu::gpu::AccType acc, uint64_t m, uint64_t n, uint64_t k,
                                        uint64_t kp, const uint8_t* a, const uint8_t* b, uint32_t group) {
  if (group != 4 && group != 8) throw InternalError("reference_gemm_tc: dot groups of 4 or 8 products");
  if (in == DType::fp16) return tc_float<fp16>(acc, m, n, k, kp, a, b, group);
  if (in == DType::bf16) return tc_float<bf16>(acc, m, n, k, kp, a, b, group);
  std::vector<uint32_t> c(m * n);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      int32_t s = 0;
      for (uint64_t kk = 0; kk < k; ++kk)
        s = mac_int8(s, static_cast<int8_t>(a[i * k + kk]), static_cast<int8_t>(b[kk * n + j]));
      c[i * n + j] = static_cast<uint32_t>(s);
    }
  return c;
}

std::vector<uint32_t> reference_gemm_tc_split(DType in, uint64_t m, uint64_t n, uint64_t k, uint64_t kslice,
                                              uint32_t split, const uint8_t* a, const uint8_t* b, uint32_t group) {
  if (split <= 1) return reference_gemm_tc(in, xpu::gpu::AccType::f32, m, n, k, kslice, a, b, group);
  const uint64_t e = dtype_bytes(in);
  std::vector<uint32_t> c;
  for (uint32_t s = 0; s < split; ++s) {
    const uint64_t k0 = std::min<uint64_t>(k, s * kslice), k1 = std::min<uint64_t>(k, k0 + kslice), ks = k1 - k0;
    std::vector<uint8_t> as(m * ks * e), bs(ks * n * e);
    for (uint64_t i = 0; i < m; ++i) std::memcpy(&as[i * ks * e], a + (i * k + k0) * e, ks * e);
    std::memcpy(bs.data(), b + k0 * n * e, ks * n * e);
    const auto p = reference_gemm_tc(in, xpu::gpu::AccType::f32, m, n, ks, kslice, as.data(), bs.data(), group);
    if (s == 0) {
      c = p;
      continue;
    }
    for (size_t i = 0; i < c.size(); ++i) {
      float x, y;
      std::memcpy(&x, &c[i], 4);
      std::memcpy(&y, &p[i], 4);
      x = add_fp32(x, y);
      std::memcpy(&c[i], &x, 4);
    }
  }
  return c;
}

namespace {

// The activation as the kernel's instructions compute it (activation.h),
// written again here from the ISA's semantics: FMNMX = fmax, ex2 = exp2f,
// rcp = 1 / x rounded once, every FADD/FMUL rounded separately.
float epilogue_act(const TcEpilogue& ep, float y) {
  constexpr float log2e = 1.4426950408889634f;
  auto sigmoid = [&](float x) { return 1.0f / add_fp32(std::exp2(mul_fp32(x, -log2e)), 1.0f); };
  switch (ep.act) {
    case Activation::none: return y;
    case Activation::relu: return std::fmax(y, 0.0f);
    case Activation::clip: return mul_fp32(-1.0f, std::fmax(mul_fp32(-1.0f, std::fmax(y, ep.p0)), -ep.p1));
    case Activation::sigmoid: return sigmoid(y);
    case Activation::tanh: return std::fma(sigmoid(mul_fp32(y, 2.0f)), 2.0f, -1.0f);
    case Activation::gelu: {
      const float z = std::fma(mul_fp32(mul_fp32(y, y), y), 0.044715f, y);
      const float u = std::fma(sigmoid(mul_fp32(mul_fp32(z, 0.7978845608028654f), 2.0f)), 2.0f, -1.0f);
      const float h = mul_fp32(y, 0.5f);
      return std::fma(h, u, h);
    }
    case Activation::silu: return mul_fp32(y, sigmoid(y));
    case Activation::leaky_relu: return y < 0.0f ? mul_fp32(y, ep.p0) : y;
  }
  return y;
}

}  // namespace

void reference_epilogue(const TcEpilogue& ep, uint64_t m, uint64_t n, const float* bias, std::vector<uint32_t>& c,
                        const float* res, DType in) {
  if (ep.residual && !res) throw xpu::InternalError("reference epilogue: residual values missing");
  if (ep.out8) {
    // int8 C (int8_epilogue.h): the int32 accumulator converted (RNE),
    // dequantized, biased, activated, requantized by the reference
    // executor's quantizer (round half to even, saturated to [-128, 127]).
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t j = 0; j < n; ++j) {
        float y = mul_fp32(static_cast<float>(static_cast<int32_t>(c[i * n + j])), ep.dq);
        if (ep.bias) y = add_fp32(y, bias[j]);
        if (ep.residual) y = add_fp32(y, res[i * n + j]);
        y = epilogue_act(ep, y);
        c[i * n + j] = uint8_t(xpu::quantize(mul_fp32(y, ep.qs), 1.0f));
      }
    return;
  }
  if (!ep.active() && !ep.out16) return;
  if (ep.residual && !res) throw xpu::InternalError("reference epilogue: residual values missing");
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      float y = bits_to_float(c[i * n + j]);
      if (ep.bias) y = add_fp32(y, bias[j]);
      if (ep.residual) y = add_fp32(y, res[i * n + j]);
      y = epilogue_act(ep, y);
      c[i * n + j] = ep.out16 ? narrow16(in, y) : float_to_bits(y);
    }
}

std::vector<uint32_t> reference_gemm_ffma(uint64_t m, uint64_t n, uint64_t k, uint64_t kp, const float* a,
                                          const float* b) {
  std::vector<uint32_t> c(m * n);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (uint64_t kk = 0; kk < kp; ++kk)
        s = kk < k ? std::fma(a[i * k + kk], b[kk * n + j], s) : std::fma(0.0f, 0.0f, s);
      c[i * n + j] = float_to_bits(s);
    }
  return c;
}

}  // namespace xpu::lowering::gpu
