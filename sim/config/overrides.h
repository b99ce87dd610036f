#pragma once
// `-p` overrides on the command line, sorted by the file they name:
//   -p mxu.rows=128                  an accelerator config (every accelerator of
//                                    the run; for --scalesim-cfg the .cfg, as
//                                    -p architecture_presets.ArrayHeight=64)
//   -p workload.params.batch=16      every workload file of the run
//   -p experiment.fidelity=timing    the experiment or sweep file itself
// A key
// that the named file does not know is an error there (with a did-you-mean),
// so no override is ever silently ignored.
#include <string>
#include <vector>

namespace xpu::config {

// Each list keeps the assignments as written (with their role prefix, so
// errors quote them as typed); Document::apply_override removes the prefix.
struct Overrides {
  std::vector<std::string> accelerator;  // "mxu.rows=128"
  std::vector<std::string> workload;     // "workload.params.batch=16"
  std::vector<std::string> experiment;   // "experiment.fidelity=timing"
  bool empty() const { return accelerator.empty() && workload.empty() && experiment.empty(); }
};

inline constexpr const char* kWorkloadPrefix = "workload.";
inline constexpr const char* kExperimentPrefix = "experiment.";

// Throws ConfigError (blamed on the command line) for an assignment without
// '=' or a key that belongs to a workload or experiment but lacks its prefix
// (-p params.batch=8, -p fidelity=pe), with the corrected form.
Overrides split_overrides(const std::vector<std::string>& assignments);

// The assignment without its role prefix: "workload.params.batch=16" ->
// "params.batch=16"; others unchanged.
std::string strip_role(const std::string& assignment);

}  // namespace xpu::config
