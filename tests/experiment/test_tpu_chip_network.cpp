// Networks on a TPU chip of several TensorCores: each core runs the network
// on its share of the batch (sim/experiment/tpu_chip_run.h). The cores'
// outputs together are the one-core run's bit for bit, the chip's rows add
// the cores' MACs and counters, and per-core and per-MXU utilizations add
// up to the layer's MACs.
#include <catch2/catch.hpp>

#include "sim/experiment/tpu_backend.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/lowering/lowering_error.h"
#include "sim/workload/workload.h"
#include "tests/experiment/tpu_core_fixture.h"

using namespace xpu;

namespace {

energy::EnergyTable table() { return xt::energy_table(); }

tpu::TpuConfig small_chip(uint32_t cores) { return xt::tpu_small_chip(cores); }

using Core = xt::TpuCore;

// A BERT encoder layer shrunk to tile-fidelity size (hidden 16, 2 heads of
// 8, FFN 32, 8 tokens) at batch 3: attention, softmax, layernorm and GELU
// per sample.
workload::Workload tiny_bert(int batch) {
  return workload::load_workload(xt::kSource + "/workloads/nets/bert_base_layer.yaml",
                                 {"params.batch=" + std::to_string(batch), "params.seq=8", "params.hidden=16",
                                  "params.heads=2", "params.ffn=32"});
}

}  // namespace

TEST_CASE("tpu chip network: rebatching a workload file", "[tpu][chip]") {
  const workload::Workload w = tiny_bert(4);
  const auto half = experiment::rebatched(w, 2);
  REQUIRE(half.has_value());
  // Every other parameter kept: x is [batch, seq, hidden] = [2, 8, 16].
  CHECK(half->tensor("x").shape == workload::Shape{2, 8, 16});
  CHECK(half->macs() * 2 == w.macs());
  // A workload built in memory (no file) cannot be reloaded.
  workload::Workload mem = w;
  mem.source_file.clear();
  CHECK_FALSE(experiment::rebatched(mem, 2).has_value());
  // 5 samples over 2 cores: 3 + 2, core 1 starts at sample 3.
  CHECK(experiment::core_offset(5, 2, 1) == 3);
}

TEST_CASE("tpu chip network: a batch split over 2 cores gives the one-core outputs bit for bit", "[tpu][chip]") {
  // Both models exist before either simulates (SystemC elaborates once).
  Core one(small_chip(1), "net_one"), two(small_chip(2), "net_two");
  for (const char* net : {"lenet5", "bert"}) {
    INFO(net);
    const workload::Workload w = std::string(net) == "bert"
                                     ? tiny_bert(3)
                                     : workload::load_workload(xt::kSource + "/workloads/nets/lenet5.yaml", {"params.batch=3"});
    // Outputs: core 0's samples 0-1, then core 1's sample 2, equal to the
    // one-core run's (bf16: no per-core scales; samples are independent).
    const auto [rows1, rows2] = xt::run_one_and_chip(one, two, w, Fidelity::tile);
    uint64_t macs = 0;
    for (size_t i = 0; i < rows2.size(); ++i) {
      const auto& r = rows2[i];
      INFO(r.name << ": " << r.verdict_detail);
      CHECK(r.name == rows1[i].name);
      CHECK(r.verdict != report::Verdict::mismatch);
      CHECK(r.macs == rows1[i].macs);  // the cores' shares add up to the whole batch's
      macs += r.macs;
      if (r.macs == 0) continue;
      CHECK_THAT(r.verdict_detail, Catch::Contains("2 cores, batch split 2 + 1"));
      // Per core: MACs / (core peak 8 x 16 x chip cycles); core 0 has 2 of
      // the 3 samples.
      const double core_peak = 8.0 * 16 * double(r.cycles);
      CHECK(r.unit_utilization.at("core0") * core_peak == Approx(2.0 / 3 * double(r.macs)));
      CHECK(r.unit_utilization.at("core1") * core_peak == Approx(1.0 / 3 * double(r.macs)));
      // Per MXU (8 x 8 each) of a matrix layer: the four add up to its MACs.
      if (r.unit_utilization.count("core0.mxu0")) {
        double sum = 0;
        for (const char* k : {"core0.mxu0", "core0.mxu1", "core1.mxu0", "core1.mxu1"}) sum += r.unit_utilization.at(k);
        CHECK(sum * 8 * 8 * double(r.cycles) == Approx(double(r.macs)));
      }
    }
    CHECK(macs == w.macs());
  }
}

