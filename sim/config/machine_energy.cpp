#include "sim/config/machine_energy.h"

#include <algorithm>

#include "sim/config/diagnostics.h"

namespace xpu::config {

energy::MachineEnergySpec read_machine_energy(Reader& root, const std::string& prefix,
                                              const std::vector<std::string>& components) {
  energy::MachineEnergySpec s;
  Reader e = root.map("energy", false);
  // Same bounds as the energy table's node keys and supplies; 0 = the table's own.
  s.node_nm = static_cast<unsigned>(e.integer("node_nm", 0, 0, 1000));
  s.vdd = e.number("vdd", 0.0, 0.0, 2.0);
  if (s.vdd > 0 && s.vdd < 0.1) e.error("vdd", "a supply below 0.1 V is not a CMOS operating point");
  if (s.vdd > 0 && s.node_nm == 0) e.error("vdd", "a supply needs node_nm as well");
  // "default": the table's own DRAM figure.
  std::vector<std::string> techs = {"default"};
  for (const auto& t : energy::known_dram_technologies()) techs.push_back(t);
  s.dram_technology = e.choice("dram", techs, std::string("default"));
  if (s.dram_technology == "default") s.dram_technology.clear();
  Reader w = e.map("static_w", false);
  for (const auto& key : w.keys()) {
    if (std::find(components.begin(), components.end(), key) == components.end()) {
      std::string msg = "unknown component '" + key + "'";
      const std::string hint = did_you_mean(key, components);
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      msg += "; components:";
      for (const auto& c : components) msg += " " + c;
      w.error(key, msg);
      continue;
    }
    s.static_power.push_back({prefix + "." + key, w.number(key, std::nullopt, 0.0, 1e5)});
  }
  return s;
}

}  // namespace xpu::config
