#pragma once
// Builds a hand-written TPU program for C = A x B (M x K times K x N) on a
// Tpu's array, with its data in host and weight memory, and the reference
// result from sim/numerics/reference_gemm.h (k_chunk = mxu.rows, the order
// the weight-stationary array accumulates in).
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "models/tpu/assembler.h"
#include "models/tpu/tpu.h"
#include "sim/numerics/reference_gemm.h"

namespace xpu::tpu::test {

struct Gemm {
  uint32_t M = 0, K = 0, N = 0;
  DType dtype = DType::int8;
  std::vector<uint8_t> A;   // M x K elements, row-major, raw element bytes
  std::vector<uint8_t> B;   // K x N
  std::vector<uint32_t> C;  // M x N reference result bits (int32 or fp32)
  uint64_t host_a = 0, host_c = 0, weight_base = 0;
  Program program;
};

inline size_t esize(DType t) { return dtype_bytes(t); }

// Fills A and B with random values of `dtype` (finite, moderate magnitude).
inline void fill_random(Gemm& g, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t eb = esize(g.dtype);
  auto fill = [&](std::vector<uint8_t>& v, size_t count) {
    v.resize(count * eb);
    for (size_t i = 0; i < count; ++i) {
      if (g.dtype == DType::int8) {
        v[i] = uint8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
      } else {
        const float f = std::uniform_real_distribution<float>(-4.0f, 4.0f)(rng);
        const uint16_t b = g.dtype == DType::bf16 ? bf16::from_float(f).bits : fp16::from_float(f).bits;
        std::memcpy(&v[i * 2], &b, 2);
      }
    }
  };
  fill(g.A, size_t(g.M) * g.K);
  fill(g.B, size_t(g.K) * g.N);
}

inline void set16(std::vector<uint8_t>& v, size_t index, uint16_t bits) { std::memcpy(&v[index * 2], &bits, 2); }

inline void compute_reference(Gemm& g, uint32_t k_chunk) {
  g.C.assign(size_t(g.M) * g.N, 0);
  if (g.dtype == DType::int8) {
    std::vector<int32_t> c(g.C.size());
    ref_gemm_int8(g.M, g.N, g.K, reinterpret_cast<const int8_t*>(g.A.data()),
                  reinterpret_cast<const int8_t*>(g.B.data()), c.data(), false);
    std::memcpy(g.C.data(), c.data(), c.size() * 4);
  } else {
    std::vector<float> c(g.C.size());
    if (g.dtype == DType::bf16) {
      std::vector<bf16> a(g.A.size() / 2), b(g.B.size() / 2);
      std::memcpy(a.data(), g.A.data(), g.A.size());
      std::memcpy(b.data(), g.B.data(), g.B.size());
      ref_gemm_f16(g.M, g.N, g.K, a.data(), b.data(), c.data(), false, k_chunk);
    } else {
      std::vector<fp16> a(g.A.size() / 2), b(g.B.size() / 2);
      std::memcpy(a.data(), g.A.data(), g.A.size());
      std::memcpy(b.data(), g.B.data(), g.B.size());
      ref_gemm_f16(g.M, g.N, g.K, a.data(), b.data(), c.data(), false, k_chunk);
    }
    std::memcpy(g.C.data(), c.data(), c.size() * 4);
    // The array writes NaNs as the canonical quiet NaN (mxu_array.h).
    for (uint32_t& w : g.C) {
      if ((w & 0x7FFFFFFFu) > 0x7F800000u) w = 0x7FC00000u;
    }
  }
}

// Program: A to the UB; for each N tile, for each K tile: read_weights +
// matmul (accumulating over K tiles); activate every N tile (raw 32-bit out)
// into C in the UB; C to the host. Layout: A at UB ub_a, C at ub_c; acc
// rows nt * M + r from acc_base. Tiles are written to weight memory.
inline void build_program(Gemm& g, Tpu& tpu, uint64_t ub_a, uint64_t ub_c, uint32_t acc_base,
                          bool halt = true) {
  const uint32_t R = tpu.config().mxu.rows, Cc = tpu.config().mxu.cols;
  const size_t eb = esize(g.dtype);
  tpu.host().write(g.host_a, g.A.data(), g.A.size());
  Program& p = g.program;
  auto emit = [&](const std::string& s) { p.code.push_back(parse_assembly(s).code.at(0)); };
  const std::string dt(dtype_name(g.dtype));
  const DType out = g.dtype == DType::int8 ? DType::int32 : DType::fp32;
  emit("read_host_memory host=" + std::to_string(g.host_a) + " ub=" + std::to_string(ub_a) +
       " bytes=" + std::to_string(g.A.size()));
  uint64_t waddr = g.weight_base;
  for (uint32_t n0 = 0, nt = 0; n0 < g.N; n0 += Cc, ++nt) {
    const uint32_t n = std::min(Cc, g.N - n0);
    for (uint32_t k0 = 0; k0 < g.K; k0 += R) {
      const uint32_t k = std::min(R, g.K - k0);
      std::vector<uint8_t> tile(size_t(k) * n * eb);
      for (uint32_t kk = 0; kk < k; ++kk) {
        std::memcpy(&tile[size_t(kk) * n * eb], &g.B[(size_t(k0 + kk) * g.N + n0) * eb], n * eb);
      }
      tpu.weights().write(waddr, tile.data(), tile.size());
      emit("read_weights weights=" + std::to_string(waddr) + " k=" + std::to_string(k) + " n=" +
           std::to_string(n) + " dtype=" + dt);
      waddr += tile.size();
      emit("matmul ub=" + std::to_string(ub_a + k0 * eb) + " stride=" + std::to_string(g.K * eb) +
           " acc=" + std::to_string(acc_base + nt * g.M) + " rows=" + std::to_string(g.M) + " k=" +
           std::to_string(k) + " n=" + std::to_string(n) + " dtype=" + dt + " accumulate=" + (k0 ? "1" : "0"));
    }
  }
  for (uint32_t n0 = 0, nt = 0; n0 < g.N; n0 += Cc, ++nt) {
    const uint32_t n = std::min(Cc, g.N - n0);
    emit("activate acc=" + std::to_string(acc_base + nt * g.M) + " rows=" + std::to_string(g.M) + " n=" +
         std::to_string(n) + " ub=" + std::to_string(ub_c + n0 * 4) + " stride=" + std::to_string(g.N * 4) +
         " out_dtype=" + std::string(dtype_name(out)));
  }
  emit("write_host_memory ub=" + std::to_string(ub_c) + " host=" + std::to_string(g.host_c) +
       " bytes=" + std::to_string(size_t(g.M) * g.N * 4));
  if (halt) emit("halt");
}

inline std::vector<uint32_t> result_bits(Tpu& tpu, const Gemm& g) {
  std::vector<uint32_t> c(size_t(g.M) * g.N);
  tpu.host().read(g.host_c, c.data(), c.size() * 4);
  return c;
}

// Runs a program so that the next one starts at a multiple of `phase`
// cycles: the array's step phase is absolute (start % step == 0), so runs to
// be compared must start at the same phase. A program of s syncs and a halt
// takes pipeline_stages - 1 + s cycles.
inline void align_start(Tpu& tpu, uint64_t phase) {
  const uint64_t now = tpu.now_cycles();
  const uint64_t base = tpu.config().controller.pipeline_stages - 1;
  const uint64_t s = (phase - (now + base) % phase) % phase;
  Program pad;
  pad.name = "pad";
  for (uint64_t i = 0; i < s; ++i) pad.code.push_back(Instruction{Opcode::sync});
  pad.code.push_back(Instruction{Opcode::halt});
  tpu.run(pad);
}

}  // namespace xpu::tpu::test
