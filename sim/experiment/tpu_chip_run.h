#pragma once
// A TPU chip of several TensorCores with several MXUs each
// (tpu_config.h: cores, mxu.count). The model simulates one core
// (core_config()); this file makes chip-level results of it:
// - Standalone GEMMs: each GEMM is split over the cores in contiguous
//   shares (the first cores take one more when it does not divide): along N
//   (output columns; every core reads all of A, weights are split) when N
//   gives every core at least one full logical array tile (cores x mxu.cols
//   columns), else along M (rows). Along N the cores' MXUs line up as the
//   MXUs of one core do, and a core's share of C is narrower, so its row
//   blocks are longer and hide more weight shifts. Every share runs on the
//   core model with its own operands and checks, one after the other, and
//   the chip's row is the slowest core's time with every core's counters
//   summed (energy: summed dynamic, chip static power x the chip's time).
//   Rows and columns are independent, so every share stays bit-exact.
// - Per-MXU and per-core utilization: a core's logical array holds
//   mxu.count MXUs side by side along N, so MXU j computes the columns
//   [j c, (j+1) c) of every N tile of count x c columns (c = cols per MXU):
//   its MACs are the layer's MACs x its columns / N.
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/experiment/tpu_network_run.h"

namespace xpu::experiment {

// Core `core`'s share when `total` rows or columns are split over `cores`.
uint64_t core_share(uint64_t total, uint32_t cores, uint32_t core);

// Whether a GEMM of N columns is split along N (else along M) over the chip's cores.
bool split_columns(uint64_t n, const tpu::TpuConfig& chip);

// Columns of N that MXU `j` of a core computes (see above).
uint64_t mxu_columns(uint64_t n, const tpu::MxuConfig& mxu, uint32_t j);

// Sets r.unit_utilization["core<c>.mxu<j>"] for one core's share of a GEMM
// (m x n x k MACs on core `core`) over `cycles`.
void add_mxu_utilization(report::LayerResult& r, const tpu::MxuConfig& mxu, uint32_t core, uint64_t m,
                         uint64_t n, uint64_t k, uint64_t cycles);

// A workload of standalone GEMMs on every core of `chip` (runner: one core).
std::vector<report::LayerResult> run_gemms_on_chip(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                   const workload::Workload& w, DType dtype,
                                                   const LayerRunOptions& opts);

}  // namespace xpu::experiment
