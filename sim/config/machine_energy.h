#pragma once
// YAML -> energy::MachineEnergySpec: the optional `energy:` section every
// accelerator config may carry (TPU and GPU alike):
//   energy:
//     node_nm: 28            # logic node the table is scaled to (Stillmaker & Baas)
//     vdd: 0.9               # supply at that node (volts)
//     dram: ddr3             # memory technology: picks the DRAM pJ/bit of the table
//     static_w:              # static (leakage + idle clock) power per component, W
//       mxu: 6.7             # booked to "<prefix>.mxu"
//       ...
// Component names are checked against the machine's list (a typo would
// otherwise book energy to a component nobody reports).
#include <string>
#include <vector>

#include "sim/config/reader.h"
#include "sim/energy/machine_energy.h"

namespace xpu::config {

// Reads `energy:` under `root` (absent: an empty spec, the table as measured
// and no static power). `components` are the names allowed under static_w,
// booked as prefix + "." + name. Records problems in the reader's diagnostics.
energy::MachineEnergySpec read_machine_energy(Reader& root, const std::string& prefix,
                                              const std::vector<std::string>& components);

}  // namespace xpu::config
