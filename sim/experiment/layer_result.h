#pragma once
// The one place a machine's run of a layer becomes a report row
// (report::LayerResult), for every machine kind: time, utilization, stall
// shares, energy from the counters. The value check's verdict is set by the
// caller (sim/check/).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/energy/energy_model.h"
#include "sim/report/results.h"
#include "sim/stats/stats.h"

namespace xpu::experiment {

// What a machine measured for one layer.
struct LayerRun {
  uint64_t cycles = 0;
  stats::Snapshot stats;  // this layer's counters
  // Stall cycles of one issuing unit by cause, in the machine's order (the
  // first of equal causes is the main one): the MXU's, or a GPU sub-core's
  // averaged over SMs x sub-cores. Each at most `cycles`.
  std::vector<std::pair<std::string, double>> stalls;
};

// The machine's constants a row needs.
struct MachineRates {
  double cycle_ns = 1;
  double peak_macs_per_cycle = 0;
  const energy::EnergyModel* model = nullptr;
  const std::vector<energy::EnergyTerm>* terms = nullptr;
};

// Fills the measured fields of `row` (whose name, op, shape, io, macs, fused
// and bytes the caller set) from `run`.
void fill_layer_result(report::LayerResult& row, const LayerRun& run, const MachineRates& m);

}  // namespace xpu::experiment
