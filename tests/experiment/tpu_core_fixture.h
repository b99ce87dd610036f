#pragma once
// One TensorCore's model, energy model and terms, as the TPU backend holds
// them, for tests that drive experiment::NetworkRunner directly.
#include <string>
#include <utility>
#include <vector>

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/experiment/tpu_network_run.h"

namespace xt {

const std::string kSource = XPUSIM_SOURCE_DIR;

inline xpu::energy::EnergyTable energy_table() {
  return xpu::energy::load_energy_table(kSource + "/configs/energy/horowitz_45nm.yaml");
}

inline xpu::tpu::TpuConfig tpu_small() {
  return xpu::config::load_tpu_config(kSource + "/configs/accelerators/tpu_small.yaml");
}

// tpu_small (8x8 MXU) with 2 MXUs per core (a logical 8 x 16 array) and `cores` cores.
inline xpu::tpu::TpuConfig tpu_small_chip(uint32_t cores) {
  xpu::tpu::TpuConfig c = tpu_small();
  c.mxu.count = 2;
  c.mxu.cols *= 2;
  c.cores = cores;
  return c;
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

// `w` (bf16) on core `one` alone and on the chip of `two`
// (experiment::run_network_on_chip), both at fidelity `f`; the chip's graph
// outputs are checked equal to the one core's bit for bit. Returns both
// runs' rows. For Catch2 tests (include catch.hpp first).
inline std::pair<std::vector<xpu::report::LayerResult>, std::vector<xpu::report::LayerResult>> run_one_and_chip(
    TpuCore& one, TpuCore& two, const xpu::workload::Workload& w, xpu::Fidelity f) {
  xpu::experiment::LayerRunOptions o;
  o.fidelity = f;
  xpu::workload::TensorValues out1, out2;
  auto r1 = one.runner(&out1);
  auto r2 = two.runner(&out2);
  auto rows1 = r1.run(w, xpu::DType::bf16, o);
  auto rows2 = xpu::experiment::run_network_on_chip(r2, two.chip, w, xpu::DType::bf16, o);
  REQUIRE_FALSE(out1.empty());
  for (const auto& [name, v] : out1) {
    INFO(name);
    REQUIRE(out2.count(name) == 1);
    CHECK(out2.at(name) == v);
  }
  REQUIRE(rows2.size() == rows1.size());
  return {std::move(rows1), std::move(rows2)};
}

}  // namespace xt
