#pragma once
// Energy per operation and per access, read from a YAML table measured at one
// technology node (configs/energy/horowitz_45nm.yaml) and optionally scaled to
// another with the Stillmaker & Baas 2017 energy polynomials. Models never see
// this: they count, and sim/energy turns counts into pJ with a table.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/config/document.h"
#include "sim/energy/machine_energy.h"

namespace xpu::energy {

// One arithmetic unit at the table's measured node.
struct OpEntry {
  double pj = 0;        // energy per operation
  double area_um2 = 0;  // area of the unit
  std::string rule;     // how the value was derived when the source lacks it; "" if measured
};

// One SRAM read energy measurement.
struct SramPoint {
  uint64_t capacity_bytes = 0;
  double read_pj = 0;  // one read of sram_width_bits() bits
};

// Stillmaker & Baas energy fit for one node: factor(V) = a V^2 + b V + c.
struct NodeScaling {
  unsigned node_nm = 0;
  std::string variant;  // "hp" or "lp": the paper fits both library kinds
  double a = 0, b = 0, c = 0;
  std::string rule;     // how the row was derived when the paper lacks the node; "" if from the paper
  double factor(double vdd) const { return a * vdd * vdd + b * vdd + c; }
};

class EnergyTable {
 public:
  // Empty, for holders that load later; every accessor throws until a loaded
  // table is assigned.
  EnergyTable() = default;

  // Types a loaded document; throws config::ConfigError with every problem
  // found (file:line:col, key path), unknown keys and out-of-range values included.
  static EnergyTable from_document(const config::Document& doc);

  // Identity, for reports: "horowitz_45nm @ 7 nm, 0.7 V".
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  const std::string& file() const { return file_; }
  unsigned node_nm() const { return node_nm_; }  // the node energies are given for now
  double vdd() const { return vdd_; }
  unsigned measured_node_nm() const { return measured_node_nm_; }
  double measured_vdd() const { return measured_vdd_; }
  // factor(node, vdd) / factor(measured node, measured vdd); 1 for an unscaled table.
  double scale() const { return scale_; }
  std::string label() const;

  // Energy of one operation ("int8_mult", "int32_add", "bf16_mult", "fp32_add", ...),
  // scaled to node_nm()/vdd(). Throws std::out_of_range naming the op on an unknown name.
  double op_pj(const std::string& op) const;
  bool has_op(const std::string& op) const { return ops_.count(op) != 0; }
  std::vector<std::string> op_names() const;
  const OpEntry& op(const std::string& op) const;  // as measured, with its rule
  // Area at the measured node: the config carries no area-scaling data, so
  // area is never scaled (see area_node_nm()). Throws like op_pj.
  double area_um2(const std::string& op) const;
  unsigned area_node_nm() const { return measured_node_nm_; }

  // One access of `width_bits` to an SRAM of `capacity_bytes`:
  //   between measured points: linear in log2(capacity);
  //   below the smallest point: the first segment continued in log-log space
  //     (a power law; sqrt(capacity) for the Horowitz points), floored at sram_floor_pj();
  //   above the largest point: the last segment continued in log2(capacity);
  //   width: linear in width_bits / sram_width_bits(); write: x sram_write_to_read().
  // Throws std::invalid_argument on zero capacity or width.
  double sram_access_pj(uint64_t capacity_bytes, unsigned width_bits, bool write) const;
  unsigned sram_width_bits() const { return sram_width_bits_; }
  double sram_write_to_read() const { return sram_write_to_read_; }
  double sram_floor_pj() const { return sram_floor_pj_ * scale_; }
  const std::vector<SramPoint>& sram_points() const { return sram_points_; }  // as measured

  // A register file is charged as a small SRAM of register_file_bytes().
  double register_file_pj(unsigned width_bits, bool write) const {
    return sram_access_pj(register_file_bytes_, width_bits, write);
  }
  uint64_t register_file_bytes() const { return register_file_bytes_; }

  // Off-chip DRAM energy per bit; not scaled by with_node() (the DRAM die and
  // its interface do not follow the accelerator's logic node). The table's
  // default, or the selected technology's after with_dram().
  double dram_pj_per_bit() const { return dram_pj_per_bit_; }
  // "" for the default, else the technology with_dram() selected.
  const std::string& dram_technology() const { return dram_technology_; }
  // Energy per bit of each memory technology the table prices, with sources.
  struct DramTechnology {
    double pj_per_bit = 0;
    std::string source;
  };
  const std::map<std::string, DramTechnology>& dram_technologies() const { return dram_technologies_; }
  // The same table with DRAM priced as `technology`. Throws std::out_of_range
  // naming the known ones when the table does not price it.
  EnergyTable with_dram(const std::string& technology) const;

  // The same table at another node and supply: on-chip energies scaled by
  // factor(node_nm, vdd) / factor(measured node, measured vdd). Always relative
  // to the measured values, so with_node() calls do not compound.
  // Throws std::out_of_range for a node without coefficients and
  // std::invalid_argument for a supply outside [0.1, 2.0] V or a non-positive factor.
  EnergyTable with_node(unsigned node_nm, double vdd) const;
  // True once with_node() chose the node (an experiment's `node:`): a
  // machine's own node then does not apply (table_for_machine).
  bool node_forced() const { return node_forced_; }
  // The raw polynomial (not normalised). Throws like with_node.
  double node_factor(unsigned node_nm, double vdd) const;
  const std::map<unsigned, NodeScaling>& node_scaling() const { return nodes_; }
  const std::string& node_scaling_source() const { return node_scaling_source_; }

  // The `rule:` texts of the sram, register_file and dram sections, by section
  // ("" where the table gives none); an op's rule is in op(name).rule.
  const std::map<std::string, std::string>& notes() const { return notes_; }

  // Name, node, supply, scale and sources: what a report prints next to pJ.
  nlohmann::json to_json() const;

 private:
  friend EnergyTable table_for_machine(const EnergyTable& base, const MachineEnergySpec& spec);
  std::string name_;
  std::string source_;
  std::string file_;
  unsigned measured_node_nm_ = 0;
  double measured_vdd_ = 0;
  unsigned node_nm_ = 0;
  double vdd_ = 0;
  double scale_ = 1.0;
  std::map<std::string, OpEntry> ops_;
  unsigned sram_width_bits_ = 64;
  double sram_write_to_read_ = 1.0;
  double sram_floor_pj_ = 0;
  std::vector<SramPoint> sram_points_;
  uint64_t register_file_bytes_ = 0;
  double dram_pj_per_bit_ = 0;
  std::string dram_technology_;
  std::map<std::string, DramTechnology> dram_technologies_;
  bool node_forced_ = false;
  std::map<unsigned, NodeScaling> nodes_;
  std::string node_scaling_source_;
  std::map<std::string, std::string> notes_;
};

// The table a machine's energy is priced with: scaled to the machine's node
// and supply (unless the table's node was forced), DRAM priced as the
// machine's memory technology. Throws like with_node() and with_dram().
EnergyTable table_for_machine(const EnergyTable& base, const MachineEnergySpec& spec);

// Loads `path`, applies "-p key.path=value" style overrides to the tree, and
// types it. Throws config::ConfigError listing every problem.
EnergyTable load_energy_table(const std::string& path,
                              const std::vector<std::string>& overrides = {});

}  // namespace xpu::energy
