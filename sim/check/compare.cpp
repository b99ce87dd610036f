#include "sim/check/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sim/numerics/float_bits.h"

namespace xpu::check {

using report::Verdict;

Outcome compare_bits(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want, uint64_t n) {
  if (got.size() != want.size()) return {Verdict::mismatch, "MISMATCH: result size differs"};
  uint64_t bad = 0, first = 0;
  for (uint64_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      if (bad == 0) first = i;
      ++bad;
    }
  if (bad == 0) return {Verdict::bit_exact, "bit-exact"};
  char buf[160];
  std::snprintf(buf, sizeof buf, "MISMATCH: %llu of %llu differ, first at (%llu, %llu): 0x%08x vs 0x%08x",
                (unsigned long long)bad, (unsigned long long)got.size(), (unsigned long long)(first / n),
                (unsigned long long)(first % n), got[first], want[first]);
  return {Verdict::mismatch, buf};
}

Outcome compare_tol(const std::vector<float>& got, const std::vector<float>& want, double abs_tol, double rel_tol) {
  double worst = 0;
  size_t bad = 0, first = 0;
  bool exact = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], e = want[i], err = std::fabs(g - e);
    exact &= float_to_bits(got[i]) == float_to_bits(want[i]) || (g == 0 && e == 0);
    const bool ok = (std::isnan(g) && std::isnan(e)) || err <= abs_tol + rel_tol * std::fabs(e);
    if (!ok && bad++ == 0) first = i;
    if (!std::isnan(err)) worst = std::max(worst, err);
  }
  std::ostringstream os;
  if (bad) {
    os << "MISMATCH: " << bad << " of " << got.size() << " outside |err| <= " << abs_tol << " + " << rel_tol
       << " |ref| (first at " << first << ": " << got[first] << " vs " << want[first] << ")";
    return {Verdict::mismatch, os.str()};
  }
  if (exact) return {Verdict::bit_exact, "bit-exact vs fp32 reference"};
  os << "within tolerance vs fp32 reference (max |err| " << worst << "; allowed " << abs_tol << " + " << rel_tol
     << " |ref|)";
  return {Verdict::within_tolerance, os.str()};
}

ErrorStats relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double se = 0, sw = 0, me = 0, mw = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    // An equal infinity (a causal mask's -inf) is no error and no magnitude.
    if (std::isinf(want[i]) && got[i] == want[i]) continue;
    const double d = double(got[i]) - double(want[i]);
    se += d * d;
    sw += double(want[i]) * want[i];
    me = std::max(me, std::fabs(d));
    mw = std::max(mw, std::fabs(double(want[i])));
  }
  ErrorStats s;
  s.rel_rms = sw > 0 ? std::sqrt(se / sw) : std::sqrt(se);
  s.rel_max = mw > 0 ? me / mw : me;
  if (!std::isfinite(s.rel_rms)) s.rel_rms = INFINITY;
  return s;
}

double network_tolerance(DType dtype) {
  switch (dtype) {
    case DType::bf16: return 0.05;
    case DType::fp16: return 0.02;
    default: return 0.15;
  }
}

}  // namespace xpu::check
