#pragma once
// C++ exceptions as Python exceptions of xpusim.errors, keeping what the CLI
// prints: the located diagnostics (file, line, column, key) of a ConfigError.
// An error may cross a process boundary first (a run's worker process), so it
// is a plain record that round-trips through JSON.
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/config/diagnostics.h"

namespace xpu::python {

struct ErrorRecord {
  // A class name of xpusim.errors: ConfigError, InputError, LoweringError,
  // SweepError, IoError, InternalError.
  std::string type;
  std::string message;
  std::vector<config::Diagnostic> diagnostics;
};

// Classifies the exception the way the CLI's exit codes do.
ErrorRecord record_of(std::exception_ptr e);
nlohmann::json to_json(const ErrorRecord& r);
ErrorRecord from_json(const nlohmann::json& j);

// Sets the Python error indicator to the matching xpusim.errors exception.
void set_python_error(const ErrorRecord& r);

}  // namespace xpu::python
