#pragma once
// YAML -> InterconnectSpec: the optional `interconnect:` section of an
// accelerator config (TPU and GPU alike):
//   interconnect:
//     topology: torus2d      # ring | torus2d: the all-reduce algorithm it supports
//     links: 6               # links per device
//     link_gbps: 50          # GB/s per link and direction
//     link_latency_us: 1     # per all-reduce step
// Absent: no links (a tensor-parallel run must then give them itself).
#include "sim/common/interconnect_spec.h"
#include "sim/config/reader.h"

namespace xpu::config {

InterconnectSpec read_interconnect(Reader& root);

}  // namespace xpu::config
