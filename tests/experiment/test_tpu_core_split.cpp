// One sample on every TensorCore of a chip (sim/experiment/tpu_chip_run.h,
// run_network_split; the lowering's "Core split", lowering/tpu/network.h):
// each matrix layer's rows or N tiles per core, the output shares exchanged
// through host memory. The cores' outputs are the one-core run's bit for
// bit, at tile and pe fidelity alike, and the shares add up.
#include <catch2/catch.hpp>

#include "sim/experiment/tpu_chip_run.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/workload.h"
#include "tests/experiment/tpu_core_fixture.h"

using namespace xpu;

namespace {

tpu::TpuConfig small_chip(uint32_t cores) { return xt::tpu_small_chip(cores); }

// A BERT encoder layer at batch 1 shrunk to tile-fidelity size: hidden 16
// (one 16-column tile: the projections split by rows), FFN 32 (two tiles:
// ffn_in splits by columns), 8 tokens.
workload::Workload tiny_bert() {
  return workload::load_workload(xt::kSource + "/workloads/nets/bert_base_layer.yaml",
                                 {"params.batch=1", "params.seq=8", "params.hidden=16", "params.heads=2",
                                  "params.ffn=32"});
}

workload::Workload lenet() {
  return workload::load_workload(xt::kSource + "/workloads/nets/lenet5.yaml", {"params.batch=1"});
}

using lowering::CoreShare;

}  // namespace

TEST_CASE("tpu core split: contiguous shares", "[tpu][chip][split]") {
  // 9 over 2: [0, 5) and [5, 9); 1 over 2: [0, 1) and the empty [1, 1).
  CHECK(lowering::contiguous_share(9, 2, 0).lo == 0);
  CHECK(lowering::contiguous_share(9, 2, 0).hi == 5);
  CHECK(lowering::contiguous_share(9, 2, 1).lo == 5);
  CHECK(lowering::contiguous_share(9, 2, 1).hi == 9);
  CHECK(lowering::contiguous_share(1, 2, 1).lo == 1);
  CHECK(lowering::contiguous_share(1, 2, 1).hi == 1);
}

TEST_CASE("tpu core split: each core's plan shares the layer and exchanges the rest", "[tpu][chip][split]") {
  const tpu::TpuConfig core = tpu::core_config(small_chip(2));
  const workload::Workload w = tiny_bert();
  lowering::NetworkOptions lo;
  lo.dtype = DType::bf16;
  lo.values = false;
  lo.cores = 2;
  std::vector<lowering::NetworkPlan> plans;
  for (uint32_t c = 0; c < 2; ++c) {
    lo.core = c;
    plans.push_back(lowering::lower_network(core, w, lo));
  }
  REQUIRE(plans[0].layers.size() == plans[1].layers.size());
  bool rows = false, cols = false;
  for (size_t i = 0; i < plans[0].layers.size(); ++i) {
    const auto& a = plans[0].layers[i];
    const auto& b = plans[1].layers[i];
    INFO(a.name);
    CHECK(a.name == b.name);
    REQUIRE(a.share.dim == b.share.dim);
    if (a.share.dim == CoreShare::Dim::none) continue;
    rows |= a.share.dim == CoreShare::Dim::rows;
    cols |= a.share.dim == CoreShare::Dim::cols;
    // The shares tile [0, total): core 0 from 0, core 1 from where it ends.
    CHECK(a.share.lo == 0);
    CHECK(b.share.lo == a.share.hi);
    CHECK(b.share.hi == a.share.total);
    // Every core writes its share of the output and reads the other's: the
    // whole output (bf16) once per core.
    const auto* l = w.find_layer(a.layers.back());
    REQUIRE(l != nullptr);
    const uint64_t y_bytes = workload::numel(w.tensor(l->output()).shape) * 2;
    CHECK(a.exchange_bytes == y_bytes);
    CHECK(b.exchange_bytes == y_bytes);
  }
  // Hidden 16 = one tile of 16 columns: the projections split their 8 rows
  // (4 + 4); ffn_in's 32 columns are two tiles, one per core.
  CHECK(rows);
  CHECK(cols);
  const auto* ffn = &plans[1].layers[0];
  for (const auto& l : plans[1].layers)
    if (l.name == "ffn_in") ffn = &l;
  CHECK(ffn->share.dim == CoreShare::Dim::cols);
  CHECK(ffn->share.lo == 16);
  CHECK(ffn->share.hi == 32);
}

