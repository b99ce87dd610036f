#pragma once
// Seeded operand values of a run, so that every value check is reproducible.
#include <cstdint>
#include <vector>

#include "sim/workload/reference_executor.h"
#include "sim/workload/workload.h"

namespace xpu::check {

// Graph inputs ~ N(0, 1); every constant without values: weights N(0, 2 /
// fan_in) (He), biases and BN/LN shifts N(0, 0.1^2), BN/LN scales 1 +
// N(0, 0.1^2), BN means N(0, 0.1^2), variances 1 + |N(0, 0.1^2)|.
workload::TensorValues make_network_values(const workload::Workload& w, uint64_t seed);

// `count` values uniform in [lo, hi).
std::vector<float> random_values(uint64_t count, uint64_t seed, float lo, float hi);

// `count` fp32 values ~ N(0, 1), as bytes.
std::vector<uint8_t> random_fp32(uint64_t count, uint64_t seed);

}  // namespace xpu::check
