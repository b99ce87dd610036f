#include "sim/config/overrides.h"

#include <algorithm>

#include "sim/config/diagnostics.h"

namespace xpu::config {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Top-level keys of workload and experiment files that no accelerator config
// has: written without their prefix they are a mistake, not an accelerator key.
const std::vector<std::string> kWorkloadKeys = {"params", "layers", "blocks", "outputs", "inputs", "dtype"};
const std::vector<std::string> kExperimentKeys = {"fidelity", "verify", "io", "seed", "precisions", "energy",
                                                  "node", "accelerators", "workloads", "sweep"};

}  // namespace

Overrides split_overrides(const std::vector<std::string>& assignments) {
  Overrides out;
  std::vector<Diagnostic> errors;
  for (const auto& a : assignments) {
    const std::string where = "command line (-p " + a + ")";
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      errors.push_back({where, 0, 0, "", "expected -p key.path=value"});
      continue;
    }
    const std::string key = a.substr(0, eq);
    if (starts_with(key, kWorkloadPrefix)) {
      out.workload.push_back(a);
      continue;
    }
    if (starts_with(key, kExperimentPrefix)) {
      out.experiment.push_back(a);
      continue;
    }
    const std::string head = key.substr(0, key.find('.'));
    const char* prefix = std::find(kWorkloadKeys.begin(), kWorkloadKeys.end(), head) != kWorkloadKeys.end()
                             ? kWorkloadPrefix
                         : std::find(kExperimentKeys.begin(), kExperimentKeys.end(), head) != kExperimentKeys.end()
                             ? kExperimentPrefix
                             : nullptr;
    if (prefix) {
      const std::string role(prefix, std::string(prefix).size() - 1);
      errors.push_back({where, 0, 0, key,
                        "'" + head + "' is a key of the " + role + " file: write -p " + prefix + a +
                            " (without a prefix, -p names accelerator config keys)"});
      continue;
    }
    out.accelerator.push_back(a);
  }
  if (!errors.empty()) throw ConfigError(errors);
  return out;
}

std::string strip_role(const std::string& assignment) {
  for (const std::string prefix : {kWorkloadPrefix, kExperimentPrefix})
    if (starts_with(assignment, prefix)) return assignment.substr(prefix.size());
  return assignment;
}

}  // namespace xpu::config
