#include "sim/energy/energy_table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "sim/config/reader.h"
#include "sim/energy/machine_energy.h"

namespace xpu::energy {

namespace {

// Fixed, so a misspelt op in a table is reported (with a hint) instead of
// becoming an op nobody asks for. Add a name here to extend the schema.
const std::vector<std::string>& known_ops() {
  static const std::vector<std::string> ops = {
      "int8_add",  "int16_add",  "int32_add",  "int8_mult", "int16_mult", "int32_mult",
      "fp16_add",  "fp16_mult",  "bf16_add",   "bf16_mult", "fp32_add",   "fp32_mult"};
  return ops;
}

// Sanity bounds on a supply voltage, not the fits' validity range.
constexpr double kMinVdd = 0.1;
constexpr double kMaxVdd = 2.0;

std::string format_number(double v) {
  std::ostringstream os;
  os << std::setprecision(6) << v;
  return os.str();
}

// A missing (or non-mapping) required section is one diagnostic, not one per
// key inside it: Reader::map would hand back an empty reader whose getters
// each report their key as missing.
bool mapping_present(config::Reader& r, const std::string& key) {
  if (r.has(key) && r.node(key).IsMap()) return true;
  r.map(key);  // records "missing required key" or "expected a mapping"
  return false;
}

bool parse_node_name(const std::string& s, unsigned& out) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  out = static_cast<unsigned>(std::stoul(s));
  return out >= 1;
}

}  // namespace

EnergyTable EnergyTable::from_document(const config::Document& doc) {
  config::Diagnostics diags;
  EnergyTable t;
  t.file_ = doc.file();
  {
    config::Reader r(doc, diags);
    r.choice("kind", {"energy_table"});
    t.name_ = r.string("name");
    if (r.has("name") && t.name_.empty()) r.error("name", "must not be empty");
    t.source_ = r.string("source");
    t.measured_node_nm_ = static_cast<unsigned>(r.integer("node_nm", std::nullopt, 1, 1000));
    t.measured_vdd_ = r.number("vdd", std::nullopt, kMinVdd, kMaxVdd);

    if (mapping_present(r, "ops")) {
      config::Reader ops = r.map("ops");
      for (const auto& name : known_ops()) {
        if (!mapping_present(ops, name)) continue;
        config::Reader o = ops.map(name);
        OpEntry e;
        e.pj = o.number("pj", std::nullopt, 1e-6, 1e4);
        e.area_um2 = o.number("area_um2", std::nullopt, 0.0, 1e9);
        e.rule = o.string("rule", "");
        t.ops_[name] = e;
      }
    }

    if (mapping_present(r, "sram")) {
      config::Reader s = r.map("sram");
      t.sram_width_bits_ = static_cast<unsigned>(s.positive("width_bits", std::nullopt, 65536));
      std::vector<config::Reader> pts = s.map_list("points");
      for (auto& p : pts) {
        SramPoint sp;
        sp.capacity_bytes = p.bytes("capacity");
        sp.read_pj = p.number("read_pj", std::nullopt, 1e-6, 1e6);
        if (p.has("capacity") && sp.capacity_bytes == 0) {
          p.error("capacity", "must be > 0 bytes");
          continue;
        }
        if (!t.sram_points_.empty()) {
          const SramPoint& prev = t.sram_points_.back();
          // Interpolation needs a strictly increasing capacity axis, and an
          // array that shrinks in energy as it grows would be a typo.
          if (sp.capacity_bytes <= prev.capacity_bytes) {
            p.error("capacity", "capacities must increase from point to point (" +
                                    std::to_string(sp.capacity_bytes) + " B follows " +
                                    std::to_string(prev.capacity_bytes) + " B)");
            continue;
          }
          if (sp.read_pj < prev.read_pj) {
            p.error("read_pj", "a larger SRAM cannot cost less per access (" +
                                   format_number(sp.read_pj) + " pJ follows " +
                                   format_number(prev.read_pj) + " pJ)");
            continue;
          }
        }
        t.sram_points_.push_back(sp);
      }
      if (s.has("points") && pts.size() < 2)
        s.error("points", "need at least 2 points to interpolate between");
      t.sram_write_to_read_ = s.number("write_to_read", std::nullopt, 0.0, 10.0);
      t.sram_floor_pj_ = s.number("floor_pj", std::nullopt, 0.0, 1e6);
      if (!t.sram_points_.empty() && t.sram_floor_pj_ > t.sram_points_.front().read_pj)
        s.error("floor_pj", "the floor (" + format_number(t.sram_floor_pj_) +
                                " pJ) is above the smallest measured point (" +
                                format_number(t.sram_points_.front().read_pj) +
                                " pJ) and would override measurements");
      t.notes_["sram"] = s.string("rule", "");
    }

    if (mapping_present(r, "register_file")) {
      config::Reader rf = r.map("register_file");
      t.register_file_bytes_ = rf.bytes("capacity");
      if (rf.has("capacity") && t.register_file_bytes_ == 0) rf.error("capacity", "must be > 0 bytes");
      t.notes_["register_file"] = rf.string("rule", "");
    }

    if (mapping_present(r, "dram")) {
      config::Reader d = r.map("dram");
      t.dram_pj_per_bit_ = d.number("pj_per_bit", std::nullopt, 1e-3, 1e4);
      t.notes_["dram"] = d.string("rule", "");
      if (d.has("technologies")) {
        config::Reader techs = d.map("technologies");
        const auto& known = known_dram_technologies();
        for (const auto& key : techs.keys()) {
          if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string msg = "unknown memory technology '" + key + "'";
            const std::string hint = config::did_you_mean(key, known);
            if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
            techs.error(key, msg);
            continue;
          }
          if (!mapping_present(techs, key)) continue;
          config::Reader tr = techs.map(key);
          DramTechnology dt;
          dt.pj_per_bit = tr.number("pj_per_bit", std::nullopt, 1e-3, 1e4);
          dt.source = tr.string("source");
          t.dram_technologies_[key] = dt;
        }
      }
    }

    if (mapping_present(r, "node_scaling")) {
      config::Reader ns = r.map("node_scaling");
      t.node_scaling_source_ = ns.string("source");
      config::Reader nodes = ns.map("nodes");
      for (const auto& key : nodes.keys()) {
        unsigned nm = 0;
        if (!parse_node_name(key, nm)) {
          nodes.error(key, "a node is named by its size in nm, e.g. \"7\"");
          continue;
        }
        if (!mapping_present(nodes, key)) continue;
        config::Reader n = nodes.map(key);
        NodeScaling c;
        c.node_nm = nm;
        c.variant = n.choice("variant", {"hp", "lp"});
        c.a = n.number("a");
        c.b = n.number("b");
        c.c = n.number("c");
        c.rule = n.string("rule", "");
        if (!t.nodes_.emplace(nm, c).second) nodes.error(key, "node " + key + " nm is listed twice");
      }
      if (ns.has("nodes") && t.nodes_.empty()) ns.error("nodes", "need at least the table's own node");
    }

    // Scaling is relative to the measured point, so it must be computable there.
    if (t.measured_node_nm_ > 0 && !t.nodes_.empty()) {
      auto it = t.nodes_.find(t.measured_node_nm_);
      if (it == t.nodes_.end()) {
        r.error("node_nm", "no node_scaling.nodes entry for the table's own node (" +
                               std::to_string(t.measured_node_nm_) + " nm)");
      } else if (!(it->second.factor(t.measured_vdd_) > 0)) {
        r.error("vdd", "the node_scaling polynomial for " + std::to_string(t.measured_node_nm_) +
                           " nm is not positive at " + format_number(t.measured_vdd_) + " V");
      }
    }
    r.finish();
  }
  diags.throw_if_any();
  t.node_nm_ = t.measured_node_nm_;
  t.vdd_ = t.measured_vdd_;
  t.scale_ = 1.0;
  return t;
}

