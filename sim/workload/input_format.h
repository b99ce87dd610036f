#pragma once
// Every input file format xpusim reads, in one table (input_format.cpp), by
// file extension, case-insensitive: xpusim YAML (a document dispatched by
// its `kind:`), ONNX models, SCALE-Sim topology CSVs and SCALE-Sim .cfg
// files. load_workload(), `xpusim validate` and `xpusim run` look formats up
// here; an unknown extension is an error naming the known ones. A new format
// is one entry in that table plus its reader.
#include <functional>
#include <string>
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload {

struct InputFormat {
  std::string name;                     // "ONNX model"
  std::vector<std::string> extensions;  // lower case, with the dot: ".onnx"
  // An xpusim YAML document: what it holds is decided by its `kind:`
  // (workload, accelerator, experiment, ...), not by the format.
  bool yaml = false;
  // Reads the file as a workload with -p overrides; throws
  // config::ConfigError. Empty for a format that describes a machine.
  std::function<Workload(const std::string& path, const std::vector<std::string>& overrides)> load;
  // Checks a file of this format completely (`xpusim validate`); throws
  // config::ConfigError. Empty for yaml formats (checked by their kind).
  std::function<void(const std::string& path, const std::vector<std::string>& overrides)> check;
  // How to use a file of this format that is not a workload ("" if it is).
  std::string usage;
};

const std::vector<InputFormat>& input_formats();
// By the path's extension, case-insensitive; nullptr when none matches.
const InputFormat* find_input_format(const std::string& path);
// Throws config::ConfigError naming the file and the known extensions.
const InputFormat& input_format_of(const std::string& path);
// ".yaml, .yml, .onnx, .csv, .json, .cfg"
std::string known_extensions();

}  // namespace xpu::workload
