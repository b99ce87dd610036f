// EnergyTable: the shipped Horowitz 45 nm table, its derived entries, SRAM
// interpolation and extrapolation, node scaling, and strict loading.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "sim/config/diagnostics.h"
#include "sim/config/document.h"
#include "sim/energy/energy_table.h"

using namespace xpu;
using Catch::Matchers::Contains;

namespace {

const std::string kTablePath = std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml";

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * 1024;

const energy::EnergyTable& horowitz() {
  static const energy::EnergyTable t = energy::load_energy_table(kTablePath);
  return t;
}

// A small valid table; tests plant errors in it at known lines. Line numbers
// (1-based) are given on the right.
const std::string kMiniTable =
    "kind: energy_table\n"                                      // 1
    "name: mini\n"                                              // 2
    "source: unit test\n"                                       // 3
    "node_nm: 45\n"                                             // 4
    "vdd: 0.9\n"                                                // 5
    "ops:\n"                                                    // 6
    "  int8_add:   {pj: 0.03, area_um2: 36}\n"                  // 7
    "  int16_add:  {pj: 0.05, area_um2: 67}\n"                  // 8
    "  int32_add:  {pj: 0.1,  area_um2: 137}\n"                 // 9
    "  int8_mult:  {pj: 0.2,  area_um2: 282}\n"                 // 10
    "  int16_mult: {pj: 0.79, area_um2: 993}\n"                 // 11
    "  int32_mult: {pj: 3.1,  area_um2: 3495}\n"                // 12
    "  fp16_add:   {pj: 0.4,  area_um2: 1360}\n"                // 13
    "  fp16_mult:  {pj: 1.1,  area_um2: 1640}\n"                // 14
    "  bf16_add:   {pj: 0.29, area_um2: 989}\n"                 // 15
    "  bf16_mult:  {pj: 0.58, area_um2: 867}\n"                 // 16
    "  fp32_add:   {pj: 0.9,  area_um2: 4184}\n"                // 17
    "  fp32_mult:  {pj: 3.7,  area_um2: 7700}\n"                // 18
    "sram:\n"                                                   // 19
    "  width_bits: 64\n"                                        // 20
    "  points:\n"                                               // 21
    "    - {capacity: 8 KiB, read_pj: 10}\n"                    // 22
    "    - {capacity: 32 KiB, read_pj: 20}\n"                   // 23
    "  write_to_read: 1.0\n"                                    // 24
    "  floor_pj: 0.2\n"                                         // 25
    "register_file:\n"                                          // 26
    "  capacity: 256 B\n"                                       // 27
    "dram:\n"                                                   // 28
    "  pj_per_bit: 20\n"                                        // 29
    "node_scaling:\n"                                           // 30
    "  source: unit test\n"                                     // 31
    "  nodes:\n"                                                // 32
    "    \"45\": {variant: lp, a: 1.103, b: -0.362, c: 0.2767}\n"  // 33
    "    \"7\": {variant: hp, a: 0.1776, b: -0.09097, c: 0.02447}\n";  // 34

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The diagnostics a table text produces; empty when it loads.
std::vector<config::Diagnostic> diagnostics_of(const std::string& text) {
  try {
    energy::EnergyTable::from_document(config::Document::parse(text, "mini.yaml"));
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

}  // namespace

TEST_CASE("energy table: horowitz: identity and the values measured in the source", "[energy][table]") {
  const auto& t = horowitz();
  CHECK(t.name() == "horowitz_45nm");
  CHECK(t.node_nm() == 45);
  CHECK(t.vdd() == Approx(0.9));
  CHECK(t.scale() == 1.0);
  CHECK(t.label() == "horowitz_45nm @ 45 nm, 0.9 V");
  CHECK_THAT(t.source(), Contains("ISSCC") && Contains("2014"));
  CHECK_THAT(t.node_scaling_source(), Contains("Stillmaker"));

  // Horowitz, ISSCC 2014, 45 nm 0.9 V (DESIGN.md section 4).
  CHECK(t.op_pj("int8_add") == Approx(0.03));
  CHECK(t.op_pj("int16_add") == Approx(0.05));
  CHECK(t.op_pj("int32_add") == Approx(0.1));
  CHECK(t.op_pj("fp16_add") == Approx(0.4));
  CHECK(t.op_pj("fp32_add") == Approx(0.9));
  CHECK(t.op_pj("int8_mult") == Approx(0.2));
  CHECK(t.op_pj("int32_mult") == Approx(3.1));
  CHECK(t.op_pj("fp16_mult") == Approx(1.1));
  CHECK(t.op_pj("fp32_mult") == Approx(3.7));
  CHECK(t.area_um2("int8_add") == Approx(36));
  CHECK(t.area_um2("int32_mult") == Approx(3495));
  CHECK(t.area_um2("fp32_mult") == Approx(7700));
  CHECK(t.op("int8_mult").rule.empty());  // measured, so no derivation rule
  CHECK(t.op_names().size() == 12);
}

TEST_CASE("energy table: horowitz: derived entries follow their documented rules", "[energy][table]") {
  const auto& t = horowitz();
  // bf16 mult: significand 8 bits vs fp16's 11, energy ~ bits^2:
  // 1.1 x (8/11)^2 = 1.1 x 64/121 = 0.5818 -> 0.58 pJ (2 decimals, as documented).
  CHECK(t.op_pj("bf16_mult") == Approx(0.58).margin(1e-9));
  CHECK(t.op_pj("bf16_mult") == Approx(1.1 * 64.0 / 121.0).margin(0.005));
  // bf16 add: linear in significand bits: 0.4 x 8/11 = 0.2909 -> 0.29 pJ.
  CHECK(t.op_pj("bf16_add") == Approx(0.29).margin(1e-9));
  CHECK(t.op_pj("bf16_add") == Approx(0.4 * 8.0 / 11.0).margin(0.005));
  // int16 mult: geometric mean of int8 and int32 mult: sqrt(0.2 x 3.1) = 0.787 -> 0.79 pJ.
  CHECK(t.op_pj("int16_mult") == Approx(0.79).margin(1e-9));
  CHECK(t.op_pj("int16_mult") == Approx(std::sqrt(0.2 * 3.1)).margin(0.005));
  // Areas by the same rules: 1640 x 64/121 = 867, 1360 x 8/11 = 989, sqrt(282 x 3495) = 993.
  CHECK(t.area_um2("bf16_mult") == Approx(867));
  CHECK(t.area_um2("bf16_add") == Approx(989));
  CHECK(t.area_um2("int16_mult") == Approx(993));
  for (const char* op : {"bf16_mult", "bf16_add", "int16_mult"}) {
    INFO(op);
    CHECK_FALSE(t.op(op).rule.empty());
  }
}

TEST_CASE("energy table: unknown op names are errors that name the op", "[energy][table]") {
  const auto& t = horowitz();
  CHECK_THROWS_AS(t.op_pj("int4_mult"), std::out_of_range);
  CHECK_THROWS_WITH(t.op_pj("int8_mul"),
                    Contains("'int8_mul'") && Contains("did you mean 'int8_mult'"));
  CHECK_THROWS_AS(t.area_um2("fp64_add"), std::out_of_range);
}

TEST_CASE("energy table: SRAM: the measured points are reproduced exactly", "[energy][table][sram]") {
  const auto& t = horowitz();
  // 64-bit reads: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ (Horowitz).
  CHECK(t.sram_access_pj(8 * KiB, 64, false) == Approx(10));
  CHECK(t.sram_access_pj(32 * KiB, 64, false) == Approx(20));
  CHECK(t.sram_access_pj(1 * MiB, 64, false) == Approx(100));
  // Documented assumption: write = read (write_to_read 1.0).
  CHECK(t.sram_write_to_read() == 1.0);
  CHECK(t.sram_access_pj(32 * KiB, 64, true) == Approx(20));
  // Width scales linearly: a 256-bit read of 32 KiB is 4 x 20 = 80 pJ; 32 bits: 10 pJ.
  CHECK(t.sram_access_pj(32 * KiB, 256, false) == Approx(80));
  CHECK(t.sram_access_pj(32 * KiB, 32, false) == Approx(10));
}

TEST_CASE("energy table: SRAM: interpolation is linear in log2(capacity) between points", "[energy][table][sram]") {
  const auto& t = horowitz();
  // 128 KiB = 2^17 B lies between 32 KiB = 2^15 (20 pJ) and 1 MiB = 2^20 (100 pJ):
  // 20 + (100 - 20) x (17 - 15) / (20 - 15) = 20 + 80 x 2/5 = 52 pJ.
  CHECK(t.sram_access_pj(128 * KiB, 64, false) == Approx(52));
  // 16 KiB = 2^14, between 2^13 (10) and 2^15 (20): 10 + 10 x 1/2 = 15 pJ.
  CHECK(t.sram_access_pj(16 * KiB, 64, false) == Approx(15));
}

TEST_CASE("energy table: SRAM: extrapolation below and above the measured points", "[energy][table][sram]") {
  const auto& t = horowitz();
  // Below 8 KiB: the first segment continued in log-log space. Its slope is
  // ln(20/10) / ln(32K/8K) = ln 2 / ln 4 = 0.5, so E = 10 x (C / 8 KiB)^0.5:
  // 2 KiB -> 10 x sqrt(1/4) = 5 pJ; 512 B -> 10 x sqrt(1/16) = 2.5 pJ.
  CHECK(t.sram_access_pj(2 * KiB, 64, false) == Approx(5));
  CHECK(t.sram_access_pj(512, 64, false) == Approx(2.5));
  // Floor 0.2 pJ: 1 B would be 10 x sqrt(1/8192) = 0.11 pJ -> clamped to 0.2.
  CHECK(t.sram_floor_pj() == Approx(0.2));
  CHECK(t.sram_access_pj(1, 64, false) == Approx(0.2));
  // Above 1 MiB: the last segment continued in log2(capacity), +80/5 = 16 pJ
  // per doubling: 4 MiB = 2^22 -> 100 + 16 x 2 = 132 pJ.
  CHECK(t.sram_access_pj(4 * MiB, 64, false) == Approx(132));
  // 32 MiB = 2^25 -> 100 + 16 x 5 = 180 pJ.
  CHECK(t.sram_access_pj(32 * MiB, 64, false) == Approx(180));
  CHECK_THROWS_AS(t.sram_access_pj(0, 64, false), std::invalid_argument);
  CHECK_THROWS_AS(energy::EnergyTable().sram_access_pj(1024, 64, false), std::logic_error);
  CHECK_THROWS_AS(t.sram_access_pj(1024, 0, false), std::invalid_argument);
}

TEST_CASE("energy table: register file and DRAM", "[energy][table]") {
  const auto& t = horowitz();
  // Register file: a 256 B SRAM under the sqrt rule: 10 x sqrt(256/8192) = 1.7678 pJ.
  CHECK(t.register_file_bytes() == 256);
  CHECK(t.register_file_pj(64, false) == Approx(10.0 / std::sqrt(32.0)));
  // DRAM: 640 pJ per 32-bit access / 32 bits = 20 pJ/bit.
  CHECK(t.dram_pj_per_bit() == Approx(20));
}

TEST_CASE("energy table: node scaling: 7 nm at 0.7 V by the Stillmaker & Baas factor", "[energy][table][node]") {
  const auto& t45 = horowitz();
  // factor(V) = a V^2 + b V + c
  // 45 nm, 0.9 V: 1.103 x 0.81 - 0.362 x 0.9 + 0.2767 = 0.89343 - 0.3258 + 0.2767 = 0.84433
  // 7 nm, 0.7 V:  0.1776 x 0.49 - 0.09097 x 0.7 + 0.02447 = 0.087024 - 0.063679 + 0.02447 = 0.047815
  // ratio: 0.047815 / 0.84433 = 0.0566307
  CHECK(t45.node_factor(45, 0.9) == Approx(0.84433));
  CHECK(t45.node_factor(7, 0.7) == Approx(0.047815));
  const energy::EnergyTable t7 = t45.with_node(7, 0.7);
  const double s = 0.0566307;
  CHECK(t7.scale() == Approx(s).epsilon(1e-6));
  CHECK(t7.label() == "horowitz_45nm @ 7 nm, 0.7 V");
  CHECK(t7.node_nm() == 7);
  CHECK(t7.vdd() == Approx(0.7));
  CHECK(t7.measured_node_nm() == 45);
  CHECK(t7.name() == "horowitz_45nm");
  // int8 mult: 0.2 x 0.0566307 = 0.0113261 pJ; 32 KiB SRAM read: 20 x 0.0566307 = 1.13261 pJ.
  CHECK(t7.op_pj("int8_mult") == Approx(0.0113261).epsilon(1e-5));
  CHECK(t7.sram_access_pj(32 * KiB, 64, false) == Approx(1.13261).epsilon(1e-5));
  CHECK(t7.register_file_pj(64, false) == Approx(1.76777 * s).epsilon(1e-5));
  // Documented: DRAM energy and area are not scaled.
  CHECK(t7.dram_pj_per_bit() == Approx(20));
  CHECK(t7.area_um2("int8_mult") == Approx(282));
  // Scaling is always relative to the measured point: no compounding.
  // 16 nm, 0.8 V: 0.2958 x 0.64 - 0.1241 x 0.8 + 0.03024 = 0.120272; / 0.84433 = 0.142447.
  CHECK(t7.with_node(16, 0.8).scale() == Approx(0.142447).epsilon(1e-5));
  CHECK(t7.with_node(45, 0.9).scale() == Approx(1.0));
  CHECK(t7.to_json().at("label") == "horowitz_45nm @ 7 nm, 0.7 V");
  CHECK(t7.to_json().at("node_nm") == 7);
}

TEST_CASE("energy table: node scaling: unknown nodes and silly supplies are errors", "[energy][table][node]") {
  const auto& t = horowitz();
  CHECK_THROWS_WITH(t.with_node(5, 0.7), Contains("5 nm") && Contains("have: 7, 16, 20, 28, 32, 45"));
  CHECK_THROWS_AS(t.with_node(5, 0.7), std::out_of_range);
  CHECK_THROWS_AS(t.with_node(7, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(t.with_node(7, 5.0), std::invalid_argument);
}

TEST_CASE("energy table: loading: the mini table loads", "[energy][table][config]") {
  CHECK(diagnostics_of(kMiniTable).empty());
}

TEST_CASE("energy table: loading: an unknown key names file:line:col and key path", "[energy][table][config]") {
  // Line 29 "  pj_per_bit: 20" gains a typo'd twin on line 30, column 3.
  const auto diags = diagnostics_of(
      replaced(kMiniTable, "  pj_per_bit: 20\n", "  pj_per_bit: 20\n  pj_per_bitt: 3\n"));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].file == "mini.yaml");
  CHECK(diags[0].line == 30);
  CHECK(diags[0].column == 3);
  CHECK(diags[0].key_path == "dram.pj_per_bitt");
  CHECK_THAT(diags[0].message, Contains("unknown key") && Contains("did you mean 'pj_per_bit'"));
  CHECK_THAT(diags[0].to_string(), Contains("mini.yaml:30:3: dram.pj_per_bitt: unknown key"));
}

TEST_CASE("energy table: loading: an out-of-range value names file:line:col and key path", "[energy][table][config]") {
  // Line 5 "vdd: 9": the value starts at column 6.
  auto diags = diagnostics_of(replaced(kMiniTable, "vdd: 0.9", "vdd: 9"));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].line == 5);
  CHECK(diags[0].column == 6);
  CHECK(diags[0].key_path == "vdd");
  CHECK_THAT(diags[0].message, Contains("out of range"));

