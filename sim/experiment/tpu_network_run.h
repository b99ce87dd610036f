#pragma once
// Runs a whole workload on the TPU model: lowers it (sim/lowering/tpu/
// network.h), stages inputs and constants, runs every layer's programs in
// order on one Tpu (tensors stay in its unified buffer between layers) and
// checks the values.
//
// Values (tile/pe fidelity): graph inputs ~ N(0, 1) and every constant
// without values drawn from a seeded generator (weights N(0, 2 / fan_in)
// (He), biases and BN/LN shifts N(0, 0.1^2), BN/LN scales 1 + N(0, 0.1^2),
// BN means N(0, 0.1^2), variances 1 + |N(0, 0.1^2)|). The fp32 reference
// executor runs the same graph; int8 networks calibrate each activation's
// per-tensor scale on it (s = max|x| / 127: static calibration on the run's
// own input, the best case for per-tensor int8).
// Checks, in LayerResult::verified:
// - every GEMM of a layer bit for bit against the reference GEMM in hardware
//   order (K in chunks of mxu.rows) on the very operands the MXU read,
//   followed by the Activate step's arithmetic (bias, in_scale, fn,
//   conversion): "gemm bit-exact";
// - the layer's output against the fp32 reference executor's value of that
//   tensor: rel_rms = rms(got - want) / rms(want) and rel_max = max|got -
//   want| / max|want|. Errors accumulate from layer to layer (each layer
//   reads the simulator's own, rounded, inputs), so the bounds are per
//   precision and per network position: a layer passes when rel_rms <=
//   tolerance(dtype): bf16 0.05, fp16 0.02, int8 0.15 (documented in
//   README.md, "Networks"). A failure reads "MISMATCH ...".
// Timing fidelity moves no values; scales are 1 and checks are skipped.
#include <vector>

#include "models/tpu/tpu.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/backend.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/reference_executor.h"

namespace xpu::experiment {

// Relative-RMS tolerance of a network tensor against the fp32 reference.
double network_tolerance(DType dtype);

// Graph inputs and the constants that have no values, drawn as above.
workload::TensorValues make_network_values(const workload::Workload& w, uint64_t seed);

// The tensor at `place` (in the UB, or host memory when from_host), in
// logical order as fp32 (int8 dequantized with its scale).
std::vector<float> read_tensor(tpu::Tpu& tpu, const lowering::TensorPlace& place, bool from_host);

struct NetworkRunner {
  const tpu::TpuConfig& cfg;
  tpu::Tpu& tpu;
  const energy::EnergyModel& model;
  const std::vector<energy::EnergyTerm>& terms;
  double peak_macs_per_cycle = 0;
  // Optional: values (graph inputs, constants) that replace the drawn ones
  // by tensor name -- e.g. an ONNX node test's inputs.
  const workload::TensorValues* feeds = nullptr;
  // Optional: filled with every graph output as read back from host memory
  // (fp32, int8 dequantized) at tile/pe fidelity.
  workload::TensorValues* outputs = nullptr;

  std::vector<report::LayerResult> run(const workload::Workload& w, DType dtype, const LayerRunOptions& opts);
};

}  // namespace xpu::experiment
