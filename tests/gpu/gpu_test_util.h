#pragma once
// Shared helpers for the GPU tests: config loading and random operands.
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "models/gpu/gpu_config.h"
#include "sim/report/results.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/numerics/mac.h"

namespace xpu::gpu::test {

inline GpuConfig load(const std::string& name, const std::vector<std::string>& overrides = {}) {
  return config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/" + name, overrides);
}

// Row-major random matrix of `t` raw values: N(0,1) for floats, uniform for int8.
inline std::vector<uint8_t> random_matrix(DType t, uint64_t rows, uint64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(rows * cols * dtype_bytes(t));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> id(-128, 127);
  for (uint64_t i = 0; i < rows * cols; ++i) {
    switch (t) {
      case DType::fp16: { const uint16_t h = fp16::from_float(nd(rng)).bits; std::memcpy(&v[2 * i], &h, 2); break; }
      case DType::bf16: { const uint16_t h = bf16::from_float(nd(rng)).bits; std::memcpy(&v[2 * i], &h, 2); break; }
      case DType::fp32: { const float f = nd(rng); std::memcpy(&v[4 * i], &f, 4); break; }
      case DType::int8: v[i] = static_cast<uint8_t>(static_cast<int8_t>(id(rng))); break;
      default: break;
    }
  }
  return v;
}

// n N(0,1) floats (random_matrix's), each rounded to the 16-bit type
// `round_to` when it is one (values a 16-bit tensor holds exactly).
inline std::vector<float> random_floats(uint64_t n, uint64_t seed, DType round_to = DType::fp32) {
  const auto raw = random_matrix(DType::fp32, 1, n, seed);
  std::vector<float> v(n);
  std::memcpy(v.data(), raw.data(), n * 4);
  if (lowering::gpu::is_act16(round_to))
    for (float& f : v) f = lowering::gpu::round16(round_to, f);
  return v;
}

// The spec with the tile the GEMM lowering chose before kernel selection
// (choose_tiling: 128x128 or 64x64, row-major raster, no split-K), for the
// tests whose counts and cycles were derived for those kernels.
inline lowering::gpu::GpuGemmSpec classic(const GpuConfig& cfg, lowering::gpu::GpuGemmSpec s) {
  s.tiling = lowering::gpu::choose_tiling(cfg, s);
  return s;
}

// A network run's rows without the relayout copy kernels the stream runs
// where a consumer reads a tensor in another layout than its producer
// wrote (sim/lowering/gpu/network_layout.h); each of those must have
// copied every element exactly (or run without values).
inline std::vector<report::LayerResult> layer_rows(std::vector<report::LayerResult> rs) {
  std::vector<report::LayerResult> out;
  for (auto& r : rs) {
    if (r.op != "relayout [map_copy]") {
      out.push_back(std::move(r));
      continue;
    }
    INFO(r.name << ": " << r.verdict_detail);
    CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::unchecked));
  }
  return out;
}

}  // namespace xpu::gpu::test