std::string EnergyTable::label() const {
  std::string l = name_ + " @ " + std::to_string(node_nm_) + " nm, " + format_number(vdd_) + " V";
  if (!dram_technology_.empty()) l += ", DRAM " + dram_technology_;
  return l;
}

std::vector<std::string> EnergyTable::op_names() const {
  std::vector<std::string> out;
  for (const auto& kv : ops_) out.push_back(kv.first);
  return out;
}

const OpEntry& EnergyTable::op(const std::string& op) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) {
    const std::vector<std::string> names = op_names();
    std::string msg = "energy table '" + name_ + "' has no op '" + op + "'";
    const std::string hint = config::did_you_mean(op, names);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    msg += "; known ops:";
    for (const auto& n : names) msg += " " + n;
    throw std::out_of_range(msg);
  }
  return it->second;
}

double EnergyTable::op_pj(const std::string& name) const { return op(name).pj * scale_; }

double EnergyTable::area_um2(const std::string& name) const { return op(name).area_um2; }

double EnergyTable::sram_access_pj(uint64_t capacity_bytes, unsigned width_bits, bool write) const {
  if (capacity_bytes == 0) throw std::invalid_argument("sram_access_pj: capacity must be > 0 bytes");
  if (width_bits == 0) throw std::invalid_argument("sram_access_pj: width must be > 0 bits");
  if (sram_points_.size() < 2)
    throw std::logic_error("sram_access_pj: energy table '" + name_ + "' has no SRAM points (not loaded?)");
  const std::vector<SramPoint>& p = sram_points_;
  const double cap = static_cast<double>(capacity_bytes);
  double e = 0;
  if (capacity_bytes < p.front().capacity_bytes) {
    // First segment's log-log slope: a power law through the first point.
    const double c0 = static_cast<double>(p[0].capacity_bytes);
    const double c1 = static_cast<double>(p[1].capacity_bytes);
    const double k = std::log(p[1].read_pj / p[0].read_pj) / std::log(c1 / c0);
    e = p[0].read_pj * std::pow(cap / c0, k);
  } else {
    // The segment holding the capacity, or the last one beyond the last point.
    size_t i = 0;
    while (i + 2 < p.size() && capacity_bytes > p[i + 1].capacity_bytes) ++i;
    const double x0 = std::log2(static_cast<double>(p[i].capacity_bytes));
    const double x1 = std::log2(static_cast<double>(p[i + 1].capacity_bytes));
    e = p[i].read_pj + (p[i + 1].read_pj - p[i].read_pj) * (std::log2(cap) - x0) / (x1 - x0);
  }
  e = std::max(e, sram_floor_pj_);
  e *= static_cast<double>(width_bits) / static_cast<double>(sram_width_bits_);
  if (write) e *= sram_write_to_read_;
  return e * scale_;
}

