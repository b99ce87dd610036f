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
//   blocks are longer and hide more weight shifts (where the unified
//   buffer still keeps them too short, the share streams A in K slabs:
//   lowering/tpu/gemm.h, streamed io). Every share runs on the
//   core model with its own operands and checks, one after the other, and
//   the chip's row is the slowest core's time with every core's counters
//   summed (energy: summed dynamic, chip static power x the chip's time).
//   Rows and columns are independent, so every share stays bit-exact.
// - Networks: each core runs the whole network on a contiguous share of
//   the batch (the first cores take one more sample when it does not
//   divide; the workload is reloaded from its file at the share's batch,
//   sample-independent operators make the shares independent). Each core
//   holds its own copy of the weights and streams them from the shared HBM
//   at its half of the bandwidth (core_config). Values (tile/pe fidelity): the whole batch's inputs and
//   constants are drawn once and every core reads its samples' slice, so
//   the cores' outputs, concatenated, are the one-core run's bit for bit
//   (16-bit and fp32; int8 calibrates per-tensor scales on each core's own
//   samples). Rows are matched by layer name; the chip's row is the slowest
//   core's time (the cores step through the layers together), counters and
//   MACs summed.
// - A network without a `batch` parameter, or at a batch below the core
//   count (batch 1), is split layer by layer instead (run_network_split;
//   the lowering's "Core split", lowering/tpu/network.h): a matrix layer
//   with constant weights and resident operands is shared by the cores
//   along N (whole array tiles each) or else along M, each core computing
//   its share and then exchanging the output shares through the shared
//   memory (HBM, or the CMEM where the DMA data sits); every other layer
//   runs whole on every core. The model runs the cores' programs of a
//   layer one after the other; the chip's row is the slowest core's time
//   (the cores are taken to step through the layers together, so a core's
//   read of another's share is not held until that core has written it:
//   equal shares finish together), counters summed, the layer's MACs
//   once. Values stay bit-exact: the cores' shares of every GEMM are
//   checked on their own, and the outputs equal a one-core run's.
// - Per-MXU and per-core utilization: a core's logical array holds
//   mxu.count MXUs side by side along N, so MXU j computes the columns
//   [j c, (j+1) c) of every N tile of count x c columns (c = cols per MXU):
//   its MACs are the layer's MACs x its columns / N.
#include <optional>
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

// Sets the per-MXU utilization of core `core`'s row `r` of a matrix layer
// of `w` (the core's share: `macs` of its MACs) over r.cycles; nothing for
// a row that is not one matrix layer of `w`.
void add_layer_mxu_utilization(report::LayerResult& r, const tpu::MxuConfig& mxu, uint32_t core,
                               const workload::Workload& w, uint64_t macs);

// One core's row of a layer.
struct CoreRow {
  const report::LayerResult* row;
  uint32_t core;
};

// The chip's row of one layer from its cores' rows: the slowest core's time
// and stalls, MACs, counters and bytes summed, energy priced on the sums
// over the chip's time, a mismatch in any share standing for the layer,
// and each core's utilization ("core<c>"; 0 for a core without a share).
report::LayerResult combine_cores(const std::vector<CoreRow>& rows, const NetworkRunner& runner, uint32_t cores);

// A workload of standalone GEMMs on every core of `chip` (runner: one core).
std::vector<report::LayerResult> run_gemms_on_chip(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                   const workload::Workload& w, DType dtype,
                                                   const LayerRunOptions& opts);

// Core `core`'s first sample when `batch` samples are split over `cores`.
uint64_t core_offset(uint64_t batch, uint32_t cores, uint32_t core);

// `w` reloaded from its file at batch `batch` (its other parameters as
// they were), or nullopt when it cannot be: no `batch` parameter, no file,
// or a reload whose inputs or MACs do not scale with the batch.
std::optional<workload::Workload> rebatched(const workload::Workload& w, int64_t batch);

// The first (largest) core's share of network `w` split by batch over
// `cores`, or nullopt when the network is not split (see above).
std::optional<workload::Workload> first_core_share(const workload::Workload& w, uint32_t cores);

// A network on every core of `chip`, split by batch, else layer by layer
// (runner: one core).
std::vector<report::LayerResult> run_network_on_chip(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                     const workload::Workload& w, DType dtype,
                                                     const LayerRunOptions& opts);

// One sample's layers split over the cores of `chip` (above; runner: one
// core, whose kept plan does not apply). Per-MXU utilization from each
// core's GEMMs.
std::vector<report::LayerResult> run_network_split(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                   const workload::Workload& w, DType dtype,
                                                   const LayerRunOptions& opts);

}  // namespace xpu::experiment
