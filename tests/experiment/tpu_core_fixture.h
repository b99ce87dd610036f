#pragma once
// One TensorCore's model, energy model and terms, as the TPU backend holds
// them, for tests that drive experiment::NetworkRunner directly.
#include <string>
#include <vector>

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/tpu_network_run.h"

namespace xt {

const std::string kSource = XPUSIM_SOURCE_DIR;

inline xpu::energy::EnergyTable energy_table() {
  return xpu::energy::load_energy_table(kSource + "/configs/energy/horowitz_45nm.yaml");
}

inline xpu::tpu::TpuConfig tpu_small() {
  return xpu::config::load_tpu_config(kSource + "/configs/accelerators/tpu_small.yaml");
}

// Core `core_config(chip)` of `chip`.
struct TpuCore {
  xpu::tpu::TpuConfig chip, cfg;
  xpu::energy::EnergyModel model;
  std::vector<xpu::energy::EnergyTerm> terms;
  xpu::tpu::Tpu tpu;
  TpuCore(const xpu::tpu::TpuConfig& c, const char* name)
      : chip(c), cfg(xpu::tpu::core_config(c)),
        model(xpu::energy::table_for_machine(energy_table(), c.energy), c.energy.static_power),
        terms(xpu::tpu::tpu_energy_terms(cfg, model.table())), tpu(cfg, name) {}
  xpu::experiment::NetworkRunner runner(xpu::workload::TensorValues* outputs = nullptr) {
    xpu::experiment::NetworkRunner r{cfg, tpu, model, terms, cfg.peak_macs_per_cycle()};
    r.outputs = outputs;
    return r;
  }
};

}  // namespace xt
