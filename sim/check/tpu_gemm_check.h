#pragma once
// The bit-exact check of a TPU GEMM (+ the Activate step) on the operands the
// MXU really read. The Activate arithmetic (bias, in_scale, function,
// conversion) is re-implemented here on purpose, independently of the
// activation unit's model: a check that shared the model's code could not
// catch the model's bugs.
#include <cstdint>
#include <string>

#include "models/tpu/tpu.h"
#include "sim/lowering/tpu/network.h"

namespace xpu::check {

// "" when B is not available to replay, "ok", or "MISMATCH gemm MxNxK at (i, j)".
// R x C: the array (weight-tile shape); k_chunk: the reference accumulation
// order (lowering::reference_k_chunk: R, or K where OS keeps psums in the PEs).
std::string check_tpu_gemm(tpu::Tpu& tpu, const lowering::GemmCheck& g, DType dt, uint64_t R, uint64_t C,
                           uint64_t k_chunk);

}  // namespace xpu::check
