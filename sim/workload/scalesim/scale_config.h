#pragma once
// SCALE-Sim .cfg files (Python configparser INI), read the way SCALE-Sim v2's
// scale_config.py reads them. The lead maps ScaleSimConfig onto a TPU config.
//
// Syntax (configparser): "[section]" headers; "Key: value" or "Key = value";
// keys are case-insensitive, values trimmed; whole-line comments start with
// '#' or ';' (no inline comments: "64 # kB" is not a number); a key may
// appear once per section; indented continuation lines are rejected.
// Sections and keys:
//   [general]              run_name (quotes around it are stripped)
//   [architecture_presets] ArrayHeight, ArrayWidth (PEs); IfmapSramSzkB,
//                          FilterSramSzkB, OfmapSramSzkB (KiB: SCALE-Sim
//                          holds 1024 x value words, 1 byte each by default);
//                          IfmapOffset, FilterOffset, OfmapOffset (word
//                          addresses of the three operand spaces in its traces);
//                          Dataflow (os | ws | is); Bandwidth (words/cycle,
//                          a comma list, one per memory bank, read in USER
//                          mode); MemoryBanks (default 1)
//   [run_presets]          InterfaceBandwidth: USER (use Bandwidth) or CALC
//                          (SCALE-Sim computes the bandwidth it needs)
//   [network_presets]      TopologyCsvLoc (optional, "quoted path")
// Keys SCALE-Sim versions know but xpusim does not model (memory-bank ports,
// custom layouts, sparsity, request buffers) are listed in `ignored`; any
// other key or section is an error with a did-you-mean.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/workload/scalesim/topology.h"

namespace xpu::workload::scalesim {

// Upper bounds, so that a cfg that validates maps onto a TPU config within
// that format's own limits (mxu rows/cols <= 4096, unified buffer <= 4 GiB).
inline constexpr int64_t kMaxArrayDim = 4096;
inline constexpr int64_t kMaxSramKb = int64_t(2) << 20;  // 2 GiB each
inline constexpr int64_t kMaxOffset = int64_t(1) << 40;  // word addresses
inline constexpr int64_t kMaxBanks = 4096;
inline constexpr int64_t kMaxBandwidth = int64_t(1) << 20;  // words/cycle per bank

struct ScaleSimConfig {
  std::string file;
  std::string run_name;
  uint64_t array_rows = 0, array_cols = 0;  // ArrayHeight, ArrayWidth
  uint64_t ifmap_sram_kb = 0, filter_sram_kb = 0, ofmap_sram_kb = 0;
  uint64_t ifmap_offset = 0, filter_offset = 0, ofmap_offset = 0;
  Dataflow dataflow = Dataflow::ws;
  bool user_bandwidth = false;           // InterfaceBandwidth: USER
  std::vector<uint64_t> bandwidth;       // words per cycle, per bank (USER mode)
  uint64_t memory_banks = 1;
  std::string topology_csv;              // network_presets.TopologyCsvLoc, "" if absent
  std::vector<std::string> ignored;      // "section.key" recognised but not modelled
};

// Throws config::ConfigError with every problem (file:line: section.key: ...).
ScaleSimConfig read_scale_config(const std::string& path);
ScaleSimConfig parse_scale_config(const std::string& text, const std::string& name);

const char* dataflow_name(Dataflow df);

}  // namespace xpu::workload::scalesim
