#pragma once
// Turns statistics counters into energy. Models only count; a model (or a
// per-model binding file) lists EnergyTerms saying which counter costs how
// much and where the energy is booked, and EnergyModel sums them.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/energy/energy_table.h"
#include "sim/energy/machine_energy.h"
#include "sim/stats/stats.h"

namespace xpu::energy {

// One counter priced per unit and booked to a component and an operation class.
struct EnergyTerm {
  std::string component;  // "tpu.mxu"
  std::string counter;    // full stats path, e.g. "tpu.mxu.mac.int8"
  std::string op_class;   // "mac", "sram_read", "sram_write", "dram", ...
  double pj_per_unit = 0; // per counted unit (per MAC, per byte, ...), from the helpers below
};

// One term as evaluated, kept so a report can show where every pJ came from.
struct TermEnergy {
  EnergyTerm term;
  double count = 0;
  double pj = 0;
};

struct EnergyReport {
  // Which table, at which node: every figure must say so.
  std::string table_name;
  std::string table_label;  // "horowitz_45nm @ 7 nm, 0.7 V"
  unsigned node_nm = 0;
  double vdd = 0;
  double scale = 1.0;  // on-chip energy factor relative to the measured node

  // total = dynamic (counters x the table) + static (static power x time).
  // Static energy is booked to its component under op class "static", so
  // by_component and by_component_op_class hold both kinds.
  double total_pj = 0;
  double dynamic_pj = 0;
  double static_pj = 0;
  double seconds = 0;  // the time static power was charged for
  std::vector<StaticPower> static_power;  // as charged, W
  std::map<std::string, double> by_component;
  std::map<std::string, double> by_op_class;
  std::map<std::string, std::map<std::string, double>> by_component_op_class;  // [component][op_class]
  std::vector<TermEnergy> terms;  // in the order given

  nlohmann::json to_json() const;
};

class EnergyModel {
 public:
  // `static_power`: drawn whatever the machine does, charged per second of
  // the evaluated interval. Throws std::invalid_argument on an unnamed
  // component or a negative or non-finite power.
  explicit EnergyModel(EnergyTable table, std::vector<StaticPower> static_power = {});
  const EnergyTable& table() const { return table_; }
  const std::vector<StaticPower>& static_power() const { return static_power_; }

  // Sums count x pj_per_unit over `terms` (dynamic energy) and adds static
  // power x `seconds`. A counter absent from the snapshot
  // is a std::runtime_error naming it: a zero would hide a renamed counter.
  // Throws std::invalid_argument on a term with an empty component, counter or
  // op class, a negative or non-finite pj_per_unit, or negative seconds.
  EnergyReport evaluate(const stats::Snapshot& snapshot, const std::vector<EnergyTerm>& terms,
                        double seconds = 0) const;

 private:
  EnergyTable table_;
  std::vector<StaticPower> static_power_;
};

// A dtype as named by xpu::dtype_name() ("int8", "bf16", "fp16", "fp32", "int32").
using DTypeName = std::string;

// Arithmetic energy of one multiply-accumulate: <in>_mult + <acc>_add, e.g.
// int8 in, int32 acc = int8_mult + int32_add; bf16/fp32 = bf16_mult + fp32_add.
// Operand and accumulator movement is not included: book it with separate
// register-file or SRAM terms. Throws std::invalid_argument when an integer
// input meets a floating-point accumulator or the reverse, std::out_of_range
// when the table lacks either op.
double mac_pj(const EnergyTable& table, const DTypeName& in, const DTypeName& acc);

// Energy per byte moved by SRAM accesses of `width_bits` (a multiple of 8):
// sram_access_pj(capacity, width_bits, write) / (width_bits / 8).
double sram_bytes_pj(const EnergyTable& table, uint64_t capacity_bytes, unsigned width_bits,
                     bool write);

// Energy per byte moved to or from DRAM: 8 x dram_pj_per_bit().
double dram_bytes_pj(const EnergyTable& table);

}  // namespace xpu::energy
