// EnergyModel: counters x per-unit energies, booked per component and per
// operation class, with the table and node named in the result.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/energy/energy_model.h"
#include "sim/stats/stats.h"

using namespace xpu;
using Catch::Matchers::Contains;

namespace {

const std::string kTablePath = std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml";

constexpr uint64_t MiB = 1024 * 1024;

const energy::EnergyTable& horowitz() {
  static const energy::EnergyTable t = energy::load_energy_table(kTablePath);
  return t;
}

}  // namespace

TEST_CASE("energy model: MAC helpers: multiply in the input type, add in the accumulator type", "[energy][model]") {
  const auto& t = horowitz();
  // int8 x int8 -> int32: int8_mult + int32_add = 0.2 + 0.1 = 0.3 pJ.
  CHECK(energy::mac_pj(t, "int8", "int32") == Approx(0.3));
  // bf16 -> fp32: bf16_mult + fp32_add = 0.58 + 0.9 = 1.48 pJ.
  CHECK(energy::mac_pj(t, "bf16", "fp32") == Approx(1.48));
  // fp16 -> fp32: fp16_mult + fp32_add = 1.1 + 0.9 = 2.0 pJ.
  CHECK(energy::mac_pj(t, "fp16", "fp32") == Approx(2.0));
  // fp16 -> fp16 (wmma with fp16 accumulation): 1.1 + 0.4 = 1.5 pJ.
  CHECK(energy::mac_pj(t, "fp16", "fp16") == Approx(1.5));
  CHECK_THROWS_AS(energy::mac_pj(t, "int8", "fp32"), std::invalid_argument);
  CHECK_THROWS_AS(energy::mac_pj(t, "bf16", "int32"), std::invalid_argument);
  CHECK_THROWS_AS(energy::mac_pj(t, "int4", "int32"), std::out_of_range);
}

TEST_CASE("energy model: byte helpers: energy per byte moved", "[energy][model]") {
  const auto& t = horowitz();
  // 32 KiB, 64-bit read = 20 pJ per 8 bytes = 2.5 pJ/B.
  CHECK(energy::sram_bytes_pj(t, 32 * 1024, 64, false) == Approx(2.5));
  // 4 MiB, 2048-bit (256-byte) read: 132 pJ per 64 bits x 32 = 4224 pJ per 256 B = 16.5 pJ/B.
  CHECK(energy::sram_bytes_pj(t, 4 * MiB, 2048, false) == Approx(16.5));
  // DRAM: 20 pJ/bit x 8 = 160 pJ/B.
  CHECK(energy::dram_bytes_pj(t) == Approx(160));
  CHECK_THROWS_AS(energy::sram_bytes_pj(t, 32 * 1024, 12, false), std::invalid_argument);
}

TEST_CASE("energy model: 10^6 int8 MACs with int32 accumulation cost 3e5 pJ", "[energy][model]") {
  stats::Group tpu("tpu");
  tpu.child("mxu").counter("mac.int8", stats::Unit::ops, "int8 MACs").add(1000000);
  const energy::EnergyModel model(horowitz());
  const std::vector<energy::EnergyTerm> terms = {
      {"tpu.mxu", "tpu.mxu.mac.int8", "mac", energy::mac_pj(model.table(), "int8", "int32")}};
  const energy::EnergyReport r = model.evaluate(tpu.snapshot(), terms);
  // 10^6 x (0.2 + 0.1) pJ = 3e5 pJ.
  CHECK(r.total_pj == Approx(3e5));
  CHECK(r.by_component.at("tpu.mxu") == Approx(3e5));
  CHECK(r.by_op_class.at("mac") == Approx(3e5));
  CHECK(r.by_component_op_class.at("tpu.mxu").at("mac") == Approx(3e5));
  REQUIRE(r.terms.size() == 1);
  CHECK(r.terms[0].count == 1e6);
  CHECK(r.table_label == "horowitz_45nm @ 45 nm, 0.9 V");
}

TEST_CASE("energy model: a counter missing from the snapshot is an error naming it", "[energy][model]") {
  stats::Group tpu("tpu");
  tpu.child("mxu").counter("mac.int8", stats::Unit::ops).add(5);
  const energy::EnergyModel model(horowitz());
  const std::vector<energy::EnergyTerm> terms = {{"tpu.mxu", "tpu.mxu.mac.int16", "mac", 0.3}};
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), terms), std::runtime_error);
  CHECK_THROWS_WITH(model.evaluate(tpu.snapshot(), terms),
                    Contains("tpu.mxu.mac.int16") && Contains("did you mean 'tpu.mxu.mac.int8'"));
  // A zero count is fine: the counter exists.
  tpu.reset();
  CHECK(model.evaluate(tpu.snapshot(), {{"tpu.mxu", "tpu.mxu.mac.int8", "mac", 0.3}}).total_pj == 0);
}

TEST_CASE("energy model: malformed terms are rejected", "[energy][model]") {
  stats::Group tpu("tpu");
  tpu.counter("x", stats::Unit::count).add(1);
  const energy::EnergyModel model(horowitz());
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), {{"", "tpu.x", "mac", 1}}), std::invalid_argument);
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), {{"tpu", "tpu.x", "", 1}}), std::invalid_argument);
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), {{"tpu", "tpu.x", "mac", -1}}), std::invalid_argument);
  CHECK_THROWS_AS(model.evaluate(tpu.snapshot(), {{"tpu", "tpu.x", "mac", std::nan("")}}),
                  std::invalid_argument);
}

