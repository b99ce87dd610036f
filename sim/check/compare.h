#pragma once
// How a simulated result compares with its reference, for every machine:
// the verdict (report::Verdict) and a line saying what was compared.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/numerics/mac.h"
#include "sim/report/results.h"

namespace xpu::check {

struct Outcome {
  report::Verdict verdict = report::Verdict::unchecked;
  std::string detail;
};

// Raw 32-bit words (int32 / fp32 bits), row length n: bit_exact ("bit-exact")
// or mismatch ("MISMATCH: k of N differ, first at (i, j): got vs want").
Outcome compare_bits(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want, uint64_t n);

// fp32 values against the fp32 reference executor, per element |got - want|
// <= abs_tol + rel_tol |want| (NaN matches NaN): bit_exact, within_tolerance
// (with the largest error) or mismatch (count and first element).
Outcome compare_tol(const std::vector<float>& got, const std::vector<float>& want, double abs_tol, double rel_tol);

// Whole-tensor relative errors: rel_rms = rms(got - want) / rms(want),
// rel_max = max|got - want| / max|want| (absolute when want is all zero).
struct ErrorStats {
  double rel_rms = 0, rel_max = 0;
};
// Elements equal to an infinite reference value (a causal mask) are skipped.
ErrorStats relative_error(const std::vector<float>& got, const std::vector<float>& want);

// Relative-RMS tolerance of a network tensor against the fp32 reference, per
// precision (errors accumulate from layer to layer): bf16 0.05, fp16 0.02,
// int8 0.15.
double network_tolerance(DType dtype);

}  // namespace xpu::check