  // Line 10 "  int8_mult:  {pj: -0.2, ...": "-0.2" starts at column 20.
  diags = diagnostics_of(replaced(kMiniTable, "{pj: 0.2,", "{pj: -0.2,"));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].line == 10);
  CHECK(diags[0].column == 20);
  CHECK(diags[0].key_path == "ops.int8_mult.pj");
}

TEST_CASE("energy table: loading: every problem is reported at once", "[energy][table][config]") {
  std::string text = replaced(kMiniTable, "kind: energy_table", "kind: energy_tabel");
  text = replaced(text, "  bf16_mult:  {pj: 0.58, area_um2: 867}\n", "");  // a required op missing
  text = replaced(text, "{capacity: 32 KiB, read_pj: 20}", "{capacity: 4 KiB, read_pj: 20}");
  text = replaced(text, "node_nm: 45", "node_nm: 16");  // no coefficients for 16 nm here
  const auto diags = diagnostics_of(text);
  REQUIRE(diags.size() == 4);  // kind, node_nm, ops.bf16_mult, sram.points[1].capacity
  std::vector<std::string> paths;
  for (const auto& d : diags) paths.push_back(d.key_path);
  CHECK_THAT(paths, Catch::Matchers::VectorContains(std::string("kind")));
  CHECK_THAT(paths, Catch::Matchers::VectorContains(std::string("ops.bf16_mult")));
  CHECK_THAT(paths, Catch::Matchers::VectorContains(std::string("sram.points[1].capacity")));
  CHECK_THAT(paths, Catch::Matchers::VectorContains(std::string("node_nm")));
}

TEST_CASE("energy table: loading: from a file, and with -p overrides", "[energy][table][config]") {
  // A file on disk carries its path into the diagnostic.
  const auto path = std::filesystem::temp_directory_path() / "xpusim_test_energy_bad_table.yaml";
  {
    std::ofstream out(path);
    out << replaced(kMiniTable, "vdd: 0.9", "vdd: 9");
  }
  try {
    energy::load_energy_table(path.string());
    FAIL("expected a ConfigError");
  } catch (const config::ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].file == path.string());
    CHECK(e.diagnostics()[0].line == 5);
    CHECK(e.diagnostics()[0].key_path == "vdd");
  }
  std::filesystem::remove(path);

  // Overrides apply before typing; a bad one is blamed on the command line.
  CHECK(energy::load_energy_table(kTablePath, {"dram.pj_per_bit=10"}).dram_pj_per_bit() == 10);
  try {
    energy::load_energy_table(kTablePath, {"vdd=5"});
    FAIL("expected a ConfigError");
  } catch (const config::ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK_THAT(e.diagnostics()[0].file, Contains("-p vdd=5"));
    CHECK(e.diagnostics()[0].key_path == "vdd");
  }
}
