#include "sim/experiment/scalesim_run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>

#include <spdlog/spdlog.h>

#include "sim/config/diagnostics.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/explain.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/scalesim_compat.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/report/report_dir.h"
#include "sim/report/report_writer.h"
#include "sim/workload/scalesim/scale_config_overrides.h"

namespace xpu::experiment {

namespace sc = workload::scalesim;

tpu::TpuConfig tpu_config_from_scalesim(const sc::ScaleSimConfig& s, const tpu::TpuConfig& base) {
  tpu::TpuConfig c = base;  // TPU v1 for everything SCALE-Sim does not say
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
  const uint64_t tiles = std::max<uint64_t>(1, s.filter_sram_kb * 1024 / tile);
  constexpr uint32_t kMax = config::kMaxWeightFifoTiles;
  if (tiles > kMax)
    spdlog::warn("{}: FilterSramSzkB {} holds {} weight tiles of {}x{}; the weight FIFO is clamped to {}", s.file,
                 s.filter_sram_kb, tiles, s.array_rows, s.array_cols, kMax);
  c.weight_fifo.depth_tiles = uint32_t(std::min<uint64_t>(tiles, kMax));
  c.accumulators.entries = std::max<uint32_t>(4096, uint32_t(2 * s.array_rows));
  // The UB datapath: one array row of int8 inputs per cycle.
  c.unified_buffer.read_bytes_per_cycle = std::max<uint32_t>(c.mxu.rows, 1);
  c.unified_buffer.write_bytes_per_cycle = std::max<uint32_t>(c.mxu.cols, 1);
  c.activation.elements_per_cycle = c.mxu.cols;
  if (s.user_bandwidth && !s.bandwidth.empty()) {
    const double words = double(std::accumulate(s.bandwidth.begin(), s.bandwidth.end(), uint64_t(0)));
    c.dram.bandwidth_gbps = words * c.clock_mhz / 1e3;  // bytes/cycle x MHz / 1e3 = GB/s
  } else if (!s.user_bandwidth) {
    // CALC: the interface never stalls (the config reader's largest values).
    c.dram.bandwidth_gbps = c.host.bandwidth_gbps = 1e6;
    c.dram.latency_ns = c.host.latency_ns = 0;
  }
  return c;
}

std::vector<std::string> run_scalesim(const ScaleSimRunOptions& o) {
  const sc::ScaleSimConfig s = sc::read_scale_config_with_overrides(o.cfg_file, o.overrides);
  const std::string topo = o.topology_file.empty() ? s.topology_csv : o.topology_file;
  if (topo.empty())
    throw config::ConfigError(config::Diagnostic{o.cfg_file, 1, 1, "network_presets.TopologyCsvLoc",
                                                 "no topology: give --topology or TopologyCsvLoc"});
  tpu::TpuConfig cfg = tpu_config_from_scalesim(
      s, o.base_config.empty() ? tpu::TpuConfig{} : config::load_tpu_config(o.base_config, {}));
  ExperimentConfig e;
  if (o.compat == "scalesim" && o.explain)
    throw config::ConfigError(config::Diagnostic{"command line", 0, 0, "",
                                                 "--explain starts from the compat number by itself: drop --compat"});
  if (o.compat == "scalesim") {
    apply_scalesim_compat(cfg, compat_needs(scalesim_gemm_view(workload::load_workload(topo, o.workload_overrides))));
    e.compat = o.compat;
  }
  e.name = (s.run_name.empty() ? std::string("scalesim") : s.run_name) + "_" +
           std::filesystem::path(topo).stem().string();
  e.source_file = o.cfg_file;
  e.energy_file = o.energy_file;
  e.fidelity = o.fidelity;
  AcceleratorRef acc;
  acc.file = o.cfg_file;
  acc.name = cfg.name;
  acc.precisions = {DType::int8};  // SCALE-Sim's 1-byte words
  acc.make = [cfg](const energy::EnergyTable& table, const std::string& instance) {
    return make_tpu_backend(cfg, table, instance);
  };
  e.accelerators = {acc};
  e.workload_files = {topo};
  e.precisions = {DType::int8};
  if (!o.quiet) {
    spdlog::info("SCALE-Sim {}: {}x{} array, {} dataflow", o.cfg_file, s.array_rows, s.array_cols,
                 sc::dataflow_name(s.dataflow));
    if (!s.ignored.empty()) {
      std::string list;
      for (const auto& k : s.ignored) list += (list.empty() ? "" : ", ") + k;
      spdlog::info("SCALE-Sim keys not modelled: {}", list);
    }
  }
  RunOptions ro;
  ro.output_dir = report::report_dir_for(o.output_dir.empty() ? "reports/" + e.name : o.output_dir, o.force);
  ro.overrides = o.overrides;
  ro.workload_overrides = o.workload_overrides;
  ro.quiet = o.quiet;
  ro.progress = o.progress;
  ro.trace = o.trace;
  std::vector<std::string> written;
  if (!o.explain) {
    written = run_experiment(e, ro);
  } else {
    const auto started = std::chrono::system_clock::now();
    check_output_dir(ro.output_dir);
    auto result = run_explained(e, {cfg}, ro);
    written = report::write_reports(result, ro.output_dir,
                                    {{"manifest.json", run_manifest_text(result.manifest, started, command_line())}});
  }
  // report.md first: the file the CLI names.
  std::stable_partition(written.begin(), written.end(),
                        [](const std::string& p) { return p.size() >= 9 && p.compare(p.size() - 9, 9, "report.md") == 0; });
  return written;
}

}  // namespace xpu::experiment
