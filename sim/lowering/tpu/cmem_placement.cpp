#include "sim/lowering/tpu/cmem_placement.h"

namespace xpu::lowering {

CmemPlacement place_in_cmem(const tpu::TpuConfig& core, const NetworkPlan& plan) {
  CmemPlacement p;
  for (const auto& l : plan.layers)
    for (const auto& s : l.steps) p.weight_bytes += s.weight_bytes;
  p.dma_bytes = core.host.path == tpu::HostPath::dram ? plan.host_bytes : 0;
  const uint64_t cap = core.cmem.capacity_bytes;
  if (cap == 0) return p;
  p.weights = p.weight_bytes > 0 && p.weight_bytes <= cap;
  const uint64_t left = p.weights ? cap - p.weight_bytes : cap;
  p.dma = p.dma_bytes > 0 && p.dma_bytes <= left;
  return p;
}

}  // namespace xpu::lowering
