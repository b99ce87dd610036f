// Static power x time next to dynamic energy; DRAM energy by memory
// technology; a machine's own node; the `energy:` section of accelerator configs.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "sim/config/diagnostics.h"
#include "sim/config/gpu_config.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/stats/stats.h"

using namespace xpu;
using Catch::Matchers::Contains;

namespace {

const std::string kSrc = XPUSIM_SOURCE_DIR;

const energy::EnergyTable& horowitz() {
  static const energy::EnergyTable t = energy::load_energy_table(kSrc + "/configs/energy/horowitz_45nm.yaml");
  return t;
}

double sum_watts(const energy::MachineEnergySpec& s) { return s.static_watts(); }

// A TPU config file holding `energy_section` after the kind line.
std::string write_tpu_config(const std::string& energy_section) {
  static int n = 0;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("xpusim_energy_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".yaml"))
                               .string();
  std::ofstream(path) << "kind: tpu\n" << energy_section;
  return path;
}

}  // namespace

TEST_CASE("static energy: power x time, booked per component as op class static", "[energy][static]") {
  stats::Group tpu("tpu");
  tpu.child("mxu").counter("mac.int8", stats::Unit::ops, "int8 MACs").add(1000);
  const energy::EnergyModel model(horowitz(), {{"tpu.mxu", 3.0}, {"tpu.other", 1.0}});
  const std::vector<energy::EnergyTerm> terms = {{"tpu.mxu", "tpu.mxu.mac.int8", "mac", 0.3}};
  const energy::EnergyReport r = model.evaluate(tpu.snapshot(), terms, 2e-3);
  // Dynamic: 1000 MACs x 0.3 pJ = 300 pJ.
  CHECK(r.dynamic_pj == Approx(300));
  // Static: (3 W + 1 W) x 2 ms = 8 mJ = 8e9 pJ.
  CHECK(r.static_pj == Approx(8e9));
  CHECK(r.total_pj == Approx(8e9 + 300));
  // The MXU holds its MACs and 3 W x 2 ms = 6e9 pJ; "other" only static.
  CHECK(r.by_component.at("tpu.mxu") == Approx(6e9 + 300));
  CHECK(r.by_component_op_class.at("tpu.mxu").at("static") == Approx(6e9));
  CHECK(r.by_component.at("tpu.other") == Approx(2e9));
  CHECK(r.by_op_class.at("static") == Approx(8e9));
  CHECK(r.to_json()["static_pj"].get<double>() == Approx(8e9));
  // No time, no static energy (the default for callers that price counters only).
  CHECK(model.evaluate(tpu.snapshot(), terms).static_pj == 0);
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), terms, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(energy::EnergyModel(horowitz(), {{"tpu.mxu", -1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(energy::EnergyModel(horowitz(), {{"", 1.0}}), std::invalid_argument);
}

TEST_CASE("dram energy by memory technology", "[energy][dram]") {
  const auto& t = horowitz();
  // Default (no technology named): 20 pJ/bit, DDR3-like (Horowitz 640 pJ / 32 bit).
  CHECK(t.dram_pj_per_bit() == Approx(20));
  CHECK(t.dram_technology().empty());
  // HBM2: 3.97 pJ/bit (O'Connor et al., MICRO 2017) -> 31.76 pJ per byte.
  const energy::EnergyTable hbm = t.with_dram("hbm2");
  CHECK(hbm.dram_pj_per_bit() == Approx(3.97));
  CHECK(energy::dram_bytes_pj(hbm) == Approx(31.76));
  CHECK_THAT(hbm.label(), Contains("DRAM hbm2"));
  // GDDR5: 14 pJ/bit (same source); DDR3: 20.
  CHECK(t.with_dram("gddr5").dram_pj_per_bit() == Approx(14));
  CHECK(t.with_dram("ddr3").dram_pj_per_bit() == Approx(20));
  // Every technology a config may name is priced, each with a source.
  for (const auto& name : energy::known_dram_technologies()) {
    INFO(name);
    REQUIRE(t.dram_technologies().count(name) == 1);
    CHECK_FALSE(t.dram_technologies().at(name).source.empty());
  }
  CHECK_THROWS_AS(t.with_dram("ddr9"), std::out_of_range);
  // DRAM is not scaled with the logic node.
  CHECK(t.with_dram("hbm2").with_node(7, 0.7).dram_pj_per_bit() == Approx(3.97));
}

TEST_CASE("node 28 nm: interpolated between the paper's 32 and 20 nm fits", "[energy][node]") {
  const auto& t = horowitz();
  // 28 nm row: a = 0.7050, b = -0.3557, c = 0.1334; at 0.9 V:
  // 0.7050 x 0.81 - 0.3557 x 0.9 + 0.1334 = 0.571050 - 0.320130 + 0.1334 = 0.384320.
  CHECK(t.node_factor(28, 0.9) == Approx(0.384320));
  // Between 32 nm (0.8367 x 0.81 - 0.4341 x 0.9 + 0.1701 = 0.457137) and
  // 20 nm (0.373 x 0.81 - 0.1582 x 0.9 + 0.04104 = 0.200790).
  CHECK(t.node_factor(32, 0.9) == Approx(0.457137));
  CHECK(t.node_factor(20, 0.9) == Approx(0.200790));
  CHECK_FALSE(t.node_scaling().at(28).rule.empty());
  // Relative to the measured 45 nm lp at 0.9 V (1.103 x 0.81 - 0.362 x 0.9 +
  // 0.2767 = 0.844330): int8_mult 0.2 pJ x 0.384320 / 0.844330 = 0.091035 pJ.
  CHECK(t.with_node(28, 0.9).op_pj("int8_mult") == Approx(0.2 * 0.384320 / 0.844330));
}

TEST_CASE("table for a machine: its own node and DRAM unless the experiment forces a node", "[energy][node]") {
  const auto& t = horowitz();
  energy::MachineEnergySpec spec;
  spec.node_nm = 16;
  spec.vdd = 0.8;
  spec.dram_technology = "hbm2";
  const energy::EnergyTable m = energy::table_for_machine(t, spec);
  CHECK(m.node_nm() == 16);
  CHECK(m.vdd() == 0.8);
  CHECK(m.dram_pj_per_bit() == Approx(3.97));
  CHECK_FALSE(m.node_forced());
  // An experiment's `node:` (with_node on the shared table) applies to every
  // machine: the machine keeps only its DRAM technology.
  const energy::EnergyTable forced = energy::table_for_machine(t.with_node(7, 0.7), spec);
  CHECK(forced.node_nm() == 7);
  CHECK(forced.dram_pj_per_bit() == Approx(3.97));
  // An empty spec is the table as given.
  const energy::EnergyTable same = energy::table_for_machine(t, energy::MachineEnergySpec{});
  CHECK(same.node_nm() == 45);
  CHECK(same.dram_pj_per_bit() == Approx(20));
}

TEST_CASE("accelerator configs: the energy section of the shipped machines", "[energy][config]") {
  const tpu::TpuConfig v1 = config::load_tpu_config(kSrc + "/configs/accelerators/tpu_v1.yaml");
  CHECK(v1.energy.node_nm == 28);
  CHECK(v1.energy.dram_technology == "ddr3");
  // ISCA'17 Table 2: 28 W idle per die, split over seven components.
  CHECK(sum_watts(v1.energy) == Approx(28.0));
  CHECK(v1.energy.static_power.size() == 7);
  CHECK(v1.energy.static_power.front().component == "tpu.ub");
  const gpu::GpuConfig v100 = config::load_gpu_config(kSrc + "/configs/accelerators/v100.yaml");
  CHECK(v100.energy.node_nm == 16);
  CHECK(v100.energy.dram_technology == "hbm2");
  CHECK(sum_watts(v100.energy) == Approx(42.0));
}

TEST_CASE("accelerator configs: energy section errors name the key", "[energy][config]") {
  const std::string bad_component = write_tpu_config("energy:\n  static_w:\n    mxv: 3\n");
  CHECK_THROWS_WITH(config::load_tpu_config(bad_component),
                    Contains("energy.static_w.mxv") && Contains("did you mean 'mxu'"));
  std::remove(bad_component.c_str());
  const std::string bad_dram = write_tpu_config("energy:\n  dram: hbm9\n");
  CHECK_THROWS_AS(config::load_tpu_config(bad_dram), config::ConfigError);
  std::remove(bad_dram.c_str());
  const std::string negative = write_tpu_config("energy:\n  static_w:\n    mxu: -1\n");
  CHECK_THROWS_WITH(config::load_tpu_config(negative), Contains("energy.static_w.mxu"));
  std::remove(negative.c_str());
  const std::string vdd_alone = write_tpu_config("energy:\n  vdd: 0.8\n");
  CHECK_THROWS_WITH(config::load_tpu_config(vdd_alone), Contains("node_nm"));
  std::remove(vdd_alone.c_str());
}
