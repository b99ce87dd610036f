#pragma once
// Number formatting shared by the report writers.

#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace xpu::report {

// Fixed-point with `prec` decimals, as the Markdown tables print figures.
inline std::string fmt(double v, int prec = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

// JSON has no NaN or infinity: those become null.
inline nlohmann::json finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace xpu::report