TEST_CASE("tpu core split: one sample over 2 cores gives the one-core outputs bit for bit", "[tpu][chip][split]") {
  // Both models exist before either simulates (SystemC elaborates once).
  xt::TpuCore one(small_chip(1), "split_one"), two(small_chip(2), "split_two");
  for (const char* net : {"lenet5", "bert"}) {
    INFO(net);
    const workload::Workload w = std::string(net) == "bert" ? tiny_bert() : lenet();
    const auto [rows1, rows2] = xt::run_one_and_chip(one, two, w, Fidelity::tile);
    size_t split = 0, both_busy = 0;
    for (size_t i = 0; i < rows2.size(); ++i) {
      const auto& r = rows2[i];
      INFO(r.name << ": " << r.verdict_detail);
      CHECK(r.name == rows1[i].name);
      CHECK(r.verdict != report::Verdict::mismatch);
      CHECK(r.macs == rows1[i].macs);
      if (r.macs == 0) continue;
      // Core utilization: its MACs / (core peak 8 x 16 x chip cycles).
      const double core_peak = 8.0 * 16 * double(r.cycles);
      const double u0 = r.unit_utilization.at("core0"), u1 = r.unit_utilization.at("core1");
      const double mac_counter = r.stats.get("tpu.mxu.mac.bf16");
      if (r.verdict_detail.find("split") != std::string::npos) {
        ++split;
        // The shares add up to the layer's MACs, and no MAC is done twice.
        CHECK((u0 + u1) * core_peak == Approx(double(r.macs)));
        CHECK(mac_counter == Approx(double(r.macs)));
        if (u1 > 0) ++both_busy;
        // Per MXU: the four add up to the layer's MACs (8 x 8 each).
        double sum = 0;
        for (const char* k : {"core0.mxu0", "core0.mxu1", "core1.mxu0", "core1.mxu1"}) sum += r.unit_utilization.at(k);
        CHECK(sum * 8 * 8 * double(r.cycles) == Approx(double(r.macs)));
        // Each core wrote its share of the output to the exchange buffer:
        // together the whole output once (bf16).
        const workload::Layer* l = w.find_layer(r.fused.back());
        REQUIRE(l != nullptr);
        CHECK(r.stats.get("tpu.dma.out_bytes") == Approx(double(workload::numel(w.tensor(l->output()).shape) * 2)));
      } else {
        // Whole on every core (attention's matmuls of two activations): each
        // core did all of it.
        CHECK_THAT(r.verdict_detail, Catch::Contains("whole on every core"));
        CHECK(u0 == Approx(u1));
        CHECK(u0 * core_peak == Approx(double(r.macs)));
        CHECK(mac_counter == Approx(2.0 * double(r.macs)));
      }
    }
    CHECK(split > 0);
    // The last layer (N = 10, one tile; M = 1) splits 1 + 0 rows; the others keep both cores busy.
    CHECK(both_busy + 1 >= split);
  }
}

TEST_CASE("tpu core split: pe and tile give the same cycles and bits on 2 cores", "[tpu][chip][split]") {
  xt::TpuCore pe(small_chip(2), "split_pe"), tile(small_chip(2), "split_tile");
  const workload::Workload w = tiny_bert();
  workload::TensorValues out_pe, out_tile;
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::pe;
  auto rp = pe.runner(&out_pe);
  const auto rows_pe = experiment::run_network_on_chip(rp, pe.chip, w, DType::bf16, o);
  o.fidelity = Fidelity::tile;
  auto rt = tile.runner(&out_tile);
  const auto rows_tile = experiment::run_network_on_chip(rt, tile.chip, w, DType::bf16, o);
  REQUIRE(rows_pe.size() == rows_tile.size());
  for (size_t i = 0; i < rows_pe.size(); ++i) {
    INFO(rows_pe[i].name << ": " << rows_pe[i].verdict_detail);
    CHECK(rows_pe[i].cycles == rows_tile[i].cycles);
    CHECK(rows_pe[i].verdict == rows_tile[i].verdict);
    CHECK(rows_pe[i].verdict != report::Verdict::mismatch);
  }
  REQUIRE_FALSE(out_pe.empty());
  CHECK(out_pe == out_tile);
}
