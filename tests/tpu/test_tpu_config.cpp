// TPU configuration files: the shipped configs load, and mistakes are
// reported with file:line:col, key path and a did-you-mean.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sim/config/document.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;
using Catch::Matchers::Contains;

namespace {
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("xpusim_tpu_" + std::to_string(::getpid()) + "_" + name)).string();
  std::ofstream(path) << text;
  return path;
}
std::string config_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  const std::string path = write_temp("cfg.yaml", text);
  std::string msg;
  try {
    config::load_tpu_config(path, overrides);
  } catch (const config::ConfigError& e) {
    msg = e.what();
  }
  std::remove(path.c_str());
  return msg;
}
}  // namespace

TEST_CASE("tpu config: shipped configs load", "[tpu][config]") {
  const TpuConfig v1 = load("tpu_v1");
  CHECK(v1.name == "tpu_v1");
  CHECK(v1.clock_mhz == 700);
  CHECK(v1.mxu.rows == 256);
  CHECK(v1.mxu.cols == 256);
  CHECK(v1.mxu.step_int8 == 1);
  CHECK(v1.mxu.step_bf16 == 4);
  CHECK(v1.mxu.weight_load_cycles == 256);
  CHECK(v1.weight_fifo.depth_tiles == 4);
  CHECK(v1.accumulators.entries == 4096);
  CHECK(v1.unified_buffer.capacity_bytes == 24ull << 20);
  CHECK(v1.unified_buffer.read_bytes_per_cycle == 256);
  CHECK(v1.dram.bandwidth_gbps == 34);
  CHECK(v1.dram.channels == 2);
  CHECK(v1.host.path == HostPath::pcie);
  CHECK(v1.host.bandwidth_gbps == 14);
  CHECK(v1.controller.pipeline_stages == 4);
  CHECK(v1.dram_bytes_per_cycle() == Approx(48.5714).epsilon(1e-5));
  CHECK(v1.dram_latency_cycles() == 70.0);

  const TpuConfig v2 = load("tpu_v2_like");
  CHECK(v2.mxu.rows == 128);
  CHECK(v2.clock_mhz == 940);
  CHECK(v2.mxu.step_bf16 == 1);
  CHECK_FALSE(v2.mxu.supports_fp16);
  CHECK(v2.unified_buffer.capacity_bytes == 16ull << 20);
  CHECK(v2.host.path == HostPath::dram);
  CHECK(v2.dram.bandwidth_gbps == 700);

  const TpuConfig small = load("tpu_small");
  CHECK(small.mxu.rows == 8);
  CHECK(small.unified_buffer.capacity_bytes == 65536);
  CHECK(small.source_file == config_path("tpu_small"));

  const TpuConfig o = load("tpu_small", {"mxu.rows=16", "dram.channels=4"});
  CHECK(o.mxu.rows == 16);
  CHECK(o.dram.channels == 4);
}

TEST_CASE("tpu config: typo'd key reported with file line col and did-you-mean", "[tpu][config]") {
  const std::string msg = config_error(
      "kind: tpu\n"
      "mxu:\n"
      "  rows: 8\n"
      "  colls: 8\n");
  CHECK_THAT(msg, Contains("_cfg.yaml:4:3: mxu.colls: unknown key (did you mean 'cols'?)"));
  // Several problems are reported together.
  const std::string many = config_error(
      "kind: tpu\n"
      "clock_mhz: fast\n"
      "mxu: {rows: 0, dataflow: xs}\n"
      "host: {path: pcei}\n"
      "unified_buffer: {capacity_bytes: 24 MB, read_bytes_per_cycle: 256}\n");
  CHECK_THAT(many, Contains(":2:12: clock_mhz: expected a finite number, got \"fast\""));
  CHECK_THAT(many, Contains("mxu.rows: value 0 out of range"));
  CHECK_THAT(many, Contains("mxu.dataflow: expected one of ws, os, is, got \"xs\""));
  CHECK_THAT(many, Contains("host.path: expected one of pcie, dram, got \"pcei\" (did you mean 'pcie'?)"));
  // kind is required and must be tpu.
  CHECK_THAT(config_error("name: x\n"), Contains("kind: missing required key at the top level"));
  CHECK_THAT(config_error("kind: gpu\n"), Contains("kind: expected one of tpu"));
  // Overrides are checked like the file, and blamed on the command line.
  CHECK_THAT(config_error("kind: tpu\n", {"mxu.rows=-3"}), Contains("command line (-p mxu.rows=-3)"));
  CHECK_THAT(config_error("kind: tpu\ndram: {burst_bytes: 64, interleave_bytes: 100}\n"),
             Contains("dram.interleave_bytes: must be a multiple of burst_bytes (64)"));
  CHECK_THAT(config_error("kind: tpu\nmxu: {supports_int8: false, supports_bf16: false, supports_fp16: false}\n"),
             Contains("at least one input dtype"));
}
