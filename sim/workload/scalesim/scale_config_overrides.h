#pragma once
// A SCALE-Sim .cfg with -p overrides "section.Key=value" (keys
// case-insensitive, as in the file): an existing key's value is replaced, a
// missing key or section is added, and the result is read as the file would
// be. Errors in an overridden value, and unknown sections or keys (with a
// did-you-mean), are blamed on the command line; the others keep the file's
// line numbers. This is how `xpusim run --scalesim-cfg` and `xpusim
// validate` apply -p to a cfg (the accelerator of such a run).
#include <string>
#include <vector>

#include "sim/workload/scalesim/scale_config.h"

namespace xpu::workload::scalesim {

// Throws config::ConfigError.
ScaleSimConfig read_scale_config_with_overrides(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace xpu::workload::scalesim
