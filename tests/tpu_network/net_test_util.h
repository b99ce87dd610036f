#pragma once
// Helpers for the network tests: YAML workloads from strings, a TPU backend
// on a shipped config, and checks over per-layer results.
#include <string>
#include <vector>

#include "sim/config/document.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/workload/workload.h"

namespace xpu::test {

inline std::string src(const std::string& rel) { return std::string(XPUSIM_SOURCE_DIR) + "/" + rel; }

inline workload::Workload parse_net(const std::string& text) {
  config::Document doc = config::Document::parse(text, "net.yaml");
  config::Diagnostics diags;
  workload::Workload w;
  {
    config::Reader root(doc, diags);
    w = workload::parse_workload(root);
  }
  diags.throw_if_any();
  return w;
}

inline std::unique_ptr<experiment::Backend> tpu_backend(const std::string& name,
                                                        const std::vector<std::string>& overrides = {}) {
  const auto table = energy::EnergyTable::from_document(config::Document::load(src("configs/energy/horowitz_45nm.yaml")));
  return experiment::make_tpu_backend(config::load_tpu_config(src("configs/accelerators/" + name + ".yaml"), overrides),
                                      table, "acc");
}

inline bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace xpu::test
