// The TPU's energy terms bind to its counters and price them with the table.
#include <catch2/catch.hpp>

#include "models/tpu/tpu_energy.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

TEST_CASE("tpu energy: terms cover the counters of a run", "[tpu][energy]") {
  const TpuConfig cfg = load("tpu_small");
  const energy::EnergyTable table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  const std::vector<energy::EnergyTerm> terms = tpu_energy_terms(cfg, table);
  Tpu tpu(cfg);
  const RunResult r = tpu.run(parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=64
    read_weights weights=0 k=8 n=8 dtype=int8
    matmul ub=0 stride=8 acc=0 rows=8 k=8 n=8 dtype=int8
    activate acc=0 rows=8 n=8 ub=64 stride=8 fn=relu out_dtype=int8 scale=0.5
    write_host_memory ub=64 host=4096 bytes=64
    halt
  )"));
  // Every term names a counter the Tpu registers (EnergyModel throws otherwise).
  const energy::EnergyReport e = energy::EnergyModel(table).evaluate(r.stats, terms);
  CHECK(e.total_pj > 0);
  for (const char* c : {"tpu.mxu", "tpu.ub", "tpu.acc", "tpu.weight_fifo", "tpu.dram", "tpu.act", "tpu.dma"}) {
    INFO(c);
    CHECK(e.by_component.count(c) == 1);
    CHECK(e.by_component.at(c) > 0);
  }
  // int8 MAC = int8_mult + int32_add = 0.2 + 0.1 pJ; 512 MACs.
  CHECK(e.by_component.at("tpu.mxu") == Approx(512 * 0.3));
  // DRAM: 64 bytes x 8 bits x 20 pJ/bit.
  CHECK(e.by_component.at("tpu.dram") == Approx(64 * 8 * 20.0));
  // Activation: 64 elements x (fp32_mult 3.7 + fp32_add 0.9).
  CHECK(e.by_component.at("tpu.act") == Approx(64 * 4.6));
}
