// A TPU chip of several TensorCores with several MXUs each: the MXUs of a
// core as one logical array (PE == tile, bit-exact), GEMMs split over cores
// (bit-exact shares, per-core and per-MXU utilization), static energy of the
// chip over the chip's time.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "tests/temp_path.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

workload::Workload gemms(const std::string& name, const std::string& layers) {
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_tpu_chip_" + name + ".yaml";
  std::ofstream(path) << "kind: workload\nname: " << name << "\nlayers:\n" << layers;
  workload::Workload w = workload::load_workload(path);
  std::remove(path.c_str());
  return w;
}

energy::EnergyTable table() {
  return energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
}

// tpu_small (8x8 MXU) with `count` MXUs per core and `cores` cores.
tpu::TpuConfig small_chip(uint32_t count, uint32_t cores) {
  tpu::TpuConfig c = config::load_tpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/tpu_small.yaml");
  c.mxu.count = count;
  c.mxu.cols *= count;
  c.cores = cores;
  return c;
}

std::vector<report::LayerResult> run(experiment::Backend& be, const workload::Workload& w, DType t, Fidelity f) {
  experiment::LayerRunOptions o;
  o.fidelity = f;
  be.check_workload(w, t);
  return be.run_workload(w, t, o);
}

}  // namespace

TEST_CASE("tpu chip: columns per MXU and shares per core", "[tpu][chip]") {
  tpu::MxuConfig m;
  m.rows = 128;
  m.count = 4;
  m.cols = 512;  // 4 MXUs x 128 columns
  // N = 8192: 16 full tiles of 512 columns, 16 x 128 = 2048 columns each.
  for (uint32_t j = 0; j < 4; ++j) CHECK(experiment::mxu_columns(8192, m, j) == 2048);
  // N = 700: one full tile (128 each) and 188 left: MXU 0 takes 128, MXU 1
  // the other 60, MXUs 2 and 3 none; 256 + 188 + 128 + 128 = 700.
  CHECK(experiment::mxu_columns(700, m, 0) == 256);
  CHECK(experiment::mxu_columns(700, m, 1) == 188);
  CHECK(experiment::mxu_columns(700, m, 2) == 128);
  CHECK(experiment::mxu_columns(700, m, 3) == 128);
  // 9 over 2 cores: 5 + 4; 1 over 2 cores: 1 + 0.
  CHECK(experiment::core_share(9, 2, 0) == 5);
  CHECK(experiment::core_share(9, 2, 1) == 4);
  CHECK(experiment::core_share(1, 2, 1) == 0);
}

TEST_CASE("tpu chip: 4 MXUs per core, pe and tile give the same cycles and bits", "[tpu][chip]") {
  // 4 MXUs of 8x8 = a logical 8x32 array; N = 40 leaves the last tile's
  // MXUs 1-3 idle, K = 20 is not a multiple of 8 rows.
  auto be = experiment::make_tpu_backend(small_chip(4, 1), table(), "chip_pe_tile");
  const auto w = gemms("mxu4", "  - {name: g, op: gemm, m: 24, n: 40, k: 20}\n");
  for (DType t : {DType::int8, DType::bf16}) {
    const auto pe = run(*be, w, t, Fidelity::pe);
    const auto tile = run(*be, w, t, Fidelity::tile);
    REQUIRE(pe.size() == 1);
    REQUIRE(tile.size() == 1);
    CHECK(pe[0].cycles == tile[0].cycles);
    CHECK(pe[0].verdict == report::Verdict::bit_exact);
    CHECK(tile[0].verdict == report::Verdict::bit_exact);
    // Per MXU: N = 40 = one tile of 32 (8 each) + 8 on MXU 0: 16, 8, 8, 8
    // columns of 24 x 20 x 40 MACs: MXU 0 holds 16/40 of them.
    const auto& u = tile[0].unit_utilization;
    REQUIRE(u.count("core0.mxu0") == 1);
    CHECK(u.at("core0.mxu0") == Approx(2 * u.at("core0.mxu1")));
    CHECK(u.at("core0.mxu0") == Approx(24.0 * 20 * 16 / (8.0 * 8 * double(tile[0].cycles))));
  }
}

