#pragma once
// Runs a whole workload on the TPU model: lowers it (sim/lowering/tpu/
// network.h), stages inputs and constants, runs every layer's programs in
// order on one Tpu (tensors stay in its unified buffer between layers) and
// checks the values.
//
// A workload of standalone GEMMs is a network of one-GEMM layers
// (lowering::lower_standalone_gemms): fresh operands per layer
// (check::make_gemm_data, seed * 1000003 + layer index), A resident in the UB
// where A and C fit (experiment `io: resident`), raw accumulators checked bit
// for bit ("bit-exact").
//
// Values (tile/pe fidelity) of other networks: graph inputs and constants
// without values from check::make_network_values. The fp32 reference
// executor runs the same graph; int8 networks calibrate each activation's
// per-tensor scale on it (s = max|x| / 127: static calibration on the run's
// own input, the best case for per-tensor int8).
// Checks (LayerResult::verdict and verdict_detail):
// - every GEMM of a layer bit for bit against the reference GEMM in hardware
//   order (K in chunks of mxu.rows) on the very operands the MXU read,
//   followed by the Activate step's arithmetic (check::check_tpu_gemm):
//   "gemm bit-exact";
// - the layer's output against the fp32 reference executor's value of that
//   tensor: rel_rms = rms(got - want) / rms(want) and rel_max = max|got -
//   want| / max|want|. Errors accumulate from layer to layer (each layer
//   reads the simulator's own, rounded, inputs), so the bounds are per
//   precision (check::network_tolerance, documented in README.md,
//   "Networks"): within_tolerance, or mismatch ("MISMATCH ...").
// Timing fidelity moves no values; scales are 1 and the verdict is unchecked.
// On a core with a CMEM a network's weights and off-UB activations sit in
// the CMEM where they fit (lowering/tpu/cmem_placement.h), for the network's
// run only; a standalone GEMM's B, then A and C, for that GEMM's run
// (place_gemm_in_cmem).
#include <memory>
#include <vector>

#include "models/tpu/tpu.h"
#include "sim/check/compare.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/backend.h"
#include "sim/experiment/cycle_accounting.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/reference_executor.h"

namespace xpu::experiment {

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
  // Optional: the workload's value-free plan, lowered already (by the
  // backend's check, with the same options): a timing run runs it instead of
  // lowering again. Moved from.
  lowering::NetworkPlan* lowered = nullptr;

  // A network (lowering::lower_network).
  std::vector<report::LayerResult> run(const workload::Workload& w, DType dtype, const LayerRunOptions& opts);
  // A workload of standalone GEMMs (lowering::standalone_gemms) as one-GEMM layers.
  std::vector<report::LayerResult> run_gemms(const workload::Workload& w, DType dtype, const LayerRunOptions& opts);

  // The parts of run(), for a runner that interleaves several plans (a
  // chip's cores, tpu_chip_run.h):
  // the fidelity set, the values drawn (tile/pe: graph inputs and constants,
  // the feeds, the fp32 reference, int8 scales) and the lowering options
  // that go with them (constants point into `inputs`);
  lowering::NetworkOptions prepare(const workload::Workload& w, DType dtype, const LayerRunOptions& opts,
                                   workload::TensorValues& inputs, workload::TensorValues& ref);
  // one layer's programs on the model: its row, without a verdict;
  report::LayerResult run_layer(const lowering::LayerPlan& lp, const workload::TensorValues& inputs,
                                const LayerRunOptions& opts);
  // the row's verdict from the model's state now;
  void judge(report::LayerResult& r, const lowering::LayerPlan& lp, const lowering::NetworkPlan& plan,
             const workload::TensorValues& ref, DType dtype, const LayerRunOptions& opts);
  // the graph outputs into `outputs` (tile/pe fidelity, when set).
  void read_outputs(const lowering::NetworkPlan& plan, const LayerRunOptions& opts);

 private:
  // Runs every layer's programs in order, builds its row and checks it.
  std::vector<report::LayerResult> execute(const lowering::NetworkPlan& plan, const workload::TensorValues& inputs,
                                           const workload::TensorValues& ref, DType dtype, const LayerRunOptions& opts);
  // What a layer's run has gathered so far: its counters from `before`, its
  // cycles and their causes.
  struct LayerProgress {
    explicit LayerProgress(tpu::Tpu& t);
    stats::Snapshot before;
    std::unique_ptr<CycleAccounting> accounting;
    uint64_t cycles = 0;
  };
  // The row of a layer whose programs ran (not judged).
  report::LayerResult layer_result(const lowering::LayerPlan& lp, const LayerRunOptions& opts,
                                   LayerProgress& progress);
  check::Outcome check_layer(const lowering::LayerPlan& lp, const lowering::NetworkPlan& plan,
                             const workload::TensorValues& ref, DType dtype);
};

}  // namespace xpu::experiment