double EnergyTable::node_factor(unsigned node_nm, double vdd) const {
  if (!(vdd >= kMinVdd && vdd <= kMaxVdd))
    throw std::invalid_argument("energy table '" + name_ + "': supply " + format_number(vdd) +
                                " V is outside [" + format_number(kMinVdd) + ", " +
                                format_number(kMaxVdd) + "] V");
  auto it = nodes_.find(node_nm);
  if (it == nodes_.end()) {
    std::string have;
    for (const auto& kv : nodes_) have += (have.empty() ? "" : ", ") + std::to_string(kv.first);
    throw std::out_of_range("energy table '" + name_ + "' has no node_scaling coefficients for " +
                            std::to_string(node_nm) + " nm (have: " + have + " nm)");
  }
  const double f = it->second.factor(vdd);
  if (!(f > 0))
    throw std::invalid_argument("energy table '" + name_ + "': the " + std::to_string(node_nm) +
                                " nm energy polynomial is not positive at " + format_number(vdd) +
                                " V");
  return f;
}

EnergyTable EnergyTable::with_node(unsigned node_nm, double vdd) const {
  const double f = node_factor(node_nm, vdd);
  const double f0 = node_factor(measured_node_nm_, measured_vdd_);
  EnergyTable t = *this;
  t.node_nm_ = node_nm;
  t.vdd_ = vdd;
  t.scale_ = f / f0;
  t.node_forced_ = true;
  return t;
}

EnergyTable EnergyTable::with_dram(const std::string& technology) const {
  auto it = dram_technologies_.find(technology);
  if (it == dram_technologies_.end()) {
    std::string have;
    for (const auto& kv : dram_technologies_) have += (have.empty() ? "" : ", ") + kv.first;
    throw std::out_of_range("energy table '" + name_ + "' prices no DRAM technology '" + technology +
                            "' (has: " + (have.empty() ? "none" : have) + ")");
  }
  EnergyTable t = *this;
  t.dram_pj_per_bit_ = it->second.pj_per_bit;
  t.dram_technology_ = technology;
  return t;
}

EnergyTable table_for_machine(const EnergyTable& base, const MachineEnergySpec& spec) {
  EnergyTable t = base;
  if (!base.node_forced() && spec.node_nm > 0) {
    t = base.with_node(spec.node_nm, spec.vdd > 0 ? spec.vdd : base.measured_vdd());
    t.node_forced_ = false;  // chosen by the machine, not forced on it
  }
  if (!spec.dram_technology.empty()) t = t.with_dram(spec.dram_technology);
  return t;
}

nlohmann::json EnergyTable::to_json() const {
  nlohmann::json j;
  j["name"] = name_;
  j["label"] = label();
  j["file"] = file_;
  j["source"] = source_;
  j["node_nm"] = node_nm_;
  j["vdd"] = vdd_;
  j["measured_node_nm"] = measured_node_nm_;
  j["measured_vdd"] = measured_vdd_;
  j["scale"] = scale_;
  j["node_scaling_source"] = node_scaling_source_;
  j["dram_scaled"] = false;
  j["dram_pj_per_bit"] = dram_pj_per_bit_;
  j["dram_technology"] = dram_technology_.empty() ? "default" : dram_technology_;
  j["area_node_nm"] = measured_node_nm_;
  return j;
}

EnergyTable load_energy_table(const std::string& path, const std::vector<std::string>& overrides) {
  config::Document doc = config::Document::load(path);
  doc.apply_overrides(overrides);
  return EnergyTable::from_document(doc);
}

}  // namespace xpu::energy
