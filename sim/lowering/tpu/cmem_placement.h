#pragma once
// Where a lowered network's off-UB data lives on a chip with a CMEM
// (tpu_config.h, CmemConfig): in the core's share of the CMEM when it fits,
// else in DRAM (HBM). Whole classes of data, largest reuse first:
// 1. the weights (read by every inference): every program step's weight
//    image (ProgramStep::weight_bytes, each step's tiles at their own
//    addresses in a real layout), when their sum fits;
// 2. then the data behind the DMA engines (host.path dram: graph inputs and
//    outputs, spilled or streamed activations, host constants; the plan's
//    host_bytes), when it fits in what the weights leave.
// Steady-state serving: the weights were copied into the CMEM once, before
// the measured inference (that copy is not counted, as a resident UB
// operand's first load is not). With host.path pcie the DMA engines reach
// the host, not DRAM: only the weights can be placed.
#include <cstdint>

#include "models/tpu/tpu_config.h"
#include "sim/lowering/tpu/network.h"

namespace xpu::lowering {

struct CmemPlacement {
  bool weights = false;  // the weight fetcher reads the CMEM
  bool dma = false;      // the DMA engines reach the CMEM instead of DRAM
  uint64_t weight_bytes = 0, dma_bytes = 0;  // the footprints compared with the capacity
};

// `core`: one TensorCore's config (tpu::core_config: its share of the CMEM).
CmemPlacement place_in_cmem(const tpu::TpuConfig& core, const NetworkPlan& plan);

// A standalone GEMM (lower_standalone_gemms: one layer, its own operands)
// on `core` (tpu::core_config). The core's share of the CMEM holds B's
// weight tiles if they fit, then A and C (the DMA engines' data, host.path
// dram) if they fit in what is left; the DMA engines then stream A's slabs
// (streamed io, gemm.h) from the CMEM at its bandwidth, else from HBM. As
// for a network, operands placed there were put there before the GEMM (by
// the kernel that produced them), uncounted.
CmemPlacement place_gemm_in_cmem(const tpu::TpuConfig& core, const LayerPlan& layer);

}  // namespace xpu::lowering