TEST_CASE("tpu chip network: timing of an even split is one core's time at its share", "[tpu][chip]") {
  const tpu::TpuConfig chip = small_chip(2);
  // One core of `chip` as a chip of its own: half the DRAM bandwidth (core_config).
  tpu::TpuConfig single = small_chip(1);
  single.dram.bandwidth_gbps = chip.dram.bandwidth_gbps / 2;
  auto be = experiment::make_tpu_backend(chip, table(), "net_timing");
  auto be1 = experiment::make_tpu_backend(single, table(), "net_timing_one");
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  const workload::Workload b1 = tiny_bert(1), b2 = tiny_bert(2), b3 = tiny_bert(3);
  for (const auto* w : {&b1, &b2, &b3}) be->check_workload(*w, DType::bf16);
  be1->check_workload(b1, DType::bf16);
  // Batch 2: each core runs batch 1 on the same model as a one-core chip
  // does, so every layer takes as long, with twice the MACs and twice the
  // counted MXU work.
  const auto one = be1->run_workload(b1, DType::bf16, o);
  const auto two = be->run_workload(b2, DType::bf16, o);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    INFO(one[i].name);
    CHECK(two[i].cycles == one[i].cycles);
    CHECK(two[i].macs == 2 * one[i].macs);
    CHECK(two[i].stats.get("tpu.mxu.mac.bf16") == Approx(2 * one[i].stats.get("tpu.mxu.mac.bf16")));
    if (one[i].macs > 0) CHECK(two[i].unit_utilization.at("core1") == Approx(two[i].unit_utilization.at("core0")));
  }
  // Batch 3 = 2 + 1: the chip waits for core 0's two samples, longer than
  // one sample's time in total.
  const auto three = be->run_workload(b3, DType::bf16, o);
  uint64_t c2 = 0, c3 = 0;
  for (const auto& r : two) c2 += r.cycles;
  for (const auto& r : three) c3 += r.cycles;
  CHECK(c3 > c2);
  // Batch 1 is split layer by layer (test_tpu_core_split.cpp): both cores busy.
  const auto split = be->run_workload(b1, DType::bf16, o);
  for (const auto& r : split)
    if (r.macs > 0) {
      INFO(r.name);
      CHECK(r.unit_utilization.at("core1") > 0);
    }
}

TEST_CASE("tpu chip network: SCALE-Sim compatibility refuses a chip of several cores", "[tpu][chip]") {
  auto be = experiment::make_tpu_backend(small_chip(2), table(), "net_compat");
  const workload::Workload w = tiny_bert(1);
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  o.compat = "scalesim";
  CHECK_THROWS_WITH(be->run_workload(w, DType::bf16, o), Catch::Contains("cores: 2"));
}

TEST_CASE("tpu chip network: TPU v4 runs a network on both cores from the CMEM", "[tpu][chip][cmem]") {
  const tpu::TpuConfig v4 = config::load_tpu_config(xt::kSource + "/configs/accelerators/tpu_v4.yaml");
  auto be = experiment::make_tpu_backend(v4, table(), "net_v4");
  const workload::Workload w = tiny_bert(2);
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  be->check_workload(w, DType::bf16);
  const auto rows = be->run_workload(w, DType::bf16, o);
  // The tiny layer's weights and activations fit a core's 64 MiB share of the
  // CMEM: every byte the weight fetcher and the DMA engines move is CMEM
  // traffic, none is HBM's; both cores run one sample each.
  double cmem = 0, dram = 0;
  for (const auto& r : rows) {
    cmem += r.stats.get("tpu.cmem.read_bytes") + r.stats.get("tpu.cmem.write_bytes");
    dram += r.stats.get("tpu.dram.read_bytes") + r.stats.get("tpu.dram.write_bytes");
    if (r.macs > 0) {
      INFO(r.name);
      CHECK(r.unit_utilization.at("core1") == Approx(r.unit_utilization.at("core0")));
    }
  }
  CHECK(cmem > 0);
  CHECK(dram == 0);
}
