#pragma once
// What an accelerator config says about its own energy: the technology node
// its logic is built in, the memory technology of its DRAM, and the static
// (leakage + idle clock) power of its components. Typed by
// sim/config/machine_energy.cpp from the config's `energy:` section; turned
// into a node-scaled table and static energy by sim/energy (energy_table.h,
// energy_model.h). Header-only so the config library can fill it without
// depending on the energy library.
#include <string>
#include <vector>

namespace xpu::energy {

// One component's static power: drawn for the whole run whatever the
// component does (leakage, plus the clock tree and idle logic when clocked).
struct StaticPower {
  std::string component;  // the component its dynamic energy is booked to ("tpu.mxu")
  double watts = 0;
};

// The DRAM technologies a config may name and an energy table may price.
inline const std::vector<std::string>& known_dram_technologies() {
  static const std::vector<std::string> t = {"ddr3", "ddr4", "lpddr4", "gddr5", "gddr6", "hbm2", "hbm2e"};
  return t;
}

struct MachineEnergySpec {
  unsigned node_nm = 0;        // 0: the energy table's measured node
  double vdd = 0;              // 0: the table's measured supply
  std::string dram_technology; // "": the table's default DRAM energy
  std::vector<StaticPower> static_power;  // in config order

  double static_watts() const {
    double w = 0;
    for (const auto& s : static_power) w += s.watts;
    return w;
  }
};

}  // namespace xpu::energy
