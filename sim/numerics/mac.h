// MAC semantics shared by every xpusim model. Models must build their
// arithmetic from these functions rather than writing `acc += a * b`.
//
// ---------------------------------------------------------------------------
// Floating-point MAC (bf16 / fp16 inputs, fp32 accumulation)
//
//   mac = add_fp32(acc, mul_fp32(a, b))      -- two roundings, never fused.
//
// 1. Product. a and b are widened exactly to fp32 and multiplied in fp32.
//    * fp16 x fp16 is always exact: 11-bit x 11-bit significands give at most
//      22 bits (fp32 holds 24), and |a*b| lies in [2^-48, 65504^2 ~ 2^32],
//      well inside fp32's normal range -- subnormal inputs included.
//    * bf16 x bf16: 8-bit x 8-bit significands give at most 16 bits, so the
//      product is exact whenever it lies in fp32's normal range. Because bf16
//      shares fp32's exponent range the product can leave it; then IEEE fp32
//      round-to-nearest-even applies:
//        |a*b| > FLT_MAX (i.e. >= 2^128 exactly)  -> +-Inf (overflow);
//        |a*b| <  2^-126 (below FLT_MIN)          -> rounded to a multiple of
//            2^-149 (an fp32 subnormal), possibly to +-0; exact iff the
//            product already is such a multiple.
//    * fp32 x fp32 (mul_fp32(float, float)) is one IEEE-rounded product.
// 2. Accumulation. The fp32 accumulator rounds (RNE) after every add, in the
//    order the hardware performs the adds. fp32 addition is not associative,
//    so the order is part of a model's numerics: each model owns its order
//    and documents it where it implements it. Example (weight-stationary
//    systolic array with R rows): each column forms psum = 0.0f, then
//    psum = add_fp32(psum, mul_fp32(a[k], b[k])) for k = 0..R-1 of the
//    current K-chunk, and the finished psum is added to the output
//    accumulator, chunk by chunk -- see reference_gemm.h. An output-
//    stationary array keeps each output's psum in its PE over the whole K:
//    one sequential dot product over k = 0..K-1, then one add into (or
//    write of) the accumulator -- the same reference with k_chunk >= K.
// 3. Special values propagate per IEEE 754: NaN in -> NaN out, Inf * 0 = NaN,
//    Inf + -Inf = NaN, Inf otherwise propagates; signed zeros follow IEEE
//    (e.g. -0 + -0 = -0, -0 + +0 = +0).
//
// Tensor-core accumulation order (GPU models). NVIDIA does not publish the
//    order in which a tensor core adds its products. Measurements (Fasi et
//    al., "Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021; Sun et
//    al., arXiv:2206.02874) find one multi-term add per group of products --
//    4 per add on Volta, 8 (fp16/bf16) and 4 (tf32) on Ampere -- with a
//    truncating alignment. The models keep the group sizes and, as an
//    assumption, replace the truncating multi-term add by this file's
//    semantics: exact fp32 products, a pairwise tree over the group rounding
//    (RNE) after every add, then one rounded add into the accumulator, the
//    groups in ascending k. Results are reproducible and bit-exact against
//    reference_gemm_tc (sim/lowering/gpu/tc_reference.h) with the shape's
//    group (MmaShape::dot_group); they can differ from silicon in the last
//    bits. tf32 operands are fp32 bits with the low 13 mantissa bits cleared
//    (NaN stays NaN). Subnormal inputs and results are kept (no flushing).
//
// Integer MAC (int8 inputs, int32 accumulation)
//
//   mac_int8(acc, a, b) = wrap_add(acc, int32(a) * int32(b))
//
//    The int8 x int8 product is exact in int32; the accumulator wraps modulo
//    2^32 like a 32-bit adder (int32_acc.h; saturation is opt-in). Wrapping
//    addition is associative, so int8 results do not depend on order.
//
// Host requirements: IEEE binary32 evaluated at fp32 precision
// (FLT_EVAL_METHOD == 0), round-to-nearest mode, no FTZ/DAZ, and no FMA
// contraction (the build uses -ffp-contract=off). host_fp_env_is_ieee()
// checks the dynamic parts.
// ---------------------------------------------------------------------------
#pragma once

#include <cfenv>
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/numerics/bf16.h"
#include "sim/numerics/fp16.h"
#include "sim/numerics/int32_acc.h"

namespace xpu {

// Wider intermediate evaluation (x87) would round products and sums twice.
static_assert(FLT_EVAL_METHOD == 0, "fp32 arithmetic must be evaluated in fp32");

enum class DType { int8, bf16, fp16, fp32, int32 };

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::int8: return "int8";
    case DType::bf16: return "bf16";
    case DType::fp16: return "fp16";
    case DType::fp32: return "fp32";
    case DType::int32: return "int32";
  }
  return "?";
}

constexpr std::size_t dtype_bytes(DType t) {
  switch (t) {
    case DType::int8: return 1;
    case DType::bf16: return 2;
    case DType::fp16: return 2;
    case DType::fp32: return 4;
    case DType::int32: return 4;
  }
  return 0;
}

// Accepts the canonical names from dtype_name(), case-insensitively
// ("bf16", "BF16"); anything else (including aliases such as "half") is
// rejected so that configs use one spelling.
constexpr std::optional<DType> parse_dtype(std::string_view s) {
  constexpr DType kAll[] = {DType::int8, DType::bf16, DType::fp16, DType::fp32, DType::int32};
  for (DType t : kAll) {
    const std::string_view name = dtype_name(t);
    if (name.size() != s.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < s.size() && same; ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == name[i];
    }
    if (same) return t;
  }
  return std::nullopt;
}

// Products in fp32; see the header comment for exactness.
inline float mul_fp32(bf16 a, bf16 b) { return a.to_float() * b.to_float(); }
inline float mul_fp32(fp16 a, fp16 b) { return a.to_float() * b.to_float(); }
inline float mul_fp32(float a, float b) { return a * b; }

// One fp32 add, rounded to nearest even.
inline float add_fp32(float acc, float x) { return acc + x; }

// The floating-point MAC: product rounded, then sum rounded (never fused).
template <typename T>
inline float mac_fp32(float acc, T a, T b) {
  return add_fp32(acc, mul_fp32(a, b));
}

// True if the host's dynamic FP state matches what these semantics assume:
// round-to-nearest, subnormal inputs honoured (no DAZ) and subnormal results
// produced (no FTZ). volatile keeps the compiler from folding the probes.
inline bool host_fp_env_is_ieee() {
  if (std::fegetround() != FE_TONEAREST) return false;
  volatile float sub = FLT_MIN / 4.0f;  // folded at compile time, so FTZ can't zero it
  volatile float one = 1.0f;
  volatile float half = 0.5f;
  volatile float minf = FLT_MIN;
  const bool daz_off = sub * one != 0.0f;
  const bool ftz_off = minf * half != 0.0f;
  return daz_off && ftz_off;
}

}  // namespace xpu
