#include "sim/lowering/tpu/cmem_placement.h"

#include <algorithm>

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

CmemPlacement place_gemm_in_cmem(const tpu::TpuConfig& core, const LayerPlan& layer) {
  CmemPlacement p;
  for (const auto& s : layer.steps) p.weight_bytes += s.weight_bytes;
  if (core.host.path == tpu::HostPath::dram)
    for (const auto& g : layer.gemms) p.dma_bytes += (g.a_host ? g.m * g.a_stride : 0) + (g.c_host ? g.m * g.c_stride : 0);
  const uint64_t cap = core.cmem.capacity_bytes;
  if (cap == 0) return p;
  uint64_t left = cap;
  p.weights = p.weight_bytes > 0 && p.weight_bytes <= left;
  if (p.weights) left -= p.weight_bytes;
  p.dma = p.dma_bytes > 0 && p.dma_bytes <= left;
  return p;
}

}  // namespace xpu::lowering
