#include "sim/energy/energy_model.h"

#include <cmath>
#include <stdexcept>

#include "sim/config/diagnostics.h"

namespace xpu::energy {

namespace {

std::string describe(const EnergyTerm& t) {
  return "counter '" + t.counter + "' (component '" + t.component + "', op class '" + t.op_class +
         "')";
}

void check_term(const EnergyTerm& t) {
  if (t.component.empty() || t.counter.empty() || t.op_class.empty())
    throw std::invalid_argument("energy term for " + describe(t) +
                                ": component, counter and op class must all be named");
  if (!std::isfinite(t.pj_per_unit) || t.pj_per_unit < 0)
    throw std::invalid_argument("energy term for " + describe(t) +
                                ": pj_per_unit must be finite and >= 0");
}

bool is_integer_dtype(const DTypeName& t) { return t.rfind("int", 0) == 0; }

}  // namespace

EnergyModel::EnergyModel(EnergyTable table, std::vector<StaticPower> static_power)
    : table_(std::move(table)), static_power_(std::move(static_power)) {
  for (const auto& s : static_power_)
    if (s.component.empty() || !std::isfinite(s.watts) || s.watts < 0)
      throw std::invalid_argument("static power of component '" + s.component +
                                  "': needs a name and a finite power >= 0 W");
}

EnergyReport EnergyModel::evaluate(const stats::Snapshot& snapshot,
                                   const std::vector<EnergyTerm>& terms, double seconds) const {
  if (!std::isfinite(seconds) || seconds < 0)
    throw std::invalid_argument("energy: the interval must be finite and >= 0 s");
  EnergyReport rep;
  rep.table_name = table_.name();
  rep.table_label = table_.label();
  rep.node_nm = table_.node_nm();
  rep.vdd = table_.vdd();
  rep.scale = table_.scale();
  for (const auto& t : terms) {
    check_term(t);
    if (!snapshot.has(t.counter)) {
      std::string msg = "energy: " + describe(t) + " is not in the statistics snapshot";
      std::vector<std::string> paths;
      for (const auto& e : snapshot.entries()) paths.push_back(e.path);
      const std::string hint = config::did_you_mean(t.counter, paths);
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      throw std::runtime_error(msg);
    }
    TermEnergy te{t, snapshot.get(t.counter), 0.0};
    te.pj = te.count * t.pj_per_unit;
    rep.total_pj += te.pj;
    rep.by_component[t.component] += te.pj;
    rep.by_op_class[t.op_class] += te.pj;
    rep.by_component_op_class[t.component][t.op_class] += te.pj;
    rep.terms.push_back(std::move(te));
  }
  rep.dynamic_pj = rep.total_pj;
  rep.seconds = seconds;
  rep.static_power = static_power_;
  for (const auto& s : static_power_) {
    const double pj = s.watts * seconds * 1e12;
    rep.static_pj += pj;
    rep.by_component[s.component] += pj;
    rep.by_op_class["static"] += pj;
    rep.by_component_op_class[s.component]["static"] += pj;
  }
  rep.total_pj = rep.dynamic_pj + rep.static_pj;
  return rep;
}

nlohmann::json EnergyReport::to_json() const {
  nlohmann::json j;
  j["table"] = {{"name", table_name}, {"label", table_label}, {"node_nm", node_nm},
                {"vdd", vdd},         {"scale", scale}};
  j["unit"] = "pJ";
  j["total_pj"] = total_pj;
  j["dynamic_pj"] = dynamic_pj;
  j["static_pj"] = static_pj;
  j["seconds"] = seconds;
  nlohmann::json sp = nlohmann::json::array();
  for (const auto& s : static_power)
    sp.push_back({{"component", s.component}, {"watts", s.watts}, {"pj", s.watts * seconds * 1e12}});
  j["static_power"] = sp;
  j["by_component"] = by_component;
  j["by_op_class"] = by_op_class;
  j["by_component_op_class"] = by_component_op_class;
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : terms) {
    ts.push_back({{"component", t.term.component},
                  {"counter", t.term.counter},
                  {"op_class", t.term.op_class},
                  {"count", t.count},
                  {"pj_per_unit", t.term.pj_per_unit},
                  {"pj", t.pj}});
  }
  j["terms"] = ts;
  return j;
}

double mac_pj(const EnergyTable& table, const DTypeName& in, const DTypeName& acc) {
  // A product is accumulated in its own number family; anything else is a
  // binding mistake, not a datapath.
  if (is_integer_dtype(in) != is_integer_dtype(acc))
    throw std::invalid_argument("mac_pj: " + in + " products cannot accumulate in " + acc);
  return table.op_pj(in + "_mult") + table.op_pj(acc + "_add");
}

double sram_bytes_pj(const EnergyTable& table, uint64_t capacity_bytes, unsigned width_bits,
                     bool write) {
  if (width_bits == 0 || width_bits % 8 != 0)
    throw std::invalid_argument("sram_bytes_pj: width " + std::to_string(width_bits) +
                                " bits is not a whole number of bytes");
  return table.sram_access_pj(capacity_bytes, width_bits, write) / (width_bits / 8);
}

double dram_bytes_pj(const EnergyTable& table) { return 8.0 * table.dram_pj_per_bit(); }

}  // namespace xpu::energy