TEST_CASE("energy model: per-component and per-op-class sums add up to the total", "[energy][model]") {
  stats::Group tpu("tpu");
  tpu.child("mxu").counter("mac.int8", stats::Unit::ops).add(1000000);
  tpu.child("ub").counter("read_bytes", stats::Unit::bytes).add(1000);
  tpu.child("ub").counter("write_bytes", stats::Unit::bytes).add(512);
  tpu.child("dram").counter("read_bytes", stats::Unit::bytes).add(1000);
  const auto& t = horowitz();
  const energy::EnergyModel model(t);
  // Unified buffer: a 4 MiB SRAM read 2048 bits (256 B) at a time.
  const double ub_byte_pj = energy::sram_bytes_pj(t, 4 * MiB, 2048, false);
  const std::vector<energy::EnergyTerm> terms = {
      {"tpu.mxu", "tpu.mxu.mac.int8", "mac", energy::mac_pj(t, "int8", "int32")},
      {"tpu.ub", "tpu.ub.read_bytes", "sram_read", ub_byte_pj},
      {"tpu.ub", "tpu.ub.write_bytes", "sram_write", energy::sram_bytes_pj(t, 4 * MiB, 2048, true)},
      {"tpu.dram", "tpu.dram.read_bytes", "dram", energy::dram_bytes_pj(t)},
  };
  const energy::EnergyReport r = model.evaluate(tpu.snapshot(), terms);
  // mac:        10^6 x 0.3          = 300000 pJ
  // sram_read:  1000 B x 16.5 pJ/B  =  16500 pJ (132 pJ per 64 b at 4 MiB, 8 B per 64 b)
  // sram_write:  512 B x 16.5 pJ/B  =   8448 pJ (write = read)
  // dram:       1000 B x 160 pJ/B   = 160000 pJ
  // total                           = 484948 pJ
  CHECK(r.by_op_class.at("mac") == Approx(300000));
  CHECK(r.by_op_class.at("sram_read") == Approx(16500));
  CHECK(r.by_op_class.at("sram_write") == Approx(8448));
  CHECK(r.by_op_class.at("dram") == Approx(160000));
  CHECK(r.by_component.at("tpu.ub") == Approx(16500 + 8448));
  CHECK(r.total_pj == Approx(484948));

  double by_component = 0, by_op_class = 0, nested = 0;
  for (const auto& kv : r.by_component) by_component += kv.second;
  for (const auto& kv : r.by_op_class) by_op_class += kv.second;
  for (const auto& c : r.by_component_op_class) {
    double row = 0;
    for (const auto& kv : c.second) row += kv.second;
    CHECK(row == Approx(r.by_component.at(c.first)));
    nested += row;
  }
  CHECK(by_component == Approx(r.total_pj));
  CHECK(by_op_class == Approx(r.total_pj));
  CHECK(nested == Approx(r.total_pj));
  CHECK(r.terms.size() == 4);
}

TEST_CASE("energy model: reports name the table and node, also when scaled", "[energy][model]") {
  stats::Group tpu("tpu");
  tpu.child("mxu").counter("mac.int8", stats::Unit::ops).add(1000000);
  tpu.child("dram").counter("read_bytes", stats::Unit::bytes).add(1000);
  const energy::EnergyModel model(horowitz().with_node(7, 0.7));
  const auto& t = model.table();
  const energy::EnergyReport r = model.evaluate(
      tpu.snapshot(), {{"tpu.mxu", "tpu.mxu.mac.int8", "mac", energy::mac_pj(t, "int8", "int32")},
                       {"tpu.dram", "tpu.dram.read_bytes", "dram", energy::dram_bytes_pj(t)}});
  // MACs scale by factor(7, 0.7) / factor(45, 0.9) = 0.047815 / 0.84433 = 0.0566307:
  // 3e5 x 0.0566307 = 16989.2 pJ. DRAM is not scaled: 1000 x 160 = 160000 pJ.
  CHECK(r.by_op_class.at("mac") == Approx(16989.2).epsilon(1e-5));
  CHECK(r.by_op_class.at("dram") == Approx(160000));

  const nlohmann::json j = r.to_json();
  CHECK(j.at("table").at("name") == "horowitz_45nm");
  CHECK(j.at("table").at("label") == "horowitz_45nm @ 7 nm, 0.7 V");
  CHECK(j.at("table").at("node_nm") == 7);
  CHECK(j.at("table").at("vdd").get<double>() == Approx(0.7));
  CHECK(j.at("total_pj").get<double>() == Approx(r.total_pj));
  CHECK(j.at("by_component").at("tpu.mxu").get<double>() == Approx(r.by_component.at("tpu.mxu")));
  CHECK(j.at("by_op_class").at("dram").get<double>() == Approx(160000));
  CHECK(j.at("by_component_op_class").at("tpu.dram").at("dram").get<double>() == Approx(160000));
  REQUIRE(j.at("terms").size() == 2);
  CHECK(j.at("terms")[0].at("counter") == "tpu.mxu.mac.int8");
  CHECK(j.at("terms")[0].at("count").get<double>() == 1e6);
}
