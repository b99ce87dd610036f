#pragma once
// `xpusim validate`: type-checks any xpusim input file, by its format
// (workload/input_format.h) and, for YAML, by its `kind:` (machine kinds from
// experiment/machine_registry.h), and returns every problem found
// (referenced files of an experiment included).
#include <string>
#include <vector>

#include "sim/config/diagnostics.h"
#include "sim/config/overrides.h"

namespace xpu::cli {

// Which kinds of file took the -p overrides of their role (overrides.h).
struct OverrideUse {
  bool accelerator = false, workload = false, experiment = false;
};

// `overrides`: the -p assignments as given; each reaches the files of its
// role (an experiment's accelerators and workloads included).
std::vector<config::Diagnostic> validate_file(const std::string& path, const std::vector<std::string>& overrides,
                                              OverrideUse* used = nullptr);

// One error per role whose overrides no validated file took.
std::vector<config::Diagnostic> unused_overrides(const config::Overrides& ov, const OverrideUse& used);

}  // namespace xpu::cli
