#include "sim/check/gemm_data.h"

#include <cstring>
#include <random>

#include "sim/numerics/reference_gemm.h"

namespace xpu::check {

GemmData make_gemm_data(DType dtype, uint64_t m, uint64_t n, uint64_t k, uint64_t seed) {
  GemmData d;
  d.dtype = dtype;
  d.m = m;
  d.n = n;
  d.k = k;
  const size_t eb = dtype_bytes(dtype);
  d.a.resize(m * k * eb);
  d.b.resize(k * n * eb);
  std::mt19937_64 rng(seed);
  auto fill = [&](std::vector<uint8_t>& v) {
    if (dtype == DType::int8) {
      std::uniform_int_distribution<int> dist(-128, 127);
      for (auto& x : v) x = static_cast<uint8_t>(static_cast<int8_t>(dist(rng)));
      return;
    }
    std::normal_distribution<float> dist(0.0f, 1.0f);
    auto* p = reinterpret_cast<uint16_t*>(v.data());
    for (size_t i = 0; i < v.size() / 2; ++i)
      p[i] = dtype == DType::bf16 ? bf16::from_float(dist(rng)).bits : fp16::from_float(dist(rng)).bits;
  };
  fill(d.a);
  fill(d.b);
  return d;
}

std::vector<uint32_t> reference_gemm(const GemmData& d, uint64_t k_chunk) {
  std::vector<uint32_t> c(d.m * d.n);
  if (d.dtype == DType::int8) {
    std::vector<int32_t> out(d.m * d.n);
    ref_gemm_int8(d.m, d.n, d.k, reinterpret_cast<const int8_t*>(d.a.data()),
                  reinterpret_cast<const int8_t*>(d.b.data()), out.data(), false);
    std::memcpy(c.data(), out.data(), c.size() * 4);
  } else {
    std::vector<float> out(d.m * d.n);
    if (d.dtype == DType::bf16)
      ref_gemm_f16<bf16>(d.m, d.n, d.k, reinterpret_cast<const bf16*>(d.a.data()),
                         reinterpret_cast<const bf16*>(d.b.data()), out.data(), false, k_chunk);
    else
      ref_gemm_f16<fp16>(d.m, d.n, d.k, reinterpret_cast<const fp16*>(d.a.data()),
                         reinterpret_cast<const fp16*>(d.b.data()), out.data(), false, k_chunk);
    std::memcpy(c.data(), out.data(), c.size() * 4);
  }
  return c;
}

}  // namespace xpu::check
