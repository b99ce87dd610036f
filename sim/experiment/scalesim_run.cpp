#include "sim/experiment/scalesim_run.h"

#include <algorithm>
#include <numeric>

#include <spdlog/spdlog.h>

#include "sim/config/document.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/report/report_writer.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

namespace sc = workload::scalesim;

tpu::TpuConfig tpu_config_from_scalesim(const sc::ScaleSimConfig& s) {
  tpu::TpuConfig c;  // TPU v1 defaults for everything SCALE-Sim does not say
  c.name = s.run_name.empty() ? "scalesim" : s.run_name;
  c.source_file = s.file;
  c.description = "SCALE-Sim config " + s.file + " mapped onto the TPU model";
  c.mxu.rows = uint32_t(s.array_rows);
  c.mxu.cols = uint32_t(s.array_cols);
  c.mxu.weight_load_cycles = uint32_t(s.array_rows);  // one weight row per cycle
  c.mxu.dataflow = s.dataflow == sc::Dataflow::os ? tpu::Dataflow::os
                   : s.dataflow == sc::Dataflow::is ? tpu::Dataflow::is
                                                    : tpu::Dataflow::ws;
  c.unified_buffer.capacity_bytes = (s.ifmap_sram_kb + s.ofmap_sram_kb) * 1024;
  const uint64_t tile = uint64_t(s.array_rows) * s.array_cols;
  c.weight_fifo.depth_tiles = uint32_t(std::max<uint64_t>(1, s.filter_sram_kb * 1024 / tile));
  c.accumulators.entries = std::max<uint32_t>(4096, uint32_t(2 * s.array_rows));
  // The UB datapath: one array row of int8 inputs per cycle.
  c.unified_buffer.read_bytes_per_cycle = std::max<uint32_t>(c.mxu.rows, 1);
  c.unified_buffer.write_bytes_per_cycle = std::max<uint32_t>(c.mxu.cols, 1);
  c.activation.elements_per_cycle = c.mxu.cols;
  if (s.user_bandwidth && !s.bandwidth.empty()) {
    const double words = double(std::accumulate(s.bandwidth.begin(), s.bandwidth.end(), uint64_t(0)));
    c.dram.bandwidth_gbps = words * c.clock_mhz / 1e3;  // bytes/cycle x MHz / 1e3 = GB/s
  }
  return c;
}

std::vector<std::string> run_scalesim(const ScaleSimRunOptions& o) {
  const sc::ScaleSimConfig s = sc::read_scale_config(o.cfg_file);
  std::string topo = o.topology_file.empty() ? s.topology_csv : o.topology_file;
  if (topo.empty())
    throw config::ConfigError(config::Diagnostic{o.cfg_file, 1, 1, "network_presets.TopologyCsvLoc",
                                                 "no topology: give --topology or TopologyCsvLoc"});
  const workload::Workload w = workload::load_workload(topo);
  const tpu::TpuConfig cfg = tpu_config_from_scalesim(s);
  const energy::EnergyTable table = energy::EnergyTable::from_document(config::Document::load(o.energy_file));
  auto backend = make_tpu_backend(cfg, table, "scalesim");
  backend->check_workload(w, DType::int8);  // before anything runs
  const std::string out_dir = o.output_dir.empty() ? "reports/" + (s.run_name.empty() ? "scalesim" : s.run_name)
                                                   : o.output_dir;
  check_output_dir(out_dir);

  report::ExperimentResult result;
  result.name = s.run_name.empty() ? "scalesim" : s.run_name;
  result.manifest["scalesim_cfg"] = o.cfg_file;
  result.manifest["topology"] = topo;
  result.manifest["energy_table"] = table.to_json();
  result.manifest["energy_table"]["label"] = table.label();
  result.manifest["fidelity"] = o.fidelity == Fidelity::timing ? "timing" : "tile";
  result.manifest["seed"] = 1;
  result.manifest["io"] = "resident";
  result.manifest["ignored_scalesim_keys"] = s.ignored;
  report::RunResult run;
  run.accelerator = cfg.name;
  run.accelerator_file = o.cfg_file;
  run.workload = w.name;
  run.workload_file = topo;
  run.precision = "int8";
  run.fidelity = fidelity_name(o.fidelity);
  run.clock_mhz = backend->clock_mhz();
  run.peak_macs_per_cycle = backend->peak_macs_per_cycle(DType::int8);
  run.peak_dram_gbps = backend->dram_gbps();
  if (!o.quiet) spdlog::info("{} / {} ({} layers, SCALE-Sim {} dataflow)", cfg.name, w.name, w.layers.size(),
                             sc::dataflow_name(s.dataflow));
  LayerRunOptions lo;
  lo.fidelity = o.fidelity;
  run.layers = backend->run_workload(w, DType::int8, lo);
  result.runs.push_back(std::move(run));
  return report::write_reports(result, out_dir);
}

}  // namespace xpu::experiment
