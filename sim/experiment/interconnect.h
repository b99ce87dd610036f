#pragma once
// Chip-to-chip links for tensor parallelism: the time of an all-reduce of
// `bytes` (each device holds all of them before and after) over N devices.
// An alpha-beta model: per step a link latency, data at the link bandwidth.
//   ring     (NVLink-style, one ring per pair of link directions): 2 (N - 1)
//            steps, each moving bytes / N over every device's links:
//            t = 2 (N - 1) / N x bytes / (links x link_bw) + 2 (N - 1) latency
//   torus2d  (TPU ICI): N = X x Y (X the largest factor <= sqrt N), links
//            split evenly over the two dimensions; reduce-scatter along X,
//            then along Y on the 1/X shards, then the two all-gathers:
//            t = 2 (X-1)/X bytes / bw_x + 2 (Y-1)/Y (bytes / X) / bw_y
//                + 2 (X - 1 + Y - 1) latency, bw_d = links / 2 x link_bw
// Left out: overlap with compute (the all-reduces are serialized after the
// layer that produces them), congestion and contention with other traffic,
// the reduction arithmetic's own time and energy, link energy, and switch
// hops. An honest first step toward multi-chip, not a network simulator.
#include <string>

#include "sim/common/interconnect_spec.h"

namespace xpu::experiment {

// The links: an accelerator config's `interconnect:` section, or an
// experiment's tensor_parallel override (experiment_config.h).
using Interconnect = InterconnectSpec;

double allreduce_seconds(const Interconnect& ic, int devices, double bytes);

}  // namespace xpu::experiment
