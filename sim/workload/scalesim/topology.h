#pragma once
// SCALE-Sim topology CSVs -> workload IR, read the way SCALE-Sim v2
// (scalesim/topology_utils.py) reads them, so a file gives the same layers:
//
// conv format, one layer per row after a header row:
//   Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
//   Channels, Num Filter, Strides[, Stride width],
// * every row ends with a comma (SCALE-Sim drops the last field); a row
//   without the trailing comma is accepted too;
// * no padding, and the ofmap rounds up: SCALE-Sim v2 computes
//   ofmap = ceil((H - R + stride) / stride) = ceil((H - R) / stride) + 1, so
//   when stride does not divide H - R the last window hangs over the ifmap's
//   edge (AlexNet's 224 x 224, 11 x 11, stride 4 gives 55, not 54). The IR
//   expresses that overhang as zero padding at the bottom / right.
//   OfmapRounding::floor gives (H - R) / stride + 1 instead. The filter must
//   not exceed the ifmap (SCALE-Sim asserts it);
// * one stride applies to both axes unless a 9th field gives the width's;
// * a layer whose name contains "DP" is depthwise: SCALE-Sim runs it as
//   `Channels` layers of 1 channel and `Num Filter` filters each; here it is
//   one conv2d with groups = Channels and Channels x Num Filter outputs, whose
//   GEMM view is the same Channels GEMMs;
// * rows are independent layers (SCALE-Sim does not chain them): each gets
//   its own input "<layer>.ifmap" [batch, C, H, W]; batch is 1 in SCALE-Sim.
// gemm format (header "Layer, M, N, K,"): a layer M x N x K is SCALE-Sim's
// conv [ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1], i.e. the
// GEMM C[M,N] = A[M,K] x B[K,N]; here a standalone gemm layer.
// Blank lines are skipped (as SCALE-Sim does); any other malformed row is a
// config::ConfigError with file:line naming the field.
#include <string>

#include "sim/workload/workload.h"

namespace xpu::workload::scalesim {

enum class TopologyFormat { detect, conv, gemm };  // detect: header's second field "M" -> gemm
enum class OfmapRounding { ceil, floor };            // ceil: SCALE-Sim v2 (topology_utils.py)

struct TopologyOptions {
  TopologyFormat format = TopologyFormat::detect;
  OfmapRounding rounding = OfmapRounding::ceil;
  int64_t batch = 1;
  DType dtype = DType::int8;  // SCALE-Sim counts 1-byte words
};

Workload read_topology(const std::string& path, const TopologyOptions& opts = {});
Workload parse_topology(const std::string& text, const std::string& name, const TopologyOptions& opts = {});

// SCALE-Sim's mapping of a layer onto the array (topology_utils.py
// calc_spatio_temporal_params): Sr rows and Sc columns of operands are laid
// out spatially and T steps run in time, per GEMM of the layer's GEMM view
// (`count` of them: 1, or the channels of a depthwise layer).
//   os: Sr = ofmap pixels (M), Sc = filters (N), T = window (K)
//   ws: Sr = window (K),       Sc = filters (N), T = ofmap pixels (M)
//   is: Sr = window (K),       Sc = ofmap pixels (M), T = filters (N)
enum class Dataflow { os, ws, is };
struct SpatioTemporal {
  uint64_t count = 1, sr = 0, sc = 0, t = 0;
};
SpatioTemporal spatio_temporal(const Layer& layer, Dataflow df);

}  // namespace xpu::workload::scalesim