TEST_CASE("tpu chip: GEMMs split over 2 cores stay bit-exact, per-core shares add up", "[tpu][chip]") {
  const tpu::TpuConfig chip = small_chip(2, 2);
  auto be = experiment::make_tpu_backend(chip, table(), "chip_split");
  // Logical array 8 x 16 per core: N = 48 >= 2 x 16 splits by columns
  // (24 + 24); N = 8 splits by rows (M = 17: 9 + 8).
  const auto w = gemms("split", "  - {name: wide, op: gemm, m: 16, n: 48, k: 24}\n"
                                "  - {name: narrow, op: gemm, m: 17, n: 8, k: 16}\n");
  const auto rows = run(*be, w, DType::int8, Fidelity::tile);
  REQUIRE(rows.size() == 2);
  CHECK(experiment::split_columns(48, chip));
  CHECK_FALSE(experiment::split_columns(8, chip));
  const double core_peak = 8.0 * 16;  // MACs per cycle of one core
  for (const auto& r : rows) {
    INFO(r.name << ": " << r.verdict_detail);
    CHECK(r.verdict == report::Verdict::bit_exact);
    // The cores' MACs add up to the layer's: sum of core utilization x core
    // peak x the chip's cycles.
    const double macs = (r.unit_utilization.at("core0") + r.unit_utilization.at("core1")) * core_peak * double(r.cycles);
    CHECK(macs == Approx(double(r.macs)));
    // Chip utilization: MACs / (2 cores x 128 MACs per cycle x cycles).
    CHECK(r.utilization == Approx(double(r.macs) / (2 * core_peak * double(r.cycles))));
    // Counters are the cores' sum: both cores' MACs are counted.
    CHECK(r.stats.get("tpu.mxu.mac.int8") == Approx(double(r.macs)));
  }
  CHECK(rows[0].macs == 16u * 48 * 24);
  CHECK_THAT(rows[0].verdict_detail, Catch::Contains("columns split"));
  CHECK_THAT(rows[1].verdict_detail, Catch::Contains("rows split"));
}

TEST_CASE("tpu chip: the shipped chips' peaks", "[tpu][chip]") {
  // Peak = cores x MXUs x 128 x 128 MACs x 2 x clock.
  struct Chip {
    const char* file;
    double tflops;
  } chips[] = {{"tpu_v2", 2 * 1 * 128 * 128 * 2 * 700e6 / 1e12},    // 45.9
               {"tpu_v3", 2 * 2 * 128 * 128 * 2 * 940e6 / 1e12},    // 123.2
               {"tpu_v4", 2 * 4 * 128 * 128 * 2 * 1050e6 / 1e12}};  // 275.3
  for (const auto& c : chips) {
    INFO(c.file);
    const tpu::TpuConfig cfg =
        config::load_tpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/" + c.file + ".yaml");
    const double peak = cfg.cores * cfg.peak_macs_per_cycle() * 2 * cfg.clock_mhz * 1e6 / 1e12;
    CHECK(peak == Approx(c.tflops));
    CHECK(cfg.energy.static_watts() > 0);
  }
  // TPU v4: each core gets half of the 128 MiB CMEM and of its 2150 GB/s,
  // half of the HBM's 1200 GB/s, and keeps its 16 MiB vector memory.
  const tpu::TpuConfig v4 = config::load_tpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/tpu_v4.yaml");
  const tpu::TpuConfig core = tpu::core_config(v4);
  CHECK(core.unified_buffer.capacity_bytes == 16ull << 20);
  CHECK(core.cmem.capacity_bytes == 64ull << 20);
  CHECK(core.cmem.bandwidth_gbps == Approx(1075));
  CHECK(core.dram.bandwidth_gbps == Approx(600));
}
