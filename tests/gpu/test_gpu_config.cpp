#include <catch2/catch.hpp>

#include "gpu_test_util.h"
#include "sim/config/diagnostics.h"

using namespace xpu;
using namespace xpu::gpu;

TEST_CASE("v100.yaml loads with the V100 figures", "[gpu][config]") {
  const GpuConfig c = test::load("v100.yaml");
  CHECK(c.sms == 80);
  CHECK(c.sub_cores == 4);
  CHECK(c.clock_mhz == 1530.0);
  CHECK(c.tensor_cores_per_sm() == 8);
  // 80 SMs x 8 tensor cores x 64 FMA x 2 FLOP x 1.53 GHz = 125.34 TFLOPS.
  CHECK(2 * c.tensor_macs_per_cycle() * c.clock_mhz * 1e6 / 1e12 == Approx(125.34).epsilon(0.001));
  CHECK(c.l2.capacity_bytes == 6ull << 20);
  CHECK(c.shared.banks == 32);
  CHECK(c.sub_core.scheduler == SchedPolicy::gto);
  // 900 GB/s x 0.83 / 1530 MHz = 488 bytes per cycle.
  CHECK(c.dram_bytes_per_cycle() == Approx(488.2).epsilon(0.001));
  CHECK(c.quantum_cycles() == 210);  // quantum 0 -> the L2 latency
}

TEST_CASE("gpu config is strict about unknown keys and ranges and applies overrides", "[gpu][config]") {
  CHECK(test::load("gpu_small.yaml").sms == 2);
  CHECK(test::load("v100.yaml", {"sub_core.scheduler=lrr"}).sub_core.scheduler == SchedPolicy::lrr);
  CHECK(test::load("v100.yaml", {"tensor_core.ii_f32_acc=4"}).tensor_core.ii_f32_acc == 4);
  CHECK_THROWS_AS(test::load("v100.yaml", {"sub_core.shceduler=gto"}), config::ConfigError);
  CHECK_THROWS_AS(test::load("v100.yaml", {"sub_core.scheduler=fifo"}), config::ConfigError);
  CHECK_THROWS_AS(test::load("v100.yaml", {"shared.banks=33"}), config::ConfigError);
  CHECK_THROWS_AS(test::load("v100.yaml", {"shared.max_shared_bytes=256 KiB"}), config::ConfigError);
  try {
    test::load("v100.yaml", {"l2.slicez=3"});
    FAIL("expected a ConfigError");
  } catch (const config::ConfigError& e) {
    CHECK(std::string(e.what()).find("l2.slicez") != std::string::npos);
  }
}
