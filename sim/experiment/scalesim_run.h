#pragma once
// SCALE-Sim compatibility: `xpusim run --scalesim-cfg my.cfg --topology
// my_net.csv` runs a SCALE-Sim v2 config + topology pair unchanged on the
// TPU model.
//
// The .cfg maps onto a TpuConfig whose unlisted values are TPU v1's, read
// from configs/accelerators/tpu_v1.yaml (ScaleSimRunOptions::base_config;
// the CLI passes the bundled file; without one, the models/tpu/tpu_config.h
// defaults):
//   ArrayHeight x ArrayWidth      -> mxu.rows x mxu.cols
//   IfmapSramSzkB + OfmapSramSzkB -> unified_buffer.capacity_bytes (KiB;
//                                    the UB holds ifmaps and ofmaps)
//   FilterSramSzkB                -> weight_fifo.depth_tiles = max(1,
//                                    floor(KiB * 1024 / (rows * cols))):
//                                    the filter SRAM stages weight tiles;
//                                    clamped (with a warning) to the FIFO's
//                                    limit, config::kMaxWeightFifoTiles
//   Dataflow ws / os / is         -> mxu.dataflow ws / os / is (the MXU
//                                    folds the same programs into the
//                                    dataflow's passes, mxu_array.h)
//   Bandwidth (USER mode)         -> dram.bandwidth_gbps = sum over banks
//                                    of words/cycle x 1 byte x clock
//   InterfaceBandwidth CALC       -> an ideal interface, in every mode:
//                                    weight DRAM and host link at 1e6 GB/s
//                                    with no latency (SCALE-Sim computes
//                                    the bandwidth it needs and never
//                                    stalls)
//   accumulators                  -> max(4096, 2 x ArrayHeight) rows
//                                    (TPU v1's; SCALE-Sim accumulates in
//                                    the ofmap SRAM)
// Words are 1 byte, as SCALE-Sim's default: the run is int8. The topology's
// layers run as a network whose rows are independent layers (SCALE-Sim
// semantics), each with its own ifmap from host memory; layers that do not
// fit the SRAMs are tiled and streamed (sim/lowering/tpu/network.h).
//
// The run is an experiment like any other (sim/experiment/runner.h): one
// accelerator (the mapped cfg), one workload (the topology), int8, so it
// gets --trace, the progress bar, manifest.json and the version line.
#include <string>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/common/fidelity.h"
#include "sim/report/results.h"
#include "sim/workload/scalesim/scale_config.h"

namespace xpu::experiment {

tpu::TpuConfig tpu_config_from_scalesim(const workload::scalesim::ScaleSimConfig& sc,
                                        const tpu::TpuConfig& base = tpu::TpuConfig{});

struct ScaleSimRunOptions {
  std::string cfg_file;
  std::string topology_file;  // "" -> the cfg's TopologyCsvLoc
  std::string energy_file;    // energy table YAML
  std::string base_config;    // TPU config YAML for the values the cfg does not set ("" defaults)
  std::string output_dir;     // "" -> reports/<run_name>_<topology name>
  Fidelity fidelity = Fidelity::timing;
  bool quiet = false;
  bool progress = false;
  bool trace = false;                           // as RunOptions::trace
  bool force = false;                           // replace a report in output_dir (report/report_dir.h)
  std::vector<std::string> overrides;           // on the .cfg: "architecture_presets.ArrayHeight=64"
  std::vector<std::string> workload_overrides;  // on the topology: "params.batch=4"
  std::string compat;                           // "scalesim": scalesim_compat.h; "" none
  // --explain: run every waterfall step (explain.h) and report the
  // realistic run with each layer's cycles after every step.
  bool explain = false;
};

// Runs and writes the reports and manifest.json; returns the paths written
// (report.md first). Throws config::ConfigError / lowering::LoweringError.
std::vector<std::string> run_scalesim(const ScaleSimRunOptions& opts);

}  // namespace xpu::experiment
