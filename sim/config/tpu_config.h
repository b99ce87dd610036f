#pragma once
// YAML -> TpuConfig (models/tpu/tpu_config.h). The only code that reads a TPU
// config file; models see the typed struct. Strict: unknown keys (with a
// "did you mean"), wrong types and out-of-range values are reported with
// file:line:col and key path, all of them in one ConfigError.
//
// Layout (every section and key optional except `kind`; a missing key keeps
// the TpuConfig default, which are the TPU v1 values):
//   kind: tpu                      # required: this file describes a TPU
//   name, description, clock_mhz, cores (TensorCores per chip)
//   mxu:          rows, cols (per MXU), count (MXUs per core), dataflow (ws | os | is),
//                 step_int8, step_bf16, step_fp16,
//                 supports_int8, supports_bf16, supports_fp16,
//                 weight_load_cycles, double_buffer_weights, fold_overlap,
//                 input_load_cycles
//   weight_fifo:  depth_tiles
//   accumulators: entries, double_buffered
//   unified_buffer: capacity_bytes (size: "24 MiB"), read_bytes_per_cycle,
//                 write_bytes_per_cycle, banks
//   activation:   elements_per_cycle, latency_cycles
//   dram:         bandwidth_gbps, latency_ns, channels, burst_bytes, interleave_bytes
//   host:         path (pcie | dram), bandwidth_gbps, latency_ns
//   controller:   pipeline_stages, unit_queue_depth
//   cmem:         capacity_bytes (0: none)
//   energy:       node_nm, vdd, dram (memory technology), static_w (per component;
//                 sim/config/machine_energy.h)
#include <string>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/config/reader.h"

namespace xpu::config {

// The deepest weight FIFO a config may ask for (estimate: TPU v1 has 4 tiles;
// 64 covers the filter SRAMs of SCALE-Sim's small arrays).
constexpr uint32_t kMaxWeightFifoTiles = 64;

// Types the document behind `r` (its root mapping). Records problems in the
// reader's diagnostics; does not throw (the caller finishes and throws).
tpu::TpuConfig parse_tpu_config(Reader& r);

// Loads `path`, applies "-p key.path=value" overrides to the tree, types it.
// Throws ConfigError listing every problem found.
tpu::TpuConfig load_tpu_config(const std::string& path,
                               const std::vector<std::string>& overrides = {});

}  // namespace xpu::config
