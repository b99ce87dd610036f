#pragma once
// The SCALE-Sim compatibility profile (`--compat scalesim`, `compat:
// scalesim` in an experiment): the TPU model set up the way SCALE-Sim v2
// idealizes a systolic array, and its Total Cycles counting convention, so
// that every layer reports SCALE-Sim's number (README.md, "SCALE-Sim
// compatibility"). Nothing here computes cycles: the simulation does.
//
// Physical switches (apply_scalesim_compat):
//   mxu.fold_overlap false        folds run one after the other: a fold's
//                                 stationary load (or, OS, its stream) starts
//                                 once the previous fold's operands have left
//                                 every PE, all R x C (SCALE-Sim drains over
//                                 all C columns, used or not)
//   mxu.double_buffer_weights     false for WS (the weights are shifted into
//                                 the PEs at the start of every fold, R
//                                 cycles, as SCALE-Sim's fold prefix); OS and
//                                 IS stream their weights from the edge
//                                 buffer, which stays double-buffered
//                                 (SCALE-Sim streams them from its SRAM with
//                                 no load)
//   mxu.input_load_cycles         rows: one row of stationary inputs per
//                                 cycle (SCALE-Sim's R-cycle IS prefix)
//   mxu.weight_load_cycles        WS rows (SCALE-Sim's R-cycle prefix); OS
//                                 rows, IS min(rows, cols): the edge buffer
//                                 fills as fast as its stream drains it, and
//                                 IS's first tile within the input load
//                                 (SCALE-Sim streams the filters straight
//                                 from SRAM)
//   dram, host                    ideal: 1e6 GB/s, no latency (CALC mode:
//                                 SCALE-Sim's interface never stalls)
//   accumulators                  at least 2 x the largest M: no M split
//                                 (SCALE-Sim streams all M rows in one fold);
//                                 IS: 2 x the largest N rounded up to C
//                                 (gemm.h, is_input_major)
//   unified_buffer                holds every layer's operand matrices
//                                 (resident io, no host transfers), ports
//                                 wide enough for a row per cycle each way
//   activation                    one accumulator row per cycle, no latency
// Lowering: each layer runs as the GEMM of its operand matrices (SCALE-Sim's
// im2col view: M = ofmap pixels, K = window x channels, N = filters), its
// operands already in the unified buffer (no vector-unit im2col, no DMA).
// Counting convention: SCALE-Sim's Total Cycles is the index (from 0) of the
// last cycle the array works on the layer, i.e. the MXU's
// array_window_cycles - 1 (mxu.h), measured in the simulation.
#include <string>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

// Sizes the profile needs from the workloads it will run.
struct CompatNeeds {
  uint64_t max_m = 0;             // largest GEMM M
  uint64_t max_n = 0;             // largest GEMM N
  uint64_t max_resident_bytes = 0;  // largest A + C of one layer (int8 A, int32 C)
};

// The workload as SCALE-Sim sees it: every layer with a GEMM view becomes a
// standalone GEMM of the same M, N and K (and name); others are dropped. A
// layer of several GEMMs (a grouped or depthwise conv) becomes one GEMM per
// group, named as SCALE-Sim names its per-channel layers.
workload::Workload scalesim_gemm_view(const workload::Workload& w);
inline std::string scalesim_channel_layer(const std::string& layer, uint64_t group) {
  return layer + "Channel_" + std::to_string(group);
}
CompatNeeds compat_needs(const workload::Workload& gemm_view);
void apply_scalesim_compat(tpu::TpuConfig& c, const CompatNeeds& needs);
// The waterfall from SCALE-Sim's number to the realistic one (`xpusim run
// ... --explain`, explain.h, README.md): the compat config, then one
// mechanism turned back on per step (whole program, drain width, fold
// overlap, accumulator capacity, weight DRAM, im2col, UB capacity, vector
// unit and port widths, host transfers), cumulatively, each run and
// measured; the last step is `realistic` itself. `compat` is the step's
// LayerRunOptions::compat.
struct WaterfallStep {
  std::string name;
  tpu::TpuConfig cfg;
  std::string compat;
};
std::vector<WaterfallStep> scalesim_waterfall(const tpu::TpuConfig& realistic, const CompatNeeds& needs);
// SCALE-Sim's Total Cycles from the measured array window (see above).
inline uint64_t scalesim_total_cycles(uint64_t array_window_cycles) {
  return array_window_cycles ? array_window_cycles - 1 : 0;
}

}  // namespace xpu::experiment
