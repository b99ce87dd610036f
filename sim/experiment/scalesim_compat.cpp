#include "sim/experiment/scalesim_compat.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "sim/config/diagnostics.h"
#include "sim/workload/graph_builder.h"

namespace xpu::experiment {

workload::Workload scalesim_gemm_view(const workload::Workload& w) {
  workload::Workload g;
  g.name = w.name;
  g.source_file = w.source_file;
  g.dtype = w.dtype;
  g.params = w.params;
  for (const auto& l : w.layers) {
    if (l.gemm_form == workload::GemmForm::none) continue;
    if (l.gemm_count == 1) {
      workload::build::standalone_gemm(g, l.name, int64_t(l.m), int64_t(l.n), int64_t(l.k), l.loc);
      continue;
    }
    // A grouped (depthwise) conv: SCALE-Sim splits a DP layer into one layer
    // per channel, named <layer>Channel_<i> (topology_utils.py), each the
    // GEMM of one group.
    for (uint64_t i = 0; i < l.gemm_count; ++i)
      workload::build::standalone_gemm(g, scalesim_channel_layer(l.name, i), int64_t(l.m), int64_t(l.n),
                                       int64_t(l.k), l.loc);
  }
  return g;
}

CompatNeeds compat_needs(const workload::Workload& g) {
  CompatNeeds n;
  for (const auto& l : g.layers) {
    n.max_m = std::max(n.max_m, l.m);
    n.max_n = std::max(n.max_n, l.n);
    // A int8 (256-byte aligned) then C int32: the resident layout of lower_gemm.
    const uint64_t a = (l.m * l.k + 255) / 256 * 256;
    n.max_resident_bytes = std::max(n.max_resident_bytes, a + l.m * l.n * 4);
  }
  return n;
}

void apply_scalesim_compat(tpu::TpuConfig& c, const CompatNeeds& n) {
  auto& x = c.mxu;
  x.fold_overlap = false;
  x.fold_clear_all_columns = true;
  x.double_buffer_weights = x.dataflow != tpu::Dataflow::ws;
  // The edge or PE weights fill at least as fast as the array consumes
  // them: WS and OS one K row per cycle (R rows; an OS chunk streams R
  // steps), IS within min(R, C) cycles: a tile streams for n <= C steps, and
  // the first one must be in before the fold's R-cycle input load ends
  // (SCALE-Sim streams the filters straight from SRAM, with no load).
  x.weight_load_cycles = x.dataflow == tpu::Dataflow::is ? std::min(x.rows, x.cols) : x.rows;
  x.input_load_cycles = x.rows;
  x.step_int8 = 1;
  // Ideal memory: the filter SRAM never holds back a fetch (two tiles let
  // the next one arrive while the current one shifts).
  c.weight_fifo.depth_tiles = std::max<uint32_t>(c.weight_fifo.depth_tiles, 4);
  c.dram.bandwidth_gbps = 1e6;
  c.dram.latency_ns = 0;
  c.host.bandwidth_gbps = 1e6;
  c.host.latency_ns = 0;
  constexpr uint64_t kMaxEntries = 1 << 20;  // the config reader's limit
  c.accumulators.double_buffered = true;
  const uint64_t n_rows = (n.max_n + x.cols - 1) / x.cols * x.cols;
  c.accumulators.entries =
      uint32_t(std::min(kMaxEntries, std::max<uint64_t>({c.accumulators.entries, 2 * n.max_m, 2 * n_rows})));
  // Beyond the reader's limit a layer's M is split, which SCALE-Sim never
  // does: say so rather than report a number that silently differs.
  if (2 * n.max_m > kMaxEntries)
    spdlog::warn("compat scalesim: a layer has M = {} rows, more than the {} accumulator entries the model allows "
                 "double-buffered; it is split in M and its cycles will not equal SCALE-Sim's",
                 n.max_m, kMaxEntries / 2);
  auto& u = c.unified_buffer;
  u.capacity_bytes = std::min<uint64_t>(4ull << 30, std::max(u.capacity_bytes, n.max_resident_bytes));
  // No vector-unit cost: the widest ports and lanes a config may have (the
  // reader's limits), so writing a tile's results out never holds up the
  // in-order controller.
  constexpr uint32_t kWidest = 1 << 16;
  u.read_bytes_per_cycle = kWidest;
  u.write_bytes_per_cycle = kWidest;
  c.activation.elements_per_cycle = kWidest;
  c.activation.latency_cycles = 0;
  // The in-order controller never waits for room in a unit's queue.
  c.controller.unit_queue_depth = 1024;
}

std::vector<WaterfallStep> scalesim_waterfall(const tpu::TpuConfig& realistic, const CompatNeeds& needs) {
  tpu::TpuConfig c = realistic;
  apply_scalesim_compat(c, needs);
  std::vector<WaterfallStep> steps;
  steps.push_back({"SCALE-Sim Total Cycles", c, "scalesim"});
  steps.push_back({"+ whole program (issue and result write-back)", c, "gemm_view"});
  c.mxu.fold_clear_all_columns = realistic.mxu.fold_clear_all_columns;
  steps.push_back({"+ drain over the used columns only", c, "gemm_view"});
  c.mxu.fold_overlap = realistic.mxu.fold_overlap;
  c.mxu.double_buffer_weights = realistic.mxu.double_buffer_weights;
  c.mxu.input_load_cycles = realistic.mxu.input_load_cycles;
  c.mxu.weight_load_cycles = realistic.mxu.weight_load_cycles;
  steps.push_back({"+ fold overlap (double-buffered weights)", c, "gemm_view"});
  c.accumulators = realistic.accumulators;
  steps.push_back({"+ accumulator capacity (M split)", c, "gemm_view"});
  c.dram = realistic.dram;
  c.weight_fifo = realistic.weight_fifo;
  steps.push_back({"+ weight DRAM bandwidth and latency", c, "gemm_view"});
  steps.push_back({"+ network lowering (im2col copies on the vector unit)", c, ""});
  c.unified_buffer.capacity_bytes = realistic.unified_buffer.capacity_bytes;
  steps.push_back({"+ unified buffer capacity", c, ""});
  c.unified_buffer = realistic.unified_buffer;
  c.activation = realistic.activation;
  c.controller = realistic.controller;
  steps.push_back({"+ vector unit and UB port widths (im2col and activation write-back)", c, ""});
  steps.push_back({"+ host transfers", realistic, ""});
  return steps;
}

}  // namespace xpu::experiment
