// Loads a workload written inline in a test: the loader reads files (its
// errors name the file and line), so the text goes through a per-process
// temp file first.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include "sim/workload/workload.h"
#include "tests/temp_path.h"

namespace xpu_test {

inline xpu::workload::Workload workload_from_text(const std::string& name, const std::string& text) {
  const std::string path = tmp_prefix() + "workload_" + name + ".yaml";
  {
    std::ofstream f(path);
    f << text;
  }
  xpu::workload::Workload w = xpu::workload::load_workload(path);
  std::remove(path.c_str());
  return w;
}

}  // namespace xpu_test
