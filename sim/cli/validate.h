#pragma once
// `xpusim validate`: type-checks any xpusim input file, by its format
// (workload/input_format.h) and, for YAML, by its `kind:` (machine kinds from
// experiment/machine_registry.h), and returns every problem found
// (referenced files of an experiment included).
#include <string>
#include <vector>

#include "sim/config/diagnostics.h"

namespace xpu::cli {

std::vector<config::Diagnostic> validate_file(const std::string& path,
                                              const std::vector<std::string>& overrides);

}  // namespace xpu::cli
