#pragma once
// The kernels on which sampled timing (models/gpu/wave_sampler.h) is measured
// against full simulation: square, skinny and GEMV GEMMs, implicit-GEMM
// convolutions, attention matmuls, and elementwise/softmax/layernorm row
// kernels, each a one-layer workload. Sizes are for a V100-sized GPU
// (80 SMs) and shrink with `scale` (lengths divided by it) for the small
// configs, so that every grid still has many waves. Shared by
// bench_gpu_sampling.cpp (all of them) and tests/gpu/test_gpu_sampling.cpp
// (a few, on the small configs).
#include <cstdint>
#include <string>
#include <vector>

namespace xpu::bench {

struct SamplingCase {
  std::string name;
  std::string yaml;  // a kind: workload document of one kernel layer (and its inputs)
};

// Lengths are divided by 4 on the few-SM test configs (2 to 4 SMs instead
// of 80): fewer CTAs, still many waves.
inline uint64_t sampling_scale(uint32_t sms) { return sms >= 40 ? 1 : 4; }

// A conv2d layer (padding kernel / 2, no bias) on an fp16 n x c x hw x hw input.
inline SamplingCase conv_case(const std::string& name, const std::string& n, uint64_t c, const std::string& hw,
                              uint64_t out, uint64_t kernel, uint64_t stride) {
  return SamplingCase{name, "kind: workload\nname: " + name + "\ninputs:\n  - {name: x, shape: [" + n + ", " +
                                std::to_string(c) + ", " + hw + ", " + hw + "], dtype: fp16}\nlayers:\n  - {name: " +
                                name + ", op: conv2d, out: " + std::to_string(out) + ", kernel: " +
                                std::to_string(kernel) + ", stride: " + std::to_string(stride) + ", pad: " +
                                std::to_string(kernel / 2) + ", bias: false}\n"};
}

inline std::vector<SamplingCase> sampling_cases(uint64_t scale) {
  auto d = [&](uint64_t v) { return std::to_string(v / scale > 0 ? v / scale : 1); };
  // m (and k when scale_k) shrink with the config; a GEMV's m does not.
  auto gemm_of = [&](const std::string& name, const std::string& m, uint64_t n, const std::string& k) {
    return SamplingCase{name, "kind: workload\nname: " + name + "\nlayers:\n  - {name: " + name +
                                  ", op: gemm, m: " + m + ", n: " + d(n) + ", k: " + k + "}\n"};
  };
  auto gemm = [&](const std::string& name, uint64_t m, uint64_t n, uint64_t k, bool scale_k = false) {
    return gemm_of(name, d(m), n, scale_k ? d(k) : std::to_string(k));
  };
  auto gemv_case = [&](const std::string& name, uint64_t m, uint64_t n, uint64_t k) {
    return gemm_of(name, std::to_string(m), n, std::to_string(k));
  };
  auto conv = [&](const std::string& name, uint64_t n, uint64_t c, uint64_t hw, uint64_t out, uint64_t kernel,
                  uint64_t stride) { return conv_case(name, std::to_string(n), c, d(hw), out, kernel, stride); };
  // Batched attention matmuls: (b, s, dh) x (b, dh, s) scores and (b, s, s) x (b, s, dh) context.
  auto attn = [&](const std::string& name, uint64_t b, uint64_t s, uint64_t dh, bool scores) {
    const std::string B = std::to_string(b), S = d(s), D = std::to_string(dh);
    const std::string a = scores ? "[" + B + ", " + S + ", " + D + "]" : "[" + B + ", " + S + ", " + S + "]";
    const std::string c = scores ? "[" + B + ", " + D + ", " + S + "]" : "[" + B + ", " + S + ", " + D + "]";
    return SamplingCase{name, "kind: workload\nname: " + name + "\ninputs:\n  - {name: a, shape: " + a +
                                  ", dtype: fp16}\n  - {name: c, shape: " + c + ", dtype: fp16}\nlayers:\n  - {name: " +
                                  name + ", op: matmul, input: [a, c]}\n"};
  };
  // Row and elementwise kernels on an (rows x cols) fp32 tensor.
  auto rows = [&](const std::string& name, const std::string& op, uint64_t r, uint64_t c, const std::string& extra,
                  bool two_inputs = false) {
    std::string y = "kind: workload\nname: " + name + "\ninputs:\n  - {name: x, shape: [" + d(r) + ", " +
                    std::to_string(c) + "], dtype: fp32}\n";
    if (two_inputs) y += "  - {name: y, shape: [" + d(r) + ", " + std::to_string(c) + "], dtype: fp32}\n";
    y += "layers:\n  - {name: " + name + ", op: " + op + (two_inputs ? ", input: [x, y]" : "") + extra + "}\n";
    return SamplingCase{name, y};
  };
  return {
      gemm("gemm_sq_8192x8192x128", 8192, 8192, 128),
      gemm("gemm_sq_8192x8192x256", 8192, 8192, 256),
      gemm("gemm_sq_6144x6144x512", 6144, 6144, 512),
      gemm("gemm_sq_12288x12288x64", 12288, 12288, 64),
      gemm("gemm_sq_4096x4096x1024", 4096, 4096, 1024, true),
      gemm("gemm_tall_32768x2048x256", 32768, 2048, 256),
      gemm("gemm_wide_2048x32768x256", 2048, 32768, 256),
      gemm("gemm_skinny_131072x256x128", 131072, 256, 128),
      gemm("gemm_skinny_256x131072x128", 256, 131072, 128),
      gemm("gemm_skinny_262144x128x64", 262144, 128, 64),
      gemv_case("gemv_1x262144x512", 1, 262144, 512),
      gemv_case("gemv_8x131072x1024", 8, 131072, 1024),
      gemm("gemm_ffn_16384x4096x256", 16384, 4096, 256),
      conv("conv3x3_32x64x56", 32, 64, 56, 64, 3, 1),
      conv("conv1x1_32x256x56", 32, 256, 56, 64, 1, 1),
      conv("conv1x1_32x64x56_up", 32, 64, 56, 256, 1, 1),
      conv("conv3x3s2_64x64x112", 64, 64, 112, 64, 3, 2),
      conv("conv1x1_128x512x28", 128, 512, 28, 128, 1, 1),
      conv("conv3x3_256x64x28", 256, 64, 28, 64, 3, 1),
      attn("attn_scores_b64_s1024_d64", 64, 1024, 64, true),
      attn("attn_context_b64_s1024_d64", 64, 1024, 64, false),
      attn("attn_scores_b32_s2048_d128", 32, 2048, 128, true),
      attn("attn_context_b128_s512_d64", 128, 512, 64, false),
      rows("softmax_16384x1024", "softmax", 16384, 1024, ", axis: -1"),
      rows("softmax_65536x128", "softmax", 65536, 128, ", axis: -1"),
      rows("layernorm_16384x1024", "layernorm", 16384, 1024, ", epsilon: 1e-5"),
      rows("layernorm_4096x4096", "layernorm", 4096, 4096, ", epsilon: 1e-5"),
      rows("add_8192x2048", "add", 8192, 2048, "", true),
      rows("mul_8192x2048", "mul", 8192, 2048, "", true),
      rows("relu_16384x2048", "relu", 16384, 2048, ""),
      rows("gelu_8192x2048", "gelu", 8192, 2048, ""),
      rows("scale_16384x1024", "mul", 16384, 1024, ", scalar: 0.125"),
  };
}

// Kernels whose K loop is long (models/gpu/k_loop_sampler.h): square,
// skinny and large-K GEMMs and implicit-GEMM convolutions of many input
// channels. m and n shrink with `scale`, k does not (the loop's length is
// what is sampled).
inline std::vector<SamplingCase> kloop_cases(uint64_t scale) {
  auto d = [&](uint64_t v) { return std::to_string(v / scale > 0 ? v / scale : 1); };
  auto gemm = [&](const std::string& name, uint64_t m, uint64_t n, uint64_t k) {
    return SamplingCase{name, "kind: workload\nname: " + name + "\nlayers:\n  - {name: " + name + ", op: gemm, m: " +
                                  d(m) + ", n: " + d(n) + ", k: " + std::to_string(k) + "}\n"};
  };
  auto conv = [&](const std::string& name, uint64_t n, uint64_t c, uint64_t hw, uint64_t out, uint64_t kernel) {
    return conv_case(name, d(n), c, std::to_string(hw), out, kernel, 1);
  };
  return {
      gemm("kgemm_sq_4096x4096x8192", 4096, 4096, 8192),
      gemm("kgemm_wide_2048x8192x8192", 2048, 8192, 8192),
      gemm("kgemm_wide_1024x16384x8192", 1024, 16384, 8192),
      gemm("kgemm_largek_2048x2048x16384", 2048, 2048, 16384),
      gemm("kgemm_skinny_512x8192x8192", 512, 8192, 8192),
      gemm("kgemm_tall_16384x1024x8192", 16384, 1024, 8192),
      conv("kconv3x3_16x1024x14", 16, 1024, 14, 256, 3),
      conv("kconv1x1_32x4096x14", 32, 4096, 14, 512, 1),
      gemm("kgemm_sq_8192x8192x8192", 8192, 8192, 8192),
  };
}

}  // namespace xpu::bench
